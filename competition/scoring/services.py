"""Rubrics and scorecards.

Values are checked three times: by the browser (min/max/step), here (every rule, with the allowed
range in the message) and by the database (CHECK constraints). Every save of a scorecard locks its
assignment first, compares the version the judge's page was loaded with, writes the values and an
append-only history row in the same transaction, and marks the assignment protected (a re-run of
the assignment keeps it). Twenty submits of the same scorecard at once give one row; a stale tab is
told its scorecard changed elsewhere and keeps its input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, joinedload

from competition.accounts.models import User
from competition.competitions.models import Track
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.locks import lock_row
from competition.core.mail import external_url, internal_path, queue_mail
from competition.extensions import db
from competition.judging.models import Assignment
from competition.rounds.models import Round
from competition.scoring.models import Criterion, Rubric, Scorecard, ScorecardState, ScoreHistory, ScoreValue
from competition.submissions.models import Submission
from competition.submissions.services import count_characters
from competition.teams.models import Team

PRESETS_FILE = Path(__file__).resolve().parent.parent / "data" / "rubric_presets.json"
COMMENT_MAX = 2000
OVERALL_MAX = 5000
#: whole numbers or one decimal: no sign, no exponent, no comma, no hexadecimal; ASCII digits only
#: (full-width ones become ASCII by NFKC first; other scripts' digits are refused)
POINTS_PATTERN = re.compile(r"^\d{1,3}(\.\d)?$", re.ASCII)
#: the automatic reminder goes at most this many hours (30 days) before judging closes
REMINDER_HOURS_MAX = 720
#: the lengths of the criterion columns (the database refuses longer text on PostgreSQL)
CODE_MAX, NAME_ZH_MAX, NAME_EN_MAX, GUIDANCE_MAX = 32, 100, 200, 2000


# --- rubrics -----------------------------------------------------------------------------------


def presets() -> list[dict]:
    return json.loads(PRESETS_FILE.read_text(encoding="utf-8"))["presets"]


def rubric_for(round_: Round, track_id: int | None) -> Rubric | None:
    """The rubric of a track, or the round's own when the track has none (with its criteria: one query)."""
    query = select(Rubric).where(Rubric.round_id == round_.id).options(joinedload(Rubric.criteria))
    rubrics = {rubric.track_id: rubric for rubric in db.session.scalars(query).unique()}
    return rubrics.get(track_id) or rubrics.get(None)


def create_rubric(round_: Round, *, actor: User, track: Track | None = None, preset_code: str | None = None) -> Rubric:
    if track is not None and track.competition_id != round_.competition_id:
        raise DomainError(_l("Please choose one of this competition's tracks."), field="track")
    if track is not None and not round_.covers(track.id):
        raise DomainError(_l("This round does not include that track."), field="track")
    clash = db.session.scalar(
        select(Rubric.id).where(Rubric.round_id == round_.id, Rubric.track_id == (track.id if track else None))
    )
    if clash is not None:
        raise DomainError(_l("This round already has a rubric for that track."), field="track")
    if track is not None and _track_has_scorecards(round_, track):
        # their scorecards belong to the round's rubric: a new one would mix two sets of criteria
        raise DomainError(
            _l("Judges have already scored this track with the round's rubric; a rubric of its own is no longer possible."),
            field="track",
        )  # fmt: skip
    rubric = Rubric(round_id=round_.id, track_id=track.id if track else None, preset_code=preset_code)
    db.session.add(rubric)
    if preset_code:
        preset = next((item for item in presets() if item["code"] == preset_code), None)
        if preset is None:
            raise DomainError(_l("Unknown preset."), field="preset")
        for position, item in enumerate(preset["criteria"]):
            rubric.criteria.append(
                Criterion(
                    code=item["code"],
                    name_zh=item["name_zh"],
                    name_en=item["name_en"],
                    position=position,
                    max_points=Decimal(str(item["max_points"])),
                    step=Decimal(1),
                )  # fmt: skip
            )
    db.session.flush()
    audit.record(actor, "rubric.create", rubric, round_id=round_.id, track_id=rubric.track_id, preset=preset_code)
    return rubric


def _track_has_scorecards(round_: Round, track: Track) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists()
                .where(Scorecard.round_id == round_.id, Scorecard.submission_id == Submission.id)
                .where(Submission.team_id == Team.id, Team.track_id == track.id)
            )
        )
    )


def delete_rubric(rubric: Rubric, *, actor: User) -> None:
    """Remove a rubric no scorecard uses yet (e.g. a track's rubric created by mistake)."""
    used = db.session.scalar(select(Scorecard.id).where(Scorecard.rubric_id == rubric.id).limit(1))
    if used is not None:
        raise DomainError(_l("Judges have scored with this rubric; it cannot be deleted."))
    audit.record(actor, "rubric.delete", rubric, round_id=rubric.round_id, track_id=rubric.track_id,
                 criteria=[criterion.code for criterion in rubric.criteria])  # fmt: skip
    db.session.delete(rubric)
    db.session.flush()


def _check_editable(rubric: Rubric) -> None:
    if rubric.frozen_at is not None:
        raise DomainError(
            _l(
                "Judges have submitted scores with this rubric, so it is frozen. Unfreeze it first (the change is recorded)."
            )
        )


@dataclass
class CriterionSettings:
    code: str
    name_zh: str
    name_en: str
    guidance_zh: str
    guidance_en: str
    max_points: Decimal
    step: Decimal
    #: 0: a new criterion goes last, an edited one keeps its place
    position: int = 0


def save_criterion(
    rubric: Rubric, *, actor: User, criterion: Criterion | None, settings: CriterionSettings
) -> Criterion:
    _check_editable(rubric)
    if criterion is not None and criterion.rubric_id != rubric.id:
        raise DomainError(_l("This criterion belongs to another rubric."))
    code = settings.code.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", code):
        raise DomainError(_l("A code has 1 to 32 lower-case letters, digits, - or _, e.g. innovation."), field="code")
    if any(item.code == code and item is not criterion for item in rubric.criteria):
        raise DomainError(_l("Another criterion of this rubric already uses this code."), field="code")
    if not settings.name_zh.strip():
        raise DomainError(_l("Please enter the Chinese name."), field="name_zh")
    for field, limit in (("name_zh", NAME_ZH_MAX), ("name_en", NAME_EN_MAX), ("guidance_zh", GUIDANCE_MAX),
                         ("guidance_en", GUIDANCE_MAX)):  # fmt: skip
        if len(getattr(settings, field).strip()) > limit:
            raise DomainError(_l("At most %(max)d characters.", max=limit), field=field)
    # a NaN or an infinity cannot even be compared: refused before any comparison
    if not settings.step.is_finite() or settings.step not in (Decimal("0.5"), Decimal(1)):
        raise DomainError(_l("Points go in steps of 1 or 0.5."), field="step")
    if (
        not settings.max_points.is_finite()
        or not Decimal("0.5") <= settings.max_points <= Decimal(999)
        or settings.max_points % settings.step
    ):
        raise DomainError(_l("The maximum is between 0.5 and 999 and a multiple of the step."), field="max_points")
    created = criterion is None
    if settings.position:
        position = settings.position
    elif created:  # 0: a new criterion goes last
        position = max((item.position for item in rubric.criteria), default=-1) + 1
    else:  # 0: an edited one keeps its place
        position = criterion.position
    criterion = criterion or Criterion(rubric=rubric)
    for field, value in vars(settings).items():
        setattr(criterion, field, value.strip() if isinstance(value, str) else value)
    criterion.code, criterion.position = code, position
    db.session.add(criterion)
    db.session.flush()
    audit.record(actor, "rubric.criterion_create" if created else "rubric.criterion_update", rubric,
                 code=code, max_points=str(settings.max_points), step=str(settings.step))  # fmt: skip
    return criterion


def delete_criterion(criterion: Criterion, *, actor: User) -> None:
    rubric = criterion.rubric
    _check_editable(rubric)
    used = db.session.scalar(select(ScoreValue.id).where(ScoreValue.criterion_id == criterion.id).limit(1))
    if used is not None:
        raise DomainError(_l("Judges have scored this criterion; it cannot be deleted."))
    audit.record(actor, "rubric.criterion_delete", rubric, code=criterion.code)
    db.session.delete(criterion)
    db.session.flush()


def set_min_comment(rubric: Rubric, *, actor: User, characters: int) -> None:
    _check_editable(rubric)  # part of the rubric: judges who submitted met the old minimum
    if not 0 <= characters <= 1000:
        raise DomainError(_l("Between 0 and 1000 characters."), field="min_comment_chars")
    if rubric.min_comment_chars != characters:
        audit.record(actor, "rubric.min_comment", rubric, old=rubric.min_comment_chars, new=characters)
        rubric.min_comment_chars = characters


def unfreeze(rubric: Rubric, *, actor: User, reason: str) -> None:
    """The explicit organizer action that allows changing a rubric judges have already used."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Please give a reason."), field="reason")
    if rubric.frozen_at is None:
        raise DomainError(_l("This rubric is not frozen."))
    rubric.frozen_at = None
    audit.record(actor, "rubric.unfreeze", rubric, reason=reason[:1000])


# --- scorecards ---------------------------------------------------------------------------------


def parse_points(raw: str | None, criterion: Criterion) -> Decimal:
    """Points as typed; anything but 0…max in the criterion's steps is refused with the range."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    allowed = _l(
        "%(criterion)s takes %(low)s to %(high)s points in steps of %(step)s.",
        criterion=criterion.name, low=0, high=_plain(criterion.max_points), step=_plain(criterion.step),
    )  # fmt: skip
    if not POINTS_PATTERN.fullmatch(text):
        raise DomainError(allowed, field=f"points-{criterion.id}")
    try:
        points = Decimal(text)
    except InvalidOperation:
        raise DomainError(allowed, field=f"points-{criterion.id}") from None
    if points > criterion.max_points or points % criterion.step:
        raise DomainError(allowed, field=f"points-{criterion.id}")
    return points


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


@dataclass
class ScoreInput:
    """What the judge's form posted: raw point strings and comments per criterion id."""

    points: dict[int, str]
    comments: dict[int, str]
    overall_comment: str
    expected_version: int


def scorecard_for(assignment: Assignment) -> Scorecard | None:
    """The assignment's scorecard with its values (one query)."""
    query = select(Scorecard).where(Scorecard.assignment_id == assignment.id).options(joinedload(Scorecard.values))
    return db.session.scalars(query).unique().first()


def _record_refusal(actor: User, action: str, obj, **details) -> None:
    """Audit a refused attempt in a transaction of its own: the view rolls the refused request back."""
    entry = audit.record(actor, action, obj, **details)
    bind = db.session.get_bind()
    if bind.dialect.name == "sqlite" and db.session.connection().connection.dbapi_connection.in_transaction:
        return  # a second writer would wait for this one's lock: the entry stays with the caller's transaction
    db.session.expunge(entry)
    with Session(bind=bind) as separate, separate.begin():
        separate.add(entry)


def record_refused_attempt(person: User, assignment: Assignment, now: datetime) -> None:
    """Audit a score posted by someone who may not post it (not their assignment, judging closed,
    no longer a judge): the page answers 404, the attempt stays on record."""
    round_ = db.session.get(Round, assignment.round_id)
    if assignment.judge_id != person.id:
        action = "scoring.refused_not_assigned"
    elif not round_.judging_is_open(now):
        action = "scoring.refused_closed"
    else:
        action = "scoring.refused_not_judge"
    _record_refusal(person, action, assignment.submission, assignment_id=assignment.id, round_id=round_.id)


def _check_can_score(assignment: Assignment, judge: User, now: datetime) -> Round:
    round_ = db.session.get(Round, assignment.round_id)
    if assignment.judge_id != judge.id:
        _record_refusal(judge, "scoring.refused_not_assigned", assignment.submission, assignment_id=assignment.id)
        raise DomainError(_l("This submission is not assigned to you."))
    if not round_.judging_is_open(now):
        _record_refusal(judge, "scoring.refused_closed", assignment.submission, round_id=round_.id)
        raise DomainError(_l("Judging of %(round)s is not open; scores cannot be saved now.", round=round_.name))
    return round_


def save(assignment: Assignment, *, judge: User, data: ScoreInput, submit: bool, now: datetime) -> Scorecard:
    """Save a draft (incomplete is fine) or submit (complete, comment long enough). Idempotent: the
    same submit twice gives the same scorecard; a save from an older page is refused."""
    round_ = _check_can_score(assignment, judge, now)
    if not lock_row(Assignment, assignment.id):  # saves of one scorecard take turns
        raise DomainError(_l("This submission is not assigned to you."))  # removed in the meantime
    # Many judges save at once (a shared lock), but never while the round's results are being
    # published (which takes it exclusively and closes judging): a score is in the published
    # snapshot or refused, never committed behind it.
    lock_row(Round, round_.id, shared=True)
    db.session.refresh(round_, ["judging_opens_at", "judging_closes_at"])
    if not round_.judging_is_open(now):
        raise DomainError(_l("Judging of %(round)s is not open; scores cannot be saved now.", round=round_.name))
    rubric = rubric_for(round_, assignment.submission.team.track_id)
    if rubric is None or not rubric.criteria:
        raise DomainError(_l("This round has no rubric yet; the organizers have been told."))
    criteria = {criterion.id: criterion for criterion in rubric.criteria}
    unknown = (set(data.points) | set(data.comments)) - set(criteria)
    if unknown:
        raise DomainError(_l("The form names a criterion that is not in this rubric; reload the page."))
    points = {cid: parse_points(raw, criteria[cid]) for cid, raw in data.points.items() if (raw or "").strip()}
    comments = {cid: clean_text(text) for cid, text in data.comments.items()}
    for cid, text in comments.items():
        if count_characters(text) > COMMENT_MAX:
            raise DomainError(_l("A comment has at most %(max)s characters.", max=COMMENT_MAX), field=f"comment-{cid}")
        if text and cid not in points:
            # a comment is stored with its criterion's points: without them it would be lost
            raise DomainError(
                _l("Please give %(criterion)s its points first: its comment is kept together with them.",
                   criterion=criteria[cid].name),
                field=f"comment-{cid}",
            )  # fmt: skip
    overall = clean_text(data.overall_comment)
    if count_characters(overall) > OVERALL_MAX:
        raise DomainError(
            _l("The overall comment has at most %(max)s characters.", max=OVERALL_MAX), field="overall_comment"
        )

    # as stored now, under the lock (populate_existing: not what this session loaded before it)
    scorecard = db.session.scalars(
        select(Scorecard).where(Scorecard.assignment_id == assignment.id).options(joinedload(Scorecard.values))
        .execution_options(populate_existing=True)
    ).unique().first()  # fmt: skip
    if scorecard is not None and scorecard.is_submitted:
        if submit and _same(scorecard, points, comments, overall):
            return scorecard  # a double submit: nothing more to do
        raise DomainError(_l("You have submitted this scorecard; ask the organizers to reopen it to change it."))
    current_version = scorecard.version if scorecard is not None else 0
    if data.expected_version != current_version:
        raise DomainError(
            _l("This scorecard was changed elsewhere (another tab or device) after you opened it. Reload it; your input is shown below so you can copy it."),
            field="version",
        )  # fmt: skip
    if submit:
        missing = [criterion.name for cid, criterion in criteria.items() if cid not in points]
        if missing:
            raise DomainError(
                _l("Please score every criterion before submitting: %(missing)s.", missing="、".join(missing))
            )
        if _visible_characters(overall) < rubric.min_comment_chars:
            raise DomainError(
                _l("The overall comment needs at least %(min)s characters (it has %(count)s).",
                   min=rubric.min_comment_chars, count=_visible_characters(overall)),
                field="overall_comment",
            )  # fmt: skip
    if scorecard is None:
        # state and comment set now: the history compares them before the INSERT applies the defaults
        scorecard = Scorecard(assignment_id=assignment.id, round_id=round_.id, submission_id=assignment.submission_id,
                              judge_id=judge.id, rubric_id=rubric.id, version=0, state=ScorecardState.DRAFT.value,
                              overall_comment="")  # fmt: skip
        db.session.add(scorecard)
    changes = _apply(scorecard, criteria, points, comments, overall)
    if submit:
        changes["state"] = [scorecard.state, ScorecardState.SUBMITTED.value]
        scorecard.state = ScorecardState.SUBMITTED.value
        scorecard.submitted_at = now
        if rubric.frozen_at is None:
            rubric.frozen_at = now
    scorecard.version += 1
    scorecard.updated_at = now
    scorecard.total = sum((value.points for value in scorecard.values), Decimal(0)) if scorecard.values else None
    assignment.protected = True
    db.session.flush()
    db.session.add(ScoreHistory(scorecard_id=scorecard.id, actor_id=judge.id, action="submit" if submit else "save",
                                version=scorecard.version, changes=changes))  # fmt: skip
    if submit:
        audit.record(judge, "scoring.submit", scorecard, assignment_id=assignment.id, total=_plain(scorecard.total))
    return scorecard


def clean_text(value: str | None) -> str:
    """A comment as stored: line breaks as LF (browsers send CR LF), NFC, no surrounding spaces or
    invisible characters (a comment of zero-width spaces only is empty)."""
    text = unicodedata.normalize("NFC", (value or "").replace("\r\n", "\n"))
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def _invisible(character: str) -> bool:
    """White space, or a format or control character (zero-width space, BOM, direction marks…)."""
    return character.isspace() or unicodedata.category(character) in ("Cf", "Cc")


def _visible_characters(text: str) -> int:
    """What the comment minimum counts: characters as a person counts them, invisible ones left out."""
    return count_characters("".join(character for character in text if unicodedata.category(character) != "Cf"))


def _same(scorecard: Scorecard, points: dict, comments: dict, overall: str) -> bool:
    stored = {value.criterion_id: (value.points, value.comment) for value in scorecard.values}
    # a comment not sent keeps the stored one (as _apply does)
    posted = {cid: (points[cid], comments.get(cid, stored.get(cid, (None, ""))[1])) for cid in points}
    return stored == posted and scorecard.overall_comment == overall


def _apply(scorecard: Scorecard, criteria: dict, points: dict, comments: dict, overall: str) -> dict:
    changes: dict = {}
    existing = {value.criterion_id: value for value in scorecard.values}
    for cid, criterion in criteria.items():
        value = existing.get(cid)
        new_points = points.get(cid)
        new_comment = comments.get(cid, value.comment if value else "")
        if new_points is None:
            if value is not None:  # cleared in a draft
                changes[criterion.code] = [_plain(value.points), None]
                scorecard.values.remove(value)
            continue
        if value is None:
            scorecard.values.append(ScoreValue(criterion_id=cid, points=new_points, max_points=criterion.max_points,
                                               comment=new_comment))  # fmt: skip
            changes[criterion.code] = [None, _plain(new_points)]
            if new_comment:
                changes[f"comment:{criterion.code}"] = ["", new_comment]
            continue
        if value.points != new_points:
            changes[criterion.code] = [_plain(value.points), _plain(new_points)]
            value.points = new_points
        # the copy the database checks against follows the criterion (its maximum may have changed
        # while the rubric was unfrozen); a stale copy would refuse a valid score with an IntegrityError
        value.max_points = criterion.max_points
        if value.comment != new_comment:
            changes[f"comment:{criterion.code}"] = [value.comment, new_comment]
            value.comment = new_comment
    if scorecard.overall_comment != overall:
        changes["overall"] = [scorecard.overall_comment or "", overall]
        scorecard.overall_comment = overall
    return changes


def request_reopen(scorecard: Scorecard, *, judge: User, reason: str, now: datetime) -> None:
    reason = (reason or "").strip()
    if scorecard.judge_id != judge.id:
        raise DomainError(_l("This submission is not assigned to you."))
    if not scorecard.is_submitted:
        raise DomainError(_l("This scorecard is still a draft; you can change it yourself."))
    if not reason:
        raise DomainError(_l("Please give a reason."), field="reason")
    scorecard.reopen_requested_at, scorecard.reopen_request = now, reason[:1000]
    audit.record(judge, "scoring.reopen_requested", scorecard, reason=reason[:1000])


def reopen(scorecard: Scorecard, *, actor: User, reason: str, now: datetime) -> None:
    """An organizer gives a submitted scorecard back to its judge (recorded in its history)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Please give a reason."), field="reason")
    if scorecard.assignment_id is not None:
        lock_row(Assignment, scorecard.assignment_id)  # the judge's saves and this take turns
    db.session.refresh(scorecard)
    if not scorecard.is_submitted:
        raise DomainError(_l("This scorecard has not been submitted."))
    scorecard.state = ScorecardState.DRAFT.value
    scorecard.version += 1
    scorecard.updated_at = now
    scorecard.reopen_requested_at = scorecard.reopen_request = None
    db.session.add(ScoreHistory(scorecard_id=scorecard.id, actor_id=actor.id, action="reopen", version=scorecard.version,
                                changes={"state": ["submitted", "draft"], "reason": reason[:1000]}))  # fmt: skip
    audit.record(actor, "scoring.reopen", scorecard, reason=reason[:1000])


# --- rounds: closing and reminders ---------------------------------------------------------------


def close_judging(round_: Round, *, actor: User, now: datetime) -> None:
    """End the round's judging now: later scores are refused."""
    if round_.judging_closes_at is not None and round_.judging_closes_at <= now:
        raise DomainError(_l("Judging of this round is already closed."))
    old = round_.judging_closes_at
    round_.judging_closes_at = now
    if round_.judging_opens_at is None or round_.judging_opens_at > now:
        round_.judging_opens_at = now
    audit.record(actor, "scoring.close", round_, old=old.isoformat() if old else None, new=now.isoformat())


def pending_work(round_: Round) -> dict[int, int]:
    """judge id → how many of their assignments are not submitted yet."""
    rows = db.session.execute(
        select(Assignment.judge_id, Scorecard.state)
        .outerjoin(Scorecard, Scorecard.assignment_id == Assignment.id)
        .where(Assignment.round_id == round_.id)
    ).all()
    pending: dict[int, int] = {}
    for judge_id, state in rows:
        if state != ScorecardState.SUBMITTED:
            pending[judge_id] = pending.get(judge_id, 0) + 1
    return pending


def set_reminder_hours(round_: Round, *, actor: User, hours: int | None) -> None:
    """How many hours before judging closes the automatic reminder goes (None: never)."""
    if hours is not None and not 1 <= hours <= REMINDER_HOURS_MAX:
        raise DomainError(
            _l("Between %(min)s and %(max)s hours, or empty for no automatic reminder.", min=1, max=REMINDER_HOURS_MAX),
            field="hours",
        )  # fmt: skip
    if round_.reminder_hours_before_close != hours:
        audit.record(actor, "scoring.reminder_setting", round_, old=round_.reminder_hours_before_close, new=hours)
        round_.reminder_hours_before_close = hours


def send_reminders(round_: Round, *, actor: User | None, now: datetime) -> int:
    """E-mail every judge with pending work in the round; returns how many were reminded.

    Refused once judging has closed (nobody can score then); disabled accounts get no e-mail."""
    if round_.judging_closes_at is not None and round_.judging_closes_at <= now:
        raise DomainError(_l("Judging of this round is closed; judges cannot score any more."))
    pending = pending_work(round_)
    judges = list(db.session.scalars(select(User).where(User.id.in_(list(pending)), User.is_disabled.is_(False))))
    for judge in judges:
        english = judge.locale == "en"
        queue_mail(
            to=judge.email,
            template="scoring/emails/reminder",
            locale=judge.locale,
            user=judge,
            link=internal_path("judging.home"),
            count=pending[judge.id],
            round_name=(round_.name_en if english else None) or round_.name_zh,
            closes_at=round_.judging_closes_at,
            assignments_url=external_url("judging.home"),
        )
    audit.record(actor, "scoring.remind", round_, judges=len(judges), automatic=actor is None)
    return len(judges)


def send_due_reminders(now: datetime) -> list[int]:
    """The automatic reminder: rounds whose judging closes within their reminder window and whose
    judges were not reminded yet. Run by `flask --app wsgi jobs tick` (cron, every few minutes)."""
    due = []
    candidates = db.session.scalars(
        select(Round).where(
            Round.reminder_hours_before_close.is_not(None),
            Round.reminder_sent_at.is_(None),
            Round.judging_opens_at <= now,  # not before judges can score
            Round.judging_closes_at > now,
        )
    ).all()
    for round_ in candidates:
        if round_.judging_closes_at - timedelta(hours=round_.reminder_hours_before_close) > now:
            continue
        # claimed with one conditional UPDATE: two ticks at once (an overlapping cron) send it once
        claimed = db.session.execute(
            update(Round)
            .where(Round.id == round_.id, Round.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        round_.reminder_sent_at = now
        send_reminders(round_, actor=None, now=now)
        due.append(round_.id)
    return due
