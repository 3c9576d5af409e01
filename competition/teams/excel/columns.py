"""The columns of the team sheet, the import's problems and plan, and cell values."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import phonenumbers
from flask_babel import lazy_gettext as _l

from competition.accounts.models import User
from competition.competitions.models import Competition, DegreeLevel, Track
from competition.institutions.models import Institution

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
#: an .xlsx is a zip; what it may unpack to (a full 5,000-row sheet unpacks to about 4 MB; reading
#: 24 MB of sheet takes a few seconds)
MAX_UNPACKED_BYTES = 24 * 1024 * 1024
#: the last row read, empty or not (blank rows cost time too)
MAX_SHEET_ROW = 10 * MAX_ROWS
MAX_ZIP_ENTRIES = 500
#: columns read from each row; anything further right is ignored
MAX_COLUMNS = 64
YEAR_MIN, YEAR_MAX = 1990, 2100
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SHEET_TEAMS = "团队 Teams"
SHEET_HELP = "说明 Instructions"
SHEET_TRACKS = "赛道 Tracks"
SHEET_INSTITUTIONS = "院校 Institutions"


# --- the columns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    help: Any  # a lazy string
    width: int = 16

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"


COLUMNS: tuple[Column, ...] = (
    Column("team_name", "团队名称", "Team name", _l("Required in every row; the rows of one team share it."), 22),
    Column("track", "赛道代码", "Track code", _l("The code of one of this competition's tracks."), 12),
    Column("institution", "院校代码", "Institution code", _l("The code of the institution the team enters for."), 14),
    Column("project_title", "项目名称", "Project title", _l("Required once per team."), 28),
    Column(
        "role", "角色", "Role", _l("负责人 (leader), 成员 (member) or 指导教师 (advisor); one leader per team."), 12
    ),
    Column("real_name", "姓名", "Name", _l("The person's real name."), 12),
    Column(
        "email",
        "电子邮箱",
        "E-mail",
        _l("Required for students (it identifies the account); optional for advisors."),
        26,
    ),
    Column("phone", "手机号码", "Phone", _l("Optional, e.g. 13800138000."), 15),
    Column("student_number", "学号", "Student number", _l("Students only."), 16),
    Column(
        "member_institution",
        "成员院校代码",
        "Member institution code",
        _l("Students only; empty means the team's institution."),
        14,
    ),
    Column("department", "院系", "Department", _l("Students only."), 18),
    Column("major", "专业", "Major", _l("Students only."), 18),
    Column("degree_level", "学历层次", "Degree level", _l("Students only: 专科, 本科, 硕士 or 博士."), 12),
    Column("enrollment_year", "入学年份", "Enrollment year", _l("Students only, e.g. 2023."), 12),
    Column("graduation_year", "预计毕业年份", "Expected graduation year", _l("Students only, e.g. 2027."), 14),
    Column("advisor_title", "指导教师职称", "Advisor title", _l("Advisors only, e.g. 副教授; optional."), 14),
    Column(
        "advisor_institution",
        "指导教师院校代码",
        "Advisor institution code",
        _l("Advisors only; optional."),
        14,
    ),
)
#: written by exports only; the import ignores it
STATE_COLUMN = Column("state", "状态", "State", _l("Written by exports; ignored by the import."), 12)
#: written by exports only, masked, and only when some team of the competition has a national ID number;
#: the import ignores it
NATIONAL_ID_COLUMN = Column(
    "national_id",
    "身份证号（脱敏）",
    "National ID (masked)",
    _l("Written by exports, masked; ignored by the import."),
    20,
)
#: a file may leave these columns out
OPTIONAL_KEYS = frozenset({"member_institution"})
COLUMN_BY_KEY = {column.key: column for column in (*COLUMNS, STATE_COLUMN, NATIONAL_ID_COLUMN)}
TEAM_KEYS = ("track", "institution", "project_title")

LEADER, MEMBER, ADVISOR = "leader", "member", "advisor"
ROLE_WORDS = {LEADER: "负责人", MEMBER: "成员", ADVISOR: "指导教师"}
_ROLE_ALIASES = {
    LEADER: ("负责人", "团队负责人", "项目负责人", "队长", "leader", "team leader"),
    MEMBER: ("成员", "团队成员", "队员", "member", "team member"),
    ADVISOR: ("指导教师", "指导老师", "导师", "advisor", "adviser"),
}
DEGREE_WORDS = {
    DegreeLevel.JUNIOR_COLLEGE: "专科",
    DegreeLevel.BACHELOR: "本科",
    DegreeLevel.MASTER: "硕士",
    DegreeLevel.DOCTORATE: "博士",
}
_DEGREE_ALIASES = {
    DegreeLevel.JUNIOR_COLLEGE: ("专科", "大专", "高职", "junior college"),
    DegreeLevel.BACHELOR: ("本科", "bachelor", "undergraduate"),
    DegreeLevel.MASTER: ("硕士", "研究生", "master"),
    DegreeLevel.DOCTORATE: ("博士", "doctorate", "doctor", "phd"),
}


def _fold(value: str) -> str:
    """Compare loosely: NFKC (full-width letters and spaces), case-folded, white space folded."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


_HEADER_ALIASES: dict[str, str] = {}
for _column in (*COLUMNS, STATE_COLUMN, NATIONAL_ID_COLUMN):
    for _alias in (_column.header, _column.zh, _column.en, _column.key):
        _HEADER_ALIASES[_fold(_alias)] = _column.key
_ROLES = {_fold(alias): role for role, aliases in _ROLE_ALIASES.items() for alias in aliases}
_DEGREES = {_fold(alias): level.value for level, aliases in _DEGREE_ALIASES.items() for alias in aliases}
for _level in DegreeLevel:
    _DEGREES[_fold(_level.value)] = _level.value


# --- problems and the plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded file: its row (1 is the header; None: the whole file), the
    header of its column (None: the whole row or file) and a translatable message."""

    row: int | None
    column: str | None
    message: Any


@dataclass
class PlannedPerson:
    row: int
    role: str
    real_name: str
    email: str | None
    phone: str | None
    student_number: str = ""
    institution: Institution | None = None
    department: str = ""
    major: str = ""
    degree_level: str = ""
    enrollment_year: int = 0
    graduation_year: int = 0
    title: str = ""


@dataclass
class PlannedTeam:
    row: int
    name: str
    track: Track
    institution: Institution
    project_title: str
    members: list[PlannedPerson] = field(default_factory=list)  # the leader first
    advisors: list[PlannedPerson] = field(default_factory=list)


@dataclass
class ImportPlan:
    """A checked file, ready for apply_import()."""

    competition: Competition
    teams: list[PlannedTeam]
    #: existing accounts by normalized e-mail (members and advisors)
    accounts: dict[str, User]

    @property
    def team_count(self) -> int:
        return len(self.teams)

    @property
    def people_count(self) -> int:
        return sum(len(team.members) + len(team.advisors) for team in self.teams)


@dataclass(frozen=True)
class ImportSummary:
    teams: int
    people: int
    new_accounts: int


# --- cell values ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell's value as trimmed text; integral numbers without ".0" (numbers typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = unicodedata.normalize("NFKC", _text(value))
        if not text.isdigit():
            return None
        number = int(text)
    return number if YEAR_MIN <= number <= YEAR_MAX else None


def _phone(text: str) -> str | None:
    """E.164, as the team forms store it; None when it is not a valid number."""
    try:
        number = phonenumbers.parse(unicodedata.normalize("NFKC", text), "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_export(phone: str | None) -> str | None:
    """Chinese numbers as typed in China (13800138000, 02812345678); others as stored (E.164)."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return phone
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return phone
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(char for char in national if char.isdigit())
