"""Reads for team pages: one query per page, no query per row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.competitions.models import Competition
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams.models import Team, TeamMember, TeamState


@dataclass
class TeamFilters:
    q: str | None = None
    track_id: int | None = None
    institution_id: int | None = None
    side: str | None = None
    state: str | None = None


def teams_query(competition: Competition, institution_ids: set[int] | None, filters: TeamFilters) -> Select:
    """Teams of a competition a reviewer may see (`institution_ids` None: all), filtered and ordered."""
    statement = (
        select(Team)
        .join(Institution, Institution.id == Team.institution_id)
        .where(Team.competition_id == competition.id)
        .options(selectinload(Team.track), selectinload(Team.institution), selectinload(Team.leader))
        .order_by(Institution.code, Team.name)
    )
    if institution_ids is not None:
        statement = statement.where(Team.institution_id.in_(institution_ids or {-1}))
    if filters.track_id:
        statement = statement.where(Team.track_id == filters.track_id)
    if filters.institution_id:
        statement = statement.where(Team.institution_id == filters.institution_id)
    if filters.side:
        statement = statement.where(Institution.side == filters.side)
    if filters.state:
        statement = statement.where(Team.state == filters.state)
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        member_match = select(TeamMember.id).where(
            and_(TeamMember.team_id == Team.id, TeamMember.real_name.ilike(pattern))
        )
        statement = statement.where(
            or_(Team.name.ilike(pattern), Team.project_title.ilike(pattern), member_match.exists())
        )
    return statement


@dataclass
class InstitutionCount:
    institution: Institution
    total: int
    submitted: int
    approved: int


def counts_by_institution(competition: Competition, institution_ids: set[int] | None) -> list[InstitutionCount]:
    """Teams per institution (not withdrawn), with how many await review and how many are approved."""
    statement = (
        select(
            Institution,
            func.count(Team.id),
            func.sum(case((Team.state == TeamState.SUBMITTED, 1), else_=0)),
            func.sum(case((Team.state == TeamState.APPROVED, 1), else_=0)),
        )
        .join(Team, Team.institution_id == Institution.id)
        .where(Team.competition_id == competition.id, Team.state != TeamState.WITHDRAWN)
        .group_by(Institution.id)
        .order_by(Institution.side, Institution.code)
    )
    if institution_ids is not None:
        statement = statement.where(Institution.id.in_(institution_ids or {-1}))
    return [
        InstitutionCount(institution, total, int(submitted or 0), int(approved or 0))
        for institution, total, submitted, approved in db.session.execute(statement)
    ]


def counts_by_side(rows: list[InstitutionCount]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.institution.side] = totals.get(row.institution.side, 0) + row.total
    return totals


def teams_of_user(user: User) -> list[Team]:
    return list(
        db.session.scalars(
            select(Team)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user.id)
            .options(selectinload(Team.competition), selectinload(Team.track))
            .order_by(Team.created_at.desc())
        )
    )


def team_with_people(team_id: int) -> Team | None:
    return db.session.scalar(
        select(Team)
        .where(Team.id == team_id)
        .options(
            selectinload(Team.members).selectinload(TeamMember.institution),
            selectinload(Team.members).selectinload(TeamMember.user),
            selectinload(Team.advisors),
            selectinload(Team.invitations),
        )
    )
