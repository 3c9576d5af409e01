"""Browser tests: the real app served over HTTP on 127.0.0.1, driven by Debian's Chromium through
Playwright, with axe-core checking every page visited for serious accessibility problems.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from competition import create_app
from competition.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js").read_text(encoding="utf-8")
ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, smtp_server):
    """The app on a free local port with a fresh SQLite database, CSRF on, jobs in-process."""
    from flask_migrate import upgrade

    folder = tmp_path_factory.mktemp("live")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(
        {
            "APP_ENV": "testing",
            "INSTANCE_PATH": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'browser.db'}",
            "BASE_URL": f"http://127.0.0.1:{port}",
            "WTF_CSRF_ENABLED": True,
            "JOBS_BACKEND": "inline",
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        from competition.institutions.services import load_institutions

        load_institutions()
        db.session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = f"http://127.0.0.1:{port}"
    yield app
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: sudo apt-get install -y chromium (.ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session", autouse=True)
def _artifacts_folder():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)


class PageChecker:
    """Wraps a Playwright page: axe-core on every page, console errors collected, screenshots."""

    def __init__(self, page, name: str):
        self.page = page
        self.name = name
        self.errors: list[str] = []
        self.step = 0
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def check(self, label: str) -> None:
        """Screenshot, then fail on serious or critical axe violations and on console errors."""
        self.step += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.step:02d}-{label}.png"), full_page=True)
        self.page.evaluate(AXE_SOURCE)
        result = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
        )
        assert result == [], f"{label} at {self.page.url}: {json.dumps(result, ensure_ascii=False, indent=1)}"
        assert self.errors == [], f"{label}: console errors {self.errors}"
