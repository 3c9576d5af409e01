"""The results export (.xlsx) through HTTP: every judge's scores per criterion and each step from
them to the ranks, awards and advancement, checked against numbers worked out by hand; sheets and
headers in the reader's language; text that looks like a formula stays text.

The world (`results_world`, also used by test_statistics.py): two tracks of two submissions each,
five judges who all score every submission on two criteria (innovation ≤ 60, business ≤ 40).
Each judge gives two totals at their own mean + 3 and two at their mean − 3, so each judge's
standard deviation is 3 and every z-score is ±1:

    judge     mean   S0 (idea)  S1 (idea)  S2 (startup)  S3 (startup)
    评委A      70      73 +       67 −       73 +          67 −
    评委B      80      83 +       83 +       77 −          77 −
    评委C      80      83 +       77 −       83 +          77 −
    评委D      80      83 +       77 −       77 −          83 +
    评委E      90      87 −       93 +       93 +          87 −

The 20 totals have mean 80 and standard deviation 7 (variance = mean of (judge mean − 80)² + 3² =
(100 + 0 + 0 + 0 + 100) / 5 + 9 = 49), so a rescaled total is 80 ± 7 = 87 or 73.
Innovation is 54 points on every scorecard, except 评委E's 56; business is the rest.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import load_workbook

from competition.extensions import db
from competition.judging.models import Assignment, RoundJudge
from competition.results import services
from competition.scoring import services as scoring
from competition.scoring.models import Criterion
from competition.submissions.models import Submission
from tests import factories
from tests.scoring.world import NOW

JUDGES = ("评委A", "评委B", "评委C", "评委D", "评委E")
#: submission → each judge's total, in the order of JUDGES
TOTALS = {
    0: (73, 83, 83, 83, 87),
    1: (67, 83, 77, 77, 93),
    2: (73, 77, 83, 77, 93),
    3: (67, 77, 77, 83, 87),
}
NASTY_TEAM = '=HYPERLINK("http://evil.example","点我")'
NASTY_PROJECT = "@SUM(A1)"
OVERRIDE_REASON = "=1+1 迟交商业计划书，降为铜奖"
REPECHAGE_REASON = "-复活赛：专家组一致推荐"


def innovation(judge: int) -> int:
    return 56 if judge == 4 else 54


@dataclass
class World:
    contest: object
    round: object
    final: object
    organizer: object
    judges: list
    submissions: list
    tracks: list

    def base(self) -> str:
        return f"/competitions/{self.contest.code}/rounds/{self.round.id}/results"


def results_world(*, locale: str = "en", score: bool = True, submissions: bool = True) -> World:
    """The round of the module docstring: ranked by the trimmed mean, the best of each track gold and
    the second silver (rank cut-offs), the best of each track advancing to the final; S1's silver
    overridden to bronze, S3's team sent on to the final by repechage."""
    contest = factories.competition(code="RX1", state="judging", name_zh="结果赛", name_en="Results Cup")
    idea = factories.track(contest, "idea", position=0)
    startup = factories.track(contest, "startup", position=1)
    round_ = factories.round_(contest, level="alliance", name_zh="复赛", name_en="Semi-final",
                              judging_opens_at=NOW - timedelta(days=1), judging_closes_at=NOW + timedelta(days=7))  # fmt: skip
    final = factories.round_(contest, position=2, level="alliance", name_zh="决赛", name_en="Final",
                             entry_rule="advanced")  # fmt: skip
    organizer = factories.user(locale=locale, real_name="Olivia Organizer")
    factories.grant(organizer, contest, "organizer")
    rubric = scoring.create_rubric(round_, actor=organizer)
    rubric.min_comment_chars = 0
    rubric.criteria.append(Criterion(code="inn", name_zh="创新", name_en="Innovation", max_points=Decimal(60),
                                     step=Decimal(1), position=0))  # fmt: skip
    rubric.criteria.append(Criterion(code="biz", name_zh="商业", name_en="Business", max_points=Decimal(40),
                                     step=Decimal(1), position=1))  # fmt: skip
    teams = [
        ("Alpha", "SCU", idea),
        ("Beta", "CQU", idea),
        ("Gamma", "SCU", startup),
        (NASTY_TEAM, "SISU", startup),
    ]
    handed_in = []
    for index, (name, code, track) in enumerate(teams if submissions else []):
        team = factories.team(contest, state="approved", track_row=track, institution_row=factories.institution(code),
                              name=name)  # fmt: skip
        team.project_title = NASTY_PROJECT if name == NASTY_TEAM else f"Project {name}"
        submission = Submission(round=round_, team=team, state="submitted", abstract="摘要",
                                submitted_at=NOW - timedelta(hours=10 - index))  # fmt: skip
        db.session.add(submission)
        handed_in.append(submission)
    judges = []
    for name in JUDGES:
        judge = factories.user(real_name=name, institution=factories.institution("CQU"))
        factories.grant(judge, contest, "judge")
        db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
        judges.append(judge)
    db.session.flush()
    round_.result_settings = {
        "method": "trimmed",
        "trim_min_judges": 5,
        "award_mode": "rank",
        "award_tiers": [["gold", 1], ["silver", 2]],
        "advancement_mode": "top_n",
        "advancement_value": 1,
        "tie_breaks": ["untrimmed_total", "submitted_at"],
    }
    inn, biz = rubric.criteria
    for s_index, submission in enumerate(handed_in):
        for j_index, judge in enumerate(judges):
            assignment = Assignment(round_id=round_.id, submission_id=submission.id, judge_id=judge.id)
            db.session.add(assignment)
            db.session.flush()
            if score:
                total = TOTALS[s_index][j_index]
                points = {inn.id: str(innovation(j_index)), biz.id: str(total - innovation(j_index))}
                scoring.save(assignment, judge=judge, data=scoring.ScoreInput(points, {}, "", 0), submit=True, now=NOW)
    db.session.commit()
    if score and handed_in:
        services.override_award(round_, handed_in[1], actor=organizer, award="bronze", reason=OVERRIDE_REASON)
        services.apply_advancement(round_, actor=organizer)
        services.add_repechage(round_, handed_in[3].team, actor=organizer, reason=REPECHAGE_REASON)
        db.session.commit()
    return World(contest, round_, final, organizer, judges, handed_in, [idea, startup])


def download(client, world: World):
    response = client.get(f"{world.base()}/results.xlsx")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "no-store"
    return response


def rows_of(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


TEAM = {  # submission → track, team, project, institution, side (in English)
    0: ("Idea track", "Alpha", "Project Alpha", "Sichuan University", "Sichuan"),
    1: ("Idea track", "Beta", "Project Beta", "Chongqing University", "Chongqing"),
    2: ("Startup track", "Gamma", "Project Gamma", "Sichuan University", "Sichuan"),
    3: ("Startup track", NASTY_TEAM, NASTY_PROJECT, "Sichuan International Studies University", "Chongqing"),
}
TEAM_HEADERS = ("Track", "Team", "Project", "Institution", "Side")
#: the ranking's order: per track (idea first), then by rank; S2 and S3 tie at 79 and S2 wins on
#: the higher untrimmed total (403 > 391)
ORDER = (0, 1, 2, 3)


@pytest.fixture
def world(app, login_as):
    world = results_world()
    login_as(user=world.organizer)
    return world


def test_sheets_and_every_judges_scores_per_criterion(client, world):
    workbook = load_workbook(io.BytesIO(download(client, world).data))
    assert workbook.sheetnames == [
        "Rules",
        "Judges' scores",
        "Aggregation",
        "Z-scores",
        "Ranks",
        "Awards",
        "Advancement",
    ]

    rules = rows_of(workbook["Rules"])
    assert rules[0][0] == "Results Cup · Semi-final"
    text = " ".join(row[0] for row in rules if row[0])
    assert "trimmed mean" in text and "at least 5 judges" in text

    scores = rows_of(workbook["Judges' scores"])
    assert scores[0] == (*TEAM_HEADERS, "Judge", "Innovation (inn, ≤ 60)", "Business (biz, ≤ 40)", "Total")
    expected = [
        (*TEAM[s], JUDGES[j], innovation(j), TOTALS[s][j] - innovation(j), TOTALS[s][j])
        for s in ORDER for j in range(5)
    ]  # fmt: skip
    assert scores[1:] == expected
    # spot checks written out: 评委E gave S1 56 + 37 = 93, 评委A gave S3 54 + 13 = 67
    assert (*TEAM[1], "评委E", 56, 37, 93) in scores
    assert (*TEAM[3], "评委A", 54, 13, 67) in scores


def test_each_aggregation_step(client, world):
    workbook = load_workbook(io.BytesIO(download(client, world).data))
    rows = rows_of(workbook["Aggregation"])
    assert rows[0] == (*TEAM_HEADERS, "Judges who scored", "Judges assigned", "Totals, lowest first",
                       "Untrimmed total (sum)", "Mean", "Trimmed?", "Dropped lowest total", "Dropped highest total",
                       "Trimmed mean", "Median", "Z-score mean (rescaled)", "Method used", "Score")  # fmt: skip
    # untrimmed sum and mean; trimmed: the lowest and the highest of 5 dropped, the middle 3 averaged;
    # median: the 3rd of 5; z-score: (87 × judges above their mean + 73 × those below) / 5
    assert rows[1:] == [
        (*TEAM[0], 5, 5, "73, 83, 83, 83, 87", 409, 81.8, "yes", "73 (评委A)", "87 (评委E)", 83, 83, 84.2,  # (4×87+73)/5
         "Trimmed mean", 83),
        (*TEAM[1], 5, 5, "67, 77, 77, 83, 93", 397, 79.4, "yes", "67 (评委A)", "93 (评委E)", 79, 77, 78.6,  # (2×87+3×73)/5
         "Trimmed mean", 79),
        (*TEAM[2], 5, 5, "73, 77, 77, 83, 93", 403, 80.6, "yes", "73 (评委A)", "93 (评委E)", 79, 77, 81.4,  # (3×87+2×73)/5
         "Trimmed mean", 79),
        (*TEAM[3], 5, 5, "67, 77, 77, 83, 87", 391, 78.2, "yes", "67 (评委A)", "87 (评委E)", 79, 77, 75.8,  # (87+4×73)/5
         "Trimmed mean", 79),
    ]  # fmt: skip


def test_zscores_per_judge_mean_sd_and_rescaled(client, world):
    workbook = load_workbook(io.BytesIO(download(client, world).data))
    rows = rows_of(workbook["Z-scores"])
    assert rows[0] == (*TEAM_HEADERS, "Judge", "Total", "Judge's mean", "Judge's standard deviation",
                       "z = (total − judge's mean) / judge's sd", "Round mean", "Round standard deviation",
                       "Rescaled = round mean + round sd × z")  # fmt: skip
    means = (70, 80, 80, 80, 90)
    expected = []
    for s in ORDER:
        for j in range(5):
            z = 1 if TOTALS[s][j] > means[j] else -1
            expected.append((*TEAM[s], JUDGES[j], TOTALS[s][j], means[j], 3, z, 80, 7, 80 + 7 * z))
    assert rows[1:] == expected
    assert (*TEAM[0], "评委E", 87, 90, 3, -1, 80, 7, 73) in rows  # the lenient judge's lower total


def test_ranks_awards_with_overrides_and_advancement(client, world):
    workbook = load_workbook(io.BytesIO(download(client, world).data))
    ranks = rows_of(workbook["Ranks"])
    assert ranks[0] == ("Rank in the track", "Overall rank", *TEAM_HEADERS, "Score",
                        "Tie-break 1: the higher untrimmed total (the sum of all the judges' totals)",
                        ranks[0][-1])  # fmt: skip
    assert ranks[0][-1].startswith("Tie-break 2: ")
    # S1, S2 and S3 all have 79: S2 (403) before S1 (397) before S3 (391) overall
    assert [row[:8] + row[8:9] for row in ranks[1:]] == [
        (1, 1, *TEAM[0], 83, 409),
        (2, 3, *TEAM[1], 79, 397),
        (1, 2, *TEAM[2], 79, 403),
        (2, 4, *TEAM[3], 79, 391),
    ]
    submitted = [row[9] for row in ranks[1:]]  # Beijing time, the tie-break after the total
    assert submitted == [(NOW - timedelta(hours=10 - s) + timedelta(hours=8)).replace(tzinfo=None) for s in ORDER]

    awards = rows_of(workbook["Awards"])
    assert awards[0] == ("Rank in the track", *TEAM_HEADERS, "Score", "Award by the rule", "Override",
                         "Reason of the override", "Award")  # fmt: skip
    assert awards[1:] == [
        (1, *TEAM[0], 83, "Gold award", None, None, "Gold award"),
        (2, *TEAM[1], 79, "Silver award", "Bronze award", OVERRIDE_REASON, "Bronze award"),
        (1, *TEAM[2], 79, "Gold award", None, None, "Gold award"),
        (2, *TEAM[3], 79, "Silver award", None, None, "Silver award"),
    ]

    advancement = rows_of(workbook["Advancement"])
    assert advancement[0] == ("Rank in the track", *TEAM_HEADERS, "Score", "Advances by the rule",
                              "In the next round (Final)", "Reason")  # fmt: skip
    assert advancement[1:] == [
        (1, *TEAM[0], 83, "yes", "advanced", None),
        (2, *TEAM[1], 79, "no", None, None),
        (1, *TEAM[2], 79, "yes", "advanced", None),
        (2, *TEAM[3], 79, "no", "repechage", REPECHAGE_REASON),
    ]


def test_text_that_looks_like_a_formula_stays_text(client, world):
    data = download(client, world).data
    workbook = load_workbook(io.BytesIO(data))
    seen = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    if cell.value[:1] in "=+-@":
                        seen.add(cell.value)
    assert {NASTY_TEAM, NASTY_PROJECT, OVERRIDE_REASON, REPECHAGE_REASON} <= seen
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name


def test_sheets_and_headers_follow_the_readers_language(app, client, login_as):
    world = results_world(locale="zh_Hans_CN")
    login_as(user=world.organizer)
    workbook = load_workbook(io.BytesIO(download(client, world).data))
    with force_locale("zh_Hans_CN"):
        names = [_(name)[:31] for name in ("Rules", "Judges' scores", "Aggregation", "Z-scores", "Ranks", "Awards",
                                           "Advancement")]  # fmt: skip
    assert workbook.sheetnames == names
    assert workbook.sheetnames[0] == "赛事规则"
    scores = rows_of(workbook.worksheets[1])
    assert scores[0][:7] == ("赛道", "团队", "项目", "所在院校", "所属省市", "评委", "创新 (inn, ≤ 60)")
    assert scores[1][:5] == ("创意组", "Alpha", "Project Alpha", "四川大学", "四川")
    assert rows_of(workbook.worksheets[0])[0][0] == "结果赛 · 复赛"
    disposition = client.get(f"{world.base()}/results.xlsx").headers["Content-Disposition"]
    assert quote("RX1-复赛-成绩.xlsx") in disposition  # the competition's code and the round's Chinese name


def test_an_unscored_round_exports_headers_only(app, client, login_as):
    world = results_world(score=False)
    login_as(user=world.organizer)
    workbook = load_workbook(io.BytesIO(download(client, world).data))
    assert len(rows_of(workbook["Judges' scores"])) == 1
    aggregation = rows_of(workbook["Aggregation"])
    assert [row[5:9] for row in aggregation[1:]] == [(0, 5, None, None)] * 4


@pytest.mark.parametrize("role", ["student", "judge"])
def test_only_organizers_download(app, client, login_as, role):
    world = results_world()
    login_as(role, competition=world.contest)
    assert client.get(f"{world.base()}/results.xlsx").status_code == 403


def test_a_judge_of_the_round_cannot_download(app, client, login_as):
    world = results_world()
    login_as(user=world.judges[0])
    assert client.get(f"{world.base()}/results.xlsx").status_code == 403
