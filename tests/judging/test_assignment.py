"""Assignment services on real rows: propose, apply, repair, manual edits, conflicts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from competition.core.errors import DomainError
from competition.extensions import db
from competition.judging import assignment, conflicts
from competition.judging.models import Assignment, RoundJudge
from competition.submissions.models import Submission
from tests import factories

pytestmark = pytest.mark.usefixtures("english")


def build(*, teams: int = 6, judges: int = 6, k: int = 3, institutions=("SCU", "CQU", "SISU", "UESTC")):
    contest = factories.competition(code="AS1")
    track = factories.track(contest, "idea")
    round_ = factories.round_(contest, level="alliance", entry_rule="all_approved", judges_per_submission=k)
    submissions = []
    for index in range(teams):
        team = factories.team(
            contest,
            state="approved",
            institution_row=factories.institution(institutions[index % len(institutions)]),
            track_row=track,
        )
        submission = Submission(round=round_, team=team, state="submitted", abstract="摘要")
        db.session.add(submission)
        submissions.append(submission)
    people = []
    for index in range(judges):
        judge = factories.user(institution=factories.institution(("SWU", "SWJTU", "CQUPT", "SWUFE")[index % 4]))
        db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
        people.append(judge)
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    db.session.flush()
    return contest, round_, submissions, people, organizer


def test_every_submission_gets_k_judges_and_loads_are_balanced(app):
    contest, round_, submissions, judges, organizer = build(teams=6, judges=6, k=3)
    run = assignment.propose(round_, actor=organizer, settings=assignment.Settings(judges_per_submission=3))
    stats = run.statistics
    assert stats["coverage"] == 1.0 and stats["load_min"] == stats["load_max"] == 3
    result = assignment.apply(run, actor=organizer)
    assert result["added"] == 18
    per_submission = dict(
        db.session.execute(select(Assignment.submission_id, func.count()).group_by(Assignment.submission_id)).all()
    )
    assert set(per_submission.values()) == {3}


def test_conflicts_are_never_assigned(app):
    contest, round_, submissions, judges, organizer = build(teams=4, judges=5, k=2)
    team = submissions[0].team
    conflicts.declare(contest, judge=judges[0], team=team, actor=judges[0], reason="曾指导该团队", by_organizer=False)
    run = assignment.propose(round_, actor=organizer, settings=assignment.Settings(judges_per_submission=2))
    assert [submissions[0].id, judges[0].id] not in run.pairs


def test_infeasible_rounds_are_explained(app):
    contest, round_, submissions, judges, organizer = build(teams=3, judges=2, k=3)
    with pytest.raises(DomainError) as error:
        assignment.propose(round_, actor=organizer, settings=assignment.Settings(judges_per_submission=3))
    assert "possible judge(s)" in str(error.value.message) and "it needs 3" in str(error.value.message)


def test_repair_changes_only_what_must_change(app):
    contest, round_, submissions, judges, organizer = build(teams=6, judges=6, k=3)
    settings = assignment.Settings(judges_per_submission=3, min_load=0, max_load=6)
    assignment.apply(assignment.propose(round_, actor=organizer, settings=settings), actor=organizer)
    before = {(a.submission_id, a.judge_id) for a in db.session.scalars(select(Assignment))}
    dropped = judges[0]
    db.session.delete(db.session.scalar(select(RoundJudge).where(RoundJudge.user_id == dropped.id)))
    db.session.flush()
    run = assignment.propose(round_, actor=organizer, settings=settings)
    lost = {pair for pair in before if pair[1] == dropped.id}
    assert run.statistics["removed"] == len(lost) and run.statistics["added"] == len(lost)
    assignment.apply(run, actor=organizer)
    after = {(a.submission_id, a.judge_id) for a in db.session.scalars(select(Assignment))}
    assert before - after == lost


def test_two_organizers_cannot_overwrite_each_other(app):
    contest, round_, submissions, judges, organizer = build(teams=4, judges=4, k=2)
    settings = assignment.Settings(judges_per_submission=2)
    first = assignment.propose(round_, actor=organizer, settings=settings)
    second = assignment.propose(round_, actor=organizer, settings=settings)
    assignment.apply(first, actor=organizer)
    with pytest.raises(DomainError, match="Someone else changed"):
        assignment.apply(second, actor=organizer)


def test_manual_add_with_a_conflict_needs_a_reason(app):
    contest, round_, submissions, judges, organizer = build(teams=2, judges=3, k=1)
    conflicts.declare(
        contest, judge=judges[0], team=submissions[0].team, actor=organizer, reason="亲属关系", by_organizer=True
    )
    with pytest.raises(DomainError, match="conflict of interest"):
        assignment.add_judge(
            round_,
            submissions[0],
            judges[0],
            actor=organizer,
            expected_version=round_.assignment_version,
            override_reason=None,
        )
    row = assignment.add_judge(
        round_,
        submissions[0],
        judges[0],
        actor=organizer,
        expected_version=round_.assignment_version,
        override_reason="唯一懂该领域的评委，经主任批准",
    )
    assert row.override_reason.startswith("唯一")


def test_same_institution_conflicts_are_found_and_explained(app):
    contest, round_, submissions, judges, organizer = build(teams=2, judges=2, k=1, institutions=("SWU",))
    result = conflicts.refresh_automatic_conflicts(contest, actor=organizer)
    assert result["added"] >= 2
    pairs = conflicts.active_pairs(contest)
    assert (judges[0].id, submissions[0].team_id) in pairs  # judges[0] is from SWU like the teams


def test_a_conflict_found_after_assigning_takes_the_judge_off(app):
    from competition.experts.models import Expert, Mentorship

    contest, round_, submissions, judges, organizer = build(teams=4, judges=4, k=2)
    assignment.apply(
        assignment.propose(round_, actor=organizer, settings=assignment.Settings(judges_per_submission=2)),
        actor=organizer,
    )
    target = db.session.scalar(select(Assignment))
    judge_id, team = target.judge_id, target.submission.team
    protected = db.session.scalar(select(Assignment).where(Assignment.id != target.id, Assignment.judge_id != judge_id))
    protected.protected = True
    expert = Expert(user_id=judge_id, side="sichuan", kind="academic")
    db.session.add(expert)
    db.session.add(Mentorship(team=team, expert=expert, state="accepted"))
    db.session.flush()
    version = round_.assignment_version
    result = conflicts.refresh_automatic_conflicts(contest, actor=organizer)
    assert result["assignments_removed"] == 1
    assert db.session.get(Assignment, target.id) is None and round_.assignment_version == version + 1
    assert db.session.get(Assignment, protected.id) is not None
