"""Teams to and from Excel: export (.xlsx, .csv), the import template, and the import."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("team_excel", __name__, url_prefix="/competitions/<code>/teams")
