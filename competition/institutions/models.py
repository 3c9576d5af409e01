from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import get_locale
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class Side(StrEnum):
    SICHUAN = "sichuan"
    CHONGQING = "chongqing"


class Institution(db.Model):
    __tablename__ = "institutions"
    __table_args__ = (CheckConstraint("side IN ('sichuan', 'chongqing')", name="side_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    city_zh: Mapped[str] = mapped_column(String(50))
    city_en: Mapped[str] = mapped_column(String(100))
    side: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def name(self) -> str:
        """The name in the current language."""
        return self.name_en if str(get_locale()) == "en" else self.name_zh

    @property
    def city(self) -> str:
        return self.city_en if str(get_locale()) == "en" else self.city_zh

    def __repr__(self) -> str:
        return f"<Institution {self.code}>"
