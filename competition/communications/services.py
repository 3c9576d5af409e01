"""Announcements and bulk e-mails: every write, with its audit entry; the views commit.

A bulk e-mail is previewed (the rendered message in both languages and the exact recipients), then
confirmed with the preview's token: the confirmation fixes the recipient list in a `Mailing` row
and a job queues one outbox message per recipient, in chunks committed as it goes, so a segment
of thousands never holds a request and a retried job resumes where it stopped.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from competition.accounts.models import User
from competition.communications.models import Announcement, Mailing
from competition.communications.segments import Recipient, Segment, describe_in_both_languages, resolve
from competition.competitions.models import Competition
from competition.core import audit, jobs
from competition.core.errors import DomainError
from competition.core.mail import external_url, internal_path, queue_mail
from competition.core.markdown import render_markdown
from competition.extensions import db

TITLE_MAX = 200
TITLE_EN_MAX = 300
SUBJECT_MAX = 200
BODY_MAX = 20_000
#: outbox messages queued per committed step of the sending job
CHUNK = 200
#: recipients listed on the preview page
PREVIEW_LIMIT = 20
LOCALES = ("zh_Hans_CN", "en")
MAIL_TEMPLATE = "communications/emails/bulk"


# --- announcements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnouncementInput:
    title_zh: str
    body_zh: str
    title_en: str = ""
    body_en: str = ""
    pinned: bool = False
    published: bool = True


def _clean(text: str | None) -> str:
    return (text or "").strip()


def _check_announcement(data: AnnouncementInput) -> AnnouncementInput:
    cleaned = AnnouncementInput(
        title_zh=_clean(data.title_zh),
        body_zh=_clean(data.body_zh),
        title_en=_clean(data.title_en),
        body_en=_clean(data.body_en),
        pinned=bool(data.pinned),
        published=bool(data.published),
    )
    if not cleaned.title_zh:
        raise DomainError(_l("Please enter the Chinese title."), field="title_zh")
    if len(cleaned.title_zh) > TITLE_MAX:
        raise DomainError(_l("At most %(max)s characters.", max=TITLE_MAX), field="title_zh")
    if len(cleaned.title_en) > TITLE_EN_MAX:
        raise DomainError(_l("At most %(max)s characters.", max=TITLE_EN_MAX), field="title_en")
    if not cleaned.body_zh:
        raise DomainError(_l("Please write the Chinese text."), field="body_zh")
    for name in ("body_zh", "body_en"):
        if len(getattr(cleaned, name)) > BODY_MAX:
            raise DomainError(_l("At most %(max)s characters.", max=BODY_MAX), field=name)
    return cleaned


def create_announcement(
    competition: Competition, *, actor: User, data: AnnouncementInput, now: datetime
) -> Announcement:
    data = _check_announcement(data)
    announcement = Announcement(
        competition_id=competition.id,
        title_zh=data.title_zh,
        title_en=data.title_en,
        body_zh=data.body_zh,
        body_en=data.body_en,
        pinned=data.pinned,
        published_at=now if data.published else None,
        author_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(announcement)
    db.session.flush()
    audit.record(actor, "announcement.create", announcement, title=data.title_zh, published=data.published)
    return announcement


def update_announcement(announcement: Announcement, *, actor: User, data: AnnouncementInput, now: datetime) -> None:
    data = _check_announcement(data)
    changed = [
        name
        for name in ("title_zh", "title_en", "body_zh", "body_en", "pinned")
        if getattr(announcement, name) != getattr(data, name)
    ]
    for name in changed:
        setattr(announcement, name, getattr(data, name))
    if data.published != announcement.is_published:
        changed.append("published")
        announcement.published_at = now if data.published else None
    if changed:
        announcement.updated_at = now
        audit.record(actor, "announcement.update", announcement, changed=changed)


def set_pinned(announcement: Announcement, *, actor: User, pinned: bool) -> None:
    if announcement.pinned != pinned:
        announcement.pinned = pinned
        audit.record(actor, "announcement.pin" if pinned else "announcement.unpin", announcement)


def set_published(announcement: Announcement, *, actor: User, published: bool, now: datetime) -> None:
    if announcement.is_published != published:
        announcement.published_at = now if published else None
        audit.record(actor, "announcement.publish" if published else "announcement.unpublish", announcement)


def delete_announcement(announcement: Announcement, *, actor: User) -> None:
    audit.record(actor, "announcement.delete", announcement, title=announcement.title_zh)
    db.session.delete(announcement)


def announcements_of(competition: Competition, *, include_unpublished: bool = False, limit: int | None = None):
    """Pinned first, then the newest; unpublished ones (for organizers) after those."""
    query = select(Announcement).where(Announcement.competition_id == competition.id)
    if not include_unpublished:
        query = query.where(Announcement.published_at.is_not(None))
    query = query.order_by(
        Announcement.published_at.is_(None),
        Announcement.pinned.desc(),
        Announcement.published_at.desc(),
        Announcement.id.desc(),
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


# --- bulk e-mails ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailDraft:
    subject_zh: str
    body_zh: str
    subject_en: str = ""
    body_en: str = ""

    def subject_for(self, locale: str) -> str:
        return self.subject_en if locale == "en" and self.subject_en else self.subject_zh

    def body_for(self, locale: str) -> str:
        return self.body_en if locale == "en" and self.body_en else self.body_zh


def check_draft(draft: MailDraft) -> MailDraft:
    cleaned = MailDraft(
        subject_zh=" ".join(_clean(draft.subject_zh).split()),
        body_zh=_clean(draft.body_zh),
        subject_en=" ".join(_clean(draft.subject_en).split()),
        body_en=_clean(draft.body_en),
    )
    if not cleaned.subject_zh:
        raise DomainError(_l("Please enter the Chinese subject."), field="subject_zh")
    if not cleaned.body_zh:
        raise DomainError(_l("Please write the Chinese text."), field="body_zh")
    if bool(cleaned.subject_en) != bool(cleaned.body_en):
        field = "body_en" if cleaned.subject_en else "subject_en"
        raise DomainError(_l("Write both the English subject and the English text, or neither."), field=field)
    for name, limit in (
        ("subject_zh", SUBJECT_MAX),
        ("subject_en", SUBJECT_MAX),
        ("body_zh", BODY_MAX),
        ("body_en", BODY_MAX),
    ):
        if len(getattr(cleaned, name)) > limit:
            raise DomainError(_l("At most %(max)s characters.", max=limit), field=name)
    return cleaned


def _message_context(competition: Competition, draft: MailDraft, locale: str, body_html: Markup | None = None) -> dict:
    with force_locale(locale):
        competition_name = competition.name
    return {
        "mail_subject": draft.subject_for(locale),
        "body_text": draft.body_for(locale),
        "body_html": body_html if body_html is not None else render_markdown(draft.body_for(locale)),
        "competition_name": competition_name,
        "competition_url": external_url("competitions.detail", code=competition.code),
    }


@dataclass(frozen=True)
class RenderedMessage:
    locale: str
    subject: str
    text: str
    html: Markup
    recipients: int


@dataclass(frozen=True)
class Preview:
    recipients: list[Recipient]
    messages: list[RenderedMessage]

    @property
    def count(self) -> int:
        return len(self.recipients)

    @property
    def first(self) -> list[Recipient]:
        return self.recipients[:PREVIEW_LIMIT]


def render_message(competition: Competition, draft: MailDraft, locale: str) -> tuple[str, str, Markup]:
    """Subject, text part and the HTML body as the recipient in `locale` gets them."""
    context = _message_context(competition, draft, locale)
    with force_locale(locale):
        context["recipient_name"] = gettext("(name of the recipient)")
        subject = " ".join(render_template(f"{MAIL_TEMPLATE}.subject.txt", **context).split())
        text = render_template(f"{MAIL_TEMPLATE}.txt", **context)
    return subject, text, context["body_html"]


def preview(competition: Competition, *, segment: Segment, draft: MailDraft) -> Preview:
    draft = check_draft(draft)
    recipients = resolve(competition, segment)
    per_locale = Counter(recipient.locale for recipient in recipients)
    messages = [
        RenderedMessage(locale, *render_message(competition, draft, locale), recipients=per_locale.get(locale, 0))
        for locale in LOCALES
    ]
    return Preview(recipients, messages)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def send(
    competition: Competition,
    *,
    actor: User,
    segment: Segment,
    draft: MailDraft,
    token: str,
    expected_count: int | None,
    announcement: Announcement | None = None,
) -> tuple[Mailing, bool]:
    """Record the mailing and enqueue its sending; returns (mailing, created).

    A token already used (the confirmation submitted twice) returns that mailing and sends nothing.
    When the recipients are no longer those the preview counted, nothing is sent and the refusal
    says how many there are now.
    """
    token = (token or "").strip()
    if not 16 <= len(token) <= 64:
        raise DomainError(_l("This confirmation is not valid any more; please preview the e-mail again."))
    existing = db.session.scalar(select(Mailing).where(Mailing.token == token))
    if existing is not None:
        if existing.competition_id != competition.id:
            raise DomainError(_l("This confirmation is not valid any more; please preview the e-mail again."))
        return existing, False
    draft = check_draft(draft)
    recipients = resolve(competition, segment)
    if not recipients:
        raise DomainError(_l("Nobody is in this group: no e-mail was sent."))
    if expected_count is not None and expected_count != len(recipients):
        raise DomainError(
            _l(
                "The recipients changed since the preview: there are now %(count)s. Please check the preview again.",
                count=len(recipients),
            )
        )
    label_zh, label_en = describe_in_both_languages(segment)
    mailing = Mailing(
        competition_id=competition.id,
        token=token,
        segment=segment.as_json(),
        segment_label_zh=label_zh,
        segment_label_en=label_en,
        subject_zh=draft.subject_zh,
        subject_en=draft.subject_en,
        body_zh=draft.body_zh,
        body_en=draft.body_en,
        announcement_id=announcement.id if announcement is not None else None,
        author_id=actor.id,
        recipients=[[r.email, r.name, r.locale, r.user_id] for r in recipients],
        recipient_count=len(recipients),
        queued_count=0,
    )
    try:
        with db.session.begin_nested():  # two confirmations of the same preview at once: one mailing
            db.session.add(mailing)
    except IntegrityError:
        existing = db.session.scalar(select(Mailing).where(Mailing.token == token))
        if existing is None or existing.competition_id != competition.id:
            raise
        return existing, False
    audit.record(
        actor, "mailing.send", mailing, segment=segment.as_json(), recipients=len(recipients), subject=draft.subject_zh
    )
    jobs.enqueue("communications.send_mailing", created_by=actor, mailing_id=mailing.id)
    return mailing, True


def queue_chunk(mailing: Mailing, *, limit: int = CHUNK) -> int:
    """Queue the next `limit` outbox messages of `mailing`; returns how many (0 when done)."""
    competition = db.session.get(Competition, mailing.competition_id)
    draft = MailDraft(mailing.subject_zh, mailing.body_zh, mailing.subject_en, mailing.body_en)
    contexts = {locale: _message_context(competition, draft, locale) for locale in LOCALES}
    link = (
        internal_path("communications.announcements", code=competition.code)
        if mailing.announcement_id
        else (internal_path("competitions.detail", code=competition.code))
    )
    batch = mailing.recipients[mailing.queued_count : mailing.queued_count + limit]
    user_ids = [entry[3] for entry in batch if entry[3] is not None]
    users = (
        {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    )
    for email, name, locale, user_id in batch:
        user = users.get(user_id) if user_id is not None else None
        if user_id is not None and (user is None or user.is_disabled):
            continue  # disabled (or removed) since the confirmation
        queue_mail(
            to=email,
            template=MAIL_TEMPLATE,
            locale=locale,
            user=user,
            link=link,
            recipient_name=name,
            **contexts[locale],
        )
    mailing.queued_count += len(batch)
    return len(batch)


@jobs.job("communications.send_mailing")
def send_mailing_job(ctx: jobs.JobContext, *, mailing_id: int) -> None:
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        return
    while queue_chunk(mailing):
        ctx.progress(100 * mailing.queued_count // max(mailing.recipient_count, 1))
