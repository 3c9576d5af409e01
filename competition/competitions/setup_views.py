"""Organizers' set-up pages of a competition: information, rules, timeline, logo, tracks, state."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from competition.competitions import forms, policies, services
from competition.competitions.models import Competition, CompetitionState, Track
from competition.core.permissions import require
from competition.core.web import accepts_uploads, commit_or_flash, commit_or_show
from competition.extensions import db

bp = Blueprint("setup", __name__, url_prefix="/competitions/<code>/setup")

#: the organizer's words for each move of the state machine (services.TRANSITIONS)
TRANSITION_LABELS = {
    (CompetitionState.DRAFT, CompetitionState.REGISTRATION): _l("Open registration"),
    (CompetitionState.REGISTRATION, CompetitionState.SUBMISSION): _l("Close registration and open submission"),
    (CompetitionState.REGISTRATION, CompetitionState.DRAFT): _l("Back to draft"),
    (CompetitionState.SUBMISSION, CompetitionState.JUDGING): _l("Close submission and start judging"),
    (CompetitionState.SUBMISSION, CompetitionState.REGISTRATION): _l("Reopen registration"),
    (CompetitionState.JUDGING, CompetitionState.PUBLISHED): _l("Publish the results"),
    (CompetitionState.JUDGING, CompetitionState.SUBMISSION): _l("Reopen submission"),
    (CompetitionState.PUBLISHED, CompetitionState.ARCHIVED): _l("Archive"),
}
#: the states in their forward order; a move to an earlier one is shown as a secondary button
ORDER = list(CompetitionState)


def _load(code: str) -> Competition:
    """The competition, 404 when it does not exist or is a draft the user may not see, 403 for
    everyone else who may see it but not manage it."""
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    require(competition is not None and policies.can_view_competition(current_user, competition), hide=True)
    require(policies.can_manage_competition(current_user, competition))
    return competition


def _load_track(competition: Competition, track_id: int) -> Track:
    track = db.session.get(Track, track_id)
    require(track is not None and track.competition_id == competition.id, hide=True)
    return track


def _transitions(competition: Competition) -> list[dict]:
    current = CompetitionState(competition.state)
    return [
        {
            "target": target.value,
            "label": TRANSITION_LABELS.get((current, target), target.value),
            "backward": ORDER.index(target) < ORDER.index(current),
        }
        for target in services.TRANSITIONS[current]
    ]


def _render(template: str, competition: Competition, tab: str, **context):
    return render_template(f"competitions/setup/{template}", competition=competition, tab=tab, **context)


# --- general information --------------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@login_required
def general(code: str):
    competition = _load(code)
    form = forms.GeneralForm(obj=competition)
    if form.validate_on_submit() and commit_or_show(
        form, lambda: services.update_general(competition, actor=current_user, info=form.to_info())
    ):
        flash(_("The competition information has been saved."), "success")
        return redirect(url_for("setup.general", code=code))
    return _render(
        "general.html",
        competition,
        "general",
        form=form,
        transitions=_transitions(competition),
    )


@bp.post("/state")
@login_required
def change_state(code: str):
    competition = _load(code)
    form = forms.StateForm()
    if not form.validate_on_submit():
        flash(_("Please choose one of the offered actions."), "danger")
        return redirect(url_for("setup.general", code=code))
    # a refusal is flashed (the page redirects); the message names the new state, so it follows the commit
    if commit_or_show(None, lambda: services.change_state(competition, actor=current_user, target=form.target_state())):
        flash(_("The competition is now in the state “%(state)s”.", state=competition.state_label), "success")
    return redirect(url_for("setup.general", code=code))


# --- rules and timeline ---------------------------------------------------------------------------


@bp.route("/rules", methods=["GET", "POST"])
@login_required
def rules(code: str):
    competition = _load(code)
    form = forms.RulesForm(obj=competition)
    if form.validate_on_submit() and commit_or_show(
        form, lambda: services.update_rules(competition, actor=current_user, rules=form.to_rules())
    ):
        flash(_("The rules have been saved."), "success")
        return redirect(url_for("setup.rules", code=code))
    return _render("rules.html", competition, "rules", form=form)


@bp.route("/timeline", methods=["GET", "POST"])
@login_required
def timeline(code: str):
    competition = _load(code)
    form = forms.TimelineForm(obj=competition)
    if form.validate_on_submit() and commit_or_show(
        form, lambda: services.update_timeline(competition, actor=current_user, timeline=form.to_timeline())
    ):
        flash(_("The timeline has been saved."), "success")
        return redirect(url_for("setup.timeline", code=code))
    return _render("timeline.html", competition, "timeline", form=form)


# --- logo -----------------------------------------------------------------------------------------


@bp.route("/logo", methods=["GET", "POST"])
@accepts_uploads
@login_required
def logo(code: str):
    competition = _load(code)
    form = forms.LogoForm()
    if form.validate_on_submit() and commit_or_show(
        form, lambda: services.set_logo(competition, actor=current_user, stream=form.logo.data.stream)
    ):
        flash(_("The logo has been saved."), "success")
        return redirect(url_for("setup.logo", code=code))
    return _render("logo.html", competition, "logo", form=form)


# --- tracks ---------------------------------------------------------------------------------------


def _save_track(competition: Competition, track: Track | None, form: forms.TrackForm) -> Track:
    """Add a track (`track` None) or save one, from the track form."""
    return services.save_track(
        competition,
        actor=current_user,
        track=track,
        code=form.code.data,
        name_zh=form.name_zh.data,
        name_en=form.name_en.data,
        position=form.position.data,
    )


@bp.route("/tracks", methods=["GET", "POST"])
@login_required
def tracks(code: str):
    competition = _load(code)
    form = forms.TrackForm()
    if form.validate_on_submit() and (added := commit_or_show(form, lambda: _save_track(competition, None, form))):
        flash(_("The track %(name)s has been added.", name=added.value.name), "success")
        return redirect(url_for("setup.tracks", code=code))
    return _render("tracks.html", competition, "tracks", form=form)


@bp.route("/tracks/<int:track_id>", methods=["GET", "POST"])
@login_required
def edit_track(code: str, track_id: int):
    competition = _load(code)
    track = _load_track(competition, track_id)
    form = forms.TrackForm(obj=track)
    if form.validate_on_submit() and commit_or_show(form, lambda: _save_track(competition, track, form)):
        flash(_("The track has been saved."), "success")
        return redirect(url_for("setup.tracks", code=code))
    return _render("track.html", competition, "tracks", form=form, track=track)


@bp.post("/tracks/<int:track_id>/delete")
@login_required
def delete_track(code: str, track_id: int):
    competition = _load(code)
    track = _load_track(competition, track_id)
    commit_or_flash(lambda: services.delete_track(track, actor=current_user), _("The track has been deleted."))
    return redirect(url_for("setup.tracks", code=code))
