"""Who may do what with accounts and platform administration."""

from __future__ import annotations

from competition.core.permissions import policy


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


@policy
def is_platform_admin(user) -> bool:
    return _signed_in(user) and user.is_admin


@policy
def can_view_admin(user) -> bool:
    """The admin area: users, outbox, audit log, jobs."""
    return is_platform_admin(user)


@policy
def can_manage_user(user, target) -> bool:
    return is_platform_admin(user)
