"""Who may see and manage a competition."""

from __future__ import annotations

from competition.accounts.models import Role
from competition.accounts.policies import is_platform_admin
from competition.competitions.models import Competition
from competition.core.permissions import policy


def _roles(user, competition: Competition) -> set[Role]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return user.roles_in(competition)


@policy
def can_view_competition(user, competition: Competition) -> bool:
    """Anyone once it is announced; a draft only to those who run it."""
    return competition.is_public or can_manage_competition(user, competition)


@policy
def can_manage_competition(user, competition: Competition) -> bool:
    """Alliance organizers of this competition and platform admins."""
    return is_platform_admin(user) or Role.ORGANIZER in _roles(user, competition)


@policy
def can_manage_roles(user, competition: Competition) -> bool:
    return can_manage_competition(user, competition)


@policy
def is_judge_in(user, competition: Competition) -> bool:
    return Role.JUDGE in _roles(user, competition)


@policy
def is_student_in(user, competition: Competition) -> bool:
    return Role.STUDENT in _roles(user, competition)


@policy
def is_institution_organizer_in(user, competition: Competition) -> bool:
    return Role.INSTITUTION_ORGANIZER in _roles(user, competition)
