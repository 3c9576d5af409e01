"""E-mail through a real local SMTP server (aiosmtpd)."""

import os
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from competition.core import jobs
from competition.core.audit import AuditEntry
from competition.core.jobs import Job, JobState
from competition.core.mail import MailState, OutboxMessage, queue_mail, retry_due
from competition.core.time import utcnow
from competition.extensions import db
from tests import factories


def test_message_is_sent_in_the_recipients_language_and_kept_in_the_outbox(app, outbox):
    english = factories.user(locale="en", real_name="Li Ming")
    chinese = factories.user(locale="zh_Hans_CN", real_name="王芳")
    for user in (english, chinese):
        queue_mail(
            to=user.email,
            template="accounts/emails/verify_email",
            locale=user.locale,
            user=user,
            verify_url="http://localhost/account/verify/abc",
            valid_days=3,
        )
    db.session.commit()
    subjects = {message["To"]: message["Subject"] for message in outbox}
    assert subjects == {english.email: "Confirm your e-mail address", chinese.email: "请验证您的电子邮箱"}
    zh = next(m for m in outbox if m["To"] == chinese.email)
    assert "王芳" in zh.get_body(preferencelist=("plain",)).get_content()
    assert zh["Content-Language"] == "zh-CN"
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert {row.state for row in rows} == {MailState.SENT} and all(row.sent_at for row in rows)


def test_names_stay_plain_text_in_mails(app, outbox):
    user = factories.user(real_name="[点这里领奖](http://phish.example)<script>alert(1)</script>")
    queue_mail(
        to=user.email,
        template="accounts/emails/verify_email",
        locale="zh_Hans_CN",
        user=user,
        verify_url="http://localhost/account/verify/abc",
        valid_days=3,
    )
    db.session.commit()
    [message] = outbox
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="http://phish.example"' not in html
    assert "[点这里领奖](http://phish.example)" in text


def test_subject_cannot_carry_extra_headers(app, outbox):
    user = factories.user()
    message = queue_mail(
        to=user.email, template="accounts/emails/verify_email", locale="en", user=user, verify_url="x", valid_days=3
    )
    assert "\n" not in message.subject


def _closed_port() -> int:
    """A local port nothing listens on: the SMTP server is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _smtp_down(app) -> None:
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=_closed_port())


def _queue(user, **context):
    return queue_mail(
        to=user.email, template="accounts/emails/verify_email", locale="en", user=user, verify_url="x", valid_days=3,
        **context,
    )  # fmt: skip


def _message() -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalar(select(OutboxMessage))


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_smtp_down_keeps_the_message_for_another_attempt(app, run_jobs_inline, english):
    _smtp_down(app)
    user = factories.user()
    before = utcnow()
    _queue(user)
    db.session.commit()
    message = _message()
    assert (message.state, message.attempts) == (MailState.QUEUED, 1)
    assert "ConnectionRefusedError" in message.last_error
    assert before + timedelta(minutes=1) <= message.next_attempt_at <= utcnow() + timedelta(minutes=1)
    assert str(message.state_label) == "Waiting to retry" and message.can_retry_now
    assert db.session.scalar(select(Job)).state == JobState.FAILED  # the attempt's job shows the error too
    assert retry_due() == 0  # not due yet


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_a_message_is_sent_once_smtp_is_back(app, outbox, smtp_server):
    _smtp_down(app)
    user = factories.user()
    _queue(user)
    db.session.commit()
    assert outbox == [] and _message().state == MailState.QUEUED

    app.config["MAIL_PORT"] = smtp_server.port  # the server is back
    assert retry_due(now=utcnow() + timedelta(minutes=1, seconds=1)) == 1
    db.session.commit()  # the delivery job starts after the commit
    assert [message["To"] for message in outbox] == [user.email]
    message = _message()
    assert (message.state, message.attempts, message.last_error, message.next_attempt_at) == (
        MailState.SENT, 2, None, None
    )  # fmt: skip
    assert retry_due(now=utcnow() + timedelta(days=1)) == 0  # and never again
    db.session.commit()
    assert len(outbox) == 1


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_attempts_back_off_and_end_in_failed(app, run_jobs_inline, english):
    _smtp_down(app)
    _queue(factories.user())
    db.session.commit()
    waits = []
    while (message := _message()).state == MailState.QUEUED:
        waits.append(round((message.next_attempt_at - utcnow()).total_seconds() / 60))
        assert retry_due(now=message.next_attempt_at - timedelta(seconds=1)) == 0  # one second early: not yet
        assert retry_due(now=message.next_attempt_at) == 1
        db.session.commit()
    assert waits == [1, 5, 30, 120, 360]
    assert (message.state, message.attempts, message.next_attempt_at) == (MailState.FAILED, 6, None)
    assert str(message.state_label) == "Failed" and message.can_retry_now
    assert retry_due(now=utcnow() + timedelta(days=30)) == 0


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False, MAIL_RETRY_MINUTES=(2,))
def test_the_back_off_is_a_setting(app, run_jobs_inline):
    _smtp_down(app)
    _queue(factories.user())
    db.session.commit()
    message = _message()
    assert round((message.next_attempt_at - utcnow()).total_seconds() / 60) == 2
    retry_due(now=message.next_attempt_at)
    db.session.commit()
    assert (_message().state, _message().attempts) == (MailState.FAILED, 2)


def test_two_sweeps_claim_a_due_message_once(app):
    """The worker and the command may sweep at the same moment: one claim wins."""
    message = _queue(factories.user())
    message.state, message.attempts, message.next_attempt_at = MailState.QUEUED.value, 1, utcnow()
    db.session.commit()
    assert retry_due() == 1
    assert retry_due() == 0
    db.session.commit()
    deliveries = db.session.scalars(select(Job).where(Job.name == "mail.deliver")).all()
    assert len(deliveries) == 2  # the first attempt's and the retry's


class _Refusing:
    """An SMTP server that knows no mailbox: every recipient gets 550."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such mailbox"


@pytest.fixture
def refusing_server():
    from aiosmtpd.controller import Controller

    controller = Controller(_Refusing(), hostname="127.0.0.1", port=_closed_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_a_mailbox_refused_for_good_fails_at_once(app, run_jobs_inline, refusing_server):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=refusing_server.port)
    _queue(factories.user())
    db.session.commit()
    message = _message()
    assert (message.state, message.attempts, message.next_attempt_at) == (MailState.FAILED, 1, None)
    assert "No such mailbox" in message.last_error


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_registration_succeeds_for_the_user_even_when_smtp_is_down(app, client, run_jobs_inline):
    _smtp_down(app)
    institution = factories.institution("CQU")
    db.session.commit()
    response = client.post(
        "/account/register",
        data={
            "email": "li@example.edu.cn",
            "password": "good password",
            "password_confirm": "good password",
            "real_name": "李明",
            "institution": str(institution.id),
            "agree_privacy": "y",
        },
    )
    assert response.status_code == 200 and "li@example.edu.cn" in response.get_data(as_text=True)
    message = _message()
    assert message.state == MailState.QUEUED and message.next_attempt_at is not None


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_the_mail_retry_command_sends_what_is_due(app, outbox, smtp_server):
    _smtp_down(app)
    user = factories.user()
    _queue(user)
    db.session.commit()
    app.config["MAIL_PORT"] = smtp_server.port
    runner = app.test_cli_runner()
    assert "0 e-mail(s)" in runner.invoke(args=["mail", "retry"]).output  # not due yet
    message = _message()
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "1 e-mail(s)" in result.output
    assert [message["To"] for message in outbox] == [user.email]
    assert _message().state == MailState.SENT


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_jobs_tick_retries_too(app, outbox, smtp_server):
    _smtp_down(app)
    _queue(factories.user())
    db.session.commit()
    app.config["MAIL_PORT"] = smtp_server.port
    message = _message()
    message.next_attempt_at = utcnow()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "tick"])
    assert result.exit_code == 0 and "e-mails retried: 1" in result.output
    assert len(outbox) == 1


def test_console_backend_prints_instead_of_sending(app, run_jobs_inline, capsys):
    app.config["MAIL_BACKEND"] = "console"
    user = factories.user()
    queue_mail(
        to=user.email,
        template="accounts/emails/verify_email",
        locale="en",
        user=user,
        verify_url="http://localhost/account/verify/abc",
        valid_days=3,
    )
    db.session.commit()
    printed = capsys.readouterr().out
    assert user.email in printed and "http://localhost/account/verify/abc" in printed
    assert db.session.scalar(select(OutboxMessage)).state == MailState.SENT


def test_admins_read_the_outbox(client, login_as, app):
    login_as("admin")
    user = factories.user()
    queue_mail(
        to=user.email,
        template="accounts/emails/verify_email",
        locale="en",
        user=user,
        verify_url="http://localhost/account/verify/abc",
        valid_days=3,
    )
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage))
    listing = client.get("/admin/outbox").get_data(as_text=True)
    assert user.email in listing and "Confirm your e-mail address" in listing
    detail = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "http://localhost/account/verify/abc" in detail


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_admins_see_failed_messages_and_retry_them_now(client, login_as, app, outbox, smtp_server):
    admin = login_as("admin", locale="en")
    _smtp_down(app)
    user = factories.user()
    _queue(user)
    db.session.commit()
    message = _message()
    message.state, message.next_attempt_at = MailState.FAILED.value, None  # given up
    db.session.commit()
    listing = client.get("/admin/outbox?state=failed", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert user.email in listing and "Failed" in listing and 'data-testid="retry-now"' in listing
    assert "tried again after 1, 5, 30, 120, 360 minutes; after 6 attempts" in listing
    assert user.email not in client.get("/admin/outbox?state=retrying").get_data(as_text=True)
    detail = client.get(f"/admin/outbox/{message.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "ConnectionRefusedError" in detail and 'data-testid="retry-now"' in detail

    app.config["MAIL_PORT"] = smtp_server.port  # fixed
    response = client.post(f"/admin/outbox/{message.id}/retry", headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert [sent["To"] for sent in outbox] == [user.email]
    message = _message()
    assert (message.state, message.attempts) == (MailState.SENT, 2)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mail.retry"))
    assert entry.actor_id == admin.id and entry.object_id == str(message.id)
    # a sent message cannot be retried: the admin is told so
    again = client.post(f"/admin/outbox/{message.id}/retry", headers={"Accept-Language": "en"}, follow_redirects=True)
    assert "nothing to retry" in again.get_data(as_text=True) and len(outbox) == 1


def _redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_reachable() -> bool:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        return bool(Redis.from_url(_redis_url(), socket_connect_timeout=0.5).ping())
    except RedisConnectionError:
        return False


@pytest.mark.skipif(not _redis_reachable() and not os.environ.get("CI"), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_the_worker_retries_due_messages_in_its_upkeep(app, outbox, smtp_server):
    from rq import SimpleWorker

    app.config.update(JOBS_BACKEND="rq", REDIS_URL=_redis_url())
    queue = jobs.rq_queue()
    queue.empty()
    user = factories.user()
    message = _queue(user)
    message_id = message.id
    db.session.commit()
    queue.empty()  # as if the first attempt had failed: waiting, due now
    row = db.session.get(OutboxMessage, message_id)
    row.attempts, row.last_error, row.next_attempt_at = 1, "ConnectionRefusedError", utcnow()
    db.session.commit()
    # RQ's maintenance runs once as the worker starts (then every JOBS_UPKEEP_SECONDS): it
    # hands the message to a new delivery job, which the same burst then runs
    worker = jobs.worker_class(SimpleWorker)([queue], connection=queue.connection)
    worker.work(burst=True)
    assert [sent["To"] for sent in outbox] == [user.email]
    assert _message().state == MailState.SENT


def test_upkeep_goes_on_when_one_periodic_task_fails(app):
    """Each periodic task commits on its own: one that fails (rolled back, logged) does not stop the
    e-mail sweep."""
    calls = []

    def broken():
        calls.append("broken")
        raise RuntimeError("boom")

    jobs.periodic(broken)
    try:
        message = _queue(factories.user())
        message.attempts, message.next_attempt_at = 1, utcnow()
        db.session.commit()
        done = jobs.run_upkeep()
    finally:
        jobs._periodic.remove(broken)
    assert calls == ["broken"] and done["competition.core.mail.retry_due"] == 1
    assert _message().next_attempt_at is None  # claimed: a delivery job is on its way


@pytest.mark.skipif(not _redis_reachable() and not os.environ.get("CI"), reason="no Redis on 127.0.0.1:6379")
def test_upkeep_pushes_lost_jobs_again_only_when_redis_has_nothing_waiting(app):
    """A backlog in Redis is being worked through: pushing it again every minute would pile up copies."""
    app.config.update(JOBS_BACKEND="rq", REDIS_URL=_redis_url())
    queue = jobs.rq_queue()
    queue.empty()
    _queue(factories.user())
    db.session.commit()  # its delivery job is pushed to Redis and waits there
    job = db.session.scalar(select(Job))
    job.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert queue.count == 1
    assert jobs.run_upkeep()["requeued"] == 0 and queue.count == 1
    queue.empty()  # Redis lost it (restarted without persistence)
    assert jobs.run_upkeep()["requeued"] == 1 and queue.count == 1
    queue.empty()
