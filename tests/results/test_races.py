"""Publishing while judges still submit (SQLite locally, PostgreSQL with TEST_DATABASE_URL).

Judges submit scorecards in threads while another thread publishes the round's results; all start
together at a barrier. Publication locks the round and closes judging; a save holds the round's
lock shared while it writes. So every scorecard either made it into the snapshot or was refused
with "not open", never committed behind it, and a fresh computation equals the published snapshot.

Each thread has its own app context (its own session and connection, as a request has). The
publisher waits a little after the barrier in some attempts, so the snapshot falls at different
points of the judges' saves.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from competition.accounts.models import User
from competition.core.errors import DomainError
from competition.extensions import db
from competition.judging.models import Assignment
from competition.results import compute, services
from competition.results.models import ResultSnapshot, SnapshotKind
from competition.rounds.models import Round
from competition.scoring import services as scoring
from competition.scoring.models import Scorecard
from tests.scoring.test_races import BIG_POOL, race
from tests.scoring.world import NOW, scoring_world

NOT_OPEN = "is not open; scores cannot be saved now."


def publisher(round_id: int, organizer_id: int, delay: float):
    def job(barrier: threading.Barrier):
        round_ = db.session.get(Round, round_id)
        organizer = db.session.get(User, organizer_id)
        barrier.wait()
        time.sleep(delay)
        return services.publish(round_, actor=organizer, now=NOW)

    return job


def judge_saving(assignment_id: int, judge_id: int, data: scoring.ScoreInput, *, submit: bool, delay: float):
    def job(barrier: threading.Barrier):
        assignment = db.session.get(Assignment, assignment_id)
        judge = db.session.get(User, judge_id)
        assignment.submission.team  # noqa: B018 - loaded before the start, as a request's page would
        barrier.wait()
        time.sleep(delay)
        return scoring.save(assignment, judge=judge, data=data, submit=submit, now=NOW)

    return job


def points(rubric, index: int) -> dict[int, str]:
    """Different points for every scorecard (within each maximum), so a mix-up would show."""
    return {c.id: str((index * 7 + position * 3) % int(c.max_points) + 1) for position, c in enumerate(rubric.criteria)}


@BIG_POOL
@pytest.mark.parametrize(("delay", "stagger"), [(0, 0), (0.01, 0), (0, 0.003), (0.02, 0.003), (0.05, 0.006)])
def test_publishing_while_judges_submit_refuses_late_scores_and_equals_a_recomputation(app, english, delay, stagger):
    """`delay`: the publisher waits this long after the barrier; `stagger`: the n-th judge n times this."""
    world = scoring_world(teams=4, judges=5)
    world.round.result_settings = {"method": "trimmed", "trim_min_judges": 4}
    # one scorecard per submission is in before the race: the round always has something to publish
    early = [assignment for assignment in world.assignments if assignment.judge_id == world.judges[0].id]
    for index, assignment in enumerate(early):
        data = scoring.ScoreInput(points(world.rubric, index), {}, "早评", 0)
        scoring.save(assignment, judge=world.judges[0], data=data, submit=True, now=NOW)
    db.session.commit()
    racing = [assignment for assignment in world.assignments if assignment not in early]
    jobs = [publisher(world.round.id, world.organizer.id, delay)]
    for index, assignment in enumerate(racing, start=len(early)):
        data = scoring.ScoreInput(points(world.rubric, index), {}, f"评语{index}", 0)
        # every fifth one only saves a draft: drafts never count, published or not
        jobs.append(judge_saving(assignment.id, assignment.judge_id, data, submit=index % 5 != 0,
                                 delay=stagger * (index - len(early))))  # fmt: skip

    outcomes = race(app, jobs)

    assert outcomes[0][0] == "ok", outcomes[0]
    snapshot = db.session.get(ResultSnapshot, outcomes[0][1])
    assert snapshot.kind == SnapshotKind.PUBLISHED.value
    assert db.session.get(Round, world.round.id).judging_closes_at == NOW
    kinds = Counter(kind for kind, _ in outcomes[1:])
    print("MIX", delay, stagger, dict(kinds))
    assert set(kinds) <= {"ok", "refused"}, outcomes
    # a judge whose save came after publication was told judging is closed; nothing of it is stored
    for (kind, value), assignment in zip(outcomes[1:], racing, strict=True):
        card = db.session.scalar(select(Scorecard).where(Scorecard.assignment_id == assignment.id))
        if kind == "refused":
            assert NOT_OPEN in value, value
            assert card is None
        else:
            assert card is not None and card.id == value
    # every submitted scorecard is in the snapshot: its submission's judges and score match the scorecards
    submitted = db.session.scalars(select(Scorecard).where(Scorecard.state == "submitted")).all()
    totals = {(card.submission_id, card.judge_id): float(card.total) for card in submitted}
    recomputed = compute.aggregate(totals, "trimmed", trim_min_judges=4)
    rows = {row["submission_id"]: row for row in snapshot.rows}
    for submission in world.submissions:
        row = rows[submission.id]
        assert row["judges"] == sum(1 for sid, _ in totals if sid == submission.id)
        assert row["score"] == recomputed.get(submission.id)
    # and the whole computation again gives the snapshot, row for row
    assert services.compute_round(db.session.get(Round, world.round.id)).rows == snapshot.rows
    # a late save now is refused too
    late = next(assignment for assignment in racing if assignment.id not in {c.assignment_id for c in submitted})
    judge = db.session.get(User, late.judge_id)
    with pytest.raises(DomainError, match="not open"):
        scoring.save(db.session.get(Assignment, late.id), judge=judge, now=NOW,
                     data=scoring.ScoreInput(points(world.rubric, 0), {}, "", 0), submit=True)  # fmt: skip
    db.session.rollback()
