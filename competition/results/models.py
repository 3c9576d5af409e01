from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class SnapshotKind(StrEnum):
    NOTICE = "notice"  # 公示: the provisional list shown publicly while appeals are possible
    PUBLISHED = "published"  # the final results


AWARD_LABELS = {
    "gold": _l("Gold award"),
    "silver": _l("Silver award"),
    "bronze": _l("Bronze award"),
    "honourable": _l("Honourable mention"),
}


class ResultSnapshot(db.Model):
    """A frozen copy of a round's results: what the public pages show. Later score changes do not
    alter it; only a new, audited publication replaces it (the old one is kept, superseded)."""

    __tablename__ = "result_snapshots"
    __table_args__ = (CheckConstraint("kind IN ('notice', 'published')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: the snapshot in force for its kind; older ones are kept with superseded_at set
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: one dict per ranked submission (see competition.results.services.snapshot_rows)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: per submission: criterion aggregates and anonymized comments, shown to its team only
    feedback: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    statistics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    round = relationship("Round")


class AwardOverride(db.Model):
    """An organizer's decision on one submission's award, against the rule, with a reason."""

    __tablename__ = "award_overrides"
    __table_args__ = (UniqueConstraint("round_id", "submission_id", name="uq_award_overrides_round_submission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    #: an award code, or "" for no award
    award: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppealState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Appeal(db.Model):
    """A team questions the provisional results during the public-notice period."""

    __tablename__ = "appeals"
    __table_args__ = (CheckConstraint("state IN ('open', 'answered')", name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("result_snapshots.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    attachment_key: Mapped[str | None] = mapped_column(String(100))
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=AppealState.OPEN.value)
    answer: Mapped[str | None] = mapped_column(Text)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    team = relationship("Team")
