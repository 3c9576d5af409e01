"""Configuration: safe production defaults, PostgreSQL through psycopg 3, cookie and host rules."""

import pytest

from competition import create_app
from competition.config import ConfigurationError, settings_from_environment, sqlalchemy_url


@pytest.mark.parametrize("secret", [None, "", "dev", "change-me", "short-secret"])
def test_production_refuses_a_missing_default_or_short_secret(tmp_path, secret):
    settings = {
        "APP_ENV": "production",
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": "postgresql://x@127.0.0.1/x",
        "BASE_URL": "https://contest.example.edu.cn",
    }
    if secret is not None:
        settings["SECRET_KEY"] = secret
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(settings)


def test_production_with_a_real_secret_starts_with_secure_cookies(tmp_path):
    app = create_app(
        {
            "APP_ENV": "production",
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "s" * 48,
            "DATABASE_URL": "postgresql://x@127.0.0.1/x",
            "BASE_URL": "https://contest.example.edu.cn",
        }
    )
    config = app.config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["TRUSTED_HOSTS"] == ["contest.example.edu.cn"]
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert config["MAIL_BACKEND"] == "smtp"


def test_production_requires_a_database_url(tmp_path):
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        create_app({"APP_ENV": "production", "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 48})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_postgresql_always_goes_through_psycopg3(tmp_path, url, expected):
    assert sqlalchemy_url(url, tmp_path) == expected


def test_default_database_is_sqlite_under_instance(tmp_path):
    assert sqlalchemy_url(None, tmp_path) == f"sqlite:///{tmp_path / 'competition.db'}"


def test_environment_variables_are_read_and_typed():
    settings = settings_from_environment(
        {
            "MAIL_PORT": "2525",
            "MAIL_USE_TLS": "true",
            "TRUSTED_HOSTS": "a.cn, b.cn",
            "REDIS_URL": "redis://r:6379/0",
            "UNRELATED": "x",
        }
    )
    assert settings == {
        "MAIL_PORT": 2525,
        "MAIL_USE_TLS": True,
        "TRUSTED_HOSTS": ["a.cn", "b.cn"],
        "REDIS_URL": "redis://r:6379/0",
    }


def test_redis_url_switches_jobs_and_rate_limits_to_redis(tmp_path):
    app = create_app(
        {"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/3"}
    )
    assert app.config["JOBS_BACKEND"] == "rq"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


def test_without_redis_jobs_run_in_process_and_limits_in_memory(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["JOBS_BACKEND"] == "inline" and app.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_development_generates_and_keeps_a_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) > 40


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    (tmp_path / "config.py").write_text('MAIL_SERVER = "smtp.example.edu.cn"\n')
    app = create_app({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["MAIL_SERVER"] == "smtp.example.edu.cn"
