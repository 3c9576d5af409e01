"""Submission workflows: material slots, uploads and links, details, submit, reopen, extensions.

The server clock decides every deadline. An upload counts from the moment its request began
(`started_at`): one that began before the deadline is accepted if it finishes within the grace
period (SUBMISSION_GRACE_MINUTES, 15 by default) — a slow campus connection must not lose a plan
that was on its way at 23:59. Functions flush, never commit; a refused action changes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from competition.accounts.models import User
from competition.core import audit, storage
from competition.core.errors import DomainError
from competition.core.mail import external_url, internal_path, queue_mail
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


LABEL_ZH_MAX = 100
LABEL_EN_MAX = 200
HELP_MAX = 2000
MAX_FILES_LIMIT = 20
_TEXT_LIMITS = {"label_zh": LABEL_ZH_MAX, "label_en": LABEL_EN_MAX, "help_zh": HELP_MAX, "help_en": HELP_MAX}


def save_slot(round_: Round, *, actor: User, slot: MaterialSlot | None, settings: SlotSettings) -> MaterialSlot:
    if slot is not None and slot.round_id != round_.id:
        raise ValueError("the material belongs to another round")
    code = settings.code.strip().lower()
    if not code or len(code) > 32 or not code.replace("_", "").replace("-", "").isalnum() or not code.isascii():
        raise DomainError(_l("A code has 1 to 32 lower-case letters, digits, - or _, e.g. plan."), field="code")
    clash = db.session.scalar(
        select(MaterialSlot.id).where(MaterialSlot.round_id == round_.id, MaterialSlot.code == code)
    )
    if clash is not None and (slot is None or clash != slot.id):
        raise DomainError(_l("Another material of this round already uses this code."), field="code")
    labels = {name: (getattr(settings, name) or "").strip() for name in _TEXT_LIMITS}
    if not labels["label_zh"]:
        raise DomainError(_l("Please enter the Chinese name."), field="label_zh")
    for name, limit in _TEXT_LIMITS.items():
        if len(labels[name]) > limit:
            raise DomainError(_l("At most %(max)s characters.", max=limit), field=name)
    known = {kind.value for kind in FileKind}
    kinds = list(dict.fromkeys(kind for kind in settings.allowed_kinds or [] if kind in known))
    if not kinds:
        raise DomainError(_l("Choose at least one file type."), field="allowed_kinds")
    if not 0 < settings.max_bytes <= SLOT_MAX_BYTES:
        raise DomainError(_l("The size limit is between 1 KB and 500 MB."), field="max_bytes")
    if not 1 <= settings.max_files <= MAX_FILES_LIMIT:
        raise DomainError(_l("A material holds 1 to 20 files."), field="max_files")
    values = vars(settings) | labels | {"code": code, "allowed_kinds": kinds}
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


# --- the round's submission settings -------------------------------------------------------------

ABSTRACT_LIMIT_MIN = 50
ABSTRACT_LIMIT_MAX = 5000


def update_submission_settings(
    round_: Round,
    *,
    actor: User,
    opens_at: datetime | None,
    deadline: datetime | None,
    blind: bool,
    abstract_max_chars: int | None,
) -> Round:
    """When teams may hand in (None: from now on / until the competition's deadline), whether judges
    read blind, and how long an abstract may be."""
    for value in (opens_at, deadline):
        if value is not None and value.tzinfo is None:
            raise ValueError("submission times must be aware datetimes")
    opens_at = opens_at.astimezone(UTC) if opens_at is not None else None
    deadline = deadline.astimezone(UTC) if deadline is not None else None
    effective = deadline or round_.competition.submission_deadline
    if opens_at is not None and effective is not None and effective <= opens_at:
        if deadline is None:
            raise DomainError(
                _l("The competition's submission deadline comes before this opening time; set a later deadline."),
                field="deadline",
            )
        raise DomainError(_l("The deadline must come after the opening time."), field="deadline")
    if abstract_max_chars is None or not ABSTRACT_LIMIT_MIN <= abstract_max_chars <= ABSTRACT_LIMIT_MAX:
        raise DomainError(
            _l("Please enter a number between %(min)s and %(max)s.", min=ABSTRACT_LIMIT_MIN, max=ABSTRACT_LIMIT_MAX),
            field="abstract_max_chars",
        )
    before = {
        "opens_at": round_.submission_opens_at.isoformat() if round_.submission_opens_at else None,
        "deadline": round_.submission_deadline.isoformat() if round_.submission_deadline else None,
        "blind": bool(round_.blind),
        "abstract_max_chars": round_.abstract_max_chars,
    }
    round_.submission_opens_at = opens_at
    round_.submission_deadline = deadline
    round_.blind = bool(blind)
    round_.abstract_max_chars = abstract_max_chars
    db.session.flush()
    audit.record(
        actor,
        "round.submission_settings",
        round_,
        opens_at=opens_at.isoformat() if opens_at else None,
        deadline=deadline.isoformat() if deadline else None,
        blind=bool(blind),
        abstract_max_chars=abstract_max_chars,
        before=before,
    )
    return round_


# --- deadlines ----------------------------------------------------------------------------------


def grace_period() -> timedelta:
    return timedelta(minutes=current_app.config["SUBMISSION_GRACE_MINUTES"])


def extension_for(round_: Round, team: Team) -> Extension | None:
    return db.session.scalar(select(Extension).where(Extension.round_id == round_.id, Extension.team_id == team.id))


def applicable_deadline(deadline: datetime | None, extended_until: datetime | None) -> datetime | None:
    """The later of the round's deadline and a team's extension; no deadline when the round has none.

    An extension only ever gives more time: when the round's deadline is moved past it later, the
    round's deadline applies.
    """
    if deadline is None:
        return None
    return max(deadline, extended_until) if extended_until is not None else deadline


def deadline_for(round_: Round, team: Team) -> datetime | None:
    """The deadline that applies to this team: its extension, else the round's."""
    extension = extension_for(round_, team)
    return applicable_deadline(round_.deadline(), extension.until if extension is not None else None)


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


def rounds_taking_part(team: Team) -> list[tuple[Round, Submission | None]]:
    """The rounds of the team's competition it takes part in or handed something in for, in order,
    each with the team's submission (None before the first upload)."""
    rounds = db.session.scalars(
        select(Round).where(Round.competition_id == team.competition_id).order_by(Round.position, Round.id)
    ).all()
    submissions = {
        item.round_id: item for item in db.session.scalars(select(Submission).where(Submission.team_id == team.id))
    }
    taking_part = []
    for round_ in rounds:
        if round_.id in submissions or db.session.scalar(
            select(func.count()).select_from(participants_query(round_).where(Team.id == team.id).subquery())
        ):
            taking_part.append((round_, submissions.get(round_.id)))
    return taking_part


def submission_for(round_: Round, team: Team) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.round_id == round_.id, Submission.team_id == team.id))


def _check_open(round_: Round, team: Team, *, started_at: datetime, now: datetime) -> None:
    """Every check of `_open_submission` that only reads, for refusing an upload before storing it."""
    check_participant(round_, team)
    check_window(round_, team, started_at=started_at, now=now)
    submission = submission_for(round_, team)
    if submission is not None and submission.is_submitted:
        raise DomainError(_l("The submission has been handed in and is locked; an organizer can reopen it."))


def _open_submission(round_: Round, team: Team, *, started_at: datetime, now: datetime) -> Submission:
    """The team's draft for the round (created on first use), after every check that applies.

    The row is locked until the transaction ends, so two members acting at once (two uploads, an
    upload and handing in) take turns, and the second sees what the first committed.
    """
    check_participant(round_, team)
    check_window(round_, team, started_at=started_at, now=now)
    submission = _locked_submission(round_, team, now=now)
    if submission.is_submitted:
        raise DomainError(_l("The submission has been handed in and is locked; an organizer can reopen it."))
    return submission


def _locked_submission(round_: Round, team: Team, *, now: datetime) -> Submission:
    """The submission row, created when missing and locked by a write (the row lock on PostgreSQL,
    the single writer on SQLite). Two requests creating it at once both end with the same row."""
    if submission_for(round_, team) is None:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(
            dialect.insert(Submission)
            .values(round_id=round_.id, team_id=team.id, state=SubmissionState.DRAFT.value, abstract="",
                    keywords="", industry="", created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["round_id", "team_id"])
        )  # fmt: skip
    db.session.execute(
        update(Submission)
        .where(Submission.round_id == round_.id, Submission.team_id == team.id)
        .values(state=Submission.state)
        .execution_options(synchronize_session=False)
    )
    submission = submission_for(round_, team)
    db.session.expire(submission)  # read again now that it is locked: another request may have changed it
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
    """Store a new version (or attachment) for a slot; the previous version stays in the history.

    Every check runs before the file is stored, and the file is stored (with its copy for a blind
    round) before the submission is locked, so a large file never holds the lock. Once locked, the
    state and the number of attachments are checked again; a refusal then removes what was stored.
    """
    _check_slot(round_, slot)
    _check_open(round_, team, started_at=started_at, now=now)
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
    existing = submission_for(round_, team)
    if existing is not None:
        _check_room(existing, slot)
    if kind == FileKind.PDF:
        filetypes.check_pdf(stream)
        stream.seek(0)
    written: list[str] = []
    try:
        with _refused_when_storage_is_full():
            stored = storage.save(stream, folder="submissions", suffix=SUFFIXES[kind])
            written.append(stored.key)
            blind_key = _make_blind_copy(stored.key, kind) if round_.blind else None
            if blind_key is not None and blind_key != stored.key:
                written.append(blind_key)
        submission = _open_submission(round_, team, started_at=started_at, now=now)
        _check_room(submission, slot)
        item = SubmissionFile(
            submission=submission,
            slot=slot,
            original_name=_display_name(filename),
            kind=kind.value,
            storage_key=stored.key,
            size=stored.size,
            sha256=stored.sha256,
            blind_key=blind_key,
            uploaded_by_id=actor.id,
            upload_started_at=started_at,
            uploaded_at=now,
        )
        db.session.add(item)
        submission.updated_at = now
        db.session.flush()
    except BaseException:
        for key in written:
            storage.delete(key)
        raise
    audit.record(actor, "submission.upload", submission, slot=slot.code, file_id=item.id, size=stored.size,
                 sha256=stored.sha256, name=item.original_name)  # fmt: skip
    return item


def _check_room(submission: Submission, slot: MaterialSlot) -> None:
    if slot.max_files > 1 and len(submission.current_files(slot)) >= slot.max_files:
        raise DomainError(
            _l("%(material)s holds at most %(max)s files; remove one first.", material=slot.label, max=slot.max_files),
            field="file",
        )


@contextlib.contextmanager
def _refused_when_storage_is_full():
    """A full disk refuses the upload with a message instead of a server error."""
    try:
        yield
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DomainError(
                _l(
                    "The server's storage is full, so the upload was not saved; your previous version is kept. Please tell the organizers."
                ),
                field="file",
            ) from None
        raise


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
    host = parts.hostname.rstrip(".")  # "localhost." is localhost
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and not address.is_global:
        raise invalid
    if address is None and (
        host == "localhost"
        or host.endswith((".localhost", ".local", ".internal"))
        or "." not in host
        # no top-level domain is a number: browsers read 127.1 or 0x7f.0.0.1 as addresses
        or host.rsplit(".", 1)[-1].isdigit()
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
    if item.removed_at is not None:
        return
    removed = [item]
    if item.slot.max_files == 1 and item in submission.current_files(item.slot):
        # the current version of a document: the material is empty afterwards, an older version
        # the team replaced does not come back in its place
        removed = [other for other in submission.files if other.slot_id == item.slot_id and other.removed_at is None]
    for other in removed:
        other.removed_at = now
    submission.updated_at = now
    audit.record(actor, "submission.remove_file", submission, file_id=item.id, slot=item.slot.code,
                 removed=[other.id for other in removed])  # fmt: skip


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
    """Hand in and lock. Until the deadline; during the grace period after it only when an upload
    that began before the deadline finished after it (the team could not press the button while
    that upload was still on its way)."""
    started_at = now
    deadline = deadline_for(round_, team)
    existing = submission_for(round_, team)
    in_flight = (
        existing is not None
        and deadline is not None
        and now > deadline
        and any(item.upload_started_at <= deadline < item.uploaded_at for item in existing.files)
    )
    if in_flight:
        started_at = deadline
    submission = _open_submission(round_, team, started_at=started_at, now=now)
    missing = missing_for_submission(round_, submission)
    if missing:
        raise DomainError(_l("Still missing before handing in: %(missing)s.", missing="、".join(missing)))
    submission.state = SubmissionState.SUBMITTED.value
    submission.submitted_at = now
    submission.submitted_by_id = actor.id
    audit.record(actor, "submission.submit", submission,
                 files=[item.id for slot in round_.material_slots for item in submission.current_files(slot)])  # fmt: skip
    _send_receipt(round_, team, submission, actor=actor)
    return submission


def _send_receipt(round_: Round, team: Team, submission: Submission, *, actor: User) -> None:
    """Every member gets a receipt in their language: when, by whom, and each file handed in with its
    size and SHA-256 (what the organizers hold), and the link to the submission page."""
    url_values = {"team_id": team.id, "round_id": round_.id}
    for member in team.members:
        user = member.user
        if user.is_disabled:
            continue
        english = user.locale == "en"
        materials = [
            {"label": (slot.label_en or slot.label_zh) if english else slot.label_zh, "name": item.original_name,
             "size": item.size, "sha256": item.sha256, "link": item.link_url}
            for slot in round_.material_slots
            for item in submission.current_files(slot)
        ]  # fmt: skip
        queue_mail(
            to=user.email,
            template="submissions/emails/received",
            locale=user.locale,
            user=user,
            link=internal_path("submissions.team_submission", **url_values),
            team_name=team.name,
            round_name=(round_.name_en or round_.name_zh) if english else round_.name_zh,
            competition_name=(team.competition.name_en or team.competition.name_zh) if english
            else team.competition.name_zh,
            submitted_at=submission.submitted_at,
            submitted_by=actor.real_name,
            materials=materials,
            abstract_characters=count_characters(submission.abstract or ""),
            submission_url=external_url("submissions.team_submission", **url_values),
        )  # fmt: skip


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
    until = until.astimezone(UTC)  # kept and audited in UTC, whatever zone it was typed in
    if until <= now:
        raise DomainError(_l("An extension must end in the future."), field="until")
    deadline = round_.deadline()
    if deadline is None:
        raise DomainError(_l("This round has no deadline, so there is nothing to extend."), field="until")
    if until <= deadline:
        raise DomainError(_l("An extension must end after the round's deadline."), field="until")
    extension = extension_for(round_, team)
    old = extension.until.isoformat() if extension else None
    if extension is None:
        extension = Extension(
            round_id=round_.id, team=team, until=until, reason=reason, granted_by_id=actor.id, granted_at=now
        )
        db.session.add(extension)
    else:
        extension.until, extension.reason, extension.granted_by_id, extension.granted_at = until, reason, actor.id, now
    db.session.flush()
    audit.record(
        actor, "submission.extension", team, round_id=round_.id, until=until.isoformat(), old=old, reason=reason
    )
    return extension


def reopen_submission_of(round_: Round, team: Team, *, actor: User, reason: str) -> Submission:
    """`reopen` for the team's submission of the round (refused when it has none)."""
    submission = submission_for(round_, team)
    if submission is None:
        _reason(reason)
        raise DomainError(_l("“%(team)s” has not handed anything in for this round.", team=team.name))
    reopen(submission, actor=actor, reason=reason)
    return submission


def revoke_extension_of(round_: Round, team: Team, *, actor: User) -> None:
    """`revoke_extension` for the team's extension in the round (refused when it has none)."""
    extension = extension_for(round_, team)
    if extension is None:
        raise DomainError(_l("“%(team)s” has no extension in this round.", team=team.name))
    revoke_extension(extension, actor=actor)


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
    if not item.blind_key:
        item.blind_key = _make_blind_copy(item.storage_key, FileKind(item.kind))
    return item.blind_key


def _make_blind_copy(storage_key: str, kind: FileKind) -> str:
    """Store a metadata-free copy of a stored file; images and videos are served as they are."""
    if kind not in BLIND_COPY_KINDS:
        return storage_key
    source = storage.path_for(storage_key)
    stored = storage.save_with(lambda target: blind.strip_metadata(source, target, kind), folder="blind",
                               suffix=SUFFIXES[kind])  # fmt: skip
    return stored.key
