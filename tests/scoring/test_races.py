"""Races on real databases (PostgreSQL in CI, SQLite locally): scorecards saved at the same moment.

* 20 submits of the same scorecard (a judge's double clicks, retries) → one scorecard, submitted once;
* 60 judges submitting their own scorecards at once → every score stored;
* two tabs saving different drafts from the same page version → one wins, the other is told the
  scorecard changed elsewhere, and what is stored is exactly the winner's.

Each thread has its own app context (its own session and connection, as a request has) and waits at
a barrier with its objects loaded, so the saves start together. The pool is large enough for every
thread to hold a connection at the barrier.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.core.errors import DomainError
from competition.extensions import db
from competition.judging.models import Assignment
from competition.scoring import services
from competition.scoring.models import Rubric, Scorecard, ScoreHistory, ScoreValue
from tests.scoring.world import NOW, full_points, scoring_world

CHANGED_ELSEWHERE = "This scorecard was changed elsewhere (another tab or device) after you opened it."
BIG_POOL = pytest.mark.app_config(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 70, "max_overflow": 0, "pool_timeout": 60})


def race(app, jobs: list) -> list[tuple[str, object]]:
    """Run every `job(barrier)` in its own thread and app context; returns (outcome, value) per job:
    ("ok", the scorecard id), ("refused", the message) or ("error", what went wrong)."""
    barrier = threading.Barrier(len(jobs), timeout=60)
    outcomes: list = [None] * len(jobs)

    def run(index: int, job) -> None:
        with app.app_context(), force_locale("en"):
            try:
                scorecard = job(barrier)
                db.session.commit()
                outcomes[index] = ("ok", scorecard.id)
            except DomainError as error:
                db.session.rollback()
                outcomes[index] = ("refused", str(error.message))
            except Exception as error:  # noqa: BLE001 - any other failure is what these tests hunt
                db.session.rollback()
                outcomes[index] = ("error", f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    db.session.expire_all()
    return outcomes


def saver(assignment_id: int, judge_id: int, data: services.ScoreInput, *, submit: bool):
    def job(barrier: threading.Barrier):
        assignment = db.session.get(Assignment, assignment_id)
        judge = db.session.get(User, judge_id)
        assignment.submission.team  # noqa: B018 - loaded before the start, as a request's page would
        barrier.wait()
        return services.save(assignment, judge=judge, data=data, submit=submit, now=NOW)

    return job


def stored(scorecard_id: int) -> dict[int, Decimal]:
    rows = db.session.execute(
        select(ScoreValue.criterion_id, ScoreValue.points).where(ScoreValue.scorecard_id == scorecard_id)
    ).all()
    return dict(rows)


@BIG_POOL
def test_twenty_submits_of_the_same_scorecard_give_one_scorecard(app):
    world = scoring_world(teams=1, judges=1)
    assignment_id, judge_id = world.assignments[0].id, world.judges[0].id
    points = full_points(world.rubric)
    data = services.ScoreInput(points=points, comments={}, overall_comment="很好的项目", expected_version=0)

    outcomes = race(app, [saver(assignment_id, judge_id, data, submit=True) for _ in range(20)])

    assert [kind for kind, _ in outcomes if kind not in ("ok", "refused")] == [], outcomes
    scorecards = db.session.scalars(select(Scorecard)).all()
    assert len(scorecards) == 1
    (scorecard,) = scorecards
    # a double submit is idempotent: every click got the same scorecard back, none was refused
    assert outcomes == [("ok", scorecard.id)] * 20
    assert (scorecard.state, scorecard.version, scorecard.assignment_id) == ("submitted", 1, assignment_id)
    assert stored(scorecard.id) == {cid: Decimal(raw) for cid, raw in points.items()}
    actions = db.session.scalars(select(ScoreHistory.action).where(ScoreHistory.scorecard_id == scorecard.id)).all()
    assert actions == ["submit"]


@BIG_POOL
def test_sixty_judges_submitting_at_once_all_have_their_scores_stored(app):
    world = scoring_world(teams=1, judges=60)
    criteria = world.rubric.criteria
    sent: dict[int, dict[int, str]] = {}
    jobs = []
    for index, assignment in enumerate(world.assignments):
        # each judge different points (within every maximum), so a mix-up would show
        points = {c.id: str((index + position) % int(c.max_points) + 1) for position, c in enumerate(criteria)}
        sent[assignment.id] = points
        data = services.ScoreInput(points=points, comments={criteria[0].id: f"评语{index}"},
                                   overall_comment=f"评委{index}的总评", expected_version=0)  # fmt: skip
        jobs.append(saver(assignment.id, assignment.judge_id, data, submit=True))

    outcomes = race(app, jobs)

    assert [outcome for outcome in outcomes if outcome[0] != "ok"] == []
    scorecards = {card.assignment_id: card for card in db.session.scalars(select(Scorecard))}
    assert set(scorecards) == set(sent) and len(scorecards) == 60
    for assignment_id, points in sent.items():
        card = scorecards[assignment_id]
        index = next(i for i, a in enumerate(world.assignments) if a.id == assignment_id)
        assert card.is_submitted and card.version == 1 and card.overall_comment == f"评委{index}的总评"
        assert stored(card.id) == {cid: Decimal(raw) for cid, raw in points.items()}
        assert card.total == sum(Decimal(raw) for raw in points.values())
    assert db.session.scalar(select(func.count(ScoreHistory.id)).where(ScoreHistory.action == "submit")) == 60
    assert db.session.scalar(select(func.count(Assignment.id)).where(Assignment.protected.is_(True))) == 60
    assert db.session.scalar(select(Rubric.frozen_at)) == NOW


@BIG_POOL
def test_two_tabs_saving_from_the_same_version_one_wins_the_other_is_told(app):
    world = scoring_world(teams=1, judges=1)
    assignment_id, judge_id = world.assignments[0].id, world.judges[0].id
    criteria = world.rubric.criteria
    version = 0  # the first attempt: both tabs opened before any scorecard existed
    for attempt in range(6):
        tabs = []
        for tab in range(2):
            points = {c.id: str((attempt * 2 + tab + position) % 10) for position, c in enumerate(criteria)}
            if tab == 1:
                del points[criteria[-1].id]  # the second tab left the last criterion empty
            tabs.append(services.ScoreInput(points=points, comments={criteria[0].id: f"标签页{tab}"},
                                            overall_comment=f"第{attempt}次，标签页{tab}", expected_version=version))  # fmt: skip

        outcomes = race(app, [saver(assignment_id, judge_id, data, submit=False) for data in tabs])

        kinds = sorted(kind for kind, _ in outcomes)
        assert kinds == ["ok", "refused"], outcomes
        winner = tabs[[kind for kind, _ in outcomes].index("ok")]
        loser_message = next(value for kind, value in outcomes if kind == "refused")
        assert loser_message.startswith(CHANGED_ELSEWHERE)
        (card,) = db.session.scalars(select(Scorecard)).all()
        assert (card.version, card.state, card.overall_comment) == (version + 1, "draft", winner.overall_comment)
        assert stored(card.id) == {cid: Decimal(raw) for cid, raw in winner.points.items()}
        assert db.session.scalar(select(func.count(ScoreHistory.id))) == version + 1
        version = card.version
