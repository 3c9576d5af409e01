"""The assignment solver: judges to submissions as a minimum-cost flow, solved exactly.

The problem: every submission gets exactly k judges; every judge takes between a minimum and a
maximum number of submissions; a judge is only ever placed on a submission the caller allowed
(eligible for its track, no conflict of interest). Among all such assignments the solver finds one
of least cost, where the cost of an assignment is

    Σ over assigned pairs   pair_cost[s, j]            (expertise mismatch, small seeded jitter)
  − Σ over pairs kept       keep_bonus                  (repair: keep what exists where possible)
  − Σ over panels, per side of the alliance
                            side_bonus   if the panel has ≥ 1 judge from that side
                          + industry_bonus if it has ≥ 1 investor/entrepreneur from that side

The panel terms are concave in the number of judges, and the groups they count (judges of one
side; industry judges of one side) nest inside each other, so they are exact in a flow network:
submission → (submission, side) → [(submission, side, industry) →] judge → sink, where the first
unit through a group arc earns the bonus (an academic's pair arc leaves the side node directly; an
investor's or entrepreneur's leaves the industry node below it). The network is built from numpy
arrays (no Python loop over pairs) and solved by OR-Tools' min-cost flow, which returns a proven
optimum; the result is a pure function of the inputs (the caller's seed only enters through
pair_cost). Flowing from submissions to judges, with no node for academics' groups, solves the
alliance-sized rounds about 1.5 times faster than the mirror image.

"Spread of judge pairs" is not a flow quantity (it depends on pairs of judges); the caller spreads
panels by a seeded jitter in pair_cost, which breaks the many ties of equal-cost panels differently
for every submission, and reports the spread it achieved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

SIDES = 2  # 0: sichuan, 1: chongqing


@dataclass
class Problem:
    """All arrays are indexed by dense submission indices (0..n-1) and judge indices (0..m-1)."""

    need: np.ndarray  # int, per submission: judges still to assign
    load_min: np.ndarray  # int, per judge
    load_max: np.ndarray  # int, per judge
    judge_side: np.ndarray  # int 0/1, per judge
    judge_industry: np.ndarray  # bool, per judge
    pair_submission: np.ndarray  # int, per allowed pair
    pair_judge: np.ndarray  # int, per allowed pair
    pair_cost: np.ndarray  # int, per allowed pair (≥ 0)
    pair_keep: np.ndarray | None = None  # bool, per allowed pair: an existing assignment
    keep_bonus: int = 0
    side_bonus: int = 0
    industry_bonus: int = 0
    #: panels that already have a judge of a side / an industry judge of a side (kept assignments
    #: outside the problem): no bonus to earn there; shape (n, 2), bool
    side_covered: np.ndarray | None = None
    industry_covered: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.need)

    @property
    def m(self) -> int:
        return len(self.load_min)


@dataclass
class Solution:
    pair_index: np.ndarray  # indices into the problem's pair arrays that are assigned
    objective: int
    loads: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class Infeasible(Exception):
    """No assignment satisfies the hard rules (the caller explains why in the organizer's words)."""


def solve(problem: Problem) -> Solution:
    n, m = problem.n, problem.m
    need = problem.need.astype(np.int64)
    load_min = problem.load_min.astype(np.int64)
    load_max = problem.load_max.astype(np.int64)
    total = int(need.sum())
    if int(load_min.sum()) > total or int(load_max.sum()) < total or np.any(load_min > load_max):
        raise Infeasible("loads")
    if total == 0:
        return Solution(np.zeros(0, dtype=np.int64), 0, np.zeros(m, dtype=np.int64))

    # nodes: 0 the sink; 1..m judges; then per submission 5 nodes:
    #   +0 the submission, +1/+2 its side groups, +3/+4 its industry groups (one per side)
    sink = 0
    judge_node = 1 + np.arange(m, dtype=np.int64)
    base = 1 + m + 5 * np.arange(n, dtype=np.int64)
    submission_node = base
    side_node = base[:, None] + 1 + np.arange(SIDES)[None, :]  # (n, 2)
    industry_node = side_node + SIDES  # (n, 2)
    cap_k = int(need.max(initial=0))
    flow = min_cost_flow.SimpleMinCostFlow()

    def arcs(tail, head, capacity, cost) -> np.ndarray:
        """Add arcs (those of capacity 0 are left out); their ids, -1 for those left out."""
        tail = np.asarray(tail, dtype=np.int64).ravel()
        head = np.asarray(head, dtype=np.int64).ravel()
        capacity = np.broadcast_to(np.asarray(capacity, dtype=np.int64).ravel(), tail.shape)
        cost = np.broadcast_to(np.asarray(cost, dtype=np.int64).ravel(), tail.shape)
        ids = np.full(tail.size, -1, dtype=np.int64)
        keep = capacity > 0
        if keep.all():
            ids[:] = flow.add_arcs_with_capacity_and_unit_cost(tail, head, capacity, cost)
        elif keep.any():
            ids[keep] = flow.add_arcs_with_capacity_and_unit_cost(tail[keep], head[keep], capacity[keep], cost[keep])
        return ids

    # (submission, side) or, for an investor/entrepreneur, (submission, side, industry) → judge,
    # for every allowed pair (pairs of submissions that need nobody are left out)
    pair_s = problem.pair_submission.astype(np.int64)
    pair_j = problem.pair_judge.astype(np.int64)
    pair_cost = problem.pair_cost.astype(np.int64)
    if problem.pair_keep is not None and problem.keep_bonus:
        pair_cost = pair_cost - problem.keep_bonus * problem.pair_keep.astype(np.int64)
    side_of = problem.judge_side.astype(np.int64)[pair_j]
    industry_of = problem.judge_industry.astype(np.int64)[pair_j]
    group = base[pair_s] + 1 + side_of + SIDES * industry_of  # side_node or industry_node
    pair_arcs = arcs(group, judge_node[pair_j], (need > 0).astype(np.int64)[pair_s], pair_cost)

    side_covered = problem.side_covered if problem.side_covered is not None else np.zeros((n, SIDES), bool)
    industry_covered = problem.industry_covered if problem.industry_covered is not None else np.zeros((n, SIDES), bool)
    # submission → (submission, side): the first judge of a side earns the side bonus
    side_bonus = np.where(side_covered, 0, -problem.side_bonus)  # (n, 2)
    from_submission = np.repeat(submission_node[:, None], SIDES, axis=1)
    arcs(from_submission, side_node, 1, side_bonus)
    arcs(from_submission, side_node, cap_k, 0)
    # (submission, side) → (submission, side, industry): the first industry judge of a side earns
    industry_bonus = np.where(industry_covered, 0, -problem.industry_bonus)
    arcs(side_node, industry_node, 1, industry_bonus)
    arcs(side_node, industry_node, cap_k, 0)
    # judge → sink: the load above each judge's minimum (the minimum is the judge's own demand)
    arcs(judge_node, np.full(m, sink), load_max - load_min, 0)

    supplies = np.zeros(1 + m + 5 * n, dtype=np.int64)
    supplies[sink] = -(total - int(load_min.sum()))
    supplies[judge_node] = -load_min
    supplies[submission_node] = need
    flow.set_nodes_supplies(np.arange(supplies.size, dtype=np.int64), supplies)

    status = flow.solve()
    if status != flow.OPTIMAL:
        raise Infeasible("flow")
    assigned = np.zeros(pair_s.size, dtype=bool)
    usable = pair_arcs >= 0
    assigned[usable] = flow.flows(pair_arcs[usable]) > 0
    chosen = np.flatnonzero(assigned)
    loads = np.bincount(pair_j[chosen], minlength=m)
    return Solution(chosen, int(flow.optimal_cost()), loads)
