"""How much memory a large upload costs the web worker: a 300 MB video streamed through gunicorn.

    .venv/bin/python benchmarks/uploads.py [SIZE_MB]

Builds everything in a temporary folder: an instance folder, a SQLite database (schema made with
`flask db upgrade`, data by a small seeding script: a competition, an approved team whose leader's
password is known, a round with a 600 MB video material and a deadline a year away), then starts
the app under gunicorn (1 sync worker, --timeout 300) on a free local port with production
settings (CSRF on). It logs in as the team leader with http.client, reads the CSRF token from the
pages, and streams a generated MP4 of SIZE_MB (default 300) as multipart/form-data with a known
Content-Length, chunk by chunk (never held in memory), while sampling the worker's RSS every 50 ms.

The last line is `uploads size_mb=… seconds=… peak_rss_mb=… rss_growth_mb=…`, where
rss_growth_mb is the peak RSS during the upload minus the RSS just before it (target: < 50).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psutil

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MB = 1024 * 1024
CHUNK = MB
PASSWORD = "Bench-upload-2026!"  # noqa: S105 - the throw-away benchmark account
EMAIL = "leader@bench.example.edu.cn"
SLOT_MAX_BYTES = 600 * MB

APP_MODULE = """\
import os

from competition import create_app

app = create_app({"INSTANCE_PATH": os.environ["BENCH_INSTANCE_PATH"]})
"""

SEED_SCRIPT = f"""\
import json
from datetime import timedelta

from bench_app import app
from competition.core.time import utcnow
from competition.extensions import db
from competition.submissions.models import MaterialSlot
from tests import factories

with app.app_context():
    contest = factories.competition(code="BENCH", state="submission")
    factories.track(contest)
    leader = factories.user(email={EMAIL!r}, password={PASSWORD!r}, real_name="基准队长")
    team = factories.team(contest, leader=leader, state="approved", members=0, name="基准团队")
    round_ = factories.round_(contest, submission_deadline=utcnow() + timedelta(days=365))
    slot = MaterialSlot(round=round_, position=1, code="video", label_zh="项目视频", label_en="Project video",
                        allowed_kinds=["mp4"], max_bytes={SLOT_MAX_BYTES}, required=False, max_files=1,
                        allow_link=False)
    db.session.add(slot)
    db.session.commit()
    print(json.dumps({{"team": team.id, "round": round_.id, "slot": slot.id}}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], env: dict, cwd: Path) -> str:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)  # noqa: S603
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Browser:
    """Just enough of a browser over http.client: cookies, one request at a time."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def connection(self, timeout: float = 600) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "en", **extra}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return headers

    def keep_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str):
        connection = self.connection(timeout=60)
        connection.request(method, path, body=body, headers=self.headers(**headers))
        response = connection.getresponse()
        data = response.read()
        self.keep_cookies(response)
        connection.close()
        return response, data


def csrf_token(html: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    if not match:
        raise SystemExit("no CSRF token in the page")
    return match.group(1).decode()


def wait_until_ready(browser: Browser, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            response, _ = browser.request("GET", "/healthz")
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer:\n{log.read_text()[-3000:]}")


def mp4_chunks(size: int):
    """A valid ftyp box, then pseudo-random bytes, one chunk at a time."""
    block = secrets.token_bytes(CHUNK)
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    sent = 0
    while sent < size:
        chunk = block[: min(CHUNK, size - sent)]
        if sent == 0:
            chunk = header + chunk[len(header) :]
        sent += len(chunk)
        yield chunk


class RssSampler(threading.Thread):
    def __init__(self, process: psutil.Process, interval: float = 0.05):
        super().__init__(daemon=True)
        self.process, self.interval = process, interval
        self.samples: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.samples.append(self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def stream_upload(browser: Browser, path: str, token: str, size: int, filename: str) -> tuple[int, str, str]:
    """POST the file as multipart/form-data; returns (status, location, sha256 of the file sent)."""
    boundary = "----bench" + secrets.token_hex(16)
    before = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    after = f"\r\n--{boundary}--\r\n".encode()
    connection = browser.connection()
    connection.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
    headers = browser.headers(
        **{
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(before) + size + len(after)),
        }
    )
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(before)
    digest = hashlib.sha256()
    for chunk in mp4_chunks(size):
        digest.update(chunk)
        connection.send(chunk)
    connection.send(after)
    response = connection.getresponse()
    response.read()
    browser.keep_cookies(response)
    connection.close()
    return response.status, response.getheader("Location", ""), digest.hexdigest()


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    size = size_mb * MB
    folder = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    instance = folder / "instance"
    instance.mkdir()
    port = free_port()
    database = folder / "bench.db"
    env = os.environ.copy()
    env.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=f"sqlite:///{database}",
        BASE_URL=f"http://127.0.0.1:{port}",
        SESSION_COOKIE_SECURE="false",
        MAIL_BACKEND="console",
        LOG_LEVEL="WARNING",
        BENCH_INSTANCE_PATH=str(instance),
        PYTHONPATH=os.pathsep.join([str(folder), str(PROJECT)]),
        TMPDIR=str(folder),  # Werkzeug spools the upload here; removed with the folder
    )
    env.pop("REDIS_URL", None)
    (folder / "bench_app.py").write_text(APP_MODULE)
    (folder / "seed.py").write_text(SEED_SCRIPT)
    gunicorn = None
    try:
        run([str(BIN / "flask"), "--app", "bench_app", "db", "upgrade"], env, folder)
        ids = json.loads(run([sys.executable, "seed.py"], env, folder).strip().splitlines()[-1])
        print(f"folder {folder}; team {ids['team']}, round {ids['round']}, video slot {ids['slot']} (600 MB)")

        log = folder / "gunicorn.log"
        with log.open("w") as log_file:
            gunicorn = subprocess.Popen(  # noqa: S603 - our own command line
                [str(BIN / "gunicorn"), "--workers", "1", "--worker-class", "sync", "--timeout", "300",
                 "--bind", f"127.0.0.1:{port}", "bench_app:app"],
                env=env, cwd=folder, stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
        browser = Browser(port)
        wait_until_ready(browser, gunicorn, log)
        workers = psutil.Process(gunicorn.pid).children()
        assert len(workers) == 1, workers
        worker = workers[0]
        print(
            f"gunicorn on 127.0.0.1:{port}: master {gunicorn.pid}, worker {worker.pid} (1 sync worker, --timeout 300)"
        )

        _, page = browser.request("GET", "/account/login")
        form = urlencode({"csrf_token": csrf_token(page), "email": EMAIL, "password": PASSWORD})
        response, _ = browser.request(
            "POST", "/account/login", form.encode(), **{"Content-Type": "application/x-www-form-urlencoded"}
        )
        if response.status != 302:
            raise SystemExit(f"log-in failed: {response.status}")
        base = f"/teams/{ids['team']}/rounds/{ids['round']}/submission"
        response, page = browser.request("GET", base)
        if response.status != 200:
            raise SystemExit(f"the submission page answered {response.status}")
        token = csrf_token(page)
        print(f"logged in as {EMAIL}; submission page {base} answered 200")

        time.sleep(0.5)
        rss_before = worker.memory_info().rss
        sampler = RssSampler(worker)
        sampler.start()
        started = time.perf_counter()
        status, location, sent_sha256 = stream_upload(
            browser, f"{base}/slots/{ids['slot']}/upload", token, size, "路演视频.mp4"
        )
        seconds = time.perf_counter() - started
        sampler.stop()
        peak = max(sampler.samples + [rss_before])

        path = urlsplit(location).path or base
        _, page = browser.request("GET", path)
        with sqlite3.connect(database) as connection:
            row = connection.execute(
                "SELECT size, sha256, storage_key FROM submission_files ORDER BY id DESC LIMIT 1"
            ).fetchone()
        if status != 302 or row is None:
            raise SystemExit(f"the upload failed: HTTP {status}; {log.read_text()[-3000:]}")
        stored_size, stored_sha256, key = row
        stored = instance / "uploads" / key
        print(f"HTTP {status} → {location}; stored {key}: {stored_size} bytes, sha256 {stored_sha256[:16]}…")
        if stored_size != size or stored_sha256 != sent_sha256 or stored.stat().st_size != size:
            raise SystemExit("the stored file does not match what was sent")
        print("stored size and sha256 match the bytes sent")
        print(
            f"{len(sampler.samples)} RSS samples every 50 ms; before {rss_before / MB:.1f} MB, "
            f"peak {peak / MB:.1f} MB; {size_mb / seconds:.0f} MB/s"
        )
        print(
            f"uploads size_mb={size_mb} seconds={seconds:.1f} peak_rss_mb={peak / MB:.1f} "
            f"rss_growth_mb={(peak - rss_before) / MB:.1f}"
        )
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            try:
                gunicorn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
