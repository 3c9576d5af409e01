"""Reviewers' pages: the team list of a competition (filters, search, counts) and the review actions.

Institution organizers see and review their own institution's teams; alliance organizers all.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from competition.accounts.views import SIDE_LABELS
from competition.competitions.models import Competition
from competition.core.permissions import require
from competition.core.web import commit_or_flash
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams import forms, policies, queries, services
from competition.teams.models import Team

bp = Blueprint("team_review", __name__)
PER_PAGE = 30


def _competition(code: str) -> Competition:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    require(competition is not None, hide=True)
    require(policies.can_list_teams(current_user, competition))
    return competition


@bp.get("/competitions/<code>/teams/")
@login_required
def team_list(code: str):
    competition = _competition(code)
    scope = policies.reviewable_institution_ids(current_user, competition)
    form = forms.TeamFilterForm(request.args)
    institutions = db.session.scalars(
        select(Institution).where(Institution.id.in_(scope)) if scope is not None else select(Institution)
    ).all()
    form.track.choices = [SelectChoice("", _("All tracks"))] + [SelectChoice(t.id, t.name) for t in competition.tracks]
    form.institution.choices = [SelectChoice("", _("All institutions"))] + [
        SelectChoice(inst.id, inst.name) for inst in sorted(institutions, key=lambda inst: inst.code)
    ]
    form.side.choices = [SelectChoice("", _("Both sides"))] + [
        SelectChoice(side, label) for side, label in SIDE_LABELS.items()
    ]
    form.validate()
    filters = queries.TeamFilters(
        q=(form.q.data or "").strip()[:100] or None,
        track_id=form.track.data if not form.track.errors else None,
        institution_id=form.institution.data if not form.institution.errors else None,
        side=form.side.data if form.side.data in SIDE_LABELS else None,
        state=form.state.data or None,
    )
    page = db.paginate(queries.teams_query(competition, scope, filters), per_page=PER_PAGE, error_out=False)
    counts = queries.counts_by_institution(competition, scope)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "teams/review_list.html",
        competition=competition,
        form=form,
        page=page,
        counts=counts,
        side_counts=queries.counts_by_side(counts),
        side_labels=SIDE_LABELS,
        filter_args=args,
    )


def _team_for_review(team_id: int) -> Team:
    team = db.session.get(Team, team_id)
    require(team is not None and policies.can_view_team(current_user, team), hide=True)
    require(policies.can_review_team(current_user, team))
    return team


@bp.post("/teams/<int:team_id>/approve")
@login_required
def approve(team_id: int):
    team = _team_for_review(team_id)
    form = forms.ApproveForm()
    form.validate()
    commit_or_flash(
        lambda: services.approve(team, actor=current_user, student_status_confirmed=bool(form.confirm.data)),
        _("%(team)s has been approved; the leader has been told by e-mail.", team=team.name),
    )
    return redirect(url_for("teams.detail", team_id=team.id))


@bp.post("/teams/<int:team_id>/return")
@login_required
def return_team(team_id: int):
    team = _team_for_review(team_id)
    form = forms.ReasonForm()
    form.validate()
    commit_or_flash(
        lambda: services.return_for_changes(team, actor=current_user, reason=form.reason.data),
        _("%(team)s has been returned for changes; the leader has been told by e-mail.", team=team.name),
    )
    return redirect(url_for("teams.detail", team_id=team.id))


@bp.post("/teams/<int:team_id>/unlock")
@login_required
def unlock(team_id: int):
    team = _team_for_review(team_id)
    form = forms.ReasonForm()
    form.validate()
    commit_or_flash(
        lambda: services.unlock(team, actor=current_user, reason=form.reason.data),
        _("%(team)s may be changed again; it must be submitted for review once more.", team=team.name),
    )
    return redirect(url_for("teams.detail", team_id=team.id))
