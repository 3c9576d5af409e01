"""Who sees and changes a team, as a table of people × predicates."""

from __future__ import annotations

import pytest

from competition.extensions import db
from competition.teams import policies
from tests import factories


@pytest.fixture
def world(app):
    contest = factories.competition(code="CY1")
    other = factories.competition(code="CY2")
    scu, cqu = factories.institution("SCU"), factories.institution("CQU")
    team = factories.team(contest, institution_row=scu)
    member = next(m.user for m in team.members if not m.is_leader)
    people = {
        "leader": team.leader,
        "member": member,
        "other_student": factories.team(contest, institution_row=scu).leader,
        "scu_office": factories.user(institution=scu),
        "cqu_office": factories.user(institution=cqu),
        "organizer": factories.user(),
        "other_organizer": factories.user(),
        "admin": factories.user(is_admin=True),
        "anonymous": None,
    }
    factories.grant(people["scu_office"], contest, "institution_organizer", scu)
    factories.grant(people["cqu_office"], contest, "institution_organizer", cqu)
    factories.grant(people["organizer"], contest, "organizer")
    factories.grant(people["other_organizer"], other, "organizer")
    db.session.flush()
    return team, people


EXPECTED = {
    #                  view   lead   review
    "leader": (True, True, False),
    "member": (True, False, False),
    "other_student": (False, False, False),
    "scu_office": (True, False, True),
    "cqu_office": (False, False, False),
    "organizer": (True, False, True),
    "other_organizer": (False, False, False),
    "admin": (True, False, True),
    "anonymous": (False, False, False),
}


@pytest.mark.parametrize("person", list(EXPECTED))
def test_team_policies(world, person):
    team, people = world
    user = people[person]
    actual = (
        policies.can_view_team(user, team),
        policies.can_lead_team(user, team),
        policies.can_review_team(user, team),
    )
    assert actual == EXPECTED[person]


def test_reviewable_institutions(world):
    team, people = world
    contest = team.competition
    assert policies.reviewable_institution_ids(people["organizer"], contest) is None
    assert policies.reviewable_institution_ids(people["scu_office"], contest) == {team.institution_id}
    assert policies.reviewable_institution_ids(people["other_organizer"], contest) == set()
    assert not policies.can_list_teams(people["leader"], contest)
    assert policies.can_list_teams(people["cqu_office"], contest)
