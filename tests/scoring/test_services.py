"""The scoring service's rules: values checked by the service and by the database, one scorecard per
assignment, drafts, submits (idempotent), versions (a stale tab), the append-only history, reopening,
closed rounds, and the assignment a judge has started scoring staying put."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db as _db
from competition.judging import assignment as assignment_service
from competition.judging.models import Assignment, RoundJudge
from competition.scoring import services
from competition.scoring.models import Criterion, Scorecard, ScoreHistory, ScoreValue
from tests import factories
from tests.scoring.world import NOW, full_points, scoring_world

pytestmark = pytest.mark.usefixtures("english")

CHANGED_ELSEWHERE = "This scorecard was changed elsewhere (another tab or device) after you opened it."


def by_code(rubric, code: str) -> Criterion:
    return next(criterion for criterion in rubric.criteria if criterion.code == code)


def entry(points: dict, *, comments: dict | None = None, overall: str = "", version: int = 0) -> services.ScoreInput:
    return services.ScoreInput(
        points=points, comments=comments or {}, overall_comment=overall, expected_version=version
    )


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def history(scorecard_id: int | None = None) -> list[ScoreHistory]:
    query = select(ScoreHistory).order_by(ScoreHistory.id)
    if scorecard_id is not None:
        query = query.where(ScoreHistory.scorecard_id == scorecard_id)
    return list(_db.session.scalars(query))


def stored_values(scorecard_id: int) -> dict[int, tuple[Decimal, str]]:
    rows = _db.session.execute(
        select(ScoreValue.criterion_id, ScoreValue.points, ScoreValue.comment).where(
            ScoreValue.scorecard_id == scorecard_id
        )
    ).all()
    return {criterion_id: (points, comment) for criterion_id, points, comment in rows}


def refused(action) -> DomainError:
    with pytest.raises(DomainError) as caught:
        action()
    _db.session.rollback()  # as a view does (commit_or_show)
    return caught.value


# --- parse_points: the service's own check --------------------------------------------------------


def criterion(max_points: str = "25", step: str = "1") -> Criterion:
    return Criterion(id=7, code="innovation", name_zh="创新性", name_en="Innovation", max_points=Decimal(max_points),
                     step=Decimal(step))  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [
        "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e309", "1e1", "2E1", "-0", "-0.0", "-1", "+5", "26",
        "25.5", "100", "1000", "7,5", "0x5", "0b1", "1_0", "", "   ", None, "5.", ".5", "7.50", "7.5.1", "五",
        "１０．５", "－１", "٣", "५", "10 pts", "5/2", "\x00", "2\u200b",
    ],
)  # fmt: skip
def test_points_out_of_range_or_malformed_are_refused_with_the_allowed_range(app, raw):
    error = refused(lambda: services.parse_points(raw, criterion()))
    assert str(error.message) == "Innovation takes 0 to 25 points in steps of 1."
    assert error.field == "points-7"


@pytest.mark.parametrize(("raw", "step"), [("7.5", "1"), ("0.5", "1"), ("7.3", "0.5"), ("9.9", "0.5")])
def test_points_off_the_step_are_refused(app, raw, step):
    error = refused(lambda: services.parse_points(raw, criterion(max_points="10", step=step)))
    assert str(error.message) == f"Innovation takes 0 to 10 points in steps of {step}."


@pytest.mark.parametrize(
    ("raw", "step", "expected"),
    [
        ("0", "1", "0"), ("25", "1", "25"), ("13", "1", "13"), (" 13 ", "1", "13"), ("007", "1", "7"),
        ("0.0", "1", "0"), ("25.0", "1", "25"), ("0", "0.5", "0"), ("0.5", "0.5", "0.5"), ("7.5", "0.5", "7.5"),
        ("24.5", "0.5", "24.5"), ("25", "0.5", "25"),
        # full-width digits (a Chinese input method) are NFKC-normalized: accepted as the digits they show
        ("１０", "1", "10"), ("２５", "1", "25"), ("７．５", "0.5", "7.5"),
    ],
)  # fmt: skip
def test_points_in_range_and_step_are_accepted(app, raw, step, expected):
    assert services.parse_points(raw, criterion(step=step)) == Decimal(expected)


# --- the database refuses what the service would ------------------------------------------------


def bare_scorecard(world, index: int = 0) -> Scorecard:
    assignment = world.assignments[index]
    scorecard = Scorecard(assignment_id=assignment.id, round_id=world.round.id, submission_id=assignment.submission_id,
                          judge_id=assignment.judge_id, rubric_id=world.rubric.id, version=1)  # fmt: skip
    _db.session.add(scorecard)
    _db.session.commit()
    return scorecard


@pytest.mark.parametrize("points", ["26", "25.5", "-1", "-0.5", "7.3", "0.1", "24.9"])
def test_the_database_refuses_a_value_the_service_would_refuse(app, points):
    world = scoring_world()
    scorecard = bare_scorecard(world)
    innovation = by_code(world.rubric, "innovation")  # 25 points
    _db.session.add(ScoreValue(scorecard_id=scorecard.id, criterion_id=innovation.id, points=Decimal(points),
                               max_points=innovation.max_points))  # fmt: skip
    with pytest.raises(IntegrityError):
        _db.session.flush()
    _db.session.rollback()
    assert count(ScoreValue) == 0


@pytest.mark.parametrize("points", ["0", "0.5", "7.5", "25"])
def test_the_database_accepts_whole_and_half_points_up_to_the_maximum(app, points):
    world = scoring_world()
    scorecard = bare_scorecard(world)
    innovation = by_code(world.rubric, "innovation")
    _db.session.add(ScoreValue(scorecard_id=scorecard.id, criterion_id=innovation.id, points=Decimal(points),
                               max_points=innovation.max_points))  # fmt: skip
    _db.session.commit()
    assert _db.session.scalar(select(ScoreValue.points)) == Decimal(points)


def test_a_second_scorecard_for_the_same_assignment_is_refused_by_the_database(app):
    world = scoring_world()
    bare_scorecard(world)
    with pytest.raises(IntegrityError):
        bare_scorecard(world)
    _db.session.rollback()
    assert count(Scorecard) == 1


def test_the_same_criterion_twice_on_one_scorecard_is_refused_by_the_database(app):
    world = scoring_world()
    scorecard = bare_scorecard(world)
    innovation = by_code(world.rubric, "innovation")
    for points in ("5", "6"):
        _db.session.add(ScoreValue(scorecard_id=scorecard.id, criterion_id=innovation.id, points=Decimal(points),
                                   max_points=innovation.max_points))  # fmt: skip
    with pytest.raises(IntegrityError):
        _db.session.flush()
    _db.session.rollback()


# --- drafts and submits ----------------------------------------------------------------------------


def test_a_draft_may_be_incomplete_and_a_submit_completes_it(app):
    world = scoring_world()
    assignment, judge, rubric = world.assignments[0], world.judges[0], world.rubric
    innovation, business = by_code(rubric, "innovation"), by_code(rubric, "business")

    draft = services.save(assignment, judge=judge, data=entry({innovation.id: "20", business.id: "12"},
                          comments={innovation.id: "  新颖  "}), submit=False, now=NOW)  # fmt: skip
    _db.session.commit()
    assert (draft.state, draft.version, draft.total, draft.submitted_at) == ("draft", 1, Decimal(32), None)
    assert stored_values(draft.id) == {innovation.id: (Decimal(20), "新颖"), business.id: (Decimal(12), "")}
    assert rubric.frozen_at is None

    points = full_points(rubric)
    done = services.save(assignment, judge=judge, data=entry(points, overall="很好的项目", version=1), submit=True,
                         now=NOW)  # fmt: skip
    _db.session.commit()
    assert done.id == draft.id and count(Scorecard) == 1
    assert (done.state, done.version, done.submitted_at, done.overall_comment) == ("submitted", 2, NOW, "很好的项目")
    assert done.total == sum(Decimal(value) for value in points.values())
    assert rubric.frozen_at == NOW
    audits = _db.session.scalars(select(AuditEntry).where(AuditEntry.action == "scoring.submit")).all()
    assert [(a.actor_id, a.object_id, a.details["total"]) for a in audits] == [(judge.id, str(done.id), "80")]


def test_a_double_submit_gives_the_same_scorecard_and_no_new_history(app):
    world = scoring_world()
    assignment, judge = world.assignments[0], world.judges[0]
    points = full_points(world.rubric)
    first = services.save(assignment, judge=judge, data=entry(points, overall="好"), submit=True, now=NOW)
    _db.session.commit()
    rows = len(history())
    # the second click carries the same page (version 0), a reload the new one (version 1)
    for version in (0, 1):
        again = services.save(assignment, judge=judge, data=entry(points, overall="好", version=version), submit=True,
                              now=NOW + timedelta(minutes=1))  # fmt: skip
        _db.session.commit()
        assert again.id == first.id
    assert count(Scorecard) == 1 and len(history()) == rows == 1
    assert (again.version, again.submitted_at) == (1, NOW)
    assert _db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "scoring.submit")) == 1


def test_after_submitting_other_values_or_a_draft_are_refused(app):
    world = scoring_world()
    assignment, judge = world.assignments[0], world.judges[0]
    points = full_points(world.rubric)
    done = services.save(assignment, judge=judge, data=entry(points, overall="好"), submit=True, now=NOW)
    _db.session.commit()
    before = stored_values(done.id)
    other = points | {by_code(world.rubric, "team").id: "3"}
    for data, submit in ((entry(other, overall="好", version=1), True), (entry(points, overall="更好", version=1), True),
                         (entry(points, overall="好", version=1), False)):  # fmt: skip
        error = refused(lambda data=data, submit=submit: services.save(assignment, judge=judge, data=data,
                                                                       submit=submit, now=NOW))  # fmt: skip
        assert str(error.message).startswith("You have submitted this scorecard; ask the organizers to reopen it")
    assert stored_values(done.id) == before and len(history()) == 1


def test_a_criterion_not_in_the_rubric_is_refused_and_nothing_is_saved(app):
    world = scoring_world()
    other_round = factories.round_(world.contest, position=2, level="alliance")
    foreign = services.create_rubric(other_round, actor=world.organizer, preset_code="alliance-final-roadshow")
    _db.session.commit()
    points = full_points(world.rubric)
    for extra in ({foreign.criteria[0].id: "5"}, {999_999: "5"}):
        error = refused(lambda extra=extra: services.save(world.assignments[0], judge=world.judges[0],
                                                          data=entry(points | extra), submit=False, now=NOW))  # fmt: skip
        assert "criterion that is not in this rubric" in str(error.message)
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry(points, comments={999_999: "x"}), submit=False, now=NOW))  # fmt: skip
    assert "criterion that is not in this rubric" in str(error.message)
    assert count(Scorecard) == count(ScoreValue) == count(ScoreHistory) == 0
    assert not _db.session.get(Assignment, world.assignments[0].id).protected


def test_a_submit_with_a_missing_criterion_names_it_and_saves_nothing(app):
    world = scoring_world()
    points = full_points(world.rubric)
    del points[by_code(world.rubric, "team").id]
    points[by_code(world.rubric, "employment").id] = "  "  # blank is not a score
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0], data=entry(points, overall="好"),
                                          submit=True, now=NOW))  # fmt: skip
    assert str(error.message) == (
        "Please score every criterion before submitting: Team capability、Job creation and social value."
    )
    assert count(Scorecard) == count(ScoreHistory) == 0


def test_an_invalid_value_refuses_the_whole_save_and_names_the_field(app):
    world = scoring_world()
    team = by_code(world.rubric, "team")
    points = full_points(world.rubric) | {team.id: "21"}
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0], data=entry(points),
                                          submit=False, now=NOW))  # fmt: skip
    assert (str(error.message), error.field) == (
        "Team capability takes 0 to 20 points in steps of 1.",
        f"points-{team.id}",
    )
    assert count(Scorecard) == count(ScoreValue) == 0


def test_half_points_are_stored_exactly_when_the_step_is_half(app):
    world = scoring_world()
    innovation = by_code(world.rubric, "innovation")
    services.save_criterion(world.rubric, actor=world.organizer, criterion=innovation, settings=services.CriterionSettings(
        code="innovation", name_zh="创新性", name_en="Innovation", guidance_zh="", guidance_en="",
        max_points=Decimal(25), step=Decimal("0.5")))  # fmt: skip
    _db.session.commit()
    points = full_points(world.rubric) | {innovation.id: "17.5"}
    done = services.save(world.assignments[0], judge=world.judges[0], data=entry(points, overall="好"), submit=True,
                         now=NOW)  # fmt: skip
    _db.session.commit()
    assert stored_values(done.id)[innovation.id][0] == Decimal("17.5")
    assert done.total == Decimal("17.5") + sum(Decimal(v) for k, v in points.items() if k != innovation.id)


def test_the_overall_comment_needs_the_rubrics_minimum_on_submit_only(app):
    world = scoring_world()
    services.set_min_comment(world.rubric, actor=world.organizer, characters=20)
    _db.session.commit()
    points = full_points(world.rubric)
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry(points, overall="  项目有创意，但市场分析不足  "), submit=True, now=NOW))  # fmt: skip
    assert str(error.message) == "The overall comment needs at least 20 characters (it has 13)."
    assert error.field == "overall_comment" and count(Scorecard) == 0
    draft = services.save(world.assignments[0], judge=world.judges[0], data=entry(points, overall="短"), submit=False,
                          now=NOW)  # fmt: skip
    _db.session.commit()
    assert draft.state == "draft"
    done = services.save(world.assignments[0], judge=world.judges[0], data=entry(points, overall="好" * 20, version=1),
                         submit=True, now=NOW)  # fmt: skip
    assert done.is_submitted


def test_invisible_characters_neither_fill_a_comment_nor_meet_the_minimum(app):
    world = scoring_world()
    services.set_min_comment(world.rubric, actor=world.organizer, characters=5)
    _db.session.commit()
    points = full_points(world.rubric)
    innovation = by_code(world.rubric, "innovation")
    invisible = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f" * 3
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry(points, overall=invisible), submit=True, now=NOW))  # fmt: skip
    assert str(error.message) == "The overall comment needs at least 5 characters (it has 0)."
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry(points, overall="好\u200b\u200b\u200b\u200b\u200b好"), submit=True,
                                          now=NOW))  # fmt: skip
    assert str(error.message) == "The overall comment needs at least 5 characters (it has 2)."
    draft = services.save(world.assignments[0], judge=world.judges[0], data=entry(
        points, comments={innovation.id: f" {invisible} 新颖 {invisible}"}, overall=invisible), submit=False, now=NOW)  # fmt: skip
    _db.session.commit()
    assert draft.overall_comment == "" and stored_values(draft.id)[innovation.id][1] == "新颖"


def test_a_100k_character_comment_is_refused_with_the_limit(app):
    world = scoring_world()
    points = full_points(world.rubric)
    innovation = by_code(world.rubric, "innovation")
    huge = "评" * 100_000
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry(points, comments={innovation.id: huge}), submit=False, now=NOW))  # fmt: skip
    assert (str(error.message), error.field) == ("A comment has at most 2000 characters.", f"comment-{innovation.id}")
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry(points, overall=huge), submit=True, now=NOW))  # fmt: skip
    assert (str(error.message), error.field) == ("The overall comment has at most 5000 characters.", "overall_comment")
    assert count(Scorecard) == count(ScoreValue) == 0
    # the limits themselves are allowed
    done = services.save(world.assignments[0], judge=world.judges[0], data=entry(
        points, comments={innovation.id: "评" * 2000}, overall="评" * 5000), submit=True, now=NOW)  # fmt: skip
    _db.session.commit()
    assert len(done.overall_comment) == 5000 and stored_values(done.id)[innovation.id][1] == "评" * 2000


# --- versions: the stale tab ----------------------------------------------------------------------


def test_a_save_from_an_older_page_is_refused_and_changes_nothing(app):
    world = scoring_world()
    assignment, judge, rubric = world.assignments[0], world.judges[0], world.rubric
    innovation = by_code(rubric, "innovation")
    services.save(assignment, judge=judge, data=entry({innovation.id: "10"}), submit=False, now=NOW)
    _db.session.commit()
    newer = services.save(assignment, judge=judge, data=entry({innovation.id: "11"}, overall="第二个标签页", version=1),
                          submit=False, now=NOW)  # fmt: skip
    _db.session.commit()
    for data, submit in ((entry({innovation.id: "12"}, version=1), False),
                         (entry(full_points(rubric), overall="好", version=1), True),
                         (entry({innovation.id: "12"}, version=0), False),
                         (entry({innovation.id: "12"}, version=3), False)):  # fmt: skip
        error = refused(lambda data=data, submit=submit: services.save(assignment, judge=judge, data=data,
                                                                       submit=submit, now=NOW))  # fmt: skip
        assert str(error.message).startswith(CHANGED_ELSEWHERE)
        assert "your input is shown below" in str(error.message) and error.field == "version"
    scorecard = _db.session.get(Scorecard, newer.id)
    assert (scorecard.version, scorecard.state, scorecard.overall_comment) == (2, "draft", "第二个标签页")
    assert stored_values(newer.id) == {innovation.id: (Decimal(11), "")}
    assert len(history()) == 2


def test_a_first_save_from_a_page_opened_before_another_tab_created_the_scorecard_is_refused(app):
    world = scoring_world()
    innovation = by_code(world.rubric, "innovation")
    services.save(world.assignments[0], judge=world.judges[0], data=entry({innovation.id: "10"}), submit=False, now=NOW)
    _db.session.commit()
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry({innovation.id: "20"}, version=0), submit=False, now=NOW))  # fmt: skip
    assert str(error.message).startswith(CHANGED_ELSEWHERE)
    assert count(Scorecard) == 1 and stored_values(_db.session.scalar(select(Scorecard.id)))[innovation.id][0] == 10


# --- the history ------------------------------------------------------------------------------------


def test_every_save_writes_one_history_row_with_old_and_new_of_each_changed_field(app):
    world = scoring_world()
    assignment, judge, rubric = world.assignments[0], world.judges[0], world.rubric
    innovation, business, team = by_code(rubric, "innovation"), by_code(rubric, "business"), by_code(rubric, "team")

    def save(points, version, *, comments=None, overall="", submit=False, when=NOW):
        scorecard = services.save(assignment, judge=judge, data=entry(points, comments=comments, overall=overall,
                                  version=version), submit=submit, now=when)  # fmt: skip
        _db.session.commit()
        return scorecard

    card = save({innovation.id: "20"}, 0, comments={innovation.id: "新颖"})
    card = save({innovation.id: "21", business.id: "10"}, 1, comments={innovation.id: "新颖"}, overall="还行")
    card = save({innovation.id: "21"}, 2, comments={innovation.id: "很新颖"}, overall="还行")  # business cleared
    card = save({innovation.id: "21"}, 3, comments={innovation.id: "很新颖"}, overall="还行")  # nothing changed
    full = full_points(rubric) | {innovation.id: "21"}
    card = save(full, 4, comments={innovation.id: "很新颖"}, overall="还行", submit=True)

    rows = history(card.id)
    assert [(row.action, row.version, row.actor_id) for row in rows] == [
        ("save", 1, judge.id), ("save", 2, judge.id), ("save", 3, judge.id), ("save", 4, judge.id),
        ("submit", 5, judge.id),
    ]  # fmt: skip
    assert [row.changes for row in rows] == [
        {"innovation": [None, "20"], "comment:innovation": ["", "新颖"]},
        {"innovation": ["20", "21"], "business": [None, "10"], "overall": ["", "还行"]},
        {"business": ["10", None], "comment:innovation": ["新颖", "很新颖"]},
        {},
        {code: [None, full[by_code(rubric, code).id]] for code in ("business", "team", "employment", "twin_city")}
        | {"state": ["draft", "submitted"]},
    ]
    assert team.code in rows[-1].changes


def test_a_first_submit_records_every_value_and_the_state(app):
    world = scoring_world()
    points = full_points(world.rubric)
    card = services.save(world.assignments[0], judge=world.judges[0], data=entry(points, overall="好"), submit=True,
                         now=NOW)  # fmt: skip
    _db.session.commit()
    (row,) = history(card.id)
    assert row.action == "submit" and row.version == 1
    assert row.changes == {criterion.code: [None, points[criterion.id]] for criterion in world.rubric.criteria} | {
        "overall": ["", "好"],
        "state": ["draft", "submitted"],
    }


def test_the_history_is_written_in_the_same_transaction(app):
    world = scoring_world()
    innovation = by_code(world.rubric, "innovation")
    services.save(world.assignments[0], judge=world.judges[0], data=entry({innovation.id: "10"}), submit=False, now=NOW)
    _db.session.flush()
    assert count(ScoreHistory) == 1
    _db.session.rollback()
    assert count(Scorecard) == count(ScoreValue) == count(ScoreHistory) == 0
    assert not _db.session.get(Assignment, world.assignments[0].id).protected


def test_the_history_is_append_only(app):
    world = scoring_world()
    assignment, judge, rubric = world.assignments[0], world.judges[0], world.rubric
    innovation = by_code(rubric, "innovation")
    touched: list[str] = []

    def watch(_connection, _cursor, statement, *_args):
        words = " ".join(statement.split()).upper()
        if words.startswith(("UPDATE SCORE_HISTORY", "DELETE FROM SCORE_HISTORY")):
            touched.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", watch)
    snapshots: list[list[tuple]] = []
    try:
        steps = [
            lambda: services.save(assignment, judge=judge, data=entry({innovation.id: "5"}), submit=False, now=NOW),
            lambda: services.save(assignment, judge=judge, data=entry({innovation.id: "6"}, version=1), submit=False,
                                  now=NOW),
            lambda: services.save(assignment, judge=judge, data=entry(full_points(rubric), overall="好", version=2),
                                  submit=True, now=NOW),
            lambda: services.reopen(_db.session.scalar(select(Scorecard)), actor=world.organizer, reason="分数录错",
                                    now=NOW),
            lambda: services.save(assignment, judge=judge, data=entry(full_points(rubric, 0.5), overall="改", version=4),
                                  submit=False, now=NOW),
            lambda: services.save(assignment, judge=judge, data=entry(full_points(rubric, 0.5), overall="改", version=5),
                                  submit=True, now=NOW),
        ]  # fmt: skip
        for step in steps:
            step()
            _db.session.commit()
            _db.session.expire_all()
            snapshots.append(
                [
                    (row.id, row.scorecard_id, row.actor_id, row.action, row.version, row.changes, row.created_at)
                    for row in history()
                ]  # fmt: skip
            )
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert touched == []
    for earlier, later in zip(snapshots, snapshots[1:], strict=False):
        assert later[: len(earlier)] == earlier and len(later) == len(earlier) + 1
    assert [row[3] for row in snapshots[-1]] == ["save", "save", "submit", "reopen", "save", "submit"]
    assert [row[4] for row in snapshots[-1]] == [1, 2, 3, 4, 5, 6]


# --- reopening ---------------------------------------------------------------------------------------


def test_reopening_needs_a_reason_and_gives_the_judge_a_draft_with_a_new_version(app):
    world = scoring_world()
    assignment, judge = world.assignments[0], world.judges[0]
    points = full_points(world.rubric)
    card = services.save(assignment, judge=judge, data=entry(points, overall="好"), submit=True, now=NOW)
    _db.session.commit()
    services.request_reopen(card, judge=judge, reason="第二项打错了", now=NOW)
    _db.session.commit()

    for reason in ("", "   ", None):
        error = refused(lambda reason=reason: services.reopen(card, actor=world.organizer, reason=reason, now=NOW))
        assert (str(error.message), error.field) == ("Please give a reason.", "reason")
    card = _db.session.get(Scorecard, card.id)
    assert (card.state, card.version) == ("submitted", 1)

    services.reopen(card, actor=world.organizer, reason="  评委申请更正  ", now=NOW + timedelta(hours=1))
    _db.session.commit()
    assert (card.state, card.version, card.reopen_request, card.reopen_requested_at) == ("draft", 2, None, None)
    row = history(card.id)[-1]
    assert (row.action, row.version, row.actor_id) == ("reopen", 2, world.organizer.id)
    assert row.changes == {"state": ["submitted", "draft"], "reason": "评委申请更正"}
    audit = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scoring.reopen"))
    assert audit.actor_id == world.organizer.id and audit.details == {"reason": "评委申请更正"}

    error = refused(lambda: services.reopen(card, actor=world.organizer, reason="再来一次", now=NOW))
    assert str(error.message) == "This scorecard has not been submitted."
    # the judge's old page (version 1) is stale; the reloaded one saves
    error = refused(lambda: services.save(assignment, judge=judge, data=entry(points, overall="好", version=1),
                                          submit=True, now=NOW))  # fmt: skip
    assert str(error.message).startswith(CHANGED_ELSEWHERE)
    lower = points | {by_code(world.rubric, "team").id: "10"}
    again = services.save(assignment, judge=judge, data=entry(lower, overall="好", version=2), submit=True, now=NOW)
    _db.session.commit()
    assert (again.state, again.version) == ("submitted", 3)
    assert history(card.id)[-1].changes == {"team": ["16", "10"], "state": ["draft", "submitted"]}


# --- who and when -----------------------------------------------------------------------------------


def test_saving_after_the_round_closes_is_refused_and_audited(app):
    world = scoring_world()
    assignment, judge = world.assignments[0], world.judges[0]
    innovation = by_code(world.rubric, "innovation")
    services.save(assignment, judge=judge, data=entry({innovation.id: "10"}), submit=False, now=NOW)
    services.close_judging(world.round, actor=world.organizer, now=NOW + timedelta(hours=1))
    _db.session.commit()

    error = refused(lambda: services.save(assignment, judge=judge, data=entry(full_points(world.rubric), overall="好",
                                          version=1), submit=True, now=NOW + timedelta(hours=2)))  # fmt: skip
    assert str(error.message) == "Judging of School round is not open; scores cannot be saved now."
    card = _db.session.scalar(select(Scorecard))
    assert (card.state, card.version) == ("draft", 1) and stored_values(card.id) == {innovation.id: (Decimal(10), "")}
    assert count(ScoreHistory) == 1
    # kept although the refused request rolled back
    audits = _db.session.scalars(select(AuditEntry).where(AuditEntry.action == "scoring.refused_closed")).all()
    assert [(a.actor_id, a.object_type, a.object_id, a.details) for a in audits] == [
        (judge.id, "submissions", str(assignment.submission_id), {"round_id": world.round.id})
    ]


def test_saving_before_the_round_opens_is_refused(app):
    world = scoring_world(opens=NOW + timedelta(days=1))
    error = refused(lambda: services.save(world.assignments[0], judge=world.judges[0],
                                          data=entry(full_points(world.rubric)), submit=False, now=NOW))  # fmt: skip
    assert "is not open" in str(error.message) and count(Scorecard) == 0


def test_a_judge_who_is_not_the_assignments_judge_is_refused(app):
    world = scoring_world()
    assignment, other = world.assignments[0], world.judges[1]
    assert assignment.judge_id != other.id
    error = refused(lambda: services.save(assignment, judge=other, data=entry(full_points(world.rubric), overall="好"),
                                          submit=True, now=NOW))  # fmt: skip
    assert str(error.message) == "This submission is not assigned to you."
    assert count(Scorecard) == count(ScoreValue) == count(ScoreHistory) == 0
    assert not _db.session.get(Assignment, assignment.id).protected
    audits = _db.session.scalars(select(AuditEntry).where(AuditEntry.action == "scoring.refused_not_assigned")).all()
    assert [(a.actor_id, a.details) for a in audits] == [(other.id, {"assignment_id": assignment.id})]


def test_the_first_save_protects_the_assignment_and_a_rerun_keeps_it(app):
    world = scoring_world(teams=2, judges=2)
    first = world.assignments[0]  # submission 0, judge 0
    assert not first.protected
    services.save(first, judge=world.judges[0], data=entry({by_code(world.rubric, "innovation").id: "10"}),
                  submit=False, now=NOW)  # fmt: skip
    _db.session.commit()
    assert _db.session.get(Assignment, first.id).protected
    assert [a.protected for a in world.assignments[1:]] == [False, False, False]

    # judge 0 no longer covers the track: only the protection keeps the pair
    other_track = factories.track(world.contest, "startup")
    row = _db.session.scalar(select(RoundJudge).where(RoundJudge.user_id == world.judges[0].id))
    row.track_ids = [other_track.id]
    _db.session.commit()
    run = assignment_service.propose(world.round, actor=world.organizer,
                                     settings=assignment_service.Settings(judges_per_submission=1, keep_existing=False))  # fmt: skip
    pairs = {tuple(pair) for pair in run.pairs}
    assert (first.submission_id, world.judges[0].id) in pairs
    assert (world.submissions[1].id, world.judges[0].id) not in pairs
    assignment_service.apply(run, actor=world.organizer)
    _db.session.commit()
    kept = _db.session.get(Assignment, first.id)
    assert kept is not None and kept.protected and kept.judge_id == world.judges[0].id
    assert _db.session.scalar(select(Scorecard.assignment_id)) == first.id
