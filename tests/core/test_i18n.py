"""Languages: Chinese by default, English second; user setting > header switch > Accept-Language."""

import pytest

from competition.core import catalogs
from competition.extensions import db
from tests import factories


def test_home_page_is_chinese_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "成渝高校就业创业联盟赛事平台" in page


def test_accept_language_english_gives_english(client):
    page = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Chengdu–Chongqing Alliance Competitions" in page


@pytest.mark.parametrize("header", ["zh-CN,zh;q=0.9", "zh-TW", "fr-FR", ""])
def test_other_accept_languages_fall_back_to_chinese(client, header):
    assert '<html lang="zh-CN">' in client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)


def test_header_switch_is_remembered_over_accept_language(client):
    response = client.post("/account/language", data={"locale": "en", "next": "/account/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/login"
    page = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_language_switch_refuses_unknown_languages_and_foreign_next(client):
    response = client.post("/account/language", data={"locale": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_users_setting_wins_and_the_switch_updates_it(client, login_as):
    user = login_as(locale="en")
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    client.post("/account/language", data={"locale": "zh_Hans_CN", "next": "/"})
    db.session.refresh(user)
    assert user.locale == "zh_Hans_CN"


def test_language_switch_by_get_is_not_allowed(client):
    assert client.get("/account/language?locale=en").status_code == 405


def test_form_errors_are_translated(client):
    factories.institution("SCU")
    db.session.commit()
    zh = client.post("/account/login", data={"email": "", "password": ""}).get_data(as_text=True)
    en = client.post("/account/login", data={"email": "", "password": ""}, headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "请输入" in zh and "Please enter your e-mail address." in en


def test_both_catalogs_are_complete():
    """Every message in the source is translated in zh_Hans_CN and en, none fuzzy."""
    assert catalogs.problems() == []


def test_times_are_stored_in_utc_and_shown_in_shanghai(app, login_as, client):
    from datetime import UTC, datetime

    from competition.core.i18n import local_datetime

    user = factories.user()
    user.created_at = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(user), user.id).created_at == datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
    shown = {}
    for language in ("en", "zh-CN"):
        with app.app_context(), app.test_request_context("/", headers={"Accept-Language": language}):
            shown[language] = local_datetime(user.created_at, "short")
    assert shown == {"en": "7/1/26, 12:30\u202fAM", "zh-CN": "2026/7/1 00:30"}


def test_naive_datetimes_are_refused(app):
    from datetime import datetime

    user = factories.user()
    user.last_login_at = datetime(2026, 1, 1, 8, 0)
    with pytest.raises(Exception, match="naive datetime"):
        db.session.flush()
    db.session.rollback()
