"""The admin area; every page requires the platform admin flag."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from competition.accounts import security_views, two_factor
from competition.accounts import services as account_services
from competition.accounts.models import CompetitionRole, Role, User
from competition.accounts.policies import can_view_admin
from competition.competitions import services as competition_services
from competition.competitions.forms import CompetitionForm
from competition.competitions.models import Competition
from competition.core import mail
from competition.core.audit import AuditEntry
from competition.core.jobs import Job
from competition.core.mail import OutboxMessage
from competition.core.permissions import require
from competition.core.web import commit_or_flash, commit_or_show
from competition.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.before_request
@login_required
def require_admin():
    require(can_view_admin(current_user))


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))


#: the people list's filters: by role (platform admin, a role in any competition, none) and by state
ROLE_FILTERS = {
    "admin": User.is_admin.is_(True),
    **{
        role.value: exists().where(CompetitionRole.user_id == User.id, CompetitionRole.role == role.value)
        for role in Role
    },
    "none": ~User.is_admin.is_(True) & ~exists().where(CompetitionRole.user_id == User.id),
}
STATE_FILTERS = {
    "active": User.is_disabled.is_(False),
    "disabled": User.is_disabled.is_(True),
    "unconfirmed": User.email_verified_at.is_(None),
    "two_factor": User.totp_enabled_at.is_not(None),
    "no_two_factor": User.totp_enabled_at.is_(None),
}


@bp.get("/users")
def users():
    query = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    role = role if role in ROLE_FILTERS else ""
    state = request.args.get("state", "")
    state = state if state in STATE_FILTERS else ""
    statement = select(User).options(selectinload(User.institution)).order_by(User.id.desc())
    if query:
        pattern = f"%{query}%"
        statement = statement.where(or_(User.email.ilike(pattern), User.real_name.ilike(pattern)))
    if role:
        statement = statement.where(ROLE_FILTERS[role])
    if state:
        statement = statement.where(STATE_FILTERS[state])
    page = db.paginate(statement, per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", page=page, query=query, role=role, state=state)


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    user = db.get_or_404(User, user_id)
    grants = db.session.scalars(
        select(CompetitionRole)
        .where(CompetitionRole.user_id == user.id)
        .options(selectinload(CompetitionRole.competition), selectinload(CompetitionRole.institution))
        .order_by(CompetitionRole.competition_id, CompetitionRole.role)
    ).all()
    history = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "users", AuditEntry.object_id == str(user.id))
        .options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "admin/user_detail.html",
        user=user,
        grants=grants,
        history=history,
        is_staff=two_factor.is_staff(user),
        recovery_left=two_factor.recovery_codes_left(user),
    )


@bp.post("/users/<int:user_id>/disable")
def disable_user(user_id: int):
    return _set_disabled(user_id, True)


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id: int):
    return _set_disabled(user_id, False)


def _set_disabled(user_id: int, disabled: bool):
    user = db.get_or_404(User, user_id)
    commit_or_flash(
        lambda: account_services.set_disabled(user, actor=current_user, disabled=disabled),
        _("The account has been disabled.") if disabled else _("The account has been enabled."),
    )
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/grant-admin")
def grant_admin(user_id: int):
    user = db.get_or_404(User, user_id)
    commit_or_flash(
        lambda: account_services.set_admin(user, actor=current_user, is_admin=True),
        _("%(name)s is now a platform admin.", name=user.real_name),
    )
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/revoke-admin")
def revoke_admin(user_id: int):
    user = db.get_or_404(User, user_id)
    commit_or_flash(
        lambda: account_services.set_admin(user, actor=current_user, is_admin=False),
        _("%(name)s is no longer a platform admin.", name=user.real_name),
    )
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/send-reset")
def send_reset_link(user_id: int):
    user = db.get_or_404(User, user_id)
    commit_or_flash(
        lambda: account_services.send_reset_link(user, actor=current_user),
        _("A password reset link has been sent to %(email)s.", email=user.email),
    )
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/reset-two-factor")
def reset_two_factor(user_id: int):
    user = db.get_or_404(User, user_id)
    commit_or_flash(
        lambda: two_factor.reset_by_admin(user, actor=current_user),
        _(
            "Two-factor log-in of %(name)s has been removed; they set it up again at their next log-in.",
            name=user.real_name,
        ),
    )
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/impersonate")
@security_views.refused_while_impersonating
def impersonate(user_id: int):
    """Support: view the site as this person (audited; a banner on every page; sensitive actions refused)."""
    user = db.get_or_404(User, user_id)
    admin = current_user._get_current_object()
    if not commit_or_flash(
        lambda: account_services.start_impersonation(actor=admin, target=user),
        _("You are now viewing the site as %(name)s.", name=user.real_name),
        category="warning",
    ):
        return redirect(url_for("admin.user_detail", user_id=user_id))
    security_views.begin_impersonation(admin, user)
    return redirect(url_for("accounts.dashboard"))


@bp.route("/competitions", methods=["GET", "POST"])
def competitions():
    form = CompetitionForm()
    if form.validate_on_submit() and (
        created := commit_or_show(
            form,
            lambda: competition_services.create_competition(
                actor=current_user,
                code=form.code.data,
                year=form.year.data,
                name_zh=form.name_zh.data.strip(),
                name_en=form.name_en.data.strip(),
            ),
        )
    ):
        flash(_("The competition has been created."), "success")
        return redirect(url_for("competitions.people", code=created.value.code))
    items = db.session.scalars(select(Competition).order_by(Competition.year.desc(), Competition.id.desc())).all()
    return render_template("admin/competitions.html", form=form, competitions=items)


#: the outbox's filters: every message, those given up, those waiting for another attempt
OUTBOX_FILTERS = {
    "failed": OutboxMessage.state == mail.MailState.FAILED.value,
    "retrying": (OutboxMessage.state == mail.MailState.QUEUED.value) & OutboxMessage.next_attempt_at.is_not(None),
}


@bp.get("/outbox")
def outbox():
    shown = request.args.get("state", "")
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if shown in OUTBOX_FILTERS:
        statement = statement.where(OUTBOX_FILTERS[shown])
    else:
        shown = ""
    page = db.paginate(statement, per_page=PER_PAGE, error_out=False)
    delays = [f"{delay.total_seconds() / 60:g}" for delay in mail.retry_delays()]
    return render_template("admin/outbox.html", page=page, shown=shown, delays=", ".join(delays),
                           attempts=len(delays) + 1)  # fmt: skip


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    message = db.get_or_404(OutboxMessage, message_id)
    return render_template("admin/outbox_message.html", message=message)


@bp.post("/outbox/<int:message_id>/retry")
def outbox_retry(message_id: int):
    """Send a failed message, or one waiting for its next attempt, now."""
    message = db.get_or_404(OutboxMessage, message_id)
    commit_or_flash(lambda: mail.retry_now(message, actor=current_user), _("The message is being sent again."))
    if request.form.get("back") == "list":
        return redirect(url_for("admin.outbox", state=request.form.get("state") or None))
    return redirect(url_for("admin.outbox_message", message_id=message.id))


@bp.get("/audit")
def audit_log():
    page = db.paginate(
        select(AuditEntry).options(selectinload(AuditEntry.actor)).order_by(AuditEntry.id.desc()),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("admin/audit.html", page=page)


@bp.get("/jobs")
def jobs():
    page = db.paginate(select(Job).order_by(Job.created_at.desc()), per_page=PER_PAGE, error_out=False)
    return render_template("admin/jobs.html", page=page)
