"""Two-factor log-in: time-based one-time codes (TOTP, RFC 6238) from an authenticator app.

A person turns it on by scanning a secret generated here and typing one valid code; they then get
ten one-time recovery codes, shown once and stored only as SHA-256 hashes (each has 50 random bits,
so a fast hash is enough). A code is accepted for the current 30-second step or one step either
side (clock drift), and never twice: the last accepted step is stored. Platform admins and
organizers must use it when `TWO_FACTOR_REQUIRED_FOR_STAFF` is on (production).

The secret is stored as is: no encryption library is installed, so the database (and its
backups) must be protected as carefully as the password hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from competition.accounts.models import CompetitionRole, Role, User
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.time import utcnow

ISSUER = "CY Alliance Competitions"
INTERVAL = 30
#: steps either side of now that are still accepted (a phone's clock a little off)
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
#: the alphabet of recovery codes: no 0/O, 1/I/L to misread
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10  # 31**10 ≈ 2**50

STAFF_ROLES = (Role.ORGANIZER.value, Role.INSTITUTION_ORGANIZER.value)


# --- secrets, QR codes ------------------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=INTERVAL).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code of `uri` as an SVG data: URI for an <img> (the strict CSP allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- codes -------------------------------------------------------------------------------------------


def _clean_code(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step (within the window) whose code is `code`, or None."""
    code = _clean_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=INTERVAL)
    current = int((time.time() if now is None else now) // INTERVAL)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_clean_code(code).encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_codes_left(user: User) -> int:
    return len(user.totp_recovery_hashes or [])


def _use_recovery_code(user: User, code: str) -> bool:
    cleaned = _clean_code(code)
    if len(cleaned) != _RECOVERY_LENGTH:
        return False
    wanted = _hash_recovery(cleaned)
    hashes = list(user.totp_recovery_hashes or [])
    for stored in hashes:
        if hmac.compare_digest(stored, wanted):
            hashes.remove(stored)
            user.totp_recovery_hashes = hashes  # a new list, so the JSON column is saved
            return True
    return False


def check_code(user: User, code: str, *, allow_recovery: bool = True) -> str | None:
    """Accept a current TOTP code (once) or an unused recovery code; returns "totp", "recovery" or None.

    An accepted TOTP code moves `totp_last_step` on, so the same code (or an older one) is refused
    afterwards; a recovery code is used up.
    """
    if not user.has_two_factor:
        return None
    step = matching_step(user.totp_secret, code)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return None
        user.totp_last_step = step
        return "totp"
    if allow_recovery and _use_recovery_code(user, code):
        return "recovery"
    return None


# --- turning it on and off ---------------------------------------------------------------------------


def enable(user: User, *, secret: str, code: str) -> list[str]:
    """Turn two-factor log-in on with `secret` once `code` proves the app has it; returns the
    recovery codes (plain, to show once)."""
    if user.has_two_factor:
        raise DomainError(_l("Two-factor log-in is already on."))
    step = matching_step(secret, code)
    if step is None:
        raise DomainError(
            _l("This code is not correct. Check that your phone's clock is right and type the newest code."),
            field="code",
        )
    codes = new_recovery_codes()
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    user.totp_recovery_hashes = [_hash_recovery(c) for c in codes]
    audit.record(user, "user.two_factor_enable", user)
    return codes


def regenerate_recovery_codes(user: User, *, code: str) -> list[str]:
    if check_code(user, code, allow_recovery=False) is None:
        raise DomainError(_l("This code is not correct."), field="code")
    codes = new_recovery_codes()
    user.totp_recovery_hashes = [_hash_recovery(c) for c in codes]
    audit.record(user, "user.two_factor_recovery_codes", user)
    return codes


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.totp_recovery_hashes = None


def disable(user: User, *, password: str, code: str) -> None:
    """The owner turns it off: their password and a current code (or a recovery code)."""
    from competition.accounts.services import password_matches

    if not user.has_two_factor:
        raise DomainError(_l("Two-factor log-in is not on."))
    if required_for(user):
        raise DomainError(_l("Admins and organizers must keep two-factor log-in on."))
    if not password_matches(user, password):
        raise DomainError(_l("The password is not correct."), field="password")
    if check_code(user, code) is None:
        raise DomainError(_l("This code is not correct."), field="code")
    _clear(user)
    audit.record(user, "user.two_factor_disable", user)


def reset_by_admin(user: User, *, actor: User) -> None:
    """A platform admin removes someone's two-factor log-in (a lost phone); they enrol again."""
    if not user.has_two_factor and not user.totp_secret:
        raise DomainError(_l("This person has not turned two-factor log-in on."))
    _clear(user)
    audit.record(actor, "user.two_factor_reset", user)


# --- who must use it ---------------------------------------------------------------------------------


def is_staff(user: User) -> bool:
    """Platform admins and the organizers (alliance or institution) of any competition."""
    from competition.extensions import db

    if user.is_admin:
        return True
    return bool(
        db.session.scalar(
            select(exists().where(CompetitionRole.user_id == user.id, CompetitionRole.role.in_(STAFF_ROLES)))
        )
    )


def required_for(user: User) -> bool:
    return bool(current_app.config.get("TWO_FACTOR_REQUIRED_FOR_STAFF")) and is_staff(user)
