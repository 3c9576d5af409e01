"""A leader creates a team, a member joins by the link, the leader submits it for review, the
institution organizer approves it — in Chromium, desktop and phone, axe-core on every page."""

from __future__ import annotations

import pytest

from competition.accounts.models import CompetitionRole, User
from competition.accounts.services import hash_password
from competition.competitions.models import Competition, Track
from competition.core.time import utcnow
from competition.extensions import db
from competition.institutions.models import Institution
from tests.browser.conftest import VIEWPORTS, PageChecker

PASSWORD = "川渝 联盟 2026 password"


def _people(app, device: str) -> dict[str, str]:
    """A competition open for registration and the four people of the story; returns their e-mails."""
    with app.app_context():
        scu = db.session.query(Institution).filter_by(code="SCU").one()
        competition = Competition(code=f"TEAM-{device.upper()}", year=2026, name_zh=f"组队测试赛（{device}）",
                                  name_en=f"Team test ({device})", state="registration", min_team_size=2)  # fmt: skip
        db.session.add(competition)
        db.session.add(Track(competition=competition, code="idea", name_zh="创意组", name_en="Idea"))
        emails = {role: f"{role}-{device}@example.edu.cn" for role in ("leader", "member", "third", "office")}
        for role, email in emails.items():
            user = User(email=email, password_hash=hash_password(PASSWORD), real_name=f"{role} {device}",
                        institution=scu, email_verified_at=utcnow(), locale="zh_Hans_CN")  # fmt: skip
            db.session.add(user)
            if role == "office":
                db.session.add(CompetitionRole(user=user, competition=competition, role="institution_organizer",
                                               institution=scu))  # fmt: skip
        db.session.commit()
        return emails | {"code": competition.code}


def _log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/account/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account/")


def _fill_profile(page, number: str) -> None:
    page.get_by_label("学号").fill(number)
    page.get_by_label("学院或系").fill("计算机学院")
    page.get_by_label("专业").fill("软件工程")
    page.get_by_label("入学年份").fill("2023")
    page.get_by_label("预计毕业年份").fill("2027")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_leader_creates_member_joins_leader_submits_office_approves(live_server, browser, device):
    people = _people(live_server, device)
    base = live_server.base_url

    leader_context = browser.new_context(locale="zh-CN", **VIEWPORTS[device])
    leader = leader_context.new_page()
    checker = PageChecker(leader, f"team-{device}-leader")
    _log_in(leader, base, people["leader"])
    leader.goto(f"{base}/competitions/{people['code']}")
    leader.get_by_role("link", name="创建团队").click()
    leader.get_by_label("团队名称").fill("川渝星火")
    leader.get_by_label("项目名称").fill("智慧农业 · 柑橘病虫害识别")
    _fill_profile(leader, f"2023{device}01")
    checker.check("create-form")
    leader.get_by_role("button", name="创建团队").click()
    join_url = leader.get_by_test_id("join-url").input_value()
    checker.check("team-created")

    member_context = browser.new_context(locale="zh-CN", **VIEWPORTS[device])
    member = member_context.new_page()
    member_checker = PageChecker(member, f"team-{device}-member")
    _log_in(member, base, people["member"])
    member.goto(join_url)
    _fill_profile(member, f"2023{device}02")
    member_checker.check("join-form")
    member.get_by_test_id("join-team").click()
    assert member.get_by_test_id("member-row").count() == 2
    member_checker.check("joined")

    leader.reload()
    leader.get_by_test_id("submit-team").click()
    assert leader.get_by_test_id("team-state").inner_text() == "已提交审核"
    checker.check("submitted")

    office_context = browser.new_context(locale="zh-CN", **VIEWPORTS[device])
    office = office_context.new_page()
    office_checker = PageChecker(office, f"team-{device}-office")
    _log_in(office, base, people["office"])
    office.goto(f"{base}/competitions/{people['code']}/teams/")
    office_checker.check("team-list")
    office.get_by_role("link", name="川渝星火").click()
    office.get_by_label("我已核实").check()
    office.get_by_test_id("approve-team").click()
    assert office.get_by_test_id("team-state").inner_text() == "已通过审核"
    office_checker.check("approved")

    leader.reload()
    assert leader.get_by_test_id("team-state").inner_text() == "已通过审核"
    for context in (leader_context, member_context, office_context):
        context.close()
