"""Admins add and edit institutions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("institutions", __name__, url_prefix="/admin/institutions")
