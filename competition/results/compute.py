"""The arithmetic of results, free of the database: aggregation, flags, ranking, awards, advancement.

Every function takes plain numbers and returns plain numbers, so each rule can be checked against
numbers worked out by hand (tests/results/test_compute.py) and every published rank can be
recomputed from the exported scores.

Aggregation methods (one per round, chosen by the organizer):
- ``mean``: the mean of the judges' totals (weights are implied by the rubric's points);
- ``trimmed``: when at least ``trim_min_judges`` judges scored (default 5), drop one highest and one
  lowest total, then the mean — the usual rule of Chinese competitions; with fewer judges, the mean;
- ``median``: the median of the totals;
- ``zscore``: each judge's totals are standardized over all the totals that judge gave in the round
  (z = (x − judge mean) / judge standard deviation, population), rescaled to the round's overall
  mean and standard deviation (x' = round mean + round sd × z), then averaged per submission. A judge
  who gave a single total, or identical totals, keeps their totals as given (no spread to remove).
All results are rounded to 2 decimals, half away from zero, at the end only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

METHODS = ("mean", "trimmed", "median", "zscore")


def _round2(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def trimmed_mean(values: Sequence[float], min_judges: int = 5) -> float | None:
    """Drop one highest and one lowest (even when tied with others) if at least min_judges scored."""
    if not values:
        return None
    if len(values) < max(min_judges, 3):
        return mean(values)
    ordered = sorted(values)
    return mean(ordered[1:-1])


def population_sd(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    average = mean(values)
    return math.sqrt(sum((value - average) ** 2 for value in values) / len(values))


def zscore_rescaled(totals: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
    """(submission, judge) → the judge's total standardized per judge and rescaled to the round."""
    if not totals:
        return {}
    everything = list(totals.values())
    round_mean, round_sd = mean(everything), population_sd(everything)
    by_judge: dict[int, list[float]] = {}
    for (_, judge), value in totals.items():
        by_judge.setdefault(judge, []).append(value)
    stats = {judge: (mean(values), population_sd(values)) for judge, values in by_judge.items()}
    rescaled = {}
    for (submission, judge), value in totals.items():
        judge_mean, judge_sd = stats[judge]
        rescaled[(submission, judge)] = (
            value if judge_sd == 0 else round_mean + round_sd * (value - judge_mean) / judge_sd
        )
    return rescaled


def aggregate(
    totals: dict[tuple[int, int], float], method: str, *, trim_min_judges: int = 5
) -> dict[int, float | None]:
    """submission → its aggregate score by `method` (None when no judge scored it)."""
    if method not in METHODS:
        raise ValueError(f"unknown aggregation method {method!r}")
    values = zscore_rescaled(totals) if method == "zscore" else totals
    per_submission: dict[int, list[float]] = {}
    for (submission, _), value in values.items():
        per_submission.setdefault(submission, []).append(value)
    combine: Callable[[Sequence[float]], float | None] = {
        "mean": mean,
        "zscore": mean,
        "median": median,
        "trimmed": lambda scores: trimmed_mean(scores, trim_min_judges),
    }[method]
    return {submission: _round2(combine(scores)) for submission, scores in per_submission.items()}


# --- flags --------------------------------------------------------------------------------------


@dataclass
class Flags:
    missing: dict[int, int] = field(default_factory=dict)  # submission → scores still missing
    disagreement: dict[int, float] = field(default_factory=dict)  # submission → range or sd
    outlying_judges: dict[int, float] = field(default_factory=dict)  # judge → mean distance, in panel sds


def flags(
    totals: dict[tuple[int, int], float],
    expected: dict[int, int],
    *,
    max_range: float | None = None,
    max_sd: float | None = None,
    judge_deviation: float = 1.5,
) -> Flags:
    """Missing scores; panels that disagree (range or sd above a threshold: "needs re-review");
    judges whose totals sit on average more than `judge_deviation` panel standard deviations away
    from the mean of the other judges on the same panels."""
    result = Flags()
    per_submission: dict[int, dict[int, float]] = {}
    for (submission, judge), value in totals.items():
        per_submission.setdefault(submission, {})[judge] = value
    for submission, count in expected.items():
        got = len(per_submission.get(submission, {}))
        if got < count:
            result.missing[submission] = count - got
    for submission, scores in per_submission.items():
        values = list(scores.values())
        spread_range = max(values) - min(values)
        if max_range is not None and spread_range > max_range:
            result.disagreement[submission] = _round2(spread_range)
        elif max_sd is not None and (sd := population_sd(values)) > max_sd:
            result.disagreement[submission] = _round2(sd)
    deviations: dict[int, list[float]] = {}
    for scores in per_submission.values():
        if len(scores) < 3:
            continue
        spread = population_sd(list(scores.values()))  # once per panel, not once per judge
        if spread == 0:
            continue
        for judge, value in scores.items():
            others = [other for other_judge, other in scores.items() if other_judge != judge]
            deviations.setdefault(judge, []).append((value - mean(others)) / spread)
    for judge, distances in deviations.items():
        average = mean(distances)
        if abs(average) > judge_deviation:
            result.outlying_judges[judge] = _round2(average)
    return result


# --- ranking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    submission: int
    score: float | None
    #: values of the tie-break chain, in order; larger is better unless the key says otherwise
    tie_breaks: tuple = ()


def rank(entries: Iterable[Entry]) -> dict[int, int]:
    """Competition ranking ("1, 2, 2, 4"): higher score first, then the tie-break values in order
    (each already oriented so that larger wins); entries equal on all of them share a rank.
    Entries without a score are not ranked."""
    scored = [entry for entry in entries if entry.score is not None]
    ordered = sorted(scored, key=lambda entry: (entry.score, *entry.tie_breaks), reverse=True)
    ranks: dict[int, int] = {}
    previous_key, previous_rank = None, 0
    for position, entry in enumerate(ordered, start=1):
        key = (entry.score, *entry.tie_breaks)
        if key != previous_key:
            previous_rank, previous_key = position, key
        ranks[entry.submission] = previous_rank
    return ranks


# --- awards and advancement ---------------------------------------------------------------------

ROUNDING_RULES = ("half_up", "down", "up")


def share_count(total: int, percent: float, rounding: str = "half_up") -> int:
    """How many of `total` teams `percent` % stands for, under the stated rounding rule."""
    # percentages come as floats (a cumulative sum, a ratio's share: 1.6666…7 %); at nine decimals
    # the binary noise is gone, so 60 teams × (5 % × 3/9) is exactly 1 place, not "up" to 2
    exact = (Decimal(total) * Decimal(repr(percent)) / Decimal(100)).quantize(Decimal("1e-9"))
    if rounding == "down":
        return int(exact.to_integral_value(rounding="ROUND_FLOOR"))
    if rounding == "up":
        return int(exact.to_integral_value(rounding="ROUND_CEILING"))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tiers_by_proportion(
    ranks: dict[int, int], tiers: Sequence[tuple[str, float]], rounding: str = "half_up"
) -> dict[int, str]:
    """Award tiers by share of the ranked teams, best tier first, e.g. [("gold", 10), ("silver", 20),
    ("bronze", 30)]: the tier's places are counted cumulatively and rounded by the stated rule; a team
    whose rank falls inside the places gets the tier — teams tied at a cut-off all get the better
    tier (so a tier can hold a few more teams than its share)."""
    total = len(ranks)
    cut_offs, cumulative = [], 0.0
    for name, percent in tiers:
        cumulative += percent
        cut_offs.append((name, share_count(total, cumulative, rounding)))
    return tiers_by_rank(ranks, cut_offs)


def tiers_by_rank(ranks: dict[int, int], cut_offs: Sequence[tuple[str, int]]) -> dict[int, str]:
    """Award tiers by rank cut-offs, e.g. [("gold", 3), ("silver", 10)]: rank ≤ 3 gold, ≤ 10 silver."""
    awards = {}
    for submission, position in ranks.items():
        for name, last_rank in cut_offs:
            if position <= last_rank:
                awards[submission] = name
                break
    return awards


def tiers_by_score(scores: dict[int, float | None], thresholds: Sequence[tuple[str, float]]) -> dict[int, str]:
    """Award tiers by score thresholds, best first, e.g. [("gold", 90), ("silver", 80)]."""
    awards = {}
    for submission, score in scores.items():
        if score is None:
            continue
        for name, minimum in thresholds:
            if score >= minimum:
                awards[submission] = name
                break
    return awards


def advance_top(
    ranks_by_track: dict[int, dict[int, int]],
    *,
    top_n: int | None = None,
    top_percent: float | None = None,
    rounding: str = "half_up",
) -> set[int]:
    """Submissions advancing: the top N (or top X %, rounded by the stated rule) of each track; teams
    tied with the last advancing rank advance too."""  # fmt: skip
    advancing = set()
    for ranks in ranks_by_track.values():
        places = top_n if top_n is not None else share_count(len(ranks), top_percent or 0, rounding)
        advancing.update(submission for submission, position in ranks.items() if position <= places)
    return advancing


def ratio_tiers(awarded_percent: float, ratio: Sequence[tuple[str, int]]) -> list[tuple[str, float]]:
    """Tiers from a ratio over the awarded share, e.g. the national ≈ 1 : 2 : 6 split of 30 % awarded:
    [("gold", 1), ("silver", 2), ("bronze", 6)] → gold 3.33 %, silver 6.67 %, bronze 20 %."""
    parts = sum(weight for _, weight in ratio)
    return [(name, awarded_percent * weight / parts) for name, weight in ratio]
