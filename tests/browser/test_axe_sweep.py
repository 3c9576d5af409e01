"""Every page of the demo competition, as its admin and as a student, through axe-core in Chromium
(desktop and phone): no serious or critical accessibility problem, no console error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from competition import demo
from competition.certificates.models import Certificate
from competition.competitions.models import Competition
from competition.extensions import db
from competition.judging.models import Assignment
from competition.rounds.models import Round
from competition.teams.models import Team
from tests.browser.conftest import VIEWPORTS, PageChecker


@pytest.fixture(scope="module")
def demo_pages(live_server):
    """Loads the demo data once; returns the pages to visit per person."""
    with live_server.app_context():
        if db.session.scalar(select(Competition).where(Competition.code == "CY2026")) is None:
            demo.load()
            db.session.commit()
        competition = db.session.scalar(select(Competition).where(Competition.code == "CY2026"))
        school = db.session.scalar(select(Round).where(Round.level == "institution").order_by(Round.id))
        team = db.session.scalar(select(Team).where(Team.name == "芯火团队"))
        code, track = competition.code, competition.tracks[0]
        last_year = db.session.scalar(select(Competition).where(Competition.code == "CY2025"))
        final = db.session.scalar(select(Round).where(Round.competition_id == last_year.id))
        finalist = db.session.scalar(select(Team).where(Team.name == "星河视觉"))
        results = f"/competitions/{last_year.code}/rounds/{final.id}/results"
        certificates = f"/competitions/{last_year.code}/certificates"
        issued = db.session.scalar(select(Certificate).where(Certificate.state == "issued"))
        admin_pages = [
            "/",
            f"/competitions/{code}",
            f"/competitions/{code}/setup/",
            f"/competitions/{code}/setup/rules",
            f"/competitions/{code}/setup/timeline",
            f"/competitions/{code}/setup/logo",
            f"/competitions/{code}/setup/tracks",
            f"/competitions/{code}/setup/tracks/{track.id}",
            f"/competitions/{code}/people",
            f"/competitions/{code}/rounds/",
            f"/competitions/{code}/rounds/new",
            f"/competitions/{code}/rounds/{school.id}",
            f"/competitions/{code}/rounds/{school.id}/edit",
            f"/competitions/{code}/teams/",
            f"/competitions/{code}/teams/?side=chongqing&state=approved",
            f"/competitions/{code}/teams/import",
            f"/competitions/{code}/rounds/{school.id}/materials",
            f"/competitions/{code}/rounds/{school.id}/judges",
            f"/competitions/{code}/rounds/{school.id}/assignment",
            f"/competitions/{code}/conflicts/",
            f"/competitions/{code}/rounds/{school.id}/scoring/rubrics",
            f"/competitions/{code}/rounds/{school.id}/scoring/progress",
            f"{results}/",
            f"{results}/settings",
            f"{results}/statistics",
            f"/competitions/{last_year.code}/rounds/{final.id}/appeals",
            f"/results/{last_year.code}/{final.id}",
            f"{certificates}/",
            f"{certificates}/rounds/{final.id}/",
            f"{certificates}/templates/award",
            "/experts/",
            "/experts/new",
            "/experts/import",
            f"/competitions/{code}/rounds/{school.id}/submissions",
            f"/teams/{team.id}",
            "/admin/users",
            "/admin/competitions",
            "/admin/institutions/",
            "/admin/institutions/new",
            "/admin/outbox",
            "/admin/audit",
            "/admin/jobs",
            "/account/",
            "/account/profile",
            "/account/password",
            "/account/security/two-factor",
            "/account/privacy",
            "/privacy",
            "/admin/privacy",
            "/notifications/",
            f"/competitions/{code}/announcements",
            f"/competitions/{code}/announcements/new",
            f"/competitions/{code}/mailings/new",
            f"/competitions/{code}/mailings/",
        ]
        student_pages = [
            "/teams/",
            f"/teams/{team.id}",
            f"/teams/{team.id}/edit",
            f"/teams/{team.id}/advisors/new",
            f"/teams/{team.id}/members/{team.members[0].id}/profile",
            f"/competitions/{code}",
            f"/teams/{team.id}/rounds/{school.id}/submission",
            f"/teams/{finalist.id}/results",
            "/certificates/",
            f"/verify/{issued.verification_code}",
            f"/verify?serial={issued.serial}&name={issued.recipient_name}",
            f"/results/{last_year.code}/{final.id}",
            "/notifications/",
            "/account/privacy",
        ]
        assigned = db.session.scalar(select(Assignment).where(Assignment.judge_id == demo_judge_id()))
        judge_pages = [
            "/judging/",
            f"/submissions/{assigned.submission_id}/view",
            f"/scoring/assignments/{assigned.id}",
            "/experts/mentoring",
        ]
        return {
            demo.demo_email("admin"): admin_pages,
            demo.demo_email("student"): student_pages,
            demo.demo_email("judge"): judge_pages,
        }


def demo_judge_id() -> int:
    from competition.accounts.models import User

    return db.session.scalar(select(User.id).where(User.email == demo.demo_email("judge")))


def _log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/account/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account/")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_every_demo_page_passes_axe(live_server, browser, demo_pages, device):
    for email, paths in demo_pages.items():
        context = browser.new_context(locale="zh-CN", **VIEWPORTS[device])
        page = context.new_page()
        checker = PageChecker(page, f"sweep-{device}-{email.split('@')[0]}")
        _log_in(page, live_server.base_url, email)
        for path in paths:
            response = page.goto(live_server.base_url + path)
            assert response.status == 200, path
            checker.check(path.strip("/").replace("/", "_").replace("?", "_").replace("&", "_") or "home")
        context.close()
