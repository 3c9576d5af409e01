"""Account security pages: two-factor log-in (the log-in's second step, turning it on and off),
the rule that staff use it, and support's "view as this user" (impersonation).

Nested in the accounts blueprint: URLs under /account/security/, endpoints `accounts.security.*`.

The session keys this module owns:
- `two_factor_pending`: after a correct password, for a user with two-factor log-in — who, with
  which session token, until when, "remember me" and where to go next. Nobody is logged in yet.
- `two_factor_secret`: the secret being enrolled, until a valid code confirms it.
- `impersonator`: the admin's id and session token while they view the site as someone else; the
  log-in cookie then holds the other person's id and *their* unchanged session token.
"""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user

from competition.accounts import forms, services, two_factor
from competition.accounts.auth import load_user
from competition.accounts.models import User
from competition.core import audit
from competition.core.errors import render_error
from competition.core.web import commit_or_show, safe_next_url
from competition.extensions import db, limiter

bp = Blueprint("security", __name__, url_prefix="/security")

PENDING_KEY = "two_factor_pending"
ENROL_KEY = "two_factor_secret"
IMPERSONATOR_KEY = audit.IMPERSONATOR_SESSION_KEY


def sign_in(user: User, *, remember: bool = False) -> None:
    """Log `user` in on this browser (the password, and the code when they use two-factor, are checked)."""
    login_user(user, remember=remember)
    session.permanent = True
    session.pop("locale", None)
    refresh()  # messages from here on are in the user's own language


# --- the log-in's second step -------------------------------------------------------------------------


def begin_second_step(user: User, *, remember: bool, next_url: str | None):
    """After a correct password: remember who is half-way in, and ask for the code."""
    session[PENDING_KEY] = {
        "user_id": user.id,
        "token": user.session_token,
        "expires": int(time.time()) + current_app.config["TWO_FACTOR_PENDING_SECONDS"],
        "remember": bool(remember),
        "next": next_url or "",
    }
    return redirect(url_for("accounts.security.login_code"))


def _pending_user() -> tuple[User | None, dict]:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, {}
    user_id = pending.get("user_id")
    if not isinstance(user_id, int) or not isinstance(pending.get("expires"), int):
        return None, pending
    if pending["expires"] < time.time():
        return None, pending
    user = db.session.get(User, user_id)
    if user is None or user.is_disabled or user.session_token != pending.get("token") or not user.has_two_factor:
        return None, pending
    return user, pending


def _code_limit_key() -> str:
    pending = session.get(PENDING_KEY)
    if isinstance(pending, dict) and pending.get("user_id"):
        return f"two-factor:{pending['user_id']}"
    if current_user.is_authenticated:
        return f"two-factor:{current_user.id}"
    return f"two-factor-address:{request.remote_addr}"


def _code_limit() -> str:
    return current_app.config["TWO_FACTOR_LIMIT_PER_ACCOUNT"]


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login-code", methods=["GET", "POST"])
@limiter.limit(_code_limit, methods=["POST"], key_func=_code_limit_key, deduct_when=_failed)
def login_code():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    user, pending = _pending_user()
    if user is None:
        if pending:
            session.pop(PENDING_KEY, None)
            flash(_("Your log-in took too long. Please enter your e-mail address and password again."), "info")
        return redirect(url_for("accounts.login"))
    form = forms.TwoFactorLoginForm()
    if form.validate_on_submit():
        method = two_factor.check_code(user, form.code.data)
        if method is not None:
            services.record_login(user, method=method)
            db.session.commit()
            session.pop(PENDING_KEY, None)
            sign_in(user, remember=pending.get("remember", False))
            flash(_("Welcome back, %(name)s.", name=user.real_name), "success")
            if method == "recovery":
                flash(
                    _(
                        "You used a recovery code; %(count)s are left. Make new ones on the two-factor page.",
                        count=two_factor.recovery_codes_left(user),
                    ),
                    "warning",
                )
            return redirect(safe_next_url(pending.get("next"), url_for("accounts.dashboard")))
        audit.record(None, "user.two_factor_failed", user)
        db.session.commit()
        form.code.errors = [
            *form.code.errors,
            _("This code is not correct or has already been used. Please type the newest code from your app."),
        ]
    return render_template("accounts/two_factor_login.html", form=form)


# --- turning two-factor log-in on and off -----------------------------------------------------------


def refused_while_impersonating(view):
    """Mark a view that support may not use while viewing the site as someone else (a 403 with a
    message; see `refuse_sensitive_actions_while_impersonating`). Views elsewhere that delete or
    change someone's data for good use it too; POSTs to endpoints named `*delete*`/`*erase*` are
    refused anyway."""
    view.refused_while_impersonating = True
    return view


def _enrol_page(form):
    user = current_user._get_current_object()
    secret = session.get(ENROL_KEY)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = two_factor.new_secret()
        session[ENROL_KEY] = secret
    uri = two_factor.provisioning_uri(user, secret)
    return render_template(
        "accounts/two_factor.html",
        user=user,
        form=form,
        qr=two_factor.qr_data_uri(uri),
        secret=two_factor.grouped(secret),
        required=two_factor.required_for(user),
    )


@bp.get("/two-factor")
@login_required
@refused_while_impersonating
def two_factor_page():
    user = current_user._get_current_object()
    if not user.has_two_factor:
        return _enrol_page(forms.TwoFactorEnableForm())
    return render_template(
        "accounts/two_factor.html",
        user=user,
        disable_form=forms.TwoFactorDisableForm(),
        codes_form=forms.TwoFactorCodeForm(),
        recovery_left=two_factor.recovery_codes_left(user),
        required=two_factor.required_for(user),
    )


@bp.post("/two-factor/enable")
@login_required
@refused_while_impersonating
def enable_two_factor():
    user = current_user._get_current_object()
    if user.has_two_factor:
        return redirect(url_for("accounts.security.two_factor_page"))
    form = forms.TwoFactorEnableForm()
    secret = session.get(ENROL_KEY)
    if not isinstance(secret, str) or len(secret) != 32:
        flash(_("Please scan the new QR code and type the code it shows."), "info")
        return redirect(url_for("accounts.security.two_factor_page"))
    if form.validate_on_submit() and (
        outcome := commit_or_show(form, lambda: two_factor.enable(user, secret=secret, code=form.code.data))
    ):
        session.pop(ENROL_KEY, None)
        flash(_("Two-factor log-in is on."), "success")
        return render_template("accounts/recovery_codes.html", codes=outcome.value)
    return _enrol_page(form)


@bp.post("/two-factor/disable")
@login_required
@refused_while_impersonating
@limiter.limit(_code_limit, key_func=_code_limit_key, deduct_when=_failed)
def disable_two_factor():
    form = forms.TwoFactorDisableForm()
    user = current_user._get_current_object()
    if form.validate_on_submit() and commit_or_show(
        form, lambda: two_factor.disable(user, password=form.password.data, code=form.code.data)
    ):
        flash(_("Two-factor log-in is off."), "success")
        return redirect(url_for("accounts.security.two_factor_page"))
    if not user.has_two_factor:
        return redirect(url_for("accounts.security.two_factor_page"))
    return render_template(
        "accounts/two_factor.html",
        user=user,
        disable_form=form,
        codes_form=forms.TwoFactorCodeForm(),
        recovery_left=two_factor.recovery_codes_left(user),
        required=two_factor.required_for(user),
    )


@bp.post("/two-factor/recovery-codes")
@login_required
@refused_while_impersonating
@limiter.limit(_code_limit, key_func=_code_limit_key, deduct_when=_failed)
def recovery_codes():
    form = forms.TwoFactorCodeForm()
    user = current_user._get_current_object()
    if not user.has_two_factor:
        return redirect(url_for("accounts.security.two_factor_page"))
    if form.validate_on_submit() and (
        outcome := commit_or_show(form, lambda: two_factor.regenerate_recovery_codes(user, code=form.code.data))
    ):
        return render_template("accounts/recovery_codes.html", codes=outcome.value)
    return render_template(
        "accounts/two_factor.html",
        user=user,
        disable_form=forms.TwoFactorDisableForm(),
        codes_form=form,
        recovery_left=two_factor.recovery_codes_left(user),
        required=two_factor.required_for(user),
    )


# --- staff must use two-factor log-in ---------------------------------------------------------------

#: pages a staff member without two-factor log-in can still open
_ENROLMENT_ENDPOINTS = frozenset(
    {
        "static",
        "accounts.logout",
        "accounts.set_language",
        "accounts.security.two_factor_page",
        "accounts.security.enable_two_factor",
        "accounts.security.stop_impersonating",
    }
)


@bp.before_app_request
def require_two_factor_for_staff():
    if not current_app.config.get("TWO_FACTOR_REQUIRED_FOR_STAFF"):
        return None
    endpoint = request.endpoint
    if endpoint is None or endpoint in _ENROLMENT_ENDPOINTS or endpoint.startswith("health."):
        return None
    if not current_user.is_authenticated or current_user.has_two_factor or is_impersonating():
        return None
    if not two_factor.is_staff(current_user):
        return None
    flash(_("Admins and organizers must turn on two-factor log-in before they continue."), "warning")
    return redirect(url_for("accounts.security.two_factor_page"))


# --- support: viewing the site as someone else --------------------------------------------------------


def is_impersonating() -> bool:
    return isinstance(session.get(IMPERSONATOR_KEY), dict) and current_user.is_authenticated


def begin_impersonation(admin: User, target: User) -> None:
    """Switch this browser to `target`, keeping who the admin is (their own cookie token included)."""
    session[IMPERSONATOR_KEY] = {"user_id": admin.id, "token": admin.session_token, "target_id": target.id}
    login_user(target, remember=False)  # the target's own token: none of their sessions change


def _impersonation_refused(endpoint: str) -> bool:
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "refused_while_impersonating", False):
        return True
    name = endpoint.rpartition(".")[2]
    # deleting or erasing data, whatever the page
    return request.method not in ("GET", "HEAD", "OPTIONS") and ("delete" in name or "erase" in name)


@bp.before_app_request
def refuse_sensitive_actions_while_impersonating():
    if request.endpoint is None or not is_impersonating():
        return None
    if _impersonation_refused(request.endpoint):
        return render_error(
            403, _("While you view the site as someone else, this is not allowed. Return to your account first.")
        )
    return None


@bp.post("/impersonation/stop")
def stop_impersonating():
    info = session.pop(IMPERSONATOR_KEY, None)
    if not isinstance(info, dict):
        return redirect(url_for("accounts.dashboard") if current_user.is_authenticated else url_for("core.home"))
    admin = load_user(f"{info.get('user_id')}:{info.get('token')}")
    target_id = info.get("target_id")
    if admin is None or not admin.is_admin:
        # the admin's own sessions ended meanwhile (password changed, account disabled): log in again
        logout_user()
        flash(_("Please log in again."), "info")
        return redirect(url_for("accounts.login"))
    target = db.session.get(User, target_id) if isinstance(target_id, int) else None
    services.stop_impersonation(actor=admin, target=target or ("users", target_id))
    db.session.commit()
    login_user(admin, remember=False)
    refresh()
    flash(_("You are back in your own account."), "success")
    if target is not None:
        return redirect(url_for("admin.user_detail", user_id=target.id))
    return redirect(url_for("admin.users"))


def end_impersonation_on_logout() -> None:
    """Log-out while viewing as someone: audit the end, and forget the admin as well."""
    info = session.pop(IMPERSONATOR_KEY, None)
    if isinstance(info, dict) and isinstance(info.get("user_id"), int):
        admin = db.session.get(User, info["user_id"])
        if admin is not None and current_user.is_authenticated:
            services.stop_impersonation(actor=admin, target=current_user._get_current_object())
            db.session.commit()


@bp.app_context_processor
def impersonation_context() -> dict:
    return {"impersonating": is_impersonating}
