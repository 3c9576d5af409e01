"""A notification: the subject of an e-mail to a user, in the language it was sent in, and the page
it is about (a path of this app)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class Notification(db.Model):
    __tablename__ = "notifications"
    # the header's unread count and the list are both per user, newest first
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the e-mail template it came from, e.g. "teams/emails/approved"
    kind: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    #: a path on this site ("/teams/3"), never a full URL
    link: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
