"""Writing spreadsheets people open in Excel or WPS: text stays text, never a formula.

openpyxl turns a string starting with "=" into a formula and "#N/A" into an error value; a CSV
cell starting with "=", "+", "-" or "@" is run as a formula by every spreadsheet. A team named
"=HYPERLINK(…)" must come out as its name. Used by every export (teams, submissions, manifests).
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: what makes a spreadsheet read a CSV cell as a formula (full-width forms too: Excel folds them)
FORMULA_STARTS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
_CONTROL_STARTS = ("\t", "\r", "\n")


def set_cell(sheet, row: int, column: int, value: Any):
    """Write a cell; text always as a string cell (openpyxl would make "=…" a formula and "#N/A" an error)."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_cell(value: Any) -> str:
    """A CSV cell that no spreadsheet turns into a formula: a leading `'` when it starts like one."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_CONTROL_STARTS) or text.lstrip().startswith(FORMULA_STARTS):
        return "'" + text
    return text
