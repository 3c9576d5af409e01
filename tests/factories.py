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


def track(contest: Competition, code: str = "idea", **fields):
    from competition.competitions.models import Track

    row = Track(
        competition=contest,
        code=code,
        name_zh=fields.pop(
            "name_zh", {"idea": "创意组", "startup": "初创组", "growth": "成长组"}.get(code, f"{code}组")
        ),
        name_en=fields.pop("name_en", f"{code.title()} track"),
        position=fields.pop("position", 0),
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def member_profile(person: User, institution_row: Institution | None = None, **fields):
    from competition.teams.rules import MemberProfile

    values = {
        "real_name": person.real_name,
        "student_number": f"2023{person.id:06d}",
        "institution": institution_row or person.institution,
        "department": "计算机学院",
        "major": "软件工程",
        "degree_level": "bachelor",
        "enrollment_year": 2023,
        "graduation_year": 2027,
        "phone": None,
    }
    values.update(fields)
    return MemberProfile(**values)


def team(
    contest: Competition | None = None,
    *,
    leader: User | None = None,
    members: int = 2,
    state: str = "draft",
    institution_row: Institution | None = None,
    track_row=None,
    name: str | None = None,
    advisors: int = 0,
):
    """A team built with real rows: a leader plus `members` other members (so 3 people by default)."""
    from competition.teams.models import Advisor, MemberRole, Team, TeamMember

    contest = contest or competition()
    institution_row = institution_row or (leader.institution if leader else institution("SCU"))
    if track_row is None:
        track_row = contest.tracks[0] if contest.tracks else track(contest)
    leader = leader or user(institution=institution_row)
    number = next(_sequence)
    row = Team(
        competition=contest,
        track=track_row,
        institution=institution_row,
        name=name or f"测试团队{number}",
        project_title=f"测试项目{number}",
        leader=leader,
        state=state,
        member_count=1 + members,
    )
    db.session.add(row)
    people = [(leader, MemberRole.LEADER)] + [
        (user(institution=institution_row), MemberRole.MEMBER) for _ in range(members)
    ]
    for person, role in people:
        profile = member_profile(person, institution_row)
        row.members.append(TeamMember(user=person, role=role.value, **profile.as_columns()))
        grant_if_missing(person, contest, "student")
    for index in range(advisors):
        row.advisors.append(Advisor(name=f"指导教师{index + 1}", title="副教授", institution=institution_row))
    db.session.flush()
    return row


def grant_if_missing(person: User, contest: Competition, role: str) -> None:
    if Role(role) not in person.roles_in(contest):
        grant(person, contest, role)


def round_(contest: Competition, **fields):
    from competition.rounds.models import Round

    row = Round(
        competition=contest,
        position=fields.pop("position", 1),
        name_zh=fields.pop("name_zh", "校赛"),
        name_en=fields.pop("name_en", "School round"),
        level=fields.pop("level", "institution"),
        entry_rule=fields.pop("entry_rule", "all_approved"),
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row
