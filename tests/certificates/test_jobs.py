"""Bulk issuing as a background job and as `flask certificates generate`: progress, a worker
killed part-way then the job run again, one job per round at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from competition.certificates import issuing
from competition.certificates import jobs as certificate_jobs
from competition.certificates.models import Certificate
from competition.core import jobs
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.jobs import Job
from competition.extensions import db
from competition.teams.models import TeamMember
from tests.certificates.world import EXPECTED_TOTAL, published_round

pytestmark = pytest.mark.usefixtures("english")


def _states() -> list[str]:
    return list(db.session.scalars(select(Certificate.state).order_by(Certificate.sequence)))


def test_the_job_issues_every_certificate_and_reports_progress(app, fake_renderer):
    world = published_round()
    row = certificate_jobs.start(world.round, issuing.IssueSettings(), actor=world.organizer)
    db.session.commit()
    assert certificate_jobs.active_job(world.round) == row
    with pytest.raises(DomainError, match="being generated already"):
        certificate_jobs.start(world.round, issuing.IssueSettings(), actor=world.organizer)
    assert row.args["settings"]["choices"] == list(issuing.CHOICES)
    jobs.execute(row.id)
    db.session.refresh(row)
    assert (row.state, row.progress, row.message) == ("finished", 100, f"{EXPECTED_TOTAL}/{EXPECTED_TOTAL}")
    assert certificate_jobs.progress_of(row) == certificate_jobs.JobProgress(
        EXPECTED_TOTAL, EXPECTED_TOTAL, 100, "finished")  # fmt: skip
    assert _states() == ["issued"] * EXPECTED_TOTAL
    assert certificate_jobs.active_job(world.round) is None
    assert certificate_jobs.latest_job(world.round) == row
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificates.generate"))
    assert entry.details["job_id"] == row.id and entry.actor_id == world.organizer.id
    plan_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificates.plan"))
    assert plan_entry.actor_id == world.organizer.id and plan_entry.details["created"] == EXPECTED_TOTAL


def test_progress_is_reported_while_rendering(app, fake_renderer, monkeypatch):
    world = published_round()
    monkeypatch.setattr(certificate_jobs, "PROGRESS_EVERY_SECONDS", 0)
    monkeypatch.setattr(issuing, "RENDER_CHUNK", 1)  # the watcher runs before each layout: one at a time
    row = certificate_jobs.start(world.round, issuing.IssueSettings(), actor=world.organizer)
    db.session.commit()
    seen = []

    def watch(values):
        # a page reading the job row in its own transaction while the worker renders
        job = db.session.get(Job, row.id)
        db.session.refresh(job)
        seen.append((job.progress, job.message))

    fake_renderer.on_render = watch
    jobs.execute(row.id)
    assert seen[0] == (0, None)
    assert seen[1] == (100 // EXPECTED_TOTAL, f"1/{EXPECTED_TOTAL}")
    assert seen[-1][1] == f"{EXPECTED_TOTAL - 1}/{EXPECTED_TOTAL}"


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_a_job_killed_part_way_then_run_again_yields_exactly_the_expected_set(app, fake_renderer, monkeypatch):
    world = published_round()
    monkeypatch.setattr(issuing, "RENDER_CHUNK", 4)
    fake_renderer.die_after = 7  # in the second chunk: its first three PDFs are made, never kept
    row = certificate_jobs.start(world.round, issuing.IssueSettings(), actor=world.organizer)
    db.session.commit()
    jobs.execute(row.id)
    db.session.refresh(row)
    assert row.state == "failed" and "worker killed" in row.error
    assert _states() == ["issued"] * 4 + ["pending"] * (EXPECTED_TOTAL - 4)
    serials = set(db.session.scalars(select(Certificate.serial)))

    fake_renderer.die_after = None
    jobs.execute(row.id)  # the same job once more (as a requeue would)
    db.session.refresh(row)
    assert (row.state, row.attempts, row.message) == ("finished", 2, f"{EXPECTED_TOTAL}/{EXPECTED_TOTAL}")
    assert _states() == ["issued"] * EXPECTED_TOTAL
    assert set(db.session.scalars(select(Certificate.serial))) == serials
    assert db.session.scalar(select(func.count(Certificate.id))) == EXPECTED_TOTAL
    assert len(fake_renderer.rendered) == EXPECTED_TOTAL + 3  # only the lost chunk's three again
    assert len(set(fake_renderer.serials)) == EXPECTED_TOTAL


def test_inline_jobs_run_after_the_commit_and_the_judges_get_their_mail(app, fake_renderer, outbox):
    world = published_round()
    certificate_jobs.start(world.round, issuing.IssueSettings(choices=frozenset({"judge"})), actor=world.organizer)
    db.session.commit()
    assert _states() == ["issued", "issued"]
    assert sorted(message["To"] for message in outbox) == sorted(judge.email for judge in world.judges)
    serial = db.session.scalar(select(Certificate.serial).where(Certificate.recipient_user_id == world.judges[0].id))
    message = next(message for message in outbox if message["To"] == world.judges[0].email)
    assert serial in message.get_body(preferencelist=("plain",)).get_content()


def test_the_command_generates_with_a_progress_bar_and_reruns_safely(app, fake_renderer):
    world = published_round()
    runner = app.test_cli_runner()
    args = ["certificates", "generate", "--competition", world.contest.code, "--round", str(world.round.id)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Rendering certificates" in result.output
    assert f"planned: {EXPECTED_TOTAL} new" in result.output and f"rendered: {EXPECTED_TOTAL} issued" in result.output
    again = runner.invoke(args=args)
    assert again.exit_code == 0 and "planned: 0 new" in again.output and "rendered: 0 issued" in again.output
    assert len(fake_renderer.rendered) == EXPECTED_TOTAL
    status = runner.invoke(args=["certificates", "status", "--competition", world.contest.code,
                                 "--round", str(world.round.id)])  # fmt: skip
    assert f"issued={EXPECTED_TOTAL}" in status.output and "pending=0" in status.output


def test_the_command_lists_uncovered_characters_and_fails(app, fake_renderer):
    world = published_round()
    member = db.session.scalar(select(TeamMember).order_by(TeamMember.id).limit(1))
    member.real_name = "王\ue000"
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["certificates", "generate", "--competition", world.contest.code,
                                                "--round", str(world.round.id), "--only", "award_member",
                                                "--only", "participation"])  # fmt: skip
    assert result.exit_code == 1
    assert "rendered: 8 issued, 1 failed" in result.output
    assert "uncovered_characters: \ue000 (U+E000)" in result.output


def test_the_command_refuses_unknown_rounds_and_unpublished_results(app, fake_renderer):
    world = published_round(publish=False)
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["certificates", "generate", "--competition", "NOPE", "--round", "1"])
    assert unknown.exit_code != 0 and "No competition" in unknown.output
    result = runner.invoke(args=["certificates", "generate", "--competition", world.contest.code,
                                 "--round", str(world.round.id)])  # fmt: skip
    assert result.exit_code != 0 and "not published yet" in result.output
