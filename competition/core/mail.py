"""E-mail: every message is rendered in the recipient's language, kept in the outbox, and sent by a
job after the transaction that caused it commits.

Templates come in threes under `templates/`: `<name>.subject.txt`, `<name>.txt` and `<name>.html`.
Text parts are not HTML-escaped but are plain text, so a team called `[点这里](http://x)` stays
text; the HTML part is autoescaped.
"""

from __future__ import annotations

import logging
import re
import smtplib
import sys
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from competition.core import jobs
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db

log = logging.getLogger(__name__)


class MailState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
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


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under the configured BASE_URL, never under the request's Host header."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def queue_mail(*, to: str, template: str, locale: str, user=None, **context) -> OutboxMessage:
    """Render a message in `locale`, store it in the outbox and enqueue its delivery."""
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


@jobs.job("mail.deliver")
def deliver(ctx: jobs.JobContext, *, message_id: int) -> None:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.state == MailState.SENT:
        return
    message.attempts += 1
    email = build_email(message)
    try:
        if current_app.config["MAIL_BACKEND"] == "console":
            _print_to_console(email)
        else:
            _send_smtp(email)
    except (OSError, smtplib.SMTPException) as exc:
        message.state = MailState.FAILED.value
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    message.state = MailState.SENT.value
    message.sent_at = utcnow()
    message.last_error = None
