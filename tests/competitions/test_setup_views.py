"""The organizers' set-up pages: information, rules, timeline, logo, tracks and the state machine."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy import func, select

from competition.competitions.models import Competition, Track
from competition.core.audit import AuditEntry
from competition.extensions import db
from tests import factories

EN = {"Accept-Language": "en"}
PAGES = ("/", "/rules", "/timeline", "/logo", "/tracks")


def image_bytes(image_format: str = "PNG", size=(24, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (138, 28, 28)).save(buffer, format=image_format)
    return buffer.getvalue()


def audit_count(action: str | None = None) -> int:
    query = select(func.count(AuditEntry.id))
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalar(query)


def snapshot(competition: Competition) -> dict:
    """Every column of the competition and its tracks, to prove a refused change changed nothing."""
    db.session.expire_all()
    row = db.session.get(Competition, competition.id)
    columns = {column.key: getattr(row, column.key) for column in Competition.__table__.columns}
    tracks = [(t.id, t.code, t.name_zh, t.name_en, t.position) for t in row.tracks]
    return {"competition": columns, "tracks": tracks, "audit": audit_count()}


GENERAL = {
    "name_zh": "成渝联盟大赛",
    "name_en": "Chengdu–Chongqing Alliance Competition",
    "year": "2026",
    "description_zh": "**欢迎**参赛",
    "description_en": "Welcome",
    "host_zh": "成渝高校就业创业联盟",
    "host_en": "The Alliance",
    "co_hosts_zh": "四川大学\n重庆大学\n",
    "co_hosts_en": "Sichuan University\nChongqing University",
}

RULES = {
    "min_team_size": "3",
    "max_team_size": "15",
    "max_advisors": "3",
    "max_teams_per_student": "1",
    "one_team_per_leader": "y",
    "eligible_degrees": ["bachelor", "master"],
    "min_graduation_year": "2026",
    "max_graduation_year": "2030",
}


# --- who may open the pages -----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_set_up_page_opens_for_an_organizer(client, login_as, page):
    contest = factories.competition(code="CY1")
    factories.track(contest, "idea")
    login_as("organizer", competition=contest, locale="en")
    response = client.get(f"/competitions/CY1/setup{page}", headers=EN)
    assert response.status_code == 200
    assert "Set-up" in response.get_data(as_text=True)


def test_the_track_page_opens_for_a_platform_admin(client, login_as):
    contest = factories.competition(code="CY1")
    track = factories.track(contest, "idea")
    login_as("admin", locale="en")
    assert client.get(f"/competitions/CY1/setup/tracks/{track.id}", headers=EN).status_code == 200


@pytest.mark.parametrize("role", ["student", "judge", "institution_organizer"])
def test_people_with_other_roles_are_refused(client, login_as, role):
    contest = factories.competition(code="CY1")
    track = factories.track(contest, "idea")
    login_as(role, competition=contest, locale="en")
    before = snapshot(contest)
    for page in (*PAGES, f"/tracks/{track.id}"):
        assert client.get(f"/competitions/CY1/setup{page}").status_code == 403, page
    assert client.post("/competitions/CY1/setup/state", data={"target": "submission"}).status_code == 403
    assert client.post(f"/competitions/CY1/setup/tracks/{track.id}/delete").status_code == 403
    assert client.post("/competitions/CY1/setup/", data=GENERAL).status_code == 403
    assert snapshot(contest) == before


def test_an_organizer_of_another_competition_is_refused(client, login_as):
    contest = factories.competition(code="CY1")
    track = factories.track(contest, "idea")
    login_as("organizer", competition=factories.competition(code="OTHER"))
    before = snapshot(contest)
    assert client.get("/competitions/CY1/setup/").status_code == 403
    assert client.post("/competitions/CY1/setup/rules", data=RULES).status_code == 403
    assert client.post(f"/competitions/CY1/setup/tracks/{track.id}/delete").status_code == 403
    assert snapshot(contest) == before


def test_a_draft_is_404_to_everyone_but_its_managers(client, login_as):
    draft = factories.competition(code="DRAFT1", state="draft")
    login_as("judge", competition=draft, locale="en")
    assert client.get("/competitions/DRAFT1/setup/").status_code == 404
    assert client.post("/competitions/DRAFT1/setup/state", data={"target": "registration"}).status_code == 404
    login_as("organizer", competition=factories.competition(code="OTHER"))
    assert client.get("/competitions/DRAFT1/setup/rules").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    factories.competition(code="CY1")
    db.session.commit()
    response = client.get("/competitions/CY1/setup/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_a_track_of_another_competition_is_not_found(client, login_as):
    mine = factories.competition(code="MINE")
    theirs = factories.track(factories.competition(code="THEIRS"), "idea")
    login_as("organizer", competition=mine, locale="en")
    assert client.get(f"/competitions/MINE/setup/tracks/{theirs.id}").status_code == 404
    assert client.post(f"/competitions/MINE/setup/tracks/{theirs.id}/delete").status_code == 404
    assert db.session.get(Track, theirs.id) is not None


# --- general information --------------------------------------------------------------------------


def test_organizer_saves_the_general_information(client, login_as, app):
    contest = factories.competition(code="CY1")
    organizer = login_as("organizer", competition=contest, locale="en")
    response = client.post("/competitions/CY1/setup/", data=GENERAL, headers=EN)
    assert response.status_code == 302
    db.session.refresh(contest)
    assert (contest.name_zh, contest.year, contest.host_en) == ("成渝联盟大赛", 2026, "The Alliance")
    assert contest.co_hosts_zh == "四川大学\n重庆大学"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "competition.update_general"))
    assert entry.actor_id == organizer.id and "name_zh" in entry.details["fields"]

    page = client.get("/competitions/CY1", headers=EN).get_data(as_text=True)
    assert "Chengdu–Chongqing Alliance Competition" in page and "The Alliance" in page
    assert "<li>Sichuan University</li>" in page and "<li>Chongqing University</li>" in page
    zh_page = app.test_client().get("/competitions/CY1", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "<strong>欢迎</strong>参赛" in zh_page and "<li>重庆大学</li>" in zh_page


def test_missing_names_keep_the_input_and_change_nothing(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    response = client.post("/competitions/CY1/setup/", data={**GENERAL, "name_zh": " "}, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Please enter the Chinese name." in page and 'value="The Alliance"' in page
    assert snapshot(contest) == before


def test_a_malicious_description_is_rendered_harmless(client, login_as, app):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    evil = "Hello <img src=x onerror=alert(1)> and [x](javascript:alert(1)) and [site](https://example.org)"
    client.post("/competitions/CY1/setup/", data={**GENERAL, "description_en": evil, "description_zh": evil})
    db.session.refresh(contest)
    assert contest.description_en == evil  # stored as typed, sanitized when shown
    for language in ("en", "zh-CN"):
        page = app.test_client().get("/competitions/CY1", headers={"Accept-Language": language}).get_data(as_text=True)
        escaped = "&lt;img src=x onerror=alert(1)&gt;"  # shown as text, never as an element
        assert escaped in page and "<img src=x" not in page
        assert "onerror" not in page.replace(escaped, "")
        assert 'href="javascript' not in page.lower()
        assert '<a href="https://example.org" rel="noopener noreferrer nofollow">site</a>' in page


# --- rules ----------------------------------------------------------------------------------------


def test_the_rules_form_shows_the_defaults(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    page = client.get("/competitions/CY1/setup/rules", headers=EN).get_data(as_text=True)
    assert re.search(r'name="min_team_size"[^>]*value="3"', page)
    assert re.search(r'name="max_team_size"[^>]*value="15"', page)
    assert re.search(r'name="max_advisors"[^>]*value="3"', page)
    # no stored degree level means every level: all four are ticked
    assert page.count('name="eligible_degrees"') == 4 and page.count("checked") >= 4


def test_organizer_saves_the_rules(client, login_as):
    contest = factories.competition(code="CY1")
    organizer = login_as("organizer", competition=contest, locale="en")
    data = {
        **RULES,
        "min_team_size": "2",
        "max_team_size": "8",
        "allow_cross_institution": "y",
        "max_teams_per_student": "2",
    }
    assert client.post("/competitions/CY1/setup/rules", data=data).status_code == 302
    db.session.refresh(contest)
    assert (contest.min_team_size, contest.max_team_size, contest.max_advisors) == (2, 8, 3)
    assert contest.allow_cross_institution and contest.one_team_per_leader
    assert contest.max_teams_per_student == 2
    assert contest.eligible_degrees == ["bachelor", "master"]
    assert (contest.min_graduation_year, contest.max_graduation_year) == (2026, 2030)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "competition.update_rules"))
    assert entry.actor_id == organizer.id and entry.details["changes"]["max_team_size"] == [15, 8]

    page = client.get("/competitions/CY1/setup/rules", headers=EN).get_data(as_text=True)
    assert 'value="8"' in page and 'value="2030"' in page


def test_ticking_every_degree_level_means_every_level(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    data = {**RULES, "eligible_degrees": ["junior_college", "bachelor", "master", "doctorate"]}
    assert client.post("/competitions/CY1/setup/rules", data=data).status_code == 302
    db.session.refresh(contest)
    assert contest.eligible_degrees == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_team_size": "10", "max_team_size": "5"}, "The largest team size must be at least the smallest"),
        ({"min_team_size": "0"}, "Please enter a number of people between 1 and 100."),
        ({"max_advisors": "-1"}, "Please enter a number between 0 and 20."),
        ({"max_teams_per_student": "0"}, "Please enter a number between 1 and 20."),
        ({"max_team_size": "many"}, "Please enter a whole number."),
        ({"eligible_degrees": []}, "Please tick at least one degree level."),
        ({"eligible_degrees": ["bachelor", "kindergarten"]}, "Please tick only the degree levels offered."),
        (
            {"min_graduation_year": "2031", "max_graduation_year": "2027"},
            "The graduation window ends before it starts.",
        ),
    ],
)
def test_refused_rules_show_the_message_and_change_nothing(client, login_as, changes, message):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    response = client.post("/competitions/CY1/setup/rules", data={**RULES, **changes}, headers=EN)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert snapshot(contest) == before


# --- timeline -------------------------------------------------------------------------------------

TIMELINE = {
    "registration_opens_at": "2026-03-01T09:00",
    "registration_closes_at": "2026-04-30T23:59",
    "submission_deadline": "2026-05-15T18:00",
    "publication_at": "2026-06-01T10:00",
}


def test_times_are_entered_and_shown_in_shanghai_time(client, login_as):
    contest = factories.competition(code="CY1")
    organizer = login_as("organizer", competition=contest, locale="en")
    assert client.post("/competitions/CY1/setup/timeline", data=TIMELINE).status_code == 302
    db.session.refresh(contest)
    assert contest.registration_opens_at == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    assert contest.registration_closes_at == datetime(2026, 4, 30, 15, 59, tzinfo=UTC)
    assert contest.submission_deadline == datetime(2026, 5, 15, 10, 0, tzinfo=UTC)
    assert contest.publication_at == datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "competition.update_timeline"))
    assert entry.actor_id == organizer.id
    assert entry.details["changes"]["registration_opens_at"] == [None, "2026-03-01T01:00:00+00:00"]

    form_page = client.get("/competitions/CY1/setup/timeline", headers=EN).get_data(as_text=True)
    for value in TIMELINE.values():
        assert f'value="{value}"' in form_page
    detail = client.get("/competitions/CY1", headers=EN).get_data(as_text=True)
    assert "Mar 1, 2026, 9:00:00\u202fAM" in detail or "Mar 1, 2026, 9:00:00 AM" in detail
    assert "Apr 30, 2026, 11:59:00" in detail
    assert 'datetime="2026-03-01T01:00:00+00:00"' in detail


def test_saving_the_same_timeline_again_writes_no_audit_entry(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    client.post("/competitions/CY1/setup/timeline", data=TIMELINE)
    before = audit_count("competition.update_timeline")
    client.post("/competitions/CY1/setup/timeline", data=TIMELINE)
    assert audit_count("competition.update_timeline") == before == 1


def test_times_may_be_cleared(client, login_as):
    contest = factories.competition(code="CY1", publication_at=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    login_as("organizer", competition=contest, locale="en")
    data = {**TIMELINE, "publication_at": ""}
    assert client.post("/competitions/CY1/setup/timeline", data=data).status_code == 302
    db.session.refresh(contest)
    assert contest.publication_at is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"registration_closes_at": "2026-02-01T09:00"}, "The dates must follow each other"),
        ({"submission_deadline": "2026-04-01T09:00"}, "The dates must follow each other"),
        ({"publication_at": "2026-05-15T17:59"}, "The dates must follow each other"),
        ({"registration_opens_at": "next monday"}, "Please enter a date and time"),
    ],
)
def test_a_timeline_out_of_order_is_refused(client, login_as, changes, message):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    response = client.post("/competitions/CY1/setup/timeline", data={**TIMELINE, **changes}, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    for field, value in changes.items():
        assert f'value="{value}"' in page, field  # the user's input is kept
    assert snapshot(contest) == before


# --- logo -----------------------------------------------------------------------------------------


def upload(client, code: str, content: bytes, filename: str = "logo.png"):
    return client.post(
        f"/competitions/{code}/setup/logo",
        data={"logo": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        headers=EN,
    )


def test_organizer_uploads_a_logo_that_everyone_can_see(client, login_as, app):
    contest = factories.competition(code="CY1")
    organizer = login_as("organizer", competition=contest, locale="en")
    png = image_bytes("PNG")
    assert upload(client, "CY1", png).status_code == 302
    db.session.refresh(contest)
    assert contest.logo_key and contest.logo_key.endswith(".png")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "competition.set_logo"))
    assert entry.actor_id == organizer.id and entry.details["size"] == len(png)

    anonymous = app.test_client()
    response = anonymous.get("/competitions/CY1/logo")
    assert response.status_code == 200 and response.data == png
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "/competitions/CY1/logo" in anonymous.get("/competitions/CY1").get_data(as_text=True)


def test_a_new_logo_replaces_the_old_file(client, login_as, app):
    from competition.core import storage

    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    upload(client, "CY1", image_bytes("PNG"))
    db.session.refresh(contest)
    old_key = contest.logo_key
    assert upload(client, "CY1", image_bytes("JPEG"), "logo.jpg").status_code == 302
    db.session.refresh(contest)
    assert contest.logo_key != old_key and contest.logo_key.endswith(".jpg")
    assert not storage.path_for(old_key).exists()
    assert app.test_client().get("/competitions/CY1/logo").mimetype == "image/jpeg"


def test_a_drafts_logo_is_hidden_from_outsiders(client, login_as, app):
    draft = factories.competition(code="DRAFT1", state="draft")
    login_as("organizer", competition=draft, locale="en")
    assert upload(client, "DRAFT1", image_bytes("WEBP"), "logo.webp").status_code == 302
    assert client.get("/competitions/DRAFT1/logo").mimetype == "image/webp"
    assert app.test_client().get("/competitions/DRAFT1/logo").status_code == 404


def test_the_logo_route_is_404_without_a_logo(client):
    factories.competition(code="CY1")
    db.session.commit()
    assert client.get("/competitions/CY1/logo").status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body><script>alert(1)</script></body></html>", "The logo must be a PNG, JPEG or WebP image."),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>',
            "The logo must be a PNG, JPEG or WebP image.",
        ),
        (image_bytes("GIF"), "The logo must be a PNG, JPEG or WebP image."),
        (image_bytes("PNG") + b"\0" * (2 * 1024 * 1024), "A logo may be at most 2 MB."),
    ],
    ids=["html", "svg", "gif", "too-large"],
)
def test_a_refused_logo_shows_the_message_and_changes_nothing(client, login_as, content, message):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    response = upload(client, "CY1", content, "logo.png")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert snapshot(contest) == before


def test_an_upload_without_a_file_is_refused(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    response = client.post("/competitions/CY1/setup/logo", data={}, headers=EN)
    assert response.status_code == 200 and "Please choose an image file." in response.get_data(as_text=True)


def test_the_logo_page_is_a_multipart_form(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    page = client.get("/competitions/CY1/setup/logo").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page


# --- tracks ---------------------------------------------------------------------------------------


def test_organizer_adds_edits_and_deletes_a_track(client, login_as):
    contest = factories.competition(code="CY1")
    organizer = login_as("organizer", competition=contest, locale="en")
    data = {"code": " Idea ", "name_zh": "创意组", "name_en": "Idea track", "position": "1"}
    assert client.post("/competitions/CY1/setup/tracks", data=data).status_code == 302
    track = db.session.scalar(select(Track).where(Track.competition_id == contest.id))
    assert (track.code, track.name_zh, track.name_en, track.position) == ("idea", "创意组", "Idea track", 1)
    track_id = track.id
    assert "创意组" in client.get("/competitions/CY1/setup/tracks").get_data(as_text=True)

    edit = {"code": "idea", "name_zh": "创意组", "name_en": "Ideas", "position": "2"}
    assert client.post(f"/competitions/CY1/setup/tracks/{track_id}", data=edit).status_code == 302
    db.session.refresh(track)
    assert (track.name_en, track.position) == ("Ideas", 2)
    assert "Ideas" in client.get("/competitions/CY1", headers=EN).get_data(as_text=True)

    assert client.post(f"/competitions/CY1/setup/tracks/{track_id}/delete").status_code == 302
    assert db.session.get(Track, track_id) is None
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor_id == organizer.id).order_by(AuditEntry.id)
    ).all()
    assert actions == ["track.create", "track.update", "track.delete"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "创意 组"}, "A track code has 1 to 32 lower-case letters"),
        ({"code": "startup"}, "Another track of this competition already uses this code."),
        ({"code": ""}, "Please enter a short code."),
        ({"name_en": ""}, "Please enter the English name."),
        ({"position": "-1"}, "Please enter a number between 0 and 999."),
    ],
)
def test_a_refused_track_shows_the_message_and_changes_nothing(client, login_as, data, message):
    contest = factories.competition(code="CY1")
    factories.track(contest, "startup")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    form = {"code": "idea", "name_zh": "创意组", "name_en": "Idea track", "position": "0", **data}
    response = client.post("/competitions/CY1/setup/tracks", data=form, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert snapshot(contest) == before


def test_renaming_a_track_to_a_taken_code_is_refused(client, login_as):
    contest = factories.competition(code="CY1")
    factories.track(contest, "startup")
    idea = factories.track(contest, "idea")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    data = {"code": "startup", "name_zh": "创意组", "name_en": "Idea track", "position": "0"}
    response = client.post(f"/competitions/CY1/setup/tracks/{idea.id}", data=data, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "already uses this code" in page and 'value="startup"' in page
    assert snapshot(contest) == before


def test_a_track_a_team_entered_cannot_be_deleted(client, login_as):
    contest = factories.competition(code="CY1")
    track = factories.track(contest, "idea")
    factories.team(contest, track_row=track)
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    response = client.post(f"/competitions/CY1/setup/tracks/{track.id}/delete", headers=EN, follow_redirects=True)
    assert response.status_code == 200
    assert "1 team(s) entered this track; it cannot be deleted." in response.get_data(as_text=True)
    assert snapshot(contest) == before


# --- state machine --------------------------------------------------------------------------------


def test_organizer_walks_the_competition_through_its_states(client, login_as):
    contest = factories.competition(code="CY1", state="draft")
    factories.track(contest, "idea")
    organizer = login_as("organizer", competition=contest, locale="en")
    page = client.get("/competitions/CY1/setup/", headers=EN).get_data(as_text=True)
    assert "Open registration" in page and 'value="registration"' in page
    for target in ("registration", "submission", "judging", "published", "archived"):
        response = client.post("/competitions/CY1/setup/state", data={"target": target}, headers=EN)
        assert response.status_code == 302, target
        db.session.refresh(contest)
        assert contest.state == target
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "competition.change_state").order_by(AuditEntry.id)
    ).all()
    assert [(e.details["old"], e.details["new"]) for e in entries] == [
        ("draft", "registration"),
        ("registration", "submission"),
        ("submission", "judging"),
        ("judging", "published"),
        ("published", "archived"),
    ]
    assert {e.actor_id for e in entries} == {organizer.id}
    page = client.get("/competitions/CY1/setup/", headers=EN).get_data(as_text=True)
    assert "An archived competition does not change any more." in page


def test_a_state_can_go_back_one_step(client, login_as):
    contest = factories.competition(code="CY1", state="judging")
    login_as("organizer", competition=contest, locale="en")
    page = client.get("/competitions/CY1/setup/", headers=EN).get_data(as_text=True)
    assert "Publish the results" in page and "Reopen submission" in page
    assert client.post("/competitions/CY1/setup/state", data={"target": "submission"}).status_code == 302
    db.session.refresh(contest)
    assert contest.state == "submission"


@pytest.mark.parametrize(
    ("state", "target", "message"),
    [
        ("draft", "published", "A competition cannot go from “Draft” to “Results published”."),
        ("archived", "draft", "A competition cannot go from “Archived” to “Draft”."),
        ("registration", "registration", "A competition cannot go from"),
        ("registration", "nonsense", "Please choose one of the offered actions."),
    ],
)
def test_an_illegal_transition_is_refused(client, login_as, state, target, message):
    contest = factories.competition(code="CY1", state=state)
    factories.track(contest, "idea")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    response = client.post("/competitions/CY1/setup/state", data={"target": target}, headers=EN, follow_redirects=True)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert snapshot(contest) == before


def test_registration_cannot_open_without_a_track(client, login_as):
    contest = factories.competition(code="CY1", state="draft")
    login_as("organizer", competition=contest, locale="en")
    before = snapshot(contest)
    response = client.post(
        "/competitions/CY1/setup/state", data={"target": "registration"}, headers=EN, follow_redirects=True
    )
    assert "Add at least one track before opening registration." in response.get_data(as_text=True)
    assert snapshot(contest) == before


def test_state_changes_refuse_get(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest, locale="en")
    assert client.get("/competitions/CY1/setup/state").status_code == 405


# --- the public page ------------------------------------------------------------------------------


def test_the_public_page_links_to_set_up_only_for_managers(client, login_as, app):
    contest = factories.competition(code="CY1")
    factories.track(contest, "idea", name_en="Idea track")
    db.session.commit()
    assert "/competitions/CY1/setup/" not in app.test_client().get("/competitions/CY1").get_data(as_text=True)
    login_as("judge", competition=contest, locale="en")
    assert "/competitions/CY1/setup/" not in client.get("/competitions/CY1").get_data(as_text=True)
    login_as("organizer", competition=contest, locale="en")
    page = client.get("/competitions/CY1", headers=EN).get_data(as_text=True)
    assert 'href="/competitions/CY1/setup/"' in page and "Idea track" in page
