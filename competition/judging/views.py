"""Judges' pages: their assignments; organizers' pages: round judges, conflicts, assignment."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("judging", __name__, url_prefix="/judging")


@bp.get("/")
@login_required
def home():
    return render_template("judging/home.html")
