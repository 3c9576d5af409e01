"""Configuration: defaults per environment, then `instance/config.py`, then the environment.

The order matters: an operator's environment variables win over the instance file, which wins
over the built-in defaults; `create_app(config=...)` overrides everything (tests use that).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"

#: Secrets that must never reach production; a deployment that still uses one refuses to start.
KNOWN_INSECURE_SECRETS = frozenset({"", "dev", "change-me", "changeme", "secret", "development"})

ENV_SETTINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "BASE_URL",
    "MAIL_BACKEND",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_DEFAULT_SENDER",
    "TRUSTED_HOSTS",
    "TRUSTED_PROXIES",
    "SESSION_COOKIE_SECURE",
    "LOG_LEVEL",
    "PRIVACY_CONTACT_EMAIL",
    "DATA_DIR",
)


class ConfigurationError(RuntimeError):
    """Raised at start-up when the configuration is unsafe or incomplete."""


class BaseConfig:
    APP_ENV = "development"
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    BASE_URL = "http://127.0.0.1:5000"
    TIMEZONE = "Asia/Shanghai"

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_Hans_CN", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION_DAYS = 14
    PERMANENT_SESSION_LIFETIME_HOURS = 12

    #: host names the app answers to; empty means "derived from BASE_URL" (see finalize()).
    TRUSTED_HOSTS: list[str] | None = None
    #: how many reverse proxies in front of the app may set X-Forwarded-*; 0 trusts none.
    TRUSTED_PROXIES = 0

    #: one form field (not a file) larger than this is refused with 413. Werkzeug reads multipart
    #: data in 64 KiB chunks and checks them against this too, so it must stay well above that.
    MAX_FORM_MEMORY_SIZE = 256 * 1024
    MAX_FORM_PARTS = 1000
    #: the largest upload (a 500 MB video plus its form); only views marked @accepts_uploads get it
    MAX_CONTENT_LENGTH = 600 * 1024 * 1024
    #: every other request body
    FORM_MAX_CONTENT_LENGTH = 256 * 1024

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    MAIL_BACKEND = "console"  # console | smtp
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_DEFAULT_SENDER = "成渝高校就业创业联盟赛事平台 <noreply@cy-alliance.example>"
    MAIL_TIMEOUT_SECONDS = 10

    #: inline: right after the commit, in this process; rq: Redis queue; deferred: kept queued
    #: until something runs them (tests).
    JOBS_BACKEND: str | None = None
    JOBS_RAISE_ERRORS = False

    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "5 per minute;20 per hour"
    LOGIN_LIMIT_PER_ADDRESS = "30 per minute;300 per hour"
    RESET_LIMIT_PER_ACCOUNT = "3 per hour"
    RESET_LIMIT_PER_ADDRESS = "10 per hour"
    REGISTER_LIMIT_PER_ADDRESS = "10 per hour"
    #: wrong team invitation codes or links, per address
    INVITE_CODE_LIMIT = "20 per hour"
    #: wrong two-factor codes (log-in's second step, turning two-factor off), per account
    TWO_FACTOR_LIMIT_PER_ACCOUNT = "5 per minute;20 per hour"
    #: platform admins and (institution) organizers must use two-factor log-in before anything else.
    #: On in production; off in development (so `make run`'s demo log-ins work) and in tests.
    TWO_FACTOR_REQUIRED_FOR_STAFF = True
    #: how long the log-in's second step waits for the code after a correct password
    TWO_FACTOR_PENDING_SECONDS = 5 * 60

    #: an upload that began before a deadline is accepted if it ends within this many minutes after
    SUBMISSION_GRACE_MINUTES = 15

    PASSWORD_RESET_MAX_AGE_SECONDS = 60 * 60
    EMAIL_VERIFY_MAX_AGE_SECONDS = 3 * 24 * 60 * 60
    #: argon2 cost; production keeps argon2-cffi's defaults (RFC 9106 low-memory profile).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    #: the address the privacy notice gives for questions and requests about personal information
    PRIVACY_CONTACT_EMAIL = "privacy@cy-alliance.example"

    LOAD_DEMO_DATA = False
    LOG_LEVEL = "INFO"
    #: where uploaded files and generated exports live (`uploads/`, `exports/`); with several app
    #: hosts, a mount every host and worker shares. Unset: the instance folder.
    DATA_DIR: str | None = None


class DevelopmentConfig(BaseConfig):
    APP_ENV = "development"
    LOAD_DEMO_DATA = True
    TWO_FACTOR_REQUIRED_FOR_STAFF = False  # the demo's admin and organizers log in with a password only


class TestingConfig(BaseConfig):
    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105 - used by the test configuration only  # nosec B105
    WTF_CSRF_ENABLED = False
    JOBS_BACKEND = "deferred"
    JOBS_RAISE_ERRORS = True
    MAIL_BACKEND = "smtp"
    BASE_URL = "http://localhost"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    TWO_FACTOR_REQUIRED_FOR_STAFF = False  # tests of two-factor log-in turn it on


class ProductionConfig(BaseConfig):
    APP_ENV = "production"
    MAIL_BACKEND = "smtp"
    SESSION_COOKIE_SECURE = True


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def _parse_env_value(name: str, raw: str):
    if name in {"MAIL_PORT", "TRUSTED_PROXIES"}:
        return int(raw)
    if name in {"MAIL_USE_TLS", "MAIL_USE_SSL", "SESSION_COOKIE_SECURE"}:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if name == "TRUSTED_HOSTS":
        return [host.strip() for host in raw.split(",") if host.strip()]
    return raw


def settings_from_environment(environ=os.environ) -> dict:
    return {name: _parse_env_value(name, environ[name]) for name in ENV_SETTINGS if name in environ}


def sqlalchemy_url(database_url: str | None, instance_path: Path) -> str:
    """The SQLAlchemy URL for DATABASE_URL; PostgreSQL always goes through psycopg 3."""
    if not database_url:
        return f"sqlite:///{instance_path / 'competition.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def development_secret(instance_path: Path) -> str:
    """A random secret kept under instance/, so development sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def finalize(config: dict, instance_path: Path) -> None:
    """Derive dependent settings and refuse unsafe production settings (raises ConfigurationError)."""
    env = config["APP_ENV"]
    secret = config.get("SECRET_KEY") or ""
    if env == "production":
        if secret.strip().lower() in KNOWN_INSECURE_SECRETS or len(secret) < 32:
            raise ConfigurationError(
                "SECRET_KEY is missing, a known default or shorter than 32 characters; "
                "set a random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if not config.get("DATABASE_URL"):
            raise ConfigurationError("DATABASE_URL must be set in production (PostgreSQL).")
    elif not secret:
        config["SECRET_KEY"] = development_secret(instance_path)

    config["DATA_DIR"] = str(config.get("DATA_DIR") or instance_path)
    config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(config.get("DATABASE_URL"), instance_path)
    engine_options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    engine_options.setdefault("pool_pre_ping", True)
    database_uri = config["SQLALCHEMY_DATABASE_URI"]
    if database_uri.startswith("postgresql") and "connect_timeout" not in database_uri:
        # an unreachable database host answers a 503 after this long instead of hanging the request
        engine_options["connect_args"] = {"connect_timeout": 10, **engine_options.get("connect_args", {})}
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options

    base = urlsplit(config["BASE_URL"])
    if base.scheme not in {"http", "https"} or not base.hostname:
        raise ConfigurationError(f"BASE_URL must be an absolute http(s) URL, got {config['BASE_URL']!r}")
    if config.get("TRUSTED_HOSTS") is None:
        hosts = [base.hostname]
        if env != "production":
            hosts += ["localhost", "127.0.0.1"]
        config["TRUSTED_HOSTS"] = sorted(set(hosts))
    if base.scheme == "https":
        config["SESSION_COOKIE_SECURE"] = True
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]

    from datetime import timedelta

    config["REMEMBER_COOKIE_DURATION"] = timedelta(days=config["REMEMBER_COOKIE_DURATION_DAYS"])
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=config["PERMANENT_SESSION_LIFETIME_HOURS"])

    if not config.get("JOBS_BACKEND"):
        config["JOBS_BACKEND"] = "rq" if config.get("REDIS_URL") else "inline"
    config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
