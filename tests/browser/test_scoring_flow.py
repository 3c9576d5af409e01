"""A judge scores in Chromium, on a phone and on a desktop: opens the scorecard from their
assignments, reads the plan inline, fills every criterion, saves a draft, reloads (the values are
back), submits through the confirmation and sees the read-only scorecard; autosave survives a
dropped network (offline, a failing request) and an expired session, keeping the input in the
browser and sending it again. axe-core checks every page.

The judge uses English (their account's language); controls are found by their data-testid.
"""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import pikepdf
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import Assignment
from competition.scoring import services as scoring
from competition.scoring.models import Scorecard
from competition.submissions import services as submissions
from tests import factories
from tests.browser.conftest import VIEWPORTS, PageChecker

#: what the judge types per criterion of the "alliance-online-review" preset (25, 25, 20, 20, 10)
POINTS = {"innovation": "21", "business": "18", "team": "16", "employment": "15", "twin_city": "8"}
TOTAL = "78"
OVERALL = "商业模式清晰，团队执行力强；\n建议补充川渝两地的市场数据。"
_worlds = itertools.count(1)


def _pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def _world(app, label: str) -> dict:
    """A round whose judging is open for three more days, one handed-in plan, a rubric from the
    alliance's preset (overall comment of at least 10 characters) and its judge."""
    number = next(_worlds)
    with app.app_context():
        now = utcnow()
        contest = factories.competition(code=f"SCORE{number}", state="judging")
        track = factories.track(contest, "idea")
        organizer = factories.user(locale="en")
        factories.grant(organizer, contest, "organizer")
        judge = factories.user(email=f"judge-score-{label}-{number}@example.edu.cn", locale="en",
                               institution=factories.institution("CQU"))  # fmt: skip
        factories.grant(judge, contest, "judge")
        round_ = factories.round_(contest, level="alliance", judging_opens_at=now - timedelta(days=1),
                                  judging_closes_at=now + timedelta(days=3, hours=2))  # fmt: skip
        slots = {slot.code: slot for slot in submissions.add_standard_slots(round_, actor=organizer)}
        team = factories.team(contest, state="approved", track_row=track, name=f"评分测试{number}")
        submissions.upload(round_, team, slots["plan"], actor=team.leader, stream=io.BytesIO(_pdf()),
                           filename="商业计划书.pdf", started_at=now, now=now)  # fmt: skip
        submissions.save_details(round_, team, actor=team.leader, abstract="柑橘病虫害识别。", keywords="农业, AI",
                                 industry="农业", stage=None, now=now)  # fmt: skip
        submission = submissions.submit(round_, team, actor=team.leader, now=now)
        rubric = scoring.create_rubric(round_, actor=organizer, preset_code="alliance-online-review")
        rubric.min_comment_chars = 10
        assignment = Assignment(round_id=round_.id, submission_id=submission.id, judge_id=judge.id)
        db.session.add(assignment)
        db.session.commit()
        return {"judge": judge.email, "assignment_id": assignment.id, "title": team.project_title}


def _log_in(page, base_url: str, email: str, *, then: str = "**/account/") -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(then)


def _stored(assignment_id: int, app) -> Scorecard | None:
    with app.app_context():
        card = db.session.scalar(select(Scorecard).where(Scorecard.assignment_id == assignment_id))
        if card is not None:
            card.values  # noqa: B018 - loaded before the session closes
            db.session.expunge(card)
        return card


def _fill(page) -> None:
    for code, points in POINTS.items():
        page.get_by_test_id(f"points-{code}").fill(points)
    page.get_by_test_id("comment-innovation").fill("图像识别方案有新意")
    page.get_by_test_id("overall-comment").fill(OVERALL)


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_a_judge_fills_saves_reloads_and_submits_through_the_confirmation(live_server, browser, device):
    world = _world(live_server, device)
    base = live_server.base_url
    context = browser.new_context(locale="en-US", **VIEWPORTS[device])
    page = context.new_page()
    checker = PageChecker(page, f"scoring-{device}")
    page.goto(base + "/account/login")
    _log_in(page, base, world["judge"])

    page.goto(base + "/judging/")
    assignment = page.get_by_test_id("assignment")
    assert assignment.get_by_test_id("scorecard-state").inner_text() == "Not started"
    assert page.get_by_test_id("round-progress").inner_text() == "0 of 1 done"
    assert "3 days" in page.get_by_test_id("round-time-left").inner_text()
    checker.check("home")

    with page.expect_response(lambda response: "inline=1" in response.url) as pdf:
        page.get_by_test_id("open-scorecard").click()
    assert pdf.value.status == 200
    page.get_by_test_id("scorecard").wait_for()
    assert page.get_by_test_id("project-title").inner_text() == world["title"]
    assert page.get_by_test_id("total").inner_text() == "0"
    checker.check("scorecard-empty")

    _fill(page)
    assert page.get_by_test_id("total").inner_text() == TOTAL  # the total follows as one types
    assert "29" in page.get_by_test_id("overall-counter").inner_text()  # the line break counts once
    page.get_by_test_id("save-draft").click()
    page.get_by_text("Your draft has been saved.").wait_for()
    card = _stored(world["assignment_id"], live_server)
    assert card.state == "draft" and str(card.total) == "78.0"

    page.reload()
    for code, points in POINTS.items():
        assert page.get_by_test_id(f"points-{code}").input_value() == points
    assert page.get_by_test_id("overall-comment").input_value() == OVERALL
    assert page.get_by_test_id("comment-innovation").input_value() == "图像识别方案有新意"
    assert page.get_by_test_id("total").inner_text() == TOTAL
    checker.check("scorecard-draft")

    page.get_by_test_id("submit-scores").click()
    page.get_by_test_id("confirm-submit").wait_for()
    assert page.get_by_test_id("total").inner_text() == f"{TOTAL} / 100"
    assert page.get_by_test_id("score-row").count() == len(POINTS)
    assert _stored(world["assignment_id"], live_server).state == "draft"  # not before the second step
    checker.check("confirm")

    page.get_by_test_id("confirm-submit").click()
    page.get_by_test_id("submitted").wait_for()
    assert page.get_by_test_id("points-innovation").count() == 0  # read-only
    assert page.get_by_test_id("total").inner_text() == f"{TOTAL} / 100"
    assert page.evaluate(f"localStorage.getItem('scorecard:{world['assignment_id']}')") is None
    assert _stored(world["assignment_id"], live_server).state == "submitted"
    checker.check("submitted")

    page.goto(base + "/judging/")
    assert page.get_by_test_id("round-progress").inner_text() == "1 of 1 done"
    assert page.get_by_test_id("scorecard-state").inner_text() == "Submitted"
    context.close()


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_autosave_keeps_the_input_through_a_dropped_network_and_saves_when_back(live_server, browser, device):
    world = _world(live_server, f"net-{device}")
    base = live_server.base_url
    key = f"scorecard:{world['assignment_id']}"
    context = browser.new_context(locale="en-US", **VIEWPORTS[device])
    page = context.new_page()
    checker = PageChecker(page, f"scoring-network-{device}")
    page.goto(base + "/account/login")
    _log_in(page, base, world["judge"])
    page.goto(f"{base}/scoring/assignments/{world['assignment_id']}")
    status = page.get_by_test_id("autosave-status")

    # offline: not saved, kept in the browser; back online: saved
    context.set_offline(True)
    page.get_by_test_id("points-innovation").fill("12")
    expect(status).to_contain_text("Not saved — offline, will retry.", timeout=10_000)
    assert '"12"' in page.evaluate(f"localStorage.getItem('{key}')")
    assert _stored(world["assignment_id"], live_server) is None
    context.set_offline(False)
    expect(status).to_contain_text("Saved at", timeout=15_000)
    assert page.evaluate(f"localStorage.getItem('{key}')") is None
    card = _stored(world["assignment_id"], live_server)
    assert card.version == 1 and str(card.total) == "12.0"

    # the request fails (a dropped connection): retried with back-off until it goes through
    page.route("**/autosave", lambda route: route.abort())
    page.get_by_test_id("points-business").fill("9")
    expect(status).to_contain_text("Not saved — the connection failed, will retry.", timeout=10_000)
    assert '"9"' in page.evaluate(f"localStorage.getItem('{key}')")
    page.unroute("**/autosave")
    expect(status).to_contain_text("Saved at", timeout=20_000)
    assert str(_stored(world["assignment_id"], live_server).total) == "21.0"
    assert page.evaluate(f"localStorage.getItem('{key}')") is None
    checker.errors.clear()  # the failed requests above were logged on purpose
    checker.check("saved-after-network")

    # a server error (5xx): kept and retried the same way
    page.route("**/autosave", lambda route: route.fulfill(status=503, body="busy"))
    page.get_by_test_id("points-team").fill("10")
    expect(status).to_contain_text("Not saved", timeout=10_000)
    page.unroute("**/autosave")
    expect(status).to_contain_text("Saved at", timeout=20_000)
    assert str(_stored(world["assignment_id"], live_server).total) == "31.0"
    context.close()


def test_an_expired_session_keeps_the_input_and_sends_it_after_logging_in(live_server, browser):
    world = _world(live_server, "session")
    base = live_server.base_url
    url = f"{base}/scoring/assignments/{world['assignment_id']}"
    context = browser.new_context(locale="en-US", **VIEWPORTS["phone"])
    page = context.new_page()
    checker = PageChecker(page, "scoring-session")
    page.goto(base + "/account/login")
    _log_in(page, base, world["judge"])
    page.goto(url)
    # every response of a permanent session refreshes its cookie, static files too: one still on its
    # way after the cookies are cleared would bring the session back
    page.wait_for_load_state("networkidle")

    context.clear_cookies()  # the session has expired
    page.get_by_test_id("points-innovation").fill("19")
    page.get_by_test_id("overall-comment").fill("会话过期前写的评语")
    status = page.get_by_test_id("autosave-status")
    expect(status).to_contain_text("Your session has expired", timeout=10_000)
    assert _stored(world["assignment_id"], live_server) is None
    status.get_by_test_id("status-link").click()  # to the log-in page, then back to this scorecard
    _log_in(page, base, world["judge"], then=f"**/scoring/assignments/{world['assignment_id']}")
    expect(page.get_by_test_id("autosave-status")).to_contain_text("Saved at", timeout=10_000)
    assert page.get_by_test_id("points-innovation").input_value() == "19"
    card = _stored(world["assignment_id"], live_server)
    assert str(card.total) == "19.0" and card.overall_comment == "会话过期前写的评语"
    checker.errors.clear()  # the 401 above was logged on purpose
    checker.check("restored-after-login")
    context.close()


def test_a_stale_tab_is_told_and_its_input_is_offered_back(live_server, browser):
    world = _world(live_server, "stale")
    base = live_server.base_url
    url = f"{base}/scoring/assignments/{world['assignment_id']}"
    context = browser.new_context(locale="en-US", **VIEWPORTS["desktop"])
    first, second = context.new_page(), context.new_page()
    first.goto(base + "/account/login")
    _log_in(first, base, world["judge"])
    first.goto(url)
    second.goto(url)
    first.get_by_test_id("points-innovation").fill("20")
    expect(first.get_by_test_id("autosave-status")).to_contain_text("Saved at", timeout=10_000)
    # the second tab still has version 0: its save is refused, its input stays on screen and in storage
    second.get_by_test_id("points-innovation").fill("5")
    expect(second.get_by_test_id("autosave-status")).to_contain_text("changed elsewhere", timeout=10_000)
    assert second.get_by_test_id("points-innovation").input_value() == "5"
    assert str(_stored(world["assignment_id"], live_server).total) == "20.0"
    second.reload()
    assert second.get_by_test_id("points-innovation").input_value() == "20"  # the newer save
    second.get_by_test_id("unsaved-elsewhere").wait_for()
    second.get_by_test_id("restore-unsaved").click()  # the judge chooses their input
    assert second.get_by_test_id("points-innovation").input_value() == "5"
    expect(second.get_by_test_id("autosave-status")).to_contain_text("Saved at", timeout=10_000)
    assert str(_stored(world["assignment_id"], live_server).total) == "5.0"
    context.close()
