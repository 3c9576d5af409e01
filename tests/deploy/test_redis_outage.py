"""Redis down: log-in and scoring keep working, and work queued meanwhile runs once Redis is back.

A private redis-server on a free port is started and stopped by the test, so the shared Redis other
tests use is never touched. The app is configured as production runs it with Redis: RQ jobs and
Redis-backed rate limits (which fall back to memory while Redis is away).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from competition import create_app
from competition.core import jobs
from competition.core.jobs import Job, JobState
from competition.core.time import utcnow
from competition.extensions import db, limiter
from competition.scoring.models import Scorecard
from tests import factories
from tests.conftest import IsolatedClient, _empty_tables
from tests.deploy.servers import PrivateRedis
from tests.scoring.world import full_points, scoring_world

pytestmark = pytest.mark.skipif(not PrivateRedis.available(), reason="redis-server is not installed")


@pytest.fixture
def redis_server():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_app(_schema, database_url, instance_path, redis_server, smtp_server):
    """An app of its own with REDIS_URL set. The rate limiter is one object shared by every app, so
    its state is put back afterwards for the tests that follow."""
    saved_limiter = dict(limiter.__dict__)
    app = create_app(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": instance_path,
            "REDIS_URL": redis_server.url,
            "JOBS_BACKEND": "rq",
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
        }
    )
    app.test_client_class = IsolatedClient
    smtp_server.messages.clear()
    try:
        with app.app_context():
            yield app
            db.session.rollback()
            _empty_tables()
            db.session.remove()
            db.engine.dispose()
    finally:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved_limiter)


def _scorecard_form(world, assignment) -> dict:
    data = {"version": "0", "overall_comment": "思路清晰"}
    for criterion_id, points in full_points(world.rubric).items():
        data[f"points-{criterion_id}"] = points
        data[f"comment-{criterion_id}"] = ""
    return data


def test_log_in_and_scoring_work_without_redis_and_queued_mail_goes_out_when_it_returns(
    redis_app, redis_server, smtp_server
):
    now = utcnow()
    world = scoring_world(opens=now - timedelta(days=1), closes=now + timedelta(days=7))
    judge, assignment = world.judges[0], world.assignments[0]
    judge_email, assignment_id = judge.email, assignment.id
    client = redis_app.test_client()

    redis_server.stop()  # Redis goes away while people are using the site

    response = client.post("/account/login", data={"email": judge_email, "password": factories.PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/")
    wrong = redis_app.test_client().post("/account/login", data={"email": judge_email, "password": "wrong guess"})
    assert wrong.status_code == 200 and "/account/" not in wrong.headers.get("Location", "")

    page = client.get(f"/scoring/assignments/{assignment_id}")
    assert page.status_code == 200
    saved = client.post(f"/scoring/assignments/{assignment_id}", data=_scorecard_form(world, assignment))
    assert saved.status_code == 302
    card = db.session.scalar(select(Scorecard).where(Scorecard.assignment_id == assignment_id))
    assert card is not None and card.version == 1 and card.total > 0

    reset = client.post("/account/password/forgot", data={"email": judge_email})
    assert reset.status_code == 200
    queued = db.session.scalars(select(Job).where(Job.name == "mail.deliver")).all()
    assert [row.state for row in queued] == [JobState.QUEUED.value]  # kept, not lost
    assert smtp_server.messages == []

    redis_server.start()  # Redis is back (empty: nothing was persisted)
    jobs.run_worker(redis_app, burst=True)  # a worker (re)starting pushes what never reached Redis

    db.session.expire_all()
    assert db.session.get(Job, queued[0].id).state == JobState.FINISHED.value
    delivered = [message for message in smtp_server.messages if judge_email in str(message["To"])]
    assert len(delivered) == 1
    assert "/account/password/reset/" in delivered[0].get_body(preferencelist=("plain",)).get_content()
