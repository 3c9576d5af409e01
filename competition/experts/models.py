from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class ExpertKind(StrEnum):
    ACADEMIC = "academic"
    INVESTOR = "investor"
    ENTREPRENEUR = "entrepreneur"
    OFFICIAL = "official"


EXPERT_KIND_LABELS = {
    ExpertKind.ACADEMIC: _l("Academic"),
    ExpertKind.INVESTOR: _l("Investor"),
    ExpertKind.ENTREPRENEUR: _l("Entrepreneur"),
    ExpertKind.OFFICIAL: _l("Official"),
}
#: the kinds a panel should include at least one of, where possible
INDUSTRY_KINDS = (ExpertKind.INVESTOR, ExpertKind.ENTREPRENEUR)


class Expert(db.Model):
    """A person in the pool: who they are and what they know. The account is `user`."""

    __tablename__ = "experts"
    __table_args__ = (
        CheckConstraint("side IN ('sichuan', 'chongqing')", name="side_known"),
        CheckConstraint("kind IN ('academic', 'investor', 'entrepreneur', 'official')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    employer: Mapped[str] = mapped_column(String(200), default="")
    #: when the employer is a university of the alliance (conflicts of interest are read from it)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    city: Mapped[str] = mapped_column(String(50), default="")
    side: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default=ExpertKind.ACADEMIC.value)
    #: lower-case tags: track codes and industries, e.g. ["idea", "ai", "agriculture"]
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    mentors: Mapped[bool] = mapped_column(Boolean, default=False)
    bio: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")
    institution = relationship("Institution")

    @property
    def kind_label(self) -> str:
        return str(EXPERT_KIND_LABELS[ExpertKind(self.kind)])

    @property
    def is_industry(self) -> bool:
        return ExpertKind(self.kind) in INDUSTRY_KINDS


class MentorshipState(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ENDED = "ended"


class Mentorship(db.Model):
    """A team asked an expert to coach it; an accepted mentorship is a conflict for judging it."""

    __tablename__ = "mentorships"
    __table_args__ = (
        UniqueConstraint("team_id", "expert_id", name="uq_mentorships_team_expert"),
        CheckConstraint("state IN ('requested', 'accepted', 'declined', 'ended')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=MentorshipState.REQUESTED.value)
    message: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    team = relationship("Team")
    expert = relationship("Expert")
