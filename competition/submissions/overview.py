"""Reads for the organizers' pages of a round's submissions: where every taking-part team stands.

A team's status is computed in SQL, so counting, filtering and paging need no query per team:

- submitted: handed in (and not reopened);
- extended: not handed in, with an extension still running;
- late: not handed in, the deadline has passed and no extension is running;
- draft: something saved (a file, a link, the abstract or another detail), deadline not passed;
- not started: nothing saved (no submission, or an empty draft), deadline not passed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.orm import selectinload

from competition.competitions.models import Track
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds.models import Round
from competition.rounds.services import participants_query
from competition.submissions.models import Extension, MaterialSlot, Submission, SubmissionFile, SubmissionState
from competition.submissions.services import applicable_deadline
from competition.teams.models import Team


class SubmissionStatus(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LATE = "late"
    EXTENDED = "extended"


STATUS_LABELS = {
    SubmissionStatus.NOT_STARTED: _l("Not started"),
    SubmissionStatus.DRAFT: _l("Draft"),
    SubmissionStatus.SUBMITTED: _l("Submitted"),
    SubmissionStatus.LATE: _l("Late"),
    SubmissionStatus.EXTENDED: _l("Extended"),
}
#: Bootstrap badge classes per status (contrast checked against white and dark text)
STATUS_BADGES = {
    SubmissionStatus.NOT_STARTED: "text-bg-light border",
    SubmissionStatus.DRAFT: "text-bg-secondary",
    SubmissionStatus.SUBMITTED: "text-bg-success",
    SubmissionStatus.LATE: "text-bg-danger",
    SubmissionStatus.EXTENDED: "text-bg-warning",
}


@dataclass
class OverviewFilters:
    status: str | None = None
    track_id: int | None = None
    institution_id: int | None = None


@dataclass
class TeamRow:
    """One taking-part team with where its submission stands."""

    team: Team
    status: SubmissionStatus
    submission_id: int | None
    submitted_at: datetime | None
    files: int
    extended_until: datetime | None
    extension_reason: str | None
    deadline: datetime | None

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def is_submitted(self) -> bool:
        return self.status == SubmissionStatus.SUBMITTED


@dataclass
class StatusCounts:
    """How many teams of one track or institution are in each status."""

    key: object
    counts: dict[SubmissionStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __getitem__(self, status: SubmissionStatus) -> int:
        return self.counts.get(SubmissionStatus(status), 0)


def _current_files_count() -> ColumnElement:
    """How many current files and links a submission holds: every attachment of a multi-file material,
    one per single-document material however many versions it has."""
    key = case((MaterialSlot.max_files == 1, -MaterialSlot.id), else_=SubmissionFile.id)
    return (
        select(func.count(distinct(key)))
        .select_from(SubmissionFile)
        .join(MaterialSlot, MaterialSlot.id == SubmissionFile.slot_id)
        .where(SubmissionFile.submission_id == Submission.id, SubmissionFile.removed_at.is_(None))
        .correlate(Submission)
        .scalar_subquery()
    )


def status_expression(round_: Round, now: datetime, files: ColumnElement) -> ColumnElement:
    deadline = round_.deadline()
    whens = [
        (Submission.state == SubmissionState.SUBMITTED.value, SubmissionStatus.SUBMITTED.value),
        (Extension.until > now, SubmissionStatus.EXTENDED.value),
    ]
    if deadline is not None and now > deadline:
        return case(*whens, else_=SubmissionStatus.LATE.value)
    has_content = or_(
        files > 0,
        Submission.abstract != "",
        Submission.keywords != "",
        Submission.industry != "",
        Submission.stage.is_not(None),
    )
    return case(*whens, (has_content, SubmissionStatus.DRAFT.value), else_=SubmissionStatus.NOT_STARTED.value)


def _base(round_: Round, scope: set[int] | None) -> Select:
    """The round's taking-part teams (within `scope`), each with its submission and extension, if any."""
    statement = participants_query(round_).outerjoin(
        Submission, and_(Submission.team_id == Team.id, Submission.round_id == round_.id)
    )
    statement = statement.outerjoin(Extension, and_(Extension.team_id == Team.id, Extension.round_id == round_.id))
    if scope is not None:
        statement = statement.where(Team.institution_id.in_(scope or {-1}))
    return statement


def team_rows_query(round_: Round, scope: set[int] | None, filters: OverviewFilters, now: datetime) -> Select:
    """Rows of (team, status, submission id, submitted at, files, extended until, reason), ordered by
    institution and team name."""
    files = _current_files_count()
    status = status_expression(round_, now, files)
    statement = (
        _base(round_, scope)
        .join(Institution, Institution.id == Team.institution_id)
        .add_columns(
            status.label("status"),
            Submission.id,
            Submission.submitted_at,
            func.coalesce(files, 0),
            Extension.until,
            Extension.reason,
        )
        .options(selectinload(Team.track), selectinload(Team.institution))
        .order_by(Institution.code, Team.name, Team.id)
    )
    if filters.status:
        statement = statement.where(status == filters.status)
    if filters.track_id:
        statement = statement.where(Team.track_id == filters.track_id)
    if filters.institution_id:
        statement = statement.where(Team.institution_id == filters.institution_id)
    return statement


def to_team_row(round_: Round, row) -> TeamRow:
    team, status, submission_id, submitted_at, files, until, reason = row
    submitted = status == SubmissionStatus.SUBMITTED
    return TeamRow(
        team=team,
        status=SubmissionStatus(status),
        submission_id=submission_id,
        submitted_at=submitted_at if submitted else None,
        files=int(files or 0),
        extended_until=until,
        extension_reason=reason,
        deadline=applicable_deadline(round_.deadline(), until),
    )


class RowPagination(SelectPagination):
    """`db.paginate` for a select of several columns (Flask-SQLAlchemy's keeps only the first)."""

    def _query_items(self) -> list:
        select_ = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        round_ = self._query_args["round_"]
        return [to_team_row(round_, row) for row in self._query_args["session"].execute(select_).all()]


def team_rows_page(
    round_: Round, scope: set[int] | None, filters: OverviewFilters, now: datetime, *, per_page: int
) -> RowPagination:
    return RowPagination(
        select=team_rows_query(round_, scope, filters, now),
        session=db.session(),
        round_=round_,
        per_page=per_page,
        max_per_page=None,
        error_out=False,
    )


def all_team_rows(round_: Round, scope: set[int] | None, now: datetime) -> list[TeamRow]:
    statement = team_rows_query(round_, scope, OverviewFilters(), now)
    return [to_team_row(round_, row) for row in db.session.execute(statement).all()]


@dataclass
class Overview:
    by_track: list[tuple[Track, StatusCounts]]
    by_institution: list[tuple[Institution, StatusCounts]]
    totals: StatusCounts


def overview(round_: Round, scope: set[int] | None, now: datetime) -> Overview:
    """Counts per status, per track and per institution (two queries, whatever the number of teams)."""
    files = _current_files_count()
    rows = (
        _base(round_, scope)
        .with_only_columns(
            Team.track_id,
            Team.institution_id,
            status_expression(round_, now, files).label("status"),
            maintain_column_froms=True,
        )
        .subquery()
    )
    counted = db.session.execute(
        select(rows.c.track_id, rows.c.institution_id, rows.c.status, func.count()).group_by(
            rows.c.track_id, rows.c.institution_id, rows.c.status
        )
    ).all()
    tracks: dict[int, StatusCounts] = defaultdict(lambda: StatusCounts(None))
    institutions: dict[int, StatusCounts] = defaultdict(lambda: StatusCounts(None))
    totals = StatusCounts("all")
    for track_id, institution_id, status, count in counted:
        status = SubmissionStatus(status)
        for counts in (tracks[track_id], institutions[institution_id], totals):
            counts.counts[status] = counts.counts.get(status, 0) + count
    track_rows = (
        db.session.scalars(select(Track).where(Track.id.in_(tracks)).order_by(Track.position, Track.id)).all()
        if tracks
        else []
    )
    institution_rows = (
        db.session.scalars(
            select(Institution).where(Institution.id.in_(institutions)).order_by(Institution.side, Institution.code)
        ).all()
        if institutions
        else []
    )
    return Overview(
        by_track=[(track, tracks[track.id]) for track in track_rows],
        by_institution=[(institution, institutions[institution.id]) for institution in institution_rows],
        totals=totals,
    )


def current_files_by_submission(round_: Round, submission_ids: list[int] | None = None) -> dict:
    """{submission id: {slot id: [current SubmissionFile, …]}} for the round (one query)."""
    statement = (
        select(SubmissionFile)
        .join(Submission, Submission.id == SubmissionFile.submission_id)
        .where(Submission.round_id == round_.id, SubmissionFile.removed_at.is_(None))
        .order_by(SubmissionFile.id)
    )
    if submission_ids is not None:
        statement = statement.where(SubmissionFile.submission_id.in_(submission_ids or [-1]))
    single = {slot.id for slot in round_.material_slots if slot.max_files == 1}
    found: dict[int, dict[int, list[SubmissionFile]]] = defaultdict(lambda: defaultdict(list))
    for item in db.session.scalars(statement):
        found[item.submission_id][item.slot_id].append(item)
    for slots in found.values():
        for slot_id in single & set(slots):
            slots[slot_id] = slots[slot_id][-1:]
    return found
