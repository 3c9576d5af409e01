"""Certificates: one row per certificate, its template per competition and kind, and the counter its
serial numbers come from.

A certificate row is made (with its serial and verification code) before anything is rendered, so
a rerun after a crash renders only what is missing and never allocates a second serial for the same
recipient. `recipient_key` names the recipient's place — round, kind, team, person — and
`is_current` is true for every certificate but a superseded one: the database refuses a second
current certificate for the same place, whatever two runs do at once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class CertificateKind(StrEnum):
    AWARD = "award"  # 获奖证书: one per awarded team and one per member
    ADVISOR = "advisor"  # 优秀指导教师
    PARTICIPATION = "participation"  # 参赛证明
    JUDGE = "judge"  # 评审专家感谢状


class RecipientType(StrEnum):
    TEAM = "team"
    MEMBER = "member"
    ADVISOR = "advisor"
    JUDGE = "judge"


class CertificateState(StrEnum):
    PENDING = "pending"  # the row, serial and code exist; no PDF yet
    ISSUED = "issued"
    FAILED = "failed"  # not rendered (e.g. a character no font covers); retried by the next run
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  # replaced by a reissued certificate (superseded_by)


class FailureReason(StrEnum):
    UNCOVERED = "uncovered_characters"
    TEMPLATE = "template"


KIND_LABELS = {
    CertificateKind.AWARD: _l("Award certificate"),
    CertificateKind.ADVISOR: _l("Outstanding advisor certificate"),
    CertificateKind.PARTICIPATION: _l("Certificate of participation"),
    CertificateKind.JUDGE: _l("Certificate of appreciation for judges"),
}
STATE_LABELS = {
    CertificateState.PENDING: _l("Waiting to be generated"),
    CertificateState.ISSUED: _l("Valid"),
    CertificateState.FAILED: _l("Could not be generated"),
    CertificateState.REVOKED: _l("Revoked"),
    CertificateState.SUPERSEDED: _l("Superseded"),
}

_KINDS_SQL = ", ".join(f"'{kind.value}'" for kind in CertificateKind)
_TYPES_SQL = ", ".join(f"'{kind.value}'" for kind in RecipientType)
_STATES_SQL = ", ".join(f"'{state.value}'" for state in CertificateState)


class CertificateTemplate(db.Model):
    """An organizer's template for one kind of certificate of one competition (HTML with Jinja
    placeholders, and CSS). Without one the rendering module's default is used."""

    __tablename__ = "certificate_templates"
    __table_args__ = (
        UniqueConstraint("competition_id", "kind", name="uq_certificate_templates_competition_kind"),
        CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    html: Mapped[str] = mapped_column(Text)
    css: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CertificateCounter(db.Model):
    """The last sequence number handed out per competition: numbers are never reused, not even
    those of revoked or superseded certificates."""

    __tablename__ = "certificate_counters"

    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("competition_id", "sequence", name="uq_certificates_competition_sequence"),
        # NULL (superseded) never collides: one current certificate per recipient's place
        UniqueConstraint("competition_id", "recipient_key", "is_current", name="uq_certificates_current_recipient"),
        CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind_known"),
        CheckConstraint(f"recipient_type IN ({_TYPES_SQL})", name="recipient_type_known"),
        CheckConstraint(f"state IN ({_STATES_SQL})", name="state_known"),
        CheckConstraint(
            "(state = 'superseded' AND is_current IS NULL) OR (state <> 'superseded' AND is_current IS NOT NULL)",
            name="current_unless_superseded",
        ),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    #: the certificates stay when a round, team or person is deleted: they were issued
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    recipient_type: Mapped[str] = mapped_column(String(16))
    #: the recipient's place, e.g. "r3/award/t12/m45" (see competition.certificates.issuing)
    recipient_key: Mapped[str] = mapped_column(String(120))
    #: True, or NULL once superseded
    is_current: Mapped[bool | None] = mapped_column(Boolean, default=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    recipient_name: Mapped[str] = mapped_column(String(100))
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id", ondelete="SET NULL"))
    #: an award code (competition.results.services.AWARD_CODES) or None
    award: Mapped[str | None] = mapped_column(String(32))
    #: as in the published results when the certificate was made
    track_zh: Mapped[str] = mapped_column(String(100), default="")
    track_en: Mapped[str] = mapped_column(String(200), default="")
    institution_zh: Mapped[str] = mapped_column(String(200), default="")
    institution_en: Mapped[str] = mapped_column(String(300), default="")
    sequence: Mapped[int] = mapped_column(Integer)
    #: <competition code>-<year>-<6-digit sequence>
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    #: unguessable, URL-safe: the QR code's /verify/<code>
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=CertificateState.PENDING.value, index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    #: the uncovered characters, or the template's problem
    failure_detail: Mapped[str | None] = mapped_column(Text)
    #: the plain strings the template receives
    values: Mapped[dict[str, Any]] = mapped_column("template_values", JSON, default=dict)
    file_key: Mapped[str | None] = mapped_column(String(100))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"))

    competition = relationship("Competition")
    round = relationship("Round")
    team = relationship("Team")
    recipient_user = relationship("User", foreign_keys=[recipient_user_id])
    superseded_by: Mapped[Certificate | None] = relationship(
        foreign_keys=[superseded_by_id], remote_side=[id], post_update=True
    )
    replaces: Mapped[Certificate | None] = relationship(foreign_keys=[replaces_id], remote_side=[id])

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[CertificateKind(self.kind)])

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[CertificateState(self.state)])

    @property
    def is_issued(self) -> bool:
        return self.state == CertificateState.ISSUED

    @property
    def uncovered_characters(self) -> list[str]:
        if self.failure_reason != FailureReason.UNCOVERED:
            return []
        return list(self.failure_detail or "")

    def __repr__(self) -> str:
        return f"<Certificate {self.serial} {self.state}>"
