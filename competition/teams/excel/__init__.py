"""Teams to and from Excel: the column list, the import template, exports (.xlsx, .csv), the import.

One row per person: the team's leader, its members and its advisors, each row repeating the team's
name (the team's other columns may be left empty after its first row, as merged cells leave them).
Header cells are bilingual and never translated, so a file works whatever language its author uses.

The import reads the whole file, checks every row against the competition's rules and reports every
problem by row and column; it imports nothing unless everything is valid, and then everything in the
caller's one transaction. Exports write every text as text: an XLSX string cell (never a formula),
a CSV cell prefixed with `'` when it starts like a formula.
"""

from competition.teams.excel.apply import apply_import
from competition.teams.excel.columns import (
    COLUMN_BY_KEY,
    COLUMNS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    SHEET_HELP,
    SHEET_INSTITUTIONS,
    SHEET_TEAMS,
    SHEET_TRACKS,
    STATE_COLUMN,
    XLSX_MIMETYPE,
    Problem,
)
from competition.teams.excel.export import build_template, csv_cell, export_csv, export_xlsx
from competition.teams.excel.validate import validate_import

__all__ = [
    "COLUMNS",
    "COLUMN_BY_KEY",
    "MAX_ROWS",
    "MAX_UNPACKED_BYTES",
    "MAX_UPLOAD_BYTES",
    "SHEET_HELP",
    "SHEET_INSTITUTIONS",
    "SHEET_TEAMS",
    "SHEET_TRACKS",
    "STATE_COLUMN",
    "XLSX_MIMETYPE",
    "Problem",
    "apply_import",
    "build_template",
    "csv_cell",
    "export_csv",
    "export_xlsx",
    "validate_import",
]
