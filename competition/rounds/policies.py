"""Who may set up rounds, see their teams and recommend teams."""

from __future__ import annotations

from competition.competitions.policies import can_manage_competition
from competition.core.permissions import policy
from competition.teams.policies import can_list_teams, can_review_team


@policy
def can_manage_rounds(user, competition) -> bool:
    return can_manage_competition(user, competition)


@policy
def can_view_round_teams(user, round_) -> bool:
    """The teams of a round: organizers all of them, institution organizers their own institution's."""
    return can_list_teams(user, round_.competition)


@policy
def can_recommend_team(user, round_, team) -> bool:
    """The team's institution organizer (or an organizer) recommends it from a school round."""
    return (
        round_.level == "institution"
        and round_.next_round_id is not None
        and team.competition_id == round_.competition_id
        and can_review_team(user, team)
    )
