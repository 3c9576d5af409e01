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


@policy
def can_impersonate(user, target) -> bool:
    """Support: a platform admin views the site as a person who is neither an admin nor disabled."""
    return (
        is_platform_admin(user)
        and target is not None
        and target.id != user.id
        and not target.is_admin
        and not target.is_disabled
    )
