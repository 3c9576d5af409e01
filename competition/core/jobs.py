"""Background jobs: RQ on Redis when `REDIS_URL` is set, in this process otherwise.

A job is a row (`jobs`) plus a registered handler. `enqueue()` adds the row to the current
transaction and hands the job to the backend only after that transaction commits, so a worker never
sees a job whose data is not there yet; a rollback drops it. Pages read the row for state and
progress.

Backends:
- ``inline``: run right after the commit, in this process, each job in a fresh app context;
- ``rq``: push the id onto a Redis queue; `flask --app wsgi jobs worker` runs them;
- ``deferred``: leave the row queued until `run_pending_jobs()` runs it (tests, maintenance).

Upkeep (`run_upkeep`): jobs that never reached Redis are pushed again and the functions marked
`@periodic` run (e-mails due for another attempt); the worker does it every `JOBS_UPKEEP_SECONDS`
(60) between jobs, as part of RQ's own maintenance; `flask --app wsgi jobs tick` whenever cron runs it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db

log = logging.getLogger(__name__)

QUEUE_NAME = "competition"
_DISPATCH_KEY = "jobs_to_dispatch"

JobHandler = Callable[..., Any]
_handlers: dict[str, JobHandler] = {}
#: upkeep functions run by `run_upkeep` (each takes no argument and leaves the commit to it)
_periodic: list[Callable[[], Any]] = []
#: the app a worker process runs jobs for (set by the worker command)
_worker_app: Flask | None = None


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid.uuid4().hex)
    name: Mapped[str] = mapped_column(String(100), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value, index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobContext:
    """What a handler gets besides its arguments: a way to report progress."""

    def __init__(self, job_id: str):
        self.job_id = job_id

    def progress(self, percent: int, message: str | None = None) -> None:
        """Record progress and commit: call it only between units of work complete on their own."""
        job = db.session.get(Job, self.job_id)
        job.progress = max(0, min(100, int(percent)))
        if message is not None:
            job.message = message[:500]
        db.session.commit()


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register a handler: ``@job("mail.deliver") def deliver(ctx, *, message_id): ...``."""

    def register(handler: JobHandler) -> JobHandler:
        if name in _handlers and _handlers[name] is not handler:
            raise RuntimeError(f"job {name!r} registered twice")
        _handlers[name] = handler
        return handler

    return register


def periodic(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function to be called by `run_upkeep` (the worker's minute, `jobs tick`)."""
    if function not in _periodic:
        _periodic.append(function)
    return function


def enqueue(name: str, *, created_by=None, **args: Any) -> Job:
    """Create the job row in the current transaction; it is dispatched after the commit."""
    if name not in _handlers:
        raise KeyError(f"no job handler named {name!r}")
    row = Job(name=name, args=args, created_by_id=getattr(created_by, "id", None))
    db.session.add(row)
    db.session.flush()
    db.session().info.setdefault(_DISPATCH_KEY, []).append(row.id)
    return row


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    job_ids = session.info.pop(_DISPATCH_KEY, None)
    if job_ids and has_app_context():
        dispatch(job_ids)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_DISPATCH_KEY, None)


def dispatch(job_ids: list[str]) -> None:
    backend = current_app.config["JOBS_BACKEND"]
    if backend == "inline":
        app = current_app._get_current_object()
        for job_id in job_ids:
            # A fresh app context gives the job its own session: the caller's has just committed.
            with app.app_context():
                execute(job_id)
    elif backend == "rq":
        for job_id in job_ids:
            push_to_queue(job_id)
    elif backend != "deferred":
        raise RuntimeError(f"unknown JOBS_BACKEND {backend!r}")


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def rq_queue():
    from rq import Queue

    return Queue(QUEUE_NAME, connection=redis_connection())


def push_to_queue(job_id: str) -> bool:
    """Hand one job to RQ; when Redis is down the row stays queued and `requeue_stale` retries it."""
    try:
        rq_queue().enqueue(run_queued_job, job_id, job_id=f"job-{job_id}-{uuid.uuid4().hex[:8]}")
    except Exception:  # noqa: BLE001 - any Redis failure leaves the job for a later requeue
        log.warning("could not push job %s to Redis; it stays queued", job_id, exc_info=True)
        return False
    return True


def run_queued_job(job_id: str) -> None:
    """RQ's entry point: run one job inside the worker's app."""
    app = _worker_app or current_app._get_current_object()
    with app.app_context():
        execute(job_id)


def execute(job_id: str) -> None:
    """Run one job and record its outcome on the row.

    The job is claimed with one conditional UPDATE, so a job pushed twice (a requeue after Redis
    came back, two workers) runs once.
    """
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_([JobState.QUEUED.value, JobState.FAILED.value]))
        .values(state=JobState.RUNNING.value, started_at=utcnow(), attempts=Job.attempts + 1, error=None)
    ).rowcount
    db.session.commit()
    if not claimed:
        return
    row = db.session.get(Job, job_id)
    handler = _handlers[row.name]
    args = dict(row.args)
    try:
        handler(JobContext(job_id), **args)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(Job, job_id)
        row.state = JobState.FAILED.value
        row.error = f"{type(exc).__name__}: {exc}"[:4000]
        row.finished_at = utcnow()
        db.session.commit()
        log.exception("job %s (%s) failed", job_id, row.name)
        if current_app.config.get("JOBS_RAISE_ERRORS"):
            raise
        return
    row = db.session.get(Job, job_id)
    row.state = JobState.FINISHED.value
    row.progress = 100
    row.finished_at = utcnow()
    db.session.commit()


def run_pending_jobs(limit: int | None = None) -> int:
    """Run queued jobs in this process, oldest first, until none is left; returns how many ran."""
    ran = 0
    while limit is None or ran < limit:
        job_id = db.session.scalar(
            select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.created_at, Job.id).limit(1)
        )
        if job_id is None:
            break
        execute(job_id)
        ran += 1
    return ran


def requeue_stale(older_than: timedelta = timedelta(minutes=1)) -> int:
    """Push queued jobs that never reached Redis (it was down) once more; returns how many."""
    cutoff = utcnow() - older_than
    job_ids = db.session.scalars(select(Job.id).where(Job.state == JobState.QUEUED, Job.created_at <= cutoff)).all()
    return sum(push_to_queue(job_id) for job_id in job_ids)


def run_upkeep() -> dict[str, int]:
    """Push stale queued jobs again (RQ) and run every `@periodic` function, each committed on its
    own so one failing does not stop the others; returns what each did."""
    done: dict[str, int] = {}
    if current_app.config["JOBS_BACKEND"] == "rq":
        # only when Redis has nothing waiting: a backlog being worked through is not lost, and
        # pushing it again every minute would only pile up copies (each runs once, but costs a fork)
        done["requeued"] = requeue_stale() if _redis_queue_is_empty() else 0
    for function in _periodic:
        name = f"{function.__module__}.{function.__name__}"
        try:
            done[name] = function() or 0
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("periodic task %s failed", name)
    return done


def _redis_queue_is_empty() -> bool:
    try:
        return rq_queue().count == 0
    except Exception:  # noqa: BLE001 - Redis down: nothing can be pushed now anyway
        log.warning("Redis unreachable; stale jobs are pushed again later", exc_info=True)
        return False


def worker_class(base=None):
    """RQ's worker (or `base`) whose maintenance, between jobs every `maintenance_interval`
    seconds and once at start, also runs `run_upkeep` for `_worker_app`."""
    if base is None:
        from rq import Worker as base

    class UpkeepWorker(base):
        def run_maintenance_tasks(self):
            super().run_maintenance_tasks()
            app = _worker_app or current_app._get_current_object()
            with app.app_context():
                try:
                    run_upkeep()
                except Exception:  # noqa: BLE001 - the worker must outlive a database hiccup
                    log.exception("jobs upkeep failed")
                finally:
                    db.session.remove()

    return UpkeepWorker


def _forget_inherited_connections() -> None:
    """In a forked work horse: drop the parent's pooled connections without closing them (they
    stay the parent's, which used them for upkeep), so the child opens its own."""
    if _worker_app is not None:
        with _worker_app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)


_fork_hook_installed = False


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Run an RQ worker for this app (the `jobs worker` command); its upkeep runs every
    JOBS_UPKEEP_SECONDS (RQ waits for a job at most that long before looking again)."""
    global _worker_app, _fork_hook_installed
    _worker_app = app
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=_forget_inherited_connections)
        _fork_hook_installed = True
    interval = int(app.config.get("JOBS_UPKEEP_SECONDS", 60))
    with app.app_context():
        requeue_stale(older_than=timedelta(0))
        db.session.remove()
        worker = worker_class()(
            [rq_queue()], connection=redis_connection(), maintenance_interval=interval, worker_ttl=interval + 15
        )
        worker.work(burst=burst, with_scheduler=False)
