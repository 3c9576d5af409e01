from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


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

_STATES_SQL = ", ".join(f"'{state.value}'" for state in CompetitionState)


class Competition(db.Model):
    __tablename__ = "competitions"
    __table_args__ = (CheckConstraint(f"state IN ({_STATES_SQL})", name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default=CompetitionState.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def name(self) -> str:
        return self.name_en if str(get_locale()) == "en" else self.name_zh

    @property
    def description(self) -> str:
        return self.description_en if str(get_locale()) == "en" else self.description_zh

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[CompetitionState(self.state)])

    @property
    def is_public(self) -> bool:
        return self.state != CompetitionState.DRAFT

    def __repr__(self) -> str:
        return f"<Competition {self.code}>"
