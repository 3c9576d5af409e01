"""Who may read a notification: only the person it is for."""

from __future__ import annotations

from competition.core.permissions import policy


@policy
def can_read_notification(user, notification) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and notification is not None
        and notification.user_id == user.id
    )
