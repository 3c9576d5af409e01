"""Organizers' scoring pages of a round: its rubrics (from a preset, criteria, freezing), the
progress of the judging (per judge and per submission, reopening, reminders, closing) and the export
of every score as .xlsx.

Judges never reach these pages; organizers of the competition and admins do (can_manage_scoring).
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from competition.accounts.models import User
from competition.competitions.models import Competition, _localized
from competition.competitions.policies import can_view_competition
from competition.core.audit import AuditEntry
from competition.core.permissions import require
from competition.core.spreadsheets import XLSX_MIMETYPE
from competition.core.time import utcnow
from competition.core.web import commit_or_flash, commit_or_show, flash_form_errors
from competition.extensions import db
from competition.judging.services import round_tracks
from competition.rounds.models import Round
from competition.scoring import progress, services
from competition.scoring.export import download_name, scores_xlsx
from competition.scoring.models import Criterion, Rubric, Scorecard
from competition.scoring.organizer_forms import (
    ActionForm,
    CloseForm,
    CriterionForm,
    MinCommentForm,
    ReasonForm,
    ReminderForm,
    RubricCreateForm,
)
from competition.scoring.policies import can_manage_scoring

bp = Blueprint("scoring_admin", __name__, url_prefix="/competitions/<code>/rounds/<int:round_id>/scoring")
PER_PAGE = 30
ROUND_DEFAULT = ""  # the "track" of the round's own rubric in the create form


def managed_round(code: str, round_id: int) -> Round:
    """The round of the URL when the user manages its scoring (its results too); 404 or 403 otherwise."""
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # A draft competition is invisible to outsiders: 404, not 403.
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == competition.id, hide=True)
    require(can_manage_scoring(current_user, round_))
    return round_


def _rubric(round_: Round, rubric_id: int) -> Rubric:
    rubric = db.session.get(Rubric, rubric_id)
    require(rubric is not None and rubric.round_id == round_.id, hide=True)
    return rubric


def _criterion(rubric: Rubric, criterion_id: int) -> Criterion:
    criterion = db.session.get(Criterion, criterion_id)
    require(criterion is not None and criterion.rubric_id == rubric.id, hide=True)
    return criterion


def _to_rubrics(round_: Round, rubric: Rubric | None = None):
    anchor = f"#rubric-{rubric.id}" if rubric is not None else ""
    return redirect(url_for("scoring_admin.rubrics", code=round_.competition.code, round_id=round_.id) + anchor)


def _to_progress(round_: Round, anchor: str = ""):
    page = request.args.get("page", type=int)
    return redirect(
        url_for("scoring_admin.progress_page", code=round_.competition.code, round_id=round_.id, page=page) + anchor
    )


# --- rubrics --------------------------------------------------------------------------------------


def _round_rubrics(round_: Round) -> list[Rubric]:
    """The round's own rubric first, then the tracks' in the tracks' order."""
    rubrics = db.session.scalars(
        select(Rubric).where(Rubric.round_id == round_.id).options(selectinload(Rubric.criteria), selectinload(Rubric.track))
    ).all()  # fmt: skip
    return sorted(rubrics, key=lambda r: (r.track is not None, r.track.position if r.track else 0, r.track_id or 0))


def _create_form(round_: Round, rubrics: list[Rubric]) -> RubricCreateForm:
    form = RubricCreateForm()
    form.preset.choices = [SelectChoice("", _("Empty: I add the criteria myself"))] + [
        SelectChoice(preset["code"], _localized(preset["name_zh"], preset["name_en"])) for preset in services.presets()
    ]
    taken = {rubric.track_id for rubric in rubrics}
    form.track.choices = ([] if None in taken else [SelectChoice(ROUND_DEFAULT, _("The whole round"))]) + [
        SelectChoice(str(track.id), _("Track: %(track)s", track=track.name))
        for track in round_tracks(round_)
        if track.id not in taken
    ]
    return form


def _freezers(rubrics: list[Rubric]) -> dict[int, str]:
    """rubric id → the judge whose submit froze it (the scorecard submitted at the freezing moment)."""
    frozen = [rubric.id for rubric in rubrics if rubric.frozen_at is not None]
    if not frozen:
        return {}
    rows = db.session.execute(
        select(Scorecard.rubric_id, User.real_name)
        .join(User, User.id == Scorecard.judge_id)
        .join(Rubric, Rubric.id == Scorecard.rubric_id)
        .where(Scorecard.rubric_id.in_(frozen), Scorecard.submitted_at == Rubric.frozen_at)
        .order_by(Scorecard.id)
    ).all()
    found: dict[int, str] = {}
    for rubric_id, name in rows:
        found.setdefault(rubric_id, name)
    return found


def _unfreezes(rubrics: list[Rubric]) -> dict[int, AuditEntry]:
    """rubric id → the latest unfreeze (who, when, why) from the audit log."""
    if not rubrics:
        return {}
    latest: dict[int, AuditEntry] = {}
    for entry in db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "rubric.unfreeze",
            AuditEntry.object_type == Rubric.__tablename__,
            AuditEntry.object_id.in_([str(rubric.id) for rubric in rubrics]),
        )
        .options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.id.desc())
    ):
        latest.setdefault(int(entry.object_id), entry)
    return latest


def _points(value: Decimal) -> str:
    return format_decimal(value, format="#,##0.#")


def _shares(rubric: Rubric) -> dict[int, str]:
    """criterion id → its share of the rubric's total (the weight implied by the points)."""
    total = rubric.total
    return {c.id: format_percent(c.max_points / total, format="#,##0.#%") if total else "—" for c in rubric.criteria}


def _rubrics_page(round_: Round, form: RubricCreateForm, rubrics: list[Rubric], status: int = 200):
    return render_template(
        "scoring/organizer/rubrics.html",
        competition=round_.competition,
        round_=round_,
        form=form,
        rubrics=rubrics,
        presets=services.presets(),
        localized=_localized,
        shares={rubric.id: _shares(rubric) for rubric in rubrics},
        points=_points,
        freezers=_freezers(rubrics),
        unfreezes=_unfreezes(rubrics),
        in_use=progress.rubric_ids_in_use(round_),
        tab="rubrics",
    ), status


@bp.route("/rubrics", methods=["GET", "POST"])
@login_required
def rubrics(code: str, round_id: int):
    round_ = managed_round(code, round_id)
    existing = _round_rubrics(round_)
    form = _create_form(round_, existing)
    if form.validate_on_submit():
        track = None
        if form.track.data != ROUND_DEFAULT:
            track = next(track for track in round_tracks(round_) if str(track.id) == form.track.data)
        outcome = commit_or_show(
            form,
            lambda: services.create_rubric(
                round_, actor=current_user, track=track, preset_code=form.preset.data or None
            ),
        )
        if outcome:
            flash(_("The rubric has been created."), "success")
            return _to_rubrics(round_, outcome.value)
    return _rubrics_page(round_, form, existing)


def _criterion_settings(form: CriterionForm, criterion: Criterion | None) -> services.CriterionSettings:
    return services.CriterionSettings(
        code=form.code.data or "",
        name_zh=form.name_zh.data or "",
        name_en=form.name_en.data or "",
        guidance_zh=form.guidance_zh.data or "",
        guidance_en=form.guidance_en.data or "",
        max_points=Decimal(form.max_points.data),
        step=Decimal(form.step.data),
        position=criterion.position if criterion is not None else 0,
    )


def _criterion_page(round_: Round, rubric: Rubric, criterion: Criterion | None):
    if criterion is not None and request.method == "GET":
        form = CriterionForm(
            data={
                "code": criterion.code,
                "name_zh": criterion.name_zh,
                "name_en": criterion.name_en,
                "guidance_zh": criterion.guidance_zh,
                "guidance_en": criterion.guidance_en,
                "max_points": _plain(criterion.max_points),
                "step": _plain(criterion.step),
            }
        )
    else:
        form = CriterionForm()
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.save_criterion(
            rubric, actor=current_user, criterion=criterion, settings=_criterion_settings(form, criterion)
        ),
    ):
        flash(
            _("The criterion has been saved.") if criterion is not None else _("The criterion has been added."),
            "success",
        )
        return _to_rubrics(round_, rubric)
    return render_template(
        "scoring/organizer/criterion_form.html",
        competition=round_.competition,
        round_=round_,
        rubric=rubric,
        criterion=criterion,
        form=form,
        points=_points,
        tab="rubrics",
    )


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


@bp.route("/rubrics/<int:rubric_id>/criteria/new", methods=["GET", "POST"])
@login_required
def new_criterion(code: str, round_id: int, rubric_id: int):
    round_ = managed_round(code, round_id)
    return _criterion_page(round_, _rubric(round_, rubric_id), None)


@bp.route("/rubrics/<int:rubric_id>/criteria/<int:criterion_id>", methods=["GET", "POST"])
@login_required
def edit_criterion(code: str, round_id: int, rubric_id: int, criterion_id: int):
    round_ = managed_round(code, round_id)
    rubric = _rubric(round_, rubric_id)
    return _criterion_page(round_, rubric, _criterion(rubric, criterion_id))


@bp.post("/rubrics/<int:rubric_id>/criteria/<int:criterion_id>/delete")
@login_required
def delete_criterion(code: str, round_id: int, rubric_id: int, criterion_id: int):
    round_ = managed_round(code, round_id)
    rubric = _rubric(round_, rubric_id)
    criterion = _criterion(rubric, criterion_id)
    form = ActionForm()
    if form.validate_on_submit():
        name = criterion.name
        commit_or_flash(
            lambda: services.delete_criterion(criterion, actor=current_user),
            _("The criterion %(name)s has been deleted.", name=name),
        )
    else:
        flash_form_errors(form)
    return _to_rubrics(round_, rubric)


@bp.post("/rubrics/<int:rubric_id>/min-comment")
@login_required
def min_comment(code: str, round_id: int, rubric_id: int):
    round_ = managed_round(code, round_id)
    rubric = _rubric(round_, rubric_id)
    form = MinCommentForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.set_min_comment(rubric, actor=current_user, characters=form.min_comment_chars.data),
            _("The smallest length of the overall comment has been saved."),
        )
    else:
        flash_form_errors(form)
    return _to_rubrics(round_, rubric)


@bp.post("/rubrics/<int:rubric_id>/unfreeze")
@login_required
def unfreeze(code: str, round_id: int, rubric_id: int):
    round_ = managed_round(code, round_id)
    rubric = _rubric(round_, rubric_id)
    form = ReasonForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.unfreeze(rubric, actor=current_user, reason=form.reason.data),
            _("The rubric has been unfrozen; the reason has been recorded. It freezes again at the next submitted scorecard."),
            category="warning",
        )  # fmt: skip
    else:
        flash_form_errors(form)
    return _to_rubrics(round_, rubric)


@bp.post("/rubrics/<int:rubric_id>/delete")
@login_required
def delete_rubric(code: str, round_id: int, rubric_id: int):
    round_ = managed_round(code, round_id)
    rubric = _rubric(round_, rubric_id)
    form = ActionForm()
    if form.validate_on_submit():
        if commit_or_flash(
            lambda: services.delete_rubric(rubric, actor=current_user), _("The rubric has been deleted.")
        ):
            return _to_rubrics(round_)
    else:
        flash_form_errors(form)
    return _to_rubrics(round_, rubric)


# --- progress, reopening, reminders, closing ------------------------------------------------------


@bp.get("/progress")
@login_required
def progress_page(code: str, round_id: int):
    round_ = managed_round(code, round_id)
    now = utcnow()
    judges = progress.judge_progress(round_)
    page = db.paginate(progress.submissions_statement(round_), per_page=PER_PAGE, error_out=False)
    reminder_due = None
    if round_.reminder_hours_before_close is not None and round_.judging_closes_at is not None:
        reminder_due = round_.judging_closes_at - timedelta(hours=round_.reminder_hours_before_close)
    return render_template(
        "scoring/organizer/progress.html",
        competition=round_.competition,
        round_=round_,
        judges=judges,
        pending_judges=sum(1 for judge in judges if judge.pending),
        counts=progress.counts(round_),
        page=page,
        panels=progress.submission_progress(round_, list(page.items)),
        requests=progress.reopen_requests(round_),
        reminder_form=ReminderForm(formdata=None, data={"hours": round_.reminder_hours_before_close}),
        close_form=CloseForm(formdata=None),
        reminder_due=reminder_due,
        is_open=round_.judging_is_open(now),
        is_closed=round_.judging_closes_at is not None and round_.judging_closes_at <= now,
        points=_points,
        tab="progress",
    )


@bp.post("/scorecards/<int:scorecard_id>/reopen")
@login_required
def reopen(code: str, round_id: int, scorecard_id: int):
    round_ = managed_round(code, round_id)
    scorecard = db.session.get(Scorecard, scorecard_id)
    require(scorecard is not None and scorecard.round_id == round_.id, hide=True)
    form = ReasonForm()
    if form.validate_on_submit():
        name, project = scorecard.judge.real_name, scorecard.submission.team.project_title
        commit_or_flash(
            lambda: services.reopen(scorecard, actor=current_user, reason=form.reason.data, now=utcnow()),
            _("The scorecard of %(name)s for “%(project)s” has been reopened; the judge can change it again.",
              name=name, project=project),
        )  # fmt: skip
    else:
        flash_form_errors(form)
    return _to_progress(round_, f"#submission-{scorecard.submission_id}")


@bp.post("/reminders")
@login_required
def send_reminders(code: str, round_id: int):
    round_ = managed_round(code, round_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _to_progress(round_, "#reminders")
    outcome = commit_or_show(None, lambda: services.send_reminders(round_, actor=current_user, now=utcnow()))
    if outcome:
        if outcome.value:
            flash(
                _("A reminder has been sent to %(count)s judge(s) with pending work.", count=outcome.value), "success"
            )
        else:
            flash(_("No judge has pending work; no reminder was sent."), "info")
    return _to_progress(round_, "#reminders")


@bp.post("/reminders/setting")
@login_required
def reminder_setting(code: str, round_id: int):
    round_ = managed_round(code, round_id)
    form = ReminderForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.set_reminder_hours(round_, actor=current_user, hours=form.hours.data),
            _("The reminder setting has been saved."),
        )
    else:
        flash_form_errors(form)
    return _to_progress(round_, "#reminders")


@bp.post("/close")
@login_required
def close(code: str, round_id: int):
    round_ = managed_round(code, round_id)
    form = CloseForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.close_judging(round_, actor=current_user, now=utcnow()),
            _("Judging of %(round)s is closed; later scores are refused.", round=round_.name),
        )
    else:
        flash_form_errors(form)
    return _to_progress(round_, "#close")


# --- export ---------------------------------------------------------------------------------------


@bp.get("/scores.xlsx")
@login_required
def export_xlsx(code: str, round_id: int):
    round_ = managed_round(code, round_id)
    response = send_file(
        io.BytesIO(scores_xlsx(round_)), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=download_name(round_)
    )
    response.headers["Cache-Control"] = "no-store"  # scores and names: never kept by a cache
    return response
