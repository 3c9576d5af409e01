"""Competition workflows available so far: creating one and entering it as a student."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from competition.accounts.models import Role, User
from competition.accounts.services import grant_role
from competition.competitions.models import Competition, CompetitionState
from competition.core import audit
from competition.core.errors import DomainError
from competition.extensions import db

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


def create_competition(*, actor: User, code: str, year: int, name_zh: str, name_en: str) -> Competition:
    code = code.strip().upper()
    if not CODE_PATTERN.match(code):
        raise DomainError(_l("A short code has 2 to 32 capital letters, digits or hyphens, e.g. CY2026."), field="code")
    if db.session.scalar(select(Competition.id).where(Competition.code == code)) is not None:
        raise DomainError(_l("Another competition already uses this code."), field="code")
    competition = Competition(code=code, year=year, name_zh=name_zh, name_en=name_en)
    db.session.add(competition)
    db.session.flush()
    audit.record(actor, "competition.create", competition, code=code)
    return competition


def join_as_student(*, user: User, competition: Competition):
    if competition.state != CompetitionState.REGISTRATION:
        raise DomainError(_l("Registration for this competition is not open."))
    return grant_role(actor=user, user=user, competition=competition, role=Role.STUDENT)
