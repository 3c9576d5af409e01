"""Languages: Chinese (zh_Hans_CN) by default, English second.

The language of a request is, in order: the signed-in user's setting, the choice made with the
switch in the header (kept in the session), the browser's Accept-Language, Chinese.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context, request, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user

SUPPORTED = ("zh_Hans_CN", "en")
#: what Accept-Language may say -> our locale
_ACCEPT_MAP = {"zh": "zh_Hans_CN", "en": "en"}
LANGUAGE_NAMES = {"zh_Hans_CN": "中文", "en": "English"}


def normalize_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    if value in SUPPORTED:
        return value
    return _ACCEPT_MAP.get(value.split("_")[0].lower())


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated:
        return current_user.locale
    chosen = normalize_locale(session.get("locale"))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(list(_ACCEPT_MAP))
    return _ACCEPT_MAP.get(best or "", current_app.config["BABEL_DEFAULT_LOCALE"])


def html_lang() -> str:
    return "en" if str(get_locale()) == "en" else "zh-CN"


def local_datetime(value: datetime | None, format: str = "medium") -> str:
    """A UTC datetime shown in Asia/Shanghai, formatted for the current language."""
    if value is None:
        return ""
    return format_datetime(value, format)


def current_locale() -> str:
    return str(get_locale())
