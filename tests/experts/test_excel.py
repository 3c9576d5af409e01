"""The expert pool to and from Excel: the template, a valid import in one transaction, every bad row
reported by row and column with nothing imported, bad files, and an export without formulas."""

from __future__ import annotations

import io
import os
from html.parser import HTMLParser

import openpyxl
import pytest
from sqlalchemy import select

from competition.accounts import services as account_services
from competition.accounts.models import User
from competition.core.audit import AuditEntry
from competition.experts import excel
from competition.experts.models import Expert
from tests import factories
from tests.experts.helpers import counts, expert, mails

EN = {"Accept-Language": "en"}
HEADERS = [column.header for column in excel.COLUMNS]
KEYS = [column.key for column in excel.COLUMNS]


def header(key: str) -> str:
    return excel.COLUMN_BY_KEY[key].header


def row(**overrides) -> list:
    values = {
        "real_name": "张建国",
        "email": "zhang.jg@example.com",
        "title": "教授",
        "employer": "重庆邮电大学",
        "institution": None,
        "city": "重庆",
        "side": "重庆",
        "kind": "学术专家",
        "expertise": "idea、人工智能",
        "mentors": "是",
    }
    values.update(overrides)
    return [values[key] for key in KEYS]


def base_rows() -> list[list]:
    return [
        row(),
        row(
            real_name="刘晓燕",
            email="liu@example.com",
            employer="",
            institution="SCU",
            city="",
            side="",
            kind="academic",
            expertise="startup growth",
            mentors="否",
        ),  # fmt: skip
        row(
            real_name="赵磊",
            email="ZHAO@example.com",
            title=None,
            employer="天府创新投资",
            city="成都",
            side="sichuan",
            kind="Investor",
            expertise="",
            mentors=None,
        ),  # fmt: skip
    ]


def xlsx(rows, headers=HEADERS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row_index, values in enumerate([headers, *rows], start=1):
        for column_index, value in enumerate(values, start=1):
            if value is None:
                continue
            cell = sheet.cell(row=row_index, column=column_index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "专家.xlsx", **fields):
    return client.post(
        "/experts/import",
        data={"file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
        headers=EN,
    )


class _ProblemTable(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, ...]] = []
        self._row: list[str] | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and "import-problem" in (dict(attrs).get("class") or ""):
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(tuple(self._row))
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def problems_in(response) -> list[tuple[str, ...]]:
    parser = _ProblemTable()
    parser.feed(response.get_data(as_text=True))
    return parser.rows


def assert_problem(response, row_number, column, message) -> None:
    found = problems_in(response)
    expected_row = "—" if row_number is None else str(row_number)
    expected_column = column or "—"
    assert any(r == expected_row and c == expected_column and message in m for r, c, m in found), (
        f"no ({expected_row}, {expected_column}, …{message}…) in {found}"
    )


@pytest.fixture
def manager(app, login_as):
    for code in ("SCU", "CQU"):
        factories.institution(code)
    other = factories.competition()
    return login_as("organizer", competition=other, locale="en")


def sheet_rows(data: bytes) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [list(values) for values in workbook.worksheets[0].iter_rows(values_only=True)]


# --- a valid import -------------------------------------------------------------------------------


def test_a_valid_file_imports_every_expert_in_one_go(client, db, manager):
    existing = factories.user(email="zhao@example.com", real_name="赵磊本人")
    db.session.commit()
    before = counts()
    response = upload(client, xlsx(base_rows()))
    assert response.status_code == 302, problems_in(response)
    assert response.headers["Location"] == "/experts/"
    experts = {e.user.email: e for e in db.session.scalars(select(Expert))}
    assert set(experts) == {"zhang.jg@example.com", "liu@example.com", "zhao@example.com"}
    zhang, liu, zhao = experts["zhang.jg@example.com"], experts["liu@example.com"], experts["zhao@example.com"]
    assert (zhang.side, zhang.kind, zhang.expertise, zhang.mentors, zhang.title) == (
        "chongqing", "academic", ["idea", "人工智能"], True, "教授",
    )  # fmt: skip
    assert (liu.employer, liu.city, liu.side, liu.institution.code, liu.mentors) == ("四川大学", "成都", "sichuan",
                                                                                       "SCU", False)  # fmt: skip
    assert (zhao.user_id, zhao.user.real_name, zhao.kind, zhao.expertise, zhao.title) == (
        existing.id, "赵磊本人", "investor", [], "",
    )  # fmt: skip
    assert counts()["users"] == before["users"] + 2
    assert not zhang.user.is_verified and not account_services.password_matches(zhang.user, "")
    assert mails("experts/emails/invitation") == []
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("expert.import%"))).all()
    assert sorted(actions) == ["expert.import"] * 3 + ["expert.import_file"]
    page = client.get("/experts/", headers=EN)
    assert "Imported 3 expert(s); 2 new account(s) were created and 0 invitation(s) sent." in page.get_data(
        as_text=True
    )


def test_an_import_may_invite_the_new_experts(client, db, manager):
    factories.user(email="zhao@example.com")
    db.session.commit()
    assert upload(client, xlsx(base_rows()), invite="y").status_code == 302
    invited = sorted(mail.to_address for mail in mails("experts/emails/invitation"))
    assert invited == ["liu@example.com", "zhang.jg@example.com"]
    assert all("/account/password/reset/" in mail.body_text for mail in mails("experts/emails/invitation"))


def test_the_downloaded_template_filled_in_imports(client, db, manager):
    response = client.get("/experts/import-template.xlsx")
    assert response.status_code == 200 and response.mimetype == excel.XLSX_MIMETYPE
    assert response.headers["Cache-Control"] == "no-store"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == [excel.SHEET_EXPERTS, "院校 Institutions", "说明 Instructions"]
    sheet = workbook[excel.SHEET_EXPERTS]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert {str(v.formula1) for v in sheet.data_validations.dataValidation} >= {'"四川,重庆"', '"是,否"'}
    for column_index, value in enumerate(row(), start=1):
        sheet.cell(row=2, column=column_index, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upload(client, buffer.getvalue()).status_code == 302
    assert db.session.scalar(select(Expert)).user.email == "zhang.jg@example.com"


def test_english_headers_and_values_and_no_title_or_institution_columns(client, db, manager):
    keys = [key for key in KEYS if key not in ("title", "institution")]
    headers = [excel.COLUMN_BY_KEY[key].en for key in keys]
    values = {"real_name": "Li", "email": "li@example.com", "employer": "ACME", "city": "Chengdu", "side": "Sichuan",
              "kind": "entrepreneur", "expertise": "AI, Growth", "mentors": "yes"}  # fmt: skip
    assert upload(client, xlsx([[values[key] for key in keys]], headers)).status_code == 302
    created = db.session.scalar(select(Expert))
    assert (created.side, created.kind, created.expertise, created.mentors) == ("sichuan", "entrepreneur",
                                                                                ["ai", "growth"], True)  # fmt: skip


# --- bad rows -------------------------------------------------------------------------------------


def _set(rows, index, key, value):
    rows[index][KEYS.index(key)] = value


BAD_ROWS = {
    "unknown side": (1, "side", "成都", 3, "Unknown side “成都”; use 四川 (Sichuan) or 重庆 (Chongqing)."),
    "no side and no institution": (0, "side", None, 2, "Please choose the side: Sichuan or Chongqing."),
    "unknown kind": (0, "kind", "教授", 2, "Unknown kind “教授”"),
    "no kind": (0, "kind", None, 2, "Please choose the kind"),
    "duplicate e-mail in the file": (2, "email", "Zhang.JG@example.com", 4,
                                     "zhang.jg@example.com appears twice in this file (row 2)."),
    "bad e-mail": (0, "email", "zhang at example", 2, "This is not a valid e-mail address."),
    "no e-mail": (0, "email", None, 2, "This cell must not be empty."),
    "unknown institution code": (1, "institution", "PKU", 3, "Unknown institution code “PKU”."),
    "no name": (0, "real_name", None, 2, "Please enter the expert's name."),
    "no employer": (2, "employer", None, 4, "Please enter the employer (a university or a company)."),
    "no city": (2, "city", None, 4, "Please enter the city."),
    "bad mentors": (0, "mentors", "maybe", 2, "Unknown value “maybe”; use 是 (yes) or 否 (no)."),
    "tag too long": (0, "expertise", "x" * 31, 2, "A tag has at most 30 characters"),
    "too many tags": (0, "expertise", " ".join(f"t{i}" for i in range(31)), 2, "At most 30 tags; this has 31."),
    "name too long": (0, "real_name", "名" * 51, 2, "At most 50 characters; this has 51."),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_is_reported_by_row_and_column_and_nothing_is_imported(client, db, manager, case):
    index, key, value, row_number, message = BAD_ROWS[case]
    rows = base_rows()
    _set(rows, index, key, value)
    before = counts()
    response = upload(client, xlsx(rows))
    assert response.status_code == 200
    assert_problem(response, row_number, header(key), message)
    assert len(problems_in(response)) == 1
    assert counts() == before


def test_someone_already_in_the_pool_is_reported(client, db, manager):
    expert(factories.user(email="liu@example.com"))
    db.session.commit()
    before = counts()
    response = upload(client, xlsx(base_rows()))
    assert_problem(response, 3, header("email"), "liu@example.com is already in the expert pool.")
    assert counts() == before


def test_every_problem_of_a_file_is_reported_at_once(client, db, manager):
    rows = base_rows()
    _set(rows, 0, "side", "西藏")
    _set(rows, 0, "kind", "wizard")
    _set(rows, 1, "institution", "NOPE")
    _set(rows, 2, "email", "bad")
    before = counts()
    response = upload(client, xlsx(rows))
    found = [(r, c) for r, c, _m in problems_in(response)]
    assert found == [("2", header("side")), ("2", header("kind")), ("3", header("institution")),
                     ("4", header("email"))]  # fmt: skip
    assert "The file has 4 problems; nothing was imported." in response.get_data(as_text=True)
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        (lambda h: h.remove(header("side")), header("side"), "This column is missing."),
        (lambda h: h.append("备注 Notes"), "备注 Notes", "Unknown column; please use the columns of the template."),
        (lambda h: h.append("姓名"), "姓名", "This column appears twice."),
    ],
)
def test_wrong_columns_are_reported(client, db, manager, change, column, message):
    headers = list(HEADERS)
    change(headers)
    before = counts()
    response = upload(client, xlsx([[*values, None] for values in base_rows()], headers))
    assert_problem(response, 1, column, message)
    assert counts() == before


BAD_FILES = {
    "not an xlsx": (
        lambda: "姓名 Name,电子邮箱 E-mail\n张三,a@b.c\n".encode(),
        "This is not an Excel workbook (.xlsx).",
    ),
    "random bytes": (lambda: os.urandom(2048), "This is not an Excel workbook (.xlsx)."),
    "an .xls renamed": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, "Excel 97–2003 (.xls)"),
    "empty": (lambda: b"", "The file is empty."),
    "just over 5 MB": (lambda: b"PK" + os.urandom(excel.MAX_UPLOAD_BYTES - 1), "The file is larger than 5 MB"),
    "only the header": (lambda: xlsx([]), "The file has no rows below the header."),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_message_and_nothing_is_imported(client, db, manager, case):
    make, message = BAD_FILES[case]
    before = counts()
    response = upload(client, make(), name="experts.xlsx")
    assert response.status_code == 200
    assert_problem(response, None, None, message)
    assert counts() == before


def test_a_file_far_over_the_limit_is_refused_before_it_is_read(client, db, manager):
    before = counts()
    response = upload(client, os.urandom(6 * 1024 * 1024))
    assert response.status_code == 413
    assert_problem(response, None, None, "The file is larger than 5 MB; please split it into several files.")
    assert counts() == before


def test_a_post_without_a_file_asks_for_one(client, db, manager):
    response = client.post("/experts/import", data={}, headers=EN)
    assert response.status_code == 200 and "Please choose an .xlsx file." in response.get_data(as_text=True)


def test_an_address_added_between_the_check_and_the_import_leaves_nothing_half_imported(
    client, db, manager, monkeypatch
):
    real_validate = excel.validate_import

    def validate_then_lose_the_race(stream):
        plan = real_validate(stream)
        factories.user(email="liu@example.com")  # another request creates the account and commits first
        db.session.commit()
        return plan

    monkeypatch.setattr(excel, "validate_import", validate_then_lose_the_race)
    before = counts()
    response = upload(client, xlsx(base_rows()))
    assert response.status_code == 409
    assert_problem(response, None, None, "Something changed while the file was imported")
    assert db.session.scalar(select(Expert)) is None
    assert counts()["users"] == before["users"] + 1  # only the other request's account
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action.like("expert.%"))) is None


# --- the export -----------------------------------------------------------------------------------

NASTY = ["=1+1", "+cmd|' /C calc'!A0", "-1", "@SUM(A1)", "＝1", "#N/A", '=HYPERLINK("http://x","点我")']


def test_the_export_never_turns_a_cell_into_a_formula(client, db, manager):
    for index, text in enumerate(NASTY):
        expert(factories.user(real_name=text, email=f"n{index}@example.com"), employer=text, city=text, title=text)
    db.session.commit()
    response = client.get("/experts/export.xlsx")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == HEADERS
    names = set()
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                assert cell.data_type == "s", (cell.coordinate, cell.value)
        names.add(cells[0].value)
    assert names == set(NASTY)


def test_export_and_import_agree(client, db, manager):
    assert upload(client, xlsx(base_rows())).status_code == 302
    exported = sheet_rows(client.get("/experts/export.xlsx").data)
    assert exported[0] == HEADERS
    by_email = {values[1]: values for values in exported[1:]}
    assert by_email["zhang.jg@example.com"] == ["张建国", "zhang.jg@example.com", "教授", "重庆邮电大学", None,
                                                "重庆", "重庆", "学术专家", "idea, 人工智能", "是"]  # fmt: skip
    assert by_email["liu@example.com"][4:7] == ["SCU", "成都", "四川"]
    db.session.execute(Expert.__table__.delete())
    db.session.execute(User.__table__.delete().where(User.email.in_(list(by_email))))
    db.session.commit()
    response = upload(client, xlsx(exported[1:]))
    assert response.status_code == 302, problems_in(response)
    assert sheet_rows(client.get("/experts/export.xlsx").data) == exported


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_with_csrf_on_the_upload_needs_the_token_and_imports(client, manager):
    before = counts()
    assert upload(client, xlsx(base_rows())).status_code == 400
    assert counts() == before
    page = client.get("/experts/import", headers=EN).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = upload(client, xlsx(base_rows()), csrf_token=token)
    assert response.status_code == 302, problems_in(response)
    assert counts()["experts"] == before["experts"] + 3
