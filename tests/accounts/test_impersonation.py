"""Support views the site as someone else: a banner on every page, audited, sensitive actions refused."""

from __future__ import annotations

from sqlalchemy import select

from competition.accounts.models import User
from competition.core.audit import AuditEntry
from competition.extensions import db
from tests import factories

EN = {"Accept-Language": "en"}


def _start(client, login_as, **target_fields):
    admin = login_as("admin", locale="en")
    target = factories.user(real_name="王小明", locale="en", **target_fields)
    db.session.commit()
    response = client.post(f"/admin/users/{target.id}/impersonate")
    return admin, target, response


def _actions(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_admin_views_the_site_as_a_person_with_a_banner_on_every_page(client, login_as):
    admin, target, response = _start(client, login_as)
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    for path in ("/account/", "/teams/", "/"):
        page = client.get(path, headers=EN).get_data(as_text=True)
        assert 'data-testid="impersonation-banner"' in page, path
        assert f"You are viewing the site as 王小明 ({target.email})" in page
        assert "Return to your account" in page
    assert "Logged in as 王小明" in client.get("/account/", headers=EN).get_data(as_text=True)
    # the person is no admin: the admin area is closed while viewing as them
    assert client.get("/admin/users").status_code == 403
    entry = _actions("user.impersonate_start")[0]
    assert entry.actor_id == admin.id and entry.object_id == str(target.id)


def test_the_persons_own_sessions_are_untouched(client, login_as):
    _, target, _ = _start(client, login_as)
    token = target.session_token
    assert db.session.get(User, target.id).session_token == token
    client.post("/account/security/impersonation/stop")
    assert db.session.get(User, target.id).session_token == token


def test_stop_returns_to_the_admin_and_is_audited(client, login_as):
    admin, target, _ = _start(client, login_as)
    response = client.post("/account/security/impersonation/stop", headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{target.id}"
    page = client.get(f"/admin/users/{target.id}", headers=EN).get_data(as_text=True)
    assert response.status_code == 302 and "impersonation-banner" not in page
    assert "You are back in your own account." in page
    entry = _actions("user.impersonate_stop")[0]
    assert entry.actor_id == admin.id and entry.object_id == str(target.id)


def test_sensitive_actions_are_refused_while_viewing_as_someone(client, login_as):
    _, target, _ = _start(client, login_as)
    other = factories.user()
    db.session.commit()
    for method, path in (
        ("GET", "/account/password"),
        ("POST", "/account/password"),
        ("GET", "/account/security/two-factor"),
        ("POST", "/account/security/two-factor/enable"),
        ("POST", "/account/security/two-factor/disable"),
        ("POST", "/account/security/two-factor/recovery-codes"),
        ("POST", f"/admin/users/{other.id}/impersonate"),
    ):
        response = client.open(path, method=method, headers=EN)
        assert response.status_code == 403, path
        assert "While you view the site as someone else, this is not allowed" in response.get_data(as_text=True)
    assert db.session.get(User, target.id).password_hash == target.password_hash
    assert not _actions("user.password_change")


def test_switching_the_language_does_not_change_the_persons_setting(client, login_as):
    _, target, _ = _start(client, login_as)
    client.post("/account/language", data={"locale": "zh_Hans_CN"})
    assert db.session.get(User, target.id).locale == "en"


def test_admins_and_disabled_accounts_cannot_be_viewed_as(client, login_as):
    admin = login_as("admin", locale="en")
    other_admin = factories.user(is_admin=True)
    disabled = factories.user(is_disabled=True)
    db.session.commit()
    for target, message in ((other_admin, "another admin"), (disabled, "a disabled account"), (admin, "already")):
        response = client.post(f"/admin/users/{target.id}/impersonate", headers=EN)
        assert response.headers["Location"] == f"/admin/users/{target.id}"
        assert message in client.get("/", headers=EN).get_data(as_text=True)
        assert "impersonation-banner" not in client.get("/account/").get_data(as_text=True)
    assert not _actions("user.impersonate_start")


def test_non_admins_cannot_impersonate(client, login_as):
    login_as("organizer")
    target = factories.user()
    db.session.commit()
    assert client.post(f"/admin/users/{target.id}/impersonate").status_code == 403


def test_log_out_while_viewing_as_someone_ends_both_and_is_audited(client, login_as):
    admin, target, _ = _start(client, login_as)
    client.post("/account/logout")
    assert client.get("/account/").status_code == 302
    with client.session_transaction() as session:
        assert "impersonator" not in session
    assert _actions("user.impersonate_stop")[0].actor_id == admin.id


def test_stop_after_the_admin_was_logged_out_elsewhere_asks_for_a_new_log_in(client, login_as):
    admin, _, _ = _start(client, login_as)
    db.session.get(User, admin.id).session_token = "ended-by-a-password-change"
    db.session.commit()
    response = client.post("/account/security/impersonation/stop")
    assert response.headers["Location"] == "/account/login"
    assert client.get("/account/").status_code == 302


def test_stop_without_impersonating_just_goes_home(client, login_as):
    login_as()
    assert client.post("/account/security/impersonation/stop").headers["Location"] == "/account/"


def test_what_is_done_while_viewing_as_someone_names_the_admin_too(client, login_as):
    admin, target, _ = _start(client, login_as)
    form = {"real_name": "王小明", "institution": str(target.institution_id), "phone": "", "locale": "en"}
    assert client.post("/account/profile", data=form | {"real_name": "王晓明"}).status_code == 302
    (entry,) = _actions("user.profile_update")
    assert entry.actor_id == target.id and entry.details["impersonated_by"] == admin.id
    client.post("/account/security/impersonation/stop")
    client.post("/account/profile", data={**form, "real_name": "李雷"})  # the admin's own change now
    (own,) = [entry for entry in _actions("user.profile_update") if entry.actor_id == admin.id]
    assert "impersonated_by" not in own.details
