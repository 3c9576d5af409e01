"""Announcements: organizers write, pin, unpublish and delete them; everyone who may see the
competition reads the published ones, in their language, with the Markdown sanitized."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from competition.communications import services
from competition.communications.models import Announcement
from competition.core.audit import AuditEntry
from competition.core.time import utcnow
from competition.extensions import db
from tests import factories

EN = {"Accept-Language": "en"}
XSS = "**要点** <script>alert(1)</script> [点我](javascript:alert(2)) <img src=x onerror=alert(3)> [好](https://ok.example)"


def announce(contest, *, title="报名通知", body="请于月底前报名。", published=True, pinned=False, **fields):
    author = factories.user()
    row = services.create_announcement(
        contest, actor=author, now=utcnow(),
        data=services.AnnouncementInput(title_zh=title, body_zh=body, published=published, pinned=pinned, **fields),
    )  # fmt: skip
    db.session.commit()
    return row


def test_an_organizer_publishes_one_and_it_shows_on_the_competitions_page(app, client, login_as):
    contest = factories.competition(code="ANN")
    organizer = login_as("organizer", competition=contest)
    response = client.post("/competitions/ANN/announcements/new", data={
        "title_zh": "初赛安排", "title_en": "First round", "body_zh": "初赛于**五月**举行。", "body_en": "In **May**.",
        "published": "y",
    })  # fmt: skip
    assert response.status_code == 302
    row = db.session.scalar(select(Announcement))
    assert row.author_id == organizer.id and row.published_at is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "announcement.create")) is not None
    page = client.get("/competitions/ANN").get_data(as_text=True)
    assert "初赛安排" in page and "<strong>五月</strong>" in page and "/competitions/ANN/announcements" in page
    english = app.test_client().get("/competitions/ANN/announcements", headers=EN).get_data(as_text=True)
    assert "First round" in english and "<strong>May</strong>" in english


def test_english_falls_back_to_chinese(app, client):
    contest = factories.competition(code="ANN")
    announce(contest, title="只有中文", body="中文正文")
    page = client.get("/competitions/ANN/announcements", headers=EN).get_data(as_text=True)
    assert "只有中文" in page and "中文正文" in page


def test_the_chinese_title_and_text_are_required(app, client, login_as):
    contest = factories.competition(code="ANN")
    login_as("organizer", competition=contest, locale="en")
    response = client.post("/competitions/ANN/announcements/new", data={"title_en": "x", "body_zh": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Please enter the Chinese title." in page and "Please write the Chinese text." in page
    assert db.session.scalar(select(Announcement)) is None


def test_markdown_is_sanitized_on_the_pages(app, client):
    contest = factories.competition(code="ANN")
    announce(contest, body=XSS)
    for url in ("/competitions/ANN", "/competitions/ANN/announcements"):
        page = client.get(url).get_data(as_text=True)
        assert "<strong>要点</strong>" in page
        assert "<script>alert" not in page and 'href="javascript:' not in page and "<img" not in page
        assert "&lt;script&gt;" in page  # shown as text, harmless


def test_pinned_first_then_newest_and_only_a_few_on_the_competitions_page(app, client):
    contest = factories.competition(code="ANN")
    for number in range(1, 6):
        announce(contest, title=f"公告{number}号")
    announce(contest, title="置顶公告", pinned=True)
    db.session.execute(
        Announcement.__table__.update()
        .where(Announcement.title_zh == "置顶公告")
        .values(published_at=utcnow().replace(year=2020))
    )  # the pinned one is the oldest
    db.session.commit()
    listed = [row.title_zh for row in services.announcements_of(contest)]
    assert listed == ["置顶公告", "公告5号", "公告4号", "公告3号", "公告2号", "公告1号"]
    page = client.get("/competitions/ANN").get_data(as_text=True)
    assert "置顶公告" in page and "公告5号" in page and "公告4号" in page and "公告3号" not in page
    full = client.get("/competitions/ANN/announcements").get_data(as_text=True)
    assert all(f"公告{number}号" in full for number in range(1, 6))


def test_an_unpublished_one_is_seen_by_organizers_only(app, client, login_as):
    contest = factories.competition(code="ANN")
    announce(contest, title="尚未发布", published=False)
    assert "尚未发布" not in client.get("/competitions/ANN/announcements").get_data(as_text=True)
    assert "尚未发布" not in client.get("/competitions/ANN").get_data(as_text=True)
    login_as("organizer", competition=contest)
    assert "尚未发布" in client.get("/competitions/ANN/announcements").get_data(as_text=True)


def test_pin_unpublish_edit_and_delete(app, client, login_as):
    contest = factories.competition(code="ANN")
    row_id = announce(contest).id
    login_as("organizer", competition=contest)
    base = f"/competitions/ANN/announcements/{row_id}"
    client.post(f"{base}/pin")
    assert db.session.get(Announcement, row_id).pinned
    client.post(f"{base}/publish")
    assert db.session.get(Announcement, row_id).published_at is None
    response = client.post(f"{base}/edit", data={"title_zh": "改后标题", "body_zh": "改后正文", "published": "y"})
    assert response.status_code == 302
    edited = db.session.get(Announcement, row_id)
    assert edited.title_zh == "改后标题" and edited.is_published and not edited.pinned
    client.post(f"{base}/delete")
    db.session.expunge_all()
    assert db.session.get(Announcement, row_id) is None
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"announcement.pin", "announcement.unpublish", "announcement.update", "announcement.delete"} <= actions


def test_also_e_mail_it_leads_to_the_mailing_form_filled_in(app, client, login_as):
    contest = factories.competition(code="ANN")
    login_as("organizer", competition=contest)
    response = client.post("/competitions/ANN/announcements/new", data={
        "title_zh": "决赛通知", "body_zh": "决赛正文", "published": "y", "email_it": "y",
    })  # fmt: skip
    row = db.session.scalar(select(Announcement))
    assert response.headers["Location"].endswith(f"/competitions/ANN/mailings/new?announcement={row.id}")
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="决赛通知"' in form and "决赛正文" in form


@pytest.mark.parametrize("role", ["student", "judge", "institution_organizer", "other"])
def test_only_organizers_and_admins_write_them(app, client, login_as, role):
    contest = factories.competition(code="ANN")
    row = announce(contest)
    if role == "other":
        login_as("organizer", competition=factories.competition(code="OTHERANN"))
    else:
        login_as(role, competition=contest)
    base = f"/competitions/ANN/announcements/{row.id}"
    assert client.get("/competitions/ANN/announcements/new").status_code == 403
    assert client.post("/competitions/ANN/announcements/new", data={"title_zh": "x", "body_zh": "y"}).status_code == 403
    for action in ("pin", "publish", "delete"):
        assert client.post(f"{base}/{action}").status_code == 403
    assert client.get(f"{base}/edit").status_code == 403
    assert db.session.get(Announcement, row.id).is_published
    assert "/announcements/new" not in client.get("/competitions/ANN/announcements").get_data(as_text=True)


def test_an_admin_writes_them_too(app, client, login_as):
    factories.competition(code="ANN")
    login_as("admin")
    response = client.post(
        "/competitions/ANN/announcements/new", data={"title_zh": "管理员公告", "body_zh": "正文", "published": "y"}
    )
    assert response.status_code == 302


def test_another_competitions_announcement_is_not_found(app, client, login_as):
    contest = factories.competition(code="ANN")
    foreign = announce(factories.competition(code="OTHERANN"))
    login_as("organizer", competition=contest)
    assert client.get(f"/competitions/ANN/announcements/{foreign.id}/edit").status_code == 404
    assert client.post(f"/competitions/ANN/announcements/{foreign.id}/delete").status_code == 404


def test_a_draft_competitions_announcements_are_seen_only_by_its_organizers(app, client, login_as):
    contest = factories.competition(code="DRAFTANN", state="draft")
    announce(contest, title="内部公告")
    assert client.get("/competitions/DRAFTANN/announcements").status_code == 404
    login_as("student", competition=contest)
    assert client.get("/competitions/DRAFTANN/announcements").status_code == 404
    login_as("organizer", competition=contest)
    assert "内部公告" in client.get("/competitions/DRAFTANN/announcements").get_data(as_text=True)
