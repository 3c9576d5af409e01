"""Every error answers with a page in the user's language; never a bare 500."""

import pytest

from competition.extensions import db

ERRORS = {
    404: ("页面不存在", "Page not found"),
    405: ("不允许", "Method not allowed"),
    403: ("无权", "Access denied"),
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_404_page_in_both_languages(client, language):
    response = client.get("/no/such/page", headers={"Accept-Language": language})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert ("The page you asked for does not exist" in page) == (language == "en")
    assert '<html lang="%s">' % ("en" if language == "en" else "zh-CN") in page


def test_405_keeps_the_allow_header(client):
    response = client.get("/account/logout")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_403_page_for_a_signed_in_user_without_permission(client, login_as):
    login_as("student")
    response = client.get("/admin/users")
    assert response.status_code == 403 and "您无权访问此页面" in response.get_data(as_text=True)


def test_413_page_in_english(client):
    response = client.post("/account/login", data={"email": "x" * 300_000}, headers={"Accept-Language": "en"})
    assert response.status_code == 413
    assert "larger than the limit" in response.get_data(as_text=True)


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_unexpected_error_gives_a_friendly_500_and_rolls_back(app, client):
    @app.get("/_explode")
    def explode():
        from tests import factories

        factories.user(email="half-written@example.edu.cn")
        raise RuntimeError("boom")

    response = client.get("/_explode", headers={"Accept-Language": "en"})
    assert response.status_code == 500 and "Something went wrong on our side" in response.get_data(as_text=True)
    from competition.accounts.models import User

    assert db.session.query(User).count() == 0


def test_json_clients_get_json_errors(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["error"]


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
