"""Records kept under China's Personal Information Protection Law (PIPL): each consent to the privacy
notice (which version, when, from which network) and each request to delete an account."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class Consent(db.Model):
    """One "I have read and agree to the privacy notice" — never changed or deleted (a legal record,
    kept even when the account is anonymized)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    notice_version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the network the agreement came from, truncated (IPv4 /24, IPv6 /48): enough to show it came
    #: from a campus network, not enough to identify a device
    ip_prefix: Mapped[str | None] = mapped_column(String(64))
    #: where it was given: "registration" or "prompt" (a new version, or an account made by others)
    source: Mapped[str] = mapped_column(String(16), default="registration")

    user = relationship("User")


class DeletionState(StrEnum):
    REQUESTED = "requested"
    DONE = "done"
    REFUSED = "refused"
    CANCELLED = "cancelled"


DELETION_STATE_LABELS = {
    DeletionState.REQUESTED: _l("Requested"),
    DeletionState.DONE: _l("Carried out"),
    DeletionState.REFUSED: _l("Refused"),
    DeletionState.CANCELLED: _l("Cancelled"),
}

#: the longest reason a person or an administrator may give
REASON_MAX_LENGTH = 2000

_STATES_SQL = ", ".join(f"'{state.value}'" for state in DeletionState)


class DeletionRequest(db.Model):
    """A person asks for their account to be deleted; an administrator carries it out (the account is
    anonymized) or refuses it with a reason."""

    __tablename__ = "deletion_requests"
    __table_args__ = (CheckConstraint(f"state IN ({_STATES_SQL})", name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=DeletionState.REQUESTED.value, index=True)
    #: what the person wrote (optional)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: the administrator's reason for a refusal
    decision_note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user = relationship("User", foreign_keys=[user_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def state_label(self) -> str:
        return str(DELETION_STATE_LABELS[DeletionState(self.state)])

    @property
    def is_open(self) -> bool:
        return self.state == DeletionState.REQUESTED
