"""Who sees results and who takes part in the public notice.

The public results page needs no policy of its own: whoever may see the competition sees its
snapshots (competition.competitions.policies.can_view_competition). A team's feedback and its
appeals are its members' only; organizers answer appeals.
"""

from __future__ import annotations

from competition.core.permissions import policy
from competition.extensions import db
from competition.rounds.models import Round
from competition.rounds.policies import can_manage_rounds


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _member(user, team) -> bool:
    return _signed_in(user) and team.member_for(user) is not None


@policy
def can_view_team_results(user, team) -> bool:
    """The team's own published results and feedback (per-criterion means, anonymized comments)."""
    return _member(user, team)


@policy
def can_file_appeal(user, team) -> bool:
    """A member of the team; whether the notice is running is the service's check."""
    return _member(user, team)


@policy
def can_answer_appeals(user, round_) -> bool:
    """Organizers of the competition and admins read and answer a round's appeals."""
    return _signed_in(user) and can_manage_rounds(user, round_.competition)


@policy
def can_view_appeal(user, appeal) -> bool:
    """An appeal and its attachment: the team's members and those who answer it."""
    if _member(user, appeal.team):
        return True
    round_ = db.session.get(Round, appeal.round_id)
    return round_ is not None and can_answer_appeals(user, round_)
