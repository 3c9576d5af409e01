"""Loading and reading the institution list; admins add and edit institutions."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from competition.accounts.models import User
from competition.core import audit
from competition.core.errors import DomainError
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


# --- administration -----------------------------------------------------------------------------

CODE_PATTERN = re.compile(r"[A-Z0-9-]{2,32}")
NAME_ZH_MAX = 100
NAME_EN_MAX = 200
CITY_ZH_MAX = 50
CITY_EN_MAX = 100
AUDITED_FIELDS = ("code", "name_zh", "name_en", "city_zh", "city_en", "side")


@dataclass
class InstitutionDetails:
    code: str
    name_zh: str
    name_en: str
    city_zh: str
    city_en: str
    side: str


def _clean(details: InstitutionDetails, institution: Institution | None) -> dict[str, str]:
    """The values to store, or DomainError naming the field at fault."""
    code = unicodedata.normalize("NFKC", details.code or "").strip().upper()
    if not CODE_PATTERN.fullmatch(code):
        raise DomainError(_l("The code has 2 to 32 characters: letters A–Z, digits 0–9 and hyphens (-)."), field="code")
    taken = db.session.scalar(
        select(Institution.id).where(
            func.upper(Institution.code) == code,
            Institution.id != (institution.id if institution is not None else -1),
        )
    )
    if taken is not None:
        raise DomainError(_l("Another institution already uses the code %(code)s.", code=code), field="code")
    values = {"code": code}
    for field, maximum, missing in (
        ("name_zh", NAME_ZH_MAX, _l("Please enter the Chinese name.")),
        ("name_en", NAME_EN_MAX, _l("Please enter the English name.")),
        ("city_zh", CITY_ZH_MAX, _l("Please enter the city in Chinese.")),
        ("city_en", CITY_EN_MAX, _l("Please enter the city in English.")),
    ):
        value = " ".join((getattr(details, field) or "").split())
        if not value:
            raise DomainError(missing, field=field)
        if len(value) > maximum:
            raise DomainError(_l("At most %(max)s characters.", max=maximum), field=field)
        values[field] = value
    if details.side not in {side.value for side in Side}:
        # never guessed: 四川外国语大学 is in Chongqing
        raise DomainError(_l("Please choose the side: Sichuan or Chongqing."), field="side")
    values["side"] = details.side
    return values


def _flush_unique() -> None:
    """Flush; a code taken at the same moment by another admin becomes a DomainError."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise DomainError(_l("Another institution already uses this code."), field="code") from error


def create_institution(*, actor: User, details: InstitutionDetails) -> Institution:
    values = _clean(details, None)
    institution = Institution(**values)
    db.session.add(institution)
    _flush_unique()
    audit.record(actor, "institution.create", institution, **values)
    return institution


def update_institution(institution: Institution, *, actor: User, details: InstitutionDetails) -> Institution:
    values = _clean(details, institution)
    changes = {
        field: [getattr(institution, field), value]
        for field, value in values.items()
        if getattr(institution, field) != value
    }
    if not changes:
        return institution
    for field, (_old, new) in changes.items():
        setattr(institution, field, new)
    _flush_unique()
    audit.record(actor, "institution.update", institution, code=institution.code, changes=changes)
    return institution
