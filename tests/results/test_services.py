"""The results service on real rows, with numbers worked out by hand.

Every case goes through what judges really do: assignments, scorecards saved and submitted with
competition.scoring.services.save, then competition.results.services.compute_round (every method,
flags, ranks, awards, advancement), overrides, notice and publication. The rubric is the preset
alliance-online-review: innovation 25, business 25, team 20, employment 20, twin_city 10 (100 in
all); a judge's total is split over the criteria in that order (see `points_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from competition.accounts.models import User
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db as _db
from competition.judging.models import Assignment, RoundJudge
from competition.results import services
from competition.results.models import ResultSnapshot, SnapshotKind
from competition.rounds.models import Round, RoundEntry
from competition.scoring import services as scoring
from competition.scoring.models import Scorecard
from competition.submissions.models import Submission
from tests import factories
from tests.scoring.world import NOW

pytestmark = pytest.mark.usefixtures("english")


# --- a round, its judges and their scorecards ----------------------------------------------------


@dataclass
class World:
    contest: object
    round: Round
    rubric: object
    organizer: User
    judges: list[User]
    submissions: list[Submission]


def build(
    teams: int | list[tuple[str, str]] = 2,
    judges: int = 1,
    *,
    panels: dict[int, list[int]] | None = None,
    level: str = "alliance",
    **round_fields,
) -> World:
    """`teams`: a number (one track, one institution) or (track code, institution code) per team;
    `panels`: submission index → the judge indexes assigned to it (default: every judge)."""
    if isinstance(teams, int):
        teams = [("idea", "SCU")] * teams
    contest = factories.competition(code="RES", state="judging")
    tracks = {}
    for track_code, _ in teams:
        if track_code not in tracks:
            tracks[track_code] = factories.track(contest, track_code, position=len(tracks))
    round_ = factories.round_(contest, level=level, judging_opens_at=NOW - timedelta(days=1),
                              judging_closes_at=NOW + timedelta(days=7), **round_fields)  # fmt: skip
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    rubric = scoring.create_rubric(round_, actor=organizer, preset_code="alliance-online-review")
    submissions = []
    for number, (track_code, institution_code) in enumerate(teams, start=1):
        team = factories.team(contest, state="approved", track_row=tracks[track_code],
                              institution_row=factories.institution(institution_code), name=f"团队{number:02d}")  # fmt: skip
        submission = Submission(round=round_, team=team, state="submitted", abstract="摘要")
        _db.session.add(submission)
        submissions.append(submission)
    people = []
    for _ in range(judges):
        judge = factories.user(institution=factories.institution("CQU"))
        factories.grant(judge, contest, "judge")
        _db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
        people.append(judge)
    _db.session.flush()
    for index, submission in enumerate(submissions):
        for judge_index in (panels or {}).get(index, range(judges)):
            _db.session.add(
                Assignment(round_id=round_.id, submission_id=submission.id, judge_id=people[judge_index].id)
            )
    _db.session.commit()
    return World(contest, round_, rubric, organizer, people, submissions)


def points_for(rubric, total: int, innovation: int | None = None) -> dict[int, str]:
    """`total` split over the criteria in order, each up to its maximum (innovation fixed if given)."""
    points, left = {}, total
    for criterion in rubric.criteria:
        if criterion.code == "innovation" and innovation is not None:
            given = innovation
        else:
            given = min(int(criterion.max_points), left)
        points[criterion.id] = str(given)
        left -= given
    assert left == 0, f"{total} does not fit the rubric"
    return points


def score(world: World, submission: int, judge: int, total: int, *, innovation: int | None = None,
          submit: bool = True, comment: str = "", overall: str = "", now=NOW) -> Scorecard:  # fmt: skip
    """Judge `judge` (index) scores submission `submission` (index) with `total`, as the scorecard page does."""
    person = world.judges[judge]
    assignment = _db.session.scalar(
        select(Assignment).where(Assignment.submission_id == world.submissions[submission].id,
                                 Assignment.judge_id == person.id)
    )  # fmt: skip
    existing = scoring.scorecard_for(assignment)
    points = points_for(world.rubric, total, innovation)
    comments = {world.rubric.criteria[0].id: comment} if comment else {}
    data = scoring.ScoreInput(points, comments, overall, existing.version if existing else 0)
    return scoring.save(assignment, judge=person, data=data, submit=submit, now=now)


def score_table(world: World, table: dict[int, list[int | None]], **options) -> None:
    """submission index → each judge's total in judge order (None: that judge does not score it)."""
    for submission, totals in table.items():
        for judge, total in enumerate(totals):
            if total is not None:
                score(world, submission, judge, total, **options)
    _db.session.commit()


def column(world: World, computation: services.Computation, key: str) -> list:
    """One value of every submission's row, in the order the submissions were built."""
    rows = {row["submission_id"]: row for row in computation.rows}
    return [rows[submission.id][key] for submission in world.submissions]


def settings(**values) -> services.ResultSettings:
    chosen = services.ResultSettings(**values)
    chosen.check()
    return chosen


def refused(action) -> str:
    with pytest.raises(DomainError) as caught:
        action()
    _db.session.rollback()  # as a view does
    return str(caught.value.message)


def audit(action: str) -> list[AuditEntry]:
    return list(_db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --- aggregation --------------------------------------------------------------------------------


def test_trimmed_mean_drops_one_highest_and_one_lowest_even_when_tied(app):
    world = build(teams=1, judges=5)
    score_table(world, {0: [80, 60, 90, 80, 90]})

    computation = services.compute_round(world.round, settings(method="trimmed"))

    (row,) = computation.rows
    # sorted 60 80 80 90 90: 60 and one 90 go → (80 + 80 + 90) / 3 = 83.333… → 83.33
    assert row["score"] == 83.33
    # every other method from the same totals: mean 400 / 5 = 80; median 80; each judge gave one
    # total (no spread to remove), so the z-score is the mean
    sid = world.submissions[0].id
    assert {method: values[sid] for method, values in computation.methods.items()} == {
        "mean": 80.0, "trimmed": 83.33, "median": 80.0, "zscore": 80.0,
    }  # fmt: skip
    assert (row["untrimmed_total"], row["judges"], row["expected_judges"], row["missing"]) == (400.0, 5, 5, 0)


def test_with_fewer_judges_than_the_trim_minimum_the_trimmed_mean_is_the_mean(app):
    world = build(teams=2, judges=4, panels={1: [0, 1, 2]})
    score_table(world, {0: [60, 90, 75, 80], 1: [70, 95, 81]})

    default = services.compute_round(world.round, settings(method="trimmed"))
    # 4 judges < 5: (60 + 90 + 75 + 80) / 4 = 76.25; 3 judges: (70 + 95 + 81) / 3 = 82
    assert column(world, default, "score") == [76.25, 82.0]
    # from 4 judges on: 60 and 90 go → (75 + 80) / 2 = 77.5; 3 judges still the mean
    assert column(world, services.compute_round(world.round, settings(trim_min_judges=4)), "score") == [77.5, 82.0]
    # median: (75 + 80) / 2 = 77.5 of four; 81 of three
    assert column(world, services.compute_round(world.round, settings(method="median")), "score") == [77.5, 81.0]
    assert column(world, default, "rank") == [2, 1]


def test_zscore_evens_out_a_harsh_and_a_lenient_judge(app):
    world = build(teams=3, judges=2)
    # judge 0 is harsh (50, 40, 30), judge 1 lenient (95, 85, 90)
    score_table(world, {0: [50, 95], 1: [40, 85], 2: [30, 90]})

    computation = services.compute_round(world.round, settings(method="zscore"))

    # the round: mean 390 / 6 = 65, sd √(4000 / 6) = 25.8199
    # harsh: mean 40, sd √(200 / 3) = 8.1650 → z = +1.2247, 0, −1.2247
    # lenient: mean 90, sd √(50 / 3) = 4.0825 → z = +1.2247, −1.2247, 0
    # rescaled 65 + 25.8199 × z, where 25.8199 × 1.2247 = √1000 = 31.6228:
    # S1 (96.6228 + 96.6228) / 2 = 96.62; S2 (65 + 33.3772) / 2 = 49.19; S3 (33.3772 + 65) / 2 = 49.19
    assert column(world, computation, "score") == [96.62, 49.19, 49.19]
    # the plain mean would put S2 (62.5) well above S3 (60): the lenient judge's low mark for S2
    # weighs as much as the harsh judge's low mark for S3
    assert [computation.methods["mean"][s.id] for s in world.submissions] == [72.5, 62.5, 60.0]
    # S2 and S3 tie at 49.19; the untrimmed total breaks it (125 > 120)
    assert column(world, computation, "rank") == [1, 2, 3]


# --- ranking ------------------------------------------------------------------------------------


def test_tie_break_chain_untrimmed_total_then_a_criterion_then_the_earlier_submission(app):
    world = build(teams=6, judges=5)
    score_table(world, {0: [70, 80, 80, 80, 90]})
    score_table(world, {1: [75, 80, 80, 80, 84]}, innovation=25)
    score_table(world, {index: [75, 80, 80, 80, 84] for index in (2, 3, 4, 5)}, innovation=20)
    at = [None, NOW - timedelta(hours=5), NOW - timedelta(hours=5), NOW - timedelta(hours=4),
          NOW - timedelta(hours=3), NOW - timedelta(hours=3)]  # fmt: skip
    for submission, when in zip(world.submissions, at, strict=True):
        submission.submitted_at = when
    _db.session.commit()

    chain = settings(method="trimmed", tie_breaks=["untrimmed_total", "criterion:innovation", "submitted_at"])
    computation = services.compute_round(world.round, chain)

    # all six: trimmed mean 80 ((80 + 80 + 80) / 3)
    assert set(column(world, computation, "score")) == {80.0}
    # S1's untrimmed total is 400, the others' 399 → S1 first
    assert column(world, computation, "untrimmed_total") == [400.0, 399.0, 399.0, 399.0, 399.0, 399.0]
    # S2's judges gave innovation 25 (mean 25), the others' 20 → S2 second
    # S3 handed in at 21:00, S4 at 22:00 → S3 third, S4 fourth; S5 and S6 both at 23:00 → share 5th
    assert column(world, computation, "rank") == [1, 2, 3, 4, 5, 5]

    # without the criterion, S2 and S3 (both handed in at 21:00) tie on everything
    plain = services.compute_round(world.round, replace(chain, tie_breaks=["untrimmed_total", "submitted_at"]))
    assert column(world, plain, "rank") == [1, 2, 2, 4, 5, 5]


def test_shared_ranks_are_one_two_two_four_and_a_tie_at_a_cut_off_shares_the_award(app):
    world = build(teams=4, judges=2)
    # S2 and S3 tie on the mean (85), the untrimmed total (170) and the time handed in (none)
    score_table(world, {0: [90, 90], 1: [85, 85], 2: [86, 84], 3: [80, 80]})

    computation = services.compute_round(world.round, settings(method="mean"))

    assert column(world, computation, "score") == [90.0, 85.0, 85.0, 80.0]
    assert column(world, computation, "rank") == [1, 2, 2, 4]
    assert column(world, computation, "rank_overall") == [1, 2, 2, 4]
    # 4 teams: gold 10 % → 0.4 → 0 places; + silver 30 % → 1.2 → 1; + bronze 60 % → 2.4 → 2 places:
    # S2 and S3 share rank 2, the last bronze place → both bronze (three awards for 60 %)
    assert column(world, computation, "award") == ["silver", "bronze", "bronze", None]


# --- awards -------------------------------------------------------------------------------------


@pytest.fixture
def fifteen(app) -> World:
    """15 teams, one judge: S1 99, S2 98, …, S15 85 (ranks 1 to 15)."""
    world = build(teams=15, judges=1)
    score_table(world, {index: [99 - index] for index in range(15)})
    return world


def test_awards_by_proportion_with_the_stated_rounding(fifteen):
    half_up = services.compute_round(fifteen.round, settings(rounding="half_up"))
    # gold 10 % of 15 = 1.5 → 2 places; gold + silver 30 % = 4.5 → 5; + bronze 60 % = 9 → 9
    assert column(fifteen, half_up, "award") == ["gold"] * 2 + ["silver"] * 3 + ["bronze"] * 4 + [None] * 6
    down = services.compute_round(fifteen.round, settings(rounding="down"))
    # 1.5 → 1, 4.5 → 4, 9 → 9: 1 gold, 3 silver, 5 bronze
    assert column(fifteen, down, "award") == ["gold"] + ["silver"] * 3 + ["bronze"] * 5 + [None] * 6
    up = services.compute_round(fifteen.round, settings(rounding="up", award_tiers=[["gold", 5], ["silver", 10]]))
    # 5 % = 0.75 → 1; 15 % = 2.25 → 3: 1 gold, 2 silver
    assert column(fifteen, up, "award") == ["gold"] + ["silver"] * 2 + [None] * 12


def test_awards_by_rank_cut_offs_and_by_score_thresholds(fifteen):
    by_rank = services.compute_round(
        fifteen.round, settings(award_mode="rank", award_tiers=[["gold", 1], ["silver", 3], ["bronze", 6]])
    )
    assert column(fifteen, by_rank, "award") == ["gold"] + ["silver"] * 2 + ["bronze"] * 3 + [None] * 9
    by_score = services.compute_round(
        fifteen.round, settings(award_mode="score", award_tiers=[["gold", 95], ["silver", 90], ["bronze", 88]])
    )
    # 99…95 gold, 94…90 silver, 89 and 88 bronze, 87…85 nothing
    assert column(fifteen, by_score, "award") == ["gold"] * 5 + ["silver"] * 5 + ["bronze"] * 2 + [None] * 3


def test_national_one_two_six_split(fifteen):
    national = services.compute_round(
        fifteen.round,
        settings(award_mode="ratio", awarded_percent=60, award_tiers=[["gold", 1], ["silver", 2], ["bronze", 6]]),
    )
    # 60 % awarded, split 1 : 2 : 6 → gold 6.67 %, silver 13.33 %, bronze 40 %; of 15 teams, cumulatively
    # 1.0 → 1, 3.0 → 3, 9.0 → 9 places: 1 gold, 2 silver, 6 bronze
    assert column(fifteen, national, "award") == ["gold"] + ["silver"] * 2 + ["bronze"] * 6 + [None] * 6


def test_a_tie_at_a_cut_off_gives_every_tied_team_the_better_award(app):
    world = build(teams=10, judges=1)
    score_table(world, {index: [total] for index, total in enumerate([99, 97, 95, 95, 93, 91, 89, 87, 85, 83])})

    computation = services.compute_round(world.round, settings())

    assert column(world, computation, "rank") == [1, 2, 3, 3, 5, 6, 7, 8, 9, 10]
    # 10 teams: gold 1 place, + silver 3, + bronze 6; S3 and S4 share rank 3, the last silver place
    # → silver holds 3 teams (30 % instead of 20 %), bronze keeps ranks 5 and 6
    assert (
        column(world, computation, "award") == ["gold", "silver", "silver", "silver", "bronze", "bronze"] + [None] * 4
    )


def test_award_overrides_need_a_reason_and_are_audited(fifteen):
    world = fifteen
    first, tenth, last = world.submissions[0], world.submissions[9], world.submissions[14]
    assert "reason" in refused(
        lambda: services.override_award(world.round, tenth, actor=world.organizer, award="gold", reason="  ")
    )
    assert (
        refused(
            lambda: services.override_award(world.round, tenth, actor=world.organizer, award="platinum", reason="x")
        )
        == "Unknown award."
    )

    tenth.state = "draft"  # given back to its team: not ranked, so no award either
    assert "handed-in" in refused(
        lambda: services.override_award(world.round, tenth, actor=world.organizer, award="gold", reason="复议")
    )
    tenth.state = "submitted"
    services.override_award(world.round, tenth, actor=world.organizer, award="gold", reason="评审委员会复议")
    services.override_award(world.round, last, actor=world.organizer, award="honourable", reason="最佳社会价值")
    services.override_award(world.round, first, actor=world.organizer, award=None, reason="材料存在抄袭")
    _db.session.commit()
    computation = services.compute_round(world.round)

    awards = column(world, computation, "award")
    assert (awards[0], awards[9], awards[14]) == (None, "gold", "honourable")
    rules = column(world, computation, "award_rule")
    assert (rules[0], rules[9], rules[14]) == ("gold", None, None)
    reasons = column(world, computation, "award_override_reason")
    assert (reasons[0], reasons[9], reasons[14]) == ("材料存在抄袭", "评审委员会复议", "最佳社会价值")
    assert awards[1:9] == ["gold"] + ["silver"] * 3 + ["bronze"] * 4  # the others keep the rule's award
    entries = audit("results.override_award")
    assert [(e.object_id, e.details["new"], e.details["reason"]) for e in entries] == [
        (str(tenth.id), "gold", "评审委员会复议"), (str(last.id), "honourable", "最佳社会价值"),
        (str(first.id), "", "材料存在抄袭"),
    ]  # fmt: skip
    assert all(entry.actor_id == world.organizer.id for entry in entries)

    services.remove_override(world.round, first, actor=world.organizer)
    _db.session.commit()
    assert column(world, services.compute_round(world.round), "award")[0] == "gold"
    assert len(audit("results.remove_override")) == 1


# --- advancement --------------------------------------------------------------------------------


@pytest.fixture
def two_tracks(app) -> World:
    """Track idea: S1 90, S2 85, S3 85, S4 80; track startup: S5 95, S6 70, S7 60."""
    world = build(teams=[("idea", "SCU")] * 4 + [("startup", "SCU")] * 3, judges=1)
    score_table(world, {index: [total] for index, total in enumerate([90, 85, 85, 80, 95, 70, 60])})
    factories.round_(world.contest, position=2, name_zh="决赛", level="alliance", entry_rule="advanced")
    _db.session.commit()
    return world


def test_ranks_and_advancement_are_per_track_with_ties(two_tracks):
    world = two_tracks
    top_two = services.compute_round(world.round, settings(advancement_mode="top_n", advancement_value=2))
    assert column(world, top_two, "rank") == [1, 2, 2, 4, 1, 2, 3]
    assert column(world, top_two, "rank_overall") == [2, 3, 3, 5, 1, 6, 7]
    # the top 2 of each track; S3 ties with S2 at rank 2 and advances too
    assert column(world, top_two, "advances") == [True, True, True, False, True, True, False]
    # rows come track by track, in rank order
    assert [row["submission_id"] for row in top_two.rows] == [world.submissions[i].id for i in range(7)]

    half = services.compute_round(world.round, settings(advancement_mode="top_percent", advancement_value=50))
    # idea: 50 % of 4 = 2 places (S1, and S2 and S3 tied at 2); startup: 1.5 → 2 places (half up)
    assert column(world, half, "advances") == [True, True, True, False, True, True, False]
    down = services.compute_round(
        world.round, settings(advancement_mode="top_percent", advancement_value=50, rounding="down")
    )
    # startup: 1.5 → 1 place
    assert column(world, down, "advances") == [True, True, True, False, True, False, False]
    # awards are per track too: idea gold 0.4 → 0, silver 1.2 → 1, bronze 2.4 → 2 (S2 and S3 tied);
    # startup 3 teams: 0.3 → 0, 0.9 → 1, 1.8 → 2
    assert column(world, half, "award") == ["silver", "bronze", "bronze", None, "silver", "bronze", None]


def test_apply_advancement_enters_the_advancing_teams_once_and_repechage_needs_a_reason(two_tracks):
    world = two_tracks
    services.save_settings(world.round, actor=world.organizer,
                           settings=settings(advancement_mode="top_n", advancement_value=1))  # fmt: skip
    _db.session.commit()

    assert services.apply_advancement(world.round, actor=world.organizer) == 2  # S1 and S5
    _db.session.commit()
    assert services.apply_advancement(world.round, actor=world.organizer) == 0  # idempotent
    _db.session.commit()
    final = services.next_round_of(world.round)
    entries = {entry.team_id: entry for entry in _db.session.scalars(select(RoundEntry))}
    assert set(entries) == {world.submissions[0].team_id, world.submissions[4].team_id}
    assert {(entry.round_id, entry.source, entry.from_round_id) for entry in entries.values()} == {
        (final.id, "advanced", world.round.id)
    }

    seventh = world.submissions[6].team
    assert "reason" in refused(lambda: services.add_repechage(world.round, seventh, actor=world.organizer, reason=""))
    entry = services.add_repechage(world.round, seventh, actor=world.organizer, reason="路演视频因平台故障未能播放")
    _db.session.commit()
    assert (entry.round_id, entry.source, entry.reason) == (final.id, "repechage", "路演视频因平台故障未能播放")
    assert "already in" in refused(
        lambda: services.add_repechage(world.round, seventh, actor=world.organizer, reason="再次")
    )
    assert audit("results.repechage")[0].details["reason"] == "路演视频因平台故障未能播放"
    assert [entry.details["added"] for entry in audit("results.advance")] == [2, 0]
    services.save_settings(world.round, actor=world.organizer, settings=settings(advancement_mode="none"))
    assert "No team advances" in refused(lambda: services.apply_advancement(world.round, actor=world.organizer))
    stranger = factories.team(factories.competition(), state="approved")
    assert "not in this competition" in refused(
        lambda: services.add_repechage(world.round, stranger, actor=world.organizer, reason="理由")
    )


def test_a_school_round_advances_each_institutions_best_teams_up_to_its_quota(app):
    world = build(teams=[("idea", "SCU")] * 3 + [("idea", "CQU")] * 2, judges=1, level="institution",
                  quota_kind="count", quota_value=1)  # fmt: skip
    score_table(world, {index: [total] for index, total in enumerate([90, 85, 80, 88, 70])})
    chosen = settings(advancement_mode="top_n", advancement_value=1)

    # one per institution: SCU's 90 and CQU's 88 (the track's top 1 alone would be SCU's 90 only)
    assert column(world, services.compute_round(world.round, chosen), "advances") == [True, False, False, True, False]

    world.round.quota_kind, world.round.quota_value = "percent", 50
    _db.session.commit()
    # 50 %: SCU ⌈3 × 0.5⌉ = 2 (90, 85), CQU ⌈2 × 0.5⌉ = 1 (88)
    assert column(world, services.compute_round(world.round, chosen), "advances") == [True, True, False, True, False]
    # without an advancement rule nobody advances
    assert not any(column(world, services.compute_round(world.round, settings()), "advances"))


# --- flags --------------------------------------------------------------------------------------


def test_flags_missing_scores_disagreement_and_an_outlying_judge(app):
    world = build(teams=3, judges=3)
    score_table(world, {0: [80, 82, 50], 1: [70, 71, 40], 2: [90]})
    score(world, 2, 1, 95, submit=False)  # a draft is not a score
    _db.session.commit()

    by_range = services.compute_round(world.round, settings(max_range=20))

    # S3: 3 judges assigned, 1 scorecard submitted → 2 missing
    assert column(world, by_range, "missing") == [0, 0, 2]
    assert column(world, by_range, "judges") == [3, 3, 1]
    assert column(world, by_range, "expected_judges") == [3, 3, 3]
    # ranges 82 − 50 = 32 and 71 − 40 = 31 are above 20
    assert column(world, by_range, "disagreement") == [32.0, 31.0, None]
    # judge 3 on S1: sd of (80, 82, 50) = 14.636, (50 − 81) / 14.636 = −2.118;
    # on S2: sd of (70, 71, 40) = 14.384, (40 − 70.5) / 14.384 = −2.120 → mean −2.12 (beyond 1.5)
    # judge 1: (80 − 66) / 14.636 = 0.957, (70 − 55.5) / 14.384 = 1.008 → 0.98; judge 2 → 1.14
    assert by_range.flags.outlying_judges == {world.judges[2].id: -2.12}
    assert by_range.flags.missing == {world.submissions[2].id: 2}

    by_sd = services.compute_round(world.round, settings(max_sd=14.5))
    # sd 14.64 > 14.5 is flagged, 14.38 is not
    assert column(world, by_sd, "disagreement") == [14.64, None, None]
    lenient = services.compute_round(world.round, settings(judge_deviation=2.5))
    assert lenient.flags.outlying_judges == {}


# --- notice and publication ---------------------------------------------------------------------


def test_notice_then_appeal_window_then_publication(app):
    world = build(teams=2, judges=1)
    score_table(world, {0: [88], 1: [77]})
    services.save_settings(world.round, actor=world.organizer, settings=settings(notice_days=7))
    _db.session.commit()

    notice = services.start_notice(world.round, actor=world.organizer, now=NOW)
    _db.session.commit()
    assert (notice.kind, notice.notice_until) == ("notice", NOW + timedelta(days=7))
    assert services.public_snapshot(world.round).id == notice.id
    assert [row["score"] for row in notice.rows] == [88.0, 77.0]

    message = refused(lambda: services.publish(world.round, actor=world.organizer, now=NOW + timedelta(days=6)))
    assert message.startswith("The public notice runs until")
    assert services.current_snapshot(world.round, SnapshotKind.PUBLISHED) is None

    published = services.publish(world.round, actor=world.organizer, now=NOW + timedelta(days=7))
    _db.session.commit()
    assert published.kind == "published" and published.reason is None
    assert services.public_snapshot(world.round).id == published.id
    assert published.rows == services.compute_round(world.round).rows
    assert refused(lambda: services.start_notice(world.round, actor=world.organizer, now=NOW + timedelta(days=8))) == (
        "The results are already published."
    )
    assert [entry.action for entry in audit("results.notice") + audit("results.published")] == [
        "results.notice", "results.published",
    ]  # fmt: skip


def test_a_round_without_a_notice_period_publishes_directly(app):
    world = build(teams=1, judges=1)
    score_table(world, {0: [60]})
    services.save_settings(world.round, actor=world.organizer, settings=settings(notice_days=0))
    _db.session.commit()
    assert "no public-notice period" in refused(
        lambda: services.start_notice(world.round, actor=world.organizer, now=NOW)
    )
    assert services.publish(world.round, actor=world.organizer, now=NOW).kind == "published"


def test_nothing_scored_nothing_to_publish(app):
    world = build(teams=2, judges=1)
    message = refused(lambda: services.publish(world.round, actor=world.organizer, now=NOW))
    assert message == "No submission of this round has been scored yet."
    assert _db.session.scalars(select(ResultSnapshot)).all() == []


def test_publishing_again_needs_a_reason_and_supersedes_the_first(app):
    world = build(teams=3, judges=1)
    score_table(world, {0: [90], 1: [80], 2: [70]})
    first = services.publish(world.round, actor=world.organizer, now=NOW)
    _db.session.commit()
    first_rows = first.rows

    later = NOW + timedelta(hours=1)
    assert "reason" in refused(lambda: services.publish(world.round, actor=world.organizer, now=later))
    services.override_award(world.round, world.submissions[2], actor=world.organizer, award="honourable",
                            reason="最佳创意")  # fmt: skip
    second = services.publish(world.round, actor=world.organizer, now=later, reason="复议后增设优秀奖")
    _db.session.commit()
    _db.session.expire_all()

    first = _db.session.get(ResultSnapshot, first.id)
    assert first.superseded_at == later and first.rows == first_rows
    assert services.current_snapshot(world.round, SnapshotKind.PUBLISHED).id == second.id
    assert [row["award"] for row in second.rows] == ["silver", "bronze", "honourable"]
    assert [row["award"] for row in first.rows] == ["silver", "bronze", None]
    published = audit("results.published")
    assert [(entry.details["replaces"], entry.details["reason"]) for entry in published] == [
        (None, None), (first.id, "复议后增设优秀奖"),
    ]  # fmt: skip


def test_publication_closes_judging_and_the_snapshot_never_changes_afterwards(app):
    world = build(teams=2, judges=2)
    score_table(world, {0: [90, 80], 1: [70, None]})
    snapshot = services.publish(world.round, actor=world.organizer, now=NOW)
    _db.session.commit()
    frozen = [dict(row) for row in snapshot.rows]
    assert world.round.judging_closes_at == NOW

    # a late score, at the moment of publication or after, is refused
    for when in (NOW, NOW + timedelta(seconds=1)):
        message = refused(lambda when=when: score(world, 1, 1, 99, now=when))
        assert "is not open" in message
    assert _db.session.scalar(select(Scorecard).where(Scorecard.judge_id == world.judges[1].id,
                                                      Scorecard.submission_id == world.submissions[1].id)) is None  # fmt: skip

    # the organizers reopen judging and a scorecard; the judge changes the score; an award is overridden
    world.round.judging_closes_at = NOW + timedelta(days=1)
    card = _db.session.scalar(select(Scorecard).where(Scorecard.submission_id == world.submissions[0].id,
                                                      Scorecard.judge_id == world.judges[0].id))  # fmt: skip
    scoring.reopen(card, actor=world.organizer, reason="录入错误", now=NOW + timedelta(hours=1))
    score(world, 0, 0, 40, now=NOW + timedelta(hours=2))
    score(world, 1, 1, 99, now=NOW + timedelta(hours=2))
    services.override_award(world.round, world.submissions[1], actor=world.organizer, award="gold", reason="复议")
    _db.session.commit()
    _db.session.expire_all()

    assert _db.session.get(ResultSnapshot, snapshot.id).rows == frozen
    assert [row["score"] for row in frozen] == [85.0, 70.0]
    now_computed = services.compute_round(world.round)
    assert [row["score"] for row in now_computed.rows] == [84.5, 60.0]
    assert now_computed.rows != frozen


def test_the_snapshot_holds_feedback_with_anonymous_judges_and_statistics(app):
    world = build(teams=1, judges=2)
    score(world, 0, 0, 80, comment="创新点清晰", overall="整体不错")
    score(world, 0, 1, 70, overall="市场分析不足")
    _db.session.commit()

    snapshot = services.publish(world.round, actor=world.organizer, now=NOW)

    feedback = snapshot.feedback[str(world.submissions[0].id)]
    texts = sorted(comment["text"] for comment in feedback["comments"])
    assert texts == ["创新点清晰", "市场分析不足", "整体不错"]
    assert {comment["judge"] for comment in feedback["comments"]} == {"A", "B"}
    # each criterion's mean over the judges: innovation 25 and 25, business 25 and 25, team 20 and
    # 20, employment 10 and 0 (80 and 70 split in rubric order) → 5, twin_city 0
    means = {criterion["code"]: criterion["mean"] for criterion in feedback["criteria"]}
    assert means == {"innovation": 25.0, "business": 25.0, "team": 20.0, "employment": 5.0, "twin_city": 0.0}
    text = repr(snapshot.feedback)
    for judge in world.judges:
        assert judge.real_name not in text and judge.email not in text
    assert snapshot.statistics["tracks"] == {"创意组": [75.0]}
