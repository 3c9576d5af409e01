"""Sixty judges scoring at once: the scorecard pages under gunicorn on PostgreSQL.

    .venv/bin/python benchmarks/scoring_load.py [--judges 60] [--seconds 60] [--per-judge 40]
                                                [--worker-class sync|gthread] [--think-ms 1000] [--profile]

Builds everything in a temporary folder and a PostgreSQL database of its own (`bench_scoring_<pid>`,
created with psql on 127.0.0.1 and dropped at the end): the schema by `flask db upgrade`, the data
by a seeding script — a competition in judging, a round whose judging is open, the rubric of the
preset alliance-online-review, two material slots (a business plan PDF and a video link) filled for
every submission, and JUDGES judges with accounts of their own (a known password) and PER-JUDGE
assignments each (5 judges per submission). Then it starts the app under gunicorn (2 workers,
`--worker-class`, default sync) with production settings (CSRF on, production argon2, inline jobs,
TRUSTED_PROXIES=1: every judge comes from an address of their own through the "proxy" header) bound
to 127.0.0.1 on a free port.

Each judge is a client thread: it logs in (the CSRF token read from the log-in form), then for
SECONDS goes through its assignments, each as a browser would:

1. GET  /scoring/assignments/<id>          the scorecard (its form gives the field names, version, token)
2. POST /scoring/assignments/<id>          a draft (half of the criteria) → 302, then GET the page again
3. POST /scoring/assignments/<id>/submit   every criterion and the overall comment → 200, the confirmation
4. POST /scoring/assignments/<id>/confirm  the confirmation's own form → 302, then GET: read-only, submitted

Between two actions (open, draft, submit, confirm; not before following a redirect) each judge pauses
`--think-ms` × U(0.5, 1.5), default 1000 ms, and starts at a random moment within that: 60 judges
each finishing a scorecard every 5 s or so, about 80 requests/s — a stress load far beyond real
judges, who read a project for minutes. `--think-ms 0` measures the saturated server instead
(every judge clicks again the moment an answer arrives): then latency is simply 60 / throughput.
Sync workers are the default: gthread (2 × 4 threads) was measured slower here (the GIL; the two
cores are busy anyway). Every request's latency is recorded (logging in is reported apart: argon2 at
production cost is meant to be slow). Errors are answers outside 2xx/3xx, exceptions, and answers
that break the flow (a refused save, a missing confirmation).
Afterwards the database is checked: lost = submits the client saw succeed whose scorecard is not
submitted with exactly the values sent; duplicates = assignments with more than one scorecard.
`--profile` runs every request of the workers under cProfile and prints the hottest functions and
the SQL statements per request.

The last line is
`scoring judges=60 requests=<n> p50_ms=<int> p95_ms=<int> errors=<n> lost=<n> duplicates=<n>`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "Bench-judge-2026!"  # noqa: S105 - throw-away benchmark accounts
PG_HOST, PG_ADMIN_DB = "127.0.0.1", "test"

APP_MODULE = """\
import os

from competition import create_app

app = create_app({"INSTANCE_PATH": os.environ["BENCH_INSTANCE_PATH"]})

if os.environ.get("BENCH_PROFILE"):  # cProfile every request; count the SQL statements per endpoint
    import atexit
    import cProfile
    import json
    import re

    from sqlalchemy import event

    from competition.extensions import db

    profile_dir = os.environ["BENCH_PROFILE"]
    profiler = cProfile.Profile()
    statements = {"count": 0, "requests": 0}
    per_endpoint = {}

    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def count_statement(*_args):
            statements["count"] += 1

    inner = app.wsgi_app

    def dump():
        pid = os.getpid()
        profiler.dump_stats(os.path.join(profile_dir, f"worker-{pid}.prof"))
        with open(os.path.join(profile_dir, f"worker-{pid}.sql.json"), "w") as handle:
            json.dump(per_endpoint, handle)

    def profiled(environ, start_response):
        before = statements["count"]
        profiler.enable()
        try:
            return inner(environ, start_response)
        finally:
            profiler.disable()
            key = environ["REQUEST_METHOD"] + " " + re.sub(r"/\\d+", "/<id>", environ["PATH_INFO"])
            per_endpoint.setdefault(key, []).append(statements["count"] - before)
            statements["requests"] += 1
            if statements["requests"] % 200 == 0:
                dump()

    atexit.register(dump)
    app.wsgi_app = profiled
"""

SEED_SCRIPT = """\
import json
import sys
from datetime import timedelta

from bench_app import app
from competition.accounts.models import User
from competition.accounts.services import hash_password
from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import Assignment, RoundJudge
from competition.scoring import services
from competition.submissions.models import MaterialSlot, Submission, SubmissionFile
from tests import factories

JUDGES, PER_JUDGE = int(sys.argv[1]), int(sys.argv[2])
PANEL = min(5, JUDGES)
PASSWORD = sys.argv[3]

with app.app_context():
    now = utcnow()
    secret = hash_password(PASSWORD)  # one argon2 hash (production cost) for every account
    contest = factories.competition(code="BENCH", state="judging")
    track = factories.track(contest, "idea")
    round_ = factories.round_(contest, level="alliance", name_zh="联盟网络评审", name_en="Alliance online review",
                              judging_opens_at=now - timedelta(days=1), judging_closes_at=now + timedelta(days=7))
    organizer = factories.user(email="organizer@bench.example.edu.cn")
    factories.grant(organizer, contest, "organizer")
    rubric = services.create_rubric(round_, actor=organizer, preset_code="alliance-online-review")
    plan = MaterialSlot(round=round_, position=1, code="plan", label_zh="商业计划书", label_en="Business plan",
                        allowed_kinds=["pdf"], max_bytes=50 * 1024 * 1024, required=True, max_files=1)
    video = MaterialSlot(round=round_, position=2, code="video", label_zh="项目视频", label_en="Project video",
                         allowed_kinds=["mp4"], max_bytes=500 * 1024 * 1024, required=False, max_files=1,
                         allow_link=True)
    db.session.add_all([plan, video])
    cqu = factories.institution("CQU")
    scu = factories.institution("SCU")
    judges = []
    for number in range(JUDGES):
        judge = User(email=f"judge{number:03d}@bench.example.edu.cn", password_hash=secret,
                     email_verified_at=now, real_name=f"评委{number:03d}", locale="zh_Hans_CN", institution=cqu)
        db.session.add(judge)
        db.session.flush()
        factories.grant(judge, contest, "judge")
        db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
        judges.append(judge)
    submissions = []
    for number in range(JUDGES * PER_JUDGE // PANEL):
        leader = User(email=f"leader{number:04d}@bench.example.edu.cn", password_hash=secret, email_verified_at=now,
                      real_name=f"队长{number:04d}", locale="zh_Hans_CN", institution=scu)
        db.session.add(leader)
        db.session.flush()
        team = factories.team(contest, leader=leader, members=0, state="approved", track_row=track,
                              institution_row=scu, name=f"基准团队{number:04d}")
        team.project_title = f"基准项目{number:04d}：智慧农业物联网平台"
        submission = Submission(round=round_, team=team, state="submitted", submitted_at=now,
                                abstract="本项目面向成渝地区的农业合作社，提供低成本的物联网监测与决策服务。" * 3,
                                keywords="物联网, 农业", industry="农业", stage="prototype")
        db.session.add(submission)
        submission.files.append(SubmissionFile(slot=plan, original_name="商业计划书.pdf", kind="pdf",
                                               storage_key=f"bench/plan-{number}", size=2_345_678, sha256="0" * 64,
                                               uploaded_by_id=leader.id))
        submission.files.append(SubmissionFile(slot=video, link_url=f"https://video.example.com/v/{number}",
                                               uploaded_by_id=leader.id))
        submissions.append(submission)
    db.session.flush()
    work = {judge.id: [] for judge in judges}
    for index, submission in enumerate(submissions):
        for seat in range(PANEL):
            judge = judges[(index * PANEL + seat) % JUDGES]
            assignment = Assignment(round_id=round_.id, submission_id=submission.id, judge_id=judge.id)
            db.session.add(assignment)
            db.session.flush()
            work[judge.id].append(assignment.id)
    db.session.commit()
    criteria = [{"id": c.id, "code": c.code, "max": int(c.max_points)} for c in rubric.criteria]
    print(json.dumps({"round": round_.id, "criteria": criteria,
                      "judges": [{"email": judge.email, "assignments": work[judge.id]} for judge in judges]}))
"""


# --- plumbing ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], env: dict, cwd: Path, timeout: int = 600) -> str:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def psql(sql: str) -> None:
    run(["psql", "-h", PG_HOST, "-d", PG_ADMIN_DB, "-v", "ON_ERROR_STOP=1", "-qc", sql], os.environ.copy(), PROJECT)


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
FIELD = re.compile(r"<(input|textarea|button)\b([^>]*)>", re.S)
ATTRIBUTE = re.compile(r'([\w-]+)(?:="([^"]*)")?')
TEXTAREA_END = "</textarea>"


class Form:
    """The forms of a page, found by regular expressions (cheaper than an HTML parser: the load
    generator shares the machine's two cores with the server): action, fields in order, formactions."""

    @staticmethod
    def attributes(text: str) -> dict[str, str]:
        return {name: unescape(value or "") for name, value in ATTRIBUTE.findall(text)}

    @classmethod
    def find(cls, page: bytes, action: str) -> dict | None:
        html = page.decode("utf-8", "replace")
        for match in FORM.finditer(html):
            if urlsplit(cls.attributes(match.group(1)).get("action", "")).path != action:
                continue
            form: dict = {"action": action, "fields": [], "buttons": []}
            body = match.group(2)
            for field_match in FIELD.finditer(body):
                tag, attrs = field_match.group(1), cls.attributes(field_match.group(2))
                if tag == "button":
                    if "formaction" in attrs:
                        form["buttons"].append(urlsplit(attrs["formaction"]).path)
                elif tag == "textarea" and attrs.get("name"):
                    text = body[field_match.end() : body.index(TEXTAREA_END, field_match.end())]
                    form["fields"].append((attrs["name"], unescape(text)))
                elif attrs.get("name"):
                    form["fields"].append((attrs["name"], attrs.get("value", "")))
            return form
        return None


class FlowError(Exception):
    """The server answered, but not as the flow expects (a refusal, a missing form)."""


class TimeUp(Exception):
    """The run is over: no new request is started."""


@dataclass
class Judge:
    number: int
    email: str
    assignments: list[int]
    port: int
    think: float
    #: [monotonic time at which the run ends] (shared; infinite until every judge has logged in)
    end: list[float] = field(default_factory=lambda: [float("inf")])
    cookies: dict[str, str] = field(default_factory=dict)
    latencies: list[tuple[str, float, int]] = field(default_factory=list)
    logins: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: assignment id → (points by criterion id, comments by criterion id, overall) of each submit seen to succeed
    submitted: dict[int, tuple[dict[int, str], dict[int, str], str]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"10.{60 + self.number // 250}.{self.number % 250}.7"

    def request(self, kind: str, method: str, path: str, form: list[tuple[str, str]] | None = None, *, timed=True):
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "en", "X-Forwarded-For": self.address}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if timed and time.monotonic() >= self.end[0]:
            raise TimeUp
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        elapsed = time.perf_counter() - started
        if timed:
            self.latencies.append((kind, elapsed, response.status))
        else:
            self.logins.append(elapsed)
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        if not 200 <= response.status < 400:
            raise FlowError(f"{kind}: HTTP {response.status} {path}")
        return response, data

    def pause(self) -> None:
        if self.think:
            time.sleep(self.think * random.uniform(0.5, 1.5))  # noqa: S311 - pacing, not security

    def log_in(self) -> None:
        _, page = self.request("login_page", "GET", "/account/login", timed=False)
        form = Form.find(page, "/account/login")
        if form is None:
            raise FlowError("no log-in form")
        token = dict(form["fields"]).get("csrf_token", "")
        response, _ = self.request("login", "POST", "/account/login",
                                   [("csrf_token", token), ("email", self.email), ("password", PASSWORD)], timed=False)  # fmt: skip
        if response.status != 302:
            raise FlowError(f"log-in refused: HTTP {response.status}")

    def score(self, assignment_id: int, criteria: list[dict], rng: random.Random) -> None:
        path = f"/scoring/assignments/{assignment_id}"
        # 1. open
        _, page = self.request("open", "GET", path)
        form = Form.find(page, path)
        if form is None:
            raise FlowError(f"open: no scorecard form on {path}")
        fields = dict(form["fields"])
        if f"points-{criteria[0]['id']}" not in fields or "version" not in fields:
            raise FlowError(f"open: unexpected fields {sorted(fields)}")
        self.pause()
        # 2. a draft: half of the criteria
        points = {c["id"]: str(rng.randint(0, c["max"])) for c in criteria}
        comments = {c["id"]: f"评委{self.number}对{c['code']}的意见：{rng.randint(0, 10**6)}" for c in criteria}
        overall = f"评委{self.number}的总评（{assignment_id}）：项目有创意，市场分析还需加强。{rng.randint(0, 10**6)}"
        draft = [(name, value) for name, value in form["fields"] if not name.startswith(("points-", "comment-"))]
        draft = [(name, overall if name == "overall_comment" else value) for name, value in draft]
        for c in criteria[: len(criteria) // 2 + 1]:
            draft += [(f"points-{c['id']}", points[c["id"]]), (f"comment-{c['id']}", comments[c["id"]])]
        response, _ = self.request("draft", "POST", path, draft)
        if response.status != 302:
            raise FlowError(f"draft refused on {path}")
        _, page = self.request("open", "GET", path)
        form = Form.find(page, path)
        if form is None:
            raise FlowError(f"after the draft: no scorecard form on {path}")
        self.pause()
        # 3. everything, to the confirmation
        full = [(name, value) for name, value in form["fields"] if name in ("csrf_token", "version")]
        for c in criteria:
            full += [(f"points-{c['id']}", points[c["id"]]), (f"comment-{c['id']}", comments[c["id"]])]
        full.append(("overall_comment", overall))
        submit_path = f"{path}/submit"
        if submit_path not in form["buttons"]:
            raise FlowError(f"no submit button on {path}")
        response, page = self.request("submit", "POST", submit_path, full)
        confirmation = Form.find(page, f"{path}/confirm")
        if response.status != 200 or confirmation is None:
            raise FlowError(f"submit: no confirmation for {path} (HTTP {response.status})")
        shown = dict(confirmation["fields"])
        if any(shown.get(f"points-{c['id']}") != points[c["id"]] for c in criteria):
            raise FlowError(f"the confirmation of {path} shows other points than were sent")
        self.pause()
        # 4. confirm
        response, _ = self.request("confirm", "POST", f"{path}/confirm", confirmation["fields"])
        if response.status != 302:
            raise FlowError(f"confirm refused on {path}")
        self.submitted[assignment_id] = (points, comments, overall)
        _, page = self.request("open", "GET", path)
        if b'data-testid="submitted"' not in page:
            raise FlowError(f"{path} is not shown as submitted after confirming")
        self.pause()

    def work(self, criteria: list[dict], start: threading.Barrier) -> None:
        rng = random.Random(self.number)  # noqa: S311 - test data
        try:
            self.log_in()
        except (OSError, FlowError, http.client.HTTPException) as error:
            self.errors.append(f"log-in: {error}")
            start.wait()
            return
        start.wait()
        if self.think:  # judges do not all click in the same millisecond
            time.sleep(self.think * rng.random())
        for assignment_id in self.assignments:
            try:
                self.score(assignment_id, criteria, rng)
            except TimeUp:
                return
            except (OSError, FlowError, http.client.HTTPException) as error:
                self.errors.append(f"{type(error).__name__}: {error}")
        self.errors.append("ran out of assignments before the end")


# --- checking the database ---------------------------------------------------------------------------


def verify(database_url: str, judges: list[Judge]) -> tuple[int, int, dict]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        duplicates = connection.execute(
            "SELECT count(*) FROM (SELECT assignment_id FROM scorecards WHERE assignment_id IS NOT NULL "
            "GROUP BY assignment_id HAVING count(*) > 1) AS twice"
        ).fetchone()[0]
        cards = {
            assignment_id: (card_id, state, overall)
            for card_id, assignment_id, state, overall in connection.execute(
                "SELECT id, assignment_id, state, overall_comment FROM scorecards"
            )
        }
        values: dict[int, dict[int, tuple[Decimal, str]]] = defaultdict(dict)
        for card_id, criterion_id, points, comment in connection.execute(
            "SELECT scorecard_id, criterion_id, points, comment FROM score_values"
        ):
            values[card_id][criterion_id] = (points, comment)
        counts = {
            "scorecards": len(cards),
            "submitted": sum(1 for _, state, _ in cards.values() if state == "submitted"),
            "history": connection.execute("SELECT count(*) FROM score_history").fetchone()[0],
            "history_submits": connection.execute(
                "SELECT count(*) FROM score_history WHERE action = 'submit'"
            ).fetchone()[0],
        }
    lost = 0
    for judge in judges:
        for assignment_id, (points, comments, overall) in judge.submitted.items():
            card = cards.get(assignment_id)
            expected = {cid: (Decimal(raw), comments[cid]) for cid, raw in points.items()}
            if card is None or card[1] != "submitted" or card[2] != overall or values.get(card[0]) != expected:
                lost += 1
    return lost, duplicates, counts


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """CPU time (user + system) of every process now: pid → (name, seconds)."""
    import psutil

    seconds = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:
            seconds[process.pid] = (process.info["name"] or "", times.user + times.system)
    return seconds


def cpu_report(before: dict, after: dict, server_pids: set[int], wall: float) -> str:
    """Who used the CPU during the run: the app's workers, PostgreSQL, this load generator, the rest
    (other jobs on the machine disturb the figures: they are shown, not hidden)."""
    import psutil

    used: Counter = Counter()
    for pid, (name, seconds) in after.items():
        spent = seconds - before.get(pid, (name, 0.0))[1]
        if pid in server_pids:
            used["gunicorn"] += spent
        elif name.startswith("postgres"):
            used["postgres"] += spent
        elif pid == os.getpid():
            used["load generator"] += spent
        else:
            used["other processes"] += spent
    cores = psutil.cpu_count()
    parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in used.most_common())
    return f"CPU used during the run ({cores} cores × {wall:.0f} s = {cores * wall:.0f} s): {parts}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0


def report_profile(folder: Path) -> None:
    import pstats

    stats = None
    for path in sorted(folder.glob("worker-*.prof")):
        try:
            stats = pstats.Stats(str(path)) if stats is None else stats.add(str(path))
        except (TypeError, EOFError, ValueError):  # a worker that profiled nothing
            continue
    if stats is None:
        print("no profile written")
        return
    print("\n--- cProfile of the workers (cumulative) ---")
    stats.sort_stats("cumulative").print_stats(45)
    print("--- cProfile of the workers (own time) ---")
    stats.sort_stats("tottime").print_stats(30)
    merged: dict[str, list[int]] = defaultdict(list)
    for path in folder.glob("worker-*.sql.json"):
        for key, counts in json.loads(path.read_text()).items():
            merged[key].extend(counts)
    print("--- SQL statements per request ---")
    for key, counts in sorted(merged.items()):
        print(f"  {key:55s} n={len(counts):5d} mean={statistics.mean(counts):5.1f} max={max(counts)}")


# --- main -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judges", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--per-judge", type=int, default=40, help="assignments per judge (5 judges per submission)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--think-ms", type=float, default=1000, help="each judge's pause between actions")
    parser.add_argument("--profile", action="store_true", help="cProfile the workers and count SQL per request")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-scoring-"))
    instance = folder / "instance"
    instance.mkdir()
    profile_dir = folder / "profile"
    profile_dir.mkdir()
    port = free_port()
    database = f"bench_scoring_{os.getpid()}"
    database_url = f"postgresql://root@{PG_HOST}:5432/{database}"
    env = os.environ.copy()
    env.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        BASE_URL=f"http://127.0.0.1:{port}",
        SESSION_COOKIE_SECURE="false",
        MAIL_BACKEND="console",
        LOG_LEVEL="WARNING",
        TRUSTED_PROXIES="1",
        BENCH_INSTANCE_PATH=str(instance),
        PYTHONPATH=os.pathsep.join([str(folder), str(PROJECT)]),
    )
    env.pop("REDIS_URL", None)
    if options.profile:
        env["BENCH_PROFILE"] = str(profile_dir)
    (folder / "bench_app.py").write_text(APP_MODULE)
    (folder / "seed.py").write_text(SEED_SCRIPT)
    gunicorn = None
    created = False
    try:
        psql(f'CREATE DATABASE "{database}"')
        created = True
        run([str(BIN / "flask"), "--app", "bench_app", "db", "upgrade"], env, folder)
        seeded_at = time.perf_counter()
        seed = json.loads(
            run([sys.executable, "seed.py", str(options.judges), str(options.per_judge), PASSWORD], env, folder)
            .strip()
            .splitlines()[-1]
        )
        print(
            f"database {database}: {options.judges} judges × {options.per_judge} assignments, "
            f"{len(seed['criteria'])} criteria, seeded in {time.perf_counter() - seeded_at:.1f} s"
        )

        log = folder / "gunicorn.log"
        command = [str(BIN / "gunicorn"), "--workers", str(options.workers), "--worker-class", options.worker_class,
                   "--bind", f"127.0.0.1:{port}", "--timeout", "60", "bench_app:app"]  # fmt: skip
        if options.worker_class == "gthread":
            command[5:5] = ["--threads", str(options.threads)]
        with log.open("w") as log_file:
            gunicorn = subprocess.Popen(command, env=env, cwd=folder, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
        probe = Judge(-1, "", [], port, 0)
        deadline = time.monotonic() + 60
        while True:
            if gunicorn.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            try:
                probe.request("health", "GET", "/healthz", timed=False)
                break
            except (OSError, FlowError):
                time.sleep(0.2)
        workers = f"{options.workers} {options.worker_class} workers" + (
            f" × {options.threads} threads" if options.worker_class == "gthread" else ""
        )
        print(f"gunicorn on 127.0.0.1:{port}: {workers}; think time {options.think_ms:g} ms")

        end = [float("inf")]
        judges = [Judge(number, entry["email"], entry["assignments"], port, options.think_ms / 1000, end)
                  for number, entry in enumerate(seed["judges"])]  # fmt: skip
        start = threading.Barrier(len(judges) + 1)
        threads = [threading.Thread(target=judge.work, args=(seed["criteria"], start), daemon=True)
                   for judge in judges]  # fmt: skip
        logins_started = time.perf_counter()
        for thread in threads:
            thread.start()
        start.wait()
        print(f"{len(judges)} judges logged in in {time.perf_counter() - logins_started:.1f} s")
        import psutil

        server_pids = {gunicorn.pid} | {child.pid for child in psutil.Process(gunicorn.pid).children()}
        cpu_before = cpu_seconds()
        began = time.monotonic()
        end[0] = began + options.seconds
        for thread in threads:
            thread.join(timeout=options.seconds + 120)
        elapsed = time.monotonic() - began
        cpu_after = cpu_seconds()

        lost, duplicates, counts = verify(database_url, judges)
        latencies = [entry for judge in judges for entry in judge.latencies]
        times = [elapsed_s * 1000 for _, elapsed_s, _ in latencies]
        logins = [value * 1000 for judge in judges for value in judge.logins]
        problems = Counter(error.split(" on ")[0].split(" for ")[0] for judge in judges for error in judge.errors
                           if error != "ran out of assignments before the end")  # fmt: skip
        ran_out = sum(1 for judge in judges if "ran out of assignments before the end" in judge.errors)
        errors = sum(problems.values())
        print(f"{len(latencies)} requests in {elapsed:.1f} s: {len(latencies) / elapsed:.0f} requests/s")
        for kind in ("open", "draft", "submit", "confirm"):
            values = [seconds * 1000 for k, seconds, _ in latencies if k == kind]
            if values:
                print(f"  {kind:8s} n={len(values):5d} p50={percentile(values, 0.5):6.0f} ms "
                      f"p95={percentile(values, 0.95):6.0f} ms max={max(values):6.0f} ms")  # fmt: skip
        if logins:
            print(f"  log-in   n={len(logins):5d} p50={percentile(logins, 0.5):6.0f} ms "
                  f"p95={percentile(logins, 0.95):6.0f} ms (not in the totals below)")  # fmt: skip
        print(cpu_report(cpu_before, cpu_after, server_pids, elapsed))
        statuses = Counter(status for _, _, status in latencies)
        print(f"statuses {dict(sorted(statuses.items()))}")
        submits = sum(len(judge.submitted) for judge in judges)
        print(f"scorecards submitted (client view) {submits}; database: {counts}")
        if ran_out:
            print(f"{ran_out} judges ran out of assignments before the end (seed more with --per-judge)")
        for problem, number in problems.most_common(10):
            print(f"  error ×{number}: {problem}")
        if options.profile:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
            gunicorn = None
            report_profile(profile_dir)
        print(
            f"scoring judges={len(judges)} requests={len(latencies)} p50_ms={percentile(times, 0.5):.0f} "
            f"p95_ms={percentile(times, 0.95):.0f} errors={errors} lost={lost} duplicates={duplicates}"
        )
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            try:
                gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        if created:
            psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
