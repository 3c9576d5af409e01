"""Organizers' page of a competition's conflicts of interest (回避): every stored conflict with why
it exists, filters, the competition's own rules in words; refresh the automatic ones, dismiss a
false positive with a reason (audited), restore it, declare one on a judge's behalf.

The blueprint is named `conflicts`: the e-mail telling organizers a judge declared a conflict
links to `conflicts.index`.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from competition.accounts.models import User
from competition.competitions.models import Competition
from competition.competitions.policies import can_view_competition
from competition.core.permissions import require
from competition.core.web import commit_or_flash, commit_or_show, flash_form_errors
from competition.extensions import db
from competition.judging import conflicts
from competition.judging.forms import ConflictFilterForm, DismissForm, OrganizerDeclareForm
from competition.judging.models import Conflict
from competition.judging.policies import can_manage_conflicts
from competition.teams.models import Team, TeamState

bp = Blueprint("conflicts", __name__, url_prefix="/competitions/<code>/conflicts")
PER_PAGE = 100


def _competition(code: str) -> Competition:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # A draft competition is invisible to outsiders: 404, not 403.
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    require(can_manage_conflicts(current_user, competition))
    return competition


def _conflict(competition: Competition, conflict_id: int) -> Conflict:
    row = db.session.get(Conflict, conflict_id)
    require(row is not None and row.competition_id == competition.id, hide=True)
    return row


def _judges(competition: Competition) -> list[User]:
    ids = conflicts.judges_of(competition)
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.real_name, User.id)))


def _teams(competition: Competition) -> list[Team]:
    return list(
        db.session.scalars(
            select(Team)
            .where(Team.competition_id == competition.id, Team.state != TeamState.WITHDRAWN.value)
            .order_by(Team.name)
        )
    )


def _declare_form(competition: Competition, judges: list[User]) -> OrganizerDeclareForm:
    form = OrganizerDeclareForm()
    form.judge.choices = [SelectChoice("", _("Choose a judge"))] + [
        SelectChoice(judge.id, f"{judge.real_name} · {judge.email}") for judge in judges
    ]
    form.team.choices = [SelectChoice("", _("Choose a team"))] + [
        SelectChoice(team.id, f"{team.name} · {team.project_title}") for team in _teams(competition)
    ]
    return form


def _back(competition: Competition):
    return redirect(url_for("conflicts.index", code=competition.code, **_kept_filters()))


def _kept_filters() -> dict:
    """The filters of the page a button was pressed on (sent back as the form's query string)."""
    return {key: value for key, value in request.args.items() if key in ("source", "judge", "team", "state", "page")}


def _render(competition: Competition, declare_form: OrganizerDeclareForm, judges: list[User]):
    filters = ConflictFilterForm(request.args)
    filters.judge.choices = [SelectChoice("", _("Every judge"))] + [
        SelectChoice(judge.id, judge.real_name) for judge in judges
    ]
    filters.validate()
    statement = (
        select(Conflict)
        .join(Team, Team.id == Conflict.team_id)
        .join(User, User.id == Conflict.judge_id)
        .where(Conflict.competition_id == competition.id)
        .options(selectinload(Conflict.judge), selectinload(Conflict.team))
        .order_by(User.real_name, Team.name, Conflict.source, Conflict.id)
    )
    if filters.source.data and not filters.source.errors:
        statement = statement.where(Conflict.source == filters.source.data)
    if filters.judge.data and not filters.judge.errors:
        statement = statement.where(Conflict.judge_id == filters.judge.data)
    if filters.team.data and not filters.team.errors:
        pattern = "%" + filters.team.data.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(Team.name.ilike(pattern, escape="\\"), Team.project_title.ilike(pattern, escape="\\"))
        )
    if filters.state.data == "active":
        statement = statement.where(Conflict.dismissed_at.is_(None))
    elif filters.state.data == "dismissed":
        statement = statement.where(Conflict.dismissed_at.is_not(None))
    page = db.paginate(statement, per_page=PER_PAGE, error_out=False)
    dismissers = {row.dismissed_by_id for row in page.items if row.dismissed_by_id}
    people = (
        {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(dismissers)))}
        if dismissers
        else {}
    )
    filter_args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "judging/conflicts.html",
        competition=competition,
        filters=filters,
        declare_form=declare_form,
        page=page,
        people=people,
        filter_args=filter_args,
        here_args=_kept_filters(),
    )


@bp.get("/")
@login_required
def index(code: str):
    competition = _competition(code)
    judges = _judges(competition)
    return _render(competition, _declare_form(competition, judges), judges)


@bp.post("/refresh")
@login_required
def refresh(code: str):
    competition = _competition(code)
    outcome = commit_or_show(None, lambda: conflicts.refresh_automatic_conflicts(competition, actor=current_user))
    if outcome:
        flash(
            _(
                "The automatic conflicts have been brought up to date: %(added)s new, %(removed)s no longer apply.",
                **outcome.value,
            ),
            "success",
        )
    return _back(competition)


@bp.post("/declare")
@login_required
def declare(code: str):
    competition = _competition(code)
    judges = _judges(competition)
    form = _declare_form(competition, judges)
    if form.validate_on_submit():
        judge = db.session.get(User, form.judge.data)
        team = db.session.get(Team, form.team.data)
        if commit_or_show(
            form,
            lambda: conflicts.declare(
                competition, judge=judge, team=team, actor=current_user, reason=form.reason.data, by_organizer=True
            ),
        ):
            flash(
                _(
                    "The conflict of %(judge)s with “%(team)s” has been recorded; %(judge)s no longer judges its submissions.",
                    judge=judge.real_name,
                    team=team.name,
                ),
                "success",
            )
            return _back(competition)
    return _render(competition, form, judges)


@bp.post("/<int:conflict_id>/dismiss")
@login_required
def dismiss(code: str, conflict_id: int):
    competition = _competition(code)
    row = _conflict(competition, conflict_id)
    form = DismissForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(competition)
    commit_or_flash(
        lambda: conflicts.dismiss(row, actor=current_user, reason=form.reason.data),
        _(
            "The conflict of %(judge)s with “%(team)s” has been dismissed; %(judge)s may now judge the team.",
            judge=row.judge.real_name,
            team=row.team.name,
        ),
    )
    return _back(competition)


@bp.post("/<int:conflict_id>/restore")
@login_required
def restore(code: str, conflict_id: int):
    competition = _competition(code)
    row = _conflict(competition, conflict_id)
    commit_or_flash(
        lambda: conflicts.restore(row, actor=current_user),
        _(
            "The conflict of %(judge)s with “%(team)s” is in force again. Check the assignments of this team.",
            judge=row.judge.real_name,
            team=row.team.name,
        ),
    )
    return _back(competition)
