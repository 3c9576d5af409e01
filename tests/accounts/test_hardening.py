"""Hardening (issue 9): security headers and every rate limit answer as documented.

Already proved elsewhere, not repeated here: nosniff, X-Frame-Options DENY and a CSP without
'unsafe-inline' on every page (tests/core/test_errors.py); wrong passwords throttled per account
with Retry-After (tests/accounts/test_views.py); wrong two-factor codes throttled per account
(tests/accounts/test_two_factor.py); certificate verification throttled with Retry-After
(tests/certificates/test_public_views.py); wrong invitation codes throttled (tests/teams/test_views.py).
"""

from __future__ import annotations

import pytest

from tests import factories

EN = {"Accept-Language": "en"}


def _throttled(response) -> bool:
    return response.status_code == 429 and int(response.headers["Retry-After"]) > 0


# --- headers -------------------------------------------------------------------------------------------


def test_csp_allows_no_inline_script_or_style_and_no_framing(client):
    csp = client.get("/account/login").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_referrer_policy_keeps_urls_on_the_site(client):
    assert client.get("/").headers["Referrer-Policy"] == "same-origin"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.app_config(TRUSTED_PROXIES=1)
def test_hsts_behind_a_trusted_https_proxy(client):
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in response.headers["Strict-Transport-Security"]


# --- rate limits: each answers 429 with Retry-After ------------------------------------------------------


def test_failed_log_ins_are_throttled_per_address(app, client, db):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    responses = [
        client.post("/account/login", data={"email": f"guess{i}@example.edu.cn", "password": "wrong"}) for i in range(4)
    ]
    assert [r.status_code for r in responses[:3]] == [200] * 3 and _throttled(responses[3])


def test_reset_requests_are_throttled_per_account(client, db):
    factories.user(email="li@example.edu.cn")
    db.session.commit()
    responses = [
        client.post("/account/password/forgot", data={"email": "li@example.edu.cn"}, headers=EN) for _ in range(4)
    ]
    assert [r.status_code for r in responses[:3]] == [200] * 3 and _throttled(responses[3])
    assert "tried this too often" in responses[3].get_data(as_text=True)


def test_reset_requests_are_throttled_per_address(app, client, db):
    app.config["RESET_LIMIT_PER_ADDRESS"] = "2 per hour"
    responses = [client.post("/account/password/forgot", data={"email": f"p{i}@example.edu.cn"}) for i in range(3)]
    assert [r.status_code for r in responses[:2]] == [200] * 2 and _throttled(responses[2])


def test_new_verification_links_are_throttled_per_account(client, db):
    factories.user(email="new@example.edu.cn", verified=False)
    db.session.commit()
    responses = [client.post("/account/verify", data={"email": "new@example.edu.cn"}) for _ in range(4)]
    assert [r.status_code for r in responses[:3]] == [200] * 3 and _throttled(responses[3])


def test_registrations_are_throttled_per_address(app, client, db):
    app.config["REGISTER_LIMIT_PER_ADDRESS"] = "2 per hour"
    responses = [client.post("/account/register", data={"email": f"r{i}@example.edu.cn"}) for i in range(3)]
    assert [r.status_code for r in responses[:2]] == [200] * 2 and _throttled(responses[2])


def test_wrong_invitation_codes_get_retry_after(app, client, login_as):
    app.config["INVITE_CODE_LIMIT"] = "2 per hour"
    login_as()
    responses = [client.get(f"/teams/join/guess{i}") for i in range(3)]
    assert [r.status_code for r in responses[:2]] == [404] * 2 and _throttled(responses[2])
