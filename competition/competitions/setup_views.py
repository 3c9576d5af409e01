"""Organizers' set-up pages of a competition: information, rules, timeline, logo, tracks, state."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("setup", __name__, url_prefix="/competitions/<code>/setup")
