"""The scoring service's main path (the full suite of rules lives in test_services.py)."""

import pytest

from competition.scoring import services
from tests.scoring.world import NOW, full_points, scoring_world

pytestmark = pytest.mark.usefixtures("english")


def test_save_a_draft_then_submit(app, db):
    world = scoring_world()
    assignment, judge = world.assignments[0], world.judges[0]
    points = full_points(world.rubric)
    draft = services.save(assignment, judge=judge, data=services.ScoreInput(points, {}, "", 0), submit=False, now=NOW)
    assert draft.version == 1 and assignment.protected
    done = services.save(
        assignment, judge=judge, data=services.ScoreInput(points, {}, "很好的项目", 1), submit=True, now=NOW
    )
    assert done.is_submitted and done.total == sum(int(float(c.max_points) * 0.8) for c in world.rubric.criteria)
    again = services.save(
        assignment, judge=judge, data=services.ScoreInput(points, {}, "很好的项目", 1), submit=True, now=NOW
    )
    assert again is done and world.rubric.frozen_at is not None
