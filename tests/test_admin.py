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


# --- people: filters, admin rights, reset links ------------------------------------------------------


def test_people_list_filters_by_role_and_status(client, login_as):
    from competition.core.time import utcnow

    admin = login_as("admin", real_name="管理员甲")
    contest = factories.competition()
    judge = factories.user(real_name="评委乙")
    factories.grant(judge, contest, "judge")
    factories.user(real_name="停用丙", is_disabled=True)
    factories.user(real_name="两步丁", totp_secret="A" * 32, totp_enabled_at=utcnow())
    db.session.commit()

    def names(**query):
        page = client.get("/admin/users", query_string=query).get_data(as_text=True)
        return {name for name in ("管理员甲", "评委乙", "停用丙", "两步丁") if f">{name}</a>" in page}

    assert names(role="judge") == {"评委乙"}
    assert names(role="admin") == {admin.real_name}
    assert names(role="none") == {"停用丙", "两步丁"}
    assert names(state="disabled") == {"停用丙"}
    assert names(state="two_factor") == {"两步丁"}
    assert names(role="judge", state="disabled") == set()
    assert names(role="nonsense", state="nonsense") == {"管理员甲", "评委乙", "停用丙", "两步丁"}


def test_user_page_shows_competition_roles_with_links_and_history(client, login_as):
    login_as("admin", locale="en")
    contest = factories.competition(code="CY2026")
    person = factories.user()
    factories.grant(person, contest, "organizer")
    record(None, "user.login", person)
    db.session.commit()
    page = client.get(f"/admin/users/{person.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/competitions/CY2026/people"' in page and "Organizer" in page
    assert "user.login" in page and "required for admins and organizers" in page


def test_admin_grants_and_revokes_admin_rights_but_not_their_own(client, login_as):
    admin = login_as("admin", locale="en")
    person = factories.user()
    db.session.commit()
    client.post(f"/admin/users/{person.id}/grant-admin")
    assert db.session.get(User, person.id).is_admin
    client.post(f"/admin/users/{person.id}/revoke-admin")
    assert not db.session.get(User, person.id).is_admin
    client.post(f"/admin/users/{admin.id}/revoke-admin", headers={"Accept-Language": "en"})
    assert db.session.get(User, admin.id).is_admin
    page = client.get("/admin/users", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "You cannot change your own admin rights." in page
    from competition.core.audit import AuditEntry

    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(person.id)).order_by(AuditEntry.id)
    ).all()
    assert actions == ["user.grant_admin", "user.revoke_admin"]


def test_admin_sends_a_reset_link_that_works(client, login_as, outbox):
    login_as("admin")
    person = factories.user(email="forgot@example.edu.cn", locale="en")
    db.session.commit()
    assert client.post(f"/admin/users/{person.id}/send-reset").status_code == 302
    assert [message["To"] for message in outbox] == ["forgot@example.edu.cn"]
    body = outbox[0].get_body(preferencelist=("plain",)).get_content()
    import re

    link = re.search(r"http://localhost(/account/password/reset/\S+)", body).group(1)
    client.post("/account/logout")
    response = client.post(link, data={"password": "a new password", "password_confirm": "a new password"})
    assert response.status_code == 302
    from competition.core.audit import AuditEntry

    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "user.password_reset_sent"))


def test_no_reset_link_for_a_disabled_account(client, login_as, outbox):
    login_as("admin")
    person = factories.user(is_disabled=True)
    db.session.commit()
    client.post(f"/admin/users/{person.id}/send-reset")
    assert outbox == []


def test_admin_cannot_disable_themselves(client, login_as):
    admin = login_as("admin")
    client.post(f"/admin/users/{admin.id}/disable")
    assert not db.session.get(User, admin.id).is_disabled


def test_user_actions_are_post_only_and_need_admin(client, login_as):
    person = factories.user()
    db.session.commit()
    for action in ("grant-admin", "revoke-admin", "send-reset", "reset-two-factor", "impersonate"):
        assert client.get(f"/admin/users/{person.id}/{action}").status_code == 405
    login_as("organizer")
    for action in ("grant-admin", "send-reset", "reset-two-factor", "impersonate"):
        assert client.post(f"/admin/users/{person.id}/{action}").status_code == 403
    assert not db.session.get(User, person.id).is_admin
