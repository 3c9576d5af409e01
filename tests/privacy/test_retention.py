"""Retention: uploads are deleted a set number of days after the competition is archived; the rows
stay, and pages say the file was removed instead of failing."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from competition.competitions import services as competitions
from competition.competitions.models import CompetitionState
from competition.core import storage
from competition.core.audit import AuditEntry
from competition.core.jobs import Job
from competition.core.time import utcnow
from competition.extensions import db
from competition.operations import backup, invariants
from competition.privacy import retention
from competition.results.models import Appeal
from competition.submissions.models import MaterialSlot, Submission, SubmissionFile
from tests import factories

EN = {"Accept-Language": "en"}
RULES = {
    "min_team_size": "3",
    "max_team_size": "15",
    "max_advisors": "3",
    "max_teams_per_student": "1",
    "one_team_per_leader": "y",
    "eligible_degrees": ["bachelor", "master"],
}


def _competition(code: str, *, state="archived", archived_days_ago=10, retention_days=7):
    contest = factories.competition(code=code, state=state, uploads_retention_days=retention_days,
                                    archived_at=utcnow() - timedelta(days=archived_days_ago) if archived_days_ago is not None else None)  # fmt: skip
    team = factories.team(contest, state="approved")
    round_ = factories.round_(contest)
    slot = MaterialSlot(round=round_, code="plan", label_zh="计划书", label_en="Plan", allowed_kinds=["pdf"],
                        max_bytes=1024 * 1024)  # fmt: skip
    submission = Submission(round=round_, team=team, state="submitted")
    db.session.add_all([slot, submission])
    stored = storage.save(io.BytesIO(b"%PDF-1.4\n" + code.encode() * 20), folder="submissions", suffix=".pdf")
    blind = storage.save(io.BytesIO(b"%PDF-1.4\nblind"), folder="blind", suffix=".pdf")
    item = SubmissionFile(submission=submission, slot=slot, original_name="商业计划书.pdf", kind="pdf",
                          storage_key=stored.key, blind_key=blind.key, size=stored.size, sha256=stored.sha256,
                          uploaded_by_id=team.leader_id)  # fmt: skip
    attachment = storage.save(io.BytesIO(b"%PDF-1.4\nappeal"), folder="appeals", suffix=".pdf")
    appeal = Appeal(round_id=round_.id, team_id=team.id, text="疑问", attachment_key=attachment.key,
                    attachment_name="说明.pdf")  # fmt: skip
    db.session.add_all([item, appeal])
    db.session.commit()
    return contest, team, round_, item, appeal, (stored.key, blind.key, attachment.key)


def _exists(key: str) -> bool:
    return storage.path_for(key).is_file()


def test_archiving_records_when(db):
    contest = factories.competition(code="ARC", state="published")
    organizer = factories.user()
    competitions.change_state(contest, actor=organizer, target=CompetitionState.ARCHIVED)
    assert contest.archived_at is not None and utcnow() - contest.archived_at < timedelta(minutes=1)


def test_organizers_set_the_retention_period_in_the_rules(client, login_as):
    contest = factories.competition(code="RET")
    login_as("organizer", competition=contest, locale="en")
    page = client.get("/competitions/RET/setup/rules", headers=EN).get_data(as_text=True)
    assert "Delete uploaded files this many days after archiving" in page
    bad = client.post("/competitions/RET/setup/rules", data={**RULES, "uploads_retention_days": "-3"}, headers=EN)
    assert "Please enter a number of days between 0 and 36500." in bad.get_data(as_text=True)
    assert (
        client.post("/competitions/RET/setup/rules", data={**RULES, "uploads_retention_days": "180"}).status_code == 302
    )
    db.session.refresh(contest)
    assert contest.uploads_retention_days == 180
    client.post("/competitions/RET/setup/rules", data={**RULES, "uploads_retention_days": ""})
    db.session.refresh(contest)
    assert contest.uploads_retention_days is None


def test_purging_deletes_the_files_and_keeps_the_rows(db, tmp_path):
    contest, _team, _round, item, appeal, keys = _competition("DUE")
    certificate_pdf = storage.save(io.BytesIO(b"%PDF-1.7\ncertificate"), folder="certificates", suffix=".pdf")
    logo = storage.save(io.BytesIO(b"logo"), folder="logos", suffix=".png")
    assert retention.purge_due() == 2
    db.session.commit()
    assert not any(_exists(key) for key in keys)
    assert _exists(certificate_pdf.key) and _exists(logo.key)
    db.session.expire_all()
    item = db.session.get(SubmissionFile, item.id)
    assert item.purged_at is not None and item.blind_key is None
    assert (item.original_name, item.size, len(item.sha256)) == ("商业计划书.pdf", item.size, 64) and item.size > 0
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.attachment_key is None and appeal.attachment_name == "说明.pdf"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.purge_uploads"))
    assert entry.object_id == str(contest.id) and entry.details["files"] == 1
    assert retention.purge_due() == 0  # nothing left
    # a purged upload is gone on purpose: neither the check nor a backup reports it as missing
    assert invariants.files_match_hashes() == []
    assert backup.create_backup(tmp_path / "after-purge.zip").problems == []


def test_purging_respects_the_day_count_the_state_and_an_unset_period(db):
    cases = {
        "EARLY": {"archived_days_ago": 5, "retention_days": 7},  # not yet
        "FOREVER": {"retention_days": None},  # kept for good
        "PUBLISHED": {"state": "published", "archived_days_ago": None, "retention_days": 0},  # not archived
    }
    made = {code: _competition(code, **options) for code, options in cases.items()}
    assert retention.purge_due() == 0
    db.session.commit()
    for _contest, _team, _round, item, _appeal, keys in made.values():
        assert all(_exists(key) for key in keys)
        assert db.session.get(SubmissionFile, item.id).purged_at is None
    # a retention period of 0 days purges as soon as it is archived
    _competition("ZERO", archived_days_ago=0, retention_days=0)
    assert retention.purge_due(now=utcnow() + timedelta(seconds=1)) == 2


def test_a_rollback_keeps_every_file(db):
    _contest, _team, _round, item, _appeal, keys = _competition("ROLL")
    retention.purge_due()
    db.session.rollback()
    assert all(_exists(key) for key in keys)
    assert db.session.get(SubmissionFile, item.id).purged_at is None


def test_the_command_has_a_dry_run(app):
    _contest, _team, _round, item, _appeal, keys = _competition("CLI")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "CLI:" in dry.output and "商业计划书.pdf" in dry.output and "Dry run: nothing was deleted." in dry.output
    assert all(_exists(key) for key in keys)
    assert db.session.get(SubmissionFile, item.id).purged_at is None
    done = runner.invoke(args=["privacy", "purge"])
    assert done.exit_code == 0 and "Purged." in done.output
    assert not any(_exists(key) for key in keys)
    assert runner.invoke(args=["privacy", "purge"]).output.strip() == "Nothing to purge."


def test_the_job_purges(app, run_jobs_inline):
    from competition.core import jobs

    _competition("JOB")
    job = jobs.enqueue("privacy.purge_uploads")
    db.session.commit()
    assert db.session.get(Job, job.id).state == "finished"
    assert db.session.scalar(select(SubmissionFile.purged_at)) is not None


def test_a_purged_file_shows_a_clear_message_instead_of_a_download(client, login_as):
    _contest, team, round_, item, _appeal, _keys = _competition("PAGE")
    retention.purge_due()
    team.leader.locale = "en"
    db.session.commit()
    login_as(user=team.leader)
    response = client.get(f"/files/{item.id}", headers=EN)
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "“商业计划书.pdf” was removed on" in page and "retention policy" in page and item.sha256 in page
    team_page = client.get(f"/teams/{team.id}/rounds/{round_.id}/submission", headers=EN).get_data(as_text=True)
    assert "removed under the retention policy" in team_page and "商业计划书.pdf" in team_page
    assert f'href="/files/{item.id}"' not in team_page
    # others still cannot tell the file exists
    login_as("student")
    assert client.get(f"/files/{item.id}").status_code == 404
