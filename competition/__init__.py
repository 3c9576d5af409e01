"""The competition platform of the Chengdu–Chongqing university employment-and-entrepreneurship
alliance: `create_app()` builds the Flask application."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from competition.config import CONFIGS, INSTANCE_PATH, PROJECT_ROOT, finalize, settings_from_environment

MIGRATIONS_DIR = PROJECT_ROOT / "competition" / "migrations"
TRANSLATIONS_DIR = PROJECT_ROOT / "competition" / "translations"


def create_app(config: Mapping[str, Any] | str | None = None) -> Flask:
    """Build the app. `config` is an environment name or a mapping of overrides (tests pass one).

    Order: the environment's defaults (APP_ENV, default development), `instance/config.py`,
    environment variables, then `config`.
    """
    overrides: dict[str, Any] = {}
    env_name = os.environ.get("APP_ENV", "development")
    if isinstance(config, str):
        env_name = config
    elif config:
        overrides = dict(config)
        env_name = overrides.get("APP_ENV", env_name)
    if env_name not in CONFIGS:
        raise ValueError(f"unknown APP_ENV {env_name!r}; use one of {', '.join(CONFIGS)}")

    instance_path = overrides.pop("INSTANCE_PATH", None) or str(INSTANCE_PATH)
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(CONFIGS[env_name])
    if env_name != "testing":
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(settings_from_environment())
    app.config.update(overrides)
    finalize(app.config, Path(app.instance_path))

    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if not app.testing:  # certificates are ~100x slower without HarfBuzz's subsetter: say so once
        from competition import syscheck

        syscheck.warn_if_slow(app.logger)
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    from competition import cli
    from competition.certificates import cli as certificates_cli
    from competition.operations import cli as operations_cli

    cli.register(app)
    certificates_cli.register(app)
    operations_cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from competition.core import i18n
    from competition.core.web import register_request_limits
    from competition.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    # before CSRF: its check reads the form, which must already be bounded by the body limit
    register_request_limits(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(TRANSLATIONS_DIR),
    )
    limiter.init_app(app)
    login_manager.init_app(app)
    from competition.accounts import auth

    auth.configure_login(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _configure_sqlite(app)


def _configure_sqlite(app: Flask) -> None:
    from sqlalchemy import event

    from competition.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    # Importing the model modules registers every table with the metadata (migrations need that).
    from competition import models  # noqa: F401
    from competition.accounts.views import bp as accounts_bp
    from competition.admin.views import bp as admin_bp
    from competition.certificates.organizer_views import bp as certificates_admin_bp
    from competition.certificates.public_views import bp as certificates_bp
    from competition.communications.views import bp as communications_bp
    from competition.competitions.setup_views import bp as setup_bp
    from competition.competitions.views import bp as competitions_bp
    from competition.core.errors import register_error_handlers
    from competition.core.health import bp as health_bp
    from competition.core.views import bp as core_bp
    from competition.core.web import register_security_headers
    from competition.experts.views import bp as experts_bp
    from competition.institutions.views import bp as institutions_bp
    from competition.judging.conflict_views import bp as conflicts_bp
    from competition.judging.organizer_views import bp as judging_admin_bp
    from competition.judging.views import bp as judging_bp
    from competition.notifications.views import bp as notifications_bp
    from competition.privacy.views import bp as privacy_bp
    from competition.results.organizer_views import bp as results_admin_bp
    from competition.results.public_views import bp as results_bp
    from competition.rounds.views import bp as rounds_bp
    from competition.scoring.organizer_views import bp as scoring_admin_bp
    from competition.scoring.views import bp as scoring_bp
    from competition.submissions.organizer_views import bp as submission_admin_bp
    from competition.submissions.views import bp as submissions_bp
    from competition.teams.excel_views import bp as team_excel_bp
    from competition.teams.review_views import bp as team_review_bp
    from competition.teams.views import bp as teams_bp

    blueprints = (
        core_bp, health_bp, accounts_bp, competitions_bp, setup_bp, rounds_bp, teams_bp, team_review_bp, team_excel_bp,
        institutions_bp, judging_bp, admin_bp, submissions_bp, submission_admin_bp, experts_bp,
        judging_admin_bp, conflicts_bp, scoring_bp, scoring_admin_bp, results_bp, results_admin_bp,
        certificates_bp, certificates_admin_bp, notifications_bp,
        communications_bp, privacy_bp,
    )  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    register_security_headers(app)


def _register_template_helpers(app: Flask) -> None:
    # the policy modules register their predicates on import
    from competition.accounts import policies as _account_policies  # noqa: F401
    from competition.certificates import policies as _certificate_policies  # noqa: F401
    from competition.communications import policies as _communication_policies  # noqa: F401
    from competition.competitions import policies as _competition_policies  # noqa: F401
    from competition.core import i18n
    from competition.core.permissions import POLICIES
    from competition.experts import policies as _expert_policies  # noqa: F401
    from competition.judging import policies as _judging_policies  # noqa: F401
    from competition.privacy import policies as _privacy_policies  # noqa: F401
    from competition.results import policies as _result_policies  # noqa: F401
    from competition.rounds import policies as _round_policies  # noqa: F401
    from competition.scoring import policies as _scoring_policies  # noqa: F401
    from competition.submissions import policies as _submission_policies  # noqa: F401
    from competition.teams import policies as _team_policies  # noqa: F401

    app.jinja_env.globals.update(POLICIES)
    app.jinja_env.globals.update(
        html_lang=i18n.html_lang,
        current_locale=i18n.current_locale,
        language_names=i18n.LANGUAGE_NAMES,
    )
    app.jinja_env.filters["local_datetime"] = i18n.local_datetime
    from competition.core.markdown import render_markdown

    app.jinja_env.filters["markdown"] = render_markdown
