"""E-mail through a real local SMTP server (aiosmtpd)."""

import pytest
from sqlalchemy import select

from competition.core.jobs import Job, JobState
from competition.core.mail import MailState, OutboxMessage, queue_mail
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


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_smtp_down_marks_the_message_failed_and_keeps_it(app, run_jobs_inline):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1)
    user = factories.user()
    queue_mail(
        to=user.email, template="accounts/emails/verify_email", locale="en", user=user, verify_url="x", valid_days=3
    )
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage))
    assert message.state == MailState.FAILED and message.last_error
    assert db.session.scalar(select(Job)).state == JobState.FAILED


@pytest.mark.app_config(JOBS_RAISE_ERRORS=False)
def test_registration_succeeds_for_the_user_even_when_smtp_is_down(app, client, run_jobs_inline):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1)
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
        },
    )
    assert response.status_code == 200 and "li@example.edu.cn" in response.get_data(as_text=True)
    assert db.session.scalar(select(OutboxMessage)).state == MailState.FAILED


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
