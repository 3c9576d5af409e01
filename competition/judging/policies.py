"""Who may run the judging of a competition and who may declare a conflict of interest."""

from __future__ import annotations

from competition.competitions.policies import can_manage_competition, is_judge_in
from competition.core.permissions import policy
from competition.rounds.policies import can_manage_rounds


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


@policy
def can_manage_judging(user, competition) -> bool:
    """A round's judges and its assignment: those who set up the rounds (organizers, admins)."""
    return can_manage_rounds(user, competition)


@policy
def can_manage_conflicts(user, competition) -> bool:
    """Review, refresh, dismiss, restore and declare conflicts of interest: organizers, admins."""
    return can_manage_competition(user, competition)


@policy
def can_declare_conflict(user, assignment) -> bool:
    """The judge of an assignment, while they hold the judge role of its competition."""
    return (
        _signed_in(user)
        and assignment.judge_id == user.id
        and is_judge_in(user, assignment.submission.round.competition)
    )


@policy
def is_judge_anywhere(user) -> bool:
    """Shows the judges' menu entry: the person holds the judge role in some competition."""
    from competition.accounts.models import Role

    return _signed_in(user) and any(grant.role == Role.JUDGE for grant in user.roles)
