from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class RoundJudge(db.Model):
    """An expert judges this round: for which tracks (all when empty) and with which load bounds
    (the round's when empty)."""

    __tablename__ = "round_judges"
    __table_args__ = (UniqueConstraint("round_id", "user_id", name="uq_round_judges_round_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    track_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    min_load: Mapped[int | None] = mapped_column(Integer)
    max_load: Mapped[int | None] = mapped_column(Integer)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User", foreign_keys=[user_id])

    def covers(self, track_id: int) -> bool:
        return not self.track_ids or track_id in self.track_ids


class ConflictSource(StrEnum):
    SAME_INSTITUTION = "same_institution"  # the judge's institution is a member's or an advisor's
    MENTOR = "mentor"  # the judge mentored the team
    SAME_SIDE = "same_side"  # the competition asks for cross-region review
    SAME_CITY = "same_city"  # the competition excludes judges of the team's city
    DECLARED_BY_JUDGE = "declared_by_judge"
    DECLARED_BY_ORGANIZER = "declared_by_organizer"


CONFLICT_SOURCE_LABELS = {
    ConflictSource.SAME_INSTITUTION: _l("Same institution"),
    ConflictSource.MENTOR: _l("Mentor of the team"),
    ConflictSource.SAME_SIDE: _l("Same side (cross-region review)"),
    ConflictSource.SAME_CITY: _l("Same city"),
    ConflictSource.DECLARED_BY_JUDGE: _l("Declared by the judge"),
    ConflictSource.DECLARED_BY_ORGANIZER: _l("Declared by an organizer"),
}
AUTOMATIC_SOURCES = (
    ConflictSource.SAME_INSTITUTION, ConflictSource.MENTOR, ConflictSource.SAME_SIDE, ConflictSource.SAME_CITY,
)  # fmt: skip
_SOURCES_SQL = ", ".join(f"'{source.value}'" for source in ConflictSource)


class Conflict(db.Model):
    """A judge must not judge a team (回避), and why. A dismissed automatic conflict stays on record."""

    __tablename__ = "conflicts"
    __table_args__ = (
        UniqueConstraint("competition_id", "judge_id", "team_id", "source", name="uq_conflicts_pair_source"),
        CheckConstraint(f"source IN ({_SOURCES_SQL})", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    #: why, in words a person understands (e.g. "张建国 works at 重庆大学, like member 陈思远")
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dismiss_reason: Mapped[str | None] = mapped_column(Text)

    judge = relationship("User", foreign_keys=[judge_id])
    team = relationship("Team")

    @property
    def is_active(self) -> bool:
        return self.dismissed_at is None

    @property
    def source_label(self) -> str:
        return str(CONFLICT_SOURCE_LABELS[ConflictSource(self.source)])

    @property
    def is_automatic(self) -> bool:
        return ConflictSource(self.source) in AUTOMATIC_SOURCES


class Assignment(db.Model):
    """A judge is to read and score one submission of a round."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("submission_id", "judge_id", name="uq_assignments_submission_judge"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: kept by every re-run and repair (the judge has started scoring it)
    protected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    #: an organizer placed the judge despite a conflict: why
    override_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    submission = relationship("Submission")
    judge = relationship("User", foreign_keys=[judge_id])


class RunState(StrEnum):
    PROPOSED = "proposed"
    APPLIED = "applied"
    DISCARDED = "discarded"


class AssignmentRun(db.Model):
    """One computed proposal: its settings, the pairs, its statistics; applied or not."""

    __tablename__ = "assignment_runs"
    __table_args__ = (CheckConstraint("state IN ('proposed', 'applied', 'discarded')", name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: [[submission_id, judge_id], …] of the whole proposal (kept ones included)
    pairs: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    statistics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the round's assignment version the proposal was computed from (applying checks it)
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default=RunState.PROPOSED.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
