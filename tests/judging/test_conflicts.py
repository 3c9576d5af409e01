"""The conflicts of interest page: every conflict with why it exists, filters, the competition's
rules in words; refreshing the automatic ones, dismissing (with a reason, audited), restoring,
declaring for a judge; and the service rules behind them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.experts.models import Expert, Mentorship
from competition.extensions import db
from competition.judging import conflicts
from competition.judging.models import Assignment, Conflict
from competition.teams.models import Advisor
from tests import factories
from tests.judging.world import EN, build, sign_in


def _page(client, world, **filters) -> str:
    return client.get(f"/competitions/{world.code}/conflicts/", query_string=filters, headers=EN).get_data(as_text=True)


def test_refresh_finds_same_institution_conflicts_with_readable_reasons(client):
    # the teams study at SCU and CQU; the first judge works at SCU
    world = build(teams=2, judges=2, team_institutions=("SCU", "CQU"), judge_institutions=("SCU", "SWJTU"))
    sign_in(client, world.organizer)
    response = client.post(f"/competitions/{world.code}/conflicts/refresh", follow_redirects=True)
    assert "1 new, 0 no longer apply" in response.get_data(as_text=True)
    [row] = db.session.scalars(select(Conflict)).all()
    team = world.submissions[0].team
    assert (row.judge_id, row.team_id, row.source) == (world.judges[0].id, team.id, "same_institution")
    # the reason names the judge, the people of the team and the institution
    assert "Judge 1" in row.reason and team.members[0].real_name in row.reason and "四川大学" in row.reason
    page = _page(client, world)
    assert row.reason in page and "Same institution" in page and "In force" in page
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "conflict.refresh")) is not None


def test_an_advisor_from_the_judges_institution_is_a_conflict(app):
    world = build(teams=1, judges=1, team_institutions=("CQU",), judge_institutions=("SWJTU",))
    team = world.submissions[0].team
    team.advisors.append(Advisor(name="钱老师", title="教授", institution=factories.institution("SWJTU")))
    db.session.flush()
    conflicts.refresh_automatic_conflicts(world.contest, actor=world.organizer)
    [row] = db.session.scalars(select(Conflict)).all()
    assert "钱老师" in row.reason and row.judge_id == world.judges[0].id


def test_dismiss_needs_a_reason_is_audited_and_can_be_restored(client):
    world = build(teams=1, judges=1, team_institutions=("SCU",), judge_institutions=("SCU",))
    conflicts.refresh_automatic_conflicts(world.contest, actor=world.organizer)
    db.session.commit()
    row = db.session.scalar(select(Conflict))
    conflict_id = row.id
    sign_in(client, world.organizer)
    response = client.post(f"/competitions/{world.code}/conflicts/{conflict_id}/dismiss", data={"reason": " "},
                           follow_redirects=True)  # fmt: skip
    assert "Please give a reason." in response.get_data(as_text=True)
    assert db.session.get(Conflict, conflict_id).is_active
    client.post(f"/competitions/{world.code}/conflicts/{conflict_id}/dismiss",
                data={"reason": "The judge moved to another university in March"})  # fmt: skip
    row = db.session.get(Conflict, conflict_id)
    assert not row.is_active and row.dismissed_by_id == world.organizer.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "conflict.dismiss"))
    assert entry.actor_id == world.organizer.id and entry.details["reason"].startswith("The judge moved")
    page = _page(client, world)
    assert "Dismissed" in page and "by Olivia Organizer" in page and "moved to another university" in page
    # a dismissed conflict no longer keeps the judge off the team, and refreshing keeps it dismissed
    assert conflicts.active_pairs(world.contest) == set()
    conflicts.refresh_automatic_conflicts(world.contest, actor=world.organizer)
    assert not db.session.get(Conflict, conflict_id).is_active
    db.session.rollback()
    client.post(f"/competitions/{world.code}/conflicts/{conflict_id}/restore")
    assert db.session.get(Conflict, conflict_id).is_active
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "conflict.restore")) is not None


def test_a_declared_conflict_cannot_be_dismissed(client):
    world = build(teams=1, judges=1)
    row = conflicts.declare(world.contest, judge=world.judges[0], team=world.submissions[0].team,
                            actor=world.judges[0], reason="Family", by_organizer=False)  # fmt: skip
    db.session.commit()
    sign_in(client, world.organizer)
    response = client.post(f"/competitions/{world.code}/conflicts/{row.id}/dismiss", data={"reason": "no"},
                           follow_redirects=True)  # fmt: skip
    assert "a declared one stands" in response.get_data(as_text=True)
    assert 'data-testid="conflict-reason">Family' in _page(client, world)


def test_organizer_declares_a_conflict_which_takes_the_judge_off(client, outbox):
    world = build(teams=1, judges=2)
    judge, team = world.judges[0], world.submissions[0].team
    db.session.add(Assignment(round_id=world.round.id, submission_id=world.submissions[0].id, judge_id=judge.id))
    db.session.commit()
    sign_in(client, world.organizer)
    url = f"/competitions/{world.code}/conflicts/declare"
    page = client.post(url, data={"judge": judge.id, "team": team.id}, headers=EN).get_data(as_text=True)
    assert "Please give a reason." in page
    client.post(url, data={"judge": judge.id, "team": team.id, "reason": "Former business partner"})
    row = db.session.scalar(select(Conflict))
    assert (row.source, row.reason, row.created_by_id) == ("declared_by_organizer", "Former business partner",
                                                          world.organizer.id)  # fmt: skip
    assert db.session.scalar(select(func.count(Assignment.id))) == 0
    assert outbox == []  # organizers are not told of their own declaration
    assert "Declared by an organizer" in _page(client, world)


def test_filters_by_source_judge_team_and_state(client):
    world = build(teams=2, judges=2, team_institutions=("SCU", "CQU"), judge_institutions=("SCU", "SWJTU"))
    conflicts.refresh_automatic_conflicts(world.contest, actor=world.organizer)
    conflicts.declare(world.contest, judge=world.judges[1], team=world.submissions[1].team, actor=world.judges[1],
                      reason="Neighbour of the leader", by_organizer=False)  # fmt: skip
    db.session.commit()
    sign_in(client, world.organizer)
    assert _page(client, world).count('data-testid="conflict"') == 2
    assert _page(client, world, source="declared_by_judge").count('data-testid="conflict"') == 1
    assert "Neighbour" not in _page(client, world, judge=world.judges[0].id)
    assert "Neighbour" in _page(client, world, team="Team 2")
    assert "Neighbour" not in _page(client, world, team="Team 1")
    assert _page(client, world, state="dismissed").count('data-testid="conflict"') == 0
    assert _page(client, world, state="active").count('data-testid="conflict"') == 2
    assert "1 conflict(s) found" in _page(client, world, team="Project 2")


def test_the_competitions_rules_are_stated_in_words(client):
    world = build(teams=1, judges=1, conflict_same_side=True, conflict_same_city=True)
    sign_in(client, world.organizer)
    page = _page(client, world)
    assert "Cross-region review" in page and "No judge judges a team from their own city." in page
    other = build(teams=1, judges=1, code="PLAIN")
    sign_in(client, other.organizer)
    assert 'data-testid="rule-none"' in _page(client, other)


def test_students_and_judges_may_not_see_the_conflicts(client):
    world = build(teams=1, judges=1)
    student = world.submissions[0].team.leader
    for person in (student, world.judges[0]):
        sign_in(client, person)
        assert client.get(f"/competitions/{world.code}/conflicts/").status_code == 403
        assert client.post(f"/competitions/{world.code}/conflicts/refresh").status_code == 403


def test_a_conflict_of_another_competition_is_not_found(client):
    world = build(teams=1, judges=1)
    other = build(teams=1, judges=1, code="OTHER2")
    row = conflicts.declare(other.contest, judge=other.judges[0], team=other.submissions[0].team,
                            actor=other.organizer, reason="x", by_organizer=True)  # fmt: skip
    db.session.commit()
    sign_in(client, world.organizer)
    assert client.post(f"/competitions/{world.code}/conflicts/{row.id}/restore").status_code == 404


# --- service rules ------------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_a_mentor_past_or_present_is_a_conflict_a_withdrawn_request_is_not(app):
    world = build(teams=3, judges=1)
    judge = world.judges[0]
    expert = Expert(user_id=judge.id, side="sichuan", kind="academic", expertise=["idea"], mentors=True)
    db.session.add(expert)
    db.session.flush()
    teams = [submission.team for submission in world.submissions]
    db.session.add_all([
        Mentorship(team=teams[0], expert=expert, state="accepted", answered_at=utcnow()),
        Mentorship(team=teams[1], expert=expert, state="ended", answered_at=utcnow()),
        Mentorship(team=teams[2], expert=expert, state="ended"),  # withdrawn before an answer
    ])  # fmt: skip
    db.session.flush()
    conflicts.refresh_automatic_conflicts(world.contest, actor=world.organizer)
    mentored = {row.team_id for row in db.session.scalars(select(Conflict).where(Conflict.source == "mentor"))}
    assert mentored == {teams[0].id, teams[1].id}
    row = db.session.scalar(select(Conflict).where(Conflict.team_id == teams[1].id))
    assert "导师" in row.reason and "Judge 1" in row.reason


@pytest.mark.usefixtures("english")
def test_declaring_needs_a_reason_and_a_team_of_the_competition(app):
    world = build(teams=1, judges=1)
    other = build(teams=1, judges=1, code="ELSEWHERE")
    with pytest.raises(DomainError, match="Please give a reason"):
        conflicts.declare(world.contest, judge=world.judges[0], team=world.submissions[0].team, actor=world.judges[0],
                          reason="   ", by_organizer=False)  # fmt: skip
    with pytest.raises(DomainError, match="not in this competition"):
        conflicts.declare(world.contest, judge=world.judges[0], team=other.submissions[0].team, actor=world.judges[0],
                          reason="x", by_organizer=False)  # fmt: skip


@pytest.mark.usefixtures("english")
def test_the_side_rule_explains_itself(app):
    world = build(teams=1, judges=1, team_institutions=("SCU",), judge_institutions=("SWJTU",), conflict_same_side=True)
    profile = conflicts.judge_profiles([world.judges[0].id])[world.judges[0].id]
    reason = conflicts.rule_conflict(world.contest, profile, world.submissions[0].team)
    assert reason and "跨区域" in reason and "Judge 1" in reason
