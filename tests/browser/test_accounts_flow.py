"""register → verify the e-mail from the outbox → log in → switch language → log out, at desktop
and phone sizes, with screenshots and axe-core on every page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from competition.core.mail import OutboxMessage
from competition.extensions import db
from tests.browser.conftest import VIEWPORTS, PageChecker


def _open_menu_if_collapsed(page) -> None:
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        page.locator("#main-nav.show").wait_for()


def _verification_link(app, address: str) -> str:
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id.desc())
        )
        return re.search(r"https?://\S+/account/verify/\S+", message.body_text).group(0)


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_register_verify_login_switch_language_logout(live_server, browser, device):
    context = browser.new_context(locale="zh-CN", **VIEWPORTS[device])
    page = context.new_page()
    checker = PageChecker(page, device)
    address = f"browser-{device}@example.edu.cn"

    page.goto(live_server.base_url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    checker.check("home")

    _open_menu_if_collapsed(page)
    page.get_by_role("link", name="注册", exact=True).click()
    page.get_by_label("电子邮箱").fill(address)
    page.get_by_label("密码", exact=True).fill("川渝 联盟 2026 password")
    page.get_by_label("确认密码").fill("川渝 联盟 2026 password")
    page.get_by_label("真实姓名").fill("测试 学生")
    page.get_by_label("所在院校").select_option(label="四川外国语大学")
    page.locator("#agree_privacy").check()
    checker.check("register-form")
    page.get_by_role("button", name="注册").click()
    page.get_by_test_id("check-email").wait_for()
    assert address in page.get_by_test_id("check-email").inner_text()
    checker.check("check-email")

    page.goto(_verification_link(live_server, address))
    assert "/account/login" in page.url
    assert "已验证成功" in page.locator(".flash-messages").inner_text()
    checker.check("verified")

    page.get_by_label("电子邮箱").fill(address.upper())
    page.get_by_label("密码").fill("川渝 联盟 2026 password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account/")
    assert "测试 学生" in page.locator("main").inner_text()
    checker.check("dashboard")

    _open_menu_if_collapsed(page)
    page.get_by_test_id("switch-language").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "My dashboard" in page.locator("h1").inner_text()
    checker.check("english")

    page.reload()  # the choice is remembered (the user's setting now)
    assert page.locator("html").get_attribute("lang") == "en"

    _open_menu_if_collapsed(page)
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    page.wait_for_url(live_server.base_url + "/")
    assert "You have logged out." in page.locator(".flash-messages").inner_text()
    _open_menu_if_collapsed(page)
    assert page.get_by_role("navigation").get_by_role("link", name="Log in").is_visible()
    checker.check("logged-out")
    context.close()


def test_error_pages_pass_axe(live_server, browser):
    context = browser.new_context(locale="en")
    page = context.new_page()
    checker = PageChecker(page, "errors")
    response = page.goto(live_server.base_url + "/no/such/page")
    assert response.status == 404
    checker.errors.clear()  # the 404 itself is logged by the browser as a failed resource
    checker.check("404")
    context.close()
