"""All scores of a round as .xlsx, for its organizers.

Sheet 1: one row per judge × submission × criterion (every assignment, scored or not, and the
scorecards of judges taken off the round since). Sheet 2: a pivot of the submitted totals, one row
per submission and one column per judge, with the mean and the count. Every text is a string cell,
never a formula (competition.core.spreadsheets); times are Beijing time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.core.spreadsheets import set_cell, workbook_bytes
from competition.core.time import to_local
from competition.extensions import db
from competition.judging.models import Assignment
from competition.rounds.models import Round
from competition.scoring.models import Rubric, Scorecard
from competition.submissions.archive import component
from competition.submissions.models import Submission
from competition.teams.models import Team

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")
_DATE_FORMAT = "yyyy-mm-dd hh:mm"
_POINTS_FORMAT = "0.0"
_MEAN_FORMAT = "0.00"


@dataclass
class _Entry:
    """One judge and one submission: the scorecard when the judge has started it."""

    submission: Submission
    judge: User
    scorecard: Scorecard | None
    rubric: Rubric | None


def _local(value: datetime | None) -> datetime | None:
    """Excel has no time zones: the Beijing wall-clock time, without a zone."""
    return to_local(value).replace(tzinfo=None) if value is not None else None


def _entries(round_: Round) -> list[_Entry]:
    rubrics = {
        rubric.track_id: rubric
        for rubric in db.session.scalars(
            select(Rubric).where(Rubric.round_id == round_.id).options(selectinload(Rubric.criteria))
        )
    }
    by_id = {rubric.id: rubric for rubric in rubrics.values()}
    submission_loads = (selectinload(Submission.team).selectinload(Team.track),)
    scorecards = db.session.scalars(
        select(Scorecard)
        .where(Scorecard.round_id == round_.id)
        .options(
            selectinload(Scorecard.values),
            selectinload(Scorecard.judge),
            selectinload(Scorecard.submission).options(*submission_loads),
        )
    ).all()
    entries = [
        _Entry(card.submission, card.judge, card, by_id.get(card.rubric_id) or card.rubric) for card in scorecards
    ]
    started = {card.assignment_id for card in scorecards if card.assignment_id is not None}
    for assignment in db.session.scalars(
        select(Assignment)
        .where(Assignment.round_id == round_.id)
        .options(selectinload(Assignment.judge), selectinload(Assignment.submission).options(*submission_loads))
    ):
        if assignment.id in started:
            continue
        track_id = assignment.submission.team.track_id
        entries.append(
            _Entry(assignment.submission, assignment.judge, None, rubrics.get(track_id) or rubrics.get(None))
        )
    entries.sort(key=lambda e: (e.submission.team.project_title, e.submission.id, e.judge.real_name, e.judge.id))
    return entries


def _header(sheet, headers: list[tuple[str, int]]) -> None:
    for index, (header, width) in enumerate(headers, start=1):
        cell = set_cell(sheet, 1, index, header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = width


def _state_label(scorecard: Scorecard | None) -> str:
    return scorecard.state_label if scorecard is not None else _("Not started")


def _scores_sheet(sheet, round_: Round, entries: list[_Entry]) -> None:
    _header(
        sheet,
        [
            (_("Round"), 16),
            (_("Track"), 14),
            (_("Team"), 24),
            (_("Project"), 28),
            (_("Judge"), 14),
            (_("Criterion code"), 14),
            (_("Criterion"), 20),
            (_("Points"), 8),
            (_("Maximum"), 9),
            (_("Comment"), 40),
            (_("Scorecard"), 10),
            (_("Submitted at (Beijing time)"), 18),
            (_("Overall comment"), 40),
        ],
    )
    sheet.freeze_panes = "A2"
    row_index = 2
    for entry in entries:
        team, card = entry.submission.team, entry.scorecard
        submitted_at = _local(card.submitted_at) if card is not None and card.is_submitted else None
        for criterion in entry.rubric.criteria if entry.rubric is not None else []:
            value = card.value_for(criterion) if card is not None else None
            values = [
                round_.name,
                team.track.name,
                team.name,
                team.project_title,
                entry.judge.real_name,
                criterion.code,
                criterion.name,
                value.points if value is not None else None,
                criterion.max_points,
                (value.comment or None) if value is not None else None,
                _state_label(card),
                submitted_at,
                (card.overall_comment or None) if card is not None else None,
            ]
            for column_index, item in enumerate(values, start=1):
                cell = set_cell(sheet, row_index, column_index, item)
                if isinstance(item, datetime):
                    cell.number_format = _DATE_FORMAT
                elif isinstance(item, Decimal):
                    cell.number_format = _POINTS_FORMAT
            row_index += 1


def _judge_headers(judges: list[User]) -> list[str]:
    """Judges' names; two judges with the same name are told apart by their e-mail."""
    names = [judge.real_name for judge in judges]
    return [
        f"{name} ({judge.email})" if names.count(name) > 1 else name for name, judge in zip(names, judges, strict=True)
    ]


def _pivot_sheet(sheet, entries: list[_Entry]) -> None:
    judges = sorted({entry.judge.id: entry.judge for entry in entries}.values(), key=lambda j: (j.real_name, j.id))
    column_of = {judge.id: 4 + index for index, judge in enumerate(judges)}
    _header(
        sheet,
        [(_("Team"), 24), (_("Project"), 28), (_("Track"), 14)]
        + [(name, 12) for name in _judge_headers(judges)]
        + [(_("Mean of the submitted totals"), 12), (_("Submitted scorecards"), 12)],
    )
    sheet.freeze_panes = "D2"
    rows: dict[int, list[_Entry]] = {}
    for entry in entries:
        rows.setdefault(entry.submission.id, []).append(entry)
    for row_index, panel in enumerate(rows.values(), start=2):
        team = panel[0].submission.team
        for column_index, item in enumerate((team.name, team.project_title, team.track.name), start=1):
            set_cell(sheet, row_index, column_index, item)
        totals = []
        for entry in panel:
            card = entry.scorecard
            if card is None or not card.is_submitted or card.total is None:
                continue
            totals.append(card.total)
            set_cell(sheet, row_index, column_of[entry.judge.id], card.total).number_format = _POINTS_FORMAT
        mean_column = 4 + len(judges)
        if totals:
            mean = (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01"))
            set_cell(sheet, row_index, mean_column, mean).number_format = _MEAN_FORMAT
        set_cell(sheet, row_index, mean_column + 1, len(totals))


def scores_xlsx(round_: Round) -> bytes:
    entries = _entries(round_)
    workbook = Workbook()
    scores = workbook.active
    scores.title = _("Scores")[:31]
    _scores_sheet(scores, round_, entries)
    _pivot_sheet(workbook.create_sheet(_("Totals")[:31]), entries)
    return workbook_bytes(workbook)


def download_name(round_: Round) -> str:
    return f"{component(round_.competition.code)}-{component(round_.name_zh)}-评分.xlsx"
