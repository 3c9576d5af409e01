"""Judges' pages: their assignments, grouped by competition and round, and declaring a conflict.

In a blind round a judge never learns who the team is: the page names the project and its track
only (competition.submissions.policies.is_blind_for). The organizers' pages are in
organizer_views (round judges, assignment) and conflict_views (conflicts of interest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competition.accounts.models import Role
from competition.competitions.models import Competition
from competition.core.permissions import require
from competition.core.time import utcnow
from competition.core.web import commit_or_flash
from competition.extensions import db
from competition.judging import conflicts
from competition.judging.forms import DeclareForm
from competition.judging.models import Assignment
from competition.judging.policies import can_declare_conflict
from competition.rounds.models import Round
from competition.scoring.models import Scorecard
from competition.scoring.policies import can_open_scorecard
from competition.submissions.models import Submission
from competition.submissions.policies import can_read_submission, is_blind_for
from competition.submissions.views import _time_left
from competition.teams.models import Team

bp = Blueprint("judging", __name__, url_prefix="/judging")


@dataclass
class AssignmentRow:
    assignment: Assignment
    submission: Submission
    blind: bool
    readable: bool
    #: the judge's scorecard: "not_started", "draft" or "submitted"
    state: str = "not_started"
    #: the scorecard can be opened now (judging is open)
    can_score: bool = False


@dataclass
class RoundGroup:
    round: Round
    window: str  # "open", "not_yet", "closed", "unset"
    rows: list[AssignmentRow] = field(default_factory=list)
    #: "2 days 5 hours" while judging is open
    time_left: str | None = None

    @property
    def done(self) -> int:
        return sum(1 for row in self.rows if row.state == "submitted")


@dataclass
class CompetitionGroup:
    competition: Competition
    rounds: list[RoundGroup] = field(default_factory=list)


def _window(round_: Round, now: datetime) -> str:
    if round_.judging_is_open(now):
        return "open"
    if round_.judging_opens_at and now < round_.judging_opens_at:
        return "not_yet"
    if round_.judging_closes_at and now >= round_.judging_closes_at:
        return "closed"
    return "unset"


def _my_assignments(user) -> list[CompetitionGroup]:
    """The person's assignments in competitions where they still judge (the role gives access)."""
    assignments = db.session.scalars(
        select(Assignment)
        .join(Submission, Submission.id == Assignment.submission_id)
        .join(Round, Round.id == Assignment.round_id)
        .join(Competition, Competition.id == Round.competition_id)
        .join(Team, Team.id == Submission.team_id)
        .where(Assignment.judge_id == user.id)
        .options(
            selectinload(Assignment.submission).selectinload(Submission.round).selectinload(Round.competition),
            selectinload(Assignment.submission).selectinload(Submission.team).selectinload(Team.track),
            selectinload(Assignment.submission).selectinload(Submission.team).selectinload(Team.institution),
        )
        .order_by(Competition.year.desc(), Competition.id, Round.position, Round.id, Team.project_title, Assignment.id)
    ).all()
    now = utcnow()
    # the judge's own scorecards only (never another judge's): their state per assignment
    states = dict(
        db.session.execute(
            select(Scorecard.assignment_id, Scorecard.state).where(
                Scorecard.assignment_id.in_([assignment.id for assignment in assignments]),
                Scorecard.judge_id == user.id,
            )
        ).all()
    )
    groups: dict[int, CompetitionGroup] = {}
    rounds: dict[int, RoundGroup] = {}
    for assignment in assignments:
        submission = assignment.submission
        round_ = submission.round
        competition = round_.competition
        if Role.JUDGE not in user.roles_in(competition):
            continue
        group = groups.setdefault(competition.id, CompetitionGroup(competition))
        if round_.id not in rounds:
            window = _window(round_, now)
            time_left = _time_left(round_.judging_closes_at - now) if window == "open" else None
            rounds[round_.id] = RoundGroup(round_, window, time_left=time_left)
            group.rounds.append(rounds[round_.id])
        rounds[round_.id].rows.append(
            AssignmentRow(
                assignment,
                submission,
                is_blind_for(user, submission),
                can_read_submission(user, submission),
                state=states.get(assignment.id, "not_started"),
                can_score=can_open_scorecard(user, assignment),
            )
        )
    return list(groups.values())


@bp.get("/")
@login_required
def home():
    return render_template("judging/home.html", groups=_my_assignments(current_user), form=DeclareForm())


@bp.post("/assignments/<int:assignment_id>/conflict")
@login_required
def declare(assignment_id: int):
    """The judge declares a conflict with the team of one of their assignments: they are taken off
    the team's submissions and the organizers are told."""
    assignment = db.session.get(Assignment, assignment_id)
    require(assignment is not None and can_declare_conflict(current_user, assignment), hide=True)
    submission = assignment.submission
    form = DeclareForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        return redirect(url_for("judging.home"))
    judge = current_user._get_current_object()
    # the project's title, never the team's name: the round may be blind
    commit_or_flash(
        lambda: conflicts.declare(
            submission.round.competition,
            judge=judge,
            team=submission.team,
            actor=judge,
            reason=form.reason.data,
            by_organizer=False,
        ),
        _(
            "Your conflict of interest with “%(project)s” has been recorded. You no longer judge it; the organizers have been told.",
            project=submission.team.project_title,
        ),
    )
    return redirect(url_for("judging.home"))
