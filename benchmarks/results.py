"""How long a round's results take to compute and the public results page to render, at the size of
the alliance's online review.

    .venv/bin/python benchmarks/results.py [--submissions 5000] [--judges 500] [--small 100]
                                           [--requests 15] [--database-url URL] [--profile]

Builds a fresh database (SQLite in a temporary folder, removed at the end, unless --database-url names
an empty database, e.g. PostgreSQL; the schema by the migrations) with one competition, four tracks, the 28 alliance institutions and a round of
SUBMISSIONS handed-in submissions, each scored by 5 of JUDGES judges on a rubric of 6 criteria
(whole and half points; every judge has a bias of their own, so the z-score method has something to
remove; an overall comment on every scorecard, a criterion comment on every third). Teams,
submissions, assignments, scorecards and their 6 values each are written by bulk INSERTs (executemany
with the ids given), not one ORM object at a time: 5,000 submissions are 25,000 scorecards and
150,000 values.

The round's settings exercise every rule: trimmed mean (5 judges: trimming applies), a disagreement
threshold, the tie-break chain "untrimmed total, then a criterion, then earlier submission", awards by
proportion and advancement of the top 20 %. Then, in the same run:

* compute: services.compute_round (every aggregation method, the flags, ranks per track and overall,
  awards, advancement) + services.feedback + services.statistics, i.e. the work publication does
  before it writes the snapshot, timed first in a fresh session as publication runs it; this is
  `compute_seconds` (wall clock; a line before gives the CPU time too, which tells a busy machine,
  and each part timed again on its own);
* publish: services.publish (the same work plus writing the snapshot) and the commit, reported;
* page: the public results page /results/<code>/<round> through the test client, anonymous, each
  request in an app context of its own (as in production: a fresh database session): the first
  request renders the tables (reported on its own line), then REQUESTS requests are timed and their
  median is `page_ms`; every statement is counted by a "before_cursor_execute" listener
  (`page_queries`, per request);
* the same page for a second round of --small (100) submissions in the same database: its query counts (first
  and cached request) must equal those of the large round, or the run fails.

`--profile` prints the hottest functions of the compute step and of one uncached page (cProfile).

The last line is `results submissions=N compute_seconds=X.XX page_ms=Y page_queries=Z`.
Targets: compute ≤ 2 s, page ≤ 300 ms with ≤ 12 queries, the same count at 100 submissions.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import pstats
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from sqlalchemy import event, func, select  # noqa: E402

from competition import create_app  # noqa: E402
from competition.extensions import db  # noqa: E402

PANEL = 5
#: (code, name_zh, name_en, maximum points): 6 criteria, 100 points
CRITERIA = (
    ("innovation", "创新性", "Innovation", 20),
    ("business", "商业可行性", "Business viability", 20),
    ("team", "团队能力", "Team capability", 20),
    ("market", "市场前景", "Market prospects", 15),
    ("employment", "就业带动", "Job creation", 15),
    ("twin_city", "成渝协同", "Twin-city cooperation", 10),
)
TRACKS = (("idea", "创意组", "Idea track"), ("startup", "初创组", "Startup track"),
          ("growth", "成长组", "Growth track"), ("public", "公益组", "Public-benefit track"))  # fmt: skip
SETTINGS = {
    "method": "trimmed",
    "trim_min_judges": 5,
    "max_sd": 8.0,
    "tie_breaks": ["untrimmed_total", "criterion:innovation", "submitted_at"],
    "award_mode": "proportion",
    "award_tiers": [["gold", 10], ["silver", 20], ["bronze", 30]],
    "advancement_mode": "top_percent",
    "advancement_value": 20,
    "notice_days": 0,
    "show_scores": True,
}
PROFILE_SORT = "cumulative"
NOW = datetime.now(UTC).replace(microsecond=0)


# --- building the data ----------------------------------------------------------------------------


class Ids:
    """The next free primary key of each table: the bulk INSERTs give their ids."""

    def __init__(self):
        self._next: dict[str, int] = {}

    def take(self, model, count: int) -> range:
        table = model.__table__
        if table.name not in self._next:
            self._next[table.name] = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
        start = self._next[table.name]
        self._next[table.name] = start + count
        return range(start, start + count)


def bulk(model, rows: list[dict], chunk: int = 20_000) -> None:
    """executemany INSERTs of plain dicts (Core, no ORM objects)."""
    for start in range(0, len(rows), chunk):
        db.session.execute(model.__table__.insert(), rows[start : start + chunk])


def build_people(ids: Ids, contest, judges: int):
    from competition.accounts.models import CompetitionRole, User
    from competition.accounts.services import hash_password
    from competition.institutions.models import Institution

    secret = hash_password(secrets.token_urlsafe(12))  # nobody logs in: one hash for every account
    institutions = list(db.session.scalars(select(Institution).order_by(Institution.id)))
    people = [
        {"id": user_id, "email": f"bench-judge{number:04d}@example.edu.cn", "password_hash": secret,
         "real_name": f"评委{number:04d}", "institution_id": institutions[number % len(institutions)].id,
         "locale": "zh_Hans_CN", "is_admin": False, "is_disabled": False, "email_verified_at": NOW,
         "session_token": secrets.token_hex(16), "created_at": NOW}
        for number, user_id in enumerate(ids.take(User, judges + 1))
    ]  # fmt: skip
    people[-1].update(email="bench-leader@example.edu.cn", real_name="队长")
    bulk(User, people)
    bulk(CompetitionRole, [
        {"id": grant_id, "user_id": person["id"], "competition_id": contest.id, "role": "judge", "created_at": NOW}
        for grant_id, person in zip(ids.take(CompetitionRole, judges), people[:-1], strict=True)
    ])  # fmt: skip
    return [person["id"] for person in people[:-1]], people[-1]["id"], [inst.id for inst in institutions]


def build_round(ids: Ids, *, contest, tracks, judge_ids, leader_id, institution_ids, organizer, submissions: int,
                position: int, seed: int):  # fmt: skip
    """A round of `submissions` handed-in submissions, each with PANEL submitted scorecards."""
    from competition.judging.models import Assignment
    from competition.rounds.models import Round
    from competition.scoring.models import Criterion, Rubric, Scorecard, ScoreValue
    from competition.submissions.models import Submission
    from competition.teams.models import Team

    rng = random.Random(seed)
    round_ = Round(competition=contest, position=position, name_zh=f"网络评审{position}",
                   name_en=f"Online review {position}", level="alliance", entry_rule="all_approved",
                   judging_opens_at=NOW - timedelta(days=10), judging_closes_at=NOW - timedelta(days=1),
                   result_settings=dict(SETTINGS))  # fmt: skip
    db.session.add(round_)
    db.session.flush()
    rubric = Rubric(round_id=round_.id, frozen_at=NOW - timedelta(days=9))
    db.session.add(rubric)
    for index, (code, name_zh, name_en, maximum) in enumerate(CRITERIA):
        rubric.criteria.append(Criterion(code=code, name_zh=name_zh, name_en=name_en, position=index,
                                         max_points=Decimal(maximum), step=Decimal("0.5")))  # fmt: skip
    db.session.flush()
    criteria = [(criterion.id, float(criterion.max_points)) for criterion in rubric.criteria]

    team_ids = ids.take(Team, submissions)
    submission_ids = ids.take(Submission, submissions)
    bulk(Team, [
        {"id": team_id, "competition_id": contest.id, "track_id": tracks[index % len(tracks)],
         "institution_id": institution_ids[rng.randrange(len(institution_ids))],
         "name": f"基准团队{position}-{index:05d}", "project_title": f"基准项目{index:05d}：成渝智慧农业物联网平台",
         "leader_id": leader_id, "state": "approved", "member_count": 3, "invite_code": secrets.token_hex(12),
         "unlocked": False, "created_at": NOW - timedelta(days=60)}
        for index, team_id in enumerate(team_ids)
    ])  # fmt: skip
    bulk(Submission, [
        {"id": submission_id, "round_id": round_.id, "team_id": team_id, "state": "submitted",
         "abstract": "本项目面向成渝地区的农业合作社，提供低成本的物联网监测与决策服务。", "keywords": "物联网",
         "industry": "农业", "created_at": NOW - timedelta(days=30), "updated_at": NOW - timedelta(days=20),
         "submitted_at": NOW - timedelta(days=20, seconds=rng.randrange(86_400 * 5)), "submitted_by_id": leader_id}
        for submission_id, team_id in zip(submission_ids, team_ids, strict=True)
    ])  # fmt: skip

    bias = {judge: rng.gauss(0, 0.08) for judge in judge_ids}  # harsh and lenient judges
    quality = {submission_id: rng.uniform(0.45, 0.9) for submission_id in submission_ids}
    assignment_ids = ids.take(Assignment, submissions * PANEL)
    scorecard_ids = ids.take(Scorecard, submissions * PANEL)
    value_ids = iter(ids.take(ScoreValue, submissions * PANEL * len(criteria)))
    assignments, scorecards, values = [], [], []
    for index, submission_id in enumerate(submission_ids):
        for seat in range(PANEL):
            slot = index * PANEL + seat
            judge = judge_ids[slot % len(judge_ids)]
            assignments.append({"id": assignment_ids[slot], "round_id": round_.id, "submission_id": submission_id,
                                "judge_id": judge, "protected": True, "created_at": NOW - timedelta(days=15)})  # fmt: skip
            total = 0.0
            for number, (criterion_id, maximum) in enumerate(criteria):
                share = min(1.0, max(0.0, quality[submission_id] + bias[judge] + rng.gauss(0, 0.07)))
                points = round(maximum * share * 2) / 2
                total += points
                values.append({"id": next(value_ids), "scorecard_id": scorecard_ids[slot], "criterion_id": criterion_id,
                               "points": Decimal(str(points)), "max_points": Decimal(str(maximum)),
                               "comment": "市场分析较充分，建议补充竞品对比和财务预测。" if number == slot % 3 == 0 else ""})  # fmt: skip
            scorecards.append({"id": scorecard_ids[slot], "assignment_id": assignment_ids[slot], "round_id": round_.id,
                               "submission_id": submission_id, "judge_id": judge, "rubric_id": rubric.id,
                               "state": "submitted", "overall_comment": f"整体完成度较高，团队分工明确（评语 {slot}）。",
                               "total": Decimal(str(total)), "version": 2, "created_at": NOW - timedelta(days=9),
                               "updated_at": NOW - timedelta(days=8), "submitted_at": NOW - timedelta(days=8)})  # fmt: skip
    bulk(Assignment, assignments)
    bulk(Scorecard, scorecards)
    bulk(ScoreValue, values)
    db.session.commit()
    return round_


def build(submissions: int, judges: int, small: int):
    from competition.competitions.models import Competition, Track
    from competition.institutions.services import load_institutions
    from tests import factories

    load_institutions()
    contest = Competition(code="BENCH", year=2026, name_zh="成渝联盟创业大赛（基准）",
                          name_en="Alliance entrepreneurship competition (benchmark)", state="judging")  # fmt: skip
    db.session.add(contest)
    for position, (code, name_zh, name_en) in enumerate(TRACKS):
        db.session.add(Track(competition=contest, code=code, name_zh=name_zh, name_en=name_en, position=position))
    organizer = factories.user(email="bench-organizer@example.edu.cn")
    factories.grant(organizer, contest, "organizer")
    db.session.flush()
    ids = Ids()
    judge_ids, leader_id, institution_ids = build_people(ids, contest, judges)
    common = {"contest": contest, "tracks": [track.id for track in contest.tracks], "judge_ids": judge_ids,
              "leader_id": leader_id, "institution_ids": institution_ids, "organizer": organizer}  # fmt: skip
    large = build_round(ids, **common, submissions=submissions, position=1, seed=1)
    little = build_round(ids, **common, submissions=small, position=2, seed=2)
    return contest.code, organizer.id, large.id, little.id


# --- measuring ------------------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(enabled: bool, title: str, lines: int = 25):
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(PROFILE_SORT).print_stats(lines)
        print(f"--- profile: {title}\n{out.getvalue()}")


def compute(round_id: int, profile: bool) -> tuple[float, dict]:
    """compute_round + feedback + statistics, as publication runs them (first, in a fresh session),
    then each part again on its own for the breakdown."""
    from competition.results import compute as arithmetic
    from competition.results import services
    from competition.rounds.models import Round

    round_ = db.session.get(Round, round_id)
    with profiled(profile, "compute_round + feedback + statistics"):
        started, cpu = time.perf_counter(), time.process_time()
        computation = services.compute_round(round_)
        feedback = services.feedback(computation)
        stats = services.statistics(computation)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    parts = {}
    gc.collect()  # what the first run left for the cycle collector is not counted in a part
    mark = time.perf_counter()
    gathered = services.gather(round_)
    parts["gather"] = time.perf_counter() - mark
    mark = time.perf_counter()
    services.compute_round(round_)
    parts["compute_round (with its gather)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    services.feedback(computation)
    parts["feedback"] = time.perf_counter() - mark
    mark = time.perf_counter()
    services.statistics(computation)
    parts["statistics"] = time.perf_counter() - mark
    gc.collect()
    for method in arithmetic.METHODS:
        mark = time.perf_counter()
        arithmetic.aggregate(gathered.totals, method, trim_min_judges=5)
        parts[f"aggregate {method}"] = time.perf_counter() - mark
    mark = time.perf_counter()
    arithmetic.flags(gathered.totals, gathered.expected, max_sd=8.0)
    parts["flags"] = time.perf_counter() - mark
    rows = computation.rows
    summary = {
        "rows": len(rows),
        "ranked": sum(1 for row in rows if row["rank"] is not None),
        "awards": sum(1 for row in rows if row["award"]),
        "advancing": sum(1 for row in rows if row["advances"]),
        "disagreement": len(computation.flags.disagreement),
        "outlying_judges": len(computation.flags.outlying_judges),
        "feedback": len(feedback),
        "judges": len(stats["judges"]),
    }
    db.session.rollback()
    return seconds, {"cpu": cpu, "parts": parts, "summary": summary}


def publish(round_id: int, organizer_id: int) -> float:
    from competition.accounts.models import User
    from competition.results import services
    from competition.rounds.models import Round

    started = time.perf_counter()
    services.publish(db.session.get(Round, round_id), actor=db.session.get(User, organizer_id), now=NOW)
    db.session.commit()
    return time.perf_counter() - started


class Counter:
    def __init__(self):
        self.statements = 0

    def __call__(self, *args):
        self.statements += 1


def request(app, client, url: str, counter: Counter) -> tuple[float, int, str]:
    """One anonymous GET in an app context (and database session) of its own, as production serves it."""
    with app.app_context():
        before = counter.statements
        started = time.perf_counter()
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        elapsed = time.perf_counter() - started
        queries = counter.statements - before
        db.session.remove()
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code}")
    return elapsed, queries, response.text


def measure_page(app, url: str, requests: int, counter: Counter, profile: bool) -> dict:
    client = app.test_client()
    with profiled(profile, f"uncached GET {url}"):
        first_seconds, first_queries, html = request(app, client, url, counter)
    times, counts = [], set()
    for _ in range(requests):
        seconds, queries, _html = request(app, client, url, counter)
        times.append(seconds)
        counts.add(queries)
    if len(counts) != 1:
        raise SystemExit(f"GET {url}: the query count varies between requests: {sorted(counts)}")
    return {"first_ms": first_seconds * 1000, "first_queries": first_queries, "median_ms": statistics.median(times) * 1000,
            "max_ms": max(times) * 1000, "queries": counts.pop(), "rows": html.count('data-testid="result-row"'),
            "bytes": len(html.encode())}  # fmt: skip


def main(argv=None) -> int:
    args = arguments(argv)
    folder = tempfile.mkdtemp(prefix="bench-results-")
    try:
        return run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=5000)
    parser.add_argument("--judges", type=int, default=500)
    parser.add_argument("--small", type=int, default=100, help="submissions of the second round (query count check)")
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--database-url")
    parser.add_argument("--profile", action="store_true")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, folder: str) -> int:
    database_url = args.database_url or f"sqlite:///{folder}/bench.db"
    app = create_app({"APP_ENV": "testing", "INSTANCE_PATH": folder, "DATABASE_URL": database_url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        started = time.perf_counter()
        code, organizer_id, large_id, small_id = build(args.submissions, args.judges, args.small)
        print(f"data: {args.submissions} + {args.small} submissions, {PANEL} of {args.judges} judges each, "
              f"{len(CRITERIA)} criteria, {(args.submissions + args.small) * PANEL} scorecards, "
              f"{(args.submissions + args.small) * PANEL * len(CRITERIA)} values, database "
              f"{database_url.split(':')[0]} (built in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        db.session.remove()

    with app.app_context():
        compute_seconds, detail = compute(large_id, args.profile)
        db.session.remove()
    parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in detail["parts"].items())
    print(f"compute: compute_round + feedback + statistics {compute_seconds:.2f} s ({detail['cpu']:.2f} s of CPU); "
          f"again, apart: {parts}")  # fmt: skip
    summary = detail["summary"]
    print(f"computed: {summary['rows']} rows, {summary['ranked']} ranked, {summary['awards']} awards, "
          f"{summary['advancing']} advancing, {summary['disagreement']} disagreements, "
          f"{summary['outlying_judges']} outlying judges, feedback for {summary['feedback']} submissions, "
          f"statistics of {summary['judges']} judges")  # fmt: skip

    with app.app_context():
        large_publish = publish(large_id, organizer_id)
        publish(small_id, organizer_id)
        db.session.remove()
    print(f"publish: {large_publish:.2f} s (compute again, write the snapshot, commit)")

    counter = Counter()
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", counter)
    large = measure_page(app, f"/results/{code}/{large_id}", args.requests, counter, args.profile)
    small = measure_page(app, f"/results/{code}/{small_id}", args.requests, counter, False)
    print(f"page, {args.submissions} submissions: first (tables rendered) {large['first_ms']:.0f} ms with "
          f"{large['first_queries']} queries; then median {large['median_ms']:.1f} ms (max {large['max_ms']:.1f}) "
          f"with {large['queries']} queries over {args.requests} requests; {large['rows']} rows, "
          f"{large['bytes'] / 1024:.0f} KiB")  # fmt: skip
    print(f"page, {args.small} submissions: first {small['first_ms']:.0f} ms with {small['first_queries']} queries; "
          f"then median {small['median_ms']:.1f} ms with {small['queries']} queries; {small['rows']} rows")  # fmt: skip
    same = (large["first_queries"], large["queries"]) == (small["first_queries"], small["queries"])
    if large["rows"] != args.submissions or small["rows"] != args.small:
        print("FAILED: the page does not list every submission")
        same = False
    met = compute_seconds <= 2 and large["median_ms"] <= 300 and large["queries"] <= 12
    print(f"query count at {args.small} and {args.submissions} submissions: {'the same' if same else 'DIFFERENT'}; "
          f"targets (compute ≤ 2 s, page ≤ 300 ms with ≤ 12 queries) {'met' if met else 'MISSED'}")  # fmt: skip
    print(f"results submissions={args.submissions} compute_seconds={compute_seconds:.2f} "
          f"page_ms={large['median_ms']:.0f} page_queries={large['queries']}")  # fmt: skip
    return 0 if same and met else 1


if __name__ == "__main__":
    sys.exit(main())
