"""How fast and how good the judge assignment is on a synthetic alliance-sized round.

    .venv/bin/python benchmarks/assignment.py --projects 5000 --judges 500 --per-project 5
    .venv/bin/python benchmarks/assignment.py --projects 10000 --judges 1000 --per-project 5 [--optimum lp]

The pool is synthetic and seeded (--seed): submissions spread over --tracks tracks and the 28
alliance institutions of competition/data/institutions.csv (so over both sides), each with an
industry tag; judges with an institution (and so a side), a kind (about a quarter investors or
entrepreneurs), two eligible tracks and some expertise (track codes, industry tags). Conflicts of
interest: the judge's institution is the team's, plus a few random declared ones.

The instance arrays are built as competition.judging.assignment.build_instance builds them from
rows (eligible track and no conflict; cost = UNIT × weight_expertise × mismatch / 2 + a seeded
jitter of 0..weight_spread), with the default weights of assignment.Settings and balanced loads
(every judge between floor and ceil of the average). Then, in the same run:

* the app: assignment.compute on those arrays — it builds the solver.Problem and calls
  solver.solve, exactly as proposing does; this is what `seconds` measures;
* a greedy baseline: submissions in order, each takes judges one by one, the one with the smallest
  marginal cost (pair cost minus the side / industry bonus it would still earn) among those with
  spare capacity (a judge over capacity only when no one else is left: the greedy line says how
  often its loads break the bounds);
* an independent optimum, by a formulation written here from scratch:
  - `lp`: the linear program with explicit coverage variables (y ≤ 1, y ≤ Σ judges of a side on
    the panel; likewise for industry judges), solved by HiGHS (scipy.optimize.linprog, a dev
    requirement). A relaxation bounds every assignment from below, so the app's objective equal
    to it proves the app optimal; and the bound is tight here (for fixed x the best y is
    min(1, Σ x), which makes it the flow's LP, a network matrix with an integral optimum).
    10000 × 1000 × 5 (4.8 M pairs) takes about 3 minutes and 6.6 GB;
  - `flow`: a min-cost flow built the other way round from the app's (judges supply, submissions
    demand, a group node for every side × kind, other node numbering), solved by OR-Tools — an
    independent construction of the same model, for sizes where the LP is too slow.
  `auto` (the default) takes `lp` up to LP_MAX_PAIRS allowed pairs and `flow` above.

Every objective (app, greedy, optimum) is evaluated by one function, `objective`, from the chosen
pairs, as in the solver's docstring: Σ pair costs − per panel and side (side bonus if the panel has a
judge of that side + industry bonus if it has an investor/entrepreneur of that side).

The last line is
`assignment projects=P judges=J per_project=K seconds=S objective=O optimum=O* greedy=G optimal=true|false`.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from competition.judging import assignment  # noqa: E402

#: industry tags a submission carries one of and a judge knows a few of
INDUSTRIES = 10
#: declared conflicts per submission, on average (on top of the same-institution ones)
DECLARED_PER_SUBMISSION = 0.05
INDUSTRY_SHARE = 0.25
#: largest number of allowed pairs for which `auto` solves the LP (HiGHS) rather than a flow
LP_MAX_PAIRS = 2_000_000


@dataclass
class Pool:
    submission_track: np.ndarray  # (n,)
    submission_institution: np.ndarray  # (n,)
    submission_tag: np.ndarray  # (n,)
    judge_institution: np.ndarray  # (m,)
    judge_side: np.ndarray  # (m,) 0 sichuan, 1 chongqing
    judge_industry: np.ndarray  # (m,) bool
    judge_tracks: np.ndarray  # (m, tracks) bool: eligible
    judge_knows_track: np.ndarray  # (m, tracks) bool: expertise
    judge_knows_tag: np.ndarray  # (m, INDUSTRIES) bool
    declared: tuple[np.ndarray, np.ndarray]  # (submission, judge) of declared conflicts


def institutions() -> tuple[list[str], np.ndarray]:
    with open(PROJECT / "competition" / "data" / "institutions.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["code"] for row in rows], np.array([0 if row["side"] == "sichuan" else 1 for row in rows])


def synthetic_pool(projects: int, judges: int, tracks: int, seed: int) -> Pool:
    rng = np.random.default_rng(seed)
    codes, side_of = institutions()
    eligible = np.zeros((judges, tracks), dtype=bool)
    two = np.argsort(rng.random((judges, tracks)), axis=1)[:, : min(2, tracks)]
    np.put_along_axis(eligible, two, True, axis=1)
    judge_institution = rng.integers(0, len(codes), judges)
    declared_count = int(projects * DECLARED_PER_SUBMISSION)
    return Pool(
        submission_track=rng.integers(0, tracks, projects),
        submission_institution=rng.integers(0, len(codes), projects),
        submission_tag=rng.integers(0, INDUSTRIES, projects),
        judge_institution=judge_institution,
        judge_side=side_of[judge_institution],
        judge_industry=rng.random(judges) < INDUSTRY_SHARE,
        judge_tracks=eligible,
        judge_knows_track=eligible & (rng.random((judges, tracks)) < 0.7),
        judge_knows_tag=rng.random((judges, INDUSTRIES)) < 0.25,
        declared=(rng.integers(0, projects, declared_count), rng.integers(0, judges, declared_count)),
    )


def instance_arrays(pool: Pool, settings: assignment.Settings) -> tuple[np.ndarray, np.ndarray]:
    """allowed (n, m) and cost (n, m), as build_instance computes them from rows."""
    allowed = pool.judge_tracks.T[pool.submission_track]
    allowed &= pool.submission_institution[:, None] != pool.judge_institution[None, :]
    allowed[pool.declared] = False
    match = pool.judge_knows_track.T[pool.submission_track].astype(np.int64)
    match += pool.judge_knows_tag.T[pool.submission_tag]
    rng = np.random.default_rng(settings.seed)
    n, m = allowed.shape
    jitter = rng.integers(0, settings.weight_spread + 1, size=(n, m)) if settings.weight_spread else 0
    cost = assignment.UNIT * settings.weight_expertise * (2 - np.minimum(match, 2)) // 2 + jitter
    return allowed, np.asarray(cost, dtype=np.int64)


def bonuses(settings: assignment.Settings) -> tuple[int, int]:
    return assignment.UNIT * settings.weight_side, assignment.UNIT * settings.weight_industry


def objective(chosen: np.ndarray, cost: np.ndarray, judge_side, judge_industry, settings) -> int:
    """The objective of any assignment (an (n, m) boolean matrix), as the solver defines it."""
    side_bonus, industry_bonus = bonuses(settings)
    sides = np.eye(2, dtype=np.int64)[judge_side]  # (m, 2)
    per_side = chosen.astype(np.int64) @ sides  # (n, 2): judges of each side on each panel
    per_industry = chosen.astype(np.int64) @ (sides * judge_industry[:, None])
    return (
        int(cost[chosen].sum())
        - side_bonus * int((per_side > 0).sum())
        - industry_bonus * int((per_industry > 0).sum())
    )


def balanced_bounds(n: int, m: int, k: int) -> tuple[int, int]:
    average = n * k / m
    return math.floor(average), math.ceil(average)


# --- the app ------------------------------------------------------------------------------------


def app_solve(allowed, cost, pool: Pool, settings) -> tuple[np.ndarray, dict, float]:
    """assignment.compute on the arrays (builds the solver.Problem, solves): timed."""
    n, m = allowed.shape
    instance = assignment.Instance(
        submissions=[None] * n,
        judges=[SimpleNamespace(min_load=None, max_load=None) for _ in range(m)],
        profiles={},
        allowed=allowed,
        cost=cost,
        existing=np.zeros((n, m), dtype=bool),
        protected=np.zeros((n, m), dtype=bool),
        judge_side=pool.judge_side,
        judge_industry=pool.judge_industry,
    )
    start = time.perf_counter()
    chosen, solved = assignment.compute(instance, settings)
    return chosen, solved, time.perf_counter() - start


# --- the greedy baseline ------------------------------------------------------------------------


def greedy(allowed, cost, pool: Pool, settings, low: int, high: int) -> tuple[np.ndarray, int, int]:
    """Submissions in order; each takes, one at a time, the judge of least marginal cost among
    those allowed with spare capacity (over capacity only when nobody else is left). Returns the
    pairs, how many places went over a judge's maximum and how many judges stay under their minimum."""
    n, m = allowed.shape
    k = settings.judges_per_submission
    side_bonus, industry_bonus = bonuses(settings)
    side, industry = pool.judge_side, pool.judge_industry
    load = np.zeros(m, dtype=np.int64)
    chosen = np.zeros((n, m), dtype=bool)
    over = 0
    for s in range(n):
        side_open = np.ones(2, dtype=bool)
        industry_open = np.ones(2, dtype=bool)
        free = allowed[s].copy()
        base = cost[s].astype(np.float64)
        for _ in range(k):
            marginal = base - side_bonus * side_open[side] - industry_bonus * (industry & industry_open[side])
            pool_ = free & (load < high)
            if not pool_.any():
                pool_ = free
                if not pool_.any():
                    break
                over += 1
            j = int(np.argmin(np.where(pool_, marginal, np.inf)))
            chosen[s, j] = True
            free[j] = False
            load[j] += 1
            side_open[side[j]] = False
            if industry[j]:
                industry_open[side[j]] = False
    return chosen, over, int((load < low).sum())


# --- independent optima -------------------------------------------------------------------------


def lp_optimum(allowed, cost, pool: Pool, settings, low: int, high: int) -> int:
    """The LP with explicit coverage variables, by HiGHS."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_array, csr_array

    n, m = allowed.shape
    k = settings.judges_per_submission
    side_bonus, industry_bonus = bonuses(settings)
    ps, pj = np.nonzero(allowed)
    pairs = ps.size
    x = np.arange(pairs)
    y = pairs + np.arange(2 * n)  # y[2s + side]
    z = pairs + 2 * n + np.arange(2 * n)  # z[2s + side]
    columns = pairs + 4 * n
    c = np.concatenate([cost[ps, pj], np.full(2 * n, -side_bonus), np.full(2 * n, -industry_bonus)])
    a_eq = csr_array((np.ones(pairs), (ps, x)), shape=(n, columns))
    b_eq = np.full(n, k)
    group = 2 * ps + pool.judge_side[pj]
    is_industry = pool.judge_industry[pj]
    rows = np.concatenate([pj, m + pj, 2 * m + group, 2 * m + np.arange(2 * n),
                           2 * m + 2 * n + group[is_industry], 2 * m + 2 * n + np.arange(2 * n)])  # fmt: skip
    cols = np.concatenate([x, x, x, y, x[is_industry], z])
    values = np.concatenate([np.ones(pairs), -np.ones(pairs), -np.ones(pairs), np.ones(2 * n),
                             -np.ones(int(is_industry.sum())), np.ones(2 * n)])  # fmt: skip
    a_ub = coo_array((values, (rows, cols)), shape=(2 * m + 4 * n, columns)).tocsr()
    b_ub = np.concatenate([np.full(m, high), np.full(m, -low), np.zeros(4 * n)])
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, 1), method="highs")
    if result.status != 0:
        raise SystemExit(f"LP: {result.message}")
    return round(result.fun)


def flow_optimum(allowed, cost, pool: Pool, settings, low: int, high: int) -> tuple[int, np.ndarray]:
    """A min-cost flow built the other way round from the app's: judges supply (their minimum, and
    up to their maximum from a source), submissions demand k; a judge reaches a panel through one of
    four groups (side × investor/entrepreneur or not), then the panel's side node; submissions are
    numbered first. Solved by OR-Tools."""
    from ortools.graph.python import min_cost_flow

    n, m = allowed.shape
    k = settings.judges_per_submission
    side_bonus, industry_bonus = bonuses(settings)
    submission = np.arange(n)
    side_node = n + np.arange(2 * n).reshape(n, 2)
    group_node = 3 * n + np.arange(4 * n).reshape(n, 2, 2)  # (submission, side, industry)
    judge_node = 7 * n + np.arange(m)
    source = 7 * n + m
    ps, pj = np.nonzero(allowed)
    group = group_node[ps, pool.judge_side[pj], pool.judge_industry[pj].astype(np.int64)]
    to_submission = np.repeat(submission, 2)
    tail = [judge_node[pj], group_node[:, :, 1].ravel(), group_node[:, :, 1].ravel(), group_node[:, :, 0].ravel(),
            side_node.ravel(), side_node.ravel(), np.full(m, source)]  # fmt: skip
    head = [group, side_node.ravel(), side_node.ravel(), side_node.ravel(), to_submission, to_submission, judge_node]
    capacity = [np.ones(ps.size), np.ones(2 * n), np.full(2 * n, k), np.full(2 * n, k), np.ones(2 * n),
                np.full(2 * n, k), np.full(m, high - low)]  # fmt: skip
    unit_cost = [cost[ps, pj], np.full(2 * n, -industry_bonus), np.zeros(2 * n), np.zeros(2 * n),
                 np.full(2 * n, -side_bonus), np.zeros(2 * n), np.zeros(m)]  # fmt: skip
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        *(np.concatenate(part).astype(np.int64) for part in (tail, head, capacity, unit_cost))
    )
    supplies = np.zeros(7 * n + m + 1, dtype=np.int64)
    supplies[submission] = -k
    supplies[judge_node] = low
    supplies[source] = n * k - m * low
    flow.set_nodes_supplies(np.arange(supplies.size), supplies)
    if flow.solve() != flow.OPTIMAL:
        raise SystemExit("flow: no optimum")
    chosen = np.zeros((n, m), dtype=bool)
    used = flow.flows(arcs[: ps.size]) > 0
    chosen[ps[used], pj[used]] = True
    return int(flow.optimal_cost()), chosen


# --- the run ------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--judges", type=int, default=500)
    parser.add_argument("--per-project", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--optimum", choices=("auto", "lp", "flow"), default="auto")
    args = parser.parse_args(argv)
    n, m, k = args.projects, args.judges, args.per_project
    settings = assignment.Settings(judges_per_submission=k, seed=args.seed)
    low, high = balanced_bounds(n, m, k)

    started = time.perf_counter()
    pool = synthetic_pool(n, m, args.tracks, args.seed)
    allowed, cost = instance_arrays(pool, settings)
    pairs = int(allowed.sum())
    conflicts = int((pool.submission_institution[:, None] == pool.judge_institution[None, :]).sum())
    print(f"pool: {n} submissions over {args.tracks} tracks and 28 institutions, {m} judges "
          f"({int(pool.judge_industry.sum())} investors/entrepreneurs, {int((pool.judge_side == 0).sum())} sichuan / "
          f"{int((pool.judge_side == 1).sum())} chongqing), {conflicts} same-institution and "
          f"{pool.declared[0].size} declared conflicts, {pairs} allowed pairs, loads {low}..{high} "
          f"(built in {time.perf_counter() - started:.2f} s)")  # fmt: skip
    side_bonus, industry_bonus = bonuses(settings)
    print(f"weights: expertise {settings.weight_expertise}, side {settings.weight_side} (bonus {side_bonus}), "
          f"industry {settings.weight_industry} (bonus {industry_bonus}), spread {settings.weight_spread}")  # fmt: skip

    short = int((allowed.sum(axis=1) < k).sum())
    if short:
        raise SystemExit(f"{short} submissions have fewer than {k} possible judges: no assignment exists")
    chosen, solved, seconds = app_solve(allowed, cost, pool, settings)
    if (solved["load_min_allowed"], solved["load_max_allowed"]) != (low, high):
        low, high = solved["load_min_allowed"], solved["load_max_allowed"]
        print(f"balanced loads were impossible: the app widened them to {low}..{high} (used below too)")
    app_objective = objective(chosen, cost, pool.judge_side, pool.judge_industry, settings)
    loads = chosen.sum(axis=0)
    panel = chosen.sum(axis=1)
    valid = bool((panel == k).all() and (chosen <= allowed).all() and loads.min() >= low and loads.max() <= high)
    print(f"app: assignment.compute (Problem + solver.solve) {seconds:.2f} s, objective {app_objective} "
          f"(solver reports {solved['objective']}), loads {loads.min()}..{loads.max()}, "
          f"hard rules {'met' if valid else 'BROKEN'}")  # fmt: skip

    started = time.perf_counter()
    greedy_chosen, over, under = greedy(allowed, cost, pool, settings, low, high)
    greedy_objective = objective(greedy_chosen, cost, pool.judge_side, pool.judge_industry, settings)
    print(f"greedy: {time.perf_counter() - started:.2f} s, objective {greedy_objective}, "
          f"{over} places over a judge's maximum, {under} judges under their minimum")  # fmt: skip

    method = args.optimum if args.optimum != "auto" else ("lp" if pairs <= LP_MAX_PAIRS else "flow")
    started = time.perf_counter()
    if method == "lp":
        optimum = lp_optimum(allowed, cost, pool, settings, low, high)
        detail = "LP with coverage variables, HiGHS"
    else:
        optimum, flow_chosen = flow_optimum(allowed, cost, pool, settings, low, high)
        check = objective(flow_chosen, cost, pool.judge_side, pool.judge_industry, settings)
        detail = f"min-cost flow built judges-first, OR-Tools; its pairs evaluate to {check}"
    print(f"optimum: {method} ({detail}) {time.perf_counter() - started:.2f} s, objective {optimum}")

    optimal = valid and app_objective == optimum == solved["objective"]
    print(f"greedy is {greedy_objective - optimum} above the optimum")
    print(f"assignment projects={n} judges={m} per_project={k} seconds={seconds:.2f} objective={app_objective} "
          f"optimum={optimum} greedy={greedy_objective} optimal={'true' if optimal else 'false'}")  # fmt: skip
    return 0 if optimal else 1


if __name__ == "__main__":
    sys.exit(main())
