"""PostgreSQL restarted under load: a friendly 503 while it is down, healthy right after without
restarting the app, and no half-written data.

The server restarted is a private cluster made by the test (initdb in a temporary folder, a free
port), so the shared PostgreSQL other tests use is never touched; it is stopped the hard way
(`pg_ctl stop -m immediate`, as a crash: in-flight transactions are cut off and recovered from the
WAL on start). Marked `faults`: `make test-faults` runs it (CI does, after the PostgreSQL stage).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from competition import create_app
from competition.core.audit import AuditEntry
from competition.core.jobs import Job
from competition.core.mail import OutboxMessage
from competition.extensions import db, limiter
from tests import factories
from tests.deploy.servers import PrivatePostgres

pytestmark = pytest.mark.faults

EMAIL = "outage@example.edu.cn"


@pytest.fixture(scope="module")
def postgres():
    server = PrivatePostgres()
    if not server.available():
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed")
    server.init()
    try:
        server.start()
        yield server
    finally:
        server.destroy()  # even when the test failed half-way through an outage


@pytest.fixture
def outage_app(postgres, tmp_path):
    from flask_migrate import upgrade

    saved_limiter = dict(limiter.__dict__)
    url = postgres.create_database("outage")
    app = create_app(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path),
            "RATELIMIT_ENABLED": False,
            "JOBS_BACKEND": "deferred",
            # a request waits at most this long for a pooled connection before its 503
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 5, "max_overflow": 5, "pool_timeout": 5},
        }
    )
    try:
        with app.app_context():
            upgrade()
            factories.user(email=EMAIL)
            db.session.commit()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved_limiter)


@dataclass
class Answer:
    at: float
    name: str
    language: str
    status: int
    body: str
    headers: dict


class Load:
    """A few threads requesting pages and writing (a password-reset request: an audit entry, an
    outbox message and a job row, in one transaction) until stopped; records every answer."""

    REQUESTS = (
        ("home", "GET", "/", None),
        ("health", "GET", "/healthz", None),
        ("reset", "POST", "/account/password/forgot", {"email": EMAIL}),
    )

    def __init__(self, app, threads: int = 4):
        self.app = app
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(number,), daemon=True) for number in range(threads)]

    def run(self, number: int) -> None:
        client = self.app.test_client()
        step = number
        while not self.stopping.is_set():
            name, method, path, data = self.REQUESTS[step % len(self.REQUESTS)]
            step += 1
            language = "en" if step % 2 else "zh-CN"
            try:
                response = client.open(path, method=method, data=data, headers={"Accept-Language": language})
                body = response.get_data(as_text=True)
            except BaseException as error:  # noqa: BLE001 - an exception escaping the app is a failure
                with self.lock:
                    self.errors.append(error)
                continue
            with self.lock:
                self.answers.append(
                    Answer(time.monotonic(), name, language, response.status_code, body, response.headers)
                )
            time.sleep(0.02)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_database_restart_under_load_gives_503_then_recovers_without_a_restart(outage_app, postgres):
    client = outage_app.test_client()
    with Load(outage_app) as load:
        time.sleep(1.5)
        postgres.stop("immediate")  # as a crash: connections cut, in-flight transactions lost
        went_down = time.monotonic()
        time.sleep(2.5)
        came_back = None
        try:
            postgres.start()
            came_back = time.monotonic()
        finally:
            if came_back is None:  # leave no stopped server behind
                postgres.start()
        # healthy right after, without restarting the app
        healthy = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if client.get("/healthz").status_code == 200:
                healthy = time.monotonic()
                break
            time.sleep(0.1)
        time.sleep(1.0)

    assert not load.errors, "".join(traceback.format_exception(load.errors[0]))
    statuses = Counter((answer.name, answer.status) for answer in load.answers)
    assert {status for _, status in statuses} <= {200, 503}, statuses  # never a 500
    assert healthy is not None and healthy - came_back < 5, "not healthy soon after PostgreSQL came back"

    during = [answer for answer in load.answers if went_down + 0.5 < answer.at < came_back]
    unavailable = [answer for answer in during if answer.status == 503]
    assert {answer.name for answer in unavailable} == {"home", "health", "reset"}, statuses
    titles = {"en": "Service temporarily unavailable", "zh-CN": "服务暂时不可用"}
    for answer in unavailable:
        assert int(answer.headers["Retry-After"]) > 0
        if answer.name != "health":  # a page in the visitor's language, no traceback
            assert titles[answer.language] in answer.body and f'<html lang="{answer.language}">' in answer.body
            assert "Traceback" not in answer.body and "OperationalError" not in answer.body
    after = [answer for answer in load.answers if answer.at > healthy + 0.2]
    assert after and all(answer.status == 200 for answer in after), Counter(answer.status for answer in after)

    # pages and writes work again, in the same app
    assert client.get("/", headers={"Accept-Language": "en"}).status_code == 200
    audits_before = _count(AuditEntry)
    assert client.post("/account/password/forgot", data={"email": EMAIL}).status_code == 200
    db.session.rollback()
    assert _count(AuditEntry) == audits_before + 1

    # no half-written data: each reset request wrote its three rows together or not at all, and every
    # request that was answered "sent" was kept
    audits, messages, queued = _count(AuditEntry), _count(OutboxMessage), _count(Job)
    assert audits == messages == queued, (audits, messages, queued)
    confirmed = sum(1 for answer in load.answers if answer.name == "reset" and answer.status == 200) + 1
    assert audits >= confirmed
