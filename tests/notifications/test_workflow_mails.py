"""The workflow e-mails added with the notifications: the receipt for a handed-in submission and the
publication of results — each in the recipient's language, each also an in-app notification that
opens the page it is about, and none of them able to fail the request that caused it."""

from __future__ import annotations

import io
import re
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from competition.core.mail import MailState, OutboxMessage
from competition.core.time import utcnow
from competition.extensions import db
from competition.notifications.models import Notification
from competition.results import services as results
from competition.submissions import services as submissions
from competition.teams import services as teams
from tests import factories
from tests.results.public_world import scored_round
from tests.submissions import pdf_bytes

PDF = pdf_bytes()


def _handed_in_world():
    """A team of three (leader in English, the others in Chinese) with its plan and abstract ready."""
    contest = factories.competition(state="submission", name_en="Alliance Cup", name_zh="联盟杯")
    factories.track(contest)
    team = factories.team(contest, state="approved", members=2)
    team.leader.locale = "en"
    round_ = factories.round_(contest, submission_deadline=utcnow() + timedelta(days=10), name_zh="网评",
                              name_en="Online review")  # fmt: skip
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    slots = {slot.code: slot for slot in submissions.add_standard_slots(round_, actor=organizer)}
    now = utcnow()
    stored = submissions.upload(round_, team, slots["plan"], actor=team.leader, stream=io.BytesIO(PDF),
                                filename="商业计划书.pdf", started_at=now, now=now)  # fmt: skip
    submissions.save_details(round_, team, actor=team.leader, abstract="项目摘要", keywords="", industry="", stage=None,
                             now=now)  # fmt: skip
    db.session.commit()
    return team, round_, stored


def _by_recipient(outbox) -> dict:
    return {message["To"]: message for message in outbox}


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_every_member_gets_a_receipt_in_their_language(app, outbox):
    team, round_, stored = _handed_in_world()
    submissions.submit(round_, team, actor=team.leader, now=utcnow())
    db.session.commit()
    mails = _by_recipient(outbox)
    assert set(mails) == {member.user.email for member in team.members}
    english = mails[team.leader.email]
    assert english["Subject"] == f"Receipt: {team.name} has handed in its submission for Online review"
    assert english["Content-Language"] == "en"
    body = _text(english)
    assert "Alliance Cup" in body and "Business plan: 商业计划书.pdf" in body and stored.sha256 in body
    assert f"{team.leader.real_name} pressed the button" in body and "Abstract: 4 characters" in body
    assert f"/teams/{team.id}/rounds/{round_.id}/submission" in body
    member = next(m.user for m in team.members if m.user_id != team.leader_id)
    chinese = mails[member.email]
    assert chinese["Content-Language"] == "zh-CN" and "网评" in chinese["Subject"] and "联盟杯" in _text(chinese)
    # and in the app: the receipt opens the submission page
    notification = db.session.scalar(select(Notification).where(Notification.user_id == member.id))
    assert notification.kind == "submissions/emails/received"
    assert notification.link == f"/teams/{team.id}/rounds/{round_.id}/submission"


def test_a_refused_hand_in_sends_nothing(app, outbox):
    team, round_, _stored = _handed_in_world()
    submissions.submit(round_, team, actor=team.leader, now=utcnow())
    db.session.commit()
    outbox.clear()
    with pytest.raises(Exception):  # noqa: B017 - already handed in
        submissions.submit(round_, team, actor=team.leader, now=utcnow())
    db.session.rollback()
    assert outbox == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_handing_in_works_while_smtp_is_down_and_the_receipts_wait(app, client, run_jobs_inline):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=_closed_port())
    team, round_, _stored = _handed_in_world()
    with client.session_transaction() as session:
        session["_user_id"] = team.leader.get_id()
        session["_fresh"] = True
    response = client.post(f"/teams/{team.id}/rounds/{round_.id}/submission/submit", follow_redirects=True)
    assert response.status_code == 200
    assert "has been handed in and is now locked" in response.get_data(as_text=True)
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert len(messages) == 3
    assert all(m.state == MailState.QUEUED and m.next_attempt_at and m.last_error for m in messages)
    # the notifications are there at once
    assert db.session.scalar(select(db.func.count(Notification.id))) == 3


def test_publication_tells_every_member_without_a_score(app, outbox):
    world = scored_round()
    for team in world.teams:
        team.leader.locale = "en"
    db.session.commit()
    snapshot = results.publish(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    members = {member.user.email: (team, member.user) for team in world.teams for member in team.members}
    mails = _by_recipient(outbox)
    assert set(mails) == set(members)
    for address, message in mails.items():
        team, user = members[address]
        body = _text(message)
        assert f"/teams/{team.id}/results" in body and f"/results/{world.contest.code}/{world.round.id}" in body
        assert message["Content-Language"] == ("en" if user.locale == "en" else "zh-CN")
        for row in snapshot.rows:  # no score, rank or award of any team (names may hold digits)
            assert f"{row['score']:.2f}" not in body and f"{row['score']:.1f}" not in body
            assert not row.get("award") or row["award"] not in body
        assert not re.search(r"(?i)\brank|名次|排名|金奖|银奖|铜奖|优秀奖", body + message["Subject"])
    leader = world.teams[0].leader
    assert mails[leader.email]["Subject"] == f"The results of {world.round.name_en} are published"
    notification = db.session.scalar(select(Notification).where(Notification.user_id == leader.id))
    assert notification.link == f"/teams/{world.teams[0].id}/results"


def test_a_second_publication_says_the_results_changed(app, outbox):
    world = scored_round()
    for team in world.teams:
        team.leader.locale = "en"
    results.publish(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    outbox.clear()
    results.publish(world.round, actor=world.organizer, now=utcnow(), reason="更正一位评委的录入错误")
    db.session.commit()
    leader = world.teams[0].leader
    mail = _by_recipient(outbox)[leader.email]
    assert mail["Subject"] == f"The results of {world.round.name_en} have been published again"
    assert "replaces the earlier one" in _text(mail) and "更正" not in _text(mail)


def test_the_notice_period_sends_no_publication_mail(app, outbox):
    world = scored_round(settings={"notice_days": 7})
    results.start_notice(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    assert outbox == []


def test_review_outcome_notification_opens_the_team_page(app, english):
    team = factories.team(state="submitted")
    organizer = factories.user()
    factories.grant(organizer, team.competition, "organizer")
    db.session.commit()
    teams.approve(team, actor=organizer, student_status_confirmed=True)
    db.session.commit()
    notification = db.session.scalar(select(Notification).where(Notification.user_id == team.leader_id))
    assert notification.kind == "teams/emails/approved" and notification.link == f"/teams/{team.id}"
