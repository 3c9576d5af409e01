"""The expert pool to and from Excel: the import template, the export, the import.

One row per expert. Header cells are bilingual and never translated, so a file works whatever
language its author uses. As for teams, the import reads the whole file, checks every row and
reports every problem by row and column; it imports nothing unless everything is valid, and then
everything in the caller's one transaction. The export writes every text as a text cell (a name
like "=HYPERLINK(…)" never becomes a formula).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.accounts.services import normalize_email
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.spreadsheets import XLSX_MIMETYPE, set_cell, workbook_bytes
from competition.experts import services
from competition.experts.models import Expert
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams.excel.columns import MAX_ROWS, MAX_UPLOAD_BYTES, Column, Problem, _fold, _text
from competition.teams.excel.reader import _check_container, _read_sheet, _Refused

__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "SHEET_EXPERTS",
    "XLSX_MIMETYPE",
    "ImportPlan",
    "ImportSummary",
    "Problem",
    "apply_import",
    "build_template",
    "export_xlsx",
    "validate_import",
]

SHEET_EXPERTS = "专家 Experts"
SHEET_HELP = "说明 Instructions"
SHEET_INSTITUTIONS = "院校 Institutions"

COLUMNS: tuple[Column, ...] = (
    Column("real_name", "姓名", "Name", _l("Required. An address that already has an account keeps its own name."), 14),
    Column(
        "email", "电子邮箱", "E-mail", _l("Required: the expert's account (one is created when there is none)."), 28
    ),
    Column("title", "职称", "Title", _l("Optional, e.g. 教授, 合伙人."), 12),
    Column(
        "employer", "工作单位", "Employer", _l("The university or company; may be empty with an institution code."), 26
    ),
    Column(
        "institution",
        "院校代码",
        "Institution code",
        _l("Optional: the code of the alliance university the expert works at (see the sheet of codes)."),
        14,
    ),
    Column("city", "城市", "City", _l("e.g. 成都; may be empty with an institution code."), 10),
    Column(
        "side",
        "所属地区",
        "Side",
        _l("四川 (Sichuan) or 重庆 (Chongqing); may be empty with an institution code (then the institution's)."),
        12,
    ),
    Column(
        "kind",
        "类别",
        "Kind",
        _l("学术专家 (academic), 投资人 (investor), 创业者 (entrepreneur) or 政府官员 (official)."),
        12,
    ),
    Column(
        "expertise",
        "专长",
        "Expertise",
        _l("Tags separated by commas, 、 or spaces: track codes and industries, e.g. idea, 人工智能."),
        30,
    ),
    Column("mentors", "可担任导师", "Mentors", _l("是 (yes) or 否 (no); empty means no."), 12),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
#: a file may leave these columns out
OPTIONAL_KEYS = frozenset({"institution", "title"})
_HEADER_ALIASES = {
    _fold(alias): column.key for column in COLUMNS for alias in (column.header, column.zh, column.en, column.key)
}
MENTOR_WORDS = {True: "是", False: "否"}
_YES_NO = {
    **{_fold(word): True for word in ("是", "yes", "y", "true", "1", "可", "可以")},
    **{_fold(word): False for word in ("否", "no", "n", "false", "0", "不", "不可以")},
}


@dataclass(frozen=True)
class PlannedExpert:
    row: int
    email: str
    profile: services.ExpertProfile


@dataclass
class ImportPlan:
    experts: list[PlannedExpert]
    #: existing accounts by normalized e-mail
    accounts: dict[str, User]


@dataclass(frozen=True)
class ImportSummary:
    experts: int
    new_accounts: int
    invited: int


# --- the template and the export ------------------------------------------------------------------

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")


def _write_header(sheet, columns) -> None:
    for index, column in enumerate(columns, start=1):
        cell = set_cell(sheet, 1, index, column.header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"


def _institutions() -> list[Institution]:
    return list(db.session.scalars(select(Institution).order_by(Institution.side, Institution.code)))


def build_template() -> bytes:
    """An empty expert sheet with the header and drop-down lists, the instructions, the institution codes."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_EXPERTS
    _write_header(sheet, COLUMNS)
    letters = {column.key: get_column_letter(index) for index, column in enumerate(COLUMNS, start=1)}
    institutions = workbook.create_sheet(SHEET_INSTITUTIONS)
    _write_header(institutions, (Column("code", "代码", "Code", "", 14), Column("name", "名称", "Name", "", 40)))
    rows = _institutions()
    for index, institution in enumerate(rows, start=2):
        set_cell(institutions, index, 1, institution.code)
        set_cell(institutions, index, 2, f"{institution.name_zh} {institution.name_en}")
    lists = [
        ("side", '"{}"'.format(",".join(services.SIDE_WORDS.values()))),
        ("kind", '"{}"'.format(",".join(services.KIND_WORDS.values()))),
        ("mentors", '"{}"'.format(",".join(MENTOR_WORDS.values()))),
    ]
    if rows:
        lists.append(("institution", f"'{SHEET_INSTITUTIONS}'!$A$2:$A${len(rows) + 1}"))
    for key, formula in lists:
        validation = DataValidation(type="list", formula1=formula, allow_blank=True)
        validation.add(f"{letters[key]}2:{letters[key]}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)

    help_sheet = workbook.create_sheet(SHEET_HELP)
    help_sheet.column_dimensions["A"].width = 30
    help_sheet.column_dimensions["B"].width = 90
    lines = [
        (_("How to fill in this file"), ""),
        ("1", _("One row per expert.")),
        ("2", _("Keep the header row as it is; the sheet of codes lists the institutions of the alliance.")),
        ("3", _("Nothing is imported unless every row is valid; the upload page lists every problem.")),
        (_("Columns"), ""),
        *((column.header, str(column.help)) for column in COLUMNS),
    ]
    for index, (label, text) in enumerate(lines, start=1):
        set_cell(help_sheet, index, 1, label).font = _HEADER_FONT if not text else Font()
        set_cell(help_sheet, index, 2, text).alignment = Alignment(wrap_text=True, vertical="top")
    return workbook_bytes(workbook)


def export_rows() -> list[list[Any]]:
    """The pool in the columns of the template, ordered by side and name."""
    experts = db.session.scalars(
        select(Expert)
        .join(User, User.id == Expert.user_id)
        .options(selectinload(Expert.user), selectinload(Expert.institution))
        .order_by(Expert.side, User.real_name, Expert.id)
    )
    return [
        [
            expert.user.real_name,
            expert.user.email,
            expert.title or None,
            expert.employer,
            expert.institution.code if expert.institution else None,
            expert.city,
            services.SIDE_WORDS.get(expert.side, expert.side),
            services.KIND_WORDS.get(expert.kind, expert.kind),
            ", ".join(expert.expertise or ()),
            MENTOR_WORDS[bool(expert.mentors)],
        ]
        for expert in experts
    ]


def export_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_EXPERTS
    _write_header(sheet, COLUMNS)
    for row_index, row in enumerate(export_rows(), start=2):
        for column_index, value in enumerate(row, start=1):
            set_cell(sheet, row_index, column_index, value)
    return workbook_bytes(workbook)


# --- the import -----------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, row: int | None, key: str | None, message) -> None:
        self.items.append(Problem(row, COLUMN_BY_KEY[key].header if key else None, message))

    def sorted(self) -> list[Problem]:
        order = {column.header: index for index, column in enumerate(COLUMNS)}
        return sorted(self.items, key=lambda p: (p.row or 0, order.get(p.column, -1) if p.column else -1))


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


def _checked(problems: _Problems, row: int, key: str, check: Callable[[], Any]) -> Any:
    """`check()`, or None with its refusal noted against the row and `key` (or the field it names)."""
    try:
        return check()
    except DomainError as error:
        problems.add(row, error.field if error.field in COLUMN_BY_KEY else key, error.message)
        return None


def _row_profile(
    problems: _Problems, number: int, cells: dict[str, str], institutions: dict[str, Institution]
) -> services.ExpertProfile | None:
    """The row's profile, or None with its problems noted."""
    institution = None
    code = cells.get("institution", "")
    if code:
        institution = institutions.get(_fold(code))
        if institution is None:
            problems.add(number, "institution", _l("Unknown institution code “%(code)s”.", code=code))
    mentors = _YES_NO.get(_fold(cells["mentors"])) if cells["mentors"] else False
    if mentors is None:
        problems.add(
            number, "mentors", _l("Unknown value “%(value)s”; use 是 (yes) or 否 (no).", value=cells["mentors"])
        )
    checked = {
        "real_name": _checked(problems, number, "real_name", partial(services.clean_name, cells["real_name"])),
        "title": _checked(problems, number, "title", partial(services.clean_title, cells.get("title", ""))),
        "kind": _checked(problems, number, "kind", partial(services.parse_kind, cells["kind"])),
        "expertise": _checked(problems, number, "expertise", partial(services.parse_tags, cells["expertise"])),
    }
    for key, check in (
        ("employer", services.clean_employer),
        ("city", services.clean_city),
        ("side", services.parse_side),
    ):
        # an empty cell would come from an unknown institution: its code is the one problem
        unknown_code = code and institution is None and not cells[key]
        checked[key] = (
            None if unknown_code else _checked(problems, number, key, partial(check, cells[key], institution))
        )
    if mentors is None or (code and institution is None) or any(value is None for value in checked.values()):
        return None
    return services.ExpertProfile(institution=institution, mentors=mentors, **checked)


def validate_import(stream: BinaryIO) -> ImportPlan | list[Problem]:
    """Read and check an uploaded workbook; every problem, or a plan when there is none. Reads only."""
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    try:
        _check_container(data)
        sheet = _read_sheet(data)
    except _Refused as refusal:
        return [Problem(None, None, refusal.message)]
    if not any(_text(value) for value in sheet.header):
        return [Problem(1, None, _l("The first row of the first sheet must hold the column headers of the template."))]
    positions, header_problems = _columns(sheet.header, sheet.rows)
    if header_problems:
        return header_problems
    if not sheet.rows:
        return [Problem(None, None, _l("The file has no rows below the header."))]

    problems = _Problems()
    institutions = {_fold(inst.code): inst for inst in db.session.scalars(select(Institution))}
    planned: list[PlannedExpert] = []
    seen: dict[str, int] = {}
    for number, values in sheet.rows:
        cells = {key: _text(values[index]) if index < len(values) else "" for key, index in positions.items()}
        profile = _row_profile(problems, number, cells, institutions)
        if not cells["email"]:
            problems.add(number, "email", _l("This cell must not be empty."))
            continue
        email = _checked(problems, number, "email", partial(normalize_email, cells["email"]))
        if email is not None and email in seen:
            problems.add(
                number, "email", _l("%(email)s appears twice in this file (row %(row)s).", email=email, row=seen[email])
            )
        elif email is not None:
            seen[email] = number
            if profile is not None:
                planned.append(PlannedExpert(row=number, email=email, profile=profile))

    accounts: dict[str, User] = {}
    emails = sorted(seen)
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        accounts.update({user.email: user for user in db.session.scalars(select(User).where(User.email.in_(chunk)))})
    in_pool = set(
        db.session.scalars(
            select(User.email)
            .join(Expert, Expert.user_id == User.id)
            .where(User.id.in_([u.id for u in accounts.values()]))
        )
    )
    for email in sorted(in_pool, key=seen.__getitem__):
        problems.add(seen[email], "email", _l("%(email)s is already in the expert pool.", email=email))
    if problems.items:
        return problems.sorted()
    return ImportPlan(experts=planned, accounts=accounts)


def apply_import(plan: ImportPlan, actor: User, *, filename: str | None = None, invite: bool = False) -> ImportSummary:
    """Add the planned experts and their missing accounts; flushes, never commits: the caller commits
    once, so the import is one transaction. `invite` mails the invitation to every new account."""
    password_hash = None
    added: list[tuple[Expert, bool]] = []
    for planned in plan.experts:
        account = plan.accounts.get(planned.email)
        if account is None and password_hash is None:
            password_hash = services.unusable_password_hash()  # one hash for the file: argon2 is slow on purpose
        added.append(
            services.add_expert(
                email=planned.email, profile=planned.profile, account=account, locale="zh_Hans_CN",
                password_hash=password_hash,
            )
        )  # fmt: skip
    db.session.flush()
    invited = 0
    for expert, new_account in added:
        audit.record(actor, "expert.import", expert, email=expert.user.email, new_account=new_account)
        if invite and new_account:
            services.invite_expert(expert, actor=actor)
            invited += 1
    audit.record(
        actor,
        "expert.import_file",
        ("experts", "pool"),
        filename=filename,
        experts=len(added),
        expert_ids=[expert.id for expert, _new in added],
        new_account_ids=[expert.user_id for expert, new in added if new],
    )
    return ImportSummary(experts=len(added), new_accounts=sum(1 for _expert, new in added if new), invited=invited)
