"""The whole site under a mixed load, then the published results page alone: gunicorn on PostgreSQL,
at the size of a large alliance competition.

    .venv/bin/python benchmarks/http_load.py [--seconds 60] [--results-seconds 20] [--teams 2000]
        [--judges 300] [--judge-users 60] [--student-users 60] [--organizer-users 4]
        [--visitor-users 60] [--think-ms 5000] [--login-every-ms 2000] [--worker-class gthread|sync]

Data (a PostgreSQL database of its own, `bench_http_<pid>`, created with psql on 127.0.0.1 and
dropped at the end, also after an error or Ctrl-C; the schema by the migrations): one competition
in judging with four tracks and the 28 alliance institutions; TEAMS approved teams of three
students each (leader and two members, real accounts, one argon2 hash at production cost for
all); JUDGES judges; the first round (online review) has a submission from every team, each
scored by 5 judges on 6 criteria — 10,000 submitted scorecards and 60,000 values at the default
size, written by bulk INSERTs (the helpers of benchmarks/results.py) — and its results are
published (`results.services.publish`: the snapshot the public page shows); the second round
(the final) has the advancing teams (20 %), 5 judges each, judging open, nothing scored yet.

The server: gunicorn with 2 workers, started from deploy/gunicorn.conf.py when it exists (the
production settings: gthread workers with 4 threads, keep-alive, access log, no max_requests) with
WEB_CONCURRENCY=2, else with plain flags; APP_ENV=production (CSRF on, argon2 at production cost),
Redis for the rate limits (REDIS_URL=redis://127.0.0.1:6379/BENCH_REDIS_DB), TRUSTED_PROXIES=1:
every virtual user comes from an address of its own through X-Forwarded-For, as behind nginx.

1. Mixed load, `--seconds` (60) after `--warmup-seconds` (10, not measured: each worker renders
   the 2,000-row tables once per language and warms its caches). Virtual users are client threads (http.client, a keep-alive
   connection each, cookies kept, gzip accepted, CSRF tokens read from the forms), each pausing
   `--think-ms` × U(0.5, 1.5) between two page views: 5 s on average by default, a busy person
   (a judge reads a project for minutes), so the 184 default users offer about 40 requests/s —
   the rush of a publication day or the last evening of judging, not a stress test (the
   saturation point of the scorecard pages alone is ~90 requests/s on these 2 cores, see
   benchmarks/scoring_load.py; `--think-ms 1000` offers ~180 requests/s and shows saturation):
   - judges (`--judge-users`, logged in beforehand): their assignment list /judging/, a scorecard
     of the final, a draft saved with half of the criteria (POST with the form's token and
     version → 302) and the scorecard again (the redirect);
   - students (`--student-users`, logged in): their team's page;
   - organizers (`--organizer-users`, logged in): the scoring progress page of the final and of
     the online review (10,000 scorecards);
   - anonymous visitors (`--visitor-users`, a quarter in English): the competition page, then the
     public results of the online review (2,000 rows);
   - log-ins: every `--login-every-ms` a new visitor opens the log-in form and logs in as a
     student (a redirect to the dashboard, followed).
   Every request counts in `rps` and `p95_ms` (latency from sending the request to the last byte
   of the answer). Errors: answers 5xx, connection failures, and answers the flow does not expect
   (any other status than the page's 200 or the redirect of a save or log-in, a refused draft, a
   page without its form). A keep-alive connection the server closed while idle is reopened once
   and the request sent again, as browsers do (counted as `reconnects`, not an error).
2. The published results page alone, anonymous (Accept-Language zh-CN, gzip accepted, no cookies,
   no conditional requests: every answer is the full page), for `--results-seconds` (20), with
   wrk (C, keep-alive, 1 thread, `--results-connections` 8): `results_rps`. wrk is used here
   because a Python client would need most of a core of its own at that rate, and the two cores
   are shared with the server (Debian: `apt-get install wrk`). Phase 1 stays in Python: its
   flows need state per user (forms, tokens, versions).

The CPU each party used in both phases (gunicorn, PostgreSQL, the load generator, other processes)
and the load average before and after are printed: other jobs on the machine change the figures.

The last line is `http rps=<n> p95_ms=<n> errors=<n> results_rps=<n>`.
Targets: mixed p95 ≤ 300 ms with no errors, results_rps ≥ 1,000.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
BIN = Path(sys.executable).parent
PASSWORD = "Bench-http-2026!"  # noqa: S105 - throw-away benchmark accounts
PG_HOST, PG_ADMIN_DB = "127.0.0.1", "test"
GUNICORN_CONFIG = PROJECT / "deploy" / "gunicorn.conf.py"
PANEL = 5
ADVANCING_PERCENT = 20

APP_MODULE = """\
import os

from competition import create_app

# organizers log in with their password only: the benchmark does not enrol them in two-factor log-in
app = create_app({"INSTANCE_PATH": os.environ["BENCH_INSTANCE_PATH"], "TWO_FACTOR_REQUIRED_FOR_STAFF": False})
"""


# --- the data -------------------------------------------------------------------------------------


def seed(teams: int, judges: int, organizers: int) -> dict:
    """Everything by bulk INSERTs but the competition, tracks, rounds and rubrics; returns what the
    virtual users need (accounts, ids)."""
    from sqlalchemy import Integer, select, text

    from benchmarks.results import CRITERIA, NOW, SETTINGS, TRACKS, Ids, bulk
    from competition.accounts.models import CompetitionRole, User
    from competition.accounts.services import hash_password
    from competition.competitions.models import Competition, Track
    from competition.extensions import db
    from competition.institutions.models import Institution
    from competition.institutions.services import load_institutions
    from competition.judging.models import Assignment, RoundJudge
    from competition.results import services as results
    from competition.rounds.models import Round
    from competition.scoring.models import Criterion, Rubric, Scorecard, ScoreValue
    from competition.submissions.models import Submission
    from competition.teams.models import Team, TeamMember

    rng = random.Random(7)  # noqa: S311 - test data
    secret = hash_password(PASSWORD)  # production cost: one hash for every account
    load_institutions()
    institutions = [row.id for row in db.session.scalars(select(Institution).order_by(Institution.id))]
    contest = Competition(code="BENCH", year=2026, name_zh="成渝联盟创新创业大赛", state="judging",
                          name_en="Chengdu–Chongqing Alliance Innovation and Entrepreneurship Competition")  # fmt: skip
    db.session.add(contest)
    for position, (code, name_zh, name_en) in enumerate(TRACKS):
        db.session.add(Track(competition=contest, code=code, name_zh=name_zh, name_en=name_en, position=position))
    db.session.flush()
    tracks = [track.id for track in contest.tracks]
    ids = Ids()

    def account(user_id: int, email: str, name: str, institution: int) -> dict:
        return {"id": user_id, "email": email, "password_hash": secret, "real_name": name, "institution_id": institution,
                "locale": "zh_Hans_CN", "is_admin": False, "is_disabled": False, "email_verified_at": NOW,
                "session_token": secrets.token_hex(16), "created_at": NOW - timedelta(days=90)}  # fmt: skip

    # the addresses are new in every run: the rate limits of log-ins (per account, in Redis) last an hour
    domain = f"{secrets.token_hex(3)}.bench.example.edu.cn"
    organizer_ids = list(ids.take(User, organizers))
    judge_ids = list(ids.take(User, judges))
    people = [account(user_id, f"organizer{number}@{domain}", f"组织者{number}", institutions[0])
              for number, user_id in enumerate(organizer_ids)]  # fmt: skip
    people += [account(user_id, f"judge{number:03d}@{domain}", f"评委{number:03d}",
                       institutions[number % len(institutions)]) for number, user_id in enumerate(judge_ids)]  # fmt: skip
    grants = [(user_id, "organizer") for user_id in organizer_ids] + [(user_id, "judge") for user_id in judge_ids]

    team_ids = list(ids.take(Team, teams))
    student_ids = list(ids.take(User, teams * 3))
    team_rows, members = [], []
    member_ids = iter(ids.take(TeamMember, teams * 3))
    team_of: dict[int, int] = {}
    for index, team_id in enumerate(team_ids):
        institution = institutions[rng.randrange(len(institutions))]
        trio = student_ids[index * 3 : index * 3 + 3]
        for seat, user_id in enumerate(trio):
            number = index * 3 + seat
            name = f"学生{number:05d}"
            people.append(account(user_id, f"student{number:05d}@{domain}", name, institution))
            grants.append((user_id, "student"))
            members.append({"id": next(member_ids), "team_id": team_id, "user_id": user_id,
                            "role": "leader" if seat == 0 else "member", "real_name": name,
                            "student_number": f"2023{number:06d}", "institution_id": institution,
                            "department": "计算机学院", "major": "软件工程", "degree_level": "bachelor",
                            "enrollment_year": 2023, "graduation_year": 2027, "joined_at": NOW - timedelta(days=80)})  # fmt: skip
            team_of[number] = team_id
        team_rows.append({"id": team_id, "competition_id": contest.id, "track_id": tracks[index % len(tracks)],
                          "institution_id": institution, "name": f"基准团队{index:05d}",
                          "project_title": f"基准项目{index:05d}：成渝智慧农业物联网平台", "leader_id": trio[0],
                          "state": "approved", "member_count": 3, "invite_code": secrets.token_hex(12),
                          "unlocked": False, "created_at": NOW - timedelta(days=80),
                          "submitted_at": NOW - timedelta(days=70), "reviewed_at": NOW - timedelta(days=65)})  # fmt: skip
    leader_of = {row["id"]: row["leader_id"] for row in team_rows}
    bulk(User, people)
    bulk(CompetitionRole, [{"id": grant_id, "user_id": user_id, "competition_id": contest.id, "role": role,
                            "created_at": NOW} for grant_id, (user_id, role) in zip(ids.take(CompetitionRole, len(grants)), grants, strict=True)])  # fmt: skip
    bulk(Team, team_rows)
    bulk(TeamMember, members)

    def make_round(position: int, name_zh: str, name_en: str, opens, closes) -> tuple:
        round_ = Round(competition=contest, position=position, name_zh=name_zh, name_en=name_en, level="alliance",
                       entry_rule="all_approved", judging_opens_at=opens, judging_closes_at=closes,
                       result_settings=dict(SETTINGS))  # fmt: skip
        db.session.add(round_)
        db.session.flush()
        rubric = Rubric(round_id=round_.id, frozen_at=opens + timedelta(hours=1))
        db.session.add(rubric)
        for index, (code, c_zh, c_en, maximum) in enumerate(CRITERIA):
            rubric.criteria.append(Criterion(code=code, name_zh=c_zh, name_en=c_en, position=index,
                                             max_points=Decimal(maximum), step=Decimal("0.5")))  # fmt: skip
        db.session.flush()
        bulk(RoundJudge, [{"id": rj, "round_id": round_.id, "user_id": judge, "track_ids": [], "created_at": NOW}
                          for rj, judge in zip(ids.take(RoundJudge, judges), judge_ids, strict=True)])  # fmt: skip
        return round_, rubric, [(c.id, float(c.max_points)) for c in rubric.criteria]

    def make_submissions(round_, entrants: list[int]) -> list[int]:
        submission_ids = list(ids.take(Submission, len(entrants)))
        bulk(Submission, [{"id": sid, "round_id": round_.id, "team_id": team_id, "state": "submitted",
                           "abstract": "本项目面向成渝地区的农业合作社，提供低成本的物联网监测与决策服务。" * 3,
                           "keywords": "物联网, 农业", "industry": "农业", "created_at": NOW - timedelta(days=40),
                           "updated_at": NOW - timedelta(days=30),
                           "submitted_at": NOW - timedelta(days=30, seconds=rng.randrange(86_400 * 5)),
                           "submitted_by_id": leader_of[team_id]}
                          for sid, team_id in zip(submission_ids, entrants, strict=True)])  # fmt: skip
        return submission_ids

    def assign(round_, submission_ids: list[int], offset: int) -> list[tuple[int, int, int]]:
        """PANEL judges per submission, round robin: (assignment id, submission id, judge id)."""
        assignment_ids = iter(ids.take(Assignment, len(submission_ids) * PANEL))
        seats = []
        for index, submission_id in enumerate(submission_ids):
            for seat in range(PANEL):
                judge = judge_ids[(offset + index * PANEL + seat) % len(judge_ids)]
                seats.append((next(assignment_ids), submission_id, judge))
        bulk(Assignment, [{"id": aid, "round_id": round_.id, "submission_id": sid, "judge_id": judge, "protected": True,
                           "created_at": NOW - timedelta(days=20)} for aid, sid, judge in seats])  # fmt: skip
        return seats

    # round 1: every team, scored and published
    online, rubric, criteria = make_round(1, "联盟网络评审", "Alliance online review",
                                          NOW - timedelta(days=20), NOW - timedelta(days=5))  # fmt: skip
    submission_ids = make_submissions(online, team_ids)
    seats = assign(online, submission_ids, 0)
    bias = {judge: rng.gauss(0, 0.08) for judge in judge_ids}
    quality = {sid: rng.uniform(0.45, 0.9) for sid in submission_ids}
    card_ids = iter(ids.take(Scorecard, len(seats)))
    value_ids = iter(ids.take(ScoreValue, len(seats) * len(criteria)))
    cards, values = [], []
    for slot, (assignment_id, submission_id, judge) in enumerate(seats):
        card_id, total = next(card_ids), 0.0
        for number, (criterion_id, maximum) in enumerate(criteria):
            share = min(1.0, max(0.0, quality[submission_id] + bias[judge] + rng.gauss(0, 0.07)))
            points = round(maximum * share * 2) / 2
            total += points
            values.append({"id": next(value_ids), "scorecard_id": card_id, "criterion_id": criterion_id,
                           "points": Decimal(str(points)), "max_points": Decimal(str(maximum)),
                           "comment": "市场分析较充分，建议补充竞品对比和财务预测。" if number == slot % 3 == 0 else ""})  # fmt: skip
        cards.append({"id": card_id, "assignment_id": assignment_id, "round_id": online.id, "submission_id": submission_id,
                      "judge_id": judge, "rubric_id": rubric.id, "state": "submitted",
                      "overall_comment": f"整体完成度较高，团队分工明确（评语 {slot}）。", "total": Decimal(str(total)),
                      "version": 2, "created_at": NOW - timedelta(days=9), "updated_at": NOW - timedelta(days=8),
                      "submitted_at": NOW - timedelta(days=8)})  # fmt: skip
    bulk(Scorecard, cards)
    bulk(ScoreValue, values)
    db.session.commit()
    organizer = db.session.get(User, organizer_ids[0])
    snapshot = results.publish(online, actor=organizer, now=NOW - timedelta(days=4))
    db.session.commit()
    advancing = [row["team_id"] for row in snapshot.rows if row.get("advances")]

    # round 2: the advancing teams, judging open, nothing scored yet
    final, _rubric, final_criteria = make_round(2, "联盟决赛", "Alliance final",
                                                NOW - timedelta(days=1), NOW + timedelta(days=7))  # fmt: skip
    final_seats = assign(final, make_submissions(final, advancing), 1)
    # the bulk INSERTs gave the ids themselves: move PostgreSQL's sequences past them
    for table in db.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer):
            name = table.name  # our own tables' names
            highest = f"GREATEST((SELECT max(id) FROM {name}), 1)"  # noqa: S608
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {highest})"))
    db.session.commit()
    work: dict[int, list[int]] = {judge: [] for judge in judge_ids}
    for assignment_id, _submission, judge in final_seats:
        work[judge].append(assignment_id)
    emails = {row["id"]: row["email"] for row in people}
    return {
        "code": contest.code,
        "online": online.id,
        "final": final.id,
        "organizers": [emails[user_id] for user_id in organizer_ids],
        "judges": [(emails[judge], work[judge]) for judge in judge_ids if work[judge]],
        "students": [(f"student{number:05d}@{domain}", team_of[number]) for number in range(teams * 3)],
        "criteria": [criterion_id for criterion_id, _max in final_criteria],
        "counts": {"users": len(people), "teams": teams, "scorecards": len(cards), "values": len(values),
                   "advancing": len(advancing), "final_assignments": len(final_seats), "snapshot_rows": len(snapshot.rows)},
    }  # fmt: skip


# --- the HTTP client --------------------------------------------------------------------------------


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
FIELD = re.compile(r"<(input|textarea)\b([^>]*)>", re.S)
ATTRIBUTE = re.compile(r'([\w-]+)(?:="([^"]*)")?')


def find_form(page: bytes, action: str) -> list[tuple[str, str]] | None:
    """The named fields of the form posting to `action` (regular expressions: cheaper than an HTML
    parser, and the load generator shares the two cores with the server)."""
    html = page.decode("utf-8", "replace")
    for match in FORM.finditer(html):
        attributes = dict(ATTRIBUTE.findall(match.group(1)))
        if urlsplit(unescape(attributes.get("action", ""))).path != action:
            continue
        fields = []
        body = match.group(2)
        for found in FIELD.finditer(body):
            attrs = {name: unescape(value or "") for name, value in ATTRIBUTE.findall(found.group(2))}
            if not attrs.get("name"):
                continue
            if found.group(1) == "textarea":
                fields.append((attrs["name"], unescape(body[found.end() : body.index("</textarea>", found.end())])))
            elif attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                fields.append((attrs["name"], attrs.get("value", "")))
        return fields
    return None


class FlowError(Exception):
    """The server answered, but not as the flow expects."""


class TimeUp(Exception):
    """The run is over: no new request is started."""


@dataclass
class Clock:
    #: monotonic end of the timed window (infinite while the users log in)
    end: float = float("inf")
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Browser:
    """One virtual user: a keep-alive connection, cookies, an address of its own."""

    port: int
    address: str
    clock: Clock
    language: str = "zh-CN,zh;q=0.9"
    cookies: dict[str, str] = field(default_factory=dict)
    connection: http.client.HTTPConnection | None = None
    #: (kind, seconds, status, monotonic start) of every timed request
    latencies: list[tuple[str, float, int, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, http.client.HTTPMessage, bytes]:  # fmt: skip
        reused = self.connection is not None
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if not reused:
                raise
            self.reconnects += 1  # the server closed the idle connection: a browser sends again
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, response.headers, data

    def request(self, kind: str, method: str, path: str, form: list[tuple[str, str]] | None = None, *,
                expect: tuple[int, ...] = (200,), timed: bool = True,
                extra: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:  # fmt: skip
        if timed and time.monotonic() >= self.clock.end:
            raise TimeUp
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": self.language, "X-Forwarded-For": self.address,
                   "Accept": "text/html", "User-Agent": "http_load", **(extra or {})}  # fmt: skip
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began, started = time.monotonic(), time.perf_counter()
        try:
            status, response_headers, data = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            if timed:
                self.latencies.append((kind, time.perf_counter() - started, 0, began))
            raise FlowError(f"{kind}: {type(error).__name__} {error}") from error
        if timed:
            self.latencies.append((kind, time.perf_counter() - started, status, began))
        if response_headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        for header in response_headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if status not in expect:
            raise FlowError(f"{kind}: HTTP {status} (expected {'/'.join(map(str, expect))})")
        return status, response_headers, data

    def follow(self, kind: str, headers: http.client.HTTPMessage, *, timed: bool = True) -> bytes:
        return self.request(kind, "GET", urlsplit(headers["Location"]).path, timed=timed)[2]

    def log_in(self, email: str, *, timed: bool) -> None:
        _, _, page = self.request("login", "GET", "/account/login", timed=timed)
        fields = find_form(page, "/account/login")
        if fields is None:
            raise FlowError("login: no log-in form")
        token = dict(fields).get("csrf_token", "")
        _, headers, _ = self.request("login", "POST", "/account/login",
                                     [("csrf_token", token), ("email", email), ("password", PASSWORD)],
                                     expect=(302,), timed=timed)  # fmt: skip
        self.follow("login", headers, timed=timed)  # the dashboard

    def pause(self, think: float) -> None:
        if think and self.clock.stop.wait(think * random.uniform(0.5, 1.5)):  # noqa: S311 - pacing
            raise TimeUp


def judge_flow(browser: Browser, assignments: list[int], criteria: list[int], think: float) -> None:
    rng = random.Random(browser.address)  # noqa: S311 - test data
    while True:
        browser.request("judge_list", "GET", "/judging/")
        browser.pause(think)
        path = f"/scoring/assignments/{rng.choice(assignments)}"
        _, _, page = browser.request("scorecard", "GET", path)
        fields = find_form(page, path)
        if fields is None or "version" not in dict(fields):
            raise FlowError("scorecard: no scorecard form")
        browser.pause(think)
        draft = [(name, value) for name, value in fields if not name.startswith(("points-", "comment-"))]
        for criterion in criteria[: len(criteria) // 2]:
            draft += [
                (f"points-{criterion}", str(rng.randint(0, 10))),
                (f"comment-{criterion}", f"意见{rng.random():.6f}"),
            ]
        _, headers, _ = browser.request("draft", "POST", path, draft, expect=(302,))
        browser.follow("scorecard", headers)
        browser.pause(think)


def student_flow(browser: Browser, team_id: int, think: float) -> None:
    while True:
        browser.request("team", "GET", f"/teams/{team_id}")
        browser.pause(think)


def organizer_flow(browser: Browser, code: str, rounds: list[int], think: float) -> None:
    while True:
        for round_id in rounds:
            browser.request("progress", "GET", f"/competitions/{code}/rounds/{round_id}/scoring/progress")
            browser.pause(think)


def visitor_flow(browser: Browser, code: str, round_id: int, think: float) -> None:
    while True:
        browser.request("competition", "GET", f"/competitions/{code}")
        browser.pause(think)
        browser.request("results", "GET", f"/results/{code}/{round_id}")
        browser.pause(think)


def login_flow(port: int, clock: Clock, students: list[tuple[str, int]], every: float, sink: list[Browser]) -> None:
    """A new browser logging in every `every` seconds (each its own address and account)."""
    rng = random.Random(11)  # noqa: S311 - test data
    number = 0
    while not clock.stop.wait(every * rng.uniform(0.5, 1.5)):
        number += 1
        browser = Browser(port, f"10.250.{number // 250 % 250}.{number % 250 + 1}", clock)
        sink.append(browser)
        try:
            browser.log_in(students[rng.randrange(len(students))][0], timed=True)
        except TimeUp:
            return
        except FlowError as error:
            browser.errors.append(str(error))
        finally:
            browser.close()


def run_user(browser: Browser, flow, *args) -> None:
    """A flow until the time is up; a broken flow is counted and starts over."""
    while True:
        try:
            flow(browser, *args)
        except TimeUp:
            break
        except FlowError as error:
            browser.errors.append(str(error))
            if browser.clock.stop.wait(0.2):
                break
    browser.close()


# --- plumbing ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", PG_HOST, "-d", PG_ADMIN_DB, "-v", "ON_ERROR_STOP=1", "-qc", sql],  # noqa: S603, S607
                   check=True, capture_output=True, text=True)  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0


def cpu_seconds() -> dict[int, tuple[str, float]]:
    import psutil

    seconds = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:
            seconds[process.pid] = (process.info["name"] or "", times.user + times.system)
    return seconds


def cpu_report(before: dict, after: dict, server_pids: set[int], generator_pids: set[int], wall: float,
               ended: dict[str, float] | None = None) -> str:  # fmt: skip
    """Who used the CPU: the app, PostgreSQL, the load generator, the rest of the machine (processes
    that ended meanwhile are not seen, but for `ended`: wrk's own CPU time)."""
    used: Counter = Counter(ended or {})
    for pid, (name, seconds) in after.items():
        spent = seconds - before.get(pid, (name, 0.0))[1]
        if pid in server_pids or name.startswith("competition-web"):
            used["gunicorn"] += spent
        elif name.startswith("postgres"):
            used["postgres"] += spent
        elif pid in generator_pids:
            used["load generator"] += spent
        elif name.startswith("redis"):
            used["redis"] += spent
        else:
            used["other processes"] += spent
    cores = os.cpu_count() or 1
    parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in used.most_common())
    return f"CPU ({cores} cores × {wall:.0f} s = {cores * wall:.0f} s): {parts}"


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def server_pids(gunicorn: subprocess.Popen) -> set[int]:
    import psutil

    try:
        return {gunicorn.pid} | {child.pid for child in psutil.Process(gunicorn.pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return {gunicorn.pid}


def start_gunicorn(options, folder: Path, env: dict, port: int) -> tuple[subprocess.Popen, str]:
    log = (folder / "gunicorn.log").open("w")
    command = [str(BIN / "gunicorn")]
    if GUNICORN_CONFIG.exists() and not options.plain_gunicorn:
        command += ["-c", str(GUNICORN_CONFIG)]
        env = {**env, "WEB_CONCURRENCY": str(options.workers), "GUNICORN_BIND": f"127.0.0.1:{port}",
               "GUNICORN_ACCESS_LOG": str(folder / "access.log")}  # fmt: skip
        described = f"deploy/gunicorn.conf.py, WEB_CONCURRENCY={options.workers}"
    else:
        command += ["--workers", str(options.workers), "--bind", f"127.0.0.1:{port}", "--timeout", "60"]
        described = f"plain flags, {options.workers} workers"
    if options.worker_class:
        command += ["--worker-class", options.worker_class]
        described += f", --worker-class {options.worker_class}"
    command.append("bench_app:app")
    process = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    probe = Browser(port, "10.0.0.1", Clock())
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not start:\n{(folder / 'gunicorn.log').read_text()[-3000:]}")
        try:
            probe.request("health", "GET", "/healthz", timed=False)
            probe.close()
            break
        except FlowError:
            probe.close()
            time.sleep(0.3)
    return process, described


# --- the phases ---------------------------------------------------------------------------------------


def mixed_load(options, data: dict, port: int, gunicorn: subprocess.Popen) -> dict:
    clock = Clock()
    rng = random.Random(3)  # noqa: S311 - test data
    users: list[tuple[Browser, object, tuple, str | None]] = []
    address = iter(f"10.{1 + n // 250}.{n % 250 + 1}.9" for n in range(100_000))
    for email, assignments in rng.sample(data["judges"], min(options.judge_users, len(data["judges"]))):
        users.append((Browser(port, next(address), clock), judge_flow, (assignments, data["criteria"], options.think), email))  # fmt: skip
    for email, team_id in rng.sample(data["students"], options.student_users):
        users.append((Browser(port, next(address), clock), student_flow, (team_id, options.think), email))
    for email in data["organizers"][: options.organizer_users]:
        users.append((Browser(port, next(address), clock), organizer_flow,
                      (data["code"], [data["final"], data["online"]], options.think), email))  # fmt: skip
    for number in range(options.visitor_users):
        browser = Browser(
            port, next(address), clock, language="en-US,en;q=0.9" if number % 4 == 0 else "zh-CN,zh;q=0.9"
        )
        users.append((browser, visitor_flow, (data["code"], data["online"], options.think), None))

    started = time.perf_counter()
    failed_logins = []

    def log_in(entry) -> None:
        browser, _flow, _args, email = entry
        if email is not None:
            try:
                browser.log_in(email, timed=False)
            except FlowError as error:
                failed_logins.append(f"{email}: {error}")

    pool = [threading.Thread(target=lambda chunk=chunk: [log_in(entry) for entry in chunk])
            for chunk in (users[i::4] for i in range(4))]  # fmt: skip
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failed_logins:
        raise SystemExit(f"{len(failed_logins)} virtual users could not log in: {failed_logins[:3]}")
    logged_in = sum(1 for entry in users if entry[3] is not None)
    print(f"{logged_in} virtual users logged in in {time.perf_counter() - started:.1f} s (argon2 at production cost)")

    login_browsers: list[Browser] = []
    threads = [threading.Thread(target=run_user, args=(browser, flow, *args), daemon=True)
               for browser, flow, args, _email in users]  # fmt: skip
    threads.append(threading.Thread(target=login_flow, daemon=True,
                                     args=(port, clock, data["students"], options.login_every, login_browsers)))  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(options.warmup_seconds)  # every worker renders its pages once; not measured
    pids = server_pids(gunicorn)
    load_before = load_average()
    cpu_before = cpu_seconds()
    began = time.monotonic()
    clock.end = began + options.seconds
    time.sleep(options.seconds)
    clock.stop.set()
    for thread in threads:
        thread.join(timeout=90)
    elapsed = time.monotonic() - began
    cpu = cpu_report(cpu_before, cpu_seconds(), pids | server_pids(gunicorn), {os.getpid()}, elapsed)
    browsers = [entry[0] for entry in users] + login_browsers
    latencies = [entry for browser in browsers for entry in browser.latencies if entry[3] >= began]
    warmup = sum(1 for browser in browsers for entry in browser.latencies if entry[3] < began)
    slices = {}
    for _kind, seconds, _status, at in latencies:
        slices.setdefault(int((at - began) // 10), []).append(seconds * 1000)
    timeline = ", ".join(f"{n * 10}-{n * 10 + 10} s {percentile(v, 0.95):.0f}" for n, v in sorted(slices.items()))
    errors = [error for browser in browsers for error in browser.errors]
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, "cpu": cpu, "load": (load_before, load_average()),
            "reconnects": sum(browser.reconnects for browser in browsers), "users": len(users), "warmup": warmup,
            "timeline": timeline}  # fmt: skip


WRK_LINE = {
    "rps": re.compile(r"Requests/sec:\s+([\d.]+)"),
    "requests": re.compile(r"(\d+) requests in"),
    "non2xx": re.compile(r"Non-2xx or 3xx responses:\s+(\d+)"),
    "socket": re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"),
}


def results_only(options, data: dict, port: int, gunicorn: subprocess.Popen) -> dict:
    path = f"/results/{data['code']}/{data['online']}"
    probe = Browser(port, "10.0.0.2", Clock())
    _, headers, page = probe.request("check", "GET", path, timed=False)
    _, packed_headers, _page = probe.request("check", "GET", path, timed=False, extra={"Accept-Encoding": "gzip"})
    probe.close()
    rows = page.count(b'data-testid="result-row"')
    if rows != data["counts"]["snapshot_rows"]:
        raise SystemExit(f"{path} lists {rows} rows, the snapshot has {data['counts']['snapshot_rows']}")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    pids = server_pids(gunicorn)
    load_before = load_average()
    cpu_before = cpu_seconds()
    began = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(  # noqa: S603
        [wrk, "-t1", f"-c{options.results_connections}", f"-d{options.results_seconds:g}s", "--latency",
         "-H", "Accept-Language: zh-CN,zh;q=0.9", "-H", "Accept-Encoding: gzip, deflate", "-H", "Accept: text/html",
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=options.results_seconds + 60,
    )  # fmt: skip
    elapsed = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_seconds = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    cpu = cpu_report(cpu_before, cpu_seconds(), pids | server_pids(gunicorn), set(), elapsed, {"wrk": wrk_seconds})
    if result.returncode:
        raise SystemExit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    found = {name: pattern.search(result.stdout) for name, pattern in WRK_LINE.items()}
    socket_errors = sum(int(value) for value in found["socket"].groups()) if found["socket"] else 0
    if found["non2xx"] or found["socket"]:
        print(
            f"  wrk: {(found['non2xx'] or found['socket']).group(0)}"
            + (f"; {found['socket'].group(0)}" if found["non2xx"] and found["socket"] else "")
        )
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", result.stdout, re.M))
    return {"rps": float(found["rps"].group(1)), "requests": int(found["requests"].group(1)),
            "errors": (int(found["non2xx"].group(1)) if found["non2xx"] else 0) + socket_errors,
            "latency": latency, "cpu": cpu, "load": (load_before, load_average()), "bytes": len(page),
            "gzip_bytes": int(packed_headers.get("Content-Length", 0)), "encoding": packed_headers.get("Content-Encoding", "identity"),
            "cache_control": headers.get("Cache-Control")}  # fmt: skip


# --- main -----------------------------------------------------------------------------------------------


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the mixed load")
    parser.add_argument("--warmup-seconds", type=float, default=10, help="mixed load before the measured part")
    parser.add_argument("--results-seconds", type=float, default=20, help="length of the results-page-only load")
    parser.add_argument("--results-connections", type=int, default=8, help="wrk's connections in phase 2")
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--judges", type=int, default=300)
    parser.add_argument("--judge-users", type=int, default=60)
    parser.add_argument("--student-users", type=int, default=60)
    parser.add_argument("--organizer-users", type=int, default=4)
    parser.add_argument("--visitor-users", type=int, default=60)
    parser.add_argument("--think-ms", type=float, default=5000, help="each virtual user's pause between pages")
    parser.add_argument("--login-every-ms", type=float, default=2000, help="a new log-in this often")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), help="default: deploy/gunicorn.conf.py's")
    parser.add_argument("--plain-gunicorn", action="store_true", help="ignore deploy/gunicorn.conf.py")
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("BENCH_REDIS_DB", "14")))
    options = parser.parse_args(argv)
    options.think = options.think_ms / 1000
    options.login_every = options.login_every_ms / 1000
    return options


def main(argv=None) -> int:
    options = arguments(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-http-"))
    database = f"bench_http_{os.getpid()}"
    state = {"created": False, "gunicorn": None}

    def terminate(_signal, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        return run(options, folder, database, state)
    finally:
        gunicorn = state["gunicorn"]
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.terminate()
            try:
                gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        if state["created"]:
            psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


def run(options, folder: Path, database: str, state: dict) -> int:
    instance = folder / "instance"
    instance.mkdir()
    (folder / "bench_app.py").write_text(APP_MODULE)
    port = free_port()
    database_url = f"postgresql://root@{PG_HOST}:5432/{database}"
    env = os.environ.copy()
    env.update(APP_ENV="production", SECRET_KEY=secrets.token_urlsafe(48), DATABASE_URL=database_url,
               REDIS_URL=f"redis://127.0.0.1:6379/{options.redis_db}", BASE_URL=f"http://127.0.0.1:{port}",
               TRUSTED_HOSTS="127.0.0.1", TRUSTED_PROXIES="1", SESSION_COOKIE_SECURE="false", MAIL_BACKEND="console",
               LOG_LEVEL="WARNING", BENCH_INSTANCE_PATH=str(instance),
               PYTHONPATH=os.pathsep.join([str(folder), str(PROJECT)]))  # fmt: skip
    print(f"load average at the start {load_average()} ({os.cpu_count()} cores)")

    psql(f'CREATE DATABASE "{database}"')
    state["created"] = True
    started = time.perf_counter()
    from competition import create_app
    from competition.extensions import db

    app = create_app({"APP_ENV": "production", "INSTANCE_PATH": str(instance), "SECRET_KEY": env["SECRET_KEY"],
                      "DATABASE_URL": database_url, "BASE_URL": env["BASE_URL"], "JOBS_BACKEND": "deferred",
                      "MAIL_BACKEND": "console", "LOG_LEVEL": "WARNING"})  # fmt: skip
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        data = seed(options.teams, options.judges, max(1, options.organizer_users))
        db.session.remove()
        db.engine.dispose()
    counts = data["counts"]
    print(f"data: {counts['teams']} teams of 3, {options.judges} judges, {counts['users']} accounts; online review: "
          f"{counts['scorecards']} submitted scorecards, {counts['values']} values, published "
          f"({counts['snapshot_rows']} rows); final: {counts['advancing']} teams, {counts['final_assignments']} "
          f"assignments, judging open; built in {time.perf_counter() - started:.1f} s")  # fmt: skip

    gunicorn, described = start_gunicorn(options, folder, env, port)
    state["gunicorn"] = gunicorn
    print(f"gunicorn on 127.0.0.1:{port} ({described}); PostgreSQL; Redis db {options.redis_db}")

    mixed = mixed_load(options, data, port, gunicorn)
    latencies = mixed["latencies"]
    times = [seconds * 1000 for _kind, seconds, _status, _at in latencies]
    rps = len(latencies) / mixed["elapsed"]
    p95 = percentile(times, 0.95)
    print(f"mixed load: {mixed['users']} virtual users + a log-in every ~{options.login_every:g} s, think "
          f"{options.think_ms:g} ms; {len(latencies)} requests in {mixed['elapsed']:.1f} s = {rps:.0f} requests/s; "
          f"p50 {percentile(times, 0.5):.0f} ms, p95 {p95:.0f} ms, max {max(times, default=0):.0f} ms")  # fmt: skip
    kinds = Counter(kind for kind, _seconds, _status, _at in latencies)
    for kind in kinds:
        values = [seconds * 1000 for k, seconds, _status, _at in latencies if k == kind]
        print(f"  {kind:12s} n={len(values):6d} p50={percentile(values, 0.5):6.0f} ms "
              f"p95={percentile(values, 0.95):6.0f} ms max={max(values):6.0f} ms")  # fmt: skip
    statuses = Counter(status for _kind, _seconds, status, _at in latencies)
    print(f"  statuses {dict(sorted(statuses.items()))}; keep-alive connections reopened {mixed['reconnects']}; "
          f"{mixed['warmup']} requests of the {options.warmup_seconds:g} s warm-up not counted")  # fmt: skip
    print(f"  p95 per 10 s (ms): {mixed['timeline']}")
    print(f"  {mixed['cpu']}; load average {mixed['load'][0]} → {mixed['load'][1]}")
    problems = Counter(re.sub(r"\d+", "N", error) for error in mixed["errors"])
    for problem, number in problems.most_common(10):
        print(f"  error ×{number}: {problem}")
    errors = len(mixed["errors"])
    if any(status >= 500 for _kind, _seconds, status, _at in latencies):
        log = (folder / "gunicorn.log").read_text(errors="replace")
        start = log.find("Traceback")
        print(
            "  the first server error in gunicorn's log:\n" + log[start : start + 4000] if start >= 0 else log[-2000:]
        )

    page = results_only(options, data, port, gunicorn)
    latency = ", ".join(f"p{key} {value}" for key, value in page["latency"].items())
    print(f"results page alone (wrk, {options.results_connections} connections, {options.results_seconds:g} s): "
          f"{page['requests']} requests, {page['rps']:.0f} requests/s, latency {latency}; errors {page['errors']}; "
          f"{page['bytes'] / 1024:.0f} KiB per page, {page['gzip_bytes'] / 1024:.0f} KiB as sent to wrk "
          f"({page['encoding']}); Cache-Control {page['cache_control']}")  # fmt: skip
    print(f"  {page['cpu']}; load average {page['load'][0]} → {page['load'][1]}")
    errors += page["errors"]
    met = p95 <= 300 and errors == 0 and page["rps"] >= 1000
    print(f"targets (mixed p95 ≤ 300 ms, no errors, results_rps ≥ 1,000) {'met' if met else 'MISSED'}")
    print(f"http rps={rps:.0f} p95_ms={p95:.0f} errors={errors} results_rps={page['rps']:.0f}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
