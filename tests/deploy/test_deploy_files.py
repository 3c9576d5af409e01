"""The deployment files in deploy/ agree with the app: nginx lets exactly the upload routes carry
large bodies, gunicorn's settings follow the environment, the units run real commands, and the
uploads go where DATA_DIR says (a shared mount when several app hosts run)."""

from __future__ import annotations

import io
import re
import runpy
from pathlib import Path

import pytest

from competition.core import storage

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _upload_location_pattern() -> re.Pattern:
    config = (DEPLOY / "nginx" / "competition.conf").read_text()
    for match in re.finditer(r"location ~ (\S+) \{(.*?)\n    \}", config, re.S):
        if "client_max_body_size 600m" in match.group(2):
            assert "proxy_request_buffering off" in match.group(2)
            return re.compile(match.group(1))
    raise AssertionError("no upload location in the nginx site")


def _sample_path(rule) -> str:
    values = {
        name: ("7" if rule._converters[name].__class__.__name__ == "IntegerConverter" else "C1")
        for name in rule.arguments
    }
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)


def test_nginx_allows_large_bodies_on_exactly_the_upload_routes(app):
    pattern = _upload_location_pattern()
    upload_paths, other_paths = [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not ({"POST", "PUT"} & set(rule.methods or ())):
            continue
        view = app.view_functions[rule.endpoint]
        (upload_paths if getattr(view, "accepts_uploads", False) else other_paths).append(_sample_path(rule))
    assert upload_paths
    assert [path for path in upload_paths if not pattern.fullmatch(path)] == []
    assert [path for path in other_paths if pattern.fullmatch(path)] == []


def test_nginx_upload_limit_matches_max_content_length(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 600 * 1024 * 1024
    config = (DEPLOY / "nginx" / "competition.conf").read_text()
    assert 'proxy_set_header X-Request-Start "t=${msec}";' in config
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in config


def test_gunicorn_settings_follow_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_BIND", "10.0.0.11:8000")
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["workers"] == 3 and settings["bind"] == ["10.0.0.11:8000"]
    assert settings["worker_class"] == "gthread" and settings["preload_app"] is False
    monkeypatch.delenv("WEB_CONCURRENCY")
    import multiprocessing

    assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"] == multiprocessing.cpu_count() * 2 + 1


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        ("competition-web.service", "gunicorn -c deploy/gunicorn.conf.py wsgi:app"),
        ("competition-worker@.service", "flask --app wsgi jobs worker"),
        ("competition-tick.service", "flask --app wsgi jobs tick"),
    ],
)
def test_systemd_units_run_the_documented_commands(unit, command):
    text = (DEPLOY / "systemd" / unit).read_text()
    assert command in text and "EnvironmentFile=/etc/competition/competition.env" in text


def test_the_env_example_names_only_known_settings():
    from competition.config import ENV_SETTINGS

    names = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (DEPLOY / "competition.env.example").read_text().splitlines()
        if re.match(r"#? ?[A-Z_]+=", line)
    }
    gunicorn = {"WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND"}
    assert names - gunicorn - {"APP_ENV"} <= set(ENV_SETTINGS)
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BASE_URL", "TRUSTED_PROXIES", "DATA_DIR"} <= names


def test_uploads_are_stored_under_data_dir(app, tmp_path):
    app.config["DATA_DIR"] = str(tmp_path / "shared")
    stored = storage.save(io.BytesIO(b"plan"), folder="plans", suffix=".pdf")
    assert storage.path_for(stored.key) == tmp_path / "shared" / "uploads" / stored.key
    assert storage.path_for(stored.key).read_bytes() == b"plan"


def test_data_dir_defaults_to_the_instance_folder(app):
    assert app.config["DATA_DIR"] == app.instance_path
