"""The organizers' statistics page of a round: server-drawn SVG charts (no script, no style
attribute), each with a title, a description and a table of its numbers, checked against numbers
worked out by hand for the world of test_export.py (two tracks, four submissions, five judges)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.results.test_export import JUDGES, results_world

EN = {"Accept-Language": "en"}
SVG = "{http://www.w3.org/2000/svg}"


def url(world) -> str:
    return f"{world.base()}/statistics"


def page(client, world) -> str:
    response = client.get(url(world), headers=EN)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def svgs(html: str) -> dict[str, ET.Element]:
    """Each chart's <svg>, parsed as XML (it must be well-formed), by the chart's id."""
    found = {}
    for fragment in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        element = ET.fromstring(fragment)  # noqa: S314 - our own page, not untrusted input
        found[element.get("id").removesuffix("-svg")] = element
    return found


def table(html: str, chart_id: str) -> tuple[list[str], list[list[str]], str]:
    """A chart's table: headers, rows of cell texts, caption."""
    match = re.search(rf'<table[^>]*data-testid="{chart_id}-table".*?</table>', html, flags=re.S)
    assert match, chart_id
    element = ET.fromstring(match.group(0))  # noqa: S314 - our own page

    def text(cell) -> str:
        return " ".join("".join(cell.itertext()).split())

    headers = [text(cell) for cell in element.find("thead").iter("th")]
    rows = [[text(cell) for cell in row] for row in element.find("tbody").iter("tr")]
    return headers, rows, text(element.find("caption"))


@pytest.fixture
def world(app, login_as):
    world = results_world()
    login_as(user=world.organizer)
    return world


def test_each_chart_is_an_accessible_svg_that_scales(client, world):
    html = page(client, world)
    idea, startup = world.tracks
    charts = svgs(html)
    ids = [f"chart-track-{idea.id}", f"chart-track-{startup.id}", "chart-judges", "chart-criteria",
           "chart-institutions", "chart-sides"]  # fmt: skip
    assert list(charts) == ids
    for chart_id, svg in charts.items():
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert title.text.strip() and desc.text.strip()
        assert re.fullmatch(r"0 0 400 \d+", svg.get("viewBox")), svg.get("viewBox")
        assert svg.get("width") is None and svg.get("height") is None  # the CSS scales it to the column
        assert f'id="{chart_id}-heading"' in html
    assert charts[f"chart-track-{idea.id}"].find(f"{SVG}title").text == "Scores in Idea track"
    assert charts["chart-judges"].find(f"{SVG}title").text == "Each judge's totals"
    # a strict Content-Security-Policy: no style attribute, no inline script
    main = html[html.index("<main") : html.index("</main>")]
    assert " style=" not in main and "<script" not in main
    assert "style-src 'self'" in client.get(url(world), headers=EN).headers["Content-Security-Policy"]
    # the tabs of the results pages, with this one current
    assert re.search(r'aria-current="page" data-testid="results-tab-statistics"', html)


def test_score_distribution_per_track(client, world):
    html = page(client, world)
    idea, startup = world.tracks
    # idea: trimmed means 83 (S0) and 79 (S1): span 4 → bins of 0.5 from 79 to 83
    headers, rows, caption = table(html, f"chart-track-{idea.id}")
    assert headers == ["Scores", "Submissions"] and caption == "Scores in Idea track"
    assert rows == [["79–79.5", "1"], ["79.5–80", "0"], ["80–80.5", "0"], ["80.5–81", "0"], ["81–81.5", "0"],
                    ["81.5–82", "0"], ["82–82.5", "0"], ["82.5–83", "1"]]  # fmt: skip
    bars = svgs(html)[f"chart-track-{idea.id}"].findall(f"{SVG}rect")
    assert [float(bar.get("height")) for bar in bars] == [166.0, 0, 0, 0, 0, 0, 0, 166.0]
    assert [bar.find(f"{SVG}title").text for bar in bars][::7] == ["79–79.5: 1", "82.5–83: 1"]
    # startup: 79 and 79 (a tie broken by the untrimmed total): one bin of 1
    assert table(html, f"chart-track-{startup.id}")[1] == [["79–80", "2"]]


def test_judges_against_the_round_mean(client, world):
    html = page(client, world)
    headers, rows, _caption = table(html, "chart-judges")
    assert headers == ["Judge", "Scorecards", "Mean total", "Standard deviation", "Flag"]
    # each judge: 4 totals at mean ± 3. 评委A sits on average 1.90 panel sds below the others and
    # 评委E 1.81 above (more than the 1.5 allowed): harsh and lenient; B, C, D within 0.06
    assert rows == [
        [JUDGES[0], "4", "70", "3", "harsh"],
        [JUDGES[1], "4", "80", "3", ""],
        [JUDGES[2], "4", "80", "3", ""],
        [JUDGES[3], "4", "80", "3", ""],
        [JUDGES[4], "4", "90", "3", "lenient"],
    ]
    svg = svgs(html)["chart-judges"]
    dots = svg.findall(f"{SVG}circle")
    assert [dot.find(f"{SVG}title").text for dot in dots] == [f"{name}: {mean} ± 3" for name, mean in
                                                              zip(JUDGES, (70, 80, 80, 80, 90), strict=True)]  # fmt: skip
    # the axis runs from 67 − 1.3 to 93 + 1.3: the round mean (80) is the middle, x = 200, as are B, C, D
    assert [dot.get("cx") for dot in dots][1:4] == ["200.0"] * 3
    dashed = [line for line in svg.findall(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 1 and dashed[0].get("x1") == "200.0"
    assert "round mean 80" in [text.text for text in svg.findall(f"{SVG}text")]
    assert dots[0].get("fill") == dots[4].get("fill") != dots[2].get("fill")  # the flagged judges stand out


def test_criteria_as_a_share_of_their_maximum(client, world):
    html = page(client, world)
    headers, rows, _caption = table(html, "chart-criteria")
    assert headers == ["Criterion", "Mean points", "Maximum", "Share"]
    # innovation: 16 scorecards × 54 + 4 × 56 = 1088 over 20 = 54.4 of 60 (90.67 %); business: the
    # totals' mean 80 − 54.4 = 25.6 of 40 (64 %)
    assert sorted(rows) == sorted([["Innovation", "54.4", "60", "91 %"], ["Business", "25.6", "40", "64 %"]])


def test_entries_advancement_and_awards_per_institution_and_side(client, world):
    html = page(client, world)
    series = ["Entries", "Advanced", "Gold award", "Silver award", "Bronze award"]
    headers, rows, _caption = table(html, "chart-institutions")
    assert headers == ["Institution", *series]
    # SCU: S0 and S2, both first of their track (gold, advancing); CQU: S1, silver overridden to
    # bronze; SISU: S3, silver (its repechage does not count as advancing by the rule)
    assert rows == [
        ["Sichuan University", "2", "2", "2", "0", "0"],
        ["Chongqing University", "1", "0", "0", "0", "1"],
        ["Sichuan International Studies University", "1", "0", "0", "1", "0"],
    ]
    headers, rows, _caption = table(html, "chart-sides")
    assert headers == ["Side", *series]
    assert rows == [["Chongqing", "2", "0", "0", "1", "1"], ["Sichuan", "2", "2", "2", "0", "0"]]
    bars = [rect for rect in svgs(html)["chart-sides"].findall(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert [bar.find(f"{SVG}title").text for bar in bars] == [
        f"{name}: {count}" for name, count in zip(series * 2, [2, 0, 0, 1, 1, 2, 2, 2, 0, 0], strict=True)
    ]


def test_the_page_in_chinese(app, client, login_as):
    world = results_world(locale="zh_Hans_CN")
    login_as(user=world.organizer)
    response = client.get(url(world))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(svgs(html)) == 6
    assert table(html, "chart-sides")[1][0][0] in ("重庆", "四川")
    assert "四川大学" in table(html, "chart-institutions")[1][0]


def test_a_round_without_scores_says_so(app, client, login_as):
    world = results_world(score=False)
    login_as(user=world.organizer)
    html = page(client, world)
    assert 'data-testid="statistics-unscored"' in html
    idea, _startup = world.tracks
    for chart_id in (f"chart-track-{idea.id}", "chart-judges", "chart-criteria"):
        assert f'data-testid="{chart_id}-empty"' in html and f'id="{chart_id}-svg"' not in html
    # the entries are known already
    assert table(html, "chart-sides")[1] == [["Chongqing", "2", "0"], ["Sichuan", "2", "0"]]


def test_a_round_without_submissions_says_so(app, client, login_as):
    world = results_world(submissions=False)
    login_as(user=world.organizer)
    html = page(client, world)
    assert 'data-testid="statistics-empty"' in html and "<svg" not in html


@pytest.mark.parametrize("role", ["student", "judge"])
def test_students_and_judges_are_refused(app, client, login_as, role):
    world = results_world()
    login_as(role, competition=world.contest)
    assert client.get(url(world), headers=EN).status_code == 403


def test_a_judge_of_the_round_is_refused(app, client, login_as):
    world = results_world()
    login_as(user=world.judges[4])
    assert client.get(url(world), headers=EN).status_code == 403
