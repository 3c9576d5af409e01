"""How long the Excel team import and export take for a full file (5,000 rows, the import's limit).

    .venv/bin/python benchmarks/excel_import.py [ROWS] [DATABASE_URL]

Builds a fresh database (SQLite in a temporary folder unless DATABASE_URL is given), writes a valid
workbook of ROWS people (teams of 5: a leader and four members), then times validate, import and
export. The last line is `excel rows=… teams=… validate_s=… import_s=… export_xlsx_s=…`.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from competition import create_app  # noqa: E402
from competition.extensions import db  # noqa: E402


def workbook(rows: int, columns) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([column.header for column in columns])
    for index in range(rows):
        team, position = divmod(index, 5)
        values = {
            "team_name": f"基准团队{team:04d}",
            "track": "idea",
            "institution": "SCU",
            "project_title": f"基准项目{team:04d}",
            "role": "负责人" if position == 0 else "成员",
            "real_name": f"学生{index:05d}",
            "email": f"bench{index:05d}@example.edu.cn",
            "student_number": f"2024{index:06d}",
            "department": "计算机学院",
            "major": "软件工程",
            "degree_level": "本科",
            "enrollment_year": 2024,
            "graduation_year": 2028,
        }
        sheet.append([values.get(column.key) for column in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    folder = tempfile.mkdtemp(prefix="bench-excel-")
    database_url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{folder}/bench.db"
    app = create_app({"APP_ENV": "testing", "INSTANCE_PATH": folder, "DATABASE_URL": database_url})
    with app.app_context():
        from flask_migrate import upgrade

        from competition.competitions.models import Competition, Track
        from competition.institutions.services import load_institutions
        from competition.teams import excel
        from tests import factories

        upgrade()
        load_institutions()
        contest = Competition(code="BENCH", year=2026, name_zh="基准", name_en="Bench", state="registration",
                              min_team_size=3, max_team_size=15)  # fmt: skip
        db.session.add(contest)
        db.session.add(Track(competition=contest, code="idea", name_zh="创意组", name_en="Idea"))
        actor = factories.user(is_admin=True)
        db.session.commit()
        data = workbook(rows, excel.COLUMNS)

        with app.test_request_context("/"):
            started = time.perf_counter()
            plan = excel.validate_import(contest, io.BytesIO(data), actor, None)
            validated = time.perf_counter()
            assert not isinstance(plan, list), plan[:5]
            excel.apply_import(plan, actor)
            db.session.commit()
            imported = time.perf_counter()
            exported = excel.export_xlsx(contest, None)
            done = time.perf_counter()
        print(
            f"file: {len(data) / 1024:.0f} KiB in, {len(exported) / 1024:.0f} KiB out, database {database_url.split(':')[0]}"
        )
        print(
            f"excel rows={rows} teams={rows // 5} validate_s={validated - started:.2f} "
            f"import_s={imported - validated:.2f} export_xlsx_s={done - imported:.2f}"
        )


if __name__ == "__main__":
    main()
