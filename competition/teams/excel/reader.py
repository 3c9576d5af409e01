"""Reading an uploaded workbook: refusing what is not a safe .xlsx, the first sheet, its columns."""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from competition.teams.excel.columns import (
    _HEADER_ALIASES,
    COLUMNS,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_SHEET_ROW,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_ZIP_ENTRIES,
    OPTIONAL_KEYS,
    Problem,
    _fold,
    _text,
)

log = logging.getLogger(__name__)


# --- reading an upload ----------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _check_container(data: bytes) -> None:
    """Refuse what is not an .xlsx before any XML is parsed, including zips that unpack to too much."""
    if not data:
        raise _Refused(_l("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise _Refused(
            _l("The file is larger than %(max)s MB; please split it into several files.", max=MAX_UPLOAD_BYTES // 2**20)
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Refused(
            _l(
                "This is an Excel 97–2003 (.xls) file or a workbook with a password. Please save it as an Excel "
                "workbook (.xlsx) without a password and upload it again."
            )
        )
    not_xlsx = _Refused(
        _l("This is not an Excel workbook (.xlsx). Please download the template, fill it in and upload it.")
    )
    if not data.startswith(b"PK"):
        raise not_xlsx
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise not_xlsx from None
    if "[Content_Types].xml" not in {entry.filename for entry in entries}:
        raise not_xlsx
    if len(entries) > MAX_ZIP_ENTRIES or sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise _Refused(
            _l(
                "The workbook unpacks to more than %(max)s MB; please remove pictures and unused sheets, or split it.",
                max=MAX_UNPACKED_BYTES // 2**20,
            )
        )


@dataclass
class _Sheet:
    header: list[Any]
    rows: list[tuple[int, tuple[Any, ...]]]  # (Excel row number, values)


def _read_sheet(data: bytes) -> _Sheet:
    """The first worksheet's header and non-empty rows; refuses unreadable files and too many rows."""
    unreadable = _Refused(_l("The workbook cannot be read; it may be damaged. Please save it again as .xlsx."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises anything from KeyError to XML errors on a damaged file
        log.info("unreadable team import", exc_info=True)
        raise unreadable from None
    try:
        if not workbook.worksheets:
            raise unreadable
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the file's own dimension may claim a million rows
        values = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
        header = list(next(values, ()) or ())
        rows = []
        for number, row in enumerate(values, start=2):
            if number > MAX_SHEET_ROW:
                raise _Refused(
                    _l(
                        "The sheet goes on beyond row %(max)s; please delete the empty rows below your data.",
                        max=MAX_SHEET_ROW,
                    )
                )
            if row.count(None) == len(row) or all(_text(value) == "" for value in row):
                continue  # (the first test is cheap: a sheet may skip to row 1,048,576)
            rows.append((number, tuple(row)))
            if len(rows) > MAX_ROWS:
                raise _Refused(
                    _l(
                        "The file has more than %(max)s rows; please split it into several files.",
                        max=MAX_ROWS,
                    )
                )
    except _Refused:
        raise
    except Exception:
        log.info("unreadable team import", exc_info=True)
        raise unreadable from None
    finally:
        workbook.close()
    return _Sheet(header=header, rows=rows)


def _columns(header: list[Any], rows) -> tuple[dict[str, int], list[Problem]]:
    """Where each known column is; problems for unknown, repeated and missing columns."""
    positions: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(header):
        text = _text(raw)
        if not text:
            if any(index < len(row) and _text(row[index]) for _, row in rows):
                problems.append(Problem(1, get_column_letter(index + 1), _l("This column has values but no header.")))
            continue
        key = _HEADER_ALIASES.get(_fold(text))
        if key is None:
            problems.append(Problem(1, text, _l("Unknown column; please use the columns of the template.")))
        elif key in positions:
            problems.append(Problem(1, text, _l("This column appears twice.")))
        else:
            positions[key] = index
    for column in COLUMNS:
        if column.key not in positions and column.key not in OPTIONAL_KEYS:
            problems.append(Problem(1, column.header, _l("This column is missing.")))
    return positions, problems
