"""A round's judges (competition.judging.services) and fixes in the assignment services: adding by
e-mail with the judge role and the conflicts found at once, refusals, updates and removals that
raise the round's version, statistics that mean what they say."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from competition.accounts.models import Role
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.experts.models import Expert
from competition.extensions import db
from competition.judging import assignment, conflicts, services
from competition.judging.models import Assignment, AssignmentRun, Conflict, RoundJudge
from tests import factories
from tests.judging.world import build

pytestmark = pytest.mark.usefixtures("english")


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# --- adding -------------------------------------------------------------------------------------


def test_adding_by_email_grants_the_judge_role_and_finds_conflicts(app):
    world = build(teams=1, judges=0, team_institutions=("SCU",))
    person = factories.user(email="expert@example.edu.cn", institution=factories.institution("SCU"))
    row = services.add_round_judge(world.round, actor=world.organizer, email=" Expert@Example.edu.cn ",
                                   min_load=1, max_load=3)  # fmt: skip
    assert (row.user_id, row.track_ids, row.min_load, row.max_load) == (person.id, [], 1, 3)
    assert Role.JUDGE in person.roles_in(world.contest)
    assert [entry.details["user_id"] for entry in _actions("round_judge.add")] == [person.id]
    assert _actions("role.grant")
    # the new judge works where the team studies: the conflict is on record at once
    assert (person.id, world.submissions[0].team_id) in conflicts.active_pairs(world.contest)


def test_a_judge_who_already_holds_the_role_keeps_one_grant(app):
    world = build(teams=1, judges=1)
    judge = world.judges[0]
    other_round = factories.round_(world.contest, position=2, name_zh="决赛", level="alliance")
    services.add_round_judge(other_round, actor=world.organizer, email=judge.email)
    assert [grant.role for grant in judge.roles if grant.competition_id == world.contest.id] == ["judge"]
    assert not _actions("role.grant")


@pytest.mark.parametrize(
    ("email", "message"),
    [("nobody@example.edu.cn", "Nobody has registered"), ("not an address", "Nobody has registered"), ("", "Nobody")],
)
def test_people_without_an_account_are_refused(app, email, message):
    world = build(teams=1, judges=0)
    with pytest.raises(DomainError, match=message) as error:
        services.add_round_judge(world.round, actor=world.organizer, email=email)
    assert error.value.field == "email"


def test_duplicates_disabled_accounts_foreign_tracks_and_bad_loads_are_refused(app):
    world = build(teams=1, judges=1)
    with pytest.raises(DomainError, match="already judges this round"):
        services.add_round_judge(world.round, actor=world.organizer, email=world.judges[0].email)
    disabled = factories.user(is_disabled=True)
    with pytest.raises(DomainError, match="disabled"):
        services.add_round_judge(world.round, actor=world.organizer, email=disabled.email)
    person = factories.user()
    foreign = factories.track(factories.competition(code="ELSE"), "startup")
    with pytest.raises(DomainError, match="tracks of this round") as error:
        services.add_round_judge(world.round, actor=world.organizer, email=person.email, track_ids=[foreign.id])
    assert error.value.field == "tracks"
    with pytest.raises(DomainError, match="cannot exceed") as error:
        services.add_round_judge(world.round, actor=world.organizer, email=person.email, min_load=4, max_load=2)
    assert error.value.field == "max_load"
    with pytest.raises(DomainError, match="between 1 and 500"):
        services.add_round_judge(world.round, actor=world.organizer, email=person.email, max_load=0)
    assert db.session.scalar(select(func.count(RoundJudge.id))) == 1


def test_tracks_are_limited_to_the_rounds(app):
    world = build(teams=1, judges=0)
    startup = factories.track(world.contest, "startup")
    world.round.tracks = [world.contest.tracks[0]]
    db.session.flush()
    person = factories.user()
    with pytest.raises(DomainError, match="tracks of this round"):
        services.add_round_judge(world.round, actor=world.organizer, email=person.email, track_ids=[startup.id])
    row = services.add_round_judge(world.round, actor=world.organizer, email=person.email,
                                   track_ids=[world.contest.tracks[0].id])  # fmt: skip
    assert row.covers(world.contest.tracks[0].id) and not row.covers(startup.id)


# --- changing and removing ----------------------------------------------------------------------


def test_an_update_raises_the_version_and_is_audited(app):
    world = build(teams=1, judges=1)
    row = db.session.scalar(select(RoundJudge))
    version = world.round.assignment_version
    services.update_round_judge(row, actor=world.organizer, track_ids=[], min_load=None, max_load=2)
    assert row.max_load == 2 and world.round.assignment_version == version + 1
    [entry] = _actions("round_judge.update")
    assert entry.details["before"]["max_load"] is None and entry.details["after"]["max_load"] == 2
    services.update_round_judge(row, actor=world.organizer, track_ids=[], min_load=None, max_load=2)
    assert world.round.assignment_version == version + 1  # nothing changed: nothing recorded
    assert len(_actions("round_judge.update")) == 1


def test_removing_takes_the_judge_off_and_a_proposal_made_before_cannot_be_applied(app):
    world = build(teams=2, judges=3, k=1)
    judge = world.judges[0]
    db.session.add(Assignment(round_id=world.round.id, submission_id=world.submissions[0].id, judge_id=judge.id))
    db.session.flush()
    run = assignment.propose(world.round, actor=world.organizer, settings=assignment.Settings(judges_per_submission=1))
    row = db.session.scalar(select(RoundJudge).where(RoundJudge.user_id == judge.id))
    removed = services.remove_round_judge(row, actor=world.organizer, expected_version=world.round.assignment_version)
    assert removed == 1
    assert db.session.scalar(select(func.count(Assignment.id)).where(Assignment.judge_id == judge.id)) == 0
    assert _actions("round_judge.remove")[0].details["removed_assignments"] == 1
    with pytest.raises(DomainError, match="Someone else changed"):
        assignment.apply(run, actor=world.organizer)


def test_a_judge_who_started_scoring_is_not_removed_from_the_round(app):
    world = build(teams=1, judges=2, k=1)
    judge = world.judges[0]
    db.session.add(Assignment(round_id=world.round.id, submission_id=world.submissions[0].id, judge_id=judge.id,
                              protected=True))  # fmt: skip
    db.session.flush()
    row = db.session.scalar(select(RoundJudge).where(RoundJudge.user_id == judge.id))
    with pytest.raises(DomainError, match="started scoring 1 submission"):
        services.remove_round_judge(row, actor=world.organizer)


def test_removing_with_a_stale_version_is_refused(app):
    world = build(teams=1, judges=1)
    row = db.session.scalar(select(RoundJudge))
    with pytest.raises(DomainError, match="Someone else changed"):
        services.remove_round_judge(row, actor=world.organizer, expected_version=world.round.assignment_version + 1)


# --- fixes in the assignment services -----------------------------------------------------------


def test_propose_brings_automatic_conflicts_up_to_date_first(app):
    # nobody pressed "refresh": the judge from the team's institution is still never proposed
    world = build(teams=2, judges=3, k=1, team_institutions=("SCU", "CQU"), judge_institutions=("SCU", "SWJTU", "SWU"))
    run = assignment.propose(world.round, actor=world.organizer, settings=assignment.Settings(judges_per_submission=1))
    assert [world.submissions[0].id, world.judges[0].id] not in run.pairs
    assert db.session.scalar(select(func.count(Conflict.id))) == 1


def test_expertise_statistics_ignore_the_spread_jitter(app):
    # every judge knows the track: every place matches, whatever the weights and the jitter
    world = build(teams=4, judges=4, k=2)
    for judge in world.judges:
        db.session.add(Expert(user_id=judge.id, side="sichuan", kind="academic", expertise=["idea"]))
    db.session.flush()
    settings = assignment.Settings(judges_per_submission=2, weight_expertise=1, weight_spread=10, seed=3)
    run = assignment.propose(world.round, actor=world.organizer, settings=settings)
    assert run.statistics["expertise_match"] == 1.0 and run.statistics["expertise_panels"] == 1.0
    run = assignment.propose(world.round, actor=world.organizer, settings=assignment.Settings(
        judges_per_submission=2, weight_expertise=0))  # fmt: skip
    assert run.statistics["expertise_match"] == 1.0  # measured even when the weight is 0


def test_discarding_an_applied_proposal_is_refused(app):
    world = build(teams=2, judges=2, k=1)
    run = assignment.propose(world.round, actor=world.organizer, settings=assignment.Settings(judges_per_submission=1))
    assignment.apply(run, actor=world.organizer)
    with pytest.raises(DomainError, match="already been applied"):
        assignment.discard(run, actor=world.organizer)
    assert db.session.get(AssignmentRun, run.id).state == "applied"


def test_the_assignment_email_falls_back_to_the_chinese_round_name(app, outbox):
    world = build(teams=1, judges=1, k=1)
    world.round.name_en = ""
    run = assignment.propose(world.round, actor=world.organizer, settings=assignment.Settings(judges_per_submission=1))
    assignment.apply(run, actor=world.organizer)
    db.session.commit()
    [message] = outbox
    assert "网评" in message["Subject"]
