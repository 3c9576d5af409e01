"""E-mail: every message is rendered in the recipient's language, kept in the outbox, and sent by a
job after the transaction that caused it commits.

Templates come in threes under `templates/`: `<name>.subject.txt`, `<name>.txt` and `<name>.html`.
Text parts are not HTML-escaped but are plain text, so a team called `[点这里](http://x)` stays
text; the HTML part is autoescaped.

Delivery never fails the request that caused it: a message the SMTP server does not take stays in
the outbox, waiting (`next_attempt_at`) for another attempt after 1, 5, 30 minutes, 2 and 6 hours
(`MAIL_RETRY_MINUTES`); after the last one, or at once when the server refuses the message for
good (a 5xx answer), it is `failed` and an admin may send it again from the outbox page.
`retry_due()` hands the due messages to new delivery jobs: the RQ worker calls it every minute,
`flask --app wsgi mail retry` and `flask --app wsgi jobs tick` do too (the way to retry without
Redis, when jobs run in the web process).

A message to a user also appears in their in-app notifications (`competition.notifications`),
except the account mails (verification, password reset), which are about the mailbox itself.
"""

from __future__ import annotations

import logging
import re
import smtplib
import sys
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from competition.core import audit, jobs
from competition.core.errors import DomainError
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db

log = logging.getLogger(__name__)


#: minutes to wait after the 1st, 2nd… failed attempt; one attempt more than delays, then "failed"
DEFAULT_RETRY_MINUTES = (1, 5, 30, 120, 360)
#: account mails are about the mailbox itself: no in-app notification
NOT_NOTIFIED_PREFIXES = ("accounts/emails/",)


class MailState(StrEnum):
    #: waiting for its first attempt, or (with `next_attempt_at`) for the next one
    QUEUED = "queued"
    SENT = "sent"
    #: given up: the last attempt failed, or the server refused the message for good
    FAILED = "failed"


class OutboxMessage(db.Model):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    locale: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=MailState.QUEUED.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when a failed attempt is retried (`retry_due`); None while a delivery job is on its way
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    @property
    def is_waiting_to_retry(self) -> bool:
        return self.state == MailState.QUEUED and self.next_attempt_at is not None

    @property
    def state_label(self) -> str:
        if self.is_waiting_to_retry:
            return str(_l("Waiting to retry"))
        return str({
            MailState.QUEUED: _l("Queued"), MailState.SENT: _l("Sent"), MailState.FAILED: _l("Failed"),
        }.get(self.state, self.state))  # fmt: skip

    @property
    def can_retry_now(self) -> bool:
        return self.state == MailState.FAILED or self.is_waiting_to_retry


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under the configured BASE_URL, never under the request's Host header."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def internal_path(endpoint: str, **values) -> str:
    """The path of a page of this app (no host), for links inside the app such as notifications;
    built without a request, like `external_url`."""
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return adapter.build(endpoint, values)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def queue_mail(
    *, to: str, template: str, locale: str, user=None, link: str | None = None, notify: bool = True, **context
) -> OutboxMessage:
    """Render a message in `locale`, store it in the outbox and enqueue its delivery.

    With a `user`, the message's subject also becomes an in-app notification for them (unless
    `notify=False` or an account mail), opening `link` — a path of this app (`internal_path`).
    """
    with force_locale(locale):
        context.setdefault("recipient", user)
        subject = _one_line(render_template(f"{template}.subject.txt", **context))[:300]
        body_text = render_template(f"{template}.txt", **context)
        body_html = render_template(f"{template}.html", subject=subject, **context)
    message = OutboxMessage(
        to_address=to,
        to_user_id=getattr(user, "id", None),
        locale=locale,
        template=template,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
    )
    db.session.add(message)
    db.session.flush()
    jobs.enqueue("mail.deliver", message_id=message.id)
    if user is not None and notify and not template.startswith(NOT_NOTIFIED_PREFIXES):
        from competition.notifications.services import notify as add_notification

        add_notification(user, kind=template, title=subject, link=link)
    return message


def build_email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to_address
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=urlsplit(current_app.config["BASE_URL"]).hostname)
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    email["Content-Language"] = "en" if message.locale == "en" else "zh-CN"  # after set_content, which drops it
    return email


def _send_smtp(email: EmailMessage) -> None:
    config = current_app.config
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_SECONDS"]) as smtp:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(email)


def _print_to_console(email: EmailMessage) -> None:
    text = email.get_body(preferencelist=("plain",)).get_content()
    print(
        f"\n----- e-mail (development: printed, not sent) -----\n"
        f"To: {email['To']}\nSubject: {email['Subject']}\n\n{text}\n"
        f"----- end of e-mail -----\n",
        file=sys.stdout,
        flush=True,
    )


def retry_delays() -> list[timedelta]:
    minutes = current_app.config.get("MAIL_RETRY_MINUTES") or DEFAULT_RETRY_MINUTES
    return [timedelta(minutes=float(value)) for value in minutes]


def _is_permanent(exc: Exception) -> bool:
    """A 5xx answer (unknown mailbox, message refused) fails the same way next time; a wrong
    password (535) is the server's configuration, which an admin fixes, so it is retried."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    delays = retry_delays()
    if _is_permanent(exc) or message.attempts > len(delays):
        message.state = MailState.FAILED.value
        message.next_attempt_at = None
    else:
        message.state = MailState.QUEUED.value
        message.next_attempt_at = utcnow() + delays[max(message.attempts, 1) - 1]


@jobs.job("mail.deliver")
def deliver(ctx: jobs.JobContext, *, message_id: int) -> None:
    """One attempt. A failure is recorded on the message (retry or give up) and committed, then
    raised so the job shows it too; the request that queued the mail never sees it."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.state != MailState.QUEUED or message.next_attempt_at is not None:
        return  # sent, given up, or waiting for `retry_due`, which starts a job of its own
    message.attempts += 1
    email = build_email(message)
    try:
        if current_app.config["MAIL_BACKEND"] == "console":
            _print_to_console(email)
        else:
            _send_smtp(email)
    except (OSError, smtplib.SMTPException) as exc:
        _record_failure(message, exc)
        db.session.commit()
        raise
    message.state = MailState.SENT.value
    message.sent_at = utcnow()
    message.last_error = None
    message.next_attempt_at = None


@jobs.periodic
def retry_due(now: datetime | None = None) -> int:
    """Start a delivery job for every message whose next attempt is due; returns how many.

    Each message is claimed with one conditional UPDATE, so two sweeps at once (the worker and
    the command) never send it twice. The caller commits; the jobs start after the commit."""
    now = now or utcnow()
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.state == MailState.QUEUED.value, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    ).all()
    started = 0
    for message_id in due:
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == MailState.QUEUED.value,
                   OutboxMessage.next_attempt_at <= now)
            .values(next_attempt_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount  # fmt: skip
        if claimed:
            jobs.enqueue("mail.deliver", message_id=message_id)
            started += 1
    return started


def retry_now(message: OutboxMessage, *, actor) -> None:
    """An admin sends a failed message, or one waiting for its next attempt, at once."""
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            (OutboxMessage.state == MailState.FAILED.value)
            | ((OutboxMessage.state == MailState.QUEUED.value) & OutboxMessage.next_attempt_at.is_not(None)),
        )
        .values(state=MailState.QUEUED.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise DomainError(_l("This message has been sent or is on its way; there is nothing to retry."))
    db.session.refresh(message)
    jobs.enqueue("mail.deliver", message_id=message.id, created_by=actor)
    audit.record(actor, "mail.retry", message, attempts=message.attempts, last_error=message.last_error)
