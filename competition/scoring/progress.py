"""How far the judging of a round has come, for its organizers: per judge and per submission.

Each list is one query whatever the size of the round (no query per judge or per submission):
the per-judge counts are aggregated by the database, the panels of one page of submissions come
with their scorecards and judges in one joined query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.extensions import db
from competition.judging.models import Assignment, RoundJudge
from competition.rounds.models import Round
from competition.scoring.models import Rubric, Scorecard, ScorecardState, ScoreHistory
from competition.submissions.models import Submission, SubmissionState
from competition.teams.models import Team


@dataclass(frozen=True)
class JudgeProgress:
    judge_id: int
    name: str
    email: str
    assigned: int
    draft: int
    submitted: int
    last_activity: datetime | None

    @property
    def not_started(self) -> int:
        return self.assigned - self.draft - self.submitted

    @property
    def pending(self) -> int:
        return self.assigned - self.submitted


def judge_progress(round_: Round) -> list[JudgeProgress]:
    """Every judge of the round (and anyone still assigned in it): assigned, draft, submitted and
    when they last saved, submitted or asked to reopen a scorecard. One query."""
    draft = func.sum(case((Scorecard.state == ScorecardState.DRAFT.value, 1), else_=0))
    submitted = func.sum(case((Scorecard.state == ScorecardState.SUBMITTED.value, 1), else_=0))
    history = (
        select(func.max(ScoreHistory.created_at))
        .join(Scorecard, Scorecard.id == ScoreHistory.scorecard_id)
        .where(Scorecard.round_id == round_.id, ScoreHistory.actor_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    judge_ids = select(RoundJudge.user_id).where(RoundJudge.round_id == round_.id).union(
        select(Assignment.judge_id).where(Assignment.round_id == round_.id)
    )  # fmt: skip
    rows = db.session.execute(
        select(
            User.id,
            User.real_name,
            User.email,
            func.count(Assignment.id),
            draft,
            submitted,
            history,
            func.max(Scorecard.reopen_requested_at),
        )
        .select_from(User)
        .outerjoin(Assignment, and_(Assignment.judge_id == User.id, Assignment.round_id == round_.id))
        .outerjoin(Scorecard, Scorecard.assignment_id == Assignment.id)
        .where(User.id.in_(judge_ids))
        .group_by(User.id, User.real_name, User.email)
        .order_by(User.real_name, User.id)
    ).all()
    return [
        JudgeProgress(
            judge_id=user_id,
            name=name,
            email=email,
            assigned=assigned,
            draft=int(drafts or 0),
            submitted=int(done or 0),
            last_activity=_latest(_aware(saved), _aware(asked)),
        )
        for user_id, name, email, assigned, drafts, done, saved, asked in rows
    ]


def _aware(value) -> datetime | None:
    """UTC, whatever the database handed back for an aggregate (SQLite: naive, or even text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _latest(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


# --- per submission -------------------------------------------------------------------------------


@dataclass
class PanelSeat:
    """One judge on a submission's panel, and their scorecard if they have started."""

    assignment_id: int | None
    judge_id: int
    judge_name: str
    scorecard: Scorecard | None

    @property
    def state(self) -> str:
        return self.scorecard.state if self.scorecard is not None else "not_started"


@dataclass
class SubmissionProgress:
    submission: Submission
    seats: list[PanelSeat] = field(default_factory=list)

    @property
    def assigned(self) -> int:
        return len(self.seats)

    @property
    def received(self) -> list[Decimal]:
        return [
            seat.scorecard.total
            for seat in self.seats
            if seat.scorecard is not None and seat.scorecard.is_submitted and seat.scorecard.total is not None
        ]

    @property
    def mean(self) -> Decimal | None:
        totals = self.received
        return sum(totals, Decimal(0)) / len(totals) if totals else None


def submissions_statement(round_: Round) -> Select:
    """The submissions judged in the round: handed in, or with judges assigned (ordered by project)."""
    assigned = select(Assignment.submission_id).where(Assignment.round_id == round_.id)
    return (
        select(Submission)
        .join(Team, Team.id == Submission.team_id)
        .where(
            Submission.round_id == round_.id,
            or_(Submission.state == SubmissionState.SUBMITTED.value, Submission.id.in_(assigned)),
        )
        .options(selectinload(Submission.team).selectinload(Team.track))
        .order_by(Team.project_title, Submission.id)
    )


def submission_progress(round_: Round, submissions: list[Submission]) -> list[SubmissionProgress]:
    """The panels of these submissions with each judge's scorecard: one query for all of them."""
    found = {submission.id: SubmissionProgress(submission) for submission in submissions}
    if not found:
        return []
    rows = db.session.execute(
        select(Assignment.id, Assignment.submission_id, User.id, User.real_name, Scorecard)
        .join(User, User.id == Assignment.judge_id)
        .outerjoin(Scorecard, Scorecard.assignment_id == Assignment.id)
        .where(Assignment.round_id == round_.id, Assignment.submission_id.in_(list(found)))
        .order_by(User.real_name, Assignment.id)
    ).all()
    for assignment_id, submission_id, judge_id, name, scorecard in rows:
        found[submission_id].seats.append(PanelSeat(assignment_id, judge_id, name, scorecard))
    return [found[submission.id] for submission in submissions]


def reopen_requests(round_: Round) -> list[Scorecard]:
    """Submitted scorecards whose judge asked to change them, oldest request first (one query)."""
    return list(
        db.session.scalars(
            select(Scorecard)
            .where(
                Scorecard.round_id == round_.id,
                Scorecard.state == ScorecardState.SUBMITTED.value,
                Scorecard.reopen_requested_at.is_not(None),
            )
            .options(
                selectinload(Scorecard.judge),
                selectinload(Scorecard.submission).selectinload(Submission.team),
            )
            .order_by(Scorecard.reopen_requested_at, Scorecard.id)
        )
    )


def counts(round_: Round) -> dict[str, int]:
    """The round at a glance: assignments, and how many are not started, drafts, submitted."""
    row = db.session.execute(
        select(
            func.count(Assignment.id),
            func.sum(case((Scorecard.state == ScorecardState.DRAFT.value, 1), else_=0)),
            func.sum(case((Scorecard.state == ScorecardState.SUBMITTED.value, 1), else_=0)),
        )
        .select_from(Assignment)
        .outerjoin(Scorecard, Scorecard.assignment_id == Assignment.id)
        .where(Assignment.round_id == round_.id)
    ).one()
    assigned, drafts, submitted = row[0], int(row[1] or 0), int(row[2] or 0)
    return {"assigned": assigned, "draft": drafts, "submitted": submitted, "not_started": assigned - drafts - submitted}


def rubric_ids_in_use(round_: Round) -> set[int]:
    """The round's rubrics some scorecard was scored with (those cannot be deleted)."""
    return set(
        db.session.scalars(
            select(Rubric.id).where(Rubric.round_id == round_.id, Rubric.id.in_(select(Scorecard.rubric_id).distinct()))
        )
    )
