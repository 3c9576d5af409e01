from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.competitions.models import Competition, Track, _localized
from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class RoundLevel(StrEnum):
    INSTITUTION = "institution"
    ALLIANCE = "alliance"


class RoundEntryRule(StrEnum):
    ALL_APPROVED = "all_approved"
    ADVANCED = "advanced"


class QuotaKind(StrEnum):
    COUNT = "count"
    PERCENT = "percent"


class EntrySource(StrEnum):
    RECOMMENDED = "recommended"  # by an institution organizer, within the quota
    ADVANCED = "advanced"  # by the results of the previous round
    REPECHAGE = "repechage"  # 复活赛: added by an organizer with a reason


LEVEL_LABELS = {
    RoundLevel.INSTITUTION: _l("Institution level (school round)"),
    RoundLevel.ALLIANCE: _l("Alliance level"),
}
ENTRY_LABELS = {
    RoundEntryRule.ALL_APPROVED: _l("All approved teams"),
    RoundEntryRule.ADVANCED: _l("Teams recommended or advanced from the previous round"),
}

round_tracks = Table(
    "round_tracks",
    db.metadata,
    Column("round_id", ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
    Column("track_id", ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True),
)


class Round(db.Model):
    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint("level IN ('institution', 'alliance')", name="level_known"),
        CheckConstraint("entry_rule IN ('all_approved', 'advanced')", name="entry_rule_known"),
        CheckConstraint(
            "(quota_kind IS NULL AND quota_value IS NULL) OR "
            "(quota_kind = 'count' AND quota_value >= 0) OR "
            "(quota_kind = 'percent' AND quota_value BETWEEN 0 AND 100)",
            name="quota_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    entry_rule: Mapped[str] = mapped_column(String(16))
    #: where this round's teams are recommended to (institution-level rounds)
    next_round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    quota_kind: Mapped[str | None] = mapped_column(String(16))
    quota_value: Mapped[int | None] = mapped_column(Integer)
    judging_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    judging_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: submissions: when teams may hand in, and until when (None: the competition's deadline)
    submission_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: judges of a blind round never see who the team is, and get files without metadata
    blind: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    abstract_max_chars: Mapped[int] = mapped_column(Integer, default=800, server_default="800")
    #: judges per submission (k) and the settings of the last assignment run (weights, loads, seed)
    judges_per_submission: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    assignment_settings: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    #: increases with every change of the round's assignments: two organizers editing at once
    #: cannot overwrite each other unseen
    assignment_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: judges with pending work are reminded this many hours before judging closes (None: never)
    reminder_hours_before_close: Mapped[int | None] = mapped_column(Integer, default=24, server_default="24")
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: how results are computed and shown (competition.results.services.ResultSettings)
    result_settings: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")

    competition: Mapped[Competition] = relationship()
    material_slots = relationship(
        "MaterialSlot",
        back_populates="round",
        order_by="MaterialSlot.position, MaterialSlot.id",
        cascade="all, delete-orphan",
    )
    tracks: Mapped[list[Track]] = relationship(secondary=round_tracks, order_by="Track.position, Track.id")
    next_round: Mapped[Round | None] = relationship(remote_side=[id])

    @property
    def name(self) -> str:
        return _localized(self.name_zh, self.name_en)

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS[RoundLevel(self.level)])

    @property
    def entry_label(self) -> str:
        return str(ENTRY_LABELS[RoundEntryRule(self.entry_rule)])

    def covers(self, track_id: int) -> bool:
        return not self.tracks or any(track.id == track_id for track in self.tracks)

    def deadline(self) -> datetime | None:
        """The round's submission deadline, or the competition's when the round sets none."""
        return self.submission_deadline or self.competition.submission_deadline

    def judging_is_open(self, now: datetime) -> bool:
        """Judges read and score only inside the round's judging window (both ends required)."""
        return bool(
            self.judging_opens_at and self.judging_closes_at and self.judging_opens_at <= now < self.judging_closes_at
        )

    def quota_for(self, entries: int) -> int | None:
        """How many teams an institution with `entries` teams in this round may recommend (None: no limit)."""
        if self.quota_kind == QuotaKind.COUNT:
            return self.quota_value
        if self.quota_kind == QuotaKind.PERCENT:
            return math.ceil(entries * self.quota_value / 100)
        return None


class RoundEntry(db.Model):
    """A team admitted to a round that teams enter by recommendation or advancement."""

    __tablename__ = "round_entries"
    __table_args__ = (
        UniqueConstraint("round_id", "team_id", name="uq_round_entries_round_team"),
        CheckConstraint("source IN ('recommended', 'advanced', 'repechage')", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    #: the institution whose quota this entry uses (recommendations)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    from_round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    round: Mapped[Round] = relationship(foreign_keys=[round_id])
    team = relationship("Team")
