"""No page references another host: campus networks cannot reach most CDNs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOREIGN = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)
CSS_FOREIGN = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)


def test_templates_reference_no_other_host():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if "emails" not in path.parts and FOREIGN.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_static_css_loads_nothing_from_elsewhere():
    for path in (ROOT / "static").rglob("*.css"):
        text = path.read_text(encoding="utf-8")
        assert not CSS_FOREIGN.search(text), path
        assert not CSS_IMPORT.search(text), path


def test_rendered_pages_reference_no_other_host(client):
    for url in ("/", "/account/login", "/account/register", "/account/password/forgot"):
        page = client.get(url).get_data(as_text=True)
        assert not FOREIGN.search(page), url
