from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


def _localized(zh: str | None, en: str | None) -> str:
    """The English text in English when there is one, otherwise the Chinese."""
    if str(get_locale()) == "en" and en:
        return en
    return zh or en or ""


class CompetitionState(StrEnum):
    DRAFT = "draft"
    REGISTRATION = "registration"
    SUBMISSION = "submission"
    JUDGING = "judging"
    PUBLISHED = "published"
    ARCHIVED = "archived"


STATE_LABELS = {
    CompetitionState.DRAFT: _l("Draft"),
    CompetitionState.REGISTRATION: _l("Registration open"),
    CompetitionState.SUBMISSION: _l("Submission"),
    CompetitionState.JUDGING: _l("Judging"),
    CompetitionState.PUBLISHED: _l("Results published"),
    CompetitionState.ARCHIVED: _l("Archived"),
}


class DegreeLevel(StrEnum):
    JUNIOR_COLLEGE = "junior_college"  # 专科
    BACHELOR = "bachelor"  # 本科
    MASTER = "master"  # 硕士
    DOCTORATE = "doctorate"  # 博士


DEGREE_LABELS = {
    DegreeLevel.JUNIOR_COLLEGE: _l("Junior college (专科)"),
    DegreeLevel.BACHELOR: _l("Bachelor (本科)"),
    DegreeLevel.MASTER: _l("Master (硕士)"),
    DegreeLevel.DOCTORATE: _l("Doctorate (博士)"),
}

_STATES_SQL = ", ".join(f"'{state.value}'" for state in CompetitionState)


class Competition(db.Model):
    __tablename__ = "competitions"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATES_SQL})", name="state_known"),
        CheckConstraint("min_team_size >= 1 AND max_team_size >= min_team_size", name="team_size_range"),
        CheckConstraint("max_advisors >= 0", name="advisors_non_negative"),
        CheckConstraint("max_teams_per_student >= 1", name="teams_per_student_positive"),
        CheckConstraint("uploads_retention_days >= 0", name="retention_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    #: Markdown; rendered and sanitized for display (competition.core.markdown)
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    host_zh: Mapped[str] = mapped_column(String(500), default="")
    host_en: Mapped[str] = mapped_column(String(500), default="")
    #: one organization per line
    co_hosts_zh: Mapped[str] = mapped_column(Text, default="")
    co_hosts_en: Mapped[str] = mapped_column(Text, default="")
    #: stored file key under instance/uploads (competition.core.storage), or None
    logo_key: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default=CompetitionState.DRAFT.value)

    # rules
    min_team_size: Mapped[int] = mapped_column(Integer, default=3)
    max_team_size: Mapped[int] = mapped_column(Integer, default=15)
    max_advisors: Mapped[int] = mapped_column(Integer, default=3)
    allow_cross_institution: Mapped[bool] = mapped_column(Boolean, default=False)
    one_team_per_leader: Mapped[bool] = mapped_column(Boolean, default=True)
    max_teams_per_student: Mapped[int] = mapped_column(Integer, default=1)
    #: DegreeLevel values; every level when empty
    eligible_degrees: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_graduation_year: Mapped[int | None] = mapped_column(Integer)
    max_graduation_year: Mapped[int | None] = mapped_column(Integer)
    #: conflict-of-interest rules beyond institution and mentoring (回避): cross-region review
    conflict_same_side: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    conflict_same_city: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    # timeline (UTC; entered and shown in Asia/Shanghai)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publication_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when the competition was archived (the retention period of its uploads counts from here)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: days after archiving when the teams' uploaded files are deleted (competition.privacy.retention);
    #: None keeps them for good
    uploads_retention_days: Mapped[int | None] = mapped_column(Integer)
    #: members enter a national ID number (only when the competition's rules truly require it, e.g.
    #: insurance for an on-site final); it is shown and exported masked only (competition.teams.national_id)
    requires_national_id: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tracks: Mapped[list[Track]] = relationship(
        back_populates="competition", order_by="Track.position, Track.id", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return _localized(self.name_zh, self.name_en)

    @property
    def description(self) -> str:
        return _localized(self.description_zh, self.description_en)

    @property
    def host(self) -> str:
        return _localized(self.host_zh, self.host_en)

    @property
    def co_hosts(self) -> list[str]:
        text = _localized(self.co_hosts_zh, self.co_hosts_en)
        return [line.strip() for line in text.splitlines() if line.strip()]

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[CompetitionState(self.state)])

    @property
    def is_public(self) -> bool:
        return self.state != CompetitionState.DRAFT

    @property
    def degree_levels(self) -> list[DegreeLevel]:
        return [DegreeLevel(value) for value in self.eligible_degrees] or list(DegreeLevel)

    def registration_is_open(self, now: datetime) -> bool:
        """Registration state, and inside the registration window where one is set."""
        if self.state != CompetitionState.REGISTRATION:
            return False
        if self.registration_opens_at and now < self.registration_opens_at:
            return False
        return not (self.registration_closes_at and now >= self.registration_closes_at)

    def __repr__(self) -> str:
        return f"<Competition {self.code}>"


class Track(db.Model):
    """A category teams enter (赛道/组别), e.g. 创意组."""

    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("competition_id", "code", name="uq_tracks_competition_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    competition: Mapped[Competition] = relationship(back_populates="tracks")

    @property
    def name(self) -> str:
        return _localized(self.name_zh, self.name_en)
