"""Students' team pages: create, edit, invite, join, advisors, submit, withdraw."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("teams", __name__, url_prefix="/teams")
