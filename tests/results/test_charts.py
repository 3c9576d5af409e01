"""The server-drawn charts (competition.results.charts): bins, steps, bar heights and the judges'
spreads against numbers worked out by hand. Pure functions: no app, no database."""

from __future__ import annotations

import math

import pytest

from competition.results import charts
from competition.results.charts import bins_of, fmt, nice_step


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (100, 10),  # 100 / 10 = 10 exactly
        (92, 10),  # 9.2 → 10
        (30, 5),  # 3 → 5
        (15, 2),  # 1.5 → 2
        (10, 1),
        (4, 0.5),  # 0.4 → 0.5
        (1, 0.1),
        (0.07, 0.01),  # 0.007 → 0.01
        (1000, 100),
        (0, 1.0),  # no spread: bins of 1
        (-3, 1.0),
    ],
)
def test_nice_step(span, step):
    assert nice_step(span) == step


def test_nice_step_with_fewer_bins():
    assert nice_step(30, bins=5) == 10  # 6 → 10
    assert nice_step(30, bins=3) == 10  # 10 → 10
    assert nice_step(30, bins=2) == 20  # 15 → 20


def test_bins_over_whole_numbers():
    # 62 … 95: span 33, 3.3 → step 5; from 60 to 95, the last bin holding its upper edge (95)
    values = [62, 65, 70, 71, 79.5, 80, 88, 95]
    assert bins_of(values) == [
        (60, 65, 1),
        (65, 70, 1),  # 65 opens its bin
        (70, 75, 2),
        (75, 80, 1),
        (80, 85, 1),
        (85, 90, 1),
        (90, 95, 1),  # 95 is the upper edge of the last bin: counted there
    ]
    assert sum(count for _lo, _hi, count in bins_of(values)) == len(values)


def test_bins_counted_in_decimals():
    # span 0.8 → step 0.1; in binary floats (70.6 − 70) // 0.1 is 5, not 6; here 70.6 opens its bin
    values = [70.0, 70.3, 70.6, 70.8]
    assert bins_of(values) == [
        (70.0, 70.1, 1),
        (70.1, 70.2, 0),
        (70.2, 70.3, 0),
        (70.3, 70.4, 1),
        (70.4, 70.5, 0),
        (70.5, 70.6, 0),
        (70.6, 70.7, 1),
        (70.7, 70.8, 1),
    ]
    # 0.3 / 0.1 is 2.999… in floats: 0.3 would start one bin too early
    assert bins_of([0.3, 0.5, 1.0])[0] == (0.3, 0.4, 1)


def test_bins_of_equal_and_of_no_values():
    assert bins_of([]) == []
    assert bins_of([79, 79]) == [(79, 80, 2)]  # no spread: one bin of 1
    assert bins_of([80.5]) == [(80, 81, 1)]


def test_bins_of_two_scores():
    # 79 and 83: span 4 → step 0.5; 8 bins, 79 in the first and 83 in the last
    found = bins_of([83.0, 79.0])
    assert [(lo, hi) for lo, hi, _count in found] == [(79 + i / 2, 79.5 + i / 2) for i in range(8)]
    assert [count for _lo, _hi, count in found] == [1, 0, 0, 0, 0, 0, 0, 1]


def test_fmt():
    assert [fmt(None), fmt(80.0), fmt(81.8), fmt(2 / 3), fmt(79.5)] == ["—", "80", "81.8", "0.67", "79.5"]


def test_histogram_bar_heights_and_table():
    # 60 … 80, span 20 → step 2: bins 60-62 (1), 70-72 (2), 78-80 (4: 80 is the last bin's top edge)
    values = [60, 70, 71, 78, 79, 79.9, 80]
    chart = charts.histogram("h", "Title", "Description", values, headers=["Scores", "Submissions"])
    assert chart.headers == ["Scores", "Submissions"]
    assert chart.rows[0] == ["60–62", "1"] and chart.rows[5] == ["70–72", "2"] and chart.rows[-1] == ["78–80", "4"]
    assert len(chart.rows) == len(chart.rects) == 10
    heights = [rect.height for rect in chart.rects]
    # the tallest bar (4) spans the plot: bottom 190 − top 24 = 166; the others in proportion
    assert heights[-1] == 166
    assert heights[0] == pytest.approx(166 / 4) and heights[5] == pytest.approx(166 / 2)
    assert heights[1:5] == [0, 0, 0, 0]
    for rect in chart.rects:
        assert rect.y + rect.height == 190  # every bar stands on the axis
        assert rect.x >= charts.LEFT and rect.x + rect.width <= charts.RIGHT
    assert chart.rects[-1].label == "78–80: 4"
    # a count over each non-empty bar, the bins' edges under the axis
    assert sorted(text.text for text in chart.texts if text.y < 190) == ["1", "2", "4"]
    assert [text.text for text in chart.texts if text.y > 190] == [fmt(60 + 2 * i) for i in range(11)]
    assert chart.height == 220 and chart.width == 400 and not chart.empty


def test_histogram_of_nothing_is_empty():
    chart = charts.histogram("h", "T", "D", [], headers=["a", "b"])
    assert chart.empty and chart.rects == [] and chart.rows == []


def test_judge_spreads():
    totals = {
        (1, 10): 73, (2, 10): 67, (3, 10): 73, (4, 10): 67,  # mean 70, sd 3
        (1, 11): 80, (2, 11): 90,  # mean 85, sd 5
        (1, 12): 77,  # one total: sd 0
    }  # fmt: skip
    spreads = charts.judge_spreads(totals)
    assert spreads == {10: (70, 3, 4), 11: (85, 5, 2), 12: (77, 0.0, 1)}
    assert charts.judge_spreads({}) == {}


def test_judges_chart_places_dots_and_bars():
    judges = [
        charts.JudgeSpread("严", 70, 3, 4, note="harsh", flagged=True),
        charts.JudgeSpread("中", 80, 3, 4),
        charts.JudgeSpread("宽", 90, 3, 4, note="lenient", flagged=True),
    ]
    chart = charts.judges_chart("j", "T", "D", judges, 80, headers=["Judge", "n", "mean", "sd", "flag"],
                                round_label="round mean")  # fmt: skip
    assert chart.rows == [
        ["严", "4", "70", "3", "harsh"],
        ["中", "4", "80", "3", ""],
        ["宽", "4", "90", "3", "lenient"],
    ]
    # the axis runs from 67 − 1.3 to 93 + 1.3 (a padding of 5 % of 26) over x = 12 … 388
    low, high = 67 - 1.3, 93 + 1.3
    x_of = lambda value: 12 + 376 * (value - low) / (high - low)  # noqa: E731
    assert [circle.cx for circle in chart.circles] == pytest.approx([x_of(70), x_of(80), x_of(90)])
    assert chart.circles[1].cx == pytest.approx(200)  # the middle judge sits on the middle
    assert [circle.fill for circle in chart.circles] == [charts.BRAND, charts.BLUE, charts.BRAND]
    bars = [line for line in chart.lines if line.width == 3]
    ends = [end for bar in bars for end in (bar.x1, bar.x2)]  # mean − sd … mean + sd
    assert ends == pytest.approx([x_of(67), x_of(73), x_of(77), x_of(83), x_of(87), x_of(93)])
    dashed = [line for line in chart.lines if line.dash]
    assert len(dashed) == 1 and dashed[0].x1 == pytest.approx(x_of(80))
    assert any(text.text == "round mean 80" for text in chart.texts)
    assert chart.circles[0].label == "严: 70 ± 3"


def test_share_bars():
    chart = charts.share_bars("c", "T", "D", [("Innovation", 54.4, 60), ("Business", 25.6, 40), ("Team", None, 10),
                                              ("Half", 12.5, 100)], headers=["a", "b", "c", "d"])  # fmt: skip
    # 54.4 / 60 = 90.67 % → 91 %; 25.6 / 40 = 64 %; 12.5 % rounds half up to 13 %
    assert chart.rows == [["Innovation", "54.4", "60", "91 %"], ["Business", "25.6", "40", "64 %"],
                          ["Team", "—", "10", "—"], ["Half", "12.5", "100", "13 %"]]  # fmt: skip
    full = charts.RIGHT - charts.LEFT - 44  # the track of each bar; the share is drawn over it
    filled = [rect for rect in chart.rects if rect.fill == charts.BLUE]
    assert [rect.width for rect in filled] == pytest.approx([full * 54.4 / 60, full * 0.64, 0, full * 0.125])
    assert [rect.width for rect in chart.rects if rect.fill == charts.LIGHT] == [full] * 4


def test_grouped_bars_wrap_the_legend_and_scale_the_bars():
    series = ["Entries", "Advanced", "Gold award", "Silver award", "Bronze award", "Honourable mention"]
    groups = [("Sichuan University", [4, 2, 1, 1, 0, 0]), ("重庆大学", [2, 0, 0, 1, 1, 0])]
    chart = charts.grouped_bars("g", "T", "D", groups, series, headers=["Institution", *series])
    assert chart.rows == [
        ["Sichuan University", "4", "2", "1", "1", "0", "0"],
        ["重庆大学", "2", "0", "0", "1", "1", "0"],
    ]
    legend = chart.rects[: len(series)]
    assert all(rect.x + 10 <= charts.RIGHT for rect in legend)
    assert len({rect.y for rect in legend}) > 1  # six names do not fit on one line of 400
    bars = chart.rects[len(series) :]
    span = charts.RIGHT - charts.LEFT - 30
    assert [bar.width for bar in bars] == pytest.approx(
        [span, span / 2, span / 4, span / 4, 0, 0, span / 2, 0, 0, span / 4, span / 4, 0]
    )
    assert all(bar.y > max(rect.y for rect in legend) + 10 for bar in bars)  # below the legend
    assert chart.height >= max(bar.y + bar.height for bar in bars)
    assert len({rect.fill for rect in legend}) == len(series)  # six series, six colours


def test_every_drawing_stays_inside_its_viewbox():
    made = [
        charts.histogram("h", "T", "D", [math.pi * i for i in range(30)], headers=["a", "b"]),
        charts.judges_chart(
            "j",
            "T",
            "D",
            [charts.JudgeSpread(str(i), 50 + i, i, 3) for i in range(8)],
            55,
            headers=["a"] * 5,
            round_label="mean",
        ),  # fmt: skip
        charts.share_bars("s", "T", "D", [(str(i), i, 10) for i in range(6)], headers=["a"] * 4),
        charts.grouped_bars("g", "T", "D", [(str(i), [i, 1]) for i in range(5)], ["a", "b"], headers=["a"] * 3),
    ]
    for chart in made:
        for rect in chart.rects:
            assert rect.x >= 0 and rect.x + rect.width <= chart.width and rect.y >= 0
            assert rect.y + rect.height <= chart.height, chart.id
        for text in chart.texts:
            assert 0 <= text.x <= chart.width and 0 < text.y <= chart.height, (chart.id, text)
        for circle in chart.circles:
            assert 0 <= circle.cx <= chart.width and 0 <= circle.cy <= chart.height
