"""Competition set-up: general information, rules, timeline, tracks, logo and the state machine.

Every function takes the acting person, flushes but never commits, audits what it changed, and
raises DomainError with a message for the organizer.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.competitions.models import Competition, CompetitionState, DegreeLevel, Track
from competition.core import audit, storage
from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.extensions import db

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
TRACK_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
LOGO_MIMETYPES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}

#: the organizer actions that move a competition from one state to another
TRANSITIONS: dict[CompetitionState, tuple[CompetitionState, ...]] = {
    CompetitionState.DRAFT: (CompetitionState.REGISTRATION,),
    CompetitionState.REGISTRATION: (CompetitionState.SUBMISSION, CompetitionState.DRAFT),
    CompetitionState.SUBMISSION: (CompetitionState.JUDGING, CompetitionState.REGISTRATION),
    CompetitionState.JUDGING: (CompetitionState.PUBLISHED, CompetitionState.SUBMISSION),
    CompetitionState.PUBLISHED: (CompetitionState.ARCHIVED,),
    CompetitionState.ARCHIVED: (),
}


def _changes(obj, values: dict) -> dict:
    """Apply `values` to `obj`; return {field: [old, new]} for what really changed (JSON-safe)."""
    changed = {}
    for field, value in values.items():
        old = getattr(obj, field)
        if old != value:
            changed[field] = [_jsonable(old), _jsonable(value)]
            setattr(obj, field, value)
    return changed


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


def create_competition(*, actor: User, code: str, year: int, name_zh: str, name_en: str) -> Competition:
    code = code.strip().upper()
    if not CODE_PATTERN.match(code):
        raise DomainError(_l("A short code has 2 to 32 capital letters, digits or hyphens, e.g. CY2026."), field="code")
    if db.session.scalar(select(Competition.id).where(Competition.code == code)) is not None:
        raise DomainError(_l("Another competition already uses this code."), field="code")
    competition = Competition(code=code, year=year, name_zh=name_zh, name_en=name_en)
    db.session.add(competition)
    db.session.flush()
    audit.record(actor, "competition.create", competition, code=code)
    return competition


@dataclass
class GeneralInfo:
    name_zh: str
    name_en: str
    year: int
    description_zh: str
    description_en: str
    host_zh: str
    host_en: str
    co_hosts_zh: str
    co_hosts_en: str


def update_general(competition: Competition, *, actor: User, info: GeneralInfo) -> None:
    changed = _changes(competition, vars(info))
    if changed:
        audit.record(actor, "competition.update_general", competition, fields=sorted(changed))


@dataclass
class Rules:
    min_team_size: int
    max_team_size: int
    max_advisors: int
    allow_cross_institution: bool
    one_team_per_leader: bool
    max_teams_per_student: int
    eligible_degrees: list[str]
    min_graduation_year: int | None
    max_graduation_year: int | None
    #: days after archiving when uploaded files are deleted; None keeps them (competition.privacy)
    uploads_retention_days: int | None = None
    #: members must enter a national ID number (shown masked only; competition.teams.national_id)
    requires_national_id: bool = False


def update_rules(competition: Competition, *, actor: User, rules: Rules) -> None:
    if rules.min_team_size < 1 or rules.max_team_size < rules.min_team_size:
        raise DomainError(
            _l("The largest team size must be at least the smallest, and both at least 1."), field="max_team_size"
        )
    if rules.max_advisors < 0:
        raise DomainError(_l("The number of advisors cannot be negative."), field="max_advisors")
    if rules.max_teams_per_student < 1:
        raise DomainError(_l("A student must be allowed to join at least one team."), field="max_teams_per_student")
    unknown = set(rules.eligible_degrees) - {degree.value for degree in DegreeLevel}
    if unknown:
        raise DomainError(_l("Unknown degree level."), field="eligible_degrees")
    if (
        rules.min_graduation_year is not None
        and rules.max_graduation_year is not None
        and rules.min_graduation_year > rules.max_graduation_year
    ):
        raise DomainError(_l("The graduation window ends before it starts."), field="max_graduation_year")
    if rules.uploads_retention_days is not None and not 0 <= rules.uploads_retention_days <= 36500:
        raise DomainError(_l("Please enter a number of days between 0 and 36500."), field="uploads_retention_days")
    values = vars(rules) | {"eligible_degrees": sorted(rules.eligible_degrees)}
    changed = _changes(competition, values)
    if changed:
        audit.record(actor, "competition.update_rules", competition, changes=changed)


@dataclass
class Timeline:
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    submission_deadline: datetime | None
    publication_at: datetime | None


def update_timeline(competition: Competition, *, actor: User, timeline: Timeline) -> None:
    ordered = [
        ("registration_opens_at", timeline.registration_opens_at),
        ("registration_closes_at", timeline.registration_closes_at),
        ("submission_deadline", timeline.submission_deadline),
        ("publication_at", timeline.publication_at),
    ]
    previous = None
    for field, moment in ordered:
        if moment is None:
            continue
        if previous is not None and moment < previous:
            raise DomainError(
                _l("The dates must follow each other: registration opens, closes, submission deadline, publication."),
                field=field,
            )
        previous = moment
    changed = _changes(competition, vars(timeline))
    if changed:
        audit.record(actor, "competition.update_timeline", competition, changes=changed)


def set_logo(competition: Competition, *, actor: User, stream: BinaryIO) -> None:
    """Store a PNG, JPEG or WebP logo (≤ 2 MB) after checking that the bytes are such an image."""
    from PIL import Image, UnidentifiedImageError

    data = stream.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise DomainError(_l("A logo may be at most 2 MB."), field="logo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        image_format = None
    if image_format not in LOGO_FORMATS:
        raise DomainError(_l("The logo must be a PNG, JPEG or WebP image."), field="logo")
    stored = storage.save(io.BytesIO(data), folder="logos", suffix=LOGO_FORMATS[image_format])
    old_key = competition.logo_key
    competition.logo_key = stored.key
    audit.record(actor, "competition.set_logo", competition, size=stored.size, sha256=stored.sha256)
    db.session.flush()
    storage.delete_after_commit(old_key)


def logo_file(competition: Competition) -> tuple[Path, str] | None:
    """The stored logo's path and image mimetype, or None when there is none (or it went missing)."""
    if not competition.logo_key:
        return None
    mimetype = LOGO_MIMETYPES.get(PurePosixPath(competition.logo_key).suffix)
    try:
        path = storage.path_for(competition.logo_key)
    except ValueError:
        return None
    if mimetype is None or not path.is_file():
        return None
    return path, mimetype


def change_state(competition: Competition, *, actor: User, target: CompetitionState) -> None:
    current = CompetitionState(competition.state)
    if target not in TRANSITIONS[current]:
        raise DomainError(
            _l(
                "A competition cannot go from “%(current)s” to “%(target)s”.",
                current=competition.state_label,
                target=str(_state_label(target)),
            )
        )
    if target == CompetitionState.REGISTRATION and not competition.tracks:
        raise DomainError(_l("Add at least one track before opening registration."))
    competition.state = target.value
    if target == CompetitionState.ARCHIVED:
        competition.archived_at = utcnow()  # the retention period of the uploads counts from here
    audit.record(actor, "competition.change_state", competition, old=current.value, new=target.value)


def _state_label(state: CompetitionState):
    from competition.competitions.models import STATE_LABELS

    return STATE_LABELS[state]


# --- tracks -------------------------------------------------------------------------------------


def save_track(
    competition: Competition, *, actor: User, track: Track | None, code: str, name_zh: str, name_en: str, position: int
) -> Track:
    code = code.strip().lower()
    if not TRACK_CODE_PATTERN.match(code):
        raise DomainError(_l("A track code has 1 to 32 lower-case letters, digits, - or _, e.g. idea."), field="code")
    clash = db.session.scalar(select(Track.id).where(Track.competition_id == competition.id, Track.code == code))
    if clash is not None and (track is None or clash != track.id):
        raise DomainError(_l("Another track of this competition already uses this code."), field="code")
    if track is None:
        track = Track(competition=competition, code=code, name_zh=name_zh, name_en=name_en, position=position)
        db.session.add(track)
        db.session.flush()
        audit.record(actor, "track.create", track, competition=competition.code, code=code)
    else:
        changed = _changes(track, {"code": code, "name_zh": name_zh, "name_en": name_en, "position": position})
        if changed:
            audit.record(actor, "track.update", track, changes=changed)
    return track


def delete_track(track: Track, *, actor: User) -> None:
    from competition.teams.models import Team

    used = db.session.scalar(select(func.count(Team.id)).where(Team.track_id == track.id))
    if used:
        raise DomainError(_l("%(count)s team(s) entered this track; it cannot be deleted.", count=used))
    audit.record(actor, "track.delete", track, code=track.code)
    db.session.delete(track)
    db.session.flush()
