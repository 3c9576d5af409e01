"""The submission list of a round as .xlsx: one row per taking-part team, one column per material.

Every text is written as a string cell, never a formula (competition.core.spreadsheets); times are
Beijing time.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from competition.accounts.views import SIDE_LABELS
from competition.core.spreadsheets import set_cell, workbook_bytes
from competition.core.time import to_local
from competition.extensions import db
from competition.rounds.models import Round
from competition.submissions.models import STAGE_LABELS, Submission, VentureStage
from competition.submissions.overview import all_team_rows, current_files_by_submission

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")
_DATE_FORMAT = "yyyy-mm-dd hh:mm"


def _local(value: datetime | None) -> datetime | None:
    """Excel has no time zones: the Beijing wall-clock time, without a zone."""
    return to_local(value).replace(tzinfo=None) if value is not None else None


def _file_cell(items) -> str:
    return "\n".join(item.link_url if item.is_link else item.original_name for item in items)


def submissions_xlsx(round_: Round, scope: set[int] | None, now: datetime) -> bytes:
    rows = all_team_rows(round_, scope, now)
    submission_ids = [row.submission_id for row in rows if row.submission_id is not None]
    submissions = (
        {item.id: item for item in db.session.scalars(select(Submission).where(Submission.id.in_(submission_ids)))}
        if submission_ids
        else {}
    )
    files = current_files_by_submission(round_, submission_ids)
    slots = list(round_.material_slots)
    headers = [
        (_("Team"), 24),
        (_("Project"), 28),
        (_("Institution"), 24),
        (_("Side"), 10),
        (_("Track"), 14),
        (_("Status"), 12),
        (_("Submitted at (Beijing time)"), 18),
        (_("Deadline (Beijing time)"), 18),
        (_("Extended until (Beijing time)"), 18),
        (_("Reason for the extension"), 30),
        (_("Abstract"), 60),
        (_("Keywords"), 24),
        (_("Industry"), 18),
        (_("Stage of the venture"), 18),
        *((slot.label, 30) for slot in slots),
    ]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Submissions")[:31]
    for index, (header, width) in enumerate(headers, start=1):
        cell = set_cell(sheet, 1, index, header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "B2"
    for row_index, row in enumerate(rows, start=2):
        team = row.team
        submission = submissions.get(row.submission_id)
        stage = submission.stage if submission is not None else None
        values = [
            team.name,
            team.project_title,
            team.institution.name,
            str(SIDE_LABELS.get(team.institution.side, team.institution.side)),
            team.track.name,
            row.status_label,
            _local(row.submitted_at),
            _local(row.deadline),
            _local(row.extended_until),
            row.extension_reason,
            submission.abstract if submission is not None else None,
            submission.keywords if submission is not None else None,
            submission.industry if submission is not None else None,
            str(STAGE_LABELS[VentureStage(stage)]) if stage else None,
            *(_file_cell(files.get(row.submission_id, {}).get(slot.id, [])) or None for slot in slots),
        ]
        for column_index, value in enumerate(values, start=1):
            cell = set_cell(sheet, row_index, column_index, value)
            if isinstance(value, datetime):
                cell.number_format = _DATE_FORMAT
    return workbook_bytes(workbook)
