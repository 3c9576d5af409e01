"""Who may see and change a team.

Students see only their own teams; institution organizers only their institution's teams in the
competitions where they hold that role; alliance organizers every team of their competition.
"""

from __future__ import annotations

from competition.accounts.models import Role
from competition.accounts.policies import is_platform_admin
from competition.competitions.models import Competition
from competition.core.permissions import policy


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _grants(user, competition: Competition, role: Role):
    if not _signed_in(user):
        return []
    return [grant for grant in user.roles if grant.competition_id == competition.id and grant.role == role]


def reviewable_institution_ids(user, competition: Competition) -> set[int] | None:
    """None: every institution (admin, organizer); else the institutions this person reviews."""
    if is_platform_admin(user) or _grants(user, competition, Role.ORGANIZER):
        return None
    return {grant.institution_id for grant in _grants(user, competition, Role.INSTITUTION_ORGANIZER)}


@policy
def can_list_teams(user, competition: Competition) -> bool:
    return _signed_in(user) and (
        reviewable_institution_ids(user, competition) is None or bool(reviewable_institution_ids(user, competition))
    )


@policy
def can_review_team(user, team) -> bool:
    if not _signed_in(user):
        return False
    institutions = reviewable_institution_ids(user, team.competition)
    return institutions is None or team.institution_id in institutions


@policy
def can_view_team(user, team) -> bool:
    if not _signed_in(user):
        return False
    if team.member_for(user) is not None or any(advisor.user_id == user.id for advisor in team.advisors):
        return True
    return can_review_team(user, team)


@policy
def can_lead_team(user, team) -> bool:
    """The leader's actions: edit, invite, remove members, advisors, submit, withdraw."""
    return _signed_in(user) and team.leader_id == user.id


@policy
def can_create_team(user, competition: Competition) -> bool:
    from competition.core.time import utcnow

    return _signed_in(user) and competition.registration_is_open(utcnow())


@policy
def can_import_teams(user, competition: Competition) -> bool:
    return can_list_teams(user, competition)
