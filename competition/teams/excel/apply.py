"""Importing a checked file: apply_import()."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from competition.accounts.models import CompetitionRole, Role, User
from competition.accounts.services import hash_password
from competition.core import audit
from competition.core.time import utcnow
from competition.extensions import db
from competition.teams.excel.columns import LEADER, ImportPlan, ImportSummary
from competition.teams.models import Advisor, MemberRole, Team, TeamMember, TeamState
from competition.teams.services import ensure_student_role

# --- importing ------------------------------------------------------------------------------------


def _unusable_password_hash() -> str:
    """A real argon2 hash of a random secret nobody keeps: no password matches it, and checking one
    costs what it costs for any account. The owner sets a password through "forgot password"."""
    return hash_password(secrets.token_urlsafe(48))


def apply_import(plan: ImportPlan, actor: User, *, filename: str | None = None) -> ImportSummary:
    """Create the planned teams (approved), their members, advisors and missing student accounts.

    Flushes, never commits: the caller commits once, so the import is one transaction.
    """
    competition = plan.competition
    now = utcnow()
    accounts = dict(plan.accounts)
    created: list[User] = []
    unusable = None
    for team_plan in plan.teams:
        for person in team_plan.members:
            if person.email in accounts:
                continue
            unusable = unusable or _unusable_password_hash()
            user = User(
                email=person.email,
                password_hash=unusable,
                real_name=person.real_name,
                institution=person.institution,
                phone=person.phone,
                locale="zh_Hans_CN",
            )
            db.session.add(user)
            accounts[person.email] = user
            created.append(user)
    db.session.flush()

    students = {person.email for team_plan in plan.teams for person in team_plan.members}
    has_role = set(
        db.session.scalars(
            select(CompetitionRole.user_id).where(
                CompetitionRole.competition_id == competition.id, CompetitionRole.role == Role.STUDENT.value
            )
        )
    )
    # each person once, and without a flush per query: the roles added here are for other people
    with db.session.no_autoflush:
        for email in sorted(students):
            user = accounts[email]
            if user.id not in has_role:
                ensure_student_role(user, competition)
                has_role.add(user.id)

    teams = []
    for team_plan in plan.teams:
        leader = accounts[team_plan.members[0].email]
        team = Team(
            competition=competition,
            track=team_plan.track,
            institution=team_plan.institution,
            name=team_plan.name,
            project_title=team_plan.project_title,
            leader=leader,
            state=TeamState.APPROVED.value,
            member_count=len(team_plan.members),
            submitted_at=now,
            reviewed_at=now,
            reviewed_by_id=actor.id,
        )
        for person in team_plan.members:
            team.members.append(
                TeamMember(
                    user=accounts[person.email],
                    role=(MemberRole.LEADER if person.role == LEADER else MemberRole.MEMBER).value,
                    real_name=person.real_name,
                    student_number=person.student_number,
                    institution=person.institution,
                    department=person.department,
                    major=person.major,
                    degree_level=person.degree_level,
                    enrollment_year=person.enrollment_year,
                    graduation_year=person.graduation_year,
                    phone=person.phone,
                )
            )
        for person in team_plan.advisors:
            account = accounts.get(person.email) if person.email else None
            team.advisors.append(
                Advisor(
                    name=person.real_name,
                    title=person.title,
                    institution=person.institution,
                    email=person.email,
                    phone=person.phone,
                    user_id=account.id if account else None,
                )
            )
        db.session.add(team)
        teams.append((team, team_plan))
    db.session.flush()

    for team, team_plan in teams:
        audit.record(
            actor,
            "team.import",
            team,
            name=team.name,
            track=team_plan.track.code,
            institution=team_plan.institution.code,
            members=[person.email for person in team_plan.members],
            advisors=[person.real_name for person in team_plan.advisors],
        )
    audit.record(
        actor,
        "team.import_file",
        competition,
        filename=filename,
        teams=plan.team_count,
        people=plan.people_count,
        team_ids=[team.id for team, _plan in teams],
        new_account_ids=[user.id for user in created],
    )
    return ImportSummary(teams=plan.team_count, people=plan.people_count, new_accounts=len(created))
