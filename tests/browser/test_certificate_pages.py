"""The organizers' certificate pages in Chromium: axe-core on each page, no console error (a CSP
violation is one), the progress bar moved by static/js/job-progress.js from the JSON endpoint until
the page reloads, and the template preview's PDF framed in the editor."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from competition import demo
from competition.certificates import jobs as certificate_jobs
from competition.competitions.models import Competition
from competition.core.jobs import Job
from competition.extensions import db
from competition.rounds.models import Round
from tests.browser.conftest import PageChecker


@pytest.fixture(scope="module")
def last_year(live_server):
    with live_server.app_context():
        if db.session.scalar(select(Competition).where(Competition.code == "CY2026")) is None:
            demo.load()
            db.session.commit()
        competition = db.session.scalar(select(Competition).where(Competition.code == "CY2025"))
        final = db.session.scalar(select(Round).where(Round.competition_id == competition.id))
        return competition.code, final.id


def _wait_until(page, script: str, timeout: float = 10) -> None:
    """Poll `script` (a function) until it returns true (wait_for_function evaluates strings: CSP)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(script):
                return
        except Exception:  # noqa: BLE001, S110 - the page is reloading
            pass
        assert time.monotonic() < deadline, script
        time.sleep(0.2)


def _log_in(page, base_url: str) -> None:
    page.goto(base_url + "/account/login")
    page.get_by_label("电子邮箱").fill(demo.demo_email("admin"))
    page.get_by_label("密码").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account/")


def test_issue_list_and_edit_templates_in_the_browser(live_server, browser, last_year):
    code, round_id = last_year
    base = f"{live_server.base_url}/competitions/{code}/certificates"
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    checker = PageChecker(page, "certificates")
    _log_in(page, live_server.base_url)

    page.goto(f"{base}/")
    checker.check("index")
    # issue the judges' certificates only (rendered for real, in the request: jobs run inline)
    form = page.locator('[data-testid="issue-form"]')
    if not form.is_visible():  # the demo has planned this round's certificates: the form is folded
        page.locator("details:has([data-testid=issue-form]) > summary").click()
    for choice in ("award_team", "award_member", "advisor", "participation"):
        form.locator(f'input[value="{choice}"]').uncheck()
    form.locator('[data-testid="issue"]').click()
    page.wait_for_load_state()
    assert page.locator('[data-testid="job-progress"]').get_attribute("data-state") == "finished"
    checker.check("issued")

    page.goto(f"{base}/rounds/{round_id}/")
    # the final's five judges, and the demo student's certificate issued with the demo data
    assert page.locator('[data-testid="certificate"]').count() == 6
    checker.check("round")
    page.locator('[data-testid="revoke-form"]').first.locator("xpath=..").locator("summary").click()
    checker.check("round-revoke-open")

    page.goto(f"{base}/templates/award")
    with page.expect_response(re.compile(r"/templates/award/preview$")) as framed:
        page.reload()
    assert framed.value.status == 200 and framed.value.headers["content-type"] == "application/pdf"
    checker.check("template")
    page.locator('textarea[name="html"]').fill("<p>{{ ''.__class__.__mro__ }}</p>")
    with page.expect_response(re.compile(r"/templates/award/preview$")) as posted:
        page.locator('[data-testid="preview"]').click()
    assert posted.value.status == 200 and posted.value.request.method == "POST"
    frame = page.frame(name="certificate-preview")
    frame.wait_for_selector('[data-testid="preview-problem"]')
    page.locator('[data-testid="save"]').click()
    page.wait_for_load_state()
    assert page.locator("#html-error").count() == 1
    checker.check("template-problem")
    context.close()


def test_the_progress_bar_follows_the_job_and_reloads_when_it_is_done(live_server, browser, last_year):
    code, round_id = last_year
    with live_server.app_context():
        job = Job(name=certificate_jobs.JOB_NAME, args={"round_id": round_id}, state="running", progress=40,
                  message="2/5")  # fmt: skip
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    checker = PageChecker(page, "certificate-progress")
    _log_in(page, live_server.base_url)
    page.goto(f"{live_server.base_url}/competitions/{code}/certificates/")
    box = page.locator(f'#round-{round_id} [data-testid="job-progress"]')
    assert box.get_attribute("data-progress-url").endswith(f"/rounds/{round_id}/progress.json")
    checker.check("running")
    with live_server.app_context():
        db.session.get(Job, job_id).progress = 80
        db.session.get(Job, job_id).message = "4/5"
        db.session.commit()
    _wait_until(page, "() => document.querySelector('[data-progress-bar]').value === 80")
    assert re.search(r"4\D+5", page.locator("[data-progress-text]").inner_text())  # the text follows too
    with live_server.app_context():
        row = db.session.get(Job, job_id)
        row.state, row.progress, row.message = "finished", 100, "5/5"
        db.session.commit()
    _wait_until(page, "() => !document.querySelector('[data-progress-url]')")  # reloaded
    assert page.locator(f'#round-{round_id} [data-testid="job-progress"]').get_attribute("data-state") == "finished"
    assert checker.errors == []
    context.close()
