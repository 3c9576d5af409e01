"""Who may see and answer deletion requests: platform administrators only."""

from __future__ import annotations

from competition.accounts.policies import is_platform_admin
from competition.core.permissions import policy


@policy
def can_manage_privacy_requests(user) -> bool:
    return is_platform_admin(user)
