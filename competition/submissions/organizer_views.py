"""Organizers' pages of a round's submissions: the submission window and the materials asked for,
where every team stands (with reopening and extensions), the list as .xlsx and every file as a ZIP.

Alliance organizers see every team; institution organizers see their own institution's teams and
act on them only in school rounds (competition.submissions.policies).
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from competition.accounts.views import SIDE_LABELS
from competition.competitions.models import Competition
from competition.competitions.policies import can_view_competition
from competition.core import jobs
from competition.core.jobs import Job, JobState
from competition.core.permissions import require
from competition.core.spreadsheets import XLSX_MIMETYPE
from competition.core.time import to_local, utcnow
from competition.core.web import commit_or_flash, commit_or_show, flash_form_errors, safe_next_url
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds.models import Round
from competition.submissions import archive, overview, services
from competition.submissions.export import submissions_xlsx
from competition.submissions.models import KIND_LABELS, FileKind, MaterialSlot
from competition.submissions.organizer_forms import (
    MB,
    ActionForm,
    ExtensionForm,
    OverviewFilterForm,
    ReopenForm,
    SlotForm,
    SubmissionSettingsForm,
)
from competition.submissions.policies import can_manage_materials, can_manage_submission, can_see_round_submissions
from competition.teams.models import Team
from competition.teams.policies import can_review_team, reviewable_institution_ids

bp = Blueprint("submission_admin", __name__, url_prefix="/competitions/<code>/rounds/<int:round_id>")
PER_PAGE = 50
#: archives listed on the overview
RECENT_ARCHIVES = 5


def _round(code: str, round_id: int) -> Round:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # A draft competition is invisible to outsiders: 404, not 403.
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == competition.id, hide=True)
    return round_


def _slot(round_: Round, slot_id: int) -> MaterialSlot:
    slot = db.session.get(MaterialSlot, slot_id)
    require(slot is not None and slot.round_id == round_.id, hide=True)
    return slot


def _team(round_: Round, team_id: int) -> Team:
    """A team of the round's competition that this reviewer may see (404 otherwise)."""
    team = db.session.get(Team, team_id)
    require(team is not None and team.competition_id == round_.competition_id, hide=True)
    require(can_review_team(current_user, team), hide=True)
    return team


# --- submission settings and materials ----------------------------------------------------------


def _settings_form(round_: Round) -> SubmissionSettingsForm:
    if request.method == "POST":
        return SubmissionSettingsForm()
    return SubmissionSettingsForm(
        data={
            "opens_at": round_.submission_opens_at,
            "deadline": round_.submission_deadline,
            "blind": round_.blind,
            "abstract_max_chars": round_.abstract_max_chars,
        }
    )


@bp.route("/materials", methods=["GET", "POST"])
@login_required
def materials(code: str, round_id: int):
    round_ = _round(code, round_id)
    require(can_manage_materials(current_user, round_))
    form = _settings_form(round_)
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.update_submission_settings(
            round_,
            actor=current_user,
            opens_at=form.opens_at.data,
            deadline=form.deadline.data,
            blind=bool(form.blind.data),
            abstract_max_chars=form.abstract_max_chars.data,
        ),
    ):
        flash(_("The submission settings of %(round)s have been saved.", round=round_.name), "success")
        return redirect(url_for("submission_admin.materials", code=code, round_id=round_id))
    existing = {slot.code for slot in round_.material_slots}
    return render_template(
        "submissions/organizer/materials.html",
        competition=round_.competition,
        round_=round_,
        form=form,
        kind_labels={kind.value: label for kind, label in KIND_LABELS.items()},
        missing_standard=[slot for slot in services.STANDARD_SLOTS if slot.code not in existing],
        megabytes=services.megabytes,
    )


def _edit_slot(round_: Round, slot: MaterialSlot | None):
    if slot is not None and request.method == "GET":
        form = SlotForm(
            data={
                "code": slot.code,
                "label_zh": slot.label_zh,
                "label_en": slot.label_en,
                "help_zh": slot.help_zh,
                "help_en": slot.help_en,
                "allowed_kinds": list(slot.allowed_kinds),
                "max_mb": max(1, -(-slot.max_bytes // MB)),
                "max_files": slot.max_files,
                "required": slot.required,
                "allow_link": slot.allow_link,
                "position": slot.position,
            }
        )
    elif request.method == "GET":
        positions = [other.position for other in round_.material_slots]
        form = SlotForm(
            data={
                "max_mb": 20,
                "max_files": 1,
                "allowed_kinds": [FileKind.PDF.value],
                "position": max(positions, default=0) + 1,
            }
        )
    else:
        form = SlotForm()
    if form.validate_on_submit() and (
        saved := commit_or_show(
            form,
            lambda: services.save_slot(round_, actor=current_user, slot=slot, settings=form.to_settings()),
            aliases={"max_bytes": "max_mb"},
        )
    ):
        message = (
            _("The material %(name)s has been saved.", name=saved.value.label)
            if slot is not None
            else _("The material %(name)s has been added.", name=saved.value.label)
        )
        flash(message, "success")
        return redirect(url_for("submission_admin.materials", code=round_.competition.code, round_id=round_.id))
    return render_template(
        "submissions/organizer/slot_form.html", competition=round_.competition, round_=round_, slot=slot, form=form
    )


@bp.route("/materials/new", methods=["GET", "POST"])
@login_required
def new_slot(code: str, round_id: int):
    round_ = _round(code, round_id)
    require(can_manage_materials(current_user, round_))
    return _edit_slot(round_, None)


@bp.route("/materials/<int:slot_id>", methods=["GET", "POST"])
@login_required
def edit_slot(code: str, round_id: int, slot_id: int):
    round_ = _round(code, round_id)
    require(can_manage_materials(current_user, round_))
    return _edit_slot(round_, _slot(round_, slot_id))


@bp.post("/materials/<int:slot_id>/delete")
@login_required
def delete_slot(code: str, round_id: int, slot_id: int):
    round_ = _round(code, round_id)
    require(can_manage_materials(current_user, round_))
    slot = _slot(round_, slot_id)
    label = slot.label
    commit_or_flash(
        lambda: services.delete_slot(slot, actor=current_user),
        _("The material %(name)s has been deleted.", name=label),
    )
    return redirect(url_for("submission_admin.materials", code=code, round_id=round_id))


@bp.post("/materials/standard")
@login_required
def standard_slots(code: str, round_id: int):
    round_ = _round(code, round_id)
    require(can_manage_materials(current_user, round_))
    outcome = commit_or_show(None, lambda: services.add_standard_slots(round_, actor=current_user))
    if outcome:
        added = outcome.value
        if added:
            flash(
                _("Added: %(names)s. Edit them to suit this round.", names="、".join(slot.label for slot in added)),
                "success",
            )
        else:
            flash(_("The standard materials are already in this round."), "info")
    return redirect(url_for("submission_admin.materials", code=code, round_id=round_id))


# --- the overview ---------------------------------------------------------------------------------


def _filter_form(round_: Round, institutions: list[Institution]) -> OverviewFilterForm:
    """The filters; the institutions offered are those with teams in the round (within the scope)."""
    form = OverviewFilterForm(request.args)
    tracks = round_.tracks or round_.competition.tracks
    form.track.choices = [SelectChoice("", _("All tracks"))] + [SelectChoice(t.id, t.name) for t in tracks]
    form.institution.choices = [SelectChoice("", _("All institutions"))] + [
        SelectChoice(inst.id, inst.name, optgroup=str(SIDE_LABELS.get(inst.side, inst.side))) for inst in institutions
    ]
    form.validate()
    return form


def _recent_archives(round_: Round) -> list[Job]:
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.name == archive.JOB_NAME, Job.args["round_id"].as_integer() == round_.id)
            .order_by(Job.created_at.desc())
            .limit(RECENT_ARCHIVES)
        )
    )


def _input_time(value) -> str:
    """A stored time as a datetime-local input's value, in Beijing time."""
    return to_local(value).strftime("%Y-%m-%dT%H:%M") if value is not None else ""


@bp.get("/submissions")
@login_required
def overview_page(code: str, round_id: int):
    round_ = _round(code, round_id)
    require(can_see_round_submissions(current_user, round_))
    scope = reviewable_institution_ids(current_user, round_.competition)
    now = utcnow()
    counts = overview.overview(round_, scope, now)
    form = _filter_form(round_, [institution for institution, _counts in counts.by_institution])
    filters = overview.OverviewFilters(
        status=form.status.data if not form.status.errors and form.status.data else None,
        track_id=form.track.data if not form.track.errors else None,
        institution_id=form.institution.data if not form.institution.errors else None,
    )
    page = overview.team_rows_page(round_, scope, filters, now, per_page=PER_PAGE)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "submissions/organizer/overview.html",
        competition=round_.competition,
        round_=round_,
        form=form,
        page=page,
        counts=counts,
        statuses=list(overview.SubmissionStatus),
        status_labels=overview.STATUS_LABELS,
        status_badges=overview.STATUS_BADGES,
        side_labels=SIDE_LABELS,
        filter_args=args,
        here=request.full_path if request.query_string else request.path,
        deadline=round_.deadline(),
        input_time=_input_time,
        archives=_recent_archives(round_) if can_manage_materials(current_user, round_) else [],
    )


def _back(round_: Round, form) -> str:
    fallback = url_for("submission_admin.overview_page", code=round_.competition.code, round_id=round_.id)
    return safe_next_url(form.next.data if form is not None else None, fallback)


def _managed_team(code: str, round_id: int, team_id: int) -> tuple[Round, Team]:
    round_ = _round(code, round_id)
    require(can_see_round_submissions(current_user, round_))
    team = _team(round_, team_id)
    require(can_manage_submission(current_user, round_, team))
    return round_, team


@bp.post("/submissions/<int:team_id>/reopen")
@login_required
def reopen(code: str, round_id: int, team_id: int):
    round_, team = _managed_team(code, round_id, team_id)
    form = ReopenForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(_back(round_, form))
    commit_or_flash(
        lambda: services.reopen_submission_of(round_, team, actor=current_user, reason=form.reason.data),
        _("The submission of “%(team)s” has been reopened; the team can change it again.", team=team.name),
    )
    return redirect(_back(round_, form))


@bp.post("/submissions/<int:team_id>/extension")
@login_required
def extend(code: str, round_id: int, team_id: int):
    round_, team = _managed_team(code, round_id, team_id)
    form = ExtensionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(_back(round_, form))
    until = form.until.data  # aware, in Beijing time
    commit_or_flash(
        lambda: services.grant_extension(
            round_, team, actor=current_user, until=until, reason=form.reason.data, now=utcnow()
        ),
        _(
            "“%(team)s” may hand in until %(time)s (Beijing time).",
            team=team.name,
            time=until.strftime("%Y-%m-%d %H:%M"),
        ),
    )
    return redirect(_back(round_, form))


@bp.post("/submissions/<int:team_id>/extension/revoke")
@login_required
def revoke_extension(code: str, round_id: int, team_id: int):
    round_, team = _managed_team(code, round_id, team_id)
    form = ActionForm()
    form.validate_on_submit()
    commit_or_flash(
        lambda: services.revoke_extension_of(round_, team, actor=current_user),
        _("The extension of “%(team)s” has been revoked; the round's deadline applies again.", team=team.name),
    )
    return redirect(_back(round_, form))


# --- exports --------------------------------------------------------------------------------------


@bp.get("/submissions.xlsx")
@login_required
def export_xlsx(code: str, round_id: int):
    round_ = _round(code, round_id)
    require(can_see_round_submissions(current_user, round_))
    data = submissions_xlsx(round_, reviewable_institution_ids(current_user, round_.competition), utcnow())
    name = f"{archive.component(round_.competition.code)}-{archive.component(round_.name_zh)}-作品列表.xlsx"
    response = send_file(io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a cache
    return response


@bp.post("/materials.zip")
@login_required
def make_archive(code: str, round_id: int):
    round_ = _round(code, round_id)
    require(can_manage_materials(current_user, round_))
    outcome = commit_or_show(None, lambda: jobs.enqueue(archive.JOB_NAME, round_id=round_.id, created_by=current_user))
    if not outcome:
        return redirect(url_for("submission_admin.overview_page", code=code, round_id=round_id))
    return redirect(url_for("submission_admin.job", code=code, round_id=round_id, job_id=outcome.value.id))


def _archive_job(round_: Round, job_id: str) -> Job:
    """An archive job of this round, for those who manage the round; 404 for everyone else."""
    require(can_manage_materials(current_user, round_), hide=True)
    row = db.session.get(Job, job_id)
    require(
        row is not None and row.name == archive.JOB_NAME and (row.args or {}).get("round_id") == round_.id, hide=True
    )
    return row


@bp.get("/jobs/<job_id>")
@login_required
def job(code: str, round_id: int, job_id: str):
    round_ = _round(code, round_id)
    row = _archive_job(round_, job_id)
    running = row.state in (JobState.QUEUED, JobState.RUNNING)
    finished = row.state == JobState.FINISHED
    return render_template(
        "submissions/organizer/job.html",
        competition=round_.competition,
        round_=round_,
        job=row,
        running=running,
        # a page that reloads itself disturbs screen readers: one link turns that off (WCAG 2.2.1)
        refreshing=running and request.args.get("refresh") != "off",
        available=finished and archive.archive_path(row.id).is_file(),
        finished=finished,
        failed=row.state == JobState.FAILED,
        plain_error=archive.plain_error(row.error),
        download_name=archive.download_name(round_),
    )


@bp.get("/jobs/<job_id>/download")
@login_required
def job_download(code: str, round_id: int, job_id: str):
    round_ = _round(code, round_id)
    row = _archive_job(round_, job_id)
    if row.state != JobState.FINISHED:
        flash(_("The archive is not ready yet."), "info")
        return redirect(url_for("submission_admin.job", code=code, round_id=round_id, job_id=job_id))
    path = archive.archive_path(row.id)
    if not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype="application/zip", as_attachment=True, download_name=archive.download_name(round_), max_age=0
    )
    response.headers["Cache-Control"] = "no-store"
    return response
