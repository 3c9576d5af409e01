"""Shared fixtures: `app`, `db`, `client`, `login_as`, `run_jobs_inline`, `outbox`, factories.

The database is real: SQLite in a temporary folder by default, PostgreSQL when TEST_DATABASE_URL is
set (`.ci/run` does). The schema is built once per run by the migrations themselves; each test then
starts from empty tables.
"""

from __future__ import annotations

import os
import socket
import threading
from email import message_from_bytes, policy

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from competition import create_app
from competition.extensions import db as _db
from competition.extensions import limiter
from tests import factories


def pytest_configure(config):
    config.addinivalue_line("markers", "app_config(**settings): extra settings for the `app` fixture")
    config.addinivalue_line("markers", "browser: drives Chromium (run with `make test-browser`)")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("instance"))


def _settings(database_url: str, instance_path: str, **extra) -> dict:
    return {"APP_ENV": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": instance_path, **extra}


@pytest.fixture(scope="session")
def _schema(database_url, instance_path):
    """Build the schema with the migrations, as production does."""
    from flask_migrate import downgrade, upgrade

    app = create_app(_settings(database_url, instance_path))
    with app.app_context():
        if database_url.startswith("postgresql"):
            _db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            _db.session.commit()
        else:
            downgrade(revision="base")
        upgrade()
        _db.engine.dispose()
    return True


def _empty_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        # Only the tables a test filled, and only the sequences it used: a TRUNCATE of every table
        # creates new files for all of them and took ~0.3 s per test, most of the PostgreSQL run.
        filled = " UNION ALL ".join(
            f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM \"{table.name}\")"  # noqa: S608 - our table names
            for table in tables
        )
        filled_names = set(_db.session.execute(text(filled)).scalars())
        for table in tables:
            if table.name in filled_names:
                _db.session.execute(table.delete())
        used = _db.session.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL")
        ).scalars()
        for sequence in list(used):
            _db.session.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    else:
        for table in tables:
            _db.session.execute(table.delete())
    _db.session.commit()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own `g` and database session.

    Without this every request would reuse the test's app context, sharing the signed-in user
    cached in `g` and one identity map across "different browsers".
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.rollback()  # the test's own session now sees what the request committed
        return response


def _new_app(database_url: str, instance_path: str, **extra):
    app = create_app(_settings(database_url, instance_path, **extra))
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def _shared_app(_schema, database_url, instance_path):
    """One app for every test without `app_config` (building an app costs ~80 ms of URL rules)."""
    return _new_app(database_url, instance_path)


@pytest.fixture
def app(request, _shared_app, database_url, instance_path):
    """The app, with its own context and empty tables. Tests that need other settings, or that add
    routes, mark themselves `@pytest.mark.app_config(...)` and get an app of their own; the shared
    app's configuration is restored after each test, so a test may change `app.config` freely."""
    marker = request.node.get_closest_marker("app_config")
    app = _new_app(database_url, instance_path, **marker.kwargs) if marker else _shared_app
    saved_config = dict(app.config)
    with app.app_context():
        limiter.reset()
        yield app
        _db.session.rollback()
        violations = _invariant_violations(request)
        _empty_tables()
        _db.session.remove()
        if marker:
            _db.engine.dispose()
    app.config.clear()
    app.config.update(saved_config)
    if violations:
        pytest.fail("The test left data that breaks an invariant:\n" + "\n".join(violations), pytrace=False)


def _invariant_violations(request) -> list[str]:
    """The cheap invariants of competition.operations.invariants (not the file hashes, not the
    recomputed snapshots, not the team sizes), checked after every test that used the database; a test that breaks one
    on purpose is marked `breaks_invariants`."""
    if request.node.get_closest_marker("breaks_invariants"):
        return []
    from sqlalchemy.exc import SQLAlchemyError

    from competition.operations.invariants import run

    try:
        # not "teams" (sizes within the rules): factories.team builds approved teams of any size
        found = run(cheap_only=True, skip=("teams",))
    except SQLAlchemyError:  # e.g. a test that dropped a table: its own assertions decide
        found = {}
    _db.session.rollback()
    return [f"{name}: {problem}" for name, problems in found.items() for problem in problems]


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def run_jobs_inline(app):
    """Jobs run right after each commit, as in `make run`; anything already queued runs now."""
    from competition.core.jobs import run_pending_jobs

    app.config["JOBS_BACKEND"] = "inline"
    run_pending_jobs()
    return app


class SMTPRecorder:
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        self._lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            message = message_from_bytes(envelope.content, policy=policy.default)
            message.envelope_recipients = list(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    recorder = SMTPRecorder()
    recorder.controller.start()
    yield recorder
    recorder.controller.stop()


@pytest.fixture
def outbox(app, smtp_server, run_jobs_inline):
    """E-mails delivered to a real local SMTP server during the test, as parsed messages."""
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    smtp_server.messages.clear()
    return smtp_server.messages


@pytest.fixture
def login_as(app, client):
    """Sign the test client in as a new person holding `role` in a competition (or as an admin).

    `login_as("student")`, `login_as("organizer", competition=c)`, `login_as("admin")`; returns the user.
    """

    def sign_in(role: str | None = None, *, competition=None, user=None, **user_fields):
        if user is None:
            user = factories.user(is_admin=(role == "admin"), **user_fields)
        if role not in (None, "admin"):
            competition = competition or factories.competition()
            factories.grant(user, competition, role)
        _db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    return sign_in


@pytest.fixture
def english(app):
    """Messages of services called outside a request come out in English (the default is Chinese)."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield
