"""Who scores and who watches the scoring.

A judge scores only their own assignments, only while they hold the judge role and the round's
judging is open; they never see another judge's scorecard. Organizers see progress and every score.
"""

from __future__ import annotations

from competition.competitions.policies import is_judge_in
from competition.core.permissions import policy
from competition.core.time import utcnow
from competition.rounds.policies import can_manage_rounds


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


@policy
def can_open_scorecard(user, assignment) -> bool:
    """The assigned judge, holding the judge role, while judging is open (read-only after submit)."""
    return (
        _signed_in(user)
        and assignment.judge_id == user.id
        and is_judge_in(user, assignment.submission.round.competition)
        and assignment.submission.round.judging_is_open(utcnow())
    )


@policy
def can_manage_scoring(user, round_) -> bool:
    """Rubrics, progress, reminders, reopening scorecards, exports, closing: organizers, admins."""
    return can_manage_rounds(user, round_.competition)
