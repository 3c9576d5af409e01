from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.competitions.models import _localized
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db

#: points are whole or halves, at most 999.5
POINTS = Numeric(5, 1)


class Rubric(db.Model):
    """The criteria of a round (or of one track of a round)."""

    __tablename__ = "rubrics"
    __table_args__ = (
        UniqueConstraint("round_id", "track_id", name="uq_rubrics_round_track"),
        CheckConstraint("min_comment_chars >= 0", name="min_comment_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    #: None: every track of the round without a rubric of its own
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    preset_code: Mapped[str | None] = mapped_column(String(64))
    #: the overall comment must have at least this many characters when the judge submits
    min_comment_chars: Mapped[int] = mapped_column(Integer, default=0)
    #: set when the first scorecard is submitted; changing the rubric then needs an organizer's unfreeze
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="rubric", order_by="Criterion.position, Criterion.id", cascade="all, delete-orphan"
    )
    track = relationship("Track")

    @property
    def total(self) -> Decimal:
        return sum((criterion.max_points for criterion in self.criteria), Decimal(0))


class Criterion(db.Model):
    __tablename__ = "criteria"
    __table_args__ = (
        UniqueConstraint("rubric_id", "code", name="uq_criteria_rubric_code"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
        CheckConstraint("step IN (0.5, 1)", name="step_half_or_whole"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    guidance_zh: Mapped[str] = mapped_column(Text, default="")
    guidance_en: Mapped[str] = mapped_column(Text, default="")
    max_points: Mapped[Decimal] = mapped_column(POINTS)
    step: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(1))

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")

    @property
    def name(self) -> str:
        return _localized(self.name_zh, self.name_en)

    @property
    def guidance(self) -> str:
        return _localized(self.guidance_zh, self.guidance_en)


class ScorecardState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


SCORECARD_STATE_LABELS = {ScorecardState.DRAFT: _l("Draft"), ScorecardState.SUBMITTED: _l("Submitted")}


class Scorecard(db.Model):
    """A judge's scores for one assignment (at most one: the database refuses a second)."""

    __tablename__ = "scorecards"
    __table_args__ = (
        UniqueConstraint("assignment_id", name="uq_scorecards_assignment"),
        CheckConstraint("state IN ('draft', 'submitted')", name="state_known"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: kept when the assignment goes (a judge removed after scoring): the scores stay on record
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="SET NULL"))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    state: Mapped[str] = mapped_column(String(16), default=ScorecardState.DRAFT.value)
    overall_comment: Mapped[str] = mapped_column(Text, default="")
    total: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))
    #: increases with every save: a save based on an older version is refused (two tabs)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_request: Mapped[str | None] = mapped_column(Text)

    values: Mapped[list[ScoreValue]] = relationship(
        back_populates="scorecard", order_by="ScoreValue.id", cascade="all, delete-orphan"
    )
    rubric: Mapped[Rubric] = relationship()
    submission = relationship("Submission")
    judge = relationship("User")
    assignment = relationship("Assignment")

    @property
    def is_submitted(self) -> bool:
        return self.state == ScorecardState.SUBMITTED

    @property
    def state_label(self) -> str:
        return str(SCORECARD_STATE_LABELS[ScorecardState(self.state)])

    def value_for(self, criterion: Criterion) -> ScoreValue | None:
        return next((value for value in self.values if value.criterion_id == criterion.id), None)


class ScoreValue(db.Model):
    """One criterion's points; the criterion's maximum is copied here so the database can check it."""

    __tablename__ = "score_values"
    __table_args__ = (
        UniqueConstraint("scorecard_id", "criterion_id", name="uq_score_values_scorecard_criterion"),
        CheckConstraint("points >= 0 AND points <= max_points", name="points_in_range"),
        # CAST works on SQLite (truncates) and PostgreSQL (rounds): either way only x.0 and x.5 pass
        CheckConstraint("points * 2 = CAST(points * 2 AS INTEGER)", name="points_whole_or_half"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"))
    points: Mapped[Decimal] = mapped_column(POINTS)
    max_points: Mapped[Decimal] = mapped_column(POINTS)
    comment: Mapped[str] = mapped_column(Text, default="")

    scorecard: Mapped[Scorecard] = relationship(back_populates="values")
    criterion: Mapped[Criterion] = relationship()


class ScoreHistory(db.Model):
    """Append-only: every change of a scorecard, who and when, old → new (never updated or deleted)."""

    __tablename__ = "score_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    #: {"criterion code": [old, new], "comment:code": [old, new], "overall": [old, new], "state": [...]}
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor = relationship("User")
