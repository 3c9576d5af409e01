"""Notifications: made with the e-mail (same transaction), read by their owner only."""

from __future__ import annotations

from sqlalchemy import func, select, update

from competition.core.time import utcnow
from competition.core.web import safe_next_url
from competition.extensions import db
from competition.notifications.models import Notification

PER_PAGE = 30


def notify(user, *, kind: str, title: str, link: str | None = None) -> Notification:
    """Add a notification for `user`; `link` is kept only when it is a path on this site."""
    notification = Notification(
        user_id=user.id, kind=kind[:100], title=title[:300], link=safe_next_url(link, "")[:500] or None
    )
    db.session.add(notification)
    return notification


def unread_count(user) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def list_for(user):
    """The user's notifications, newest first (a statement to paginate)."""
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def find_for(user, notification_id: int) -> Notification | None:
    """The user's own notification, or None (someone else's is as good as missing)."""
    return db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user) -> int:
    """Returns how many were unread."""
    return db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
