"""What a visitor sees when the database cannot be reached: a friendly 503 in their language with
Retry-After, never a 500 or a traceback; and a connection cut after a page was made does not spoil
that page. (Restarting a real server under load is in test_database_outage.py, `make test-faults`.)"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from competition import create_app
from competition.core import errors
from competition.extensions import db, limiter

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.fixture
def unreachable_app(instance_path):
    saved_limiter = dict(limiter.__dict__)
    app = create_app(
        {"APP_ENV": "testing", "INSTANCE_PATH": instance_path, "DATABASE_URL": UNREACHABLE, "RATELIMIT_ENABLED": False}
    )
    yield app
    limiter.__dict__.clear()
    limiter.__dict__.update(saved_limiter)


@pytest.mark.parametrize(
    ("language", "title", "lang"),
    [("zh-CN", "服务暂时不可用", "zh-CN"), ("en", "Service temporarily unavailable", "en")],
)
@pytest.mark.parametrize("path", ["/", "/competitions/NOPE"])
def test_pages_answer_a_friendly_503_while_the_database_is_down(unreachable_app, path, language, title, lang):
    response = unreachable_app.test_client().get(path, headers={"Accept-Language": language})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert title in page and f'<html lang="{lang}">' in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_a_signed_in_visitor_gets_the_503_page_too(unreachable_app):
    client = unreachable_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:token"
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 503 and "Service temporarily unavailable" in response.get_data(as_text=True)


def test_a_form_post_gets_the_503_page(unreachable_app):
    response = unreachable_app.test_client().post(
        "/account/login", data={"email": "a@example.edu.cn", "password": "x" * 10}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 503 and "try again in a minute" in response.get_data(as_text=True)


def test_json_clients_get_a_json_503(unreachable_app):
    response = unreachable_app.test_client().get("/", headers={"Accept": "application/json", "Accept-Language": "en"})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["error"] == "Service temporarily unavailable"


def test_when_even_the_error_page_fails_a_plain_bilingual_page_is_sent(unreachable_app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("template trouble")

    monkeypatch.setattr(errors, "render_error", broken)
    response = unreachable_app.test_client().get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert "服务暂时不可用" in page and "Service temporarily unavailable" in page


@pytest.mark.app_config()  # adds a route: an app of its own
def test_a_connection_cut_after_the_page_was_made_does_not_spoil_it(app, database_url):
    """The server goes away between the view and the end of the request (the closing rollback
    fails): the visitor still gets the page, and the next request works."""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL) to cut a connection")

    @app.get("/_cut")
    def cut():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        engine.dispose()
        return "made"

    client = app.test_client()
    response = client.get("/_cut")
    assert response.status_code == 200 and response.get_data(as_text=True) == "made"
    assert client.get("/healthz").status_code == 200


def test_an_unreachable_database_host_is_given_up_on_after_a_timeout(unreachable_app):
    assert unreachable_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["connect_timeout"] == 10
    assert unreachable_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
