"""Every aggregation, ranking and award rule against numbers worked out by hand."""

import pytest

from competition.results import compute


def test_mean_and_median():
    assert compute.mean([80, 90, 70]) == 80
    assert compute.median([1, 3, 2]) == 2 and compute.median([1, 2, 3, 4]) == 2.5
    assert compute.mean([]) is None and compute.median([]) is None


def test_trimmed_mean_drops_one_highest_and_one_lowest_from_five_judges():
    # 70 and 90 go: (75 + 80 + 85) / 3 = 80
    assert compute.trimmed_mean([80, 90, 70, 85, 75]) == 80


def test_trimmed_mean_with_ties_drops_only_one_of_each():
    # [60, 80, 80, 90, 90] → drop 60 and one 90 → (80 + 80 + 90) / 3 = 83.333…
    assert compute.aggregate({(1, j): v for j, v in enumerate([80, 80, 60, 90, 90])}, "trimmed") == {1: 83.33}


def test_trimmed_mean_below_the_minimum_number_of_judges_is_the_mean():
    assert compute.trimmed_mean([60, 90, 75, 80], min_judges=5) == 76.25
    assert compute.trimmed_mean([60, 90, 75, 80], min_judges=4) == 77.5


def test_zscore_removes_harsh_and_lenient_judges_bias():
    # judge 1 is harsh (60, 50, 40), judge 2 lenient (90, 80, 70): they agree on the order.
    totals = {(1, 1): 60, (2, 1): 50, (3, 1): 40, (1, 2): 90, (2, 2): 80, (3, 2): 70}
    # round mean 65, round sd √(1750/6) = 17.0783; z of submission 1 = +1.2247 for both judges
    # 65 + 17.0783 × 1.2247 = 85.9165 → 85.92; submission 3 symmetric: 44.08
    assert compute.aggregate(totals, "zscore") == {1: 85.92, 2: 65.0, 3: 44.08}


def test_zscore_keeps_the_totals_of_a_judge_without_spread():
    totals = {(1, 1): 70, (2, 1): 70, (1, 2): 80, (2, 2): 60}
    rescaled = compute.zscore_rescaled(totals)
    assert rescaled[(1, 1)] == 70 and rescaled[(2, 1)] == 70


def test_unknown_method_is_refused():
    with pytest.raises(ValueError):
        compute.aggregate({(1, 1): 1}, "best-of")


def test_shared_ranks_are_one_two_two_four():
    entries = [compute.Entry(1, 90), compute.Entry(2, 85), compute.Entry(3, 85), compute.Entry(4, 80)]
    assert compute.rank(entries) == {1: 1, 2: 2, 3: 2, 4: 4}


def test_tie_break_chain_orders_equal_scores():
    # equal aggregate; 3 has the higher untrimmed total; 2 and 4 tie on that, 4 wins on a criterion
    entries = [
        compute.Entry(1, 90, (400, 20)),
        compute.Entry(2, 85, (410, 18)),
        compute.Entry(3, 85, (420, 15)),
        compute.Entry(4, 85, (410, 19)),
        compute.Entry(5, None),
    ]
    assert compute.rank(entries) == {1: 1, 3: 2, 4: 3, 2: 4}


def test_teams_tied_on_every_key_share_the_rank():
    entries = [compute.Entry(1, 85, (410, 19)), compute.Entry(2, 85, (410, 19)), compute.Entry(3, 70, (300, 1))]
    assert compute.rank(entries) == {1: 1, 2: 1, 3: 3}


@pytest.mark.parametrize(
    ("total", "percent", "rounding", "expected"),
    [(15, 10, "half_up", 2), (15, 10, "down", 1), (15, 10, "up", 2), (20, 10, "half_up", 2), (14, 25, "half_up", 4),
     (14, 25, "down", 3), (7, 30, "up", 3)],
)  # fmt: skip
def test_shares_are_rounded_by_the_stated_rule(total, percent, rounding, expected):
    assert compute.share_count(total, percent, rounding) == expected


def test_gold_silver_bronze_by_proportion_with_rounding_and_ties_at_the_cut_off():
    # 15 ranked teams: gold 10 % → 1.5 → 2 places; +silver 20 % → 30 % → 4.5 → 5; +bronze 30 % → 60 % → 9
    ranks = {submission: submission for submission in range(1, 16)}
    ranks[3] = 2  # submission 3 ties with 2 at rank 2 → both gold (rank ≤ 2)
    awards = compute.tiers_by_proportion(ranks, [("gold", 10), ("silver", 20), ("bronze", 30)])
    assert [awards.get(s) for s in range(1, 16)] == (["gold"] * 3 + ["silver"] * 2 + ["bronze"] * 4 + [None] * 6)


def test_national_one_two_six_split():
    tiers = compute.ratio_tiers(27, [("gold", 1), ("silver", 2), ("bronze", 6)])
    assert tiers == [("gold", 3.0), ("silver", 6.0), ("bronze", 18.0)]


def test_tiers_by_rank_and_by_score():
    assert compute.tiers_by_rank({1: 1, 2: 2, 3: 4}, [("gold", 1), ("silver", 3)]) == {1: "gold", 2: "silver"}
    assert compute.tiers_by_score({1: 91, 2: 80, 3: 79.99, 4: None}, [("gold", 90), ("silver", 80)]) == {
        1: "gold",
        2: "silver",
    }


def test_advancement_top_n_and_top_percent_per_track_with_ties():
    ranks_by_track = {1: {10: 1, 11: 2, 12: 2, 13: 4}, 2: {20: 1, 21: 2, 22: 3}}
    assert compute.advance_top(ranks_by_track, top_n=2) == {10, 11, 12, 20, 21}
    assert compute.advance_top(ranks_by_track, top_percent=50) == {10, 11, 12, 20, 21}


def test_flags_missing_disagreement_and_outlying_judges():
    totals = {(1, 1): 80, (1, 2): 82, (1, 3): 50, (2, 1): 70, (2, 2): 71, (2, 3): 40, (3, 1): 90}
    # judge 3 sits about 2.1 panel sds below the others on both panels; judge 2 about 1.1 above
    found = compute.flags(totals, {1: 3, 2: 3, 3: 3}, max_range=20, judge_deviation=1.5)
    assert found.missing == {3: 2}
    assert found.disagreement == {1: 32.0, 2: 31.0}
    assert set(found.outlying_judges) == {3} and found.outlying_judges[3] < 0
