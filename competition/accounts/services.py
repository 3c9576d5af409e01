"""Account workflows: registration, verification, log-in, passwords, profile, roles.

Every function takes its actor explicitly, flushes but never commits, and raises `DomainError`
with a message for the user. Nothing here reveals whether an e-mail address has an account.
"""

from __future__ import annotations

import hashlib
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from competition.accounts.models import CompetitionRole, Role, User, new_session_token
from competition.competitions.models import Competition
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.mail import external_url, queue_mail
from competition.core.time import utcnow
from competition.extensions import db
from competition.institutions.models import Institution

EMAIL_MAX_LENGTH = 254
PASSWORD_MIN_LENGTH = 8
#: longer passwords are refused before hashing (argon2 would accept them, slowly)
PASSWORD_MAX_LENGTH = 256

_VERIFY_SALT = "accounts.verify-email"
_RESET_SALT = "accounts.reset-password"


# --- e-mail addresses and passwords -------------------------------------------------------------


def normalize_email(raw: str) -> str:
    """The canonical form of an address: NFKC (full-width ＠ becomes @), trimmed, lower-case.

    Raises DomainError for anything that is not a plausible address.
    """
    candidate = unicodedata.normalize("NFKC", raw or "").strip()
    if not candidate:
        raise DomainError(_l("Please enter your e-mail address."), field="email")
    if len(candidate) > EMAIL_MAX_LENGTH:
        raise DomainError(_l("An e-mail address has at most 254 characters."), field="email")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise DomainError(_l("This is not a valid e-mail address."), field="email") from None
    return result.normalized.lower()


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def check_password_policy(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise DomainError(_l("A password has at least 8 characters."), field="password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise DomainError(_l("A password has at most 256 characters."), field="password")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher().hash(password)


def password_matches(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists, so timing does not reveal accounts."""
    if len(password) > PASSWORD_MAX_LENGTH:
        return False
    hasher = _hasher()
    if user is None:
        # hash once anyway: an unknown address costs as much as a known one
        hasher.hash(password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_other_sessions(user)


def end_other_sessions(user: User) -> None:
    """Invalidate every log-in cookie of this user (the caller logs the current session in again)."""
    user.session_token = new_session_token()


def find_user_by_email(raw: str) -> User | None:
    try:
        email = normalize_email(raw)
    except DomainError:
        return None
    return db.session.scalar(select(User).where(User.email == email))


# --- tokens -------------------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Binding the token to the current hash makes it single-use: any password change voids it.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def make_reset_token(user: User) -> str:
    return _serializer(_RESET_SALT).dumps([user.id, _password_fingerprint(user)])


def user_for_reset_token(token: str) -> User:
    invalid = DomainError(_l("This password reset link is invalid or has expired. Please request a new one."))
    try:
        user_id, fingerprint = _serializer(_RESET_SALT).loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]
        )
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        raise invalid from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.is_disabled or fingerprint != _password_fingerprint(user):
        raise invalid
    return user


def make_verification_token(user: User) -> str:
    return _serializer(_VERIFY_SALT).dumps([user.id, user.email])


# --- registration and verification --------------------------------------------------------------


def register_user(
    *,
    email: str,
    password: str,
    real_name: str,
    institution: Institution,
    phone: str | None,
    locale: str,
) -> User | None:
    """Create an unverified account and mail a verification link.

    For an address that already has an account nothing is created; its owner gets an e-mail
    saying so instead, and the caller shows the same page either way. Returns the new user or None.
    """
    normalized = normalize_email(email)
    check_password_policy(password)
    existing = db.session.scalar(select(User).where(User.email == normalized))
    if existing is not None:
        queue_mail(
            to=existing.email,
            template="accounts/emails/already_registered",
            locale=existing.locale,
            user=existing,
            login_url=external_url("accounts.login"),
            reset_url=external_url("accounts.forgot_password"),
        )
        audit.record(None, "user.register_existing", existing)
        return None
    user = User(
        email=normalized,
        password_hash=hash_password(password),
        real_name=real_name,
        institution=institution,
        phone=phone,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(user, "user.register", user, institution=institution.code)
    send_verification_email(user)
    return user


def send_verification_email(user: User) -> None:
    queue_mail(
        to=user.email,
        template="accounts/emails/verify_email",
        locale=user.locale,
        user=user,
        verify_url=external_url("accounts.verify_email", token=make_verification_token(user)),
        valid_days=current_app.config["EMAIL_VERIFY_MAX_AGE_SECONDS"] // 86400,
    )


def resend_verification(email: str) -> None:
    """Send a new link to an unverified account; silently nothing for anything else."""
    user = find_user_by_email(email)
    if user is not None and not user.is_verified and not user.is_disabled:
        send_verification_email(user)


def verify_email(token: str) -> User:
    invalid = DomainError(_l("This verification link is invalid or has expired. Please request a new one."))
    try:
        user_id, email = _serializer(_VERIFY_SALT).loads(
            token, max_age=current_app.config["EMAIL_VERIFY_MAX_AGE_SECONDS"]
        )
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        raise invalid from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.email != email:
        raise invalid
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        audit.record(user, "user.verify_email", user)
    return user


# --- log-in and passwords -----------------------------------------------------------------------


class LoginRefused(DomainError):
    """Log-in refused; `reason` is `credentials`, `unverified` or `disabled`."""

    def __init__(self, message, reason: str):
        super().__init__(message)
        self.reason = reason


def authenticate(email: str, password: str) -> User:
    """The user for these credentials, or LoginRefused.

    Wrong address and wrong password give the same message; only someone who knows the password
    learns that the account is unverified or disabled.
    """
    user = find_user_by_email(email)
    if not password_matches(user, password):
        if user is not None:
            audit.record(None, "user.login_failed", user)
        raise LoginRefused(_l("The e-mail address or the password is not correct."), "credentials")
    if user.is_disabled:
        raise LoginRefused(_l("This account has been disabled. Please contact the organizers."), "disabled")
    if not user.is_verified:
        raise LoginRefused(
            _l("Please confirm your e-mail address first: open the link we sent you, or ask for a new one below."),
            "unverified",
        )
    if user.has_two_factor:
        # the password was right; the log-in completes once the second step's code is (record_login)
        audit.record(user, "user.login_password", user)
        return user
    record_login(user)
    return user


def record_login(user: User, *, method: str | None = None) -> None:
    user.last_login_at = utcnow()
    if method:
        audit.record(user, "user.login", user, two_factor=method)
    else:
        audit.record(user, "user.login", user)


def _mail_reset_link(user: User) -> None:
    """The reset e-mail, for "forgot password" and for an admin's "send a reset link" alike."""
    queue_mail(
        to=user.email,
        template="accounts/emails/reset_password",
        locale=user.locale,
        user=user,
        reset_url=external_url("accounts.reset_password", token=make_reset_token(user)),
        valid_minutes=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60,
    )


def request_password_reset(email: str) -> None:
    """Mail a reset link when the address has an active account; nothing otherwise (same answer)."""
    user = find_user_by_email(email)
    if user is None or user.is_disabled:
        return
    _mail_reset_link(user)
    audit.record(None, "user.password_reset_requested", user)


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    _set_password(user, new_password)
    if user.email_verified_at is None:
        # The link reached this mailbox, which proves the address as well as a verification link.
        user.email_verified_at = utcnow()
    audit.record(user, "user.password_reset", user)
    return user


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    if not password_matches(user, current_password):
        raise DomainError(_l("The current password is not correct."), field="current_password")
    _set_password(user, new_password)
    audit.record(user, "user.password_change", user)


# --- profile ------------------------------------------------------------------------------------


def update_profile(
    user: User, *, actor: User, real_name: str, institution: Institution, phone: str | None, locale: str
) -> None:
    changes = {}
    for field, value in (("real_name", real_name), ("phone", phone), ("locale", locale)):
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    if user.institution_id != institution.id:
        changes["institution"] = [user.institution.code if user.institution else None, institution.code]
        user.institution = institution
    if changes:
        audit.record(actor, "user.profile_update", user, changes=changes)


def set_locale(user: User, locale: str) -> None:
    if locale != user.locale:
        user.locale = locale


# --- administration -----------------------------------------------------------------------------


def create_admin(*, email: str, password: str, real_name: str) -> User:
    """Create a verified platform admin, or make an existing account one."""
    normalized = normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == normalized))
    if user is None:
        user = User(email=normalized, password_hash=hash_password(password), real_name=real_name, locale="zh_Hans_CN")
        db.session.add(user)
    user.is_admin = True
    user.email_verified_at = user.email_verified_at or utcnow()
    db.session.flush()
    audit.record(None, "user.make_admin", user)
    return user


def set_disabled(user: User, *, actor: User, disabled: bool) -> None:
    if user.id == actor.id and disabled:
        raise DomainError(_l("You cannot disable your own account."))
    if user.is_disabled == disabled:
        return
    user.is_disabled = disabled
    if disabled:
        end_other_sessions(user)
    audit.record(actor, "user.disable" if disabled else "user.enable", user)


def grant_role(
    *, actor: User, user: User, competition: Competition, role: Role, institution: Institution | None = None
) -> CompetitionRole:
    if role == Role.INSTITUTION_ORGANIZER and institution is None:
        raise DomainError(_l("An institution organizer needs an institution."), field="institution")
    if role != Role.INSTITUTION_ORGANIZER:
        institution = None
    existing = db.session.scalar(
        select(CompetitionRole).where(
            CompetitionRole.user_id == user.id,
            CompetitionRole.competition_id == competition.id,
            CompetitionRole.role == role.value,
        )
    )
    if existing is not None:
        raise DomainError(_l("This person already holds this role in this competition."))
    grant = CompetitionRole(
        user=user, competition=competition, role=role.value, institution=institution, granted_by_id=actor.id
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        actor,
        "role.grant",
        competition,
        user_id=user.id,
        role=role.value,
        institution=institution.code if institution else None,
    )
    return grant


def revoke_role(*, actor: User, grant: CompetitionRole) -> None:
    audit.record(
        actor,
        "role.revoke",
        grant.competition,
        user_id=grant.user_id,
        role=grant.role,
        institution=grant.institution.code if grant.institution else None,
    )
    db.session.delete(grant)
    db.session.flush()


def set_admin(user: User, *, actor: User, is_admin: bool) -> None:
    """Grant or revoke the platform admin flag; nobody changes their own."""
    if user.id == actor.id:
        raise DomainError(_l("You cannot change your own admin rights."))
    if is_admin and user.is_disabled:
        raise DomainError(_l("A disabled account cannot become an admin. Enable it first."))
    if user.is_admin == is_admin:
        return
    user.is_admin = is_admin
    audit.record(actor, "user.grant_admin" if is_admin else "user.revoke_admin", user)


def send_reset_link(user: User, *, actor: User) -> None:
    """An admin mails someone a password reset link (the same e-mail as "forgot password")."""
    if user.is_disabled:
        raise DomainError(_l("This account is disabled: enable it before sending a reset link."))
    _mail_reset_link(user)
    audit.record(actor, "user.password_reset_sent", user)


# --- support: viewing the site as someone else ----------------------------------------------------------


def check_impersonation(*, actor: User, target: User) -> None:
    """Raise DomainError unless `actor` (a platform admin) may view the site as `target`."""
    if not actor.is_admin:
        raise DomainError(_l("Only platform admins can view the site as someone else."))
    if target.id == actor.id:
        raise DomainError(_l("You are already yourself."))
    if target.is_admin:
        raise DomainError(_l("You cannot view the site as another admin."))
    if target.is_disabled:
        raise DomainError(_l("You cannot view the site as a disabled account."))


def start_impersonation(*, actor: User, target: User) -> None:
    check_impersonation(actor=actor, target=target)
    audit.record(actor, "user.impersonate_start", target)


def stop_impersonation(*, actor: User, target: User) -> None:
    audit.record(actor, "user.impersonate_stop", target)
