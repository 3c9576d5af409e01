"""Appeals during the public notice (公示期): a team questions the provisional results with a text
and an optional attachment; organizers answer, and the team leader is told by e-mail.

An appeal is filed only while the round's notice snapshot is in force and before its end, by a
member of a team taking part in the round. The attachment (PDF, PNG or JPEG, at most 10 MB) is typed
by its bytes, never by its name, and stored under a generated name; the original name is kept for
the download. Functions flush, never commit; a refused action changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.core import audit, storage
from competition.core.errors import DomainError
from competition.core.mail import external_url, internal_path, queue_mail
from competition.extensions import db
from competition.results.models import Appeal, AppealState, SnapshotKind
from competition.results.services import current_snapshot
from competition.rounds.models import Round
from competition.submissions import filetypes
from competition.submissions.models import FileKind, Submission
from competition.submissions.services import _display_name as display_name
from competition.submissions.services import count_characters
from competition.teams.models import Team

TEXT_MIN = 10
TEXT_MAX = 5000
ANSWER_MAX = 5000
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_KINDS = {FileKind.PDF: ".pdf", FileKind.PNG: ".png", FileKind.JPEG: ".jpg"}
#: a team files at most this many appeals per round (each may carry 10 MB)
MAX_APPEALS_PER_ROUND = 10
STORAGE_FOLDER = "appeals"


def notice_in_force(round_: Round, now: datetime):
    """The round's notice snapshot while teams may appeal (in force, not ended, nothing published), else None."""
    if current_snapshot(round_, SnapshotKind.PUBLISHED) is not None:
        return None
    notice = current_snapshot(round_, SnapshotKind.NOTICE)
    if notice is None or notice.notice_until is None or now >= notice.notice_until:
        return None
    return notice


def takes_part(round_: Round, team: Team, snapshot) -> bool:
    """The team is in the provisional list, or has a submission in the round (one left out may ask why)."""
    if any(row.get("team_id") == team.id for row in snapshot.rows or []):
        return True
    return (
        db.session.scalar(select(Submission.id).where(Submission.round_id == round_.id, Submission.team_id == team.id))
        is not None
    )


def appeals_of(round_: Round, team: Team | None = None) -> list[Appeal]:
    """The round's appeals (of one team when given), oldest first."""
    query = select(Appeal).where(Appeal.round_id == round_.id).order_by(Appeal.created_at, Appeal.id)
    if team is not None:
        query = query.where(Appeal.team_id == team.id)
    return list(db.session.scalars(query))


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _checked_text(text: str | None) -> str:
    text = (text or "").strip()
    length = count_characters(text)
    if length < TEXT_MIN:
        raise DomainError(_l("Please explain your appeal in at least %(min)s characters.", min=TEXT_MIN), field="text")
    if length > TEXT_MAX:
        raise DomainError(
            _l("An appeal has at most %(max)s characters; this one has %(count)s.", max=TEXT_MAX, count=length),
            field="text",
        )
    return text


def _checked_attachment(stream: BinaryIO) -> FileKind:
    size = _size_of(stream)
    if size == 0:
        raise DomainError(_l("The file is empty."), field="attachment")
    if size > ATTACHMENT_MAX_BYTES:
        raise DomainError(
            _l("An attachment may be at most %(limit)s MB.", limit=ATTACHMENT_MAX_BYTES // (1024 * 1024)),
            field="attachment",
        )
    kind = filetypes.detect(stream)
    if kind not in ATTACHMENT_KINDS:
        raise DomainError(
            _l("An attachment is a PDF, PNG or JPEG file; this file is none (the type is read from its content, not its name)."),
            field="attachment",
        )  # fmt: skip
    if kind == FileKind.PDF:
        try:
            filetypes.check_pdf(stream)
        except DomainError as error:
            raise DomainError(error.message, field="attachment") from None
        stream.seek(0)
    return kind


def file_appeal(
    round_: Round,
    team: Team,
    *,
    actor: User,
    text: str,
    stream: BinaryIO | None = None,
    filename: str | None = None,
    now: datetime,
) -> Appeal:
    """A member's appeal against the provisional results, during the notice period only."""
    if team.competition_id != round_.competition_id:
        raise DomainError(_l("This team is not in this competition."))
    if team.member_for(actor) is None:
        raise DomainError(_l("Only the team's members may appeal."))
    notice = notice_in_force(round_, now)
    if notice is None:
        raise DomainError(_l("Appeals are possible only during the public notice of the results."))
    if not takes_part(round_, team, notice):
        raise DomainError(_l("“%(team)s” does not take part in %(round)s.", team=team.name, round=round_.name))
    text = _checked_text(text)
    filed = db.session.scalar(
        select(func.count(Appeal.id)).where(Appeal.round_id == round_.id, Appeal.team_id == team.id)
    )
    if filed >= MAX_APPEALS_PER_ROUND:
        raise DomainError(_l("A team files at most %(max)s appeals per round.", max=MAX_APPEALS_PER_ROUND))
    stored = None
    if stream is not None:
        kind = _checked_attachment(stream)
        stored = storage.save(stream, folder=STORAGE_FOLDER, suffix=ATTACHMENT_KINDS[kind],
                              max_bytes=ATTACHMENT_MAX_BYTES)  # fmt: skip
    try:
        appeal = Appeal(
            round_id=round_.id,
            team_id=team.id,
            snapshot_id=notice.id,
            text=text,
            attachment_key=stored.key if stored else None,
            attachment_name=(display_name(filename) or None) if stored else None,
            state=AppealState.OPEN.value,
            filed_by_id=actor.id,
            created_at=now,
        )
        db.session.add(appeal)
        db.session.flush()
    except BaseException:
        storage.delete(stored.key if stored else None)
        raise
    audit.record(actor, "results.appeal", appeal, round_id=round_.id, team_id=team.id, snapshot_id=notice.id,
                 attachment=stored.key if stored else None, size=stored.size if stored else None,
                 sha256=stored.sha256 if stored else None)  # fmt: skip
    return appeal


def answer_appeal(appeal: Appeal, *, actor: User, answer: str, now: datetime) -> Appeal:
    """An organizer's answer; the team leader gets it by e-mail in their language."""
    answer = (answer or "").strip()
    if not answer:
        raise DomainError(_l("Please write an answer."), field="answer")
    if count_characters(answer) > ANSWER_MAX:
        raise DomainError(_l("An answer has at most %(max)s characters.", max=ANSWER_MAX), field="answer")
    if appeal.state != AppealState.OPEN:
        raise DomainError(_l("This appeal has already been answered."))
    round_ = db.session.get(Round, appeal.round_id)
    appeal.state = AppealState.ANSWERED.value
    appeal.answer = answer
    appeal.answered_by_id = actor.id
    appeal.answered_at = now
    db.session.flush()
    audit.record(actor, "results.answer_appeal", appeal, round_id=appeal.round_id, team_id=appeal.team_id,
                 answer=answer)  # fmt: skip
    _mail_leader(appeal, round_)
    return appeal


def _mail_leader(appeal: Appeal, round_: Round) -> None:
    team = appeal.team
    leader = team.leader
    english = leader.locale == "en"
    competition = round_.competition
    queue_mail(
        to=leader.email,
        template="results/emails/appeal_answered",
        locale=leader.locale,
        user=leader,
        link=internal_path("results.appeal", team_id=team.id, round_id=round_.id),
        team_name=team.name,
        competition_name=(competition.name_en or competition.name_zh) if english else competition.name_zh,
        round_name=(round_.name_en or round_.name_zh) if english else round_.name_zh,
        filed_at=appeal.created_at,
        appeal_text=appeal.text,
        answer=appeal.answer,
        appeal_url=external_url("results.appeal", team_id=team.id, round_id=round_.id),
    )


def notice_end_text(notice) -> str:
    """The end of the notice, as shown to people (Beijing time)."""
    return format_datetime(notice.notice_until, "short") if notice and notice.notice_until else ""
