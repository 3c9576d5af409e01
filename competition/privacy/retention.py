"""Retention: a competition's uploads are deleted a set number of days after it is archived.

`Competition.uploads_retention_days` (None keeps the files for good) counts from
`Competition.archived_at`. Purging deletes the stored bytes of every submitted file (and its blind
copy) and of every appeal attachment; the rows stay — a submission file keeps its name, size and
SHA-256 and gets `purged_at`, so pages say "removed under the retention policy" instead of offering
a download. Certificates, logos and everything else are never touched. Files are deleted only after
the transaction that marks the rows has committed (a rollback leaves every file in place).

Run by `flask --app wsgi privacy purge [--dry-run]`, by the `privacy.purge_uploads` job, and on
every upkeep of the job worker (`flask --app wsgi jobs tick`): with nothing due it is one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from competition.competitions.models import Competition, CompetitionState
from competition.core import audit, jobs, storage
from competition.core.time import utcnow
from competition.extensions import db
from competition.results.models import Appeal
from competition.rounds.models import Round
from competition.submissions.models import Submission, SubmissionFile


@dataclass
class PurgePlan:
    """What is (or would be) purged for one competition."""

    competition: Competition
    files: list[SubmissionFile] = field(default_factory=list)
    appeals: list[Appeal] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(item.size or 0 for item in self.files)


def due_competitions(now: datetime) -> list[Competition]:
    """Archived competitions whose retention period is over."""
    candidates = db.session.scalars(
        select(Competition).where(
            Competition.state == CompetitionState.ARCHIVED,
            Competition.archived_at.is_not(None),
            Competition.uploads_retention_days.is_not(None),
        )
    ).all()
    return [
        competition
        for competition in candidates
        if competition.archived_at + timedelta(days=competition.uploads_retention_days) <= now
    ]


def plan_for(competition: Competition) -> PurgePlan:
    files = db.session.scalars(
        select(SubmissionFile)
        .join(Submission, SubmissionFile.submission_id == Submission.id)
        .join(Round, Submission.round_id == Round.id)
        .where(
            Round.competition_id == competition.id,
            SubmissionFile.storage_key.is_not(None),
            SubmissionFile.purged_at.is_(None),
        )
        .order_by(SubmissionFile.id)
    ).all()
    appeals = db.session.scalars(
        select(Appeal)
        .join(Round, Appeal.round_id == Round.id)
        .where(Round.competition_id == competition.id, Appeal.attachment_key.is_not(None))
        .order_by(Appeal.id)
    ).all()
    return PurgePlan(competition, list(files), list(appeals))


def plans(now: datetime) -> list[PurgePlan]:
    return [
        plan for plan in (plan_for(competition) for competition in due_competitions(now)) if plan.files or plan.appeals
    ]


def purge(plan: PurgePlan, *, now: datetime, actor=None) -> None:
    """Mark the rows purged and schedule their files for deletion after the commit."""
    for item in plan.files:
        storage.delete_after_commit(item.storage_key)
        if item.blind_key and item.blind_key != item.storage_key:
            storage.delete_after_commit(item.blind_key)
        item.blind_key = None
        item.purged_at = now
    for appeal in plan.appeals:
        storage.delete_after_commit(appeal.attachment_key)
        appeal.attachment_key = None  # the name stays; the page no longer offers the file
    audit.record(
        actor, "privacy.purge_uploads", plan.competition, files=len(plan.files), appeal_attachments=len(plan.appeals),
        bytes=plan.bytes, retention_days=plan.competition.uploads_retention_days,
    )  # fmt: skip
    db.session.flush()


def purge_due(*, now: datetime | None = None) -> int:
    """Purge every competition that is due; returns how many files (the caller commits)."""
    now = now or utcnow()
    count = 0
    for plan in plans(now):
        purge(plan, now=now)
        count += len(plan.files) + len(plan.appeals)
    return count


@jobs.job("privacy.purge_uploads")
def purge_uploads_job(ctx: jobs.JobContext) -> None:
    count = purge_due()
    db.session.commit()
    ctx.progress(100, f"{count} files purged")


@jobs.periodic
def purge_on_upkeep() -> int:
    return purge_due()
