"""Rounds: organizers set them up; institution organizers recommend teams within their quota."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rounds", __name__, url_prefix="/competitions/<code>/rounds")
