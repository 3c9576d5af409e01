"""The invariant checker: every invariant holds on consistent worlds (and on the demo data) and
names a violation seeded into one; `flask --app wsgi check` exits 0 or 1 accordingly."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, update

from competition.certificates import issuing
from competition.certificates import jobs as certificate_jobs
from competition.certificates.models import Certificate
from competition.core import storage
from competition.extensions import db
from competition.judging.models import Assignment, Conflict
from competition.operations import backup, invariants
from competition.results.models import ResultSnapshot
from competition.scoring.models import Scorecard
from competition.submissions.models import MaterialSlot, SubmissionFile
from competition.teams.models import Team, TeamMember
from tests import factories
from tests.certificates.world import published_round
from tests.scoring.world import NOW


def _issued_world():
    world = published_round()
    certificate_jobs.run(world.round, issuing.IssueSettings())
    db.session.commit()
    return world


def _uploaded_file(world, data: bytes = b"%PDF-1.7 business plan") -> SubmissionFile:
    slot = MaterialSlot(round_id=world.round.id, code="plan", label_zh="商业计划书", label_en="Business plan",
                        allowed_kinds=["pdf"], max_bytes=20 * 1024 * 1024, required=True, max_files=1)  # fmt: skip
    db.session.add(slot)
    db.session.flush()
    stored = storage.save(io.BytesIO(data), folder="submissions", suffix=".pdf")
    row = SubmissionFile(submission_id=world.results.scoring.submissions[0].id, slot_id=slot.id,
                         original_name="商业计划书.pdf", kind="pdf", storage_key=stored.key, size=stored.size,
                         sha256=stored.sha256)  # fmt: skip
    db.session.add(row)
    db.session.commit()
    return row


def test_a_consistent_world_holds_every_invariant(app, fake_renderer):
    world = _issued_world()
    _uploaded_file(world)
    assert db.session.scalar(select(db.func.count(Certificate.id))) > 0
    assert invariants.run() == {name: [] for name in invariants.INVARIANTS}


def test_the_demo_data_holds_every_invariant(app):
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "All invariants hold." in result.output
    assert "snapshots: ok" in result.output and "files: ok" in result.output


@pytest.mark.breaks_invariants
def test_a_scorecard_pointing_to_another_judges_assignment_is_named(app, fake_renderer):
    published_round()
    card = db.session.scalars(select(Scorecard).order_by(Scorecard.id)).first()
    other = db.session.scalar(
        select(Assignment).where(Assignment.submission_id == card.submission_id, Assignment.judge_id != card.judge_id)
    )
    db.session.execute(update(Scorecard).where(Scorecard.id == other.id).values(assignment_id=None))
    db.session.execute(update(Scorecard).where(Scorecard.id == card.id).values(assignment_id=other.id))
    db.session.commit()
    found = invariants.run(["scores"])["scores"]
    assert len(found) == 1 and f"scorecard {card.id}" in found[0] and f"assignment {other.id}" in found[0]


def test_a_scorecard_kept_after_its_judge_was_taken_off_is_allowed(app, fake_renderer):
    published_round()
    card = db.session.scalars(select(Scorecard)).first()
    db.session.execute(update(Scorecard).where(Scorecard.id == card.id).values(assignment_id=None))
    db.session.commit()
    assert invariants.run(["scores"]) == {"scores": []}


@pytest.mark.breaks_invariants
def test_a_conflict_with_a_standing_assignment_is_named(app):
    world = published_round(publish=False)
    assignment = db.session.scalars(select(Assignment).order_by(Assignment.id)).first()
    team_id = next(s.team_id for s in world.results.scoring.submissions if s.id == assignment.submission_id)
    conflict = Conflict(competition_id=world.contest.id, judge_id=assignment.judge_id, team_id=team_id,
                        source="declared_by_judge", reason="亲属关系")  # fmt: skip
    db.session.add(conflict)
    db.session.commit()
    found = invariants.run(["conflicts"])["conflicts"]
    assert found == [
        f"assignment {assignment.id}: judge {assignment.judge_id} is assigned to team {team_id} despite conflict "
        f"{conflict.id} (declared_by_judge)"
    ]
    # an organizer's override with a reason, or a dismissed conflict, is no violation
    assignment.override_reason = "评委已确认无利害关系"
    db.session.commit()
    assert invariants.run(["conflicts"]) == {"conflicts": []}
    assignment.override_reason = None
    conflict.dismissed_at = NOW
    db.session.commit()
    assert invariants.run(["conflicts"]) == {"conflicts": []}


@pytest.mark.breaks_invariants
def test_a_tampered_or_missing_file_is_named(app, fake_renderer):
    world = _issued_world()
    upload = _uploaded_file(world)
    certificate = db.session.scalars(select(Certificate).where(Certificate.file_key.is_not(None))).first()
    storage.path_for(upload.storage_key).write_bytes(b"%PDF-1.7 changed")
    storage.path_for(certificate.file_key).unlink()
    found = invariants.run(["files"])["files"]
    assert len(found) == 2
    assert any(f"submission_files {upload.id}" in item and "SHA-256" in item for item in found)
    assert any(f"certificates {certificate.id}" in item and "missing" in item for item in found)
    result = app.test_cli_runner().invoke(args=["check", "--skip-files"])
    assert result.exit_code == 0 and "files: skipped" in result.output
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1 and "Some invariants do not hold." in result.output
    assert upload.storage_key in result.output


@pytest.mark.breaks_invariants
def test_a_published_snapshot_that_differs_from_a_recomputation_is_named(app, fake_renderer):
    world = published_round()
    snapshot = db.session.scalar(select(ResultSnapshot))
    rows = [dict(row) for row in snapshot.rows]
    rows[0]["score"] = 99.5
    snapshot.rows = rows
    db.session.commit()
    found = invariants.run(["snapshots"])["snapshots"]
    assert len(found) == 1
    assert f"round {world.round.id}: published snapshot {snapshot.id}" in found[0] and "99.5" in found[0]


def test_a_score_changed_after_publication_waits_for_republication_and_is_no_violation(app, fake_renderer):
    published_round()
    card = db.session.scalars(select(Scorecard).order_by(Scorecard.id)).first()
    card.total = card.total - 5
    db.session.commit()
    assert invariants.run(["snapshots"])["snapshots"] != []  # a change nothing explains is a violation
    card.updated_at = NOW.replace(year=2027)  # the organizer reopened it after publication
    db.session.commit()
    assert invariants.run(["snapshots"]) == {"snapshots": []}


@pytest.mark.breaks_invariants
def test_an_issued_certificate_without_its_pdf_is_named(app, fake_renderer):
    # duplicate serials and two current certificates for one recipient are refused by the
    # database's unique constraints already; the checker names them too (e.g. after a bad repair)
    _issued_world()
    first, second = db.session.scalars(select(Certificate).order_by(Certificate.id).limit(2)).all()
    assert invariants.certificates_are_unique() == []
    db.session.execute(update(Certificate).where(Certificate.id == second.id).values(state="issued", file_key=None))
    db.session.commit()
    found = invariants.run(["certificates"])["certificates"]
    assert found == [f"certificate {second.serial} is issued but has no stored PDF"]
    assert first.serial != second.serial


@pytest.mark.breaks_invariants
def test_a_team_outside_the_size_rules_is_named(app):
    contest = factories.competition(min_team_size=3, max_team_size=5, max_advisors=1)
    small = factories.team(contest, members=1, state="approved")
    fine = factories.team(contest, members=2, state="submitted")
    draft = factories.team(contest, members=0, state="draft")  # a draft may still be small
    crowded = factories.team(contest, members=2, state="draft", advisors=2)
    db.session.commit()
    db.session.execute(update(Team).where(Team.id == fine.id).values(member_count=4))
    db.session.commit()
    found = invariants.run(["teams", "members"])
    assert found == {
        "teams": [
            f"team {small.id} “{small.name}” (approved) has 2 members; its competition allows 3–5",
            f"team {crowded.id} “{crowded.name}” (draft) has 2 advisors; its competition allows 1",
        ],
        "members": [f"team {fine.id} “{fine.name}” (submitted) counts 4 members but has 3"],
    }
    assert draft.id not in {small.id, fine.id, crowded.id}


@pytest.mark.breaks_invariants
def test_a_team_whose_leader_is_not_a_leading_member_is_named(app):
    team = factories.team(members=2, state="draft")
    db.session.execute(update(TeamMember).where(TeamMember.team_id == team.id).values(role="member"))
    db.session.commit()
    found = invariants.run(["members"])["members"]
    assert found == [f"team {team.id} “{team.name}” (draft): its leader is not its one member with the leader's role"]


def test_check_refuses_an_unknown_invariant(app):
    result = app.test_cli_runner().invoke(args=["check", "--only", "nonsense"])
    assert result.exit_code == 2 and "unknown invariant nonsense" in result.output
    result = app.test_cli_runner().invoke(args=["check", "--only", "teams"])
    assert result.exit_code == 0 and "teams: ok" in result.output and "scores" not in result.output


def test_every_key_column_is_known_to_be_a_file_or_not(app):
    """A new column naming a stored file must be listed in FILE_COLUMNS (or it is not backed up)."""
    listed = {(item.table, item.key) for item in backup.FILE_COLUMNS}
    found = {
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_key") and not column.primary_key and not column.foreign_keys
    }
    assert found - listed - backup.NOT_FILE_COLUMNS == set()
    assert listed <= found
