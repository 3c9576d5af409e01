from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.competitions.models import Competition
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db
from competition.institutions.models import Institution


class Role(StrEnum):
    ORGANIZER = "organizer"
    INSTITUTION_ORGANIZER = "institution_organizer"
    JUDGE = "judge"
    STUDENT = "student"


ROLE_LABELS = {
    Role.ORGANIZER: _l("Organizer"),
    Role.INSTITUTION_ORGANIZER: _l("Institution organizer"),
    Role.JUDGE: _l("Judge"),
    Role.STUDENT: _l("Student"),
}

_ROLES_SQL = ", ".join(f"'{role.value}'" for role in Role)


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("locale IN ('zh_Hans_CN', 'en')", name="locale_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: normalized (see accounts.services.normalize_email); unique across the platform
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    real_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    locale: Mapped[str] = mapped_column(String(16), default="zh_Hans_CN")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: part of the log-in cookie; replacing it ends every other session of this user
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: two-factor log-in (TOTP, RFC 6238): the base32 secret, stored as is (no encryption library is
    #: installed; the database must be protected like the password hashes); see accounts.two_factor
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the last 30-second time step a code was accepted for: a code is never accepted twice
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: SHA-256 hashes of the unused one-time recovery codes
    totp_recovery_hashes: Mapped[list[str] | None] = mapped_column(JSON)

    institution: Mapped[Institution | None] = relationship()
    roles: Mapped[list[CompetitionRole]] = relationship(
        back_populates="user", foreign_keys="CompetitionRole.user_id", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    def roles_in(self, competition: Competition) -> set[Role]:
        return {Role(grant.role) for grant in self.roles if grant.competition_id == competition.id}

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class CompetitionRole(db.Model):
    """One role one person holds in one competition; institution organizers name their institution."""

    __tablename__ = "competition_roles"
    __table_args__ = (
        UniqueConstraint("user_id", "competition_id", "role", name="uq_competition_roles_user_competition_role"),
        CheckConstraint(f"role IN ({_ROLES_SQL})", name="role_known"),
        CheckConstraint(
            "(role = 'institution_organizer') = (institution_id IS NOT NULL)",
            name="institution_iff_institution_organizer",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])
    competition: Mapped[Competition] = relationship()
    institution: Mapped[Institution | None] = relationship()

    @property
    def role_label(self) -> str:
        return str(ROLE_LABELS[Role(self.role)])
