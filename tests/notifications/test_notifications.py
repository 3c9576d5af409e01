"""In-app notifications: made with every workflow e-mail to a user, in their language; listed newest
first with the unread ones marked and counted in the header; opened (marked read) to their page only
on this site; each person sees only their own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from competition.core.mail import internal_path, queue_mail
from competition.core.time import utcnow
from competition.extensions import db
from competition.notifications import services
from competition.notifications.models import Notification
from tests import factories

EN = {"Accept-Language": "en"}


def _approved_mail(user, team_name="星河视觉", link="/teams/1"):
    return queue_mail(
        to=user.email, template="teams/emails/approved", locale=user.locale, user=user, link=link,
        team_name=team_name, competition_name="成渝联盟创业大赛", team_url="http://x/teams/1",
    )  # fmt: skip


def _notifications(user) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(services.list_for(user)))


def test_a_mail_to_a_user_becomes_a_notification_in_their_language(app):
    english = factories.user(locale="en")
    chinese = factories.user(locale="zh_Hans_CN")
    for user in (english, chinese):
        _approved_mail(user)
    db.session.commit()
    [en] = _notifications(english)
    [zh] = _notifications(chinese)
    assert (en.title, en.link, en.kind, en.is_unread) == (
        "Your team 星河视觉 has been approved", "/teams/1", "teams/emails/approved", True
    )  # fmt: skip
    assert (
        "星河视觉" in zh.title
        and zh.title != en.title
        and re.search(r"[\u4e00-\u9fff]{2}", zh.title.replace("星河视觉", ""))
    )


def test_account_mails_and_mails_to_addresses_make_no_notification(app):
    user = factories.user()
    queue_mail(to=user.email, template="accounts/emails/verify_email", locale="en", user=user, verify_url="x",
               valid_days=3)  # fmt: skip
    queue_mail(to="someone@example.org", template="teams/emails/approved", locale="en", team_name="A",
               competition_name="B", team_url="x")  # fmt: skip
    _approved_mail(user, link=None).id  # noqa: B018
    queue_mail(to=user.email, template="teams/emails/approved", locale="en", user=user, notify=False,
               team_name="A", competition_name="B", team_url="x")  # fmt: skip
    db.session.commit()
    assert db.session.scalar(select(db.func.count(Notification.id))) == 1


@pytest.mark.parametrize(
    "link", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_only_paths_of_this_site_are_kept_as_links(app, link):
    user = factories.user()
    _approved_mail(user, link=link)
    db.session.commit()
    assert _notifications(user)[0].link is None


def test_internal_path_needs_no_request(app):
    assert internal_path("teams.detail", team_id=7) == "/teams/7"


def test_the_list_shows_the_newest_first_with_the_unread_marked(app, client, login_as):
    user = login_as(locale="en")
    older = _approved_mail(user, team_name="Older team")
    db.session.flush()
    read = services.notify(user, kind="tests", title="Already read", link="/")
    read.read_at = utcnow()
    db.session.commit()
    notification = db.session.scalar(select(Notification).where(Notification.title.contains("Older")))
    notification.created_at = utcnow() - timedelta(days=1)
    db.session.commit()
    _approved_mail(user, team_name="Newer team")
    db.session.commit()
    page = client.get("/notifications/", headers=EN).get_data(as_text=True)
    items = re.findall(r'data-testid="notification" data-unread="(\w+)">.*?<button[^>]*>(.*?)</button>', page, re.S)
    titles = [(unread, re.sub(r"<[^>]+>|\s+", " ", title).strip()) for unread, title in items]
    assert titles == [
        ("false", "Already read"),
        ("true", "Unread Your team Newer team has been approved"),
        ("true", "Unread Your team Older team has been approved"),
    ] or titles == [
        ("true", "Unread Your team Newer team has been approved"),
        ("false", "Already read"),
        ("true", "Unread Your team Older team has been approved"),
    ]
    assert titles[-1][1].endswith("Older team has been approved") and older.id
    assert "2 unread." in page
    # the header counts them on every page
    home = client.get("/", headers=EN).get_data(as_text=True)
    assert re.search(r'data-testid="unread-count">2<', home)


def test_the_list_is_paginated(app, client, login_as):
    user = login_as(locale="en")
    for number in range(services.PER_PAGE + 5):
        services.notify(user, kind="tests", title=f"Notice number {number:02d}", link="/")
    db.session.commit()
    first = client.get("/notifications/", headers=EN).get_data(as_text=True)
    second = client.get("/notifications/?page=2", headers=EN).get_data(as_text=True)
    assert first.count('data-testid="notification"') == services.PER_PAGE
    assert second.count('data-testid="notification"') == 5
    assert "Notice number 34" in first and "Notice number 00" in second
    assert client.get("/notifications/?page=99").status_code == 200
    assert client.get("/notifications/?page=abc").status_code == 200


def test_opening_marks_read_and_goes_to_the_page(app, client, login_as):
    user = login_as(locale="en")
    _approved_mail(user, link="/teams/1")
    db.session.commit()
    [notification] = _notifications(user)
    response = client.post(f"/notifications/{notification.id}/open")
    assert response.status_code == 302 and response.headers["Location"] == "/teams/1"
    [notification] = _notifications(user)
    assert not notification.is_unread
    assert 'data-testid="unread-count"' not in client.get("/", headers=EN).get_data(as_text=True)


def test_a_notification_without_a_page_or_with_a_bad_one_opens_the_list(app, client, login_as):
    user = login_as()
    plain = services.notify(user, kind="tests", title="No page")
    db.session.flush()
    bad = Notification(user_id=user.id, kind="tests", title="Bad row", link="https://evil.example/")
    db.session.add(bad)
    db.session.commit()
    for notification in (plain, bad):
        response = client.post(f"/notifications/{notification.id}/open")
        assert response.headers["Location"] == "/notifications/"


def test_someone_elses_notification_is_not_found(app, client, login_as):
    owner = factories.user()
    theirs = services.notify(owner, kind="tests", title="Private", link="/teams/9")
    db.session.commit()
    login_as()
    assert client.post(f"/notifications/{theirs.id}/open").status_code == 404
    assert client.post("/notifications/999999/open").status_code == 404
    assert "Private" not in client.get("/notifications/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).is_unread


def test_mark_all_read(app, client, login_as):
    user = login_as(locale="en")
    other = factories.user()
    for person in (user, user, other):
        services.notify(person, kind="tests", title="Hello", link="/")
    db.session.commit()
    response = client.post("/notifications/read-all", headers=EN, follow_redirects=True)
    assert "All notifications are marked as read." in response.get_data(as_text=True)
    assert services.unread_count(user) == 0 and services.unread_count(other) == 1
    assert 'data-testid="read-all"' not in client.get("/notifications/", headers=EN).get_data(as_text=True)


def test_the_pages_need_a_login(app, client):
    assert client.get("/notifications/").status_code == 302
    assert client.post("/notifications/read-all").status_code == 302


def test_both_languages(app, client, login_as):
    """The page follows the signed-in person's language; a notification keeps the language it was made in."""
    for locale, lang, heading in (("en", "en", "Notifications"), ("zh_Hans_CN", "zh-CN", "通知")):
        user = login_as(locale=locale)
        services.notify(user, kind="tests", title="标题 title", link="/")
        db.session.commit()
        page = client.get("/notifications/").get_data(as_text=True)
        assert f'<html lang="{lang}"' in page and "<h1" in page and "标题 title" in page
        assert re.search(rf"<h1[^>]*>{heading}</h1>", page) or locale != "en"


def _statements_on_notifications(client, url: str) -> int:
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "notifications" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(seen)


def test_the_header_count_costs_one_query_and_none_for_visitors(app, client, login_as):
    assert _statements_on_notifications(client, "/") == 0
    login_as()
    assert _statements_on_notifications(client, "/") == 1
