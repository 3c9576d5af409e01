"""Property-based tests of the assignment solver and of the assignment services.

Solver level (competition.judging.solver) on random instances built as solver.Problem arrays:
random sides and investor/entrepreneur flags, random allowed pairs (conflicts), costs, panel sizes,
load ranges, existing pairs with a keep bonus, panels already covered, pairs in any order. When
`solve` returns: no disallowed pair, exactly need[s] judges per submission, loads within bounds, the
same input gives the same output, and the objective it reports is the objective of its pairs and
equals the optimum of an independent model (CP-SAT with explicit coverage variables; brute force on
tiny instances). When it raises Infeasible, an independent max flow with lower bounds (Edmonds–Karp,
written here) confirms that no assignment exists.

Service level (competition.judging.assignment) on random small rounds of real rows: no pair with a
conflict in force or outside the judge's tracks, exactly k judges per handed-in submission when
feasible, loads within the organizer's bounds (and balanced when balance is possible), the same
seed gives the same pairs, infeasible rounds are explained; repairs keep as many assignments as the
rules allow (checked against CP-SAT) and always keep the protected ones.

Hypothesis runs derandomized (the same examples on every run) so that CI is reproducible.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from competition.accounts.models import User
from competition.core.errors import DomainError
from competition.experts.models import Expert
from competition.extensions import db
from competition.judging import assignment, conflicts
from competition.judging.models import Assignment, Conflict, RoundJudge
from competition.judging.solver import Infeasible, Problem, solve
from competition.submissions.models import Submission
from tests import factories

SIDES = 2

SOLVER = settings(max_examples=100, deadline=None, derandomize=True, database=None)
SERVICES = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- random solver instances --------------------------------------------------------------------


@st.composite
def problems(draw, max_n: int = 10, max_m: int = 8, max_need: int = 4) -> Problem:
    n = draw(st.integers(0, max_n))
    m = draw(st.integers(0, max_m))
    need = np.array(draw(st.lists(st.integers(0, min(max_need, m)), min_size=n, max_size=n)), dtype=np.int64)
    sides = np.array(draw(st.lists(st.integers(0, 1), min_size=m, max_size=m)), dtype=np.int64)
    industry = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    # a conflict (or an ineligible track) removes the pair; shrinking goes towards "all allowed"
    density = draw(st.sampled_from([0.0, 0.2, 0.5]))
    conflict = np.array(draw(st.lists(st.floats(0, 1), min_size=n * m, max_size=n * m)), dtype=float) < density
    allowed = ~conflict.reshape(n, m)
    cost = np.array(draw(st.lists(st.integers(0, 40), min_size=n * m, max_size=n * m)), dtype=np.int64)
    keep = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)), dtype=bool)
    total = int(need.sum())
    average = total / m if m else 0
    mode = draw(st.sampled_from(["balanced", "ranges", "random", "broken"]))
    if mode == "balanced":
        load_min = np.full(m, math.floor(average), dtype=np.int64)
        load_max = np.full(m, math.ceil(average), dtype=np.int64)
    elif mode == "ranges":
        load_min = np.array(draw(st.lists(st.integers(0, math.floor(average)), min_size=m, max_size=m)), np.int64)
        load_max = math.ceil(average) + np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)), np.int64)
    else:
        load_min = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)), dtype=np.int64)
        slack = draw(st.lists(st.integers(-1 if mode == "broken" else 0, 4), min_size=m, max_size=m))
        load_max = load_min + np.array(slack, dtype=np.int64)
    pair_s, pair_j = np.nonzero(allowed)
    order = np.array(draw(st.permutations(range(pair_s.size))), dtype=np.int64)
    flat = pair_s[order] * m + pair_j[order]
    covered = draw(st.booleans())
    return Problem(
        need=need,
        load_min=load_min,
        load_max=load_max,
        judge_side=sides,
        judge_industry=industry,
        pair_submission=pair_s[order],
        pair_judge=pair_j[order],
        pair_cost=cost[flat] if n * m else np.zeros(0, dtype=np.int64),
        pair_keep=keep[flat] if n * m else np.zeros(0, dtype=bool),
        keep_bonus=draw(st.sampled_from([0, 5, 100])),
        side_bonus=draw(st.integers(0, 60)),
        industry_bonus=draw(st.integers(0, 60)),
        side_covered=np.array(draw(st.lists(st.booleans(), min_size=2 * n, max_size=2 * n)), bool).reshape(n, 2)
        if covered
        else None,
        industry_covered=np.array(draw(st.lists(st.booleans(), min_size=2 * n, max_size=2 * n)), bool).reshape(n, 2)
        if covered
        else None,
    )


def copy_of(problem: Problem) -> Problem:
    values = {name: (value.copy() if isinstance(value, np.ndarray) else value) for name, value in vars(problem).items()}
    return Problem(**values)


# --- solver properties --------------------------------------------------------------------------


@SOLVER
@given(problems())
def test_a_solution_keeps_every_hard_rule_and_is_reproducible(problem):
    try:
        solution = solve(problem)
    except Infeasible:
        event("infeasible")
        assert not feasible(problem), "the solver gave up on an instance that has an assignment"
        return
    event("solved")
    assert violations(problem, solution.pair_index) == []
    assert np.array_equal(solution.loads, np.bincount(problem.pair_judge[solution.pair_index], minlength=problem.m))
    assert solution.objective == objective(problem, solution.pair_index)
    again = solve(copy_of(problem))
    assert np.array_equal(again.pair_index, solution.pair_index)
    assert again.objective == solution.objective
    assert np.array_equal(again.loads, solution.loads)


@SOLVER
@given(problems(max_n=12, max_m=10))
def test_infeasible_exactly_when_an_independent_max_flow_finds_no_assignment(problem):
    try:
        solve(problem)
    except Infeasible:
        event("infeasible")
        assert not feasible(problem)
    else:
        event("solved")
        assert feasible(problem)


@SOLVER
@given(problems())
def test_the_objective_is_the_optimum_of_an_independent_coverage_model(problem):
    """CP-SAT on a 0/1 program with explicit "panel has a judge of this side" variables: a different
    model (no flow, no nesting argument) and a different method."""
    optimum = cp_sat_optimum(problem)
    try:
        solution = solve(problem)
    except Infeasible:
        assert optimum is None
        return
    assert solution.objective == optimum


@SOLVER
@given(problems(max_n=4, max_m=5, max_need=2))
def test_the_objective_is_the_brute_force_optimum_on_tiny_instances(problem):
    best = brute_force_optimum(problem)
    if best == "too big":
        return
    try:
        solution = solve(problem)
    except Infeasible:
        assert best is None
        return
    assert solution.objective == best


@settings(SOLVER, max_examples=60)
@given(problems(), st.randoms(use_true_random=False))
def test_the_order_of_the_pairs_changes_nothing_but_indices(problem, random):
    order = list(range(problem.pair_submission.size))
    random.shuffle(order)
    shuffled = copy_of(problem)
    for name in ("pair_submission", "pair_judge", "pair_cost", "pair_keep"):
        setattr(shuffled, name, getattr(problem, name)[np.array(order, dtype=np.int64)])
    try:
        first = solve(problem)
    except Infeasible:
        with pytest.raises(Infeasible):
            solve(shuffled)
        return
    second = solve(shuffled)
    assert second.objective == first.objective
    assert violations(shuffled, second.pair_index) == []


# --- random rounds of real rows -----------------------------------------------------------------

#: three universities of each side
INSTITUTIONS = ("SCU", "UESTC", "SWJTU", "CQU", "SISU", "SWU")
CHONGQING = {"CQU", "SISU", "SWU"}
KINDS = ("academic", "academic", "investor", "entrepreneur", "official")
TAGS = ("idea", "startup", "ai", "agriculture", "medicine")


@st.composite
def rounds(draw, *, bounds: bool = True, spare: int = 1) -> dict:
    """A small round: 1–6 teams on 1–2 tracks, k + `spare` to k + 5 judges (some for one track only,
    some investors or entrepreneurs), same-institution conflicts and a few declared ones; loads
    balanced, or (with `bounds`) bounds around the average, sometimes impossible ones."""
    k = draw(st.integers(1, 3))
    tracks = draw(st.integers(1, 2))
    teams = draw(
        st.lists(
            st.tuples(st.integers(0, tracks - 1), st.integers(0, len(INSTITUTIONS) - 1), st.sampled_from(TAGS)),
            min_size=1,
            max_size=6,
        )
    )
    judges = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(INSTITUTIONS) - 1),
                st.sampled_from(KINDS),
                st.sampled_from([None, None, *range(tracks)]),  # None: every track
                st.sets(st.sampled_from(TAGS), max_size=2),
            ),
            min_size=k + spare,
            max_size=k + 5,
        )
    )
    declared = draw(
        st.lists(st.tuples(st.integers(0, len(judges) - 1), st.integers(0, len(teams) - 1)), max_size=3, unique=True)
    )
    min_load = max_load = None
    if bounds and draw(st.booleans()):
        average = len(teams) * k / len(judges)
        min_load = draw(st.integers(0, math.floor(average) + 1))
        max_load = max(1, min_load, math.ceil(average) + draw(st.integers(-1, 3)))
    return {
        "tracks": tracks,
        "teams": teams,
        "judges": judges,
        "declared": declared,
        "k": k,
        "min_load": min_load,
        "max_load": max_load,
        "seed": draw(st.integers(1, 5)),
    }


def institution(place: int):
    code = INSTITUTIONS[place]
    if code in CHONGQING:
        return factories.institution(code, side="chongqing", city_zh="重庆", city_en="Chongqing")
    return factories.institution(code)


def build_round(spec: dict):
    """The round described by `spec`, as rows (flushed, never committed: the caller rolls back)."""
    contest = factories.competition()
    tracks = [factories.track(contest, ("idea", "startup")[index], position=index) for index in range(spec["tracks"])]
    round_ = factories.round_(contest, level="alliance", entry_rule="all_approved", judges_per_submission=spec["k"])
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    submissions = []
    for track, place, tag in spec["teams"]:
        team = factories.team(contest, state="approved", members=0, track_row=tracks[track],
                              institution_row=institution(place))  # fmt: skip
        submission = Submission(round=round_, team=team, state="submitted", abstract="摘要", industry=tag)
        db.session.add(submission)
        submissions.append(submission)
    judges = []
    for place, kind, track, tags in spec["judges"]:
        employer = institution(place)
        person = factories.user(institution=employer)
        db.session.add(Expert(user_id=person.id, institution_id=employer.id, side=employer.side, kind=kind,
                              expertise=sorted(tags), employer=employer.name_zh))  # fmt: skip
        db.session.add(RoundJudge(round_id=round_.id, user_id=person.id,
                                  track_ids=[] if track is None else [tracks[track].id]))  # fmt: skip
        judges.append(person)
    db.session.flush()
    conflicts.refresh_automatic_conflicts(contest, actor=organizer)
    for judge, team in spec["declared"]:
        conflicts.declare(contest, judge=judges[judge], team=submissions[team].team, actor=organizer,
                          reason="亲属关系", by_organizer=True)  # fmt: skip
    db.session.flush()
    return contest, round_, submissions, judges, organizer


def allowed_pairs(contest, round_, submissions, judges) -> np.ndarray:
    """(n, m): the judge covers the track and no conflict is in force — read straight from the rows."""
    in_force = set(
        db.session.execute(
            select(Conflict.judge_id, Conflict.team_id).where(
                Conflict.competition_id == contest.id, Conflict.dismissed_at.is_(None)
            )
        ).all()
    )
    memberships = {
        row.user_id: row for row in db.session.scalars(select(RoundJudge).where(RoundJudge.round_id == round_.id))
    }
    allowed = np.zeros((len(submissions), len(judges)), dtype=bool)
    for i, submission in enumerate(submissions):
        for j, judge in enumerate(judges):
            tracks = memberships[judge.id].track_ids
            allowed[i, j] = (not tracks or submission.team.track_id in tracks) and (
                judge.id,
                submission.team_id,
            ) not in in_force
    return allowed


def as_problem(allowed: np.ndarray, k: int, low, high, keep=None) -> Problem:
    n, m = allowed.shape
    pair_s, pair_j = np.nonzero(allowed)
    return Problem(
        need=np.full(n, k, dtype=np.int64),
        load_min=np.broadcast_to(np.asarray(low, dtype=np.int64), (m,)).copy(),
        load_max=np.broadcast_to(np.asarray(high, dtype=np.int64), (m,)).copy(),
        judge_side=np.zeros(m, dtype=np.int64),
        judge_industry=np.zeros(m, dtype=bool),
        pair_submission=pair_s,
        pair_judge=pair_j,
        pair_cost=np.zeros(pair_s.size, dtype=np.int64),
        pair_keep=None if keep is None else keep[pair_s, pair_j],
        keep_bonus=0 if keep is None else 1,
    )


def settings_for(spec: dict, **changes) -> assignment.Settings:
    values = {"judges_per_submission": spec["k"], "min_load": spec["min_load"], "max_load": spec["max_load"],
              "seed": spec["seed"]}  # fmt: skip
    return assignment.Settings(**(values | changes))


def pairs_of(run) -> set[tuple[int, int]]:
    return {(submission_id, judge_id) for submission_id, judge_id in run.pairs}


@pytest.mark.usefixtures("english")
@SERVICES
@given(spec=rounds())
def test_proposals_on_random_rounds_keep_the_rules(app, spec):
    try:
        contest, round_, submissions, judges, organizer = build_round(spec)
        allowed = allowed_pairs(contest, round_, submissions, judges)
        n, m, k = len(submissions), len(judges), spec["k"]
        try:
            run = assignment.propose(round_, actor=organizer, settings=settings_for(spec))
        except DomainError as error:
            event("infeasible round")
            message = str(error.message)
            if spec["min_load"] is None:  # balance is widened up to "anything": only a panel can fail
                short = [i for i in range(n) if allowed[i].sum() < k]
                assert short, message
                assert f"“{submissions[short[0]].team.name}”" in message and f"it needs {k}" in message
            else:
                assert not feasible(as_problem(allowed, k, spec["min_load"], spec["max_load"]))
                assert any(
                    phrase in message
                    for phrase in ("possible judge(s)", "judge places", "at most", "smallest loads", "No assignment")
                )
            return
        event("proposed")
        index = {submission.id: i for i, submission in enumerate(submissions)}
        column = {judge.id: j for j, judge in enumerate(judges)}
        chosen = np.zeros((n, m), dtype=bool)
        for submission_id, judge_id in run.pairs:
            chosen[index[submission_id], column[judge_id]] = True
        assert len(run.pairs) == chosen.sum(), "a pair was proposed twice"
        assert not (chosen & ~allowed).any(), "a conflicted or ineligible pair was proposed"
        assert (chosen.sum(axis=1) == k).all()
        loads = chosen.sum(axis=0)
        if spec["min_load"] is not None:
            assert spec["min_load"] <= loads.min() and loads.max() <= spec["max_load"]
        else:
            low, high = math.floor(n * k / m), math.ceil(n * k / m)
            if feasible(as_problem(allowed, k, low, high)):
                assert low <= loads.min() and loads.max() <= high, "balanced loads were possible"
            assert (
                run.statistics["load_min_allowed"] <= loads.min() and loads.max() <= run.statistics["load_max_allowed"]
            )
        again = assignment.propose(round_, actor=organizer, settings=settings_for(spec))
        assert again.pairs == run.pairs, "the same seed gave other pairs"
        assignment.apply(run, actor=organizer)
        stored = {
            (a.submission_id, a.judge_id)
            for a in db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id))
        }
        assert stored == pairs_of(run)
    finally:
        db.session.rollback()


@st.composite
def repairs(draw) -> tuple[dict, str, int]:
    spec = draw(rounds(bounds=False, spare=2))
    change = draw(st.sampled_from(["drop judge", "late submission", "protect and reseed", "declare"]))
    return spec, change, draw(st.integers(0, 10))


@pytest.mark.usefixtures("english")
@settings(SERVICES, max_examples=40)
@given(case=repairs())
def test_repairs_keep_as_many_assignments_as_the_rules_allow(app, case):
    """After a change, the new proposal keeps the protected assignments and as many of the others as
    any assignment within the same load bounds could keep (the maximum computed by CP-SAT)."""
    spec, change, pick = case
    try:
        contest, round_, submissions, judges, organizer = build_round(spec)
        try:
            first = assignment.propose(round_, actor=organizer, settings=settings_for(spec))
        except DomainError:
            event("infeasible round")
            return
        assignment.apply(first, actor=organizer)
        rows = list(
            db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id).order_by(Assignment.id))
        )
        protected = set()
        if change == "drop judge":
            dropped = judges.pop(pick % len(judges))
            db.session.delete(
                db.session.scalar(
                    select(RoundJudge).where(RoundJudge.round_id == round_.id, RoundJudge.user_id == dropped.id)
                )
            )
        elif change == "late submission":
            first_team = submissions[0].team
            team = factories.team(contest, state="approved", members=0, track_row=first_team.track,
                                  institution_row=institution(pick % len(INSTITUTIONS)))  # fmt: skip
            late = Submission(round=round_, team=team, state="submitted", abstract="迟交", industry="ai")
            db.session.add(late)
            submissions.append(late)
            conflicts.refresh_automatic_conflicts(contest, actor=organizer)
        elif change == "protect and reseed":
            for row in rows[pick % 3 :: 3]:
                row.protected = True
                protected.add((row.submission_id, row.judge_id))
        else:
            row = rows[pick % len(rows)]
            team = db.session.get(Submission, row.submission_id).team
            conflicts.declare(contest, judge=db.session.get(User, row.judge_id), team=team,
                              actor=organizer, reason="合作关系", by_organizer=True)  # fmt: skip
        db.session.flush()
        existing = {
            (a.submission_id, a.judge_id)
            for a in db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id))
        }
        settings = settings_for(spec, seed=spec["seed"] + (1 if change == "protect and reseed" else 0))
        try:
            second = assignment.propose(round_, actor=organizer, settings=settings)
        except DomainError:
            event(f"{change}: infeasible")
            assert change != "protect and reseed"
            return
        event(f"{change}: repaired")
        pairs = pairs_of(second)
        assert protected <= pairs, "a protected assignment was dropped"
        # the most any assignment within the same bounds could keep
        allowed = allowed_pairs(contest, round_, submissions, judges)
        index = {submission.id: i for i, submission in enumerate(submissions)}
        column = {judge.id: j for j, judge in enumerate(judges)}
        keep = np.zeros_like(allowed)
        fixed = np.zeros_like(allowed)
        for submission_id, judge_id in existing:
            if submission_id in index and judge_id in column:
                keep[index[submission_id], column[judge_id]] = True
        for submission_id, judge_id in protected:
            fixed[index[submission_id], column[judge_id]] = True
        allowed |= fixed
        low = second.statistics["load_min_allowed"]
        high = second.statistics["load_max_allowed"]
        most = most_kept(allowed, fixed, keep, spec["k"], low, high)
        assert second.statistics["kept"] == most
        assert len(pairs & existing) == most
    finally:
        db.session.rollback()


def most_kept(allowed, fixed, keep, k, low, high) -> int:
    """The largest number of `keep` pairs an assignment within the bounds can contain (CP-SAT);
    `fixed` pairs are in every assignment."""
    from ortools.sat.python import cp_model

    n, m = allowed.shape
    model = cp_model.CpModel()
    x = {(i, j): model.new_bool_var(f"x{i}_{j}") for i in range(n) for j in range(m) if allowed[i, j]}
    for (i, j), var in x.items():
        if fixed[i, j]:
            model.add(var == 1)
    for i in range(n):
        model.add(sum(var for (a, _), var in x.items() if a == i) == max(k, int(fixed[i].sum())))
    for j in range(m):
        load = sum(var for (_, b), var in x.items() if b == j)
        model.add(load >= max(low, int(fixed[:, j].sum())))
        model.add(load <= max(high, int(fixed[:, j].sum())))
    model.maximize(sum(var for (i, j), var in x.items() if keep[i, j]))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    assert status == cp_model.OPTIMAL, solver.status_name(status)
    return round(solver.objective_value)


# --- independent checks (no flow encoding) ------------------------------------------------------


def _keep(problem: Problem) -> np.ndarray:
    if problem.pair_keep is None or not problem.keep_bonus:
        return np.zeros(problem.pair_submission.size, dtype=bool)
    return np.asarray(problem.pair_keep, dtype=bool)


def _covered(flags, n: int) -> np.ndarray:
    return np.zeros((n, SIDES), dtype=bool) if flags is None else np.asarray(flags, dtype=bool)


def objective(problem: Problem, pair_index) -> int:
    """The objective of choosing the pairs `pair_index` (indices into the problem's pair arrays)."""
    chosen = list(pair_index)
    side_covered = _covered(problem.side_covered, problem.n).copy()
    industry_covered = _covered(problem.industry_covered, problem.n).copy()
    keep = _keep(problem)
    total = 0
    earned_side: set[tuple[int, int]] = set()
    earned_industry: set[tuple[int, int]] = set()
    for index in chosen:
        s, j = int(problem.pair_submission[index]), int(problem.pair_judge[index])
        total += int(problem.pair_cost[index])
        if keep[index]:
            total -= int(problem.keep_bonus)
        side = int(problem.judge_side[j])
        if not side_covered[s, side]:
            earned_side.add((s, side))
        if problem.judge_industry[j] and not industry_covered[s, side]:
            earned_industry.add((s, side))
    return total - int(problem.side_bonus) * len(earned_side) - int(problem.industry_bonus) * len(earned_industry)


def violations(problem: Problem, pair_index) -> list[str]:
    """What is wrong with an assignment (empty when every hard rule holds)."""
    chosen = np.asarray(pair_index, dtype=np.int64)
    problems = []
    if len(set(chosen.tolist())) != chosen.size:
        problems.append("a pair is chosen twice")
    if chosen.size and (chosen.min() < 0 or chosen.max() >= problem.pair_submission.size):
        return [*problems, "an index outside the allowed pairs"]
    keys = list(zip(problem.pair_submission[chosen].tolist(), problem.pair_judge[chosen].tolist(), strict=True))
    if len(set(keys)) != len(keys):
        problems.append("a judge sits twice on a panel")
    per_submission = np.bincount(problem.pair_submission[chosen], minlength=problem.n)
    if not np.array_equal(per_submission, problem.need):
        problems.append(f"panel sizes {per_submission.tolist()} instead of {np.asarray(problem.need).tolist()}")
    loads = np.bincount(problem.pair_judge[chosen], minlength=problem.m)
    if np.any(loads < problem.load_min) or np.any(loads > problem.load_max):
        problems.append(f"loads {loads.tolist()} outside {problem.load_min.tolist()}..{problem.load_max.tolist()}")
    return problems


# --- feasibility: Edmonds–Karp with lower bounds ------------------------------------------------


class _Network:
    def __init__(self, size: int):
        self.size = size
        self.adjacent: list[list[int]] = [[] for _ in range(size)]
        self.head: list[int] = []
        self.residual: list[int] = []

    def add(self, tail: int, head: int, capacity: int) -> None:
        self.adjacent[tail].append(len(self.head))
        self.head.append(head)
        self.residual.append(capacity)
        self.adjacent[head].append(len(self.head))
        self.head.append(tail)
        self.residual.append(0)

    def max_flow(self, source: int, sink: int) -> int:
        total = 0
        while True:
            parent_arc = [-1] * self.size
            parent_arc[source] = -2
            queue = deque([source])
            while queue and parent_arc[sink] == -1:
                node = queue.popleft()
                for arc in self.adjacent[node]:
                    if self.residual[arc] > 0 and parent_arc[self.head[arc]] == -1:
                        parent_arc[self.head[arc]] = arc
                        queue.append(self.head[arc])
            if parent_arc[sink] == -1:
                return total
            path, node = [], sink
            while node != source:
                arc = parent_arc[node]
                path.append(arc)
                node = self.head[arc ^ 1]
            pushed = min(self.residual[arc] for arc in path)
            for arc in path:
                self.residual[arc] -= pushed
                self.residual[arc ^ 1] += pushed
            total += pushed


def feasible(problem: Problem) -> bool:
    """Is there any assignment with exactly need[s] distinct allowed judges per submission and every
    judge's load within [load_min, load_max]? A circulation with lower bounds: source → submission
    [need, need], submission → judge [0, 1] per allowed pair, judge → sink [min, max], sink → source."""
    n, m = problem.n, problem.m
    need = [int(value) for value in problem.need]
    low = [int(value) for value in problem.load_min]
    high = [int(value) for value in problem.load_max]
    if any(a > b for a, b in zip(low, high, strict=True)) or any(value < 0 for value in need):
        return False
    total = sum(need)
    source, sink, super_source, super_sink = n + m, n + m + 1, n + m + 2, n + m + 3
    network = _Network(n + m + 4)
    excess = [0] * (n + m + 2)
    for s in range(n):  # lower = upper = need: only the forced part remains
        excess[s] += need[s]
        excess[source] -= need[s]
    for s, j in {(int(a), int(b)) for a, b in zip(problem.pair_submission, problem.pair_judge, strict=True)}:
        network.add(s, n + j, 1)
    for j in range(m):
        network.add(n + j, sink, high[j] - low[j])
        excess[sink] += low[j]
        excess[n + j] -= low[j]
    network.add(sink, source, total)  # the circulation's return arc, at most the total
    wanted = 0
    for node, value in enumerate(excess):
        if value > 0:
            network.add(super_source, node, value)
            wanted += value
        elif value < 0:
            network.add(node, super_sink, -value)
    return network.max_flow(super_source, super_sink) == wanted


# --- optimum: CP-SAT with explicit coverage variables -------------------------------------------


def cp_sat_optimum(problem: Problem) -> int | None:
    """The least objective over all assignments, or None when there is none."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    pairs = problem.pair_submission.size
    x = [model.new_bool_var(f"x{e}") for e in range(pairs)]
    keep = _keep(problem)
    side_covered = _covered(problem.side_covered, problem.n)
    industry_covered = _covered(problem.industry_covered, problem.n)
    terms = []
    for e in range(pairs):
        terms.append((int(problem.pair_cost[e]) - (int(problem.keep_bonus) if keep[e] else 0)) * x[e])
    for s in range(problem.n):
        model.add(sum(x[e] for e in range(pairs) if problem.pair_submission[e] == s) == int(problem.need[s]))
    for j in range(problem.m):
        load = sum(x[e] for e in range(pairs) if problem.pair_judge[e] == j)
        model.add(load >= int(problem.load_min[j]))
        model.add(load <= int(problem.load_max[j]))
    for s in range(problem.n):
        for side in range(SIDES):
            of_side = [
                e
                for e in range(pairs)
                if problem.pair_submission[e] == s and problem.judge_side[problem.pair_judge[e]] == side
            ]
            industry = [e for e in of_side if problem.judge_industry[problem.pair_judge[e]]]
            if not side_covered[s, side] and problem.side_bonus:
                has_side = model.new_bool_var(f"side{s}_{side}")
                model.add(has_side <= sum(x[e] for e in of_side))
                terms.append(-int(problem.side_bonus) * has_side)
            if not industry_covered[s, side] and problem.industry_bonus:
                has_industry = model.new_bool_var(f"industry{s}_{side}")
                model.add(has_industry <= sum(x[e] for e in industry))
                terms.append(-int(problem.industry_bonus) * has_industry)
    model.minimize(sum(terms))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return None
    assert status == cp_model.OPTIMAL, solver.status_name(status)
    return round(solver.objective_value)


# --- optimum: brute force -----------------------------------------------------------------------


def brute_force_optimum(problem: Problem, limit: int = 20_000) -> int | None | str:
    """The least objective by enumerating every assignment; "too big" above `limit` candidates."""
    options = []
    count = 1
    for s in range(problem.n):
        mine = [e for e in range(problem.pair_submission.size) if problem.pair_submission[e] == s]
        combos = list(itertools.combinations(mine, int(problem.need[s])))
        count *= max(len(combos), 1)
        if count > limit:
            return "too big"
        options.append(combos)
    best = None
    for choice in itertools.product(*options):
        chosen = [e for combo in choice for e in combo]
        if violations(problem, chosen):
            continue
        value = objective(problem, chosen)
        best = value if best is None else min(best, value)
    return best
