"""A round's results from its submitted scorecards: compute (every method, flags, ranks, awards,
advancement), preview, public notice and appeals, publication as a frozen snapshot, overrides,
advancement into the next round and repechage.

The arithmetic is in competition.results.compute (pure functions, checked by hand). Nothing of
scores, ranks or awards is shown to students before a snapshot exists: pages read snapshots only,
never a live computation.
"""

from __future__ import annotations

import gc
import hmac
import itertools
import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.competitions.models import Track
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.mail import external_url, internal_path, queue_mail
from competition.core.time import to_local
from competition.extensions import db
from competition.institutions.models import Institution
from competition.judging.models import Assignment
from competition.results import compute
from competition.results.models import AwardOverride, ResultSnapshot, SnapshotKind
from competition.rounds.models import EntrySource, Round, RoundEntry, RoundLevel
from competition.scoring.models import Criterion, Scorecard, ScorecardState, ScoreValue
from competition.submissions.models import Submission, SubmissionState
from competition.teams.models import Team, TeamMember

AWARD_MODES = ("proportion", "ratio", "rank", "score", "none")
ADVANCEMENT_MODES = ("none", "top_n", "top_percent")
TIE_BREAKS = ("untrimmed_total", "submitted_at")  # plus "criterion:<code>"
AWARD_CODES = ("gold", "silver", "bronze", "honourable")


@dataclass
class ResultSettings:
    method: str = "trimmed"
    trim_min_judges: int = 5
    max_range: float | None = None
    max_sd: float | None = None
    judge_deviation: float = 1.5
    tie_breaks: list[str] = field(default_factory=lambda: ["untrimmed_total", "submitted_at"])
    award_mode: str = "proportion"
    #: proportion: [[award, percent]]; ratio: [[award, weight]]; rank: [[award, last rank]];
    #: score: [[award, minimum score]] — best award first
    award_tiers: list[list] = field(default_factory=lambda: [["gold", 10], ["silver", 20], ["bronze", 30]])
    awarded_percent: float = 30
    rounding: str = "half_up"
    advancement_mode: str = "none"
    advancement_value: float = 0
    notice_days: int = 7
    show_scores: bool = True

    @classmethod
    def for_round(cls, round_: Round) -> ResultSettings:
        stored = {key: value for key, value in (round_.result_settings or {}).items() if key in cls.__annotations__}
        return cls(**stored)

    def check(self) -> None:
        if self.method not in compute.METHODS:
            raise DomainError(_l("Please choose how the judges' scores are combined."), field="method")
        if not 3 <= self.trim_min_judges <= 50:
            raise DomainError(_l("Trimming needs at least 3 judges."), field="trim_min_judges")
        for key in self.tie_breaks:
            if key not in TIE_BREAKS and not key.startswith("criterion:"):
                raise DomainError(_l("Unknown tie-break."), field="tie_breaks")
        if self.award_mode not in AWARD_MODES:
            raise DomainError(_l("Please choose how awards are given."), field="award_mode")
        if any(len(tier) != 2 or tier[0] not in AWARD_CODES or not _number(tier[1]) for tier in self.award_tiers):
            raise DomainError(_l("Each award tier names an award and a number."), field="award_tiers")
        if len({tier[0] for tier in self.award_tiers}) != len(self.award_tiers):
            raise DomainError(_l("Each award can be given by one tier only."), field="award_tiers")
        if [tier[0] for tier in self.award_tiers] != sorted((t[0] for t in self.award_tiers), key=AWARD_CODES.index):
            raise DomainError(_l("Give the best award first, with the strictest number."), field="award_tiers")
        if any(float(tier[1]) < 0 for tier in self.award_tiers):
            raise DomainError(_l("The numbers of the award tiers cannot be negative."), field="award_tiers")
        whole = all(float(tier[1]) == int(tier[1]) and tier[1] >= 1 for tier in self.award_tiers)
        if self.award_mode in ("ratio", "rank") and not whole:
            raise DomainError(_l("Ratios and rank cut-offs are whole numbers from 1."), field="award_tiers")
        if self.award_mode == "ratio" and not 0 < self.awarded_percent <= 100:
            raise DomainError(_l("A percentage is between 0 and 100."), field="awarded_percent")
        if self.award_mode in ("rank", "score") and not _ordered(
            self.award_tiers, descending=self.award_mode == "score"
        ):
            raise DomainError(_l("Give the best award first, with the strictest number."), field="award_tiers")
        if self.award_mode == "proportion" and sum(float(tier[1]) for tier in self.award_tiers) > 100:
            raise DomainError(_l("The award shares add up to more than 100 %."), field="award_tiers")
        if self.rounding not in compute.ROUNDING_RULES:
            raise DomainError(_l("Unknown rounding rule."), field="rounding")
        if self.advancement_mode not in ADVANCEMENT_MODES:
            raise DomainError(_l("Please choose how teams advance."), field="advancement_mode")
        if self.advancement_mode == "top_percent" and not 0 < self.advancement_value <= 100:
            raise DomainError(_l("A percentage is between 0 and 100."), field="advancement_value")
        if self.advancement_mode == "top_n" and (
            self.advancement_value < 1 or self.advancement_value != int(self.advancement_value)
        ):
            raise DomainError(_l("At least one team advances."), field="advancement_value")
        for name in ("max_range", "max_sd"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise DomainError(_l("A threshold cannot be negative."), field=name)
        if not 0 < self.judge_deviation <= 10:
            raise DomainError(_l("Between 0 and 10 standard deviations."), field="judge_deviation")
        if not 0 <= self.notice_days <= 30:
            raise DomainError(_l("The public notice lasts 0 to 30 days."), field="notice_days")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ordered(tiers: list[list], *, descending: bool) -> bool:
    """Rank cut-offs grow from the best award down; score thresholds shrink."""
    numbers = [float(value) for _, value in tiers]
    return all((a > b) if descending else (a < b) for a, b in itertools.pairwise(numbers))


def save_settings(round_: Round, *, actor: User, settings: ResultSettings) -> None:
    settings.check()
    old = round_.result_settings or {}
    round_.result_settings = asdict(settings)
    audit.record(actor, "results.settings", round_, old=old, new=round_.result_settings)


# --- gathering the scores -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstitutionInfo:
    id: int
    name_zh: str
    name_en: str
    side: str


@dataclass(frozen=True, slots=True)
class TrackInfo:
    id: int
    name_zh: str
    name_en: str
    position: int


@dataclass(frozen=True, slots=True)
class TeamInfo:
    id: int
    name: str
    project_title: str
    track_id: int
    institution_id: int
    track: TrackInfo
    institution: InstitutionInfo


@dataclass(frozen=True, slots=True)
class SubmissionInfo:
    """What the results need of a submission and its team: read as plain columns (5,000 teams as
    mapped objects, with their institutions and tracks, take about a second to load)."""

    id: int
    team_id: int
    submitted_at: datetime | None
    team: TeamInfo


@dataclass
class Gathered:
    submissions: dict[int, SubmissionInfo]
    totals: dict[tuple[int, int], float]  # (submission, judge) → total
    criteria: dict[str, dict]  # code → {name_zh, name_en, max}
    values: dict[int, dict[str, list[float]]]  # submission → criterion code → judges' points
    comments: dict[int, list[tuple[int, str, str]]]  # submission → (judge, criterion code or "", text)
    expected: dict[int, int]  # submission → judges assigned
    #: (submission, judge) → criterion code → points: every judge's scores, for the export
    points: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)
    _by_submission: dict[int, list[float]] | None = field(default=None, repr=False, compare=False)

    def totals_of(self, submission_id: int) -> list[float]:
        """The judges' totals of one submission (an index built once: no scan of every total per row)."""
        if self._by_submission is None:
            self._by_submission = defaultdict(list)
            for (sid, _), total in self.totals.items():
                self._by_submission[sid].append(total)
        return self._by_submission.get(submission_id, [])


@contextmanager
def _no_cycle_collection():
    """Computing a large round's results allocates some hundred thousand tuples, lists and dicts,
    none of them in a reference cycle, and the cycle collector would run over and over meanwhile
    (a third of the time at 5,000 submissions). Reference counting still frees everything; the
    collector runs again afterwards. Usable as a decorator."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _plain_rows(connection, statement) -> list[tuple]:
    """A query's rows as the database driver returns them: plain tuples. For the 150,000 values of a
    large round, building SQLAlchemy's Row objects costs as much as running the query. Only for
    columns the driver returns ready to use (integers, floats, text): no type conversion runs."""
    result = connection.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


@_no_cycle_collection()
def gather(round_: Round) -> Gathered:
    """The round's handed-in submissions and their submitted scorecards, in a few queries.

    Only scorecards of judges still on the submission's panel count: a judge taken off a panel
    after scoring (a conflict of interest found late) keeps the scorecard on record (the scoring
    export lists it) but no longer weighs on the result."""
    institutions: dict[int, InstitutionInfo] = {}
    tracks: dict[int, TrackInfo] = {}
    submissions: dict[int, SubmissionInfo] = {}
    for row in db.session.execute(
        select(Submission.id, Submission.submitted_at, Team.id, Team.name, Team.project_title,
               Track.id, Track.name_zh, Track.name_en, Track.position,
               Institution.id, Institution.name_zh, Institution.name_en, Institution.side)
        .join(Team, Team.id == Submission.team_id)
        .join(Track, Track.id == Team.track_id)
        .join(Institution, Institution.id == Team.institution_id)
        .where(Submission.round_id == round_.id, Submission.state == SubmissionState.SUBMITTED)
        .order_by(Submission.id)
    ):  # fmt: skip
        track = tracks.get(row[5]) or tracks.setdefault(row[5], TrackInfo(*row[5:9]))
        institution = institutions.get(row[9]) or institutions.setdefault(row[9], InstitutionInfo(*row[9:13]))
        team = TeamInfo(row[2], row[3], row[4], track.id, institution.id, track, institution)
        submissions[row[0]] = SubmissionInfo(row[0], team.id, row[1], team)
    # plain columns on the session's connection, not ORM objects: 5,000 submissions are 25,000
    # scorecards and 150,000 values, which as mapped objects alone take seconds to load. Points and
    # totals come as floats (whole or half points: exact in binary, as float(Decimal) gave them).
    connection = db.session.connection()  # the query above has flushed the session
    counted = (
        Scorecard.round_id == round_.id,
        Scorecard.state == ScorecardState.SUBMITTED,
        Scorecard.assignment_id.is_not(None),
    )
    cards: dict[int, tuple[int, int]] = {}  # scorecard → (submission, judge)
    totals: dict[tuple[int, int], float] = {}
    comments: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for card_id, submission_id, judge_id, total, overall_comment in _plain_rows(
        connection,
        select(Scorecard.id, Scorecard.submission_id, Scorecard.judge_id, cast(Scorecard.total, Float),
               Scorecard.overall_comment)
        .where(*counted)
        .order_by(Scorecard.id),
    ):  # fmt: skip
        if submission_id not in submissions:
            continue
        cards[card_id] = (submission_id, judge_id)
        totals[(submission_id, judge_id)] = float(total or 0)
        if overall_comment:
            comments[submission_id].append((judge_id, "", overall_comment))
    # the criteria in the rubrics' order (a round may have one rubric per track; a code shared by
    # two rubrics is named by the first)
    criterion_rows = connection.execute(
        select(Criterion.id, Criterion.code, Criterion.name_zh, Criterion.name_en, cast(Criterion.max_points, Float))
        .where(Criterion.rubric_id.in_(select(Scorecard.rubric_id).where(*counted).distinct()))
        .order_by(Criterion.rubric_id, Criterion.position, Criterion.id)
    ).all()  # fmt: skip
    code_of = {row[0]: row[1] for row in criterion_rows}
    values: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    points: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    # the points in no particular order (sums of whole and half points are exact in any order);
    # the comments apart, only those written (most values have none)
    for card_id, criterion_id, value in _plain_rows(
        connection,
        select(ScoreValue.scorecard_id, ScoreValue.criterion_id, cast(ScoreValue.points, Float))
        .join(Scorecard, Scorecard.id == ScoreValue.scorecard_id)
        .where(*counted),
    ):
        key = cards.get(card_id)
        if key is not None:
            code = code_of[criterion_id]
            values[key[0]][code].append(value)
            points[key][code] = value
    for card_id, criterion_id, comment in _plain_rows(
        connection,
        select(ScoreValue.scorecard_id, ScoreValue.criterion_id, ScoreValue.comment)
        .join(Scorecard, Scorecard.id == ScoreValue.scorecard_id)
        .where(*counted, ScoreValue.comment != "")
        .order_by(ScoreValue.id),
    ):
        key = cards.get(card_id)
        if key is not None:
            comments[key[0]].append((key[1], code_of[criterion_id], comment))
    used = {code for per_criterion in values.values() for code in per_criterion}
    criteria: dict[str, dict] = {}
    for _id, code, name_zh, name_en, maximum in criterion_rows:
        if code in used:
            criteria.setdefault(code, {"name_zh": name_zh, "name_en": name_en, "max": float(maximum)})
    expected: dict[int, int] = defaultdict(int)
    for (submission_id,) in _plain_rows(
        connection, select(Assignment.submission_id).where(Assignment.round_id == round_.id)
    ):
        if submission_id in submissions:  # a submission given back to its team is not ranked
            expected[submission_id] += 1
    return Gathered(submissions, totals, criteria, values, dict(comments), dict(expected), dict(points))


# --- computing ----------------------------------------------------------------------------------


@dataclass
class Computation:
    settings: ResultSettings
    rows: list[dict[str, Any]]  # ordered: track, then rank
    flags: compute.Flags
    methods: dict[str, dict[int, float | None]]  # every method's aggregate, for the export
    gathered: Gathered


def _tie_values(settings: ResultSettings, submission: SubmissionInfo, gathered: Gathered) -> tuple:
    values = []
    mine = gathered.totals_of(submission.id)
    for key in settings.tie_breaks:
        if key == "untrimmed_total":
            values.append(round(sum(mine), 2))
        elif key == "submitted_at":
            values.append(-(submission.submitted_at.timestamp() if submission.submitted_at else float("inf")))
        elif key.startswith("criterion:"):
            points = gathered.values.get(submission.id, {}).get(key.split(":", 1)[1], [])
            values.append(round(compute.mean(points), 2) if points else -1.0)
    return tuple(values)


def _awards(settings: ResultSettings, ranks: dict[int, int], scores: dict[int, float | None]) -> dict[int, str]:
    tiers = [(str(name), float(value)) for name, value in settings.award_tiers]
    if settings.award_mode == "proportion":
        return compute.tiers_by_proportion(ranks, tiers, settings.rounding)
    if settings.award_mode == "ratio":
        return compute.tiers_by_proportion(
            ranks, compute.ratio_tiers(settings.awarded_percent, [(n, int(v)) for n, v in tiers]), settings.rounding
        )
    if settings.award_mode == "rank":
        return compute.tiers_by_rank(ranks, [(name, int(value)) for name, value in tiers])
    if settings.award_mode == "score":
        return compute.tiers_by_score({sid: scores.get(sid) for sid in ranks}, tiers)
    return {}


def _advancing(round_: Round, settings: ResultSettings, ranks_by_track: dict[int, dict[int, int]],
               gathered: Gathered) -> set[int]:  # fmt: skip
    if settings.advancement_mode == "none":
        return set()
    if round_.level == RoundLevel.INSTITUTION and round_.quota_kind:
        # school rounds: each institution's best teams up to its quota
        by_institution: dict[int, dict[int, int]] = defaultdict(dict)
        for ranks in ranks_by_track.values():
            for sid, position in ranks.items():
                by_institution[gathered.submissions[sid].team.institution_id][sid] = position
        chosen = set()
        for ranks in by_institution.values():
            quota = round_.quota_for(len(ranks)) or 0
            ordered = compute.rank([compute.Entry(sid, -position) for sid, position in ranks.items()])
            chosen.update(sid for sid, position in ordered.items() if position <= quota)
        return chosen
    if settings.advancement_mode == "top_n":
        return compute.advance_top(ranks_by_track, top_n=int(settings.advancement_value))
    return compute.advance_top(ranks_by_track, top_percent=settings.advancement_value, rounding=settings.rounding)


@_no_cycle_collection()
def compute_round(round_: Round, settings: ResultSettings | None = None) -> Computation:
    settings = settings or ResultSettings.for_round(round_)
    gathered = gather(round_)
    methods = {
        method: compute.aggregate(gathered.totals, method, trim_min_judges=settings.trim_min_judges)
        for method in compute.METHODS
    }
    scores = methods[settings.method]
    found = compute.flags(gathered.totals, gathered.expected, max_range=settings.max_range, max_sd=settings.max_sd,
                          judge_deviation=settings.judge_deviation)  # fmt: skip
    entries = {
        sid: compute.Entry(sid, scores.get(sid), _tie_values(settings, submission, gathered))
        for sid, submission in gathered.submissions.items()
    }
    by_track: dict[int, list[compute.Entry]] = defaultdict(list)
    for sid, entry in entries.items():
        by_track[gathered.submissions[sid].team.track_id].append(entry)
    ranks_by_track = {track_id: compute.rank(items) for track_id, items in by_track.items()}
    overall = compute.rank(entries.values())
    awards = {}
    for track_ranks in ranks_by_track.values():
        awards.update(_awards(settings, track_ranks, scores))
    overrides = {
        row.submission_id: row
        for row in db.session.scalars(select(AwardOverride).where(AwardOverride.round_id == round_.id))
    }
    advancing = _advancing(round_, settings, ranks_by_track, gathered)
    rows = []
    for sid, submission in gathered.submissions.items():
        team = submission.team
        override = overrides.get(sid)
        track_rank = ranks_by_track.get(team.track_id, {}).get(sid)
        rows.append({
            "submission_id": sid,
            "team_id": team.id,
            "team_name": team.name,
            "project_title": team.project_title,
            "institution_zh": team.institution.name_zh,
            "institution_en": team.institution.name_en,
            "side": team.institution.side,
            "track_id": team.track_id,
            "track_zh": team.track.name_zh,
            "track_en": team.track.name_en,
            "track_position": team.track.position,
            "score": scores.get(sid),
            "untrimmed_total": round(sum(gathered.totals_of(sid)), 2),
            "judges": len(gathered.totals_of(sid)),
            "expected_judges": gathered.expected.get(sid, 0),
            "rank": track_rank,
            "rank_overall": overall.get(sid),
            "award": (override.award or None) if override else awards.get(sid),
            "award_rule": awards.get(sid),
            "award_override_reason": override.reason if override else None,
            "advances": sid in advancing,
            "missing": found.missing.get(sid, 0),
            "disagreement": found.disagreement.get(sid),
        })  # fmt: skip
    rows.sort(key=lambda row: (row["track_position"], row["track_id"], row["rank"] or 10**9, row["team_name"]))
    return Computation(settings, rows, found, methods, gathered)


def _judge_letter(index: int) -> str:
    """A, B, … Z, then A2, B2, …: never two judges of one submission with the same label."""
    letter = chr(ord("A") + index % 26)
    return letter if index < 26 else f"{letter}{index // 26 + 1}"


@_no_cycle_collection()
def feedback(computation: Computation) -> dict[str, Any]:
    """Per submission: each criterion's mean and maximum, and the judges' comments with the judges
    anonymized (Judge A, B, … in an order that does not follow who they are)."""
    gathered = computation.gathered
    secret = str(current_app.secret_key).encode()
    result = {}
    for sid in gathered.submissions:
        given = gathered.values.get(sid, {})
        criteria = [
            {"code": code, "name_zh": meta["name_zh"], "name_en": meta["name_en"], "max": meta["max"],
             "mean": round(compute.mean(given[code]), 2)}
            for code, meta in gathered.criteria.items() if given.get(code)
        ]  # fmt: skip
        # keyed by the app's secret: a plain hash of (submission id, judge id), both small integers,
        # could be recomputed by anyone to tell which letter is which judge
        judges = sorted({judge for judge, _, _ in gathered.comments.get(sid, [])},
                        key=lambda judge: hmac.digest(secret, f"{sid}:{judge}".encode(), "sha256"))  # fmt: skip
        letters = {judge: _judge_letter(index) for index, judge in enumerate(judges)}
        comments = [
            {"judge": letters[judge], "criterion": code, "text": text}
            for judge, code, text in sorted(
                gathered.comments.get(sid, []), key=lambda item: (letters[item[0]], item[1])
            )
        ]
        result[str(sid)] = {"criteria": criteria, "comments": comments}
    return result


@_no_cycle_collection()
def statistics(computation: Computation) -> dict[str, Any]:
    """What the charts show: score distributions per track, per judge, per criterion; entries,
    advancement and awards per institution and per side."""
    gathered = computation.gathered
    per_track: dict[str, list[float]] = defaultdict(list)
    per_institution: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_side: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in computation.rows:
        if row["score"] is not None:
            per_track[row["track_zh"]].append(row["score"])
        for bucket in (per_institution[row["institution_zh"]], per_side[row["side"]]):
            bucket["entries"] += 1
            bucket["advanced"] += int(row["advances"])
            if row["award"]:
                bucket[row["award"]] += 1
    per_judge: dict[int, list[float]] = defaultdict(list)
    for (_, judge), total in gathered.totals.items():
        per_judge[judge].append(total)
    per_criterion = {
        code: [value for submission in gathered.values.values() for value in submission.get(code, [])]
        for code in gathered.criteria
    }
    return {
        "tracks": {name: sorted(scores) for name, scores in per_track.items()},
        "judges": {
            str(judge): {"mean": round(compute.mean(v), 2), "count": len(v), "sd": round(compute.population_sd(v), 2)}
            for judge, v in per_judge.items()
        },  # fmt: skip
        "criteria": {
            code: {
                "name_zh": gathered.criteria[code]["name_zh"],
                "name_en": gathered.criteria[code]["name_en"],
                "max": gathered.criteria[code]["max"],
                "mean": round(compute.mean(v), 2) if v else None,
            }
            for code, v in per_criterion.items()
        },  # fmt: skip
        "institutions": {name: dict(counts) for name, counts in per_institution.items()},
        "sides": {side: dict(counts) for side, counts in per_side.items()},
    }


# --- overrides, advancement, repechage ----------------------------------------------------------


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError(_l("Please give a reason."), field="reason")
    if len(text) > 1000:
        raise DomainError(_l("A reason has at most %(max)s characters.", max=1000), field="reason")
    return text


def override_award(round_: Round, submission: Submission, *, actor: User, award: str | None, reason: str) -> None:
    reason = _reason(reason)
    if submission.round_id != round_.id:
        raise DomainError(_l("This submission is not in this round."))
    if submission.state != SubmissionState.SUBMITTED:
        raise DomainError(_l("Only handed-in submissions are ranked and can receive an award."))
    if award and award not in AWARD_CODES:
        raise DomainError(_l("Unknown award."), field="award")
    row = db.session.scalar(
        select(AwardOverride).where(AwardOverride.round_id == round_.id, AwardOverride.submission_id == submission.id)
    )
    old = row.award if row else None
    if row is None:
        row = AwardOverride(round_id=round_.id, submission_id=submission.id, award=award or "", reason=reason,
                            created_by_id=actor.id)  # fmt: skip
        db.session.add(row)
    else:
        row.award, row.reason, row.created_by_id = award or "", reason, actor.id
    audit.record(actor, "results.override_award", submission, old=old, new=award or "", reason=reason)


def remove_override(round_: Round, submission: Submission, *, actor: User) -> None:
    row = db.session.scalar(
        select(AwardOverride).where(AwardOverride.round_id == round_.id, AwardOverride.submission_id == submission.id)
    )
    if row is not None:
        audit.record(actor, "results.remove_override", submission, award=row.award)
        db.session.delete(row)


def next_round_of(round_: Round) -> Round | None:
    """Where advancing teams go: the round it feeds, else the next round by position that teams
    enter by advancement."""
    if round_.next_round_id:
        return round_.next_round
    return db.session.scalar(
        select(Round)
        .where(Round.competition_id == round_.competition_id, Round.position > round_.position,
               Round.entry_rule == "advanced")
        .order_by(Round.position, Round.id)
        .limit(1)
    )  # fmt: skip


def apply_advancement(round_: Round, *, actor: User) -> int:
    """Enter the advancing teams into the next round (idempotent); returns how many were added."""
    target = next_round_of(round_)
    if target is None:
        raise DomainError(_l("There is no later round for teams to advance to."))
    computation = compute_round(round_)
    if not any(row["advances"] for row in computation.rows):
        raise DomainError(_l("No team advances under the current settings; choose how teams advance first."))
    existing = set(db.session.scalars(select(RoundEntry.team_id).where(RoundEntry.round_id == target.id)))
    added = 0
    for row in computation.rows:
        if row["advances"] and row["team_id"] not in existing:
            db.session.add(RoundEntry(round_id=target.id, team_id=row["team_id"], from_round_id=round_.id,
                                      source=EntrySource.ADVANCED.value, created_by_id=actor.id))  # fmt: skip
            added += 1
    db.session.flush()
    audit.record(actor, "results.advance", round_, to_round=target.id, added=added)
    return added


def add_repechage(round_: Round, team: Team, *, actor: User, reason: str) -> RoundEntry:
    """复活赛: an organizer sends a team on to the next round although it did not advance."""
    reason = _reason(reason)
    target = next_round_of(round_)
    if target is None:
        raise DomainError(_l("There is no later round for teams to advance to."))
    if team.competition_id != round_.competition_id:
        raise DomainError(_l("This team is not in this competition."))
    exists = db.session.scalar(
        select(RoundEntry.id).where(RoundEntry.round_id == target.id, RoundEntry.team_id == team.id)
    )
    if exists is not None:
        raise DomainError(_l("“%(team)s” is already in %(round)s.", team=team.name, round=target.name))
    entry = RoundEntry(round_id=target.id, team=team, from_round_id=round_.id, source=EntrySource.REPECHAGE.value,
                       reason=reason, created_by_id=actor.id)  # fmt: skip
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "results.repechage", team, from_round=round_.id, to_round=target.id, reason=reason)
    return entry


# --- notice and publication ---------------------------------------------------------------------


def current_snapshot(round_: Round, kind: SnapshotKind | str) -> ResultSnapshot | None:
    return db.session.scalar(
        select(ResultSnapshot)
        .where(
            ResultSnapshot.round_id == round_.id,
            ResultSnapshot.kind == str(kind),
            ResultSnapshot.superseded_at.is_(None),
        )
        .order_by(ResultSnapshot.id.desc())
        .limit(1)
    )


def public_snapshot(round_: Round) -> ResultSnapshot | None:
    """What the public sees: the published results, else the provisional list under notice."""
    return current_snapshot(round_, SnapshotKind.PUBLISHED) or current_snapshot(round_, SnapshotKind.NOTICE)


def _freeze(round_: Round, *, actor: User, kind: SnapshotKind, now: datetime, reason: str | None,
            notice_until: datetime | None = None) -> ResultSnapshot:  # fmt: skip
    from competition.core.locks import lock_row

    lock_row(Round, round_.id)  # waits for scores being saved; new saves wait for this
    db.session.refresh(round_, ["judging_closes_at"])
    if kind == SnapshotKind.PUBLISHED and (round_.judging_closes_at is None or round_.judging_closes_at > now):
        round_.judging_closes_at = now  # late scores are refused from now on
    computation = compute_round(round_)
    if not any(row["score"] is not None for row in computation.rows):
        raise DomainError(_l("No submission of this round has been scored yet."))
    previous = current_snapshot(round_, kind)
    if previous is not None:
        previous.superseded_at = now
    snapshot = ResultSnapshot(round_id=round_.id, kind=kind.value, notice_until=notice_until, reason=reason,
                              settings=asdict(computation.settings), rows=computation.rows,
                              feedback=feedback(computation), statistics=statistics(computation),
                              created_by_id=actor.id, created_at=now)  # fmt: skip
    db.session.add(snapshot)
    db.session.flush()
    audit.record(actor, f"results.{kind.value}", round_, snapshot_id=snapshot.id, rows=len(computation.rows),
                 replaces=previous.id if previous else None, reason=reason)  # fmt: skip
    return snapshot


def start_notice(round_: Round, *, actor: User, now: datetime) -> ResultSnapshot:
    """Show the provisional list publicly for the notice period (公示期); teams may appeal meanwhile."""
    if current_snapshot(round_, SnapshotKind.PUBLISHED) is not None:
        raise DomainError(_l("The results are already published."))
    days = ResultSettings.for_round(round_).notice_days
    if days <= 0:
        raise DomainError(_l("This round has no public-notice period; publish the results directly."))
    return _freeze(round_, actor=actor, kind=SnapshotKind.NOTICE, now=now, reason=None,
                   notice_until=now + timedelta(days=days))  # fmt: skip


def publish(round_: Round, *, actor: User, now: datetime, reason: str | None = None) -> ResultSnapshot:
    """Freeze the results. A second publication replaces the first only with a reason (audited)."""
    again = current_snapshot(round_, SnapshotKind.PUBLISHED) is not None
    if again:
        reason = _reason(reason)
    notice = current_snapshot(round_, SnapshotKind.NOTICE)
    if notice is not None and notice.notice_until and now < notice.notice_until:
        raise DomainError(
            _l(
                "The public notice runs until %(time)s; publish after it ends.",
                time=to_local(notice.notice_until).strftime("%Y-%m-%d %H:%M") + " (UTC+8)",
            )
        )
    snapshot = _freeze(round_, actor=actor, kind=SnapshotKind.PUBLISHED, now=now, reason=reason)
    _announce_publication(round_, snapshot, again=again)
    return snapshot


def _announce_publication(round_: Round, snapshot: ResultSnapshot, *, again: bool) -> None:
    """Each member of each team in the results gets an e-mail in their language: the results are
    out (or out again, changed), with links to the team's own results and feedback and to the public
    list. The e-mail itself says nothing of scores, ranks or awards: those stay on the pages, which
    check who is asking."""
    team_ids = {row["team_id"] for row in snapshot.rows or [] if row.get("team_id")}
    if not team_ids:
        return
    competition = round_.competition
    teams = db.session.scalars(
        select(Team).where(Team.id.in_(team_ids)).options(selectinload(Team.members).selectinload(TeamMember.user))
    ).all()
    for team in teams:
        for member in team.members:
            user = member.user
            if user.is_disabled:
                continue
            english = user.locale == "en"
            queue_mail(
                to=user.email,
                template="results/emails/published",
                locale=user.locale,
                user=user,
                link=internal_path("results.team_results", team_id=team.id),
                again=again,
                team_name=team.name,
                round_name=(round_.name_en or round_.name_zh) if english else round_.name_zh,
                competition_name=(competition.name_en or competition.name_zh) if english else competition.name_zh,
                team_results_url=external_url("results.team_results", team_id=team.id),
                public_url=external_url("results.public", code=competition.code, round_id=round_.id),
            )
