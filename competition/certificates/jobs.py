"""Bulk issuing as a background job ("certificates.generate"): plan, then render with progress.

The job row's `progress` is a percentage and its `message` "done/total" (the round's certificates
issued out of those to hold, earlier runs included), so a page can show a progress bar; `round_counts()` in
the services gives the round's certificates by state at any time. A job that failed part-way is
simply started again (or rerun by `jobs run-pending`): it renders only what is missing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.certificates import issuing
from competition.certificates.models import Certificate, CertificateState
from competition.core import audit, jobs
from competition.core.errors import DomainError
from competition.core.jobs import Job, JobState
from competition.extensions import db
from competition.rounds.models import Round

JOB_NAME = "certificates.generate"
#: report progress at most this often (each report is a commit)
PROGRESS_EVERY_SECONDS = 0.5


@jobs.job(JOB_NAME)
def generate(ctx: jobs.JobContext, *, round_id: int, settings: dict | None = None, actor_id: int | None = None) -> None:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise DomainError(_l("The round no longer exists."))
    actor = db.session.get(User, actor_id) if actor_id else None
    run(round_, issuing.IssueSettings.from_dict(settings), actor=actor, progress=_reporter(ctx))


def run(round_: Round, settings: issuing.IssueSettings, *, actor=None, progress=None, on_start=None):
    """Plan and render: what the job and the command both do. Counts are of the round's
    certificates to hold (issued, pending or failed): `on_start(done, total)` is called once
    before rendering, `progress(done, total)` after each certificate, `done` counting those issued
    by earlier runs too (a resumed run starts part-way)."""
    planned = issuing.plan(round_, settings, actor=actor)
    db.session.commit()
    ids = issuing.pending_ids(round_)
    already = db.session.scalar(
        select(func.count(Certificate.id)).where(
            Certificate.round_id == round_.id,
            Certificate.is_current.is_(True),
            Certificate.state == CertificateState.ISSUED.value,
        )
    )
    total = already + len(ids)
    if on_start is not None:
        on_start(already, total)

    def report(done: int, _: int) -> None:
        if progress is not None:
            progress(already + done, total)

    rendered = issuing.render_ids(ids, progress=report)
    return planned, rendered


def _reporter(ctx: jobs.JobContext):
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last < PROGRESS_EVERY_SECONDS:
            return
        last = now
        ctx.progress(min(99, done * 100 // max(total, 1)), message=f"{done}/{total}")

    return report


def _round_jobs(round_: Round, states: tuple[str, ...]) -> list[Job]:
    rows = db.session.scalars(select(Job).where(Job.name == JOB_NAME, Job.state.in_(states)).order_by(Job.created_at))
    return [row for row in rows if (row.args or {}).get("round_id") == round_.id]


def active_job(round_: Round) -> Job | None:
    """The round's certificate job that is queued or running, if any."""
    found = _round_jobs(round_, (JobState.QUEUED.value, JobState.RUNNING.value))
    return found[-1] if found else None


def latest_job(round_: Round) -> Job | None:
    found = _round_jobs(round_, tuple(state.value for state in JobState))
    return found[-1] if found else None


def start(round_: Round, settings: issuing.IssueSettings, *, actor) -> Job:
    """Queue the job (it starts after the caller commits). Refused when the round has no
    published results or a job for it is already queued or running."""
    settings.check()
    issuing.published_snapshot(round_)
    if active_job(round_) is not None:
        raise DomainError(_l("Certificates of this round are being generated already."))
    row = jobs.enqueue(JOB_NAME, created_by=actor, round_id=round_.id, settings=settings.as_dict(),
                       actor_id=getattr(actor, "id", None))  # fmt: skip
    audit.record(actor, "certificates.generate", round_, job_id=row.id, choices=sorted(settings.choices))
    return row


@dataclass(frozen=True)
class JobProgress:
    done: int
    total: int
    percent: int
    state: str


def progress_of(job: Job) -> JobProgress:
    """done/total as the job last reported it."""
    done = total = 0
    if job.message and "/" in job.message:
        left, _, right = job.message.partition("/")
        if left.isdigit() and right.isdigit():
            done, total = int(left), int(right)
    return JobProgress(done=done, total=total, percent=job.progress or 0, state=job.state)
