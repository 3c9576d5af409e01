"""A team member hands in the plan: opens the round from the team page, uploads 商业计划书.pdf, sees
it listed under its Chinese name, writes the abstract (the counter follows), hands in and sees the
locked state — in Chromium, desktop and phone, axe-core on every page.

The people use English (their account's language), so the steps read the English interface; the
controls are found by their data-testid.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pikepdf
import pytest

from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import Assignment
from competition.submissions import services
from tests import factories
from tests.browser.conftest import VIEWPORTS, PageChecker
from tests.submissions import MP4

PLAN = "商业计划书.pdf"


def _pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = "张三"
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def _world(app, device: str) -> dict:
    """An approved team of two in a round with the standard materials and a deadline in two days."""
    with app.app_context():
        contest = factories.competition(code=f"SUBMIT-{device.upper()}", name_zh=f"提交测试赛（{device}）")
        factories.track(contest, "idea")
        leader = factories.user(email=f"leader-sub-{device}@example.edu.cn", locale="en",
                                institution=factories.institution("SCU"))  # fmt: skip
        team = factories.team(contest, leader=leader, members=1, state="approved", name=f"川渝星火{device}")
        member = team.members[1].user
        member.email, member.locale = f"member-sub-{device}@example.edu.cn", "en"
        organizer = factories.user(locale="en")
        factories.grant(organizer, contest, "organizer")
        round_ = factories.round_(contest, submission_deadline=utcnow() + timedelta(days=2, hours=3))
        services.add_standard_slots(round_, actor=organizer)
        db.session.commit()
        return {"team_id": team.id, "member": member.email}


def _log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/account/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account/")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_member_uploads_the_plan_writes_the_abstract_and_hands_in(live_server, browser, device):
    world = _world(live_server, device)
    base = live_server.base_url
    context = browser.new_context(locale="en-US", **VIEWPORTS[device])
    page = context.new_page()
    checker = PageChecker(page, f"submission-{device}")
    _log_in(page, base, world["member"])

    page.goto(f"{base}/teams/{world['team_id']}")
    checker.check("team")
    page.get_by_test_id("submission-link").click()
    page.get_by_test_id("slot-plan").wait_for()
    assert page.get_by_test_id("submission-state").inner_text() == "Not started"
    assert "2 days 3 hours" in page.get_by_test_id("time-left").inner_text() or "2 days 2 hours" in (
        page.get_by_test_id("time-left").inner_text()
    )
    checker.check("submission-empty")

    page.get_by_test_id("file-input-plan").set_input_files(
        files=[{"name": PLAN, "mimeType": "application/pdf", "buffer": _pdf()}]
    )
    page.get_by_test_id("upload-plan").click()
    plan = page.get_by_test_id("slot-plan")
    plan.get_by_test_id("file-name").wait_for()
    assert plan.get_by_test_id("file-name").inner_text() == PLAN
    assert page.get_by_test_id("slot-plan").get_by_test_id("version-row").count() == 1
    checker.check("plan-uploaded")

    abstract = "基于图像识别的柑橘病虫害监测，\n服务川渝两地果农。"
    page.get_by_test_id("abstract").fill(abstract)
    assert "25 / 800" in page.get_by_test_id("abstract-counter").inner_text()  # counted as the server counts
    page.get_by_test_id("save-details").click()
    page.get_by_text("The details have been saved.").wait_for()
    assert "25 / 800" in page.get_by_test_id("abstract-counter").inner_text()
    checker.check("details-saved")

    page.get_by_test_id("submit-submission").click()
    page.get_by_test_id("submission-locked").wait_for()
    assert page.get_by_test_id("submission-state").inner_text() == "Submitted"
    assert page.get_by_test_id("file-input-plan").count() == 0
    assert page.get_by_test_id("slot-plan").get_by_test_id("file-name").inner_text() == PLAN
    checker.check("locked")

    page.goto(f"{base}/teams/{world['team_id']}")
    assert "Submitted" in page.get_by_test_id("team-submissions").inner_text()
    context.close()


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_a_judge_of_a_blind_round_reads_the_plan_inline_without_the_team(live_server, browser, device):
    """The plan shows in Chrome's PDF viewer inside the page (its response is not sandboxed), the
    video plays from the download URL, and nothing names the team."""
    app = live_server
    with app.app_context():
        contest = factories.competition(code=f"JUDGE-{device.upper()}")
        factories.track(contest, "idea")
        team = factories.team(contest, state="approved", advisors=1, name=f"星火评审{device}")
        organizer = factories.user(locale="en")
        factories.grant(organizer, contest, "organizer")
        judge = factories.user(email=f"judge-sub-{device}@example.edu.cn", locale="en")
        factories.grant(judge, contest, "judge")
        now = utcnow()
        round_ = factories.round_(contest, blind=True, judging_opens_at=now - timedelta(days=1),
                                  judging_closes_at=now + timedelta(days=1))  # fmt: skip
        slots = {slot.code: slot for slot in services.add_standard_slots(round_, actor=organizer)}
        for code, data, name in (("plan", _pdf(), f"{team.name}.pdf"), ("video", MP4, f"{team.name}.mp4")):
            services.upload(round_, team, slots[code], actor=team.leader, stream=io.BytesIO(data), filename=name,
                            started_at=now, now=now)  # fmt: skip
        services.save_details(round_, team, actor=team.leader, abstract="柑橘病虫害识别。", keywords="", industry="",
                              stage=None, now=now)  # fmt: skip
        submission = services.submit(round_, team, actor=team.leader, now=now)
        db.session.add(Assignment(round_id=round_.id, submission=submission, judge_id=judge.id))
        db.session.commit()
        url, team_name = f"{app.base_url}/submissions/{submission.id}/view", team.name

    context = browser.new_context(locale="en-US", **VIEWPORTS[device])
    page = context.new_page()
    checker = PageChecker(page, f"judge-{device}")
    _log_in(page, app.base_url, f"judge-sub-{device}@example.edu.cn")
    with page.expect_response(lambda response: "inline=1" in response.url) as pdf:
        page.goto(url)
    assert pdf.value.status == 200 and pdf.value.headers["content-disposition"].startswith("inline")
    assert "sandbox" not in pdf.value.headers["content-security-policy"]
    assert page.locator("video[controls]").count() == 1
    assert team_name not in page.content()
    assert page.get_by_test_id("download").first.inner_text() == "Download Business plan.pdf"
    checker.check("judge-view")
    context.close()
