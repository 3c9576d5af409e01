"""Privacy pages: the notice (public), renewed consent, "my data" (download, deletion request), the
administrators' list of deletion requests, and `flask --app wsgi privacy purge`."""

from __future__ import annotations

import json

import click
from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from competition.core import audit
from competition.core.permissions import require
from competition.core.time import utcnow
from competition.core.web import commit_or_flash, commit_or_show, flash_form_errors, safe_next_url
from competition.extensions import db
from competition.privacy import export, retention, services
from competition.privacy.forms import ConsentForm, DeletionRequestForm, RefuseForm
from competition.privacy.models import DeletionRequest, DeletionState
from competition.privacy.policies import can_manage_privacy_requests

bp = Blueprint("privacy", __name__, cli_group="privacy")

#: pages a person who must agree to a new notice may still open: the notice itself, their privacy
#: pages (download, deletion), log-out, the language switch, static files and the health check
EXEMPT_ENDPOINTS = {"static", "accounts.logout", "accounts.set_language", "health.healthz"}
_SESSION_KEY = "privacy_notice_checked"


@bp.before_app_request
def ask_for_renewed_consent():
    """Send a signed-in person whose latest consent is for an older notice to the accept page.

    At most one small query per session and notice version: the outcome is remembered in the
    session (keyed by the user, so another person signing in on the same browser is checked too).
    """
    endpoint = request.endpoint or ""
    if not endpoint or endpoint in EXEMPT_ENDPOINTS or endpoint.startswith("privacy."):
        return None
    if not current_user.is_authenticated:
        return None
    marker = f"{current_user.id}:{services.current_notice_version()}"
    if session.get(_SESSION_KEY) == marker:
        return None
    if services.must_consent_again(current_user.id):
        target = request.full_path if request.method == "GET" and request.query_string else request.path
        return redirect(url_for("privacy.accept", next=target if request.method == "GET" else None))
    session[_SESSION_KEY] = marker
    return None


# --- the notice and consent ---------------------------------------------------------------------


@bp.get("/privacy")
def notice():
    return render_template("privacy/notice.html", version=services.current_notice_version())


@bp.route("/privacy/accept", methods=["GET", "POST"])
@login_required
def accept():
    next_url = safe_next_url(request.values.get("next"), url_for("accounts.dashboard"))
    form = ConsentForm()
    latest = services.latest_consent(current_user)
    if form.validate_on_submit():
        services.record_consent(current_user, ip_address=request.remote_addr, source="prompt")
        db.session.commit()
        session[_SESSION_KEY] = f"{current_user.id}:{services.current_notice_version()}"
        flash(_("Thank you. Your agreement to the privacy notice has been recorded."), "success")
        return redirect(next_url)
    return render_template(
        "privacy/accept.html",
        form=form,
        latest=latest,
        version=services.current_notice_version(),
        next_url=request.values.get("next", ""),
    )


# --- my data ------------------------------------------------------------------------------------


@bp.get("/account/privacy")
@login_required
def account():
    return _render_account(DeletionRequestForm())


def _render_account(form: DeletionRequestForm):
    user = current_user._get_current_object()
    requests = db.session.scalars(
        select(DeletionRequest).where(DeletionRequest.user_id == user.id).order_by(DeletionRequest.id.desc())
    ).all()
    return render_template(
        "privacy/account.html",
        form=form,
        latest=services.latest_consent(user),
        version=services.current_notice_version(),
        requests=requests,
        open_request=next((item for item in requests if item.is_open), None),
        blockers=services.deletion_blockers(user),
    )


@bp.get("/account/privacy/export")
@login_required
def download_data():
    user = current_user._get_current_object()
    now = utcnow()
    data = export.user_data(user, now=now)
    audit.record(user, "privacy.export", user)
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{user.id}-{now:%Y%m%d}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/account/privacy/delete")
@login_required
def request_deletion():
    form = DeletionRequestForm()
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.request_deletion(current_user, password=form.password.data, reason=form.reason.data or ""),
    ):
        flash(_("Your request has been received. An administrator will carry it out or tell you why not."), "success")
        return redirect(url_for("privacy.account"))
    return _render_account(form)


@bp.post("/account/privacy/delete/cancel")
@login_required
def cancel_deletion():
    item = services.open_request(current_user)
    if item is None:
        flash(_("This request is no longer open."), "danger")
    else:
        commit_or_flash(
            lambda: services.cancel_request(item, actor=current_user), _("Your deletion request has been withdrawn.")
        )
    return redirect(url_for("privacy.account"))


# --- administrators -----------------------------------------------------------------------------


@bp.get("/admin/privacy")
@login_required
def admin_requests():
    require(can_manage_privacy_requests(current_user))
    items = db.session.scalars(
        select(DeletionRequest)
        .options(selectinload(DeletionRequest.user), selectinload(DeletionRequest.decided_by))
        .order_by(case((DeletionRequest.state == DeletionState.REQUESTED, 0), else_=1), DeletionRequest.id.desc())
        .limit(200)
    ).all()
    blockers = {item.id: services.deletion_blockers(item.user, to_admin=True) for item in items if item.is_open}
    return render_template("privacy/admin_requests.html", items=items, blockers=blockers, refuse_form=RefuseForm())


def _load_request(request_id: int) -> DeletionRequest:
    require(can_manage_privacy_requests(current_user))
    item = db.session.get(DeletionRequest, request_id)
    require(item is not None, hide=True)
    return item


@bp.post("/admin/privacy/<int:request_id>/carry-out")
@login_required
def carry_out(request_id: int):
    item = _load_request(request_id)
    commit_or_flash(
        lambda: services.carry_out_request(item, actor=current_user, now=utcnow()),
        _("The account has been anonymized and the person told by e-mail."),
    )
    return redirect(url_for("privacy.admin_requests"))


@bp.post("/admin/privacy/<int:request_id>/refuse")
@login_required
def refuse(request_id: int):
    item = _load_request(request_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        commit_or_flash(
            lambda: services.refuse_request(item, actor=current_user, note=form.note.data, now=utcnow()),
            _("The request has been refused and the person told why."),
        )
    return redirect(url_for("privacy.admin_requests"))


# --- retention ----------------------------------------------------------------------------------


@bp.cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
def purge_command(dry_run: bool) -> None:
    """Delete the uploads of competitions archived longer ago than their retention period."""
    now = utcnow()
    plans = retention.plans(now)
    if not plans:
        click.echo("Nothing to purge.")
        return
    for plan in plans:
        competition = plan.competition
        click.echo(
            f"{competition.code}: archived {competition.archived_at:%Y-%m-%d}, "
            f"retention {competition.uploads_retention_days} days: {len(plan.files)} files "
            f"({plan.bytes} bytes), {len(plan.appeals)} appeal attachments"
        )
        for item in plan.files:
            click.echo(f"  file {item.id}: {item.original_name} ({item.size} bytes, sha256 {item.sha256})")
        if not dry_run:
            retention.purge(plan, now=now)
    if dry_run:
        click.echo("Dry run: nothing was deleted.")
        db.session.rollback()
        return
    db.session.commit()
    click.echo("Purged.")
