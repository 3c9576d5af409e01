"""The results service's main path on real rows (hand-computed numbers in test_compute.py)."""

import pytest

from competition.results import services
from competition.results.models import ResultSnapshot
from competition.scoring import services as scoring
from tests.scoring.world import NOW, scoring_world

pytestmark = pytest.mark.usefixtures("english")


def _score_everything(world, fractions):
    for assignment, fraction in zip(world.assignments, fractions, strict=True):
        judge = next(j for j in world.judges if j.id == assignment.judge_id)
        points = {c.id: str(int(float(c.max_points) * fraction)) for c in world.rubric.criteria}
        scoring.save(assignment, judge=judge, data=scoring.ScoreInput(points, {}, "", 0), submit=True, now=NOW)


def test_compute_rank_award_and_publish(app, db):
    world = scoring_world(teams=3, judges=2)
    _score_everything(world, [0.9, 0.9, 0.5, 0.5, 0.7, 0.7])
    computation = services.compute_round(world.round)
    ranks = [(row["team_name"], row["rank"]) for row in computation.rows]
    assert [rank for _, rank in ranks] == [1, 2, 3]
    # 3 teams: gold 10 % → 0.3 → 0 places; gold + silver 30 % → 0.9 → 1 place; + bronze 60 % → 1.8 → 2
    assert [row["award"] for row in computation.rows] == ["silver", "bronze", None]
    snapshot = services.publish(world.round, actor=world.organizer, now=NOW)
    assert db.session.get(ResultSnapshot, snapshot.id).rows == computation.rows
    assert world.round.judging_closes_at == NOW
