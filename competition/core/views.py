"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from competition.competitions.models import Competition, CompetitionState
from competition.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    competitions = db.session.scalars(
        select(Competition)
        .where(Competition.state != CompetitionState.DRAFT.value)
        .order_by(Competition.year.desc(), Competition.id.desc())
    ).all()
    return render_template("core/home.html", competitions=competitions)
