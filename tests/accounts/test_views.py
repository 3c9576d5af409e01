"""Account pages through HTTP, as a browser would use them (BAD_INPUTS.md, "Accounts")."""

import re
import time

import pytest
from sqlalchemy import func, select

from competition.accounts import services
from competition.accounts.models import User
from competition.core.mail import OutboxMessage
from competition.extensions import db
from tests import factories


def _register_form(**overrides):
    institution = factories.institution("UESTC")
    db.session.commit()
    form = {
        "email": "li.ming@example.edu.cn",
        "password": "a good password",
        "password_confirm": "a good password",
        "real_name": "李明",
        "institution": str(institution.id),
        "phone": "",
        "agree_privacy": "y",
    }
    form.update(overrides)
    return form


def _link(message, path_part: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"http://localhost(/account/{path_part}/\S+)", body).group(1)


def _page(response, *addresses: str) -> str:
    """The page with the given addresses and the (time-stamped) CSRF tokens blanked, for comparing."""
    text = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', response.get_data(as_text=True))
    for address in addresses:
        text = text.replace(address, "ADDRESS")
    return text


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_register_verify_and_log_in_end_to_end(client, db, outbox):
    response = client.post("/account/register", data=_register_form())
    assert response.status_code == 200
    assert "li.ming@example.edu.cn" in response.get_data(as_text=True)
    [message] = outbox
    assert message["To"] == "li.ming@example.edu.cn"
    assert message["Subject"] == "请验证您的电子邮箱"

    response = client.get(_link(message, "verify"), follow_redirects=True)
    assert "已验证成功" in response.get_data(as_text=True)

    response = client.post("/account/login", data={"email": "LI.MING@example.edu.cn", "password": "a good password"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert "李明" in client.get("/account/").get_data(as_text=True)


def test_register_keeps_what_was_typed_and_names_every_problem(client, db):
    response = client.post(
        "/account/register",
        data=_register_form(email="not-an-address", password="short", password_confirm="other", real_name="张三丰"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "电子邮箱地址无效" in page
    assert "密码至少需要 8 个字符" in page
    assert 'value="not-an-address"' in page and 'value="张三丰"' in page
    assert _count(db, User) == 0


def test_register_refuses_a_name_of_only_zero_width_characters(client, db):
    response = client.post("/account/register", data=_register_form(real_name="\u200b\u200c\u2060"))
    assert "请输入真实姓名" in response.get_data(as_text=True)
    assert _count(db, User) == 0


def test_register_with_a_taken_address_answers_like_a_new_one(client, db, outbox):
    factories.user(email="taken@example.edu.cn")
    db.session.commit()
    new = client.post("/account/register", data=_register_form(email="fresh@example.edu.cn"))
    taken = client.post("/account/register", data=_register_form(email="taken@example.edu.cn"))
    assert new.status_code == taken.status_code == 200
    assert _page(new, "fresh@example.edu.cn") == _page(taken, "taken@example.edu.cn")
    assert sorted(m["To"] for m in outbox) == ["fresh@example.edu.cn", "taken@example.edu.cn"]
    assert _count(db, User) == 2


def test_register_ignores_over_posted_fields(client, db):
    form = _register_form(
        role="admin", is_admin="1", team_id="7", status="approved", award="gold", email_verified_at="x"
    )
    client.post("/account/register", data=form)
    user = db.session.scalar(select(User))
    assert not user.is_admin and not user.is_verified and user.roles == []


def test_phone_is_validated_and_stored_in_international_form(client, db):
    bad = client.post("/account/register", data=_register_form(phone="12345"))
    assert "请输入有效的电话号码" in bad.get_data(as_text=True)
    client.post("/account/register", data=_register_form(phone="138 0013 8000"))
    assert db.session.scalar(select(User.phone)) == "+8613800138000"


def test_unverified_account_cannot_log_in_and_is_offered_a_new_link(client, db):
    factories.user(email="new@example.edu.cn", password="right password", verified=False)
    db.session.commit()
    response = client.post("/account/login", data={"email": "new@example.edu.cn", "password": "right password"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "/account/verify" in page
    assert "_user_id" not in (client.get_cookie("session").value if client.get_cookie("session") else "")


def test_wrong_password_and_unknown_address_look_the_same(client, db):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    unknown = client.post("/account/login", data={"email": "nobody@example.edu.cn", "password": "whatever 123"})
    wrong = client.post("/account/login", data={"email": "li@example.edu.cn", "password": "whatever 123"})
    assert unknown.status_code == wrong.status_code == 200
    assert _page(unknown, "nobody@example.edu.cn") == _page(wrong, "li@example.edu.cn")


def test_remember_me_sets_a_long_lived_http_only_cookie(client, db):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    client.post("/account/login", data={"email": "li@example.edu.cn", "password": "right password", "remember": "y"})
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only and cookie.expires is not None


def test_session_cookie_is_http_only_and_same_site_lax(client, db):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    response = client.post("/account/login", data={"email": "li@example.edu.cn", "password": "right password"})
    header = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in header and "SameSite=Lax" in header


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " //evil.example",
    ],
)
def test_next_never_leaves_the_site(client, db, target):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    response = client.post(
        "/account/login",
        query_string={"next": target},
        data={"email": "li@example.edu.cn", "password": "right password"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/account/"


def test_next_inside_the_site_is_followed(client, db):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    response = client.post(
        "/account/login",
        query_string={"next": "/account/profile"},
        data={"email": "li@example.edu.cn", "password": "right password"},
    )
    assert response.headers["Location"] == "/account/profile"


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_login_without_csrf_token_is_refused_with_400_and_no_session(client, db):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    response = client.post("/account/login", data={"email": "li@example.edu.cn", "password": "right password"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_many_wrong_passwords_from_rotating_forwarded_addresses_are_throttled_per_account(client, db):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    statuses = []
    for attempt in range(7):
        response = client.post(
            "/account/login",
            data={"email": "li@example.edu.cn", "password": f"wrong {attempt}"},
            headers={"X-Forwarded-For": f"10.0.0.{attempt}"},
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
    assert int(response.headers["Retry-After"]) > 0
    assert "操作过于频繁" in response.get_data(as_text=True)


def test_successful_log_ins_do_not_use_up_the_throttle(client, db):
    factories.user(email="li@example.edu.cn", password="right password")
    db.session.commit()
    for _ in range(8):
        response = client.post("/account/login", data={"email": "li@example.edu.cn", "password": "right password"})
        assert response.status_code == 302
        client.post("/account/logout")


def _remote_address_seen_by_the_app(app, headers) -> str:
    seen = {}

    @app.get("/_probe")
    def probe():
        from flask import request

        seen["addr"] = request.remote_addr
        return "ok"

    app.test_client().get("/_probe", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.9"})
    return seen["addr"]


@pytest.mark.app_config(TRUSTED_PROXIES=0)  # an app of its own: the test adds a route
def test_forwarded_for_is_ignored_without_a_configured_proxy(app):
    assert _remote_address_seen_by_the_app(app, {"X-Forwarded-For": "203.0.113.7"}) == "127.0.0.9"


@pytest.mark.app_config(TRUSTED_PROXIES=1)
def test_forwarded_for_is_used_behind_one_trusted_proxy(app):
    assert _remote_address_seen_by_the_app(app, {"X-Forwarded-For": "203.0.113.7"}) == "203.0.113.7"


def test_reset_request_answers_the_same_for_known_and_unknown_addresses(client, db, outbox):
    factories.user(email="known@example.edu.cn")
    db.session.commit()
    known = client.post("/account/password/forgot", data={"email": "known@example.edu.cn"})
    unknown = client.post("/account/password/forgot", data={"email": "unknown@example.edu.cn"})
    assert known.status_code == unknown.status_code == 200
    assert _page(known, "known@example.edu.cn") == _page(unknown, "unknown@example.edu.cn")
    assert [m["To"] for m in outbox] == ["known@example.edu.cn"]


def test_reset_link_uses_the_configured_base_url_whatever_the_host_header(app, client, db, outbox):
    app.config["TRUSTED_HOSTS"] = None  # accept any Host, to prove the link ignores it anyway
    factories.user(email="known@example.edu.cn")
    db.session.commit()
    client.post(
        "/account/password/forgot",
        data={"email": "known@example.edu.cn"},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    body = outbox[0].get_body(preferencelist=("plain",)).get_content()
    assert "evil.example" not in body and "http://localhost/account/password/reset/" in body


def test_unknown_host_header_is_refused(client):
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_password_reset_flow_logs_out_other_sessions_and_works_once(app, client, db, outbox):
    user = factories.user(email="known@example.edu.cn", password="old password 1")
    db.session.commit()
    other_device = app.test_client()
    other_device.post("/account/login", data={"email": "known@example.edu.cn", "password": "old password 1"})
    assert other_device.get("/account/").status_code == 200

    client.post("/account/password/forgot", data={"email": "known@example.edu.cn"})
    link = _link(outbox[0], "password/reset")
    response = client.post(link, data={"password": "new password 2", "password_confirm": "new password 2"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/login"

    assert other_device.get("/account/").status_code == 302
    again = client.post(
        link, data={"password": "third password 3", "password_confirm": "third password 3"}, follow_redirects=True
    )
    assert "链接无效或已过期" in again.get_data(as_text=True)
    assert services.authenticate("known@example.edu.cn", "new password 2") == db.session.get(User, user.id)


def test_change_password_keeps_this_session_and_ends_the_others(app, client, db):
    factories.user(email="li@example.edu.cn", password="old password 1")
    db.session.commit()
    other_device = app.test_client()
    for device in (client, other_device):
        device.post(
            "/account/login", data={"email": "li@example.edu.cn", "password": "old password 1", "remember": "y"}
        )
    response = client.post(
        "/account/password",
        data={"current_password": "old password 1", "password": "new password 2", "password_confirm": "new password 2"},
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert other_device.get("/account/").status_code == 302  # remember-me cookie too


def test_change_password_with_a_wrong_current_password_changes_nothing(client, db, login_as):
    user = login_as(password="old password 1")
    before = user.password_hash
    response = client.post(
        "/account/password",
        data={"current_password": "wrong", "password": "new password 2", "password_confirm": "new password 2"},
    )
    assert "当前密码不正确" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_disabled_account_loses_its_session_at_once(client, db, login_as):
    user = login_as()
    assert client.get("/account/").status_code == 200
    admin = factories.user(is_admin=True)
    services.set_disabled(db.session.get(User, user.id), actor=admin, disabled=True)
    db.session.commit()
    assert client.get("/account/").status_code == 302


def test_removed_role_applies_at_once(client, db, login_as):
    contest = factories.competition(code="CY2026")
    user = login_as("organizer", competition=contest)
    assert client.get("/competitions/CY2026/people").status_code == 200
    grant = user.roles[0]
    services.revoke_role(actor=user, grant=grant)
    db.session.commit()
    assert client.get("/competitions/CY2026/people").status_code == 403


def test_one_megabyte_password_is_refused_fast_without_hashing(client, db):
    started = time.perf_counter()
    response = client.post("/account/login", data={"email": "li@example.edu.cn", "password": "x" * 1_000_000})
    assert response.status_code == 413
    assert time.perf_counter() - started < 1.0
    assert "超出了此页面允许的大小上限" in response.get_data(as_text=True)


def test_long_password_below_the_form_limit_is_refused_by_length(client, db):
    response = client.post("/account/login", data={"email": "li@example.edu.cn", "password": "x" * 5000})
    assert response.status_code == 200 and "最多 256 个字符" in response.get_data(as_text=True)


def test_five_thousand_character_email_is_refused_fast(client, db):
    started = time.perf_counter()
    response = client.post("/account/register", data=_register_form(email="a" * 4990 + "@example.cn"))
    assert "最多 254 个字符" in response.get_data(as_text=True)
    assert time.perf_counter() - started < 1.0
    assert _count(db, User) == 0


def test_logout_by_get_is_not_allowed(client, login_as):
    login_as()
    assert client.get("/account/logout").status_code == 405
    assert client.get("/account/").status_code == 200


def test_profile_edit_saves_and_keeps_input_on_error(client, db, login_as):
    user = login_as()
    cqu = factories.institution("CQU")
    db.session.commit()
    bad = client.post(
        "/account/profile", data={"real_name": "", "institution": str(cqu.id), "phone": "", "locale": "en"}
    )
    assert bad.status_code == 200 and "请输入真实姓名" in bad.get_data(as_text=True)
    ok = client.post(
        "/account/profile", data={"real_name": "王小明", "institution": str(cqu.id), "phone": "", "locale": "en"}
    )
    assert ok.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.real_name, user.institution.code, user.locale) == ("王小明", "CQU", "en")
    assert "Profile" in client.get("/account/profile").get_data(as_text=True)


def test_profile_refuses_an_unknown_institution(client, db, login_as):
    login_as()
    response = client.post(
        "/account/profile", data={"real_name": "王小明", "institution": "99999", "locale": "zh_Hans_CN"}
    )
    assert response.status_code == 200 and "不是有效的选择" in response.get_data(as_text=True)


def test_resend_verification_answers_the_same_for_any_address(client, db, outbox):
    factories.user(email="new@example.edu.cn", verified=False)
    factories.user(email="done@example.edu.cn")
    db.session.commit()
    pages = [
        _page(client.post("/account/verify", data={"email": address}), address)
        for address in ("new@example.edu.cn", "done@example.edu.cn", "none@example.edu.cn")
    ]
    assert pages[0] == pages[1] == pages[2]
    assert [m["To"] for m in outbox] == ["new@example.edu.cn"]
    assert _count(db, OutboxMessage) == 1


def test_welcome_message_is_in_the_users_own_language(client, db):
    factories.user(email="en@example.edu.cn", password="right password", locale="en", real_name="Li")
    db.session.commit()
    page = client.post(
        "/account/login", data={"email": "en@example.edu.cn", "password": "right password"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Welcome back, Li." in page
