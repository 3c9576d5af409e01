"""Charts of a round's results, drawn on the server as SVG: no script, no chart library.

Each function returns a `Chart`: the shapes in the chart's own coordinates (a viewBox the page scales
to its width), a title and a description for screen readers, and the same numbers as a table (the
page shows it under the chart). Colours are SVG presentation attributes (fill, stroke), never a
style attribute, so the Content-Security-Policy stays strict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from competition.results.compute import mean, population_sd

WIDTH = 400  # narrow: on a phone the text stays readable when the chart is scaled to the screen
LEFT, RIGHT = 12, 388
FONT = 12

BRAND = "#8a1c1c"
BLUE = "#1f5fa8"
GREY = "#6c757d"
LIGHT = "#dee2e6"
DARK = "#212529"
SERIES = (BLUE, "#2e7d32", "#b26a00", "#6a1b9a", BRAND, "#00695c")  # 3:1 or more on white


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str = ""  # a <title> for the shape: the exact value on hover


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = GREY
    width: float = 1
    dash: str | None = None


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    fill: str = DARK
    size: int = FONT
    bold: bool = False


@dataclass
class Circle:
    cx: float
    cy: float
    r: float
    fill: str
    label: str = ""


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    height: float
    headers: list[str]
    rows: list[list[str]]
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    circles: list[Circle] = field(default_factory=list)
    width: int = WIDTH

    @property
    def empty(self) -> bool:
        return not self.rows


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_step(span: float, bins: int = 10) -> float:
    """A bin width of 1, 2 or 5 × 10^k giving at most `bins` bins over `span`."""
    if span <= 0:
        return 1.0
    raw = Decimal(repr(float(span))) / bins
    exponent = raw.adjusted()  # 10^exponent <= raw < 10^(exponent + 1)
    for factor in (1, 2, 5, 10):
        step = Decimal(factor).scaleb(exponent)
        if step >= raw:
            return float(step)
    return float(Decimal(10).scaleb(exponent))  # pragma: no cover - factor 10 always suffices


#: scores have 2 decimals: narrower bins would only split one value
MIN_STEP = 0.01


def bins_of(values: Sequence[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """(low, high, count) bins of a nice width, each from `low` included to `high` excluded; the
    last bin includes its upper edge. Counted in decimals: with binary floats 70.6 − 70 is
    0.59999…, and 70.6 would fall in the bin of 70.4 – 70.6."""
    if not values:
        return []
    exact = [Decimal(repr(float(value))) for value in values]
    low, high = min(exact), max(exact)
    step = Decimal(repr(max(nice_step(float(high - low), bins), MIN_STEP)))
    first = (low / step).to_integral_value(rounding=ROUND_FLOOR)
    last = max((high / step).to_integral_value(rounding=ROUND_CEILING), first + 1)
    count = int(last - first)
    counts = [0] * count
    for value in exact:
        counts[min(int((value / step).to_integral_value(rounding=ROUND_FLOOR) - first), count - 1)] += 1
    return [(float((first + i) * step), float((first + i + 1) * step), counts[i]) for i in range(count)]


def histogram(chart_id: str, title: str, desc: str, values: Sequence[float], *, headers: list[str]) -> Chart:
    """Vertical bars: how many scores fall in each range."""
    found = bins_of(values)
    top, bottom = 24, 190
    chart = Chart(chart_id, title, desc, height=bottom + 30, headers=headers,
                  rows=[[f"{fmt(lo)}–{fmt(hi)}", str(count)] for lo, hi, count in found])  # fmt: skip
    if not found:
        return chart
    most = max(count for _lo, _hi, count in found) or 1
    slot = (RIGHT - LEFT) / len(found)
    chart.lines.append(Line(LEFT, bottom, RIGHT, bottom, DARK))
    for index, (lo, hi, count) in enumerate(found):
        x = LEFT + index * slot
        height = (bottom - top) * count / most
        label = f"{fmt(lo)}–{fmt(hi)}: {count}"
        chart.rects.append(Rect(x + 2, bottom - height, slot - 4, height, BLUE, label))
        if count:
            chart.texts.append(Text(x + slot / 2, bottom - height - 4, str(count), "middle"))
        chart.texts.append(Text(x, bottom + 16, fmt(lo), "middle" if index else "start", GREY, 11))
    chart.texts.append(Text(RIGHT, bottom + 16, fmt(found[-1][1]), "end", GREY, 11))
    return chart


@dataclass
class JudgeSpread:
    name: str
    mean: float
    sd: float
    count: int
    note: str = ""  # "harsh" / "lenient" in words, for flagged judges
    flagged: bool = False


def judges_chart(chart_id: str, title: str, desc: str, judges: Sequence[JudgeSpread], round_mean: float | None,
                 *, headers: list[str], round_label: str) -> Chart:  # fmt: skip
    """One line per judge: a dot at their mean total, a bar from mean − sd to mean + sd, and the
    round's mean as a dashed line across: a harsh or a lenient judge stands apart."""
    row, top = 40, 30
    chart = Chart(chart_id, title, desc, height=top + row * len(judges) + 24, headers=headers,
                  rows=[[j.name, str(j.count), fmt(j.mean), fmt(j.sd), j.note] for j in judges])  # fmt: skip
    if not judges:
        return chart
    low = min([j.mean - j.sd for j in judges] + ([round_mean] if round_mean is not None else []))
    high = max([j.mean + j.sd for j in judges] + ([round_mean] if round_mean is not None else []))
    pad = max((high - low) * 0.05, 1)
    low, high = low - pad, high + pad

    def x_of(value: float) -> float:
        return LEFT + (RIGHT - LEFT) * (value - low) / (high - low)

    bottom = top + row * len(judges)
    for index, judge in enumerate(judges):
        y = top + index * row
        colour = BRAND if judge.flagged else BLUE
        label = f"{judge.name} ({judge.count})" + (f" · {judge.note}" if judge.note else "")
        chart.texts.append(Text(LEFT, y + 13, label, fill=colour if judge.flagged else DARK, bold=judge.flagged))
        chart.lines.append(Line(x_of(judge.mean - judge.sd), y + 26, x_of(judge.mean + judge.sd), y + 26, colour, 3))
        chart.circles.append(
            Circle(x_of(judge.mean), y + 26, 5, colour, f"{judge.name}: {fmt(judge.mean)} ± {fmt(judge.sd)}")
        )
    if round_mean is not None:
        x = x_of(round_mean)
        chart.lines.append(Line(x, top - 6, x, bottom, DARK, 1, "4 3"))
        chart.texts.append(Text(x, top - 10, f"{round_label} {fmt(round_mean)}", "middle", DARK, 11))
    chart.lines.append(Line(LEFT, bottom + 2, RIGHT, bottom + 2, LIGHT))
    chart.texts.append(Text(LEFT, bottom + 16, fmt(low), "start", GREY, 11))
    chart.texts.append(Text(RIGHT, bottom + 16, fmt(high), "end", GREY, 11))
    return chart


def share_bars(chart_id: str, title: str, desc: str, items: Sequence[tuple[str, float | None, float]],
               *, headers: list[str]) -> Chart:  # fmt: skip
    """items: (label, mean, maximum) → a bar per item, the mean as a share of its maximum."""
    row, top = 38, 8
    chart = Chart(chart_id, title, desc, height=top + row * len(items) + 8, headers=headers,
                  rows=[[label, fmt(average), fmt(maximum), _percent(average, maximum)] for label, average, maximum in items])  # fmt: skip
    for index, (label, average, maximum) in enumerate(items):
        y = top + index * row
        share = (average or 0) / maximum if maximum else 0
        chart.texts.append(Text(LEFT, y + 12, f"{label} · {fmt(average)} / {fmt(maximum)}"))
        chart.rects.append(Rect(LEFT, y + 18, RIGHT - LEFT - 44, 12, LIGHT))
        chart.rects.append(Rect(LEFT, y + 18, (RIGHT - LEFT - 44) * share, 12, BLUE, _percent(average, maximum)))
        chart.texts.append(Text(RIGHT, y + 29, _percent(average, maximum), "end"))
    return chart


def _percent(value: float | None, maximum: float) -> str:
    """A share in whole percent, rounded half up (62.5 % → 63 %, as people round; not to the even 62)."""
    if value is None or not maximum:
        return "—"
    share = Decimal(repr(float(value))) * 100 / Decimal(repr(float(maximum)))
    return f"{share.quantize(Decimal(1), rounding=ROUND_HALF_UP)} %"


def _text_width(text: str, size: int) -> float:
    """About how wide `text` is drawn: CJK characters are square, Latin ones about 0.6 of the size."""
    return sum(size if ord(character) > 0x2E80 else size * 0.6 for character in text)


def grouped_bars(chart_id: str, title: str, desc: str, groups: Sequence[tuple[str, Sequence[int]]],
                 series: Sequence[str], *, headers: list[str]) -> Chart:  # fmt: skip
    """groups: (label, one count per series) → per group a label and one thin bar per series; the
    legend above wraps onto more lines when the series' names do not fit on one."""
    bar, gap = 11, 3
    row = 18 + len(series) * (bar + gap) + 8
    chart = Chart(chart_id, title, desc, height=0, headers=headers,
                  rows=[[label, *(str(count) for count in counts)] for label, counts in groups])  # fmt: skip
    x, line = LEFT, 0
    for index, name in enumerate(series):
        colour = SERIES[index % len(SERIES)]
        width = 14 + _text_width(name, 11) + 14
        if x > LEFT and x + width > RIGHT:
            x, line = LEFT, line + 1
        chart.rects.append(Rect(x, 6 + line * 18, 10, 10, colour))
        chart.texts.append(Text(x + 14, 15 + line * 18, name, size=11))
        x += width
    legend = 22 + line * 18
    chart.height = legend + row * len(groups) + 4
    most = max((count for _label, counts in groups for count in counts), default=0) or 1
    span = RIGHT - LEFT - 30
    for index, (label, counts) in enumerate(groups):
        y = legend + index * row
        chart.texts.append(Text(LEFT, y + 13, label, bold=True))
        for position, count in enumerate(counts):
            colour = SERIES[position % len(SERIES)]
            bar_y = y + 18 + position * (bar + gap)
            width = span * count / most
            chart.rects.append(
                Rect(LEFT, bar_y, max(width, 1 if count else 0), bar, colour, f"{series[position]}: {count}")
            )
            chart.texts.append(Text(LEFT + width + 4, bar_y + bar - 1, str(count), size=11))
    return chart


def judge_spreads(totals: dict[tuple[int, int], float]) -> dict[int, tuple[float, float, int]]:
    """judge → (mean, population sd, count) of the totals they gave."""
    per_judge: dict[int, list[float]] = {}
    for (_submission, judge), total in totals.items():
        per_judge.setdefault(judge, []).append(total)
    return {judge: (mean(values), population_sd(values), len(values)) for judge, values in per_judge.items()}
