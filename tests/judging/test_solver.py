"""The assignment solver on hand-made instances, and the assignment services' promises that are
stated with numbers: infeasibility explained in the organizer's words, repairs that change the
minimum, protected assignments kept, seeds. Random instances are in test_solver_properties.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from competition.core.errors import DomainError
from competition.experts.models import Expert
from competition.extensions import db
from competition.judging import assignment, conflicts
from competition.judging.models import Assignment, RoundJudge
from competition.judging.solver import Infeasible, Problem, solve
from competition.submissions.models import Submission
from tests import factories

# --- the solver ---------------------------------------------------------------------------------


def problem(costs, *, need, sides, industry=None, load_min=0, load_max=9, **extra) -> Problem:
    """A problem from an (n, m) cost matrix where None marks a disallowed pair."""
    costs = np.array([[-1 if value is None else value for value in row] for row in costs], dtype=np.int64)
    n, m = costs.shape
    pair_s, pair_j = np.nonzero(costs >= 0)
    keep = extra.pop("keep", None)
    return Problem(
        need=np.broadcast_to(np.asarray(need, dtype=np.int64), (n,)).copy(),
        load_min=np.broadcast_to(np.asarray(load_min, dtype=np.int64), (m,)).copy(),
        load_max=np.broadcast_to(np.asarray(load_max, dtype=np.int64), (m,)).copy(),
        judge_side=np.array(sides, dtype=np.int64),
        judge_industry=np.array(industry or [False] * m, dtype=bool),
        pair_submission=pair_s,
        pair_judge=pair_j,
        pair_cost=costs[pair_s, pair_j],
        pair_keep=None if keep is None else np.array(keep, dtype=bool)[pair_s, pair_j],
        **extra,
    )


def pairs(problem_: Problem, solution) -> set[tuple[int, int]]:
    return {(int(problem_.pair_submission[index]), int(problem_.pair_judge[index])) for index in solution.pair_index}


def test_a_panel_takes_a_judge_of_each_side_and_an_investor_when_it_pays():
    # judges 0 and 1: Sichuan academics (0, 1); 2: a Chongqing academic (30); 3: a Chongqing investor (45)
    p = problem([[0, 1, 30, 45]], need=2, sides=[0, 0, 1, 1], industry=[False, False, False, True],
                side_bonus=50, industry_bonus=30)  # fmt: skip
    solution = solve(p)
    # 0 + 45 − 2 × 50 − 30 = −85 beats two Sichuan judges (−49) and the Chongqing academic (−70)
    assert solution.objective == -85
    assert pairs(p, solution) == {(0, 0), (0, 3)}


def test_a_panel_already_covered_earns_no_bonus_again():
    p = problem([[0, 1, 30, 45]], need=2, sides=[0, 0, 1, 1], industry=[False, False, False, True],
                side_bonus=50, industry_bonus=30, side_covered=np.array([[False, True]]),
                industry_covered=np.array([[False, True]]))  # fmt: skip
    solution = solve(p)
    assert solution.objective == -49  # the two Sichuan judges: only the Sichuan bonus is left to earn
    assert pairs(p, solution) == {(0, 0), (0, 1)}


def test_existing_pairs_are_kept_when_keeping_is_worth_more():
    costs = [[0, 5, 9], [0, 5, 9]]
    p = problem(costs, need=1, sides=[0, 0, 0], keep=[[False, False, True], [False, True, False]], keep_bonus=100)
    solution = solve(p)
    assert pairs(p, solution) == {(0, 2), (1, 1)}
    assert solution.objective == 9 + 5 - 200


def test_loads_stay_within_each_judges_range():
    costs = [[0, 10, 10]] * 4
    p = problem(costs, need=1, sides=[0, 0, 0], load_min=[0, 1, 1], load_max=[2, 2, 2])
    solution = solve(p)
    assert solution.loads.tolist() == [2, 1, 1]
    assert solution.objective == 20


def test_a_submission_that_needs_nobody_gets_nobody_even_with_a_keep_bonus():
    p = problem([[0, 0], [0, 0]], need=[0, 1], sides=[0, 1], keep=[[True, True], [False, False]], keep_bonus=100)
    solution = solve(p)
    assert {s for s, _ in pairs(p, solution)} == {1}


@pytest.mark.parametrize(
    ("costs", "need", "load_min", "load_max"),
    [
        ([[0, 0]], 1, [1, 1], 2),  # the minimums add up to more than is needed
        ([[0, 0], [0, 0]], 2, 0, 1),  # the maximums add up to less
        ([[0, 0]], 1, [0, 2], [1, 1]),  # a minimum above its maximum
        ([[0, None], [0, 0]], 2, 0, 2),  # the first submission has only one allowed judge
        ([[0, None], [0, None]], 1, 0, 1),  # both want judge 0, who takes one
        ([[None, None]], 0, [0, 1], 1),  # nothing to do, but a judge must take one
    ],
)
def test_impossible_instances_raise_infeasible(costs, need, load_min, load_max):
    with pytest.raises(Infeasible):
        solve(problem(costs, need=need, sides=[0, 1], load_min=load_min, load_max=load_max))


def test_nothing_to_assign_is_an_empty_solution():
    solution = solve(problem([[0, 0]], need=0, sides=[0, 1]))
    assert solution.pair_index.size == 0 and solution.objective == 0 and solution.loads.tolist() == [0, 0]


def test_the_benchmark_runs_and_finds_the_optimum(capsys):
    spec = importlib.util.spec_from_file_location(
        "assignment_benchmark", Path(__file__).resolve().parents[2] / "benchmarks" / "assignment.py"
    )
    benchmark = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = benchmark  # its dataclasses look their module up
    try:
        spec.loader.exec_module(benchmark)
    finally:
        del sys.modules[spec.name]
    methods = ["flow"] + (["lp"] if importlib.util.find_spec("scipy") else [])
    for method in methods:
        code = benchmark.main(["--projects", "120", "--judges", "25", "--per-project", "3", "--optimum", method])
        last = capsys.readouterr().out.strip().splitlines()[-1]
        assert code == 0, last
        assert last.startswith("assignment projects=120 judges=25 per_project=3 seconds=")
        assert last.endswith("optimal=true")


# --- the services -------------------------------------------------------------------------------

in_english = pytest.mark.usefixtures("english")


def build(*, teams: int, judges: int, k: int, tracks: int = 1, team_places=("SCU", "UESTC"), judge_places=("CQU",)):
    """A round of `teams` handed-in submissions (round robin over the tracks) and `judges` judges
    of the given institutions (Chongqing judges and Sichuan teams: no automatic conflicts)."""
    contest = factories.competition()
    track_rows = [factories.track(contest, ("idea", "startup", "growth")[i], position=i) for i in range(tracks)]
    round_ = factories.round_(contest, level="alliance", entry_rule="all_approved", judges_per_submission=k)
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    submissions = [
        add_submission(contest, round_, track_rows[index % tracks], team_places[index % len(team_places)])
        for index in range(teams)
    ]
    people = []
    for index in range(judges):
        place = factories.institution(judge_places[index % len(judge_places)])
        person = factories.user(institution=place)
        db.session.add(Expert(user_id=person.id, institution_id=place.id, side=place.side,
                              kind="investor" if index % 3 == 0 else "academic", expertise=["idea"]))  # fmt: skip
        db.session.add(RoundJudge(round_id=round_.id, user_id=person.id))
        people.append(person)
    db.session.flush()
    return contest, round_, track_rows, submissions, people, organizer


def add_submission(contest, round_, track, place="SCU") -> Submission:
    team = factories.team(contest, state="approved", members=0, track_row=track,
                          institution_row=factories.institution(place))  # fmt: skip
    submission = Submission(round=round_, team=team, state="submitted", abstract="摘要", industry="ai")
    db.session.add(submission)
    db.session.flush()
    return submission


def stored(round_) -> set[tuple[int, int]]:
    return {(a.submission_id, a.judge_id) for a in db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id))}  # fmt: skip


def failure(round_, organizer, **settings) -> str:
    with pytest.raises(DomainError) as error:
        assignment.propose(round_, actor=organizer, settings=assignment.Settings(**settings))
    return str(error.value.message)


@in_english
def test_a_track_short_of_judge_places_is_explained_with_its_numbers(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=5, judges=6, k=3)
    # judges 0–2 may judge only their own one team: 3 × 1 + 3 × 3 = 12 places for 5 × 3 = 15
    for j in range(3):
        for s, submission in enumerate(submissions):
            if s != j:
                conflicts.declare(contest, judge=judges[j], team=submission.team, actor=organizer,
                                  reason="合作关系", by_organizer=True)  # fmt: skip
    message = failure(round_, organizer, judges_per_submission=3, min_load=0, max_load=3)
    assert message == "Idea track needs 15 judge places; after conflicts only 12 are available."


@in_english
def test_a_team_short_of_possible_judges_is_named(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=3, judges=3, k=3)
    conflicts.declare(contest, judge=judges[1], team=submissions[1].team, actor=organizer, reason="亲属",
                      by_organizer=True)  # fmt: skip
    message = failure(round_, organizer, judges_per_submission=3)
    team = submissions[1].team
    assert message == (
        f"“{team.name}” (Idea track) has only 2 possible judge(s) once conflicts and tracks are taken into "
        "account; it needs 3."
    )


@in_english
def test_too_little_capacity_and_too_much_minimum_are_explained(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=2, judges=3, k=2, tracks=2)
    assert failure(round_, organizer, judges_per_submission=2, min_load=0, max_load=1) == (
        "The judges can take 3 submissions at most but 4 judge places are needed. Raise the largest load or add judges."
    )
    assert failure(round_, organizer, judges_per_submission=2, min_load=3, max_load=5) == (
        "The judges' smallest loads add up to 9 but only 4 judge places are needed. Lower the smallest load."
    )


@in_english
def test_a_round_impossible_for_subtler_reasons_gets_the_general_explanation(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=2, judges=3, k=1, tracks=3)
    # two teams (idea, startup), one shared judge who takes one, one who takes none, one for growth
    memberships = {row.user_id: row for row in db.session.scalars(select(RoundJudge))}
    memberships[judges[1].id].max_load = 0
    memberships[judges[2].id].track_ids = [tracks[2].id]
    memberships[judges[2].id].max_load = 5
    db.session.flush()
    assert failure(round_, organizer, judges_per_submission=1, min_load=0, max_load=1) == (
        "No assignment satisfies the tracks, the conflicts and the load limits at the same time. "
        "Widen the load limits or add judges."
    )


@in_english
def test_a_round_without_judges_says_so(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=2, judges=0, k=1)
    assert (
        failure(round_, organizer, judges_per_submission=1)
        == "This round has no judges yet. Add judges to the round first."
    )


@in_english
def test_dropping_a_judge_changes_only_that_judges_assignments(app):
    contest, round_, tracks, submissions, judges, organizer = build(
        teams=8, judges=6, k=3, judge_places=("CQU", "SISU", "SWU")
    )
    settings = assignment.Settings(judges_per_submission=3, seed=4)
    assignment.apply(assignment.propose(round_, actor=organizer, settings=settings), actor=organizer)
    before = stored(round_)
    dropped = judges[2]
    db.session.delete(db.session.scalar(select(RoundJudge).where(RoundJudge.user_id == dropped.id)))
    db.session.flush()
    run = assignment.propose(round_, actor=organizer, settings=settings)
    lost = {pair for pair in before if pair[1] == dropped.id}
    assert lost and run.statistics["removed"] == len(lost) and run.statistics["added"] == len(lost)
    assignment.apply(run, actor=organizer)
    after = stored(round_)
    assert before - after == lost
    assert sorted(s for s, _ in after - before) == sorted(s for s, _ in lost)  # the same panels, refilled
    loads = [sum(1 for _, j in after if j == judge.id) for judge in judges if judge is not dropped]
    assert set(loads) <= {4, 5}  # 24 places over 5 judges, balanced


@in_english
def test_a_late_submission_only_adds_its_own_judges(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=6, judges=6, k=3)
    settings = assignment.Settings(judges_per_submission=3)
    assignment.apply(assignment.propose(round_, actor=organizer, settings=settings), actor=organizer)
    before = stored(round_)
    late = add_submission(contest, round_, tracks[0], "UESTC")
    run = assignment.propose(round_, actor=organizer, settings=settings)
    assert (run.statistics["added"], run.statistics["removed"], run.statistics["kept"]) == (3, 0, 18)
    assignment.apply(run, actor=organizer)
    after = stored(round_)
    assert before < after and {s for s, _ in after - before} == {late.id} and len(after - before) == 3


@in_english
def test_protected_assignments_survive_any_rerun(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=6, judges=6, k=3)
    assignment.apply(
        assignment.propose(round_, actor=organizer, settings=assignment.Settings(judges_per_submission=3)),
        actor=organizer,
    )
    rows = list(db.session.scalars(select(Assignment).order_by(Assignment.id)))
    protected = set()
    for row in rows[::4]:
        row.protected = True
        protected.add((row.submission_id, row.judge_id))
    db.session.flush()
    for seed, keep in ((2, False), (3, True), (7, False)):
        settings = assignment.Settings(judges_per_submission=3, seed=seed, keep_existing=keep, weight_side=10,
                                       weight_expertise=0)  # fmt: skip
        run = assignment.propose(round_, actor=organizer, settings=settings)
        assert protected <= {tuple(pair) for pair in run.pairs}
        assignment.discard(run, actor=organizer)


@in_english
def test_the_same_seed_gives_the_same_pairs_and_other_seeds_other_ones(app):
    contest, round_, tracks, submissions, judges, organizer = build(teams=8, judges=8, k=3)
    proposals = {}
    for seed in (1, 2, 3, 4, 5, 1):
        run = assignment.propose(
            round_, actor=organizer, settings=assignment.Settings(judges_per_submission=3, seed=seed)
        )
        pairs_ = sorted(map(tuple, run.pairs))
        assert proposals.setdefault(seed, pairs_) == pairs_
    assert len({tuple(value) for value in proposals.values()}) > 1
