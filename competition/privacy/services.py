"""Personal information under China's PIPL: consent to the privacy notice, and deletion requests
carried out by anonymizing the account.

Rules:
- Registering needs the box "I have read and agree to the privacy notice" ticked; the consent is
  recorded with the notice's version, the time and the network (the address truncated).
- When the notice changes (`NOTICE_VERSION`), a person whose latest recorded consent is for an older
  version is asked again before they use the site. Accounts made by others (Excel import, expert
  invitations, the demo, `create-admin`) have no consent recorded and are not blocked: the notice is
  linked on every page and they may agree on their privacy page at any time.
- A deletion request is carried out by an administrator, or refused with a reason. It cannot be
  carried out while the person is in a team of a competition that is not finished (results
  published or archived) and not withdrawn: the team would lose a member the rules count.
- Carrying it out anonymizes rather than deletes rows: scores, rankings, team sizes and published
  results stay exactly as they were; the person's name, e-mail address, phone, student number,
  department and major are gone, the password is unusable, every session ends. Consents stay (the
  legal record of what was agreed). Issued certificates keep the name printed on them (they remain
  verifiable for whoever holds the paper) but lose the e-mail address.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update

from competition.accounts.models import User, new_session_token
from competition.accounts.services import password_matches
from competition.competitions.models import Competition, CompetitionState
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.mail import OutboxMessage, queue_mail
from competition.core.time import utcnow
from competition.extensions import db
from competition.privacy.models import REASON_MAX_LENGTH, Consent, DeletionRequest, DeletionState
from competition.teams.models import Advisor, Team, TeamInvitation, TeamMember, TeamState

#: the version of templates/privacy/_notice_*.html; change it with the text, and everyone who agreed to
#: an older one is asked again
NOTICE_VERSION = "2026-11"
#: competitions in these states are over: anonymizing a member changes nothing that is still decided
FINISHED_STATES = (CompetitionState.PUBLISHED.value, CompetitionState.ARCHIVED.value)


def current_notice_version() -> str:
    return NOTICE_VERSION


def anonymous_name(user_id: int) -> str:
    return f"已注销用户 Deleted user #{user_id}"


def anonymous_email(user_id: int) -> str:
    return f"deleted-{user_id}@invalid"


# --- consent ------------------------------------------------------------------------------------


def truncate_ip(address: str | None) -> str | None:
    """The network, not the device: IPv4 to its /24, IPv6 to its /48 ("203.0.113.0/24")."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


#: consents given to the privacy notice (others: separate consents, e.g. "national-id")
NOTICE_SOURCES = ("registration", "prompt")


def record_consent(
    user: User, *, ip_address: str | None, source: str = "registration", version: str | None = None
) -> Consent:
    consent = Consent(
        user_id=user.id,
        notice_version=version or current_notice_version(),
        accepted_at=utcnow(),
        ip_prefix=truncate_ip(ip_address),
        source=source,
    )
    db.session.add(consent)
    db.session.flush()
    audit.record(user, "privacy.consent", user, version=consent.notice_version, source=source)
    return consent


def latest_consent(user: User) -> Consent | None:
    return db.session.scalar(
        select(Consent)
        .where(Consent.user_id == user.id, Consent.source.in_(NOTICE_SOURCES))
        .order_by(Consent.accepted_at.desc(), Consent.id.desc())
    )


def latest_consent_version(user_id: int) -> str | None:
    """One small query: the version of the newest consent, or None when none is recorded."""
    return db.session.scalar(
        select(Consent.notice_version)
        .where(Consent.user_id == user_id, Consent.source.in_(NOTICE_SOURCES))
        .order_by(Consent.accepted_at.desc(), Consent.id.desc())
        .limit(1)
    )


def must_consent_again(user_id: int) -> bool:
    """True when the person agreed to an older version of the notice (and not yet to this one)."""
    latest = latest_consent_version(user_id)
    return latest is not None and latest != current_notice_version()


# --- deletion requests --------------------------------------------------------------------------


def open_request(user: User) -> DeletionRequest | None:
    return db.session.scalar(
        select(DeletionRequest).where(
            DeletionRequest.user_id == user.id, DeletionRequest.state == DeletionState.REQUESTED
        )
    )


def deletion_blockers(user: User, *, to_admin: bool = False) -> list[str]:
    """Why the account cannot be anonymized now, one message per team (empty when it can); worded
    for the person, or with `to_admin` for the administrator."""
    rows = db.session.execute(
        select(TeamMember.role, Team.name, Competition)
        .join(Team, TeamMember.team_id == Team.id)
        .join(Competition, Team.competition_id == Competition.id)
        .where(
            TeamMember.user_id == user.id,
            Team.state != TeamState.WITHDRAWN,
            Competition.state.not_in(FINISHED_STATES),
        )
        .order_by(Team.id)
    ).all()
    messages = []
    for role, team_name, competition in rows:
        values = {"team": team_name, "competition": competition.name}
        if role == "leader" and to_admin:
            message = _l("They lead the team “%(team)s” in %(competition)s, which is not finished yet.", **values)
        elif role == "leader":
            message = _l(
                "You lead the team “%(team)s” in %(competition)s, which is not finished yet: hand the leadership "
                "to another member or withdraw the team first.",
                **values,
            )
        elif to_admin:
            message = _l(
                "They are a member of the team “%(team)s” in %(competition)s, which is not finished yet.", **values
            )
        else:
            message = _l(
                "You are a member of the team “%(team)s” in %(competition)s, which is not finished yet: leave "
                "the team (or ask its leader to remove you) first.",
                **values,
            )
        messages.append(str(message))
    return messages


def request_deletion(user: User, *, password: str, reason: str = "") -> DeletionRequest:
    if not password_matches(user, password or ""):
        raise DomainError(_l("The password is not correct."), field="password")
    if open_request(user) is not None:
        raise DomainError(_l("You have already asked for your account to be deleted; an administrator will answer."))
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(_l("At most %(max)d characters.", max=REASON_MAX_LENGTH), field="reason")
    request = DeletionRequest(user_id=user.id, reason=reason, requested_at=utcnow())
    db.session.add(request)
    db.session.flush()
    audit.record(user, "privacy.deletion_requested", request)
    return request


def cancel_request(request: DeletionRequest, *, actor: User) -> None:
    if request.user_id != actor.id or not request.is_open:
        raise DomainError(_l("This request is no longer open."))
    request.state = DeletionState.CANCELLED.value
    request.decided_at = utcnow()
    request.decided_by_id = actor.id
    audit.record(actor, "privacy.deletion_cancelled", request)


def _check_decidable(request: DeletionRequest, actor: User) -> None:
    if not request.is_open:
        raise DomainError(_l("This request has been answered already."))
    if request.user_id == actor.id:
        raise DomainError(_l("Another administrator must answer your own request."))


def refuse_request(request: DeletionRequest, *, actor: User, note: str, now: datetime) -> None:
    _check_decidable(request, actor)
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("Please give the reason for refusing; the person is told."), field="note")
    if len(note) > REASON_MAX_LENGTH:
        raise DomainError(_l("At most %(max)d characters.", max=REASON_MAX_LENGTH), field="note")
    request.state = DeletionState.REFUSED.value
    request.decision_note = note
    request.decided_at = now
    request.decided_by_id = actor.id
    user = request.user
    queue_mail(
        to=user.email, template="privacy/emails/deletion_refused", locale=user.locale, user=user,
        link="/account/privacy", note=note,
    )  # fmt: skip
    audit.record(actor, "privacy.deletion_refused", request, user_id=user.id)


def carry_out_request(request: DeletionRequest, *, actor: User, now: datetime) -> None:
    """Anonymize the account (see the module's rules); the person is e-mailed first, at the address
    that is about to disappear."""
    _check_decidable(request, actor)
    user = request.user
    blockers = deletion_blockers(user, to_admin=True)
    if blockers:
        raise DomainError(_l("This account cannot be deleted yet. %(why)s", why=" ".join(blockers)))
    farewell = queue_mail(
        to=user.email, template="privacy/emails/deletion_done", locale=user.locale, user=user, notify=False
    )
    anonymize_user(user, actor=actor, keep_message_id=farewell.id)
    request.state = DeletionState.DONE.value
    request.decided_at = now
    request.decided_by_id = actor.id
    audit.record(actor, "privacy.deletion_done", request, user_id=user.id)


def anonymize_user(user: User, *, actor: User, keep_message_id: int | None = None) -> None:
    """Replace everything that identifies `user` and close the account; keep every row that results,
    team sizes and published snapshots depend on."""
    name = anonymous_name(user.id)
    email = anonymous_email(user.id)
    old_email = user.email
    user.real_name = name
    user.email = email
    user.phone = None
    user.password_hash = "!" + secrets.token_hex(16)  # never a valid hash: no password opens it
    user.is_disabled = True
    user.is_admin = False
    user.email_verified_at = None
    user.session_token = new_session_token()  # every session ends at its next request
    for attribute in ("totp_secret", "totp_enabled_at", "totp_last_step", "totp_recovery_hashes"):
        if hasattr(user, attribute):  # two-factor log-in, when installed
            setattr(user, attribute, None)

    db.session.execute(
        update(TeamMember)
        .where(TeamMember.user_id == user.id)
        .values(real_name=name[:50], student_number="", department="", major="", phone=None, national_id=None)
    )
    db.session.execute(update(Advisor).where(Advisor.user_id == user.id).values(name=name[:50], email=None, phone=None))
    db.session.execute(update(TeamInvitation).where(TeamInvitation.email == old_email).values(email=email))
    from competition.certificates.models import Certificate
    from competition.experts.models import Expert

    db.session.execute(update(Expert).where(Expert.user_id == user.id).values(title="", employer="", bio=""))
    db.session.execute(update(Certificate).where(Certificate.recipient_user_id == user.id).values(recipient_email=None))
    messages = update(OutboxMessage).where(
        or_(OutboxMessage.to_user_id == user.id, OutboxMessage.to_address == old_email)
    )
    if keep_message_id is not None:
        messages = messages.where(OutboxMessage.id != keep_message_id)
    removed = str(_l("(removed: the account was deleted)"))
    db.session.execute(
        messages.values(to_address=email, body_text=removed, body_html=removed),
        execution_options={"synchronize_session": False},
    )
    try:
        from competition.notifications.models import Notification
    except ImportError:  # pragma: no cover - notifications not installed
        Notification = None
    if Notification is not None:
        db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.flush()
    audit.record(actor, "privacy.anonymize", user)
