"""Teams hand in their materials for a round; members, reviewers and assigned judges read them.

- `/teams/<team>/rounds/<round>/submission`: the team's page — every material with its current
  file(s) and full version history, uploads, links, the details, the deadline and "submit";
- `/files/<id>`: a download, only for those `can_download_file` allows (404 for anyone else, the
  same as a missing file), with nosniff and a restrictive CSP; PDFs inline on request, videos in
  ranges; judges of a blind round get the copy without metadata under a neutral name;
- `/submissions/<id>/view`: what a judge reads — without who the team is in a blind round.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user, login_required

from competition.accounts.models import User
from competition.core import storage
from competition.core.errors import DomainError
from competition.core.permissions import require
from competition.core.time import utcnow
from competition.core.web import accepts_uploads, commit_or_flash, commit_or_show, request_started_at
from competition.extensions import db
from competition.rounds.models import Round
from competition.submissions import policies, services
from competition.submissions.models import (
    KIND_LABELS,
    STAGE_LABELS,
    FileKind,
    MaterialSlot,
    Submission,
    SubmissionFile,
    VentureStage,
)
from competition.submissions.team_forms import DetailsForm
from competition.teams import queries
from competition.teams.models import Team

bp = Blueprint("submissions", __name__)
log = logging.getLogger(__name__)

#: what the browser's file chooser offers per kind (the server decides by the content anyway)
ACCEPT = {
    FileKind.PDF: ".pdf,application/pdf",
    FileKind.PPTX: ".pptx,application/vnd.openxmlformats-officedocument.presentationml.presentation",
    FileKind.DOCX: ".docx,application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileKind.XLSX: ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileKind.MP4: ".mp4,video/mp4",
    FileKind.PNG: ".png,image/png",
    FileKind.JPEG: ".jpg,.jpeg,image/jpeg",
}
MIMETYPES = {
    FileKind.PDF: "application/pdf",
    FileKind.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    FileKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileKind.MP4: "video/mp4",
    FileKind.PNG: "image/png",
    FileKind.JPEG: "image/jpeg",
}
#: a download runs nothing and may only be framed by our own pages
ATTACHMENT_CSP = "default-src 'none'; frame-ancestors 'self'; sandbox"
#: Chrome's PDF viewer refuses sandboxed documents, so an inline PDF is not sandboxed
INLINE_PDF_CSP = "default-src 'none'; frame-ancestors 'self'"


# --- helpers ------------------------------------------------------------------------------------


def _load(team_id: int, round_id: int) -> tuple[Team, Round]:
    """The team and the round, for its members and reviewers; 404 for everyone else."""
    team = queries.team_with_people(team_id)
    require(team is not None and policies.can_view_submission(current_user, team), hide=True)
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == team.competition_id, hide=True)
    return team, round_


def _load_for_edit(team_id: int, round_id: int) -> tuple[Team, Round]:
    team, round_ = _load(team_id, round_id)
    require(policies.can_edit_submission(current_user, team))
    return team, round_


def _slot_of(round_: Round, slot_id: int) -> MaterialSlot:
    slot = next((slot for slot in round_.material_slots if slot.id == slot_id), None)
    require(slot is not None, hide=True)
    return slot


def _page(team: Team, round_: Round, anchor: str | None = None) -> str:
    return url_for("submissions.team_submission", team_id=team.id, round_id=round_.id, _anchor=anchor)


def _slot_limit(team_id: int, round_id: int, slot_id: int) -> int | None:
    """The largest file the slot takes: a larger request body is refused (413) before it is read."""
    slot = db.session.get(MaterialSlot, slot_id)
    return slot.max_bytes if slot is not None and slot.round_id == round_id else None


def _suffix(kind: FileKind) -> str:
    return services.SUFFIXES[kind]


def _with_suffix(name: str, kind: FileKind) -> str:
    """A download name ending as its content: `计划书` (no extension) is saved as `计划书.pdf`."""
    endings = {FileKind.JPEG: (".jpg", ".jpeg")}.get(kind, (_suffix(kind),))
    return name if name.lower().endswith(endings) else name + _suffix(kind)


def _neutral_name(item: SubmissionFile) -> str:
    """What a judge of a blind round downloads: the material's name, never the team's file name."""
    slot = item.slot
    name = slot.label
    if slot.max_files > 1:
        current = [current.id for current in item.submission.current_files(slot)]
        if item.id in current:
            name = f"{name} {current.index(item.id) + 1}"
    return name + _suffix(FileKind(item.kind))


def download_name(item: SubmissionFile, *, blind: bool) -> str:
    kind = FileKind(item.kind)
    if blind:
        return _neutral_name(item)
    return _with_suffix(item.original_name or item.slot.label, kind)


def _stage_label(submission: Submission | None) -> str | None:
    if submission is None or not submission.stage:
        return None
    return str(STAGE_LABELS[VentureStage(submission.stage)])


def _time_left(delta: timedelta) -> str:
    """Time left as "2 days 5 hours", "1 hour 40 minutes" or "12 minutes": never rounded up."""
    minutes = max(1, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)

    def unit(amount: int, granularity: str, seconds: int) -> str:
        return format_timedelta(timedelta(seconds=amount * seconds), granularity=granularity, threshold=10**9)

    if days:
        parts = [unit(days, "day", 86400)] + ([unit(hours, "hour", 3600)] if hours else [])
    elif hours:
        parts = [unit(hours, "hour", 3600)] + ([unit(minutes, "minute", 60)] if minutes else [])
    else:
        parts = [unit(minutes, "minute", 60)]
    return " ".join(parts)


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    if size is None:
        return ""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(size / 1024))} KB"


@bp.app_template_global("submission_rounds")
def submission_rounds(team: Team) -> list[tuple[Round, Submission | None]]:
    """For the team page: the rounds the team takes part in, with its submission of each."""
    return services.rounds_taking_part(team)


# --- the team's page ----------------------------------------------------------------------------


def _slot_view(slot: MaterialSlot, submission: Submission | None) -> dict:
    versions = [item for item in submission.files if item.slot_id == slot.id] if submission else []
    current = submission.current_files(slot) if submission else []
    return {
        "slot": slot,
        "current": current,
        "current_ids": {item.id for item in current},
        # newest first, each with its number in upload order
        "history": list(reversed(list(enumerate(versions, start=1)))),
        "accept": ",".join(ACCEPT[kind] for kind in slot.kinds),
        "kinds": "、".join(KIND_LABELS[kind] for kind in slot.kinds),
        "full": slot.max_files > 1 and len(current) >= slot.max_files,
    }


def _render_page(team: Team, round_: Round, details_form: DetailsForm | None = None):
    submission = services.submission_for(round_, team)
    taking_part = any(item.id == round_.id for item, _submission in services.rounds_taking_part(team))
    require(taking_part, hide=True)
    now = utcnow()
    deadline = services.deadline_for(round_, team)
    closed = None
    try:  # a read: is the window open now? (the service checks again on every change)
        services.check_window(round_, team, started_at=now, now=now)
    except DomainError as error:
        closed = error.message
    locked = submission is not None and submission.is_submitted
    submitted_by = db.session.get(User, submission.submitted_by_id) if locked and submission.submitted_by_id else None
    if details_form is None:
        details_form = DetailsForm(obj=submission)
    return render_template(
        "submissions/team.html",
        team=team,
        round_=round_,
        submission=submission,
        slots=[_slot_view(slot, submission) for slot in round_.material_slots],
        deadline=deadline,
        extension=services.extension_for(round_, team),
        time_left=_time_left(deadline - now) if deadline and deadline > now else None,
        grace_minutes=current_app.config["SUBMISSION_GRACE_MINUTES"],
        closed=closed,
        locked=locked,
        editable=policies.can_edit_submission(current_user, team) and not locked and closed is None,
        missing=services.missing_for_submission(round_, submission),
        details_form=details_form,
        abstract_count=services.count_characters((details_form.abstract.data or "").strip()),
        stage_label=_stage_label(submission),
        submitted_by=submitted_by,
    )


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/submission")
@login_required
def team_submission(team_id: int, round_id: int):
    team, round_ = _load(team_id, round_id)
    return _render_page(team, round_)


@bp.post("/teams/<int:team_id>/rounds/<int:round_id>/submission/slots/<int:slot_id>/upload")
@accepts_uploads(limit=_slot_limit)
@login_required
def upload(team_id: int, round_id: int, slot_id: int):
    """A new version (or attachment) for a slot. The upload began when its request arrived
    (`request_started_at`, which honours a trusted proxy's X-Request-Start), so one that began before
    the deadline is accepted within the grace period. Werkzeug spools a large file to a temporary
    file while parsing, and the service streams it into storage: memory does not grow with it."""
    team, round_ = _load_for_edit(team_id, round_id)
    slot = _slot_of(round_, slot_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Please choose a file for %(material)s.", material=slot.label), "danger")
        return redirect(_page(team, round_, f"slot-{slot.id}"))
    commit_or_flash(
        lambda: services.upload(
            round_,
            team,
            slot,
            actor=current_user,
            stream=file.stream,
            filename=file.filename,
            started_at=request_started_at(),
            now=utcnow(),
        ),
        _("%(name)s has been uploaded to %(material)s.", name=file.filename, material=slot.label),
    )
    return redirect(_page(team, round_, f"slot-{slot.id}"))


@bp.post("/teams/<int:team_id>/rounds/<int:round_id>/submission/slots/<int:slot_id>/link")
@login_required
def add_link(team_id: int, round_id: int, slot_id: int):
    team, round_ = _load_for_edit(team_id, round_id)
    slot = _slot_of(round_, slot_id)
    commit_or_flash(
        lambda: services.add_link(
            round_,
            team,
            slot,
            actor=current_user,
            url=request.form.get("link", ""),
            started_at=request_started_at(),
            now=utcnow(),
        ),
        _("The link has been saved for %(material)s.", material=slot.label),
    )
    return redirect(_page(team, round_, f"slot-{slot.id}"))


@bp.post("/teams/<int:team_id>/rounds/<int:round_id>/submission/files/<int:file_id>/remove")
@login_required
def remove_file(team_id: int, round_id: int, file_id: int):
    team, round_ = _load_for_edit(team_id, round_id)
    item = db.session.get(SubmissionFile, file_id)
    require(
        item is not None and item.submission.team_id == team.id and item.submission.round_id == round_.id, hide=True
    )
    commit_or_flash(
        lambda: services.remove_file(item, actor=current_user, now=utcnow()),
        _("%(name)s has been removed; it stays in the version history.", name=item.original_name),
    )
    return redirect(_page(team, round_, f"slot-{item.slot_id}"))


@bp.post("/teams/<int:team_id>/rounds/<int:round_id>/submission/details")
@login_required
def save_details(team_id: int, round_id: int):
    team, round_ = _load_for_edit(team_id, round_id)
    form = DetailsForm()
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.save_details(
            round_,
            team,
            actor=current_user,
            abstract=form.abstract.data,
            keywords=form.keywords.data,
            industry=form.industry.data,
            stage=form.stage.data or None,
            now=utcnow(),
        ),
    ):
        flash(_("The details have been saved."), "success")
        return redirect(_page(team, round_, "details"))
    return _render_page(team, round_, form)


@bp.post("/teams/<int:team_id>/rounds/<int:round_id>/submission/submit")
@login_required
def submit(team_id: int, round_id: int):
    team, round_ = _load_for_edit(team_id, round_id)
    commit_or_flash(
        lambda: services.submit(round_, team, actor=current_user, now=utcnow()),
        _("Your submission for %(round)s has been handed in and is now locked.", round=round_.name),
    )
    return redirect(_page(team, round_))


# --- downloads ----------------------------------------------------------------------------------


@bp.get("/files/<int:file_id>")
@login_required
def download(file_id: int):
    """A file for those who may read it; `?inline=1` shows a PDF in the page (only PDFs: everything
    else is an attachment). Range requests are answered with 206 (`conditional=True`), so videos
    stream and seek."""
    item = db.session.get(SubmissionFile, file_id)
    require(item is not None and not item.is_link and policies.can_download_file(current_user, item), hide=True)
    if item.is_purged:  # deleted under the competition's retention policy (competition.privacy.retention)
        return render_template("privacy/purged_file.html", item=item), 410
    kind = FileKind(item.kind)
    blind = policies.is_blind_for(current_user, item.submission)
    if blind:
        made_now = item.blind_key is None
        key = services.ensure_blind_copy(item)
        if made_now:
            db.session.commit()
    else:
        key = item.storage_key
    path = storage.path_for(key)
    if not path.is_file():
        log.error("submission file %s: its stored copy %s is missing", item.id, key)
        abort(404)
    inline = kind == FileKind.PDF and request.args.get("inline") == "1"
    response = send_file(
        path,
        mimetype=MIMETYPES[kind],
        as_attachment=not inline,
        download_name=download_name(item, blind=blind),
        conditional=True,
        etag=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = INLINE_PDF_CSP if inline else ATTACHMENT_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN" if inline else "DENY"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- what judges read ---------------------------------------------------------------------------


@bp.get("/submissions/<int:submission_id>/view")
@login_required
def judge_view(submission_id: int):
    """The project as judges read it; in a blind round without the team, its people or its files'
    names. Assigned judges while judging is open, and reviewers; 404 for everyone else."""
    submission = db.session.get(Submission, submission_id)
    require(submission is not None and policies.can_read_submission(current_user, submission), hide=True)
    blind = policies.is_blind_for(current_user, submission)
    return render_template("submissions/judge_view.html", **project_context(submission, blind=blind))


def project_context(submission: Submission, *, blind: bool) -> dict:
    """What templates/submissions/_project.html and _materials.html show of a submission to a judge
    (also used by the scorecard): in a blind round files go by neutral names."""
    materials = [
        (
            slot,
            [
                {"item": item, "kind": FileKind(item.kind) if item.kind else None,
                 "name": item.link_url if item.is_link else download_name(item, blind=blind)}
                for item in submission.current_files(slot)
            ],
        )
        for slot in submission.round.material_slots
    ]  # fmt: skip
    return {
        "submission": submission,
        "round_": submission.round,
        "team": submission.team,
        "blind": blind,
        "materials": materials,
        "stage_label": _stage_label(submission),
    }
