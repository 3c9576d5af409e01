"""Loading and reading the institution list."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from competition.extensions import db
from competition.institutions.models import Institution, Side

ALLIANCE_INSTITUTIONS_CSV = Path(__file__).resolve().parent.parent / "data" / "institutions.csv"


def load_institutions(path: Path = ALLIANCE_INSTITUTIONS_CSV) -> int:
    """Insert or update every institution of the CSV by code; returns how many rows changed."""
    existing = {inst.code: inst for inst in db.session.scalars(select(Institution))}
    changed = 0
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            side = Side(row["side"].strip())
            values = {
                "name_zh": row["name_zh"].strip(),
                "name_en": row["name_en"].strip(),
                "city_zh": row["city_zh"].strip(),
                "city_en": row["city_en"].strip(),
                "side": side.value,
            }
            institution = existing.get(row["code"].strip())
            if institution is None:
                db.session.add(Institution(code=row["code"].strip(), **values))
                changed += 1
            elif any(getattr(institution, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(institution, key, value)
                changed += 1
    db.session.flush()
    return changed


def institutions_by_side() -> dict[str, list[Institution]]:
    """All institutions grouped by side, each group ordered by code (for select boxes)."""
    grouped: dict[str, list[Institution]] = {side.value: [] for side in Side}
    for institution in db.session.scalars(select(Institution).order_by(Institution.code)):
        grouped[institution.side].append(institution)
    return grouped
