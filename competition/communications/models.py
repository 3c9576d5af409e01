"""Announcements (per competition, bilingual Markdown) and the record of every bulk e-mail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.competitions.models import _localized
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class Announcement(db.Model):
    """A notice on the competition's page; unpublished (a draft) while `published_at` is None."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    #: Markdown; rendered and sanitized for display (competition.core.markdown)
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author = relationship("User", foreign_keys=[author_id])
    competition = relationship("Competition")

    @property
    def title(self) -> str:
        return _localized(self.title_zh, self.title_en)

    @property
    def body(self) -> str:
        return _localized(self.body_zh, self.body_en)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class Mailing(db.Model):
    """One bulk e-mail: who it went to (the segment and the resolved list) and what it said.

    The recipients are fixed when the organizer confirms (the count they saw); a job then queues one
    outbox message per recipient, `queued_count` recording how far it got, so a retry resumes.
    `token` comes from the preview page: a second submit of the same confirmation finds this row.
    """

    __tablename__ = "mailings"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    #: {"audience": ..., "track_id": ..., "institution_id": ..., "round_id": ..., "scope": [...]}
    segment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: what the segment was called when sent, in both languages (tracks may be renamed or deleted)
    segment_label_zh: Mapped[str] = mapped_column(String(500))
    segment_label_en: Mapped[str] = mapped_column(String(500))
    subject_zh: Mapped[str] = mapped_column(String(200))
    subject_en: Mapped[str] = mapped_column(String(200), default="")
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: [[email, name, locale, user_id or None], ...] in sending order
    recipients: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    recipient_count: Mapped[int] = mapped_column(Integer)
    queued_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    author = relationship("User", foreign_keys=[author_id])
    announcement = relationship("Announcement")

    @property
    def subject(self) -> str:
        return _localized(self.subject_zh, self.subject_en)

    @property
    def segment_label(self) -> str:
        return _localized(self.segment_label_zh, self.segment_label_en)

    @property
    def is_done(self) -> bool:
        return self.queued_count >= self.recipient_count
