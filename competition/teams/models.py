from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.accounts.models import User
from competition.competitions.models import DEGREE_LABELS, Competition, DegreeLevel, Track
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams.national_id import mask_national_id


class TeamState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


TEAM_STATE_LABELS = {
    TeamState.DRAFT: _l("Draft"),
    TeamState.SUBMITTED: _l("Submitted for review"),
    TeamState.APPROVED: _l("Approved"),
    TeamState.RETURNED: _l("Returned for changes"),
    TeamState.WITHDRAWN: _l("Withdrawn"),
}


class MemberRole(StrEnum):
    LEADER = "leader"
    MEMBER = "member"


class InvitationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


def new_invite_code() -> str:
    """192 random bits: unguessable, and short enough to read out."""
    return secrets.token_urlsafe(24)


_TEAM_STATES_SQL = ", ".join(f"'{state.value}'" for state in TeamState)
_DEGREES_SQL = ", ".join(f"'{degree.value}'" for degree in DegreeLevel)


class Team(db.Model):
    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("competition_id", "name", name="uq_teams_competition_name"),
        CheckConstraint(f"state IN ({_TEAM_STATES_SQL})", name="state_known"),
        CheckConstraint("member_count >= 0", name="member_count_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    project_title: Mapped[str] = mapped_column(String(100))
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=TeamState.DRAFT.value, index=True)
    #: members including the leader; changed only by a conditional UPDATE so joins never exceed the limit
    member_count: Mapped[int] = mapped_column(Integer, default=1)
    invite_code: Mapped[str] = mapped_column(String(64), unique=True, default=new_invite_code)
    return_reason: Mapped[str | None] = mapped_column(Text)
    #: set by an organizer: the team may change after approval or after registration closed
    unlocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    competition: Mapped[Competition] = relationship()
    track: Mapped[Track] = relationship()
    institution: Mapped[Institution] = relationship()
    leader: Mapped[User] = relationship(foreign_keys=[leader_id])
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", order_by="TeamMember.id", cascade="all, delete-orphan"
    )
    advisors: Mapped[list[Advisor]] = relationship(
        back_populates="team", order_by="Advisor.id", cascade="all, delete-orphan"
    )
    invitations: Mapped[list[TeamInvitation]] = relationship(
        back_populates="team", order_by="TeamInvitation.id", cascade="all, delete-orphan"
    )

    @property
    def state_label(self) -> str:
        return str(TEAM_STATE_LABELS[TeamState(self.state)])

    def member_for(self, user) -> TeamMember | None:
        return next((member for member in self.members if member.user_id == getattr(user, "id", None)), None)


class TeamMember(db.Model):
    """A student in a team, with the details the national rules ask for (kept per team)."""

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", name="uq_team_members_team_user"),
        CheckConstraint("role IN ('leader', 'member')", name="role_known"),
        CheckConstraint(f"degree_level IN ({_DEGREES_SQL})", name="degree_known"),
        CheckConstraint("graduation_year >= enrollment_year", name="graduation_after_enrollment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=MemberRole.MEMBER.value)
    real_name: Mapped[str] = mapped_column(String(50))
    student_number: Mapped[str] = mapped_column(String(32))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    department: Mapped[str] = mapped_column(String(100))
    major: Mapped[str] = mapped_column(String(100))
    degree_level: Mapped[str] = mapped_column(String(16))
    enrollment_year: Mapped[int] = mapped_column(Integer)
    graduation_year: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(32))
    #: only when the competition requires it (Competition.requires_national_id); shown masked only
    national_id: Mapped[str | None] = mapped_column(String(18))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship()
    institution: Mapped[Institution] = relationship()

    @property
    def is_leader(self) -> bool:
        return self.role == MemberRole.LEADER

    @property
    def degree_label(self) -> str:
        return str(DEGREE_LABELS[DegreeLevel(self.degree_level)])

    @property
    def national_id_masked(self) -> str:
        """The national ID number as every page and export shows it: first 4 and last 4 characters."""
        return mask_national_id(self.national_id)


class Advisor(db.Model):
    """A teacher who advises a team (指导教师); not a member, with or without an account."""

    __tablename__ = "advisors"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(50), default="")
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))

    team: Mapped[Team] = relationship(back_populates="advisors")
    institution: Mapped[Institution | None] = relationship()


class TeamInvitation(db.Model):
    """An invitation sent by e-mail; the invitee accepts or declines."""

    __tablename__ = "team_invitations"
    __table_args__ = (CheckConstraint("state IN ('pending', 'accepted', 'declined', 'revoked')", name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_invite_code)
    state: Mapped[str] = mapped_column(String(16), default=InvitationState.PENDING.value)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    team: Mapped[Team] = relationship(back_populates="invitations")
