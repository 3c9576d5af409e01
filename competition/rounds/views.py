"""Rounds: organizers set them up; institution organizers recommend teams within their quota."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from competition.accounts.views import SIDE_LABELS
from competition.competitions.models import Competition
from competition.competitions.policies import can_view_competition
from competition.core.permissions import require
from competition.core.web import commit_or_flash, commit_or_show
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds import policies, services
from competition.rounds.forms import RoundForm
from competition.rounds.models import Round
from competition.teams.models import Team
from competition.teams.policies import reviewable_institution_ids

bp = Blueprint("rounds", __name__, url_prefix="/competitions/<code>/rounds")
PER_PAGE = 100


def _competition(code: str) -> Competition:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # A draft is invisible to outsiders: 404, not 403.
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    return competition


def _round(competition: Competition, round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == competition.id, hide=True)
    return round_


def _team(competition: Competition, team_id: int) -> Team:
    team = db.session.get(Team, team_id)
    require(team is not None and team.competition_id == competition.id, hide=True)
    return team


# --- the list and the set-up form ---------------------------------------------------------------


@bp.get("/")
def index(code: str):
    competition = _competition(code)
    return render_template("rounds/index.html", competition=competition, rounds=services.rounds_of(competition))


def _round_form(competition: Competition, round_: Round | None) -> RoundForm:
    if round_ is not None and request.method == "GET":
        form = RoundForm(
            data={
                "name_zh": round_.name_zh,
                "name_en": round_.name_en,
                "position": round_.position,
                "level": round_.level,
                "entry_rule": round_.entry_rule,
                "tracks": [track.id for track in round_.tracks],
                "next_round": round_.next_round_id,
                "quota_kind": round_.quota_kind or "",
                "quota_value": round_.quota_value,
                "judging_opens_at": round_.judging_opens_at,
                "judging_closes_at": round_.judging_closes_at,
            }
        )
    elif request.method == "GET":
        positions = [other.position for other in services.rounds_of(competition)]
        form = RoundForm(data={"position": max(positions, default=0) + 1})
    else:
        form = RoundForm()
    form.tracks.choices = [SelectChoice(track.id, track.name) for track in competition.tracks]
    form.next_round.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(other.id, f"{other.position}. {other.name}")
        for other in services.rounds_of(competition)
        if round_ is None or other.id != round_.id
    ]
    return form


def _settings(form: RoundForm, competition: Competition) -> services.RoundSettings:
    chosen = set(form.tracks.data or [])
    next_round = db.session.get(Round, form.next_round.data) if form.next_round.data else None
    return services.RoundSettings(
        name_zh=form.name_zh.data or "",
        name_en=form.name_en.data or "",
        position=form.position.data,
        level=form.level.data,
        entry_rule=form.entry_rule.data,
        tracks=[track for track in competition.tracks if track.id in chosen],
        next_round=next_round,
        quota_kind=form.quota_kind.data or None,
        quota_value=form.quota_value.data,
        judging_opens_at=form.judging_opens_at.data,
        judging_closes_at=form.judging_closes_at.data,
    )


def _edit(competition: Competition, round_: Round | None):
    form = _round_form(competition, round_)
    if form.validate_on_submit() and (
        done := commit_or_show(
            form,
            lambda: services.save_round(
                competition, actor=current_user, round_=round_, settings=_settings(form, competition)
            ),
        )
    ):
        saved = done.value
        flash(
            _("The round %(name)s has been saved.", name=saved.name)
            if round_ is not None
            else _("The round %(name)s has been added.", name=saved.name),
            "success",
        )
        return redirect(url_for("rounds.index", code=competition.code))
    return render_template("rounds/form.html", competition=competition, round_=round_, form=form)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new(code: str):
    competition = _competition(code)
    require(policies.can_manage_rounds(current_user, competition))
    return _edit(competition, None)


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
@login_required
def edit(code: str, round_id: int):
    competition = _competition(code)
    round_ = _round(competition, round_id)
    require(policies.can_manage_rounds(current_user, competition))
    return _edit(competition, round_)


# --- a round's teams and recommendations --------------------------------------------------------


@bp.get("/<int:round_id>")
@login_required
def detail(code: str, round_id: int):
    competition = _competition(code)
    round_ = _round(competition, round_id)
    require(policies.can_view_round_teams(current_user, round_))
    scope = reviewable_institution_ids(current_user, competition)
    statement = (
        services.participants_query(round_)
        .join(Institution, Team.institution_id == Institution.id)
        .options(selectinload(Team.track), selectinload(Team.institution))
        .order_by(Institution.code, Team.name, Team.id)
    )
    if scope is not None:
        statement = statement.where(Team.institution_id.in_(scope))
    page = db.paginate(statement, per_page=PER_PAGE, error_out=False)
    feeds = round_.level == "institution" and round_.next_round_id is not None
    return render_template(
        "rounds/detail.html",
        competition=competition,
        round_=round_,
        page=page,
        feeds=feeds,
        quotas=services.quota_statuses(round_, scope) if feeds else [],
        recommended=services.recommended_team_ids(round_) if feeds else set(),
        side_labels=SIDE_LABELS,
    )


def _back_to_round(competition: Competition, round_id: int):
    return redirect(url_for("rounds.detail", code=competition.code, round_id=round_id))


@bp.post("/<int:round_id>/teams/<int:team_id>/recommend")
@login_required
def recommend(code: str, round_id: int, team_id: int):
    competition = _competition(code)
    round_ = _round(competition, round_id)
    team = _team(competition, team_id)
    require(policies.can_recommend_team(current_user, round_, team))
    commit_or_flash(
        lambda: services.recommend(round_, team, actor=current_user),
        _("“%(team)s” has been recommended to %(round)s.", team=team.name, round=round_.next_round.name),
    )
    return _back_to_round(competition, round_id)


@bp.post("/<int:round_id>/teams/<int:team_id>/withdraw")
@login_required
def withdraw(code: str, round_id: int, team_id: int):
    competition = _competition(code)
    round_ = _round(competition, round_id)
    team = _team(competition, team_id)
    require(policies.can_recommend_team(current_user, round_, team))
    commit_or_flash(
        lambda: services.withdraw_recommendation_of(round_, team, actor=current_user),
        _("The recommendation of “%(team)s” has been withdrawn.", team=team.name),
    )
    return _back_to_round(competition, round_id)


@bp.post("/<int:round_id>/delete")
@login_required
def delete(code: str, round_id: int):
    competition = _competition(code)
    round_ = _round(competition, round_id)
    require(policies.can_manage_rounds(current_user, competition))
    commit_or_flash(
        lambda: services.delete_round(round_, actor=current_user),
        _("The round %(name)s has been deleted.", name=round_.name),
    )
    return redirect(url_for("rounds.index", code=competition.code))
