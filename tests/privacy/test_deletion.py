"""Deletion requests: asked with the password, answered by an administrator, carried out by
anonymizing the account so that scores and results stay exactly as they were."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from competition.accounts import services as accounts
from competition.accounts.models import User
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db
from competition.privacy import services
from competition.privacy.models import Consent, DeletionRequest
from competition.results import services as results
from competition.results.models import ResultSnapshot
from competition.scoring.models import Scorecard
from competition.teams.models import TeamMember
from tests import factories
from tests.factories import PASSWORD
from tests.results.public_world import scored_round
from tests.scoring.world import NOW

EN = {"Accept-Language": "en"}


def _ask(client, password=PASSWORD, reason="毕业了"):
    return client.post("/account/privacy/delete", data={"password": password, "reason": reason}, headers=EN)


def test_asking_needs_the_password_and_is_shown_as_pending(client, login_as):
    user = login_as("student", locale="en")
    wrong = _ask(client, password="wrong password")
    assert "The password is not correct." in wrong.get_data(as_text=True)
    assert db.session.scalars(select(DeletionRequest)).all() == []

    assert _ask(client).status_code == 302
    [request] = db.session.scalars(select(DeletionRequest)).all()
    assert (request.user_id, request.state, request.reason) == (user.id, "requested", "毕业了")
    page = client.get("/account/privacy", headers=EN).get_data(as_text=True)
    assert "You asked for your account to be deleted" in page
    again = _ask(client)
    assert again.status_code == 200
    assert "You have already asked for your account to be deleted" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(DeletionRequest)).all()) == 1


def test_a_person_withdraws_their_request(client, login_as):
    login_as("student", locale="en")
    _ask(client)
    client.post("/account/privacy/delete/cancel", headers=EN)
    assert db.session.scalar(select(DeletionRequest.state)) == "cancelled"


def test_a_person_in_an_unfinished_competition_is_told_why_it_cannot_be_done_yet(client, login_as):
    contest = factories.competition(code="LIVE", state="submission")
    team = factories.team(contest, name="星河视觉")
    team.leader.locale = "en"
    login_as(user=team.leader)
    page = client.get("/account/privacy", headers=EN).get_data(as_text=True)
    assert "You lead the team “星河视觉”" in page and "hand the leadership" in page


def test_only_platform_admins_see_and_answer_requests(client, login_as):
    person = factories.user()
    request = DeletionRequest(user_id=person.id)
    db.session.add(request)
    db.session.commit()
    login_as("organizer")
    assert client.get("/admin/privacy").status_code == 403
    assert client.post(f"/admin/privacy/{request.id}/carry-out").status_code == 403
    assert db.session.get(DeletionRequest, request.id).state == "requested"


def test_carrying_out_is_refused_while_the_person_leads_a_team_of_an_unfinished_competition(client, login_as):
    contest = factories.competition(code="LIVE", state="judging", name_en="Live cup")
    team = factories.team(contest, name="星河视觉")
    request = DeletionRequest(user_id=team.leader_id)
    db.session.add(request)
    db.session.commit()
    login_as("admin", locale="en")
    page = client.get("/admin/privacy", headers=EN).get_data(as_text=True)
    assert "They lead the team “星河视觉” in Live cup" in page
    response = client.post(f"/admin/privacy/{request.id}/carry-out", headers=EN, follow_redirects=True)
    assert "This account cannot be deleted yet." in response.get_data(as_text=True)
    assert db.session.get(DeletionRequest, request.id).state == "requested"
    assert db.session.get(User, team.leader_id).real_name != services.anonymous_name(team.leader_id)


def test_a_withdrawn_team_or_a_finished_competition_does_not_block(db):
    finished = factories.team(factories.competition(code="OLD", state="archived"))
    withdrawn = factories.team(factories.competition(code="NOW", state="submission"), state="withdrawn",
                               leader=finished.leader)  # fmt: skip
    assert withdrawn.leader_id == finished.leader_id
    assert services.deletion_blockers(finished.leader) == []


def test_carrying_out_anonymizes_the_account_and_ends_its_sessions(app, client, login_as, outbox):
    person = factories.user(email="zhang.san@example.edu.cn", real_name="张三", phone="+8613800138000", locale="en")
    contest = factories.competition(code="DONE", state="published")
    team = factories.team(contest, leader=person)
    member = team.members[0]
    db.session.add(Consent(user_id=person.id, notice_version="2026-11"))
    request = DeletionRequest(user_id=person.id)
    db.session.add(request)
    db.session.commit()
    person_client = app.test_client()
    with person_client.session_transaction() as session:
        session["_user_id"] = person.get_id()
    assert person_client.get("/account/").status_code == 200

    login_as("admin", locale="en")
    response = client.post(f"/admin/privacy/{request.id}/carry-out", headers=EN, follow_redirects=True)
    assert "The account has been anonymized" in response.get_data(as_text=True)

    db.session.expire_all()
    user = db.session.get(User, person.id)
    assert user.real_name == f"已注销用户 Deleted user #{person.id}"
    assert user.email == f"deleted-{person.id}@invalid"
    assert user.phone is None and user.is_disabled and not user.is_verified
    member = db.session.get(TeamMember, member.id)
    assert member.real_name == user.real_name[:50]
    assert (member.student_number, member.department, member.major, member.phone) == ("", "", "", None)
    assert member.team_id == team.id and db.session.get(type(team), team.id).member_count == 3
    assert db.session.scalar(select(Consent.notice_version).where(Consent.user_id == person.id)) == "2026-11"
    assert db.session.get(DeletionRequest, request.id).state == "done"
    # no password opens it, and the open session has ended
    assert not accounts.password_matches(user, PASSWORD)
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate("zhang.san@example.edu.cn", PASSWORD)
    assert person_client.get("/account/").status_code == 302
    # told at the old address, before it disappeared
    [message] = [item for item in outbox if "zhang.san@example.edu.cn" in item["To"]]
    assert message["Subject"] == "Your account has been deleted"
    assert "张三" in message.get_body(preferencelist=("plain",)).get_content()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.anonymize"))
    assert entry.object_id == str(person.id) and "zhang.san" not in str(entry.details)


def test_anonymizing_a_member_and_a_judge_keeps_scores_and_results_the_same(db):
    world = scored_round(teams=3)
    world.contest.state = "published"
    db.session.commit()
    before = results.compute_round(world.round).rows
    snapshot = results.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    frozen = [dict(row) for row in snapshot.rows]
    admin = factories.user(is_admin=True)
    for person in (world.teams[0].leader, world.judges[0]):
        request = DeletionRequest(user_id=person.id)
        db.session.add(request)
        db.session.flush()
        services.carry_out_request(request, actor=admin, now=NOW)
    db.session.commit()
    db.session.expire_all()
    assert results.compute_round(world.round).rows == before
    assert db.session.get(ResultSnapshot, snapshot.id).rows == frozen
    # the judge's scorecards are still there, still theirs
    assert len(db.session.scalars(select(Scorecard).where(Scorecard.judge_id == world.judges[0].id)).all()) == 3
    # the published snapshot names teams, never people: nothing in it needed replacing
    assert not any(key in row for row in frozen for key in ("members", "leader", "real_name"))


def test_refusing_needs_a_reason_and_tells_the_person(client, login_as, outbox):
    person = factories.user(email="li.si@example.edu.cn", locale="en")
    request = DeletionRequest(user_id=person.id)
    db.session.add(request)
    db.session.commit()
    login_as("admin", locale="en")
    empty = client.post(f"/admin/privacy/{request.id}/refuse", data={"note": ""}, headers=EN, follow_redirects=True)
    assert "Please give the reason for refusing" in empty.get_data(as_text=True)
    assert db.session.get(DeletionRequest, request.id).state == "requested"
    client.post(f"/admin/privacy/{request.id}/refuse", data={"note": "Your team's appeal is still open."}, headers=EN)
    db.session.expire_all()
    refused = db.session.get(DeletionRequest, request.id)
    assert (refused.state, refused.decision_note) == ("refused", "Your team's appeal is still open.")
    [message] = [item for item in outbox if "li.si@example.edu.cn" in item["To"]]
    assert "Your team's appeal is still open." in message.get_body(preferencelist=("plain",)).get_content()
    # answered requests cannot be answered again
    with pytest.raises(DomainError):
        services.carry_out_request(refused, actor=factories.user(is_admin=True), now=NOW)


def test_an_administrator_cannot_carry_out_their_own_request(db):
    admin = factories.user(is_admin=True)
    request = DeletionRequest(user_id=admin.id)
    db.session.add(request)
    db.session.flush()
    with pytest.raises(DomainError):
        services.carry_out_request(request, actor=admin, now=NOW)
