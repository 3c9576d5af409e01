"""The admin area; every page requires the platform admin flag."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from competition.accounts import services as account_services
from competition.accounts.models import User
from competition.accounts.policies import can_view_admin
from competition.competitions import services as competition_services
from competition.competitions.forms import CompetitionForm
from competition.competitions.models import Competition
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


@bp.get("/users")
def users():
    query = request.args.get("q", "").strip()[:100]
    statement = select(User).options(selectinload(User.institution)).order_by(User.id.desc())
    if query:
        pattern = f"%{query}%"
        statement = statement.where(or_(User.email.ilike(pattern), User.real_name.ilike(pattern)))
    page = db.paginate(statement, per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", page=page, query=query)


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    user = db.get_or_404(User, user_id)
    return render_template("admin/user_detail.html", user=user)


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


@bp.get("/outbox")
def outbox():
    page = db.paginate(select(OutboxMessage).order_by(OutboxMessage.id.desc()), per_page=PER_PAGE, error_out=False)
    return render_template("admin/outbox.html", page=page)


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    message = db.get_or_404(OutboxMessage, message_id)
    return render_template("admin/outbox_message.html", message=message)


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
