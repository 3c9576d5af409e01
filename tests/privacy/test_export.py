"""Download my data: the person's own data as a JSON attachment, and nobody else's."""

from __future__ import annotations

import json

from sqlalchemy import select

from competition.core.audit import AuditEntry
from competition.core.mail import queue_mail
from competition.extensions import db
from competition.notifications.services import notify
from competition.scoring.models import Scorecard
from competition.teams.models import Advisor
from tests import factories
from tests.results.public_world import OVERALL, scored_round

EN = {"Accept-Language": "en"}
SENTINELS = ("哨兵乙", "SENTINEL-SN-B", "+8613900000001", "teammate-sentinel@example.edu.cn", "OTHER-JUDGE-SENTINEL",
             "TEAMMATE-MAIL-SENTINEL", "TEAMMATE-NOTE-SENTINEL", "ADVISOR-SENTINEL", "other-judge@example.org")  # fmt: skip


def _world():
    world = scored_round(teams=2)
    team = world.teams[0]
    student = team.leader
    mate = next(member for member in team.members if member.user_id != student.id)
    mate.real_name, mate.student_number, mate.phone = "哨兵乙", "SENTINEL-SN-B", "+8613900000001"
    mate.user.real_name, mate.user.email = "哨兵乙", "teammate-sentinel@example.edu.cn"
    db.session.add(Advisor(team=team, name="ADVISOR-SENTINEL", title="教授", phone="+8613900000002"))
    judge, other = world.judges
    other.email = "other-judge@example.org"
    card = db.session.scalar(select(Scorecard).where(Scorecard.judge_id == other.id))
    card.overall_comment = "OTHER-JUDGE-SENTINEL"
    queue_mail(to=student.email, template="accounts/emails/verify_email", locale="en", user=student,
               verify_url="OWN-MAIL", valid_days=3)  # fmt: skip
    queue_mail(to=mate.user.email, template="accounts/emails/verify_email", locale="en", user=mate.user,
               verify_url="TEAMMATE-MAIL-SENTINEL", valid_days=3)  # fmt: skip
    notify(mate.user, kind="test", title="TEAMMATE-NOTE-SENTINEL")
    notify(student, kind="test", title="OWN-NOTE")
    db.session.commit()
    return world, student, judge


def _download(client) -> tuple[object, dict, str]:
    response = client.get("/account/privacy/export", headers=EN)
    text = response.get_data(as_text=True)
    return response, json.loads(text), text


def test_a_student_downloads_their_own_data_and_nothing_of_their_teammates(client, login_as):
    world, student, _judge = _world()
    login_as(user=student)
    response, data, text = _download(client)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert data["account"]["email"] == student.email and data["account"]["real_name"] == student.real_name
    [membership] = data["teams"]
    assert membership["your_details"]["student_number"] == f"2023{student.id:06d}"
    assert membership["team"]["name"] == world.teams[0].name and membership["team"]["you_lead_it"] is True
    assert membership["team"]["member_count"] == 3
    assert membership["submissions"][0]["state"] == "submitted"
    assert any("OWN-MAIL" in message["body_text"] for message in data["emails"])
    assert [item["title"] for item in data["notifications"]] == ["OWN-NOTE"]
    assert data["scorecards"] == []
    for sentinel in SENTINELS:
        assert sentinel not in text, sentinel
    # other teams are not there at all
    assert world.teams[1].name not in text
    # the download is audited
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.export")).actor_id == student.id


def test_a_judge_gets_their_own_scores_and_never_another_judges(client, login_as):
    _world_, _student, judge = _world()
    login_as(user=judge)
    _response, data, text = _download(client)
    assert len(data["scorecards"]) == 2
    assert {card["overall_comment"] for card in data["scorecards"]} == {OVERALL}
    assert all(card["scores"] and card["total"] is not None for card in data["scorecards"])
    for sentinel in SENTINELS:
        assert sentinel not in text, sentinel


def test_consents_certificates_and_audit_entries_about_the_person_are_included(client, login_as):
    from competition.certificates.models import Certificate
    from competition.privacy.models import Consent

    person = factories.user(real_name="王五")
    contest = factories.competition(code="EXP")
    db.session.add(Consent(user_id=person.id, notice_version="2026-11", ip_prefix="10.1.2.0/24"))
    db.session.add(Certificate(competition_id=contest.id, kind="participation", recipient_type="member",
                               recipient_key="x", recipient_user_id=person.id, recipient_name="王五", sequence=1,
                               serial="EXP-2026-000001", verification_code="code-1", state="pending"))  # fmt: skip
    admin = factories.user(is_admin=True)
    db.session.add(AuditEntry(actor_id=admin.id, action="user.disable", object_type="users", object_id=str(person.id)))
    db.session.commit()
    login_as(user=person)
    _response, data, _text = _download(client)
    assert data["consents"][0]["notice_version"] == "2026-11" and data["consents"][0]["ip_prefix"] == "10.1.2.0/24"
    assert data["certificates"][0]["serial"] == "EXP-2026-000001"
    assert [entry["action"] for entry in data["audit_log"]] == ["user.disable"]
    assert data["audit_log"][0]["by_you"] is False and data["audit_log"][0]["network"] is None


def test_the_download_needs_a_log_in(client):
    response = client.get("/account/privacy/export")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
