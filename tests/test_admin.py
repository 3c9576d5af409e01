"""The admin area: people, competitions, audit log, jobs."""

from sqlalchemy import select

from competition.accounts.models import User
from competition.competitions.models import Competition
from competition.core.audit import record
from competition.extensions import db
from tests import factories


def test_admin_finds_people_by_name_or_address(client, login_as):
    login_as("admin")
    factories.user(real_name="欧阳娜娜", email="nana@example.edu.cn")
    factories.user(real_name="张三", email="zhang@example.edu.cn")
    db.session.commit()
    page = client.get("/admin/users", query_string={"q": "欧阳"}).get_data(as_text=True)
    assert "欧阳娜娜" in page and "张三" not in page


def test_admin_disables_and_enables_an_account(client, login_as):
    login_as("admin")
    target = factories.user()
    db.session.commit()
    client.post(f"/admin/users/{target.id}/disable")
    assert db.session.get(User, target.id).is_disabled
    client.post(f"/admin/users/{target.id}/enable")
    assert not db.session.get(User, target.id).is_disabled


def test_admin_creates_a_competition_and_bad_codes_are_refused(client, login_as):
    login_as("admin")
    bad = client.post(
        "/admin/competitions", data={"code": "有空格 code", "year": "2026", "name_zh": "赛事", "name_en": "Contest"}
    )
    assert bad.status_code == 200 and 'value="有空格 code"' in bad.get_data(as_text=True)
    assert db.session.scalar(select(Competition)) is None
    good = client.post(
        "/admin/competitions", data={"code": "cy2026", "year": "2026", "name_zh": "赛事", "name_en": "Contest"}
    )
    assert good.status_code == 302
    assert db.session.scalar(select(Competition.code)) == "CY2026"
    duplicate = client.post(
        "/admin/competitions", data={"code": "CY2026", "year": "2026", "name_zh": "赛事", "name_en": "Contest"}
    )
    assert duplicate.status_code == 200 and db.session.query(Competition).count() == 1


def test_audit_log_page_shows_who_did_what(client, login_as):
    admin = login_as("admin")
    record(admin, "test.action", ("thing", 42), note="<b>bold</b>")
    db.session.commit()
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "test.action" in page and "thing 42" in page and "<b>bold</b>" not in page


def test_audit_entry_rolls_back_with_its_transaction(app):
    record(None, "test.rolled_back")
    db.session.rollback()
    from competition.core.audit import AuditEntry

    assert db.session.scalar(select(AuditEntry)) is None


def test_jobs_page_lists_jobs(client, login_as):
    from competition.core import jobs

    login_as("admin")
    jobs.enqueue("mail.deliver", message_id=0)
    db.session.commit()
    assert "mail.deliver" in client.get("/admin/jobs").get_data(as_text=True)
