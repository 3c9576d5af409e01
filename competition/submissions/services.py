"""Submission workflows: material slots, uploads and links, details, submit, reopen, extensions.

The server clock decides every deadline. An upload counts from the moment its request began
(`started_at`): one that began before the deadline is accepted if it finishes within the grace
period (SUBMISSION_GRACE_MINUTES, 15 by default) — a slow campus connection must not lose a plan
that was on its way at 23:59. Functions flush, never commit; a refused action changes nothing.
"""

from __future__ import annotations

import errno
import ipaddress
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.core import audit, storage
from competition.core.errors import DomainError
from competition.extensions import db
from competition.rounds.models import Round
from competition.rounds.services import participants_query
from competition.submissions import blind, filetypes
from competition.submissions.models import (
    KIND_LABELS,
    Extension,
    FileKind,
    MaterialSlot,
    Submission,
    SubmissionFile,
    SubmissionState,
    VentureStage,
)
from competition.teams.models import Team

KEYWORDS_MAX = 200
INDUSTRY_MAX = 100
REASON_MAX = 1000
LINK_MAX = 500
#: which kinds get a metadata-free copy for blind rounds
BLIND_COPY_KINDS = {FileKind.PDF, FileKind.PPTX, FileKind.DOCX, FileKind.XLSX}
SUFFIXES = {kind: f".{kind.value}" for kind in FileKind} | {FileKind.JPEG: ".jpg"}


def count_characters(text: str) -> int:
    """Characters as a person counts them: one per Chinese character, letter, digit or mark.

    Browsers send line breaks as CR LF; a user sees one break, so it counts once. Characters
    outside the Basic Multilingual Plane (e.g. 𠮷) count once too (Python counts code points).
    """
    return len(unicodedata.normalize("NFC", text.replace("\r\n", "\n")))


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


# --- material slots -----------------------------------------------------------------------------


@dataclass
class SlotSettings:
    code: str
    label_zh: str
    label_en: str
    help_zh: str
    help_en: str
    allowed_kinds: list[str]
    max_bytes: int
    required: bool
    max_files: int
    allow_link: bool
    position: int = 0


#: what most rounds ask for; organizers edit it afterwards
STANDARD_SLOTS = [
    SlotSettings("plan", "商业计划书", "Business plan", "PDF，不超过 20 MB。", "PDF, at most 20 MB.",
                 ["pdf"], 20 * 1024 * 1024, True, 1, False, 1),
    SlotSettings("slides", "路演 PPT", "Pitch slides", "PDF 或 PPTX，不超过 50 MB。", "PDF or PPTX, at most 50 MB.",
                 ["pdf", "pptx"], 50 * 1024 * 1024, False, 1, False, 2),
    SlotSettings("video", "项目视频", "Project video", "MP4 上传（不超过 500 MB）或视频链接。",
                 "An MP4 upload (at most 500 MB) or a link to the video.", ["mp4"], 500 * 1024 * 1024, False, 1, True, 3),
    SlotSettings("attachments", "其他附件", "Other attachments", "最多 5 个，每个不超过 20 MB。",
                 "Up to 5 files, 20 MB each.", ["pdf", "docx", "pptx", "xlsx", "png", "jpeg"], 20 * 1024 * 1024,
                 False, 5, False, 4),
]  # fmt: skip

#: the largest upload the app accepts at all (MAX_CONTENT_LENGTH bounds the request)
SLOT_MAX_BYTES = 500 * 1024 * 1024


def save_slot(round_: Round, *, actor: User, slot: MaterialSlot | None, settings: SlotSettings) -> MaterialSlot:
    code = settings.code.strip().lower()
    if not code or len(code) > 32 or not code.replace("_", "").replace("-", "").isalnum() or not code.isascii():
        raise DomainError(_l("A code has 1 to 32 lower-case letters, digits, - or _, e.g. plan."), field="code")
    clash = db.session.scalar(
        select(MaterialSlot.id).where(MaterialSlot.round_id == round_.id, MaterialSlot.code == code)
    )
    if clash is not None and (slot is None or clash != slot.id):
        raise DomainError(_l("Another material of this round already uses this code."), field="code")
    if not settings.label_zh.strip():
        raise DomainError(_l("Please enter the Chinese name."), field="label_zh")
    kinds = [kind for kind in settings.allowed_kinds if kind in {k.value for k in FileKind}]
    if not kinds:
        raise DomainError(_l("Choose at least one file type."), field="allowed_kinds")
    if not 0 < settings.max_bytes <= SLOT_MAX_BYTES:
        raise DomainError(_l("The size limit is between 1 KB and 500 MB."), field="max_bytes")
    if not 1 <= settings.max_files <= 20:
        raise DomainError(_l("A material holds 1 to 20 files."), field="max_files")
    values = vars(settings) | {"code": code, "allowed_kinds": kinds}
    created = slot is None
    slot = slot or MaterialSlot(round=round_)
    for field, value in values.items():
        setattr(slot, field, value)
    db.session.add(slot)
    db.session.flush()
    audit.record(actor, "material_slot.create" if created else "material_slot.update", slot,
                 round_id=round_.id, code=code, kinds=kinds, max_bytes=settings.max_bytes)  # fmt: skip
    return slot


def add_standard_slots(round_: Round, *, actor: User) -> list[MaterialSlot]:
    existing = {slot.code for slot in round_.material_slots}
    return [
        save_slot(round_, actor=actor, slot=None, settings=SlotSettings(**vars(settings)))
        for settings in STANDARD_SLOTS
        if settings.code not in existing
    ]


def delete_slot(slot: MaterialSlot, *, actor: User) -> None:
    used = db.session.scalar(select(func.count(SubmissionFile.id)).where(SubmissionFile.slot_id == slot.id))
    if used:
        raise DomainError(
            _l("Teams have uploaded %(count)s file(s) for this material; it cannot be deleted.", count=used)
        )
    audit.record(actor, "material_slot.delete", slot, code=slot.code)
    db.session.delete(slot)
    db.session.flush()


# --- deadlines ----------------------------------------------------------------------------------


def grace_period() -> timedelta:
    return timedelta(minutes=current_app.config["SUBMISSION_GRACE_MINUTES"])


def extension_for(round_: Round, team: Team) -> Extension | None:
    return db.session.scalar(select(Extension).where(Extension.round_id == round_.id, Extension.team_id == team.id))


def deadline_for(round_: Round, team: Team) -> datetime | None:
    """The deadline that applies to this team: its extension, else the round's."""
    extension = extension_for(round_, team)
    return extension.until if extension is not None else round_.deadline()


def check_window(round_: Round, team: Team, *, started_at: datetime, now: datetime) -> None:
    """Refuse work outside the submission window; the deadline is read at the start of the request."""
    if round_.submission_opens_at and now < round_.submission_opens_at:
        raise DomainError(
            _l("Submissions for %(round)s open at %(time)s (Beijing time).", round=round_.name,
               time=format_datetime(round_.submission_opens_at, "short"))
        )  # fmt: skip
    deadline = deadline_for(round_, team)
    if deadline is None:
        return
    if started_at > deadline:
        raise DomainError(
            _l("The deadline was %(time)s (Beijing time); nothing can be handed in any more.",
               time=format_datetime(deadline, "short"))
        )  # fmt: skip
    if now > deadline + grace_period():
        raise DomainError(
            _l("This upload began before the deadline but ended more than %(minutes)s minutes after it; it was not accepted.",
               minutes=int(grace_period().total_seconds() // 60))
        )  # fmt: skip


# --- the submission -----------------------------------------------------------------------------


def check_participant(round_: Round, team: Team) -> None:
    taking_part = db.session.scalar(
        select(func.count()).select_from(participants_query(round_).where(Team.id == team.id).subquery())
    )
    if not taking_part:
        raise DomainError(_l("“%(team)s” does not take part in %(round)s.", team=team.name, round=round_.name))


def submission_for(round_: Round, team: Team) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.round_id == round_.id, Submission.team_id == team.id))


def _open_submission(round_: Round, team: Team, *, started_at: datetime, now: datetime) -> Submission:
    """The team's draft for the round (created on first use), after every check that applies."""
    check_participant(round_, team)
    check_window(round_, team, started_at=started_at, now=now)
    submission = submission_for(round_, team)
    if submission is None:
        submission = Submission(round=round_, team=team)
        db.session.add(submission)
        db.session.flush()
    if submission.is_submitted:
        raise DomainError(_l("The submission has been handed in and is locked; an organizer can reopen it."))
    return submission


def _check_slot(round_: Round, slot: MaterialSlot) -> None:
    if slot is None or slot.round_id != round_.id:
        raise DomainError(_l("This round does not ask for that material."))


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def upload(
    round_: Round,
    team: Team,
    slot: MaterialSlot,
    *,
    actor: User,
    stream: BinaryIO,
    filename: str,
    started_at: datetime,
    now: datetime,
) -> SubmissionFile:
    """Store a new version (or attachment) for a slot; the previous version stays in the history."""
    _check_slot(round_, slot)
    submission = _open_submission(round_, team, started_at=started_at, now=now)
    size = _size_of(stream)
    if size == 0:
        raise DomainError(_l("The file is empty."), field="file")
    if size > slot.max_bytes:
        raise DomainError(
            _l("%(material)s may be at most %(limit)s; this file has %(size)s.", material=slot.label,
               limit=megabytes(slot.max_bytes), size=megabytes(size)),
            field="file",
        )  # fmt: skip
    kind = filetypes.detect(stream)
    if kind is None or kind not in slot.kinds:
        allowed = "、".join(KIND_LABELS[item] for item in slot.kinds)
        raise DomainError(
            _l("%(material)s accepts %(allowed)s; this file is not one (the type is read from its content, not its name).",
               material=slot.label, allowed=allowed),
            field="file",
        )  # fmt: skip
    if slot.max_files > 1 and len(submission.current_files(slot)) >= slot.max_files:
        raise DomainError(
            _l("%(material)s holds at most %(max)s files; remove one first.", material=slot.label, max=slot.max_files),
            field="file",
        )
    if kind == FileKind.PDF:
        filetypes.check_pdf(stream)
        stream.seek(0)
    try:
        stored = storage.save(stream, folder="submissions", suffix=SUFFIXES[kind])
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DomainError(
                _l(
                    "The server's storage is full, so the upload was not saved; your previous version is kept. Please tell the organizers."
                ),
                field="file",
            ) from None
        raise
    item = SubmissionFile(
        submission=submission,
        slot=slot,
        original_name=_display_name(filename),
        kind=kind.value,
        storage_key=stored.key,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=actor.id,
        upload_started_at=started_at,
        uploaded_at=now,
    )
    db.session.add(item)
    submission.updated_at = now
    db.session.flush()
    if round_.blind:
        ensure_blind_copy(item)
    audit.record(actor, "submission.upload", submission, slot=slot.code, file_id=item.id, size=stored.size,
                 sha256=stored.sha256, name=item.original_name)  # fmt: skip
    return item


def _display_name(filename: str | None) -> str:
    """The name the team gave the file, for display only: no path, no control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in unicodedata.normalize("NFC", name) if unicodedata.category(char)[0] != "C")
    return name.strip()[:255]


def check_public_link(url: str) -> str:
    """Only http(s) links to a named public host; the server never fetches them."""
    url = (url or "").strip()
    parts = urlsplit(url)
    invalid = DomainError(_l("Please enter an http:// or https:// link to a public website."), field="link")
    if len(url) > LINK_MAX or parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid
    host = parts.hostname
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and not address.is_global:
        raise invalid
    if address is None and (
        host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or "." not in host
    ):
        raise invalid
    return url


def add_link(
    round_: Round, team: Team, slot: MaterialSlot, *, actor: User, url: str, started_at: datetime, now: datetime
) -> SubmissionFile:
    _check_slot(round_, slot)
    if not slot.allow_link:
        raise DomainError(_l("%(material)s must be uploaded as a file.", material=slot.label), field="link")
    url = check_public_link(url)
    submission = _open_submission(round_, team, started_at=started_at, now=now)
    item = SubmissionFile(submission=submission, slot=slot, link_url=url, original_name=url[:255],
                          uploaded_by_id=actor.id, upload_started_at=started_at, uploaded_at=now)  # fmt: skip
    db.session.add(item)
    submission.updated_at = now
    db.session.flush()
    audit.record(actor, "submission.link", submission, slot=slot.code, url=url)
    return item


def remove_file(item: SubmissionFile, *, actor: User, now: datetime) -> None:
    """Take a file out of the submission; it stays in the history."""
    submission = item.submission
    _open_submission(submission.round, submission.team, started_at=now, now=now)
    if item.removed_at is None:
        item.removed_at = now
        submission.updated_at = now
        audit.record(actor, "submission.remove_file", submission, file_id=item.id, slot=item.slot.code)


def save_details(
    round_: Round,
    team: Team,
    *,
    actor: User,
    abstract: str,
    keywords: str,
    industry: str,
    stage: str | None,
    now: datetime,
) -> Submission:
    abstract = unicodedata.normalize("NFC", (abstract or "").replace("\r\n", "\n")).strip()
    count = count_characters(abstract)
    if count > round_.abstract_max_chars:
        raise DomainError(
            _l("The abstract may have at most %(max)s characters; it has %(count)s.", max=round_.abstract_max_chars,
               count=count),
            field="abstract",
        )  # fmt: skip
    keywords, industry = " ".join((keywords or "").split()), " ".join((industry or "").split())
    if len(keywords) > KEYWORDS_MAX:
        raise DomainError(_l("Keywords have at most %(max)s characters.", max=KEYWORDS_MAX), field="keywords")
    if len(industry) > INDUSTRY_MAX:
        raise DomainError(_l("The industry has at most %(max)s characters.", max=INDUSTRY_MAX), field="industry")
    if stage and stage not in {item.value for item in VentureStage}:
        raise DomainError(_l("Please choose the stage of the venture."), field="stage")
    submission = _open_submission(round_, team, started_at=now, now=now)
    submission.abstract, submission.keywords, submission.industry = abstract, keywords, industry
    submission.stage = stage or None
    submission.updated_at = now
    audit.record(actor, "submission.details", submission, characters=count)
    return submission


def missing_for_submission(round_: Round, submission: Submission | None) -> list[str]:
    """What still stops the team from handing in (labels of required materials, the abstract)."""
    missing = [
        slot.label
        for slot in round_.material_slots
        if slot.required and not (submission and submission.current_files(slot))
    ]
    if submission is None or not submission.abstract:
        missing.append(str(_l("Abstract")))
    return missing


def submit(round_: Round, team: Team, *, actor: User, now: datetime) -> Submission:
    submission = _open_submission(round_, team, started_at=now, now=now)
    missing = missing_for_submission(round_, submission)
    if missing:
        raise DomainError(_l("Still missing before handing in: %(missing)s.", missing="、".join(missing)))
    submission.state = SubmissionState.SUBMITTED.value
    submission.submitted_at = now
    submission.submitted_by_id = actor.id
    audit.record(actor, "submission.submit", submission,
                 files=[item.id for slot in round_.material_slots for item in submission.current_files(slot)])  # fmt: skip
    return submission


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError(_l("Please give a reason."), field="reason")
    if len(text) > REASON_MAX:
        raise DomainError(_l("A reason has at most %(max)s characters.", max=REASON_MAX), field="reason")
    return text


def reopen(submission: Submission, *, actor: User, reason: str) -> None:
    """An organizer unlocks a handed-in submission so the team can change it."""
    reason = _reason(reason)
    if not submission.is_submitted:
        raise DomainError(_l("This submission has not been handed in; there is nothing to reopen."))
    submission.state = SubmissionState.DRAFT.value
    audit.record(actor, "submission.reopen", submission, reason=reason)


def grant_extension(
    round_: Round, team: Team, *, actor: User, until: datetime, reason: str, now: datetime
) -> Extension:
    reason = _reason(reason)
    check_participant(round_, team)
    if until <= now:
        raise DomainError(_l("An extension must end in the future."), field="until")
    deadline = round_.deadline()
    if deadline is not None and until <= deadline:
        raise DomainError(_l("An extension must end after the round's deadline."), field="until")
    extension = extension_for(round_, team)
    old = extension.until.isoformat() if extension else None
    if extension is None:
        extension = Extension(round_id=round_.id, team=team, until=until, reason=reason, granted_by_id=actor.id)
        db.session.add(extension)
    else:
        extension.until, extension.reason, extension.granted_by_id, extension.granted_at = until, reason, actor.id, now
    db.session.flush()
    audit.record(
        actor, "submission.extension", team, round_id=round_.id, until=until.isoformat(), old=old, reason=reason
    )
    return extension


def revoke_extension(extension: Extension, *, actor: User) -> None:
    audit.record(actor, "submission.extension_revoked", extension.team, round_id=extension.round_id,
                 until=extension.until.isoformat())  # fmt: skip
    db.session.delete(extension)
    db.session.flush()


# --- copies for blind rounds --------------------------------------------------------------------


def ensure_blind_copy(item: SubmissionFile) -> str | None:
    """The storage key of the metadata-free copy (made now when missing); None for links."""
    if item.is_link:
        return None
    if item.blind_key:
        return item.blind_key
    kind = FileKind(item.kind)
    if kind not in BLIND_COPY_KINDS:
        item.blind_key = item.storage_key  # images and videos: served as they are
        return item.blind_key
    source = storage.path_for(item.storage_key)
    stored = storage.save_with(lambda target: blind.strip_metadata(source, target, kind), folder="blind",
                               suffix=SUFFIXES[kind])  # fmt: skip
    item.blind_key = stored.key
    return item.blind_key
