"""How a request becomes a signed-in user.

The session and remember-me cookies carry `"<id>:<session_token>"`; changing the password or
disabling the account replaces the token, so every other session of that user ends at its next
request.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from competition.extensions import db, login_manager


def load_user(cookie_id: str):
    from competition.accounts.models import User

    user_id, _, token = cookie_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.is_disabled or user.session_token != token:
        return None
    return user


def configure_login(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
