"""Jobs: enqueued with the transaction, dispatched only after it commits, state and progress on a row."""

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from competition.core import jobs
from competition.core.jobs import Job, JobState
from competition.extensions import db

SEEN: list[dict] = []


@jobs.job("tests.record")
def record_job(ctx, *, value, steps=0):
    for step in range(steps):
        ctx.progress(int(100 * (step + 1) / steps), message=f"step {step + 1}")
    SEEN.append({"value": value, "job_id": ctx.job_id})


@jobs.job("tests.explode")
def explode_job(ctx):
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def _clear_seen():
    SEEN.clear()


def test_deferred_job_waits_in_its_row_until_run(app):
    row = jobs.enqueue("tests.record", value=1)
    db.session.commit()
    assert db.session.get(Job, row.id).state == JobState.QUEUED and SEEN == []
    assert jobs.run_pending_jobs() == 1
    assert db.session.get(Job, row.id).state == JobState.FINISHED and SEEN[0]["value"] == 1


def test_inline_job_runs_only_after_the_commit(app, run_jobs_inline):
    jobs.enqueue("tests.record", value=2)
    db.session.flush()
    assert SEEN == []  # not before the commit
    db.session.commit()
    assert [seen["value"] for seen in SEEN] == [2]


def test_rolled_back_job_never_runs(app, run_jobs_inline):
    jobs.enqueue("tests.record", value=3)
    db.session.rollback()
    db.session.commit()
    assert SEEN == [] and db.session.scalar(select(Job)) is None


def test_progress_and_finish_are_recorded(app, run_jobs_inline):
    row = jobs.enqueue("tests.record", value=4, steps=4)
    job_id = row.id
    db.session.commit()
    finished = db.session.get(Job, job_id)
    assert (finished.state, finished.progress, finished.message, finished.attempts) == (
        JobState.FINISHED,
        100,
        "step 4",
        1,
    )
    assert finished.started_at <= finished.finished_at


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_a_failing_job_is_marked_failed_with_its_error(app, run_jobs_inline):
    row = jobs.enqueue("tests.explode")
    job_id = row.id
    db.session.commit()
    failed = db.session.get(Job, job_id)
    assert failed.state == JobState.FAILED and "RuntimeError: boom" in failed.error


def test_a_job_runs_once_even_when_dispatched_twice(app):
    row = jobs.enqueue("tests.record", value=5)
    db.session.commit()
    jobs.execute(row.id)
    jobs.execute(row.id)
    assert len(SEEN) == 1


def test_enqueue_refuses_unknown_job_names(app):
    with pytest.raises(KeyError):
        jobs.enqueue("tests.nope")


def _redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_reachable() -> bool:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        return bool(Redis.from_url(_redis_url(), socket_connect_timeout=0.5).ping())
    except RedisConnectionError:
        return False


needs_redis = pytest.mark.skipif(
    not _redis_reachable() and not os.environ.get("CI"),
    reason="no Redis on 127.0.0.1:6379 (`.ci/run` starts one; CI never skips this)",
)


@needs_redis
def test_rq_backend_runs_the_job_in_a_worker_after_commit(app):
    from rq import SimpleWorker

    app.config.update(JOBS_BACKEND="rq", REDIS_URL=_redis_url())
    queue = jobs.rq_queue()
    queue.empty()
    row = jobs.enqueue("tests.record", value=6)
    job_id = row.id
    assert queue.count == 0  # nothing reaches Redis before the commit
    db.session.commit()
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert db.session.get(Job, job_id).state == JobState.FINISHED
    assert SEEN[0]["job_id"] == job_id


@needs_redis
def test_jobs_that_missed_redis_are_requeued(app):
    from rq import SimpleWorker

    app.config.update(JOBS_BACKEND="rq", REDIS_URL="redis://127.0.0.1:1/0")  # Redis "down"
    row = jobs.enqueue("tests.record", value=7)
    job_id = row.id
    db.session.commit()  # the push fails quietly; the row stays queued
    assert db.session.get(Job, job_id).state == JobState.QUEUED

    app.config["REDIS_URL"] = _redis_url()  # Redis is back
    queue = jobs.rq_queue()
    queue.empty()
    assert jobs.requeue_stale(older_than=timedelta(0)) == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    assert db.session.get(Job, job_id).state == JobState.FINISHED
