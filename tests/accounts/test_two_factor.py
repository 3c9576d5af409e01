"""Two-factor log-in (TOTP): enrolment, the log-in's second step, recovery codes, staff must use it."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from competition.accounts import two_factor
from competition.accounts.models import User
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.extensions import db
from tests import factories

EN = {"Accept-Language": "en"}
EMAIL = "li@example.edu.cn"


def _with_two_factor(**fields) -> tuple[User, str, list[str]]:
    """A user with two-factor log-in on; returns the user, the secret and the recovery codes.

    The enrolment code is from 30 s ago, so the current code is still unused."""
    user = factories.user(email=EMAIL, locale="en", **fields)
    secret = two_factor.new_secret()
    codes = two_factor.enable(user, secret=secret, code=pyotp.TOTP(secret).at(time.time() - 30))
    db.session.commit()
    return user, secret, codes


def _password_step(client, email=EMAIL, **extra):
    return client.post("/account/login", data={"email": email, "password": factories.PASSWORD, **extra}, headers=EN)


def _code_step(client, code):
    return client.post("/account/security/login-code", data={"code": code}, headers=EN)


def _actions(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


# --- the log-in ---------------------------------------------------------------------------------------


def test_log_in_asks_for_the_code_after_the_password_and_then_signs_in(client, db):
    user, secret, _ = _with_two_factor()
    response = _password_step(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account/security/login-code"
    assert client.get("/account/", headers=EN).status_code == 302  # not logged in yet
    page = client.get("/account/security/login-code", headers=EN).get_data(as_text=True)
    assert "type the 6-digit code" in page
    done = _code_step(client, pyotp.TOTP(secret).now())
    assert done.status_code == 302 and done.headers["Location"] == "/account/"
    assert "Logged in as" in client.get("/account/", headers=EN).get_data(as_text=True)
    login = _actions("user.login")
    assert len(login) == 1 and login[0].details == {"two_factor": "totp"}
    assert len(_actions("user.login_password")) == 1
    assert db.session.get(User, user.id).last_login_at is not None


def test_second_step_keeps_the_next_page(client, db):
    _, secret, _ = _with_two_factor()
    client.post(
        "/account/login",
        query_string={"next": "/account/profile"},
        data={"email": EMAIL, "password": factories.PASSWORD},
    )
    assert _code_step(client, pyotp.TOTP(secret).now()).headers["Location"] == "/account/profile"


def test_wrong_code_is_refused_and_nobody_is_logged_in(client, db):
    user, secret, _ = _with_two_factor()
    _password_step(client)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
    response = _code_step(client, wrong)
    assert response.status_code == 200
    assert "This code is not correct or has already been used" in response.get_data(as_text=True)
    assert client.get("/account/", headers=EN).status_code == 302
    assert [entry.object_id for entry in _actions("user.two_factor_failed")] == [str(user.id)]
    assert _code_step(client, "not a code").status_code == 200


def test_a_code_cannot_be_used_twice(client, db):
    _, secret, _ = _with_two_factor()
    code = pyotp.TOTP(secret).now()
    _password_step(client)
    assert _code_step(client, code).status_code == 302
    client.post("/account/logout")
    _password_step(client)
    replay = _code_step(client, code)
    assert replay.status_code == 200 and "already been used" in replay.get_data(as_text=True)
    assert client.get("/account/").status_code == 302
    # the next 30-second code works
    with freeze_time(utcnow() + timedelta(seconds=30)):
        assert _code_step(client, pyotp.TOTP(secret).now()).status_code == 302


def test_an_older_code_than_the_last_used_one_is_refused_too(app, db):
    user, secret, _ = _with_two_factor()
    now = time.time()
    assert two_factor.check_code(user, pyotp.TOTP(secret).at(now)) == "totp"
    assert two_factor.check_code(user, pyotp.TOTP(secret).at(now - 30)) is None
    assert two_factor.check_code(user, pyotp.TOTP(secret).at(now + 30)) == "totp"  # clock drift: one step
    assert two_factor.check_code(user, pyotp.TOTP(secret).at(now + 120)) is None  # too far ahead


def test_a_recovery_code_works_once(client, db):
    user, _, codes = _with_two_factor()
    _password_step(client)
    response = _code_step(client, codes[3].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 302
    assert "9 are left" in client.get("/account/", headers=EN).get_data(as_text=True)
    assert _actions("user.login")[0].details == {"two_factor": "recovery"}
    client.post("/account/logout")
    _password_step(client)
    assert _code_step(client, codes[3]).status_code == 200
    assert two_factor.recovery_codes_left(db.session.get(User, user.id)) == 9


def test_recovery_codes_are_stored_hashed_only(app, db):
    user, secret, codes = _with_two_factor()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes)
    stored = db.session.get(User, user.id).totp_recovery_hashes
    assert len(stored) == 10 and not {code.replace("-", "") for code in codes} & set(stored)
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in stored)


def test_the_second_step_expires_after_five_minutes(client, db):
    _, secret, _ = _with_two_factor()
    _password_step(client)
    with freeze_time(utcnow() + timedelta(minutes=5, seconds=5)):
        response = _code_step(client, pyotp.TOTP(secret).now())
        assert response.status_code == 302 and response.headers["Location"] == "/account/login"
        # (inside the frozen time: a session cookie signed "in the future" would be refused afterwards)
        assert "took too long" in client.get("/account/login", headers=EN).get_data(as_text=True)
        assert client.get("/account/").status_code == 302
        # and the expired marker is gone: the code page sends back to the log-in
        assert client.get("/account/security/login-code").headers["Location"] == "/account/login"


def test_a_password_change_elsewhere_voids_the_pending_second_step(client, db):
    user, secret, _ = _with_two_factor()
    _password_step(client)
    db.session.get(User, user.id).session_token = "changed-elsewhere"
    db.session.commit()
    assert _code_step(client, pyotp.TOTP(secret).now()).headers["Location"] == "/account/login"


def test_half_logged_in_session_opens_no_signed_in_page(client, db):
    _with_two_factor()
    _password_step(client)
    for path in ("/account/", "/account/profile", "/account/password", "/teams/", "/account/security/two-factor"):
        response = client.get(path)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], path


def test_the_code_page_without_a_password_first_goes_to_the_log_in(client):
    assert client.get("/account/security/login-code").headers["Location"] == "/account/login"
    assert _code_step(client, "123456").headers["Location"] == "/account/login"


def test_wrong_codes_are_throttled_per_account(client, db):
    _, secret, _ = _with_two_factor()
    _password_step(client)
    statuses = [_code_step(client, "000000").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = _code_step(client, pyotp.TOTP(secret).now())
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_log_in_without_two_factor_is_unchanged(client, db):
    factories.user(email=EMAIL)
    db.session.commit()
    assert _password_step(client).headers["Location"] == "/account/"


# --- turning it on and off ----------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_key_and_needs_a_valid_code(client, login_as):
    user = login_as(locale="en")
    page = client.get("/account/security/two-factor", headers=EN).get_data(as_text=True)
    assert '<img src="data:image/svg+xml;' in page and 'alt="QR code for your authenticator app"' in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert len(secret) == 32
    # the same key until confirmed: a reload does not invalidate what the phone scanned
    again = client.get("/account/security/two-factor", headers=EN).get_data(as_text=True)
    assert secret in again.replace(" ", "")
    wrong = client.post("/account/security/two-factor/enable", data={"code": "000000"}, headers=EN)
    assert wrong.status_code == 200 and "This code is not correct" in wrong.get_data(as_text=True)
    assert not db.session.get(User, user.id).has_two_factor
    done = client.post(
        "/account/security/two-factor/enable", data={"code": pyotp.TOTP(secret).now()}, headers=EN
    ).get_data(as_text=True)
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done)
    assert len(codes) == 10 and "shown only now" in done
    fresh = db.session.get(User, user.id)
    assert fresh.has_two_factor and fresh.totp_secret == secret
    assert [entry.action for entry in _actions("user.two_factor_enable")] == ["user.two_factor_enable"]
    status = client.get("/account/security/two-factor", headers=EN).get_data(as_text=True)
    assert "Unused recovery codes: 10" in status and secret not in status.replace(" ", "")


def test_enrolling_without_having_seen_a_key_goes_back_to_the_page(client, login_as):
    login_as()
    response = client.post("/account/security/two-factor/enable", data={"code": "123456"})
    assert response.headers["Location"] == "/account/security/two-factor"


def test_turning_it_off_needs_the_password_and_a_code(client, login_as):
    user, secret, _ = _with_two_factor()
    login_as(user=user)
    no_password = client.post(
        "/account/security/two-factor/disable",
        data={"password": "wrong password", "code": pyotp.TOTP(secret).now()},
        headers=EN,
    )
    assert "The password is not correct" in no_password.get_data(as_text=True)
    no_code = client.post(
        "/account/security/two-factor/disable", data={"password": factories.PASSWORD, "code": "000000"}, headers=EN
    )
    assert "This code is not correct" in no_code.get_data(as_text=True)
    assert db.session.get(User, user.id).has_two_factor
    with freeze_time(utcnow() + timedelta(seconds=30)):
        off = client.post(
            "/account/security/two-factor/disable",
            data={"password": factories.PASSWORD, "code": pyotp.TOTP(secret).now()},
        )
    assert off.status_code == 302
    fresh = db.session.get(User, user.id)
    assert not fresh.has_two_factor and fresh.totp_secret is None and fresh.totp_recovery_hashes is None
    assert len(_actions("user.two_factor_disable")) == 1


def test_new_recovery_codes_replace_the_old_ones(client, login_as):
    user, secret, old = _with_two_factor()
    login_as(user=user)
    page = client.post("/account/security/two-factor/recovery-codes", data={"code": pyotp.TOTP(secret).now()}).get_data(
        as_text=True
    )
    new = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", page)
    assert len(new) == 10 and not set(new) & set(old)
    fresh = db.session.get(User, user.id)
    assert two_factor.check_code(fresh, old[0]) is None and two_factor.check_code(fresh, new[0]) == "recovery"


# --- staff must use it ------------------------------------------------------------------------------


@pytest.mark.app_config(TWO_FACTOR_REQUIRED_FOR_STAFF=True)
@pytest.mark.parametrize("role", ["admin", "organizer", "institution_organizer"])
def test_staff_without_two_factor_are_sent_to_the_enrolment_page(client, login_as, role):
    if role == "institution_organizer":
        user = factories.user(locale="en")
        factories.grant(user, factories.competition(), role)
        login_as(user=user)
    else:
        login_as(role, locale="en")
    for path in ("/admin/users", "/account/", "/teams/", "/"):
        response = client.get(path, headers=EN)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/security/two-factor"
    page = client.get("/account/security/two-factor", headers=EN).get_data(as_text=True)
    assert "Admins and organizers must" in page
    # log-out and the language switch still work
    assert client.post("/account/language", data={"locale": "zh_Hans_CN"}).status_code == 302
    assert client.post("/account/logout").status_code == 302


@pytest.mark.app_config(TWO_FACTOR_REQUIRED_FOR_STAFF=True)
def test_staff_may_continue_once_enrolled_and_cannot_turn_it_off(client, login_as):
    admin, secret, _ = _with_two_factor(is_admin=True)
    login_as(user=admin)
    assert client.get("/admin/users").status_code == 200
    with freeze_time(utcnow() + timedelta(seconds=30)):
        response = client.post(
            "/account/security/two-factor/disable",
            data={"password": factories.PASSWORD, "code": pyotp.TOTP(secret).now()},
            headers=EN,
        )
    assert "must keep two-factor log-in on" in response.get_data(as_text=True)
    assert db.session.get(User, admin.id).has_two_factor


@pytest.mark.app_config(TWO_FACTOR_REQUIRED_FOR_STAFF=True)
def test_staff_log_in_ends_on_the_enrolment_page_and_students_are_not_asked(client, db):
    factories.user(email="admin@example.edu.cn", is_admin=True)
    factories.user(email="student@example.edu.cn")
    db.session.commit()
    _password_step(client, email="admin@example.edu.cn")
    assert client.get("/account/").headers["Location"] == "/account/security/two-factor"
    client.post("/account/logout")
    _password_step(client, email="student@example.edu.cn")
    assert client.get("/account/").status_code == 200


def test_not_required_in_the_test_configuration_by_default(client, login_as):
    login_as("admin")
    assert client.get("/admin/users").status_code == 200


def test_admin_resets_a_lost_two_factor_and_the_person_logs_in_with_the_password(client, login_as):
    user, _, _ = _with_two_factor()
    admin = login_as("admin")
    response = client.post(f"/admin/users/{user.id}/reset-two-factor")
    assert response.status_code == 302
    assert not db.session.get(User, user.id).has_two_factor
    entry = _actions("user.two_factor_reset")[0]
    assert entry.actor_id == admin.id and entry.object_id == str(user.id)
    client.post("/account/logout")
    assert _password_step(client).headers["Location"] == "/account/"


def test_reset_of_someone_without_two_factor_is_refused_with_a_message(app, db, english):
    admin = factories.user(is_admin=True)
    user = factories.user()
    with pytest.raises(DomainError, match="has not turned two-factor log-in on"):
        two_factor.reset_by_admin(user, actor=admin)
