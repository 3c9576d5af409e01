"""The team's submission page, uploads, downloads and the judges' page, through HTTP: real files,
real storage under instance/uploads, 404 for everyone who may not read a file."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pikepdf
import pytest
from sqlalchemy import func, select

from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import Assignment
from competition.submissions import blind, services
from competition.submissions.models import Submission, SubmissionFile
from tests import factories
from tests.submissions import AUTHOR, HTML, MP4, PNG, SHELL, SVG, UNIVERSITY, office_bytes, pdf_bytes

EN = {"Accept-Language": "en"}
PLAN = "商业计划书.pdf"
PLAN_QUOTED = quote(PLAN)  # %E5%95%86%E4%B8%9A%E8%AE%A1%E5%88%92%E4%B9%A6.pdf


# --- set-up ---------------------------------------------------------------------------------------


@pytest.fixture
def setup(app):
    """A competition in judging, an approved team of three with an advisor, a school round with the
    standard materials (plan, slides, video, attachments), a deadline in three days and judging open."""
    contest = factories.competition(code="SUB2026")
    factories.track(contest, "idea")
    leader = factories.user(locale="en", real_name="组长甲")
    team = factories.team(contest, state="approved", leader=leader, name="星火战队", advisors=1)
    for member in team.members:
        member.user.locale = "en"
    organizer = factories.user(locale="en")
    factories.grant(organizer, contest, "organizer")
    now = utcnow()
    round_ = factories.round_(
        contest,
        submission_deadline=now + timedelta(days=3),
        judging_opens_at=now - timedelta(days=1),
        judging_closes_at=now + timedelta(days=10),
    )
    services.add_standard_slots(round_, actor=organizer)
    db.session.commit()
    slots = {slot.code: slot for slot in round_.material_slots}
    return {"contest": contest, "team": team, "round": round_, "slots": slots, "organizer": organizer}


def _page_url(team, round_) -> str:
    return f"/teams/{team.id}/rounds/{round_.id}/submission"


def _upload(client, team, round_, slot, data: bytes, name: str = PLAN, *, headers=None, **kwargs):
    return client.post(
        f"{_page_url(team, round_)}/slots/{slot.id}/upload",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=EN | (headers or {}),
        **kwargs,
    )


def _files() -> list[SubmissionFile]:
    return list(db.session.scalars(select(SubmissionFile).order_by(SubmissionFile.id)))


def _stored(app) -> set[Path]:
    root = Path(app.instance_path)
    return {path for path in root.rglob("*") if path.is_file() and "uploads" in path.parts}


def _messages(response) -> str:
    return response.get_data(as_text=True)


def _judge(contest, *, locale="en"):
    person = factories.user(locale=locale)
    factories.grant(person, contest, "judge")
    return person


def _assign(judge, submission):
    db.session.add(Assignment(round_id=submission.round_id, submission=submission, judge_id=judge.id))
    db.session.commit()


def _submission(team, round_) -> Submission:
    return db.session.scalar(select(Submission).where(Submission.team_id == team.id, Submission.round_id == round_.id))


# --- the page -------------------------------------------------------------------------------------


def test_page_shows_materials_deadline_time_left_and_what_is_missing(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    page = client.get(_page_url(team, round_), headers=EN).get_data(as_text=True)
    assert "Business plan" in page and "Pitch slides" in page and "Project video" in page
    assert 'accept=".pdf,application/pdf"' in page
    assert "video/mp4" in page and 'type="url"' in page  # the video slot takes a link too
    assert re.search(r'data-testid="time-left">\s*(2 days \d+ hours|3 days)', page)
    assert "within 15 minutes after it" in page
    missing = page[page.index('data-testid="missing"') :][:500]
    assert "Business plan" in missing and "Abstract" in missing
    assert "js/char-counter.js" in page and 'data-char-limit="800"' in page
    assert "blind-warning" not in page
    assert "<script>" not in page and " style=" not in page


def test_team_page_links_to_each_round_the_team_takes_part_in(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    other_round = factories.round_(setup["contest"], position=2, name_zh="决赛", name_en="Final",
                                   level="alliance", entry_rule="advanced")  # fmt: skip
    db.session.commit()
    login_as(user=team.leader)
    page = client.get(f"/teams/{team.id}", headers=EN).get_data(as_text=True)
    assert _page_url(team, round_) in page
    assert _page_url(team, other_round) not in page  # entered by advancement only
    assert client.get(_page_url(team, other_round)).status_code == 404


def test_blind_round_warns_the_team(client, login_as, setup):
    setup["round"].blind = True
    db.session.commit()
    login_as(user=setup["team"].leader)
    page = client.get(_page_url(setup["team"], setup["round"]), headers=EN).get_data(as_text=True)
    assert "blind-warning" in page and "remove the names of your team" in page


def test_only_members_and_reviewers_see_the_page(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as("student", competition=setup["contest"], locale="en")
    assert client.get(_page_url(team, round_)).status_code == 404
    login_as(user=_judge(setup["contest"]))
    assert client.get(_page_url(team, round_)).status_code == 404
    login_as(user=setup["organizer"])
    assert client.get(_page_url(team, round_)).status_code == 200
    login_as(user=team.members[1].user)
    assert client.get(_page_url(team, round_)).status_code == 200


# --- uploads --------------------------------------------------------------------------------------


def test_upload_keeps_the_chinese_name_size_and_sha256_under_a_generated_key(app, client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    data = pdf_bytes()
    response = _upload(client, team, round_, setup["slots"]["plan"], data)
    assert response.status_code == 302
    (item,) = _files()
    assert (item.original_name, item.kind, item.size, item.sha256) == (
        PLAN, "pdf", len(data), hashlib.sha256(data).hexdigest()
    )  # fmt: skip
    assert re.fullmatch(r"submissions/[0-9a-f]{32}\.pdf", item.storage_key)
    assert (Path(app.instance_path) / "uploads" / item.storage_key).read_bytes() == data
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert PLAN in page and "has been uploaded" in page and "组长甲" in page


def test_reupload_keeps_every_version_and_the_team_sees_the_history(client, login_as, setup):
    team, round_, plan = setup["team"], setup["round"], setup["slots"]["plan"]
    login_as(user=team.leader)
    first, second = pdf_bytes(), pdf_bytes(author="李四")
    _upload(client, team, round_, plan, first, "计划书-初稿.pdf")
    _upload(client, team, round_, plan, second, "计划书-终稿.pdf")
    old, new = _files()
    assert services.storage.path_for(old.storage_key).read_bytes() == first  # the old blob stays
    page = client.get(_page_url(team, round_), headers=EN).get_data(as_text=True)
    assert page.count('data-testid="version-row"') == 2
    current = page[page.index('data-testid="slot-plan"') : page.index('data-testid="history"')]
    assert "计划书-终稿.pdf" in current and "计划书-初稿.pdf" not in current
    assert "replaced" in page and "current" in page


def test_two_teams_uploading_the_same_name_get_two_blobs(client, login_as, setup):
    other = factories.team(setup["contest"], state="approved", leader=factories.user(locale="en"))
    db.session.commit()
    for team in (setup["team"], other):
        login_as(user=team.leader)
        assert _upload(client, team, setup["round"], setup["slots"]["plan"], pdf_bytes()).status_code == 302
    first, second = _files()
    assert first.original_name == second.original_name == PLAN
    assert first.storage_key != second.storage_key
    assert (
        services.storage.path_for(first.storage_key).exists() and services.storage.path_for(second.storage_key).exists()
    )


@pytest.mark.parametrize("data", [HTML, SVG, SHELL], ids=["html", "svg", "script"])
def test_other_content_named_pdf_is_refused_and_nothing_is_stored(app, client, login_as, setup, data):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    before = _stored(app)
    response = _upload(client, team, round_, setup["slots"]["plan"], data, "plan.pdf", follow_redirects=True)
    assert "the type is read from its content, not its name" in _messages(response)
    assert _files() == [] and _stored(app) == before


def test_a_name_without_extension_is_read_from_the_content(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    assert _upload(client, team, round_, setup["slots"]["plan"], pdf_bytes(), "计划书").status_code == 302
    (item,) = _files()
    assert (item.kind, item.original_name) == ("pdf", "计划书")
    response = client.get(f"/files/{item.id}")
    assert "filename*=UTF-8''" + quote("计划书.pdf") in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "name",
    ["../../app/config.py", "..\\..\\win.ini", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "evil\x00.pdf", "/etc/passwd"],
    ids=["dotdot", "backslash", "encoded", "nul", "absolute"],
)
def test_path_names_are_only_names(app, client, login_as, setup, name):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    instance = Path(app.instance_path)
    outside_before = {path for path in instance.rglob("*") if "uploads" not in path.parts}
    assert _upload(client, team, round_, setup["slots"]["plan"], pdf_bytes(), name).status_code == 302
    (item,) = _files()
    assert re.fullmatch(r"submissions/[0-9a-f]{32}\.pdf", item.storage_key)
    path = services.storage.path_for(item.storage_key)
    assert (instance / "uploads").resolve() in path.parents
    assert not any(char in item.original_name for char in "/\\\x00")
    assert {path for path in instance.rglob("*") if "uploads" not in path.parts} == outside_before
    assert not (instance.parent / "app").exists()


def test_a_body_over_the_slot_limit_gets_the_413_page_naming_the_limit(app, client, login_as, setup):
    team, round_, plan = setup["team"], setup["round"], setup["slots"]["plan"]
    plan.max_bytes = 64 * 1024
    db.session.commit()
    login_as(user=team.leader)
    before = _stored(app)
    response = _upload(client, team, round_, plan, pdf_bytes(padding=600 * 1024))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Upload too large" in page and "limit of 64 KB" in page
    assert _files() == [] and _stored(app) == before


def test_a_file_just_over_the_limit_is_refused_with_the_limit(client, login_as, setup):
    team, round_, plan = setup["team"], setup["round"], setup["slots"]["plan"]
    plan.max_bytes = 64 * 1024
    db.session.commit()
    login_as(user=team.leader)
    response = _upload(client, team, round_, plan, pdf_bytes(padding=80 * 1024), follow_redirects=True)
    assert response.status_code == 200
    assert "Business plan may be at most 64 KB" in response.get_data(as_text=True)
    assert _files() == []


def test_attachments_past_max_files_are_refused_with_the_limit(client, login_as, setup):
    team, round_, attachments = setup["team"], setup["round"], setup["slots"]["attachments"]
    attachments.max_files = 10
    db.session.commit()
    login_as(user=team.leader)
    for number in range(10):
        assert _upload(client, team, round_, attachments, PNG + bytes([number]), f"图{number}.png").status_code == 302
    response = _upload(client, team, round_, attachments, PNG, "图10.png", follow_redirects=True)
    assert "Other attachments holds at most 10 files" in response.get_data(as_text=True)
    assert len(_files()) == 10
    assert "holds at most 10 files; remove one to add another" in response.get_data(as_text=True)


def test_removing_an_attachment_keeps_it_in_the_history(client, login_as, setup):
    team, round_, attachments = setup["team"], setup["round"], setup["slots"]["attachments"]
    login_as(user=team.leader)
    _upload(client, team, round_, attachments, PNG, "照片.png")
    (item,) = _files()
    response = client.post(f"{_page_url(team, round_)}/files/{item.id}/remove", headers=EN, follow_redirects=True)
    assert "stays in the version history" in response.get_data(as_text=True)
    db.session.refresh(item)
    assert item.removed_at is not None
    assert _submission(team, round_).current_files(attachments) == []
    assert client.get(f"/files/{item.id}").status_code == 200  # the team still reads its history


def test_a_video_link_is_an_external_link_not_a_download(client, login_as, setup):
    team, round_, video = setup["team"], setup["round"], setup["slots"]["video"]
    login_as(user=team.leader)
    url = "https://v.example.com/watch?v=abc"
    response = client.post(f"{_page_url(team, round_)}/slots/{video.id}/link", data={"link": url}, headers=EN)
    assert response.status_code == 302
    (item,) = _files()
    page = client.get(_page_url(team, round_), headers=EN).get_data(as_text=True)
    assert f'<a href="{url.replace("&", "&amp;")}" rel="noopener noreferrer"' in page
    assert client.get(f"/files/{item.id}").status_code == 404
    refused = client.post(
        f"{_page_url(team, round_)}/slots/{video.id}/link", data={"link": "javascript:alert(1)"}, headers=EN,
        follow_redirects=True,
    )  # fmt: skip
    assert "http:// or https://" in refused.get_data(as_text=True) and len(_files()) == 1


# --- deadlines ------------------------------------------------------------------------------------


def test_after_the_deadline_the_page_says_so_and_uploads_are_refused(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    round_.submission_deadline = utcnow() - timedelta(hours=1)
    db.session.commit()
    login_as(user=team.leader)
    page = client.get(_page_url(team, round_), headers=EN).get_data(as_text=True)
    assert "The deadline has passed." in page and 'data-testid="window-closed"' in page
    assert 'type="file"' not in page
    response = _upload(client, team, round_, setup["slots"]["plan"], pdf_bytes(), follow_redirects=True)
    assert "nothing can be handed in any more" in response.get_data(as_text=True)
    assert _files() == []


def test_an_upload_that_began_before_the_deadline_is_accepted_within_the_grace_period(app, client, login_as, setup):
    """Behind a trusted proxy that buffers the body, the proxy's X-Request-Start is when it began."""
    team, round_, plan = setup["team"], setup["round"], setup["slots"]["plan"]
    now = utcnow()
    round_.submission_deadline = now - timedelta(minutes=5)
    db.session.commit()
    login_as(user=team.leader)
    began = {"X-Request-Start": f"t={(now - timedelta(minutes=6)).timestamp():.3f}"}
    # without a trusted proxy the header means nothing
    _upload(client, team, round_, plan, pdf_bytes(), headers=began)
    assert _files() == []
    app.config["TRUSTED_PROXIES"] = 1
    assert _upload(client, team, round_, plan, pdf_bytes(), headers=began).status_code == 302
    (item,) = _files()
    assert abs((item.upload_started_at - (now - timedelta(minutes=6))).total_seconds()) < 1
    # milliseconds, as some proxies send them
    millis = {"X-Request-Start": f"t={int((now - timedelta(minutes=7)).timestamp() * 1000)}"}
    assert _upload(client, team, round_, plan, pdf_bytes(), headers=millis).status_code == 302
    assert len(_files()) == 2


def test_an_upload_that_ends_past_the_grace_period_is_refused(app, client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    now = utcnow()
    round_.submission_deadline = now - timedelta(minutes=20)
    db.session.commit()
    app.config["TRUSTED_PROXIES"] = 1
    login_as(user=team.leader)
    began = {"X-Request-Start": f"t={(now - timedelta(minutes=21)).timestamp()}"}
    response = _upload(client, team, round_, setup["slots"]["plan"], pdf_bytes(), headers=began,
                       follow_redirects=True)  # fmt: skip
    assert "more than 15 minutes after it" in response.get_data(as_text=True)
    assert _files() == []


# --- details and submit ---------------------------------------------------------------------------


def _details(client, team, round_, abstract: str, **fields):
    data = {"abstract": abstract, "keywords": "农业 AI", "industry": "农业", "stage": "prototype"} | fields
    return client.post(f"{_page_url(team, round_)}/details", data=data, headers=EN)


def test_the_abstract_limit_counts_characters_and_crlf_once(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    response = _details(client, team, round_, "字" * 801)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "at most 800 characters; it has 801" in page
    assert "字" * 801 in page  # what was typed is kept
    assert _submission(team, round_) is None
    exactly = "字" * 399 + "\r\n" + "字" * 400  # 800 characters as the person sees them
    assert _details(client, team, round_, exactly).status_code == 302
    submission = _submission(team, round_)
    assert submission.abstract == "字" * 399 + "\n" + "字" * 400
    assert (submission.keywords, submission.industry, submission.stage) == ("农业 AI", "农业", "prototype")
    page = client.get(_page_url(team, round_), headers=EN).get_data(as_text=True)
    assert "<span data-char-count>800</span> / 800" in page


def test_an_unknown_stage_is_refused_on_the_form(client, login_as, setup):
    login_as(user=setup["team"].leader)
    response = _details(client, setup["team"], setup["round"], "简介", stage="unicorn")
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)


def test_submit_refuses_while_something_is_missing(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    response = client.post(f"{_page_url(team, round_)}/submit", headers=EN, follow_redirects=True)
    assert "Still missing before handing in: Business plan" in response.get_data(as_text=True)
    assert _submission(team, round_) is None  # refused: nothing written


def test_submit_locks_the_submission(app, client, login_as, setup):
    team, round_, plan = setup["team"], setup["round"], setup["slots"]["plan"]
    login_as(user=team.members[1].user)  # any member, not only the leader
    _upload(client, team, round_, plan, pdf_bytes())
    _details(client, team, round_, "川渝柑橘病虫害识别")
    response = client.post(f"{_page_url(team, round_)}/submit", headers=EN, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "has been handed in and is now locked" in page
    assert 'data-testid="submission-locked"' in page and 'type="file"' not in page
    assert 'data-testid="submit-submission"' not in page
    submission = _submission(team, round_)
    assert submission.state == "submitted" and submission.submitted_by_id == team.members[1].user_id
    before = _stored(app)
    refused = _upload(client, team, round_, plan, pdf_bytes(), follow_redirects=True)
    assert "handed in and is locked" in refused.get_data(as_text=True)
    assert len(_files()) == 1 and _stored(app) == before
    assert _details(client, team, round_, "改了").status_code == 200
    db.session.refresh(submission)
    assert submission.abstract == "川渝柑橘病虫害识别"


def test_reviewers_read_the_page_but_cannot_change_it(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=setup["organizer"])
    page = client.get(_page_url(team, round_), headers=EN).get_data(as_text=True)
    assert 'type="file"' not in page and "submit-submission" not in page
    assert _upload(client, team, round_, setup["slots"]["plan"], pdf_bytes()).status_code == 403
    assert client.post(f"{_page_url(team, round_)}/submit").status_code == 403


# --- downloads ------------------------------------------------------------------------------------


def _assert_safe_headers(response, *, inline: bool = False) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert ("sandbox" in csp) is (not inline)
    assert "private" in response.headers["Cache-Control"]


def test_download_carries_the_chinese_name_and_safe_headers(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    data = pdf_bytes()
    _upload(client, team, round_, setup["slots"]["plan"], data)
    (item,) = _files()
    response = client.get(f"/files/{item.id}")
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{PLAN_QUOTED}" in disposition
    assert PLAN_QUOTED.startswith("%E5%95%86")
    _assert_safe_headers(response)
    assert response.headers["X-Frame-Options"] == "DENY"


def test_only_pdfs_are_served_inline(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    _upload(client, team, round_, setup["slots"]["plan"], pdf_bytes())
    _upload(client, team, round_, setup["slots"]["slides"], office_bytes("pptx"), "路演.pptx")
    plan, slides = _files()
    response = client.get(f"/files/{plan.id}?inline=1")
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    _assert_safe_headers(response, inline=True)
    response = client.get(f"/files/{slides.id}?inline=1")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    _assert_safe_headers(response)


def test_videos_are_served_in_ranges(client, login_as, setup):
    team, round_ = setup["team"], setup["round"]
    login_as(user=team.leader)
    _upload(client, team, round_, setup["slots"]["video"], MP4, "路演视频.mp4")
    (item,) = _files()
    response = client.get(f"/files/{item.id}", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-99/{len(MP4)}"
    assert response.data == MP4[:100] and response.mimetype == "video/mp4"
    assert response.headers["Accept-Ranges"] == "bytes"
    _assert_safe_headers(response)
    tail = client.get(f"/files/{item.id}", headers={"Range": f"bytes={len(MP4) - 10}-"})
    assert tail.status_code == 206 and tail.data == MP4[-10:]


def test_another_teams_files_and_old_versions_are_404_for_a_student(client, login_as, setup):
    team, round_, plan = setup["team"], setup["round"], setup["slots"]["plan"]
    login_as(user=team.leader)
    _upload(client, team, round_, plan, pdf_bytes())
    _upload(client, team, round_, plan, pdf_bytes())
    old, current = _files()
    assert client.get(f"/files/{old.id}").status_code == 200  # the team reads its whole history
    other = factories.team(setup["contest"], state="approved", leader=factories.user(locale="en"))
    db.session.commit()
    login_as(user=other.leader)
    for item in (old, current):
        response = client.get(f"/files/{item.id}")
        assert response.status_code == 404
    assert client.get("/files/999999").status_code == 404
    assert client.get(f"/submissions/{current.submission_id}/view").status_code == 404


# --- judges ---------------------------------------------------------------------------------------


@pytest.fixture
def handed_in(client, login_as, setup):
    """The team has uploaded two versions of its plan (named after the team) and slides, and handed in."""
    team, round_, slots = setup["team"], setup["round"], setup["slots"]
    login_as(user=team.leader)
    _upload(client, team, round_, slots["plan"], pdf_bytes(), f"{team.name}-计划书-初稿.pdf")
    _upload(client, team, round_, slots["plan"], pdf_bytes(), f"{team.name}-{PLAN}")
    _upload(client, team, round_, slots["slides"], office_bytes("pptx"), f"{team.name}-路演.pptx")
    _details(client, team, round_, "基于图像识别的柑橘病虫害监测。")
    client.post(f"{_page_url(team, round_)}/submit")
    client.get(_page_url(team, round_))  # the team reads its messages (they live in the shared cookie jar)
    old, plan, slides = _files()
    return {"submission": _submission(team, round_), "old": old, "plan": plan, "slides": slides}


def test_an_unassigned_judge_gets_404(client, login_as, setup, handed_in):
    login_as(user=_judge(setup["contest"]))
    assert client.get(f"/files/{handed_in['plan'].id}").status_code == 404
    assert client.get(f"/submissions/{handed_in['submission'].id}/view").status_code == 404


def test_an_assigned_judge_gets_404_while_judging_is_closed(client, login_as, setup, handed_in):
    judge = _judge(setup["contest"])
    _assign(judge, handed_in["submission"])
    setup["round"].judging_opens_at = utcnow() + timedelta(days=1)
    db.session.commit()
    login_as(user=judge)
    assert client.get(f"/files/{handed_in['plan'].id}").status_code == 404
    assert client.get(f"/submissions/{handed_in['submission'].id}/view").status_code == 404


def test_an_assigned_judge_reads_the_current_version_only(client, login_as, setup, handed_in):
    judge = _judge(setup["contest"])
    _assign(judge, handed_in["submission"])
    login_as(user=judge)
    plan = client.get(f"/files/{handed_in['plan'].id}")
    assert plan.status_code == 200
    assert quote(f"{setup['team'].name}-{PLAN}") in plan.headers["Content-Disposition"]  # not blind
    _assert_safe_headers(plan)
    assert client.get(f"/files/{handed_in['old'].id}").status_code == 404
    page = client.get(f"/submissions/{handed_in['submission'].id}/view", headers=EN).get_data(as_text=True)
    assert "星火战队" in page and "指导教师1" in page  # not a blind round: the team is shown
    assert f'src="/files/{handed_in["plan"].id}?inline=1"' in page and "<iframe" in page
    assert "基于图像识别的柑橘病虫害监测。" in page


def test_a_judge_whose_role_was_removed_reads_nothing(client, login_as, setup, handed_in):
    judge = _judge(setup["contest"])
    _assign(judge, handed_in["submission"])
    for grant in list(judge.roles):
        db.session.delete(grant)
    db.session.commit()
    login_as(user=judge)
    assert client.get(f"/files/{handed_in['plan'].id}").status_code == 404


def test_a_blind_judge_never_learns_who_the_team_is(app, client, login_as, setup, handed_in):
    team, round_ = setup["team"], setup["round"]
    round_.blind = True
    db.session.commit()
    judge = _judge(setup["contest"])
    _assign(judge, handed_in["submission"])
    login_as(user=judge)
    page = client.get(f"/submissions/{handed_in['submission'].id}/view", headers=EN).get_data(as_text=True)
    assert team.project_title in page and "基于图像识别的柑橘病虫害监测。" in page
    identifying = [team.name, team.institution.name_zh, team.institution.name_en, "指导教师1"]
    identifying += [member.real_name for member in team.members]
    assert [word for word in identifying if word in page] == []
    assert "Blind review" in page

    plan = client.get(f"/files/{handed_in['plan'].id}")
    assert plan.status_code == 200
    disposition = plan.headers["Content-Disposition"]
    assert quote("Business plan.pdf") in disposition or "Business plan.pdf" in disposition
    assert quote(team.name) not in disposition
    with pikepdf.open(io.BytesIO(plan.data)) as pdf:
        assert "/Author" not in pdf.docinfo and "/Creator" not in pdf.docinfo
        assert "/Metadata" not in pdf.Root
    assert AUTHOR.encode() not in plan.data and UNIVERSITY.encode("utf-16-be") not in plan.data
    _assert_safe_headers(plan)

    slides = client.get(f"/files/{handed_in['slides'].id}")
    assert "Pitch slides.pptx" in slides.headers["Content-Disposition"]
    copy = Path(app.instance_path) / "slides-copy.pptx"
    copy.write_bytes(slides.data)
    try:
        assert blind.office_metadata(copy) == {}
    finally:
        copy.unlink()

    # the team and the organizers still get the original
    login_as(user=team.leader)
    original = client.get(f"/files/{handed_in['plan'].id}")
    assert quote(f"{team.name}-{PLAN}") in original.headers["Content-Disposition"]
    with pikepdf.open(io.BytesIO(original.data)) as pdf:
        assert str(pdf.docinfo["/Author"]) == AUTHOR


def test_a_blind_copy_is_made_on_first_need_for_files_uploaded_before_the_round_went_blind(client, login_as, setup,
                                                                                          handed_in):  # fmt: skip
    plan = handed_in["plan"]
    assert plan.blind_key is None  # uploaded while the round was not blind
    setup["round"].blind = True
    db.session.commit()
    judge = _judge(setup["contest"])
    _assign(judge, handed_in["submission"])
    login_as(user=judge)
    assert client.get(f"/files/{plan.id}").status_code == 200
    db.session.refresh(plan)
    assert plan.blind_key and plan.blind_key != plan.storage_key
    assert db.session.scalar(select(func.count(SubmissionFile.id))) == 3


def test_reviewers_read_the_judges_page_with_the_team(client, login_as, setup, handed_in):
    setup["round"].blind = True
    db.session.commit()
    login_as(user=setup["organizer"])
    page = client.get(f"/submissions/{handed_in['submission'].id}/view", headers=EN).get_data(as_text=True)
    assert "星火战队" in page and 'data-testid="team-identity"' in page


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_with_csrf_on_a_too_large_body_is_still_refused_by_its_size(app, client, login_as, setup):
    """CSRF reads the form, so the size check must come first: 413 with the limit, not "form expired"."""
    team, round_, plan = setup["team"], setup["round"], setup["slots"]["plan"]
    plan.max_bytes = 64 * 1024
    db.session.commit()
    login_as(user=team.leader)
    response = _upload(client, team, round_, plan, pdf_bytes(padding=600 * 1024))
    assert response.status_code == 413 and "limit of 64 KB" in response.get_data(as_text=True)
    small = _upload(client, team, round_, plan, pdf_bytes())
    assert small.status_code == 400  # no token: refused, nothing stored
    assert _files() == []


@pytest.mark.parametrize(
    ("header", "expected_seconds_ago"),
    [
        ("t=%(s).3f", 60),  # seconds
        ("t=%(ms)d", 60),  # milliseconds
        ("t=%(us)d", 60),  # microseconds
        ("%(s).3f", 60),  # without the t=
        ("t=not-a-number", 0),
        ("t=%(future).3f", 0),  # later than the app's own clock: ignored
        ("t=%(old).3f", 0),  # more than six hours before: ignored
        ("t=nan", 0),
    ],
)
def test_request_start_from_a_trusted_proxy(app, header, expected_seconds_ago):
    from competition.core.web import request_started_at

    app.config["TRUSTED_PROXIES"] = 1
    now = utcnow()
    began = (now - timedelta(seconds=60)).timestamp()
    values = {"s": began, "ms": began * 1000, "us": began * 1_000_000, "future": now.timestamp() + 3600,
              "old": now.timestamp() - 7 * 3600}  # fmt: skip
    with app.test_request_context(headers={"X-Request-Start": header % values}):
        app.preprocess_request()
        started = request_started_at()
    assert abs((now - started).total_seconds() - expected_seconds_ago) < 2
