"""Teams to and from Excel: the template, exports without formulas, every import check (nothing
imported on any problem), the scope of institution organizers and the lossless round trip."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from html.parser import HTMLParser
from urllib.parse import quote

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from competition.accounts import services as account_services
from competition.accounts.models import CompetitionRole, Role, User
from competition.core.audit import AuditEntry
from competition.extensions import db
from competition.teams import excel
from competition.teams.models import Advisor, Team, TeamMember, TeamState
from tests import factories

EN = {"Accept-Language": "en"}
HEADERS = [column.header for column in excel.COLUMNS]
KEYS = [column.key for column in excel.COLUMNS]
NASTY = ["=1+1", "+cmd|' /C calc'!A0", "-1", "@SUM(A1)", "＝1", "\t=2+3", "#N/A", '=HYPERLINK("http://x")']


def header(key: str) -> str:
    return excel.COLUMN_BY_KEY[key].header


def person(
    team="星火队",
    role="负责人",
    name="李雷",
    email="lilei@example.edu.cn",
    number="2023001",
    *,
    track="idea",
    institution="SCU",
    title="智慧校园",
    phone="13800138000",
    member_institution=None,
    department="计算机学院",
    major="软件工程",
    degree="本科",
    enrollment=2023,
    graduation=2027,
) -> list:
    values = {
        "team_name": team,
        "track": track,
        "institution": institution,
        "project_title": title,
        "role": role,
        "real_name": name,
        "email": email,
        "phone": phone,
        "student_number": number,
        "member_institution": member_institution,
        "department": department,
        "major": major,
        "degree_level": degree,
        "enrollment_year": enrollment,
        "graduation_year": graduation,
        "advisor_title": None,
        "advisor_institution": None,
    }
    return [values[key] for key in KEYS]


def advisor(
    team="星火队",
    name="王老师",
    email="wang@example.edu.cn",
    *,
    track="idea",
    institution="SCU",
    title="智慧校园",
    advisor_title="副教授",
    advisor_institution="SCU",
    phone=None,
) -> list:
    values = dict.fromkeys(KEYS)
    values.update(
        team_name=team,
        track=track,
        institution=institution,
        project_title=title,
        role="指导教师",
        real_name=name,
        email=email,
        phone=phone,
        advisor_title=advisor_title,
        advisor_institution=advisor_institution,
    )
    return [values[key] for key in KEYS]


def base_rows() -> list[list]:
    """Two valid teams: 星火队 of SCU (rows 2–5, with an advisor) and 山城队 of CQU (rows 6–8)."""
    return [
        person(),
        person(role="成员", name="韩梅梅", email="hanmeimei@example.edu.cn", number="2023002", phone=None),
        person(
            role="成员",
            name="张伟",
            email="zhangwei@example.edu.cn",
            number="2022003",
            degree="硕士",
            enrollment=2022,
            graduation=2025,
        ),
        advisor(),
        person(
            "山城队",
            name="陈静",
            email="chenjing@example.edu.cn",
            number="2024001",
            institution="CQU",
            track="startup",
            title="山城物流",
        ),
        person(
            "山城队",
            "成员",
            "刘洋",
            "liuyang@example.edu.cn",
            "2024002",
            institution="CQU",
            track="startup",
            title="山城物流",
            degree="专科",
            enrollment=2024,
            graduation=2027,
        ),
        person(
            "山城队",
            "成员",
            "赵敏",
            "zhaomin@example.edu.cn",
            "2024003",
            institution="CQU",
            track="startup",
            title="山城物流",
            phone="02312345678",
        ),
    ]


def xlsx(rows, headers=HEADERS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row_index, row in enumerate([headers, *rows], start=1):
        for column_index, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = sheet.cell(row=row_index, column=column_index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Team, TeamMember, Advisor, User)
    }


def upload(client, code: str, data: bytes, name: str = "团队.xlsx"):
    return client.post(
        f"/competitions/{code}/teams/import",
        data={"file": (io.BytesIO(data), name)},
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


def assert_problem(response, row, column, message) -> None:
    found = problems_in(response)
    expected_row = "—" if row is None else str(row)
    expected_column = column or "—"
    assert any(r == expected_row and c == expected_column and message in m for r, c, m in found), (
        f"no ({expected_row}, {expected_column}, …{message}…) in {found}"
    )


@pytest.fixture
def contest(app):
    for code in ("SCU", "CQU", "SISU"):
        factories.institution(code)
    contest = factories.competition(
        code="XL26", min_team_size=3, max_team_size=5, max_advisors=2, max_teams_per_student=2
    )
    factories.track(contest, "idea", position=1)
    factories.track(contest, "startup", position=2)
    db.session.commit()
    return contest


@pytest.fixture
def organizer(contest, login_as):
    return login_as("organizer", competition=contest, locale="en")


def snapshot(contest) -> list:
    """Everything an import sets, without ids or times."""
    teams = db.session.scalars(select(Team).where(Team.competition_id == contest.id).order_by(Team.name)).all()
    return [
        (
            team.name,
            team.track.code,
            team.institution.code,
            team.project_title,
            team.state,
            team.member_count,
            team.leader.email,
            sorted(
                (
                    m.user.email,
                    m.role,
                    m.real_name,
                    m.student_number,
                    m.institution.code,
                    m.department,
                    m.major,
                    m.degree_level,
                    m.enrollment_year,
                    m.graduation_year,
                    m.phone,
                )
                for m in team.members
            ),
            sorted(
                (a.name, a.title, a.institution.code if a.institution else None, a.email, a.phone, a.user_id)
                for a in team.advisors
            ),
        )
        for team in teams
    ]


def sheet_rows(data: bytes) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


# --- the import, when everything is right --------------------------------------------------------


def test_a_valid_file_imports_approved_teams_with_members_advisors_and_accounts(client, db, contest, organizer):
    existing = factories.user(email="hanmeimei@example.edu.cn", real_name="韩梅梅")
    teacher = factories.user(email="wang@example.edu.cn", real_name="王老师")
    db.session.commit()
    before = counts()

    response = upload(client, "XL26", xlsx(base_rows()))

    assert response.status_code == 302 and response.headers["Location"].endswith("/competitions/XL26/teams/import")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Imported 2 team(s) with 7 people; 5 new student account(s) were created." in page
    after = counts()
    assert after["teams"] == before["teams"] + 2
    assert after["team_members"] == before["team_members"] + 6
    assert after["advisors"] == before["advisors"] + 1
    assert after["users"] == before["users"] + 5  # 韩梅梅 and the advisor already had accounts
    spark = db.session.scalar(select(Team).where(Team.name == "星火队"))
    assert spark.state == TeamState.APPROVED and spark.member_count == 3 and spark.reviewed_by_id == organizer.id
    assert spark.leader.email == "lilei@example.edu.cn" and spark.track.code == "idea"
    assert spark.institution.code == "SCU" and spark.project_title == "智慧校园"
    leader = spark.member_for(spark.leader)
    assert leader.role == "leader" and leader.phone == "+8613800138000" and leader.degree_level == "bachelor"
    assert spark.member_for(existing) is not None  # the existing account, not a new one
    assert [a.user_id for a in spark.advisors] == [teacher.id]
    assert spark.advisors[0].title == "副教授" and spark.advisors[0].institution.code == "SCU"
    # every student holds the student role; new accounts are unverified and have no usable password
    new_user = db.session.scalar(select(User).where(User.email == "lilei@example.edu.cn"))
    assert not new_user.is_verified and new_user.real_name == "李雷" and new_user.institution.code == "SCU"
    assert not account_services.password_matches(new_user, "")
    students = set(
        db.session.scalars(
            select(CompetitionRole.user_id).where(
                CompetitionRole.competition_id == contest.id, CompetitionRole.role == Role.STUDENT.value
            )
        )
    )
    assert {m.user_id for t in db.session.scalars(select(Team)) for m in t.members} <= students
    assert teacher.id not in students
    # one audit entry per team and one for the import
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == organizer.id)).all()
    assert actions.count("team.import") == 2 and actions.count("team.import_file") == 1
    file_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "team.import_file"))
    assert file_entry.details["filename"] == "团队.xlsx" and file_entry.details["teams"] == 2


def test_imported_student_activates_through_forgot_password(client, db, contest, organizer):
    assert upload(client, "XL26", xlsx(base_rows())).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "lilei@example.edu.cn"))
    token = account_services.make_reset_token(user)
    account_services.reset_password(token, "新的密码 2026!")
    db.session.commit()
    assert user.is_verified
    assert account_services.authenticate("lilei@example.edu.cn", "新的密码 2026!").id == user.id


def test_english_words_numbers_as_numbers_and_english_headers_are_accepted(client, db, contest, organizer):
    rows = base_rows()
    for row in rows:
        row[KEYS.index("role")] = {"负责人": "Leader", "成员": "member", "指导教师": "Advisor"}[row[4]]
        if row[KEYS.index("degree_level")]:
            row[KEYS.index("degree_level")] = {"本科": "bachelor", "硕士": "Master", "专科": "junior_college"}[row[12]]
    rows[0][KEYS.index("student_number")] = 2023001  # typed as a number
    rows[0][KEYS.index("phone")] = 13800138000
    rows[1][KEYS.index("enrollment_year")] = "２０２３"  # full-width, as text
    headers = [column.en for column in excel.COLUMNS]
    assert upload(client, "XL26", xlsx(rows, headers)).status_code == 302
    leader = db.session.scalar(select(TeamMember).where(TeamMember.real_name == "李雷"))
    assert leader.student_number == "2023001" and leader.phone == "+8613800138000"
    assert db.session.scalar(select(TeamMember.enrollment_year).where(TeamMember.real_name == "韩梅梅")) == 2023
    assert db.session.scalar(select(TeamMember.degree_level).where(TeamMember.real_name == "刘洋")) == "junior_college"


def test_the_downloaded_template_filled_in_imports(client, db, contest, organizer):
    response = client.get("/competitions/XL26/teams/import-template.xlsx", headers=EN)
    assert response.status_code == 200 and response.mimetype == excel.XLSX_MIMETYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"filename*=UTF-8''{quote('XL26-团队导入模板.xlsx')}" in disposition
    assert response.headers["Cache-Control"] == "no-store"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == [excel.SHEET_TEAMS, excel.SHEET_TRACKS, excel.SHEET_INSTITUTIONS, excel.SHEET_HELP]
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert "团队名称 Team name" in HEADERS and "角色 Role" in HEADERS
    assert [row[0] for row in workbook[excel.SHEET_TRACKS].iter_rows(min_row=2, values_only=True)] == [
        "idea",
        "startup",
    ]
    assert {"SCU", "CQU"} <= {
        row[0] for row in workbook[excel.SHEET_INSTITUTIONS].iter_rows(min_row=2, values_only=True)
    }
    for row in base_rows():
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upload(client, "XL26", buffer.getvalue()).status_code == 302
    assert counts()["teams"] == 2


def test_import_page_explains_accounts_and_offers_the_template(client, contest, organizer):
    page = client.get("/competitions/XL26/teams/import", headers=EN).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert "/competitions/XL26/teams/import-template.xlsx" in page
    assert "“Forgot your password?”" in page and "confirms their address" in page
    assert 'href="/account/password/forgot"' in page
    assert "3–5 members including the leader" in page
    assert "style=" not in page and "<script>" not in page


# --- round trip and exports ----------------------------------------------------------------------


def test_import_export_import_is_lossless(client, db, contest, organizer, login_as):
    rows = base_rows()
    rows[1][KEYS.index("member_institution")] = "SISU"
    contest.allow_cross_institution = True
    db.session.commit()
    assert upload(client, "XL26", xlsx(rows)).status_code == 302

    exported = client.get("/competitions/XL26/teams/export.xlsx", headers=EN)
    assert exported.status_code == 200
    assert f"filename*=UTF-8''{quote('XL26-团队名单.xlsx')}" in exported.headers["Content-Disposition"]
    table = sheet_rows(exported.data)
    assert table[0] == [*HEADERS, excel.STATE_COLUMN.header]
    assert {row[-1] for row in table[1:]} == {"Approved"}

    def normal(row):
        return tuple("" if value is None else value for value in row[: len(KEYS)])

    assert sorted(map(normal, table[1:])) == sorted(map(normal, rows))

    # the export, imported into a fresh competition, gives the same teams, members and advisors
    fresh = factories.competition(
        code="XL27", min_team_size=3, max_team_size=5, max_advisors=2, allow_cross_institution=True
    )
    factories.track(fresh, "idea")
    factories.track(fresh, "startup")
    db.session.commit()
    login_as("organizer", competition=fresh, locale="en")
    before = counts()
    assert upload(client, "XL27", exported.data).status_code == 302
    assert counts()["users"] == before["users"]  # the same people, no new accounts
    assert snapshot(fresh) == snapshot(contest)
    again = client.get("/competitions/XL27/teams/export.xlsx", headers=EN)
    assert sorted(map(normal, sheet_rows(again.data)[1:])) == sorted(map(normal, rows))


def test_csv_export_has_a_bom_and_the_same_rows(client, db, contest, organizer):
    assert upload(client, "XL26", xlsx(base_rows())).status_code == 302
    response = client.get("/competitions/XL26/teams/export.csv", headers=EN)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    assert f"filename*=UTF-8''{quote('XL26-团队名单.csv')}" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0] == [*HEADERS, excel.STATE_COLUMN.header]
    expected = sorted(tuple("" if v is None else str(v) for v in row) for row in base_rows())
    assert sorted(tuple(row[: len(KEYS)]) for row in table[1:]) == expected


def _nasty_teams(contest):
    scu = factories.institution("SCU")
    teams = []
    for index, text in enumerate(NASTY):
        team = factories.team(contest, name=text, institution_row=scu)
        team.project_title = text
        team.members[1].real_name = text
        team.members[1].department = text
        team.advisors.append(Advisor(name=text, title=text, email=None))
        teams.append(team)
        team.members[2].student_number = f"=9{index}"
    db.session.commit()
    return teams


def test_exports_never_turn_a_cell_into_a_formula(client, db, contest, organizer):
    _nasty_teams(contest)
    xlsx_data = client.get("/competitions/XL26/teams/export.xlsx", headers=EN).data
    with zipfile.ZipFile(io.BytesIO(xlsx_data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml and 't="e"' not in sheet_xml
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_data)).worksheets[0]
    values = {}
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.value is not None:
                assert cell.data_type in {"s", "n"}, (cell.coordinate, cell.value, cell.data_type)
                values.setdefault(cell.value, cell.data_type)
    for text in NASTY:
        assert values[text] == "s"
    assert values["=90"] == "s"

    csv_text = client.get("/competitions/XL26/teams/export.csv", headers=EN).data.decode("utf-8-sig")
    cells = {cell for row in csv.reader(io.StringIO(csv_text)) for cell in row}
    for text in NASTY:
        if text == "#N/A":
            assert text in cells  # not a formula in a CSV
        else:
            assert "'" + text in cells and text not in cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")), cell


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-1", "@SUM(A1)", "＝1", "#N/A"])
def test_formula_like_names_import_as_text_and_export_as_text(client, db, contest, organizer, text):
    rows = base_rows()[:4]
    for row in rows:
        row[KEYS.index("team_name")] = text
    rows[0][KEYS.index("real_name")] = text
    rows[1][KEYS.index("department")] = text
    assert upload(client, "XL26", xlsx(rows)).status_code == 302
    team = db.session.scalar(select(Team).where(Team.name == text))
    assert team.members[0].real_name == text
    data = client.get("/competitions/XL26/teams/export.xlsx", headers=EN).data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet["A2"].value == text and sheet["A2"].data_type == "s"
    csv_text = client.get("/competitions/XL26/teams/export.csv", headers=EN).data.decode("utf-8-sig")
    first = next(row for row in csv.reader(io.StringIO(csv_text)) if row[0] != HEADERS[0])
    assert first[0] == (text if text == "#N/A" else "'" + text)


def test_csv_cell_rules():
    assert excel.csv_cell("=1+1") == "'=1+1"
    assert excel.csv_cell("\tx") == "'\tx"
    assert excel.csv_cell("\rx") == "'\rx"
    assert excel.csv_cell(" =1") == "' =1"
    assert excel.csv_cell("＠x") == "'＠x"
    assert excel.csv_cell("李雷") == "李雷"
    assert excel.csv_cell(2027) == "2027"
    assert excel.csv_cell(None) == ""


# --- scope -----------------------------------------------------------------------------------------


def test_institution_organizer_exports_and_imports_only_their_institution(client, db, contest, login_as):
    scu, cqu = factories.institution("SCU"), factories.institution("CQU")
    factories.team(contest, name="川大队", institution_row=scu)
    factories.team(contest, name="重大队", institution_row=cqu)
    db.session.commit()
    login_as("institution_organizer", competition=contest, locale="en", institution=scu)

    table = sheet_rows(client.get("/competitions/XL26/teams/export.xlsx", headers=EN).data)
    assert {row[0] for row in table[1:]} == {"川大队"} and {row[2] for row in table[1:]} == {"SCU"}
    csv_text = client.get("/competitions/XL26/teams/export.csv", headers=EN).data.decode("utf-8-sig")
    assert "重大队" not in csv_text and "CQU" not in csv_text and "川大队" in csv_text

    before = counts()
    response = upload(client, "XL26", xlsx(base_rows()))
    assert response.status_code == 200
    assert_problem(response, 6, header("institution"), "You may import teams of Sichuan University (SCU)")
    assert counts() == before
    assert upload(client, "XL26", xlsx(base_rows()[:4])).status_code == 302
    assert counts()["teams"] == before["teams"] + 1


@pytest.mark.parametrize("path", ["export.xlsx", "export.csv", "import-template.xlsx", "import"])
def test_organizer_of_another_competition_and_students_get_403(client, db, contest, login_as, path):
    other = factories.competition(code="OTHER26")
    login_as("organizer", competition=other)
    assert client.get(f"/competitions/XL26/teams/{path}").status_code == 403
    login_as("student", competition=contest)
    assert client.get(f"/competitions/XL26/teams/{path}").status_code == 403


def test_organizer_of_another_competition_cannot_post_an_import(client, db, contest, login_as):
    login_as("organizer", competition=factories.competition(code="OTHER26"))
    before = counts()
    assert upload(client, "XL26", xlsx(base_rows())).status_code == 403
    assert counts() == before


def test_unknown_competition_is_404(client, organizer):
    assert client.get("/competitions/NOPE/teams/export.xlsx").status_code == 404


# --- bad rows: every problem, by row and column, and nothing imported -------------------------------


def _set(rows, index, key, value):
    rows[index][KEYS.index(key)] = value


def _add_members(rows, count):
    for number in range(count):
        rows.insert(
            3,
            person(
                role="成员", name=f"新人{number}", email=f"new{number}@example.edu.cn", number=f"2023{100 + number}"
            ),
        )


def _add_advisors(rows, count):
    for number in range(count):
        rows.insert(4, advisor(name=f"老师{number}", email=None))


BAD_ROWS = {
    "unknown institution": (
        lambda r: _set(r, 0, "institution", "XXX"),
        2,
        "institution",
        "Unknown institution code “XXX”.",
    ),
    "unknown track": (
        lambda r: _set(r, 0, "track", "nope"),
        2,
        "track",
        "Unknown track code “nope”; this competition's tracks are idea、startup.",
    ),
    "student number twice in the file": (
        lambda r: _set(r, 2, "student_number", "2023002"),
        4,
        "student_number",
        "Student number 2023002 of Sichuan University is also given to hanmeimei@example.edu.cn in row 3.",
    ),
    "missing department": (lambda r: _set(r, 1, "department", None), 3, "department", "This cell must not be empty."),
    "missing student number": (
        lambda r: _set(r, 1, "student_number", "  "),
        3,
        "student_number",
        "This cell must not be empty.",
    ),
    "missing name": (lambda r: _set(r, 1, "real_name", "\u200b"), 3, "real_name", "This cell must not be empty."),
    "missing e-mail": (lambda r: _set(r, 1, "email", None), 3, "email", "This cell must not be empty."),
    "bad e-mail": (lambda r: _set(r, 1, "email", "not-an-address"), 3, "email", "This is not a valid e-mail address."),
    "bad phone": (lambda r: _set(r, 1, "phone", "12345"), 3, "phone", "Please enter a valid phone number"),
    "bad year": (
        lambda r: _set(r, 1, "enrollment_year", "20x3"),
        3,
        "enrollment_year",
        "“20x3” is not a year between 1990 and 2100.",
    ),
    "year out of range": (
        lambda r: _set(r, 1, "graduation_year", 1800),
        3,
        "graduation_year",
        "“1800” is not a year between 1990 and 2100.",
    ),
    "graduation before enrollment": (
        lambda r: _set(r, 1, "graduation_year", 2020),
        3,
        "graduation_year",
        "The graduation year cannot be before the enrollment year.",
    ),
    "unknown degree": (lambda r: _set(r, 1, "degree_level", "小学"), 3, "degree_level", "Unknown degree level “小学”"),
    "unknown role": (lambda r: _set(r, 1, "role", "boss"), 3, "role", "Unknown role “boss”"),
    "no leader": (lambda r: _set(r, 0, "role", "成员"), 2, "role", "The team “星火队” has no leader"),
    "two leaders": (
        lambda r: _set(r, 1, "role", "负责人"),
        3,
        "role",
        "The team “星火队” already has a leader in row 2; a team has one leader.",
    ),
    "team too large": (
        lambda r: _add_members(r, 3),
        2,
        "team_name",
        "A team has 3–5 members including the leader; this one has 6.",
    ),
    "team too small": (
        lambda r: r.pop(6),
        6,
        "team_name",
        "A team has 3–5 members including the leader; this one has 2.",
    ),
    "too many advisors": (
        lambda r: _add_advisors(r, 2),
        2,
        "team_name",
        "A team has at most 2 advisor(s); this one has 3.",
    ),
    "cross-institution member": (
        lambda r: _set(r, 1, "member_institution", "CQU"),
        3,
        "member_institution",
        "Teams of this competition come from one institution: members must study at "
        "Sichuan University, not Chongqing University.",
    ),
    "unknown member institution": (
        lambda r: _set(r, 1, "member_institution", "MIT"),
        3,
        "member_institution",
        "Unknown institution code “MIT”.",
    ),
    "rows of a team disagree": (
        lambda r: _set(r, 1, "track", "startup"),
        3,
        "track",
        "Differs from row 2 of the same team (“idea”)",
    ),
    "same person twice in a team": (
        lambda r: _set(r, 2, "email", "HanMeiMei@example.edu.cn"),
        4,
        "email",
        "hanmeimei@example.edu.cn appears twice in this team (row 3).",
    ),
    "one person leads two teams": (
        lambda r: _set(r, 4, "email", "lilei@example.edu.cn"),
        6,
        "role",
        "One person leads at most one team; 陈静 also leads “星火队” in row 2.",
    ),
    "team name too long": (
        lambda r: [_set(r, i, "team_name", "队" * 61) for i in range(4)],
        2,
        "team_name",
        "At most 60 characters; this cell has 61.",
    ),
    "missing team name": (lambda r: _set(r, 1, "team_name", None), 3, "team_name", "This cell must not be empty."),
    "missing project title": (
        lambda r: [_set(r, i, "project_title", None) for i in range(4, 7)],
        6,
        "project_title",
        "This cell must not be empty.",
    ),
    "advisor without a name": (lambda r: _set(r, 3, "real_name", None), 5, "real_name", "This cell must not be empty."),
    "bad advisor e-mail": (lambda r: _set(r, 3, "email", "wang@"), 5, "email", "This is not a valid e-mail address."),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_is_reported_by_row_and_column_and_nothing_is_imported(client, db, contest, organizer, case):
    change, row, key, message = BAD_ROWS[case]
    rows = base_rows()
    change(rows)
    before = counts()
    response = upload(client, "XL26", xlsx(rows))
    assert response.status_code == 200
    assert "nothing was imported" in response.get_data(as_text=True)
    assert_problem(response, row, header(key), message)
    assert counts() == before


def test_competition_rules_are_reported(client, db, contest, organizer):
    contest.eligible_degrees = ["bachelor", "master"]
    contest.min_graduation_year, contest.max_graduation_year = 2025, 2028
    db.session.commit()
    rows = base_rows()
    _set(rows, 1, "graduation_year", 2031)
    before = counts()
    response = upload(client, "XL26", xlsx(rows))
    assert_problem(
        response,
        3,
        header("graduation_year"),
        "Students graduating in 2025–2028 may enter; this one graduates in 2031.",
    )
    assert_problem(response, 7, header("degree_level"), "This competition is open to")  # 刘洋, 专科
    assert counts() == before


def test_every_problem_of_a_file_is_reported_at_once(client, db, contest, organizer):
    rows = base_rows()
    _set(rows, 1, "email", "bad")
    _set(rows, 1, "degree_level", "小学")
    _set(rows, 1, "enrollment_year", "x")
    _set(rows, 2, "member_institution", "CQU")
    _set(rows, 2, "graduation_year", 2010)
    _set(rows, 5, "phone", "1")
    response = upload(client, "XL26", xlsx(rows))
    found = {(r, c) for r, c, _m in problems_in(response)}
    assert {
        ("3", header("email")),
        ("3", header("degree_level")),
        ("3", header("enrollment_year")),
        ("4", header("member_institution")),
        ("4", header("graduation_year")),
        ("7", header("phone")),
    } <= found


def test_database_rules_are_reported(client, db, contest, organizer):
    """Name taken, leader of a registered team, student number of another person, teams per student."""
    scu = factories.institution("SCU")
    leader = factories.user(email="lilei@example.edu.cn", real_name="李雷", institution=scu)
    registered = factories.team(contest, name="星火队", leader=leader, institution_row=scu)
    registered.members[1].student_number = "2023002"  # someone else's number, in use
    zhang = factories.user(email="zhangwei@example.edu.cn", real_name="张伟", institution=scu)
    factories.team(contest, leader=zhang, institution_row=scu)
    third = factories.team(contest, leader=factories.user(institution=scu), institution_row=scu)
    third.members.append(
        TeamMember(
            user=zhang, role="member", **factories.member_profile(zhang, scu, student_number="2022003").as_columns()
        )
    )
    third.member_count += 1
    db.session.commit()
    before = counts()

    response = upload(client, "XL26", xlsx(base_rows()))

    assert_problem(response, 2, header("team_name"), "Another team of this competition is already called “星火队”.")
    assert_problem(response, 2, header("role"), "One person leads at most one team; 李雷 already leads “星火队”.")
    assert_problem(
        response,
        3,
        header("student_number"),
        "Student number 2023002 of Sichuan University is already used by another person.",
    )
    assert_problem(
        response, 4, header("email"), "A student may be in at most 2 team(s) of this competition; 张伟 would be in 3."
    )
    assert counts() == before


def test_a_student_in_too_many_teams_within_the_file(client, db, contest, organizer):
    contest.max_teams_per_student = 1
    db.session.commit()
    rows = base_rows()
    _set(rows, 5, "email", "hanmeimei@example.edu.cn")
    _set(rows, 5, "member_institution", None)
    response = upload(client, "XL26", xlsx(rows))
    assert_problem(
        response, 7, header("email"), "A student may be in at most 1 team(s) of this competition; 刘洋 would be in 2."
    )


# --- bad files -----------------------------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _damaged_sheet() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx(base_rows())))
    return _zip(
        {
            name: (b"<worksheet><sheetData><row r=" if name == "xl/worksheets/sheet1.xml" else source.read(name))
            for name in source.namelist()
        }
    )


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as entry:
            chunk = b" " * (1024 * 1024)
            for _ in range(excel.MAX_UNPACKED_BYTES // len(chunk) + 1):
                entry.write(chunk)
    return buffer.getvalue()


def _too_many_rows() -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADERS)
    row = person()
    for _ in range(excel.MAX_ROWS + 1):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _far_cell() -> bytes:
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx(base_rows())))
    workbook.active.cell(row=1_048_576, column=1, value="x")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _empty_sheet() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


BAD_FILES = {
    "empty file": (lambda: b"", "The file is empty."),
    "random bytes": (lambda: os.urandom(4096), "This is not an Excel workbook (.xlsx)."),
    "a CSV": (
        lambda: "团队名称 Team name,赛道代码 Track code\n星火队,idea\n".encode(),
        "This is not an Excel workbook",
    ),
    "an .xls renamed": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, "Excel 97–2003 (.xls)"),
    "a zip that is no workbook": (lambda: _zip({"readme.txt": b"hello"}), "This is not an Excel workbook"),
    "a Word document renamed": (
        lambda: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
        "The workbook cannot be read",
    ),
    "a damaged sheet": (_damaged_sheet, "The workbook cannot be read"),
    "a zip bomb": (_zip_bomb, "The workbook unpacks to more than 24 MB"),
    "a cell far below the data": (_far_cell, "The sheet goes on beyond row 50000; please delete the empty rows"),
    "too many rows": (_too_many_rows, "The file has more than 5000 rows; please split it into several files."),
    "just over 5 MB": (lambda: b"PK" + os.urandom(excel.MAX_UPLOAD_BYTES - 1), "The file is larger than 5 MB"),
    "only the header": (lambda: xlsx([]), "The file has no rows below the header."),
    "an empty sheet": (_empty_sheet, "The first row of the first sheet must hold the column headers"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_message_and_nothing_is_imported(client, db, contest, organizer, case):
    make, message = BAD_FILES[case]
    data = make()
    before = counts()
    response = upload(client, "XL26", data, name="teams.xlsx")
    assert response.status_code == 200
    row = 1 if case == "an empty sheet" else None
    assert_problem(response, row, None, message)
    assert counts() == before


def test_a_file_far_over_the_limit_is_refused_before_it_is_read(client, db, contest, organizer):
    before = counts()
    response = upload(client, "XL26", os.urandom(6 * 1024 * 1024))
    assert response.status_code == 413
    assert_problem(response, None, None, "The file is larger than 5 MB; please split it into several files.")
    assert counts() == before


def test_a_post_without_a_file_asks_for_one(client, db, contest, organizer):
    response = client.post("/competitions/XL26/teams/import", data={}, headers=EN)
    assert response.status_code == 200 and "Please choose an .xlsx file." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        (lambda h: h.remove(header("student_number")), header("student_number"), "This column is missing."),
        (lambda h: h.append("备注 Notes"), "备注 Notes", "Unknown column; please use the columns of the template."),
        (lambda h: h.append("姓名"), "姓名", "This column appears twice."),
    ],
)
def test_wrong_columns_are_reported(client, db, contest, organizer, change, column, message):
    headers = list(HEADERS)
    change(headers)
    rows = [[*row, None] for row in base_rows()]
    before = counts()
    response = upload(client, "XL26", xlsx(rows, headers))
    assert_problem(response, 1, column, message)
    assert counts() == before


def test_the_state_column_and_a_missing_member_institution_column_are_fine(client, db, contest, organizer):
    position = KEYS.index("member_institution")
    headers = [h for i, h in enumerate(HEADERS) if i != position] + [excel.STATE_COLUMN.header]
    rows = [[v for i, v in enumerate(row) if i != position] + ["Withdrawn"] for row in base_rows()]
    assert upload(client, "XL26", xlsx(rows, headers)).status_code == 302
    assert {team.state for team in db.session.scalars(select(Team))} == {TeamState.APPROVED}


def test_validation_reports_lazy_messages_in_the_language_in_use(app, db, contest):
    actor = factories.user()
    rows = base_rows()
    for index in range(4):
        _set(rows, index, "track", "nope")
    with app.test_request_context(), force_locale("en"):
        problems = excel.validate_import(contest, io.BytesIO(xlsx(rows)), actor, None)
        assert isinstance(problems, list)
        assert [(p.row, p.column) for p in problems] == [(2, header("track"))]
        assert str(problems[0].message).startswith("Unknown track code “nope”")
    assert counts()["teams"] == 0


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_with_csrf_on_a_large_upload_needs_the_token_and_imports(client, db, contest, organizer):
    """As in production: the token is checked once the upload's own limits apply (a binary file of
    several hundred KB used to trip the 64 KB form-field memory limit)."""
    data = xlsx(base_rows())
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as target:
            for name in source.namelist():
                target.writestr(name, source.read(name))
            target.writestr("xl/media/picture.bin", os.urandom(400 * 1024))  # an embedded picture, say
    data = buffer.getvalue()
    before = counts()
    no_token = upload(client, "XL26", data)
    assert no_token.status_code == 400 and counts() == before
    page = client.get("/competitions/XL26/teams/import", headers=EN).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/competitions/XL26/teams/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "teams.xlsx")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 302, problems_in(response)
    assert counts()["teams"] == before["teams"] + 2


def test_a_team_registered_between_the_check_and_the_import_leaves_nothing_half_imported(
    client, db, contest, organizer, monkeypatch
):
    real_validate = excel.validate_import

    def validate_then_lose_the_race(competition, stream, actor, scope):
        plan = real_validate(competition, stream, actor, scope)
        factories.team(competition, name="星火队")  # another request takes the name and commits first
        db.session.commit()
        return plan

    monkeypatch.setattr(excel, "validate_import", validate_then_lose_the_race)
    before = counts()
    response = upload(client, "XL26", xlsx(base_rows()))
    assert response.status_code == 409
    assert_problem(response, None, None, "Something changed while the file was imported")
    assert counts() == {
        **before,
        "teams": before["teams"] + 1,
        "team_members": before["team_members"] + 3,
        "users": before["users"] + 3,
    }  # only the other request's team
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("team.import%")))
        == 0
    )
