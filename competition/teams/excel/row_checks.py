"""Validating an import, row by row: the checks of each cell and each person's row."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from competition.accounts.services import normalize_email
from competition.competitions.models import Competition
from competition.core.errors import DomainError
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams import rules
from competition.teams.excel.columns import (
    _DEGREES,
    _ROLES,
    ADVISOR,
    COLUMN_BY_KEY,
    COLUMNS,
    TEAM_KEYS,
    YEAR_MAX,
    YEAR_MIN,
    PlannedPerson,
    Problem,
    _fold,
    _phone,
    _text,
    _year,
)

# --- validating -----------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, row: int | None, key: str | None, message) -> None:
        self.items.append(Problem(row, COLUMN_BY_KEY[key].header if key else None, message))

    def sorted(self) -> list[Problem]:
        order = {column.header: index for index, column in enumerate(COLUMNS)}
        return sorted(self.items, key=lambda p: (p.row or 0, order.get(p.column, -1) if p.column else -1))


@dataclass
class _Row:
    number: int
    cells: dict[str, Any]
    role: str | None = None
    team_name: str = ""

    def text(self, key: str) -> str:
        return _text(self.cells.get(key))


_FIELD_COLUMNS = {
    "degree_level": "degree_level",
    "graduation_year": "graduation_year",
    "institution": "member_institution",
    "student_number": "student_number",
    "email": "email",
    "name": "team_name",
    "project_title": "project_title",
}
_LENGTHS = {
    "team_name": rules.TEAM_NAME_MAX,
    "project_title": rules.PROJECT_TITLE_MAX,
    "real_name": 50,
    "student_number": 32,
    "department": 100,
    "major": 100,
    "advisor_title": 50,
}


class _RowChecks:
    """The validator's checks of cells and rows; validate._Validator adds the team and cross-team checks."""

    def __init__(self, competition: Competition, institution_ids: set[int] | None) -> None:
        self.competition = competition
        self.scope = institution_ids
        self.problems = _Problems()
        self.institutions = {_fold(inst.code): inst for inst in db.session.scalars(select(Institution))}
        self.tracks = {_fold(track.code): track for track in competition.tracks}

    # cells

    def required(self, row: _Row, key: str) -> str:
        """Cleaned text (NFC, no invisible characters, folded spaces), checked for presence and length."""
        value = rules.clean_text(row.text(key))
        if not value:
            self.problems.add(row.number, key, _l("This cell must not be empty."))
        return self.limited(row, key, value)

    def limited(self, row: _Row, key: str, value: str) -> str:
        limit = _LENGTHS.get(key)
        if limit is not None and len(value) > limit:
            self.problems.add(
                row.number, key, _l("At most %(max)s characters; this cell has %(count)s.", max=limit, count=len(value))
            )
        return value

    def institution(self, row: _Row, key: str) -> Institution | None:
        code = row.text(key)
        if not code:
            return None
        institution = self.institutions.get(_fold(code))
        if institution is None:
            self.problems.add(row.number, key, _l("Unknown institution code “%(code)s”.", code=code))
        return institution

    def email(self, row: _Row, *, required: bool) -> str | None:
        raw = row.text("email")
        if not raw:
            if required:
                self.problems.add(row.number, "email", _l("This cell must not be empty."))
            return None
        try:
            return normalize_email(raw)
        except DomainError as error:
            self.problems.add(row.number, "email", error.message)
            return None

    def phone(self, row: _Row) -> str | None:
        raw = row.text("phone")
        if not raw:
            return None
        phone = _phone(raw)
        if phone is None:
            self.problems.add(row.number, "phone", _l("Please enter a valid phone number, e.g. 13800138000."))
        return phone

    def year(self, row: _Row, key: str) -> int | None:
        raw = row.cells.get(key)
        if _text(raw) == "":
            self.problems.add(row.number, key, _l("This cell must not be empty."))
            return None
        year = _year(raw)
        if year is None:
            self.problems.add(
                row.number,
                key,
                _l(
                    "“%(value)s” is not a year between %(min)s and %(max)s.",
                    value=_text(raw),
                    min=YEAR_MIN,
                    max=YEAR_MAX,
                ),
            )
        return year

    # rows

    def role(self, row: _Row) -> str | None:
        raw = row.text("role")
        if not raw:
            self.problems.add(row.number, "role", _l("This cell must not be empty."))
            return None
        role = _ROLES.get(_fold(raw))
        if role is None:
            self.problems.add(
                row.number,
                "role",
                _l("Unknown role “%(value)s”; use 负责人 (leader), 成员 (member) or 指导教师 (advisor).", value=raw),
            )
        return role

    def team_values(self, rows: list[_Row]) -> dict[str, Any]:
        """The team's track, institution and title: given in at least one row, the same in every row."""
        values: dict[str, Any] = {}
        for key in TEAM_KEYS:
            first: tuple[int, str] | None = None
            for row in rows:
                text = rules.clean_text(row.text(key))
                if not text:
                    continue
                if first is None:
                    first = (row.number, text)
                elif _fold(text) != _fold(first[1]):
                    self.problems.add(
                        row.number,
                        key,
                        _l(
                            "Differs from row %(row)s of the same team (“%(value)s”); the rows of a team must agree.",
                            row=first[0],
                            value=first[1],
                        ),
                    )
            if first is None:
                self.problems.add(rows[0].number, key, _l("This cell must not be empty."))
                values[key] = None
                continue
            number, text = first
            row = next(row for row in rows if row.number == number)
            if key == "track":
                values[key] = self.tracks.get(_fold(text))
                if values[key] is None:
                    codes = "、".join(track.code for track in self.competition.tracks) or "—"
                    self.problems.add(
                        number,
                        key,
                        _l(
                            "Unknown track code “%(code)s”; this competition's tracks are %(codes)s.",
                            code=text,
                            codes=codes,
                        ),
                    )
            elif key == "institution":
                institution = self.institution(row, key)
                if institution is not None and self.scope is not None and institution.id not in self.scope:
                    names = (
                        "、".join(
                            f"{inst.name} ({inst.code})" for inst in self.institutions.values() if inst.id in self.scope
                        )
                        or "—"
                    )
                    self.problems.add(
                        number, key, _l("You may import teams of %(institutions)s only.", institutions=names)
                    )
                    institution = None
                values[key] = institution
            else:
                values[key] = self.limited(row, key, text)
        return values

    def member(self, row: _Row, team_institution: Institution | None) -> PlannedPerson:
        person = PlannedPerson(
            row=row.number,
            role=row.role,
            real_name=self.required(row, "real_name"),
            email=self.email(row, required=True),
            phone=self.phone(row),
            student_number=self.required(row, "student_number"),
            institution=self.institution(row, "member_institution") or team_institution,
            department=self.required(row, "department"),
            major=self.required(row, "major"),
        )
        raw_degree = row.text("degree_level")
        degree = _DEGREES.get(_fold(raw_degree)) if raw_degree else None
        if not raw_degree:
            self.problems.add(row.number, "degree_level", _l("This cell must not be empty."))
        elif degree is None:
            self.problems.add(
                row.number,
                "degree_level",
                _l("Unknown degree level “%(value)s”; use 专科, 本科, 硕士 or 博士.", value=raw_degree),
            )
        enrollment, graduation = self.year(row, "enrollment_year"), self.year(row, "graduation_year")
        person.degree_level = degree or ""
        person.enrollment_year = enrollment or 0
        person.graduation_year = graduation or 0
        self.profile_rules(row, person, team_institution, degree, enrollment, graduation)
        return person

    def profile_rules(self, row, person, team_institution, degree, enrollment, graduation) -> None:
        """The competition's rules for a student (rules.check_profile), every broken one reported.

        check_profile stops at the first broken rule: report it, set that value right, check again.
        A value missing from the row (already reported) is stood in for, and rules about it are not
        reported again.
        """
        competition = self.competition
        institution = person.institution or team_institution
        if institution is None:
            return
        given = {"degree_level": degree is not None, "graduation_year": None not in (enrollment, graduation)}
        if graduation is None:
            graduation = competition.min_graduation_year or competition.max_graduation_year or enrollment or YEAR_MAX
        profile = rules.MemberProfile(
            real_name=person.real_name,
            student_number=person.student_number,
            institution=institution,
            department=person.department,
            major=person.major,
            degree_level=degree or competition.degree_levels[0].value,
            enrollment_year=enrollment if enrollment is not None else graduation,
            graduation_year=graduation,
            phone=person.phone,
        )
        team_institution = team_institution or institution
        for _attempt in range(len(_FIELD_COLUMNS)):
            try:
                rules.check_profile(competition, profile, team_institution)
                return
            except DomainError as error:
                if given.get(error.field or "", True):
                    self.problems.add(row.number, _FIELD_COLUMNS.get(error.field or "", "role"), error.message)
                if error.field == "degree_level":
                    profile = replace(profile, degree_level=competition.degree_levels[0].value)
                elif error.field == "graduation_year" and profile.graduation_year < profile.enrollment_year:
                    profile = replace(profile, enrollment_year=profile.graduation_year)
                elif error.field == "graduation_year":
                    low = competition.min_graduation_year or profile.graduation_year
                    high = competition.max_graduation_year or profile.graduation_year
                    year = min(max(profile.graduation_year, low), high)
                    profile = replace(profile, graduation_year=year, enrollment_year=min(profile.enrollment_year, year))
                elif error.field == "institution":
                    profile = replace(profile, institution=team_institution)
                else:
                    return

    def advisor(self, row: _Row) -> PlannedPerson:
        return PlannedPerson(
            row=row.number,
            role=ADVISOR,
            real_name=self.required(row, "real_name"),
            email=self.email(row, required=False),
            phone=self.phone(row),
            institution=self.institution(row, "advisor_institution"),
            title=self.limited(row, "advisor_title", rules.clean_text(row.text("advisor_title"))),
        )
