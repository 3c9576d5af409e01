"""Factories that build real rows: `factories.user()`, `factories.competition()`, ..."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from competition.accounts.models import CompetitionRole, Role, User
from competition.accounts.services import hash_password
from competition.competitions.models import Competition, CompetitionState
from competition.core.time import utcnow
from competition.extensions import db
from competition.institutions.models import Institution

PASSWORD = "correct horse 电池"
_sequence = itertools.count(1)


def institution(code: str = "SCU", **fields) -> Institution:
    existing = db.session.scalar(select(Institution).where(Institution.code == code))
    if existing is not None:
        return existing
    defaults = {
        "SCU": ("四川大学", "Sichuan University", "成都", "Chengdu", "sichuan"),
        "CQU": ("重庆大学", "Chongqing University", "重庆", "Chongqing", "chongqing"),
        "SISU": ("四川外国语大学", "Sichuan International Studies University", "重庆", "Chongqing", "chongqing"),
    }.get(code, (f"{code}大学", f"{code} University", "成都", "Chengdu", "sichuan"))
    values = dict(zip(("name_zh", "name_en", "city_zh", "city_en", "side"), defaults, strict=True))
    values.update(fields)
    row = Institution(code=code, **values)
    db.session.add(row)
    db.session.flush()
    return row


def user(*, email: str | None = None, password: str = PASSWORD, verified: bool = True, **fields) -> User:
    number = next(_sequence)
    fields.setdefault("real_name", f"测试用户{number}")
    fields.setdefault("locale", "zh_Hans_CN")
    if "institution" not in fields:
        fields["institution"] = institution("SCU")
    row = User(
        email=email or f"user{number}@example.edu.cn",
        password_hash=hash_password(password),
        email_verified_at=utcnow() if verified else None,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def competition(*, code: str | None = None, state: str = CompetitionState.REGISTRATION.value, **fields) -> Competition:
    number = next(_sequence)
    row = Competition(
        code=code or f"T{number}",
        year=fields.pop("year", 2026),
        name_zh=fields.pop("name_zh", f"测试赛事{number}"),
        name_en=fields.pop("name_en", f"Test competition {number}"),
        state=state,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def grant(
    person: User, contest: Competition, role: str | Role, institution_row: Institution | None = None
) -> CompetitionRole:
    role = Role(role)
    if role == Role.INSTITUTION_ORGANIZER and institution_row is None:
        institution_row = person.institution or institution("SCU")
    row = CompetitionRole(user=person, competition=contest, role=role.value, institution=institution_row)
    db.session.add(row)
    db.session.flush()
    return row
