"""Validating an import: each team, the teams against each other and the database; validate_import()."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.competitions.models import Competition
from competition.core.errors import DomainError
from competition.extensions import db
from competition.teams import rules
from competition.teams.excel.columns import (
    ADVISOR,
    LEADER,
    MAX_UPLOAD_BYTES,
    MEMBER,
    ImportPlan,
    PlannedPerson,
    PlannedTeam,
    Problem,
    _text,
)
from competition.teams.excel.reader import _check_container, _columns, _read_sheet, _Refused
from competition.teams.excel.row_checks import _Row, _RowChecks
from competition.teams.models import Team, TeamMember


class _Validator(_RowChecks):
    # teams

    def team(self, name: str, rows: list[_Row]) -> PlannedTeam:
        values = self.team_values(rows)
        team = PlannedTeam(
            row=rows[0].number,
            name=name,
            track=values["track"],
            institution=values["institution"],
            project_title=values["project_title"],
        )
        try:
            rules.check_name_free(self.competition, name)
        except DomainError as error:
            self.problems.add(rows[0].number, "team_name", error.message)
        leader_row = None
        seen: dict[str, int] = {}
        for row in rows:
            if row.role is None:
                continue
            person = self.advisor(row) if row.role == ADVISOR else self.member(row, team.institution)
            if person.email:
                if person.email in seen:
                    self.problems.add(
                        row.number,
                        "email",
                        _l(
                            "%(email)s appears twice in this team (row %(row)s).",
                            email=person.email,
                            row=seen[person.email],
                        ),
                    )
                    continue
                seen[person.email] = row.number
            if row.role == ADVISOR:
                team.advisors.append(person)
            elif row.role == LEADER and leader_row is not None:
                self.problems.add(
                    row.number,
                    "role",
                    _l(
                        "The team “%(team)s” already has a leader in row %(row)s; a team has one leader.",
                        team=name,
                        row=leader_row,
                    ),
                )
            elif row.role == LEADER:
                leader_row = row.number
                team.members.insert(0, person)
            else:
                team.members.append(person)
        if leader_row is None and any(row.role for row in rows):
            self.problems.add(
                rows[0].number,
                "role",
                _l("The team “%(team)s” has no leader; give one row the role 负责人 (leader).", team=name),
            )
        competition = self.competition
        size = sum(1 for row in rows if row.role in (LEADER, MEMBER))
        if not competition.min_team_size <= size <= competition.max_team_size:
            self.problems.add(
                rows[0].number,
                "team_name",
                _l(
                    "A team has %(min)s–%(max)s members including the leader; this one has %(count)s.",
                    min=competition.min_team_size,
                    max=competition.max_team_size,
                    count=size,
                ),
            )
        advisors = sum(1 for row in rows if row.role == ADVISOR)
        if advisors > competition.max_advisors:
            self.problems.add(
                rows[0].number,
                "team_name",
                _l(
                    "A team has at most %(max)s advisor(s); this one has %(count)s.",
                    max=competition.max_advisors,
                    count=advisors,
                ),
            )
        return team

    # across teams and against the database

    def people(self, teams: list[PlannedTeam], accounts: dict[str, User]) -> None:
        competition = self.competition
        members = [(team, person) for team in teams for person in team.members]
        # a student number belongs to one person within an institution, in the file and in the competition
        numbers: dict[tuple[int, str], PlannedPerson] = {}
        holders: dict[tuple[int, str], list[PlannedPerson]] = defaultdict(list)
        for _team, person in members:
            if not person.student_number or person.institution is None or person.email is None:
                continue
            key = (person.institution.id, person.student_number)
            other = numbers.setdefault(key, person)
            if other.email != person.email:
                self.problems.add(
                    person.row,
                    "student_number",
                    _l(
                        "Student number %(number)s of %(institution)s is also given to %(email)s in row %(row)s.",
                        number=person.student_number,
                        institution=person.institution.name,
                        email=other.email,
                        row=other.row,
                    ),
                )
            else:
                holders[key].append(person)
        owners = _student_number_owners(competition, numbers)
        for key, person in numbers.items():
            account = accounts.get(person.email)
            if owners.get(key, set()) - {account.id if account else None}:
                for same in holders[key]:
                    self.problems.add(
                        same.row,
                        "student_number",
                        _l(
                            "Student number %(number)s of %(institution)s is already used by another person.",
                            number=person.student_number,
                            institution=person.institution.name,
                        ),
                    )
        # teams per student, counting the teams already registered
        existing = _active_memberships(competition, [account.id for account in accounts.values()])
        in_file: dict[str, int] = defaultdict(int)
        for _team, person in members:
            if person.email is None:
                continue
            in_file[person.email] += 1
            account = accounts.get(person.email)
            count = in_file[person.email] + (existing.get(account.id, 0) if account else 0)
            if count > competition.max_teams_per_student:
                self.problems.add(
                    person.row,
                    "email",
                    _l(
                        "A student may be in at most %(max)s team(s) of this competition; %(name)s would be in %(count)s.",
                        max=competition.max_teams_per_student,
                        name=person.real_name,
                        count=count,
                    ),
                )
        # one person leads at most one team
        if not competition.one_team_per_leader:
            return
        leaders: dict[str, tuple[PlannedTeam, PlannedPerson]] = {}
        for team in teams:
            leader = team.members[0] if team.members and team.members[0].role == LEADER else None
            if leader is None or leader.email is None:
                continue
            if leader.email in leaders:
                first_team, first = leaders[leader.email]
                self.problems.add(
                    leader.row,
                    "role",
                    _l(
                        "One person leads at most one team; %(name)s also leads “%(team)s” in row %(row)s.",
                        name=leader.real_name,
                        team=first_team.name,
                        row=first.row,
                    ),
                )
                continue
            leaders[leader.email] = (team, leader)
            account = accounts.get(leader.email)
            if account is not None:
                try:
                    rules.check_leads_no_other_team(competition, account)
                except DomainError as error:
                    self.problems.add(leader.row, "role", error.message)


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _accounts(emails: set[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk in _chunks(sorted(emails)):
        found.update({user.email: user for user in db.session.scalars(select(User).where(User.email.in_(chunk)))})
    return found


def _student_number_owners(
    competition: Competition, numbers: dict[tuple[int, str], Any]
) -> dict[tuple[int, str], set[int]]:
    """(institution id, student number) -> the users holding it in this competition (any team state)."""
    owners: dict[tuple[int, str], set[int]] = defaultdict(set)
    for chunk in _chunks(sorted({number for _institution, number in numbers})):
        statement = (
            select(TeamMember.institution_id, TeamMember.student_number, TeamMember.user_id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.competition_id == competition.id, TeamMember.student_number.in_(chunk))
        )
        for institution_id, number, user_id in db.session.execute(statement):
            owners[(institution_id, number)].add(user_id)
    return owners


def _active_memberships(competition: Competition, user_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for chunk in _chunks(sorted(user_ids)):
        statement = (
            select(TeamMember.user_id, func.count(TeamMember.id))
            .join(Team, Team.id == TeamMember.team_id)
            .where(
                Team.competition_id == competition.id,
                Team.state.in_(rules.ACTIVE_STATES),
                TeamMember.user_id.in_(chunk),
            )
            .group_by(TeamMember.user_id)
        )
        counts.update(dict(db.session.execute(statement).all()))
    return counts


def validate_import(
    competition: Competition, stream: BinaryIO, actor: User, institution_ids: set[int] | None
) -> ImportPlan | list[Problem]:
    """Read and check an uploaded workbook; every problem, or a plan when there is none.

    Reads the database only. `institution_ids` is what the actor may import (None: every institution).
    """
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    try:
        _check_container(data)
        sheet = _read_sheet(data)
    except _Refused as refusal:
        return [Problem(None, None, refusal.message)]
    if not any(_text(value) for value in sheet.header):
        return [Problem(1, None, _l("The first row of the first sheet must hold the column headers of the template."))]
    positions, problems = _columns(sheet.header, sheet.rows)
    if problems:
        return problems
    if not sheet.rows:
        return [Problem(None, None, _l("The file has no rows below the header."))]

    validator = _Validator(competition, institution_ids)
    teams: dict[str, list[_Row]] = {}
    for number, values in sheet.rows:
        row = _Row(number, {key: values[index] if index < len(values) else None for key, index in positions.items()})
        row.role = validator.role(row)
        row.team_name = validator.required(row, "team_name")
        if row.team_name:
            teams.setdefault(row.team_name, []).append(row)
        elif row.role == ADVISOR:
            validator.advisor(row)
        elif row.role is not None:
            validator.member(row, None)
    planned = [validator.team(name, rows) for name, rows in teams.items()]
    emails = {person.email for team in planned for person in (*team.members, *team.advisors) if person.email}
    accounts = _accounts(emails)
    validator.people(planned, accounts)
    if validator.problems.items:
        return validator.problems.sorted()
    return ImportPlan(competition=competition, teams=planned, accounts=accounts)
