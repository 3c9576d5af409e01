"""Exports of a competition's teams (.xlsx, .csv) and the import template."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competition.competitions.models import Competition, DegreeLevel
from competition.core.spreadsheets import csv_cell
from competition.core.spreadsheets import set_cell as _set
from competition.core.spreadsheets import workbook_bytes as _workbook_bytes
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams.excel.columns import (
    ADVISOR,
    COLUMNS,
    DEGREE_WORDS,
    LEADER,
    MAX_ROWS,
    MEMBER,
    NATIONAL_ID_COLUMN,
    ROLE_WORDS,
    SHEET_HELP,
    SHEET_INSTITUTIONS,
    SHEET_TEAMS,
    SHEET_TRACKS,
    STATE_COLUMN,
    Column,
    phone_for_export,
)
from competition.teams.models import Advisor, Team, TeamMember

# --- exports --------------------------------------------------------------------------------------


def _teams_for_export(competition: Competition, institution_ids: set[int] | None) -> list[Team]:
    statement = (
        select(Team)
        .join(Institution, Institution.id == Team.institution_id)
        .where(Team.competition_id == competition.id)
        .options(
            selectinload(Team.track),
            selectinload(Team.institution),
            selectinload(Team.members).selectinload(TeamMember.user),
            selectinload(Team.members).selectinload(TeamMember.institution),
            selectinload(Team.advisors).selectinload(Advisor.institution),
        )
        .order_by(Institution.code, Team.name, Team.id)
    )
    if institution_ids is not None:
        statement = statement.where(Team.institution_id.in_(institution_ids or {-1}))
    return list(db.session.scalars(statement))


def _has_national_ids(competition: Competition) -> bool:
    return (
        db.session.scalar(
            select(TeamMember.id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.competition_id == competition.id, TeamMember.national_id.is_not(None))
            .limit(1)
        )
        is not None
    )


def _export_columns(competition: Competition) -> tuple[Column, ...]:
    """COLUMNS and the state, then the masked national ID only when some team of the competition has one."""
    extra = (NATIONAL_ID_COLUMN,) if _has_national_ids(competition) else ()
    return (*COLUMNS, STATE_COLUMN, *extra)


def export_rows(
    competition: Competition, institution_ids: set[int] | None, *, national_ids: bool = False
) -> Iterator[list[Any]]:
    """The rows of an export, without the header: the columns of COLUMNS, then the team's state, then
    (with `national_ids`) the members' national ID numbers, masked."""
    for team in _teams_for_export(competition, institution_ids):
        head = [team.name, team.track.code, team.institution.code, team.project_title]
        state = team.state_label
        members = sorted(team.members, key=lambda member: (not member.is_leader, member.id))
        for member in members:
            yield [
                *head,
                ROLE_WORDS[LEADER if member.is_leader else MEMBER],
                member.real_name,
                member.user.email,
                phone_for_export(member.phone),
                member.student_number,
                member.institution.code if member.institution_id != team.institution_id else None,
                member.department,
                member.major,
                DEGREE_WORDS[DegreeLevel(member.degree_level)],
                member.enrollment_year,
                member.graduation_year,
                None,
                None,
                state,
                *([member.national_id_masked or None] if national_ids else []),
            ]
        for advisor in team.advisors:
            yield [
                *head,
                ROLE_WORDS[ADVISOR],
                advisor.name,
                advisor.email,
                phone_for_export(advisor.phone),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                advisor.title or None,
                advisor.institution.code if advisor.institution else None,
                state,
                *([None] if national_ids else []),
            ]


_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")


def _write_header(sheet, columns: Iterable[Column]) -> None:
    for index, column in enumerate(columns, start=1):
        cell = _set(sheet, 1, index, column.header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.key in {"phone", "student_number"}:
            sheet.column_dimensions[letter].number_format = "@"  # keep leading zeros
    sheet.freeze_panes = "A2"


def export_xlsx(competition: Competition, institution_ids: set[int] | None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TEAMS
    columns = _export_columns(competition)
    _write_header(sheet, columns)
    rows = export_rows(competition, institution_ids, national_ids=NATIONAL_ID_COLUMN in columns)
    for row_index, row in enumerate(rows, start=2):
        for column_index, value in enumerate(row, start=1):
            _set(sheet, row_index, column_index, value)
    return _workbook_bytes(workbook)


def export_csv(competition: Competition, institution_ids: set[int] | None) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = _export_columns(competition)
    writer.writerow([column.header for column in columns])
    for row in export_rows(competition, institution_ids, national_ids=NATIONAL_ID_COLUMN in columns):
        writer.writerow([csv_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- the template ---------------------------------------------------------------------------------


def _institutions() -> list[Institution]:
    return list(db.session.scalars(select(Institution).order_by(Institution.side, Institution.code)))


def build_template(competition: Competition) -> bytes:
    """An empty team sheet with the header and drop-down lists, the instructions, the track and
    institution codes."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TEAMS
    _write_header(sheet, COLUMNS)
    letters = {column.key: get_column_letter(index) for index, column in enumerate(COLUMNS, start=1)}
    last = MAX_ROWS + 1

    tracks = workbook.create_sheet(SHEET_TRACKS)
    _write_header(tracks, (Column("code", "代码", "Code", "", 14), Column("name", "名称", "Name", "", 30)))
    for index, track in enumerate(competition.tracks, start=2):
        _set(tracks, index, 1, track.code)
        _set(tracks, index, 2, f"{track.name_zh} {track.name_en}")
    institutions = workbook.create_sheet(SHEET_INSTITUTIONS)
    _write_header(institutions, (Column("code", "代码", "Code", "", 14), Column("name", "名称", "Name", "", 40)))
    institution_rows = _institutions()
    for index, institution in enumerate(institution_rows, start=2):
        _set(institutions, index, 1, institution.code)
        _set(institutions, index, 2, f"{institution.name_zh} {institution.name_en}")

    lists = [
        ("role", '"{}"'.format(",".join(ROLE_WORDS.values()))),
        ("degree_level", '"{}"'.format(",".join(DEGREE_WORDS.values()))),
    ]
    if competition.tracks:
        lists.append(("track", f"'{SHEET_TRACKS}'!$A$2:$A${len(competition.tracks) + 1}"))
    if institution_rows:
        codes = f"'{SHEET_INSTITUTIONS}'!$A$2:$A${len(institution_rows) + 1}"
        lists += [("institution", codes), ("member_institution", codes), ("advisor_institution", codes)]
    for key, formula in lists:
        validation = DataValidation(type="list", formula1=formula, allow_blank=True)
        validation.add(f"{letters[key]}2:{letters[key]}{last}")
        sheet.add_data_validation(validation)

    help_sheet = workbook.create_sheet(SHEET_HELP)
    help_sheet.column_dimensions["A"].width = 34
    help_sheet.column_dimensions["B"].width = 90
    lines = [
        (_("How to fill in this file"), ""),
        ("1", _("One row per person: the team's leader, its members and its advisors.")),
        ("2", _("Every row names its team; the track, institution and project title are needed once per team.")),
        ("3", _("Keep the header row as it is; the sheets of codes list the tracks and institutions.")),
        ("4", _("Nothing is imported unless every row is valid; the upload page lists every problem.")),
        (_("Rules of this competition"), ""),
        (
            _("Team size"),
            _(
                "%(min)s–%(max)s members including the leader",
                min=competition.min_team_size,
                max=competition.max_team_size,
            ),
        ),
        (_("Advisors"), _("at most %(max)s per team", max=competition.max_advisors)),
        (_("Degree levels"), "、".join(DEGREE_WORDS[level] for level in competition.degree_levels)),
        (_("Teams per student"), str(competition.max_teams_per_student)),
        (_("Columns"), ""),
        *((column.header, str(column.help)) for column in COLUMNS),
    ]
    for index, (label, text) in enumerate(lines, start=1):
        _set(help_sheet, index, 1, label).font = _HEADER_FONT if not text else Font()
        _set(help_sheet, index, 2, text).alignment = Alignment(wrap_text=True, vertical="top")
    return _workbook_bytes(workbook)
