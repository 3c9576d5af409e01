"""Reminders to judges with pending work: one click on the progress page, and the automatic one a
configurable time before judging closes (`flask jobs tick`), sent once and never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.mail import OutboxMessage
from competition.core.time import utcnow
from competition.extensions import db
from competition.rounds.models import Round
from competition.scoring import services
from tests import factories
from tests.scoring.world import NOW, full_points, scoring_world

pytestmark = pytest.mark.usefixtures("english")


def sign_in(client, user) -> None:
    user.locale = "en"
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def base(world) -> str:
    return f"/competitions/{world.contest.code}/rounds/{world.round.id}/scoring"


def submit_all(world, judge, now) -> None:
    """The judge submits every one of their scorecards."""
    for assignment in world.assignments:
        if assignment.judge_id == judge.id:
            data = services.ScoreInput(full_points(world.rubric), {}, "评语", 0)
            services.save(assignment, judge=judge, data=data, submit=True, now=now)
    db.session.commit()


def recipients(outbox) -> list[str]:
    return sorted(address for message in outbox for address in message.envelope_recipients)


def queued() -> list[str]:
    return sorted(db.session.scalars(select(OutboxMessage.to_address)))


def test_one_click_mails_only_the_judges_with_pending_work(app, client, outbox):
    world = scoring_world(judges=4, opens=utcnow() - timedelta(days=1), closes=utcnow() + timedelta(days=2))
    done, drafting, idle, disabled = world.judges
    submit_all(world, done, utcnow())
    services.save(world.assignments[1], judge=drafting, data=services.ScoreInput({}, {}, "草稿", 0), submit=False,
                  now=utcnow())  # fmt: skip
    disabled.is_disabled = True
    idle.locale = "en"
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    assert "3 judge(s) have scorecards not submitted yet." in html

    response = client.post(f"{base(world)}/reminders", follow_redirects=True)
    assert "A reminder has been sent to 2 judge(s) with pending work." in response.get_data(as_text=True)
    assert recipients(outbox) == sorted([drafting.email, idle.email])
    english = next(message for message in outbox if idle.email in message.envelope_recipients)
    assert english["Subject"] == f"Reminder: 2 submission(s) still to score in {world.round.name_en}"
    assert "/judging/" in english.get_body(preferencelist=("plain",)).get_content()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scoring.remind"))
    assert entry.actor_id == world.organizer.id and entry.details == {"judges": 2, "automatic": False}
    # a manual reminder is not the automatic one
    assert db.session.get(Round, world.round.id).reminder_sent_at is None


def test_with_nobody_pending_no_mail_goes(app, client, outbox):
    world = scoring_world(judges=1, opens=utcnow() - timedelta(days=1), closes=utcnow() + timedelta(days=2))
    submit_all(world, world.judges[0], utcnow())
    sign_in(client, world.organizer)
    response = client.post(f"{base(world)}/reminders", follow_redirects=True)
    assert "No judge has pending work; no reminder was sent." in response.get_data(as_text=True)
    assert outbox == []


def test_no_reminder_once_judging_has_closed(app, client):
    world = scoring_world(opens=utcnow() - timedelta(days=3), closes=utcnow() - timedelta(hours=1))
    with pytest.raises(DomainError, match="Judging of this round is closed"):
        services.send_reminders(world.round, actor=world.organizer, now=utcnow())
    db.session.rollback()
    sign_in(client, world.organizer)
    html = client.post(f"{base(world)}/reminders", follow_redirects=True).get_data(as_text=True)
    assert "Judging of this round is closed" in html and queued() == []


def test_the_automatic_reminder_goes_once_inside_its_window(app):
    world = scoring_world(judges=2)  # judging NOW-1d … NOW+7d; the default setting: 24 hours before
    submit_all(world, world.judges[0], NOW)
    assert world.round.reminder_hours_before_close == 24
    closes = world.round.judging_closes_at
    assert services.send_due_reminders(closes - timedelta(hours=25)) == []
    assert queued() == []
    assert services.send_due_reminders(closes - timedelta(hours=23)) == [world.round.id]
    db.session.commit()
    assert queued() == [world.judges[1].email]
    assert world.round.reminder_sent_at == closes - timedelta(hours=23)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scoring.remind"))
    assert entry.actor_id is None and entry.details == {"judges": 1, "automatic": True}
    # never twice, however often the tick runs
    assert services.send_due_reminders(closes - timedelta(hours=22)) == []
    assert services.send_due_reminders(closes - timedelta(minutes=1)) == []
    db.session.commit()
    assert queued() == [world.judges[1].email]


def test_no_automatic_reminder_without_a_setting_before_opening_or_after_closing(app):
    world = scoring_world()
    closes = world.round.judging_closes_at
    world.round.reminder_hours_before_close = None
    db.session.commit()
    assert services.send_due_reminders(closes - timedelta(hours=1)) == []
    # a window reaching back before judging opens: nothing before the opening, then at once
    world.round.reminder_hours_before_close = 24 * 30
    db.session.commit()
    opens = world.round.judging_opens_at
    assert services.send_due_reminders(opens - timedelta(hours=1)) == []
    assert services.send_due_reminders(closes + timedelta(minutes=1)) == []  # closed: too late
    assert services.send_due_reminders(opens + timedelta(minutes=1)) == [world.round.id]
    db.session.commit()
    assert len(queued()) == 2


def test_the_jobs_tick_command_sends_due_reminders_once(app, outbox):
    world = scoring_world(judges=2, opens=utcnow() - timedelta(days=1), closes=utcnow() + timedelta(hours=3))
    later = factories.round_(world.contest, position=2, name_zh="决赛", judging_opens_at=utcnow(),
                             judging_closes_at=utcnow() + timedelta(days=5))  # fmt: skip
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "tick"])
    assert first.exit_code == 0, first.output
    assert "reminders sent for 1 round(s)" in first.output
    assert recipients(outbox) == sorted(judge.email for judge in world.judges)
    second = runner.invoke(args=["jobs", "tick"])
    assert "reminders sent for 0 round(s)" in second.output
    assert len(outbox) == 2
    db.session.expire_all()
    assert db.session.get(Round, world.round.id).reminder_sent_at is not None
    assert db.session.get(Round, later.id).reminder_sent_at is None


def test_the_reminder_setting_is_saved_cleared_and_checked(app, client):
    world = scoring_world(opens=utcnow() - timedelta(days=1), closes=utcnow() + timedelta(days=7))
    sign_in(client, world.organizer)
    url = f"{base(world)}/reminders/setting"
    assert client.post(url, data={"hours": "48"}).status_code == 302
    db.session.expire_all()
    assert world.round.reminder_hours_before_close == 48
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    assert "The automatic reminder goes at" in html and 'value="48"' in html
    for wrong in ("0", "721", "abc"):
        response = client.post(url, data={"hours": wrong}, follow_redirects=True)
        text = response.get_data(as_text=True)
        assert "Between 1 and 720 hours" in text or "Please enter a whole number." in text
    db.session.expire_all()
    assert world.round.reminder_hours_before_close == 48
    client.post(url, data={"hours": ""})
    db.session.expire_all()
    assert world.round.reminder_hours_before_close is None
    assert "No automatic reminder is set." in client.get(f"{base(world)}/progress").get_data(as_text=True)
    changes = db.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "scoring.reminder_setting"))
    assert list(changes) == [{"old": 24, "new": 48}, {"old": 48, "new": None}]


def test_the_page_says_when_the_automatic_reminder_was_sent(app, client):
    world = scoring_world(opens=utcnow() - timedelta(days=1), closes=utcnow() + timedelta(hours=2))
    services.send_due_reminders(utcnow())
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    assert "The automatic reminder was sent at" in html
