"""Account pages: register, verify, log in/out, passwords, profile, language, personal dashboard."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from competition.accounts import forms, services
from competition.accounts import security_views as security
from competition.accounts.models import CompetitionRole
from competition.core.errors import DomainError
from competition.core.i18n import normalize_locale, select_locale
from competition.core.web import commit_or_show, safe_next_url
from competition.extensions import db, limiter
from competition.institutions.models import Institution
from competition.institutions.services import institutions_by_side
from competition.privacy import services as privacy_services

bp = Blueprint("accounts", __name__, url_prefix="/account")
bp.register_blueprint(security.bp)  # /account/security/…: two-factor log-in, impersonation

SIDE_LABELS = {"sichuan": _l("Sichuan"), "chongqing": _l("Chongqing")}


def _account_key(prefix: str):
    """A rate-limit key per account: the normalized address typed into the form."""

    def key() -> str:
        raw = unicodedata.normalize("NFKC", request.form.get("email", ""))[:300].strip().lower()
        return f"{prefix}:{raw}"

    return key


def _limit(setting: str):
    from flask import current_app

    return lambda: current_app.config[setting]


def _failed(response) -> bool:
    # a successful log-in redirects; a refused one re-renders the form
    return response.status_code != 302


def _institution_choices() -> list[SelectChoice]:
    """Institutions grouped by side; a name says nothing about the side, the data does."""
    return [
        SelectChoice(inst.id, inst.name, optgroup=str(SIDE_LABELS[side]))
        for side, institutions in institutions_by_side().items()
        for inst in institutions
    ]


def _chosen_institution(form) -> Institution:
    return db.session.get(Institution, form.institution.data)


def _login(user, *, remember: bool = False) -> None:
    security.sign_in(user, remember=remember)


# --- registration -------------------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_limit("REGISTER_LIMIT_PER_ADDRESS"), methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    form = forms.RegisterForm()
    form.institution.choices = _institution_choices()
    if form.validate_on_submit() and commit_or_show(form, lambda: _register_with_consent(form)):
        return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/register.html", form=form)


def _register_with_consent(form):
    """Create the account and record its agreement to the privacy notice, in one transaction (no new
    account is made for a taken address, so nothing is recorded then)."""
    user = services.register_user(
        email=form.email.data,
        password=form.password.data,
        real_name=form.real_name.data,
        institution=_chosen_institution(form),
        phone=form.phone.data,
        locale=select_locale(),
    )
    if user is not None:
        privacy_services.record_consent(user, ip_address=request.remote_addr, source="registration")
    return user


@bp.get("/verify/<token>")
def verify_email(token: str):
    verified = commit_or_show(None, lambda: services.verify_email(token))
    if not verified:
        return redirect(url_for("accounts.resend_verification"))
    user = verified.value
    flash(_("Thank you, your e-mail address %(email)s is confirmed. You can log in now.", email=user.email), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(_limit("RESET_LIMIT_PER_ADDRESS"), methods=["POST"])
@limiter.limit(_limit("RESET_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key("verify"))
def resend_verification():
    form = forms.EmailOnlyForm()
    if form.validate_on_submit():
        services.resend_verification(form.email.data)
        db.session.commit()
        return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/resend_verification.html", form=form)


# --- log-in and log-out -------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"], deduct_when=_failed)
@limiter.limit(_limit("LOGIN_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key("login"), deduct_when=_failed)
def login():
    next_url = safe_next_url(request.values.get("next"), url_for("accounts.dashboard"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = forms.LoginForm()
    unverified = False
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.LoginRefused as refusal:
            db.session.commit()  # keeps the audit entry of the failed attempt
            flash(str(refusal.message), "danger")
            unverified = refusal.reason == "unverified"
        else:
            db.session.commit()
            if user.has_two_factor:
                # not logged in yet: the second step asks for the code
                return security.begin_second_step(
                    user, remember=form.remember.data, next_url=request.values.get("next")
                )
            _login(user, remember=form.remember.data)
            flash(_("Welcome back, %(name)s.", name=user.real_name), "success")
            return redirect(next_url)
    return render_template(
        "accounts/login.html", form=form, next_url=request.values.get("next", ""), unverified=unverified
    )


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        session["locale"] = current_user.locale  # the site keeps speaking the user's language
    security.end_impersonation_on_logout()
    session.pop(security.PENDING_KEY, None)
    session.pop(security.ENROL_KEY, None)
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("core.home"))


# --- passwords ----------------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_limit("RESET_LIMIT_PER_ADDRESS"), methods=["POST"])
@limiter.limit(_limit("RESET_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key("reset"))
def forgot_password():
    form = forms.EmailOnlyForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("accounts/reset_sent.html", email=form.email.data)
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.user_for_reset_token(token)
    except DomainError as error:
        flash(str(error.message), "danger")
        return redirect(url_for("accounts.forgot_password"))
    form = forms.ResetPasswordForm()
    if form.validate_on_submit() and commit_or_show(form, lambda: services.reset_password(token, form.password.data)):
        logout_user()
        flash(_("Your password has been changed. Please log in with the new password."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
@security.refused_while_impersonating
def change_password():
    form = forms.ChangePasswordForm()
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.change_password(
            current_user, current_password=form.current_password.data, new_password=form.password.data
        ),
    ):
        _login(current_user._get_current_object())  # this session stays; all others end
        flash(_("Your password has been changed. You have been logged out everywhere else."), "success")
        return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/change_password.html", form=form)


# --- profile, language, dashboard ---------------------------------------------------------------


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = forms.ProfileForm(obj=user) if request.method == "GET" else forms.ProfileForm()
    if request.method == "GET":
        form.institution.data = user.institution_id
    form.institution.choices = _institution_choices()
    if form.validate_on_submit():
        services.update_profile(
            user,
            actor=user,
            real_name=form.real_name.data,
            institution=_chosen_institution(form),
            phone=form.phone.data,
            locale=form.locale.data,
        )
        db.session.commit()
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form, user=user)


@bp.post("/language")
def set_language():
    form = forms.LanguageForm()
    next_url = safe_next_url(request.form.get("next"), url_for("core.home"))
    if form.validate_on_submit():
        locale = normalize_locale(form.locale.data)
        session["locale"] = locale
        refresh()
        if current_user.is_authenticated and not security.is_impersonating():
            services.set_locale(current_user, locale)
            db.session.commit()
    return redirect(next_url)


@bp.get("/")
@login_required
def dashboard():
    grants = db.session.scalars(
        select(CompetitionRole)
        .where(CompetitionRole.user_id == current_user.id)
        .order_by(CompetitionRole.competition_id, CompetitionRole.role)
    ).all()
    by_competition: dict = {}
    for grant in grants:
        by_competition.setdefault(grant.competition, []).append(grant)
    return render_template("accounts/dashboard.html", by_competition=by_competition)
