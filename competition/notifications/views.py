"""`/notifications`: the signed-in person's notifications, newest first; opening one marks it read
and goes to its page. Both actions are POSTs (a GET never changes anything)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from competition.core.permissions import require
from competition.core.web import safe_next_url
from competition.extensions import db
from competition.notifications import services
from competition.notifications.models import Notification
from competition.notifications.policies import can_read_notification

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_template_global("unread_notifications")
def unread_notifications() -> int:
    """For the header: the signed-in person's unread count (one COUNT query per page, none for
    visitors who are not signed in)."""
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        g.unread_notifications = services.unread_count(current_user)
    return g.unread_notifications


@bp.get("/")
@login_required
def index():
    page = db.paginate(services.list_for(current_user), per_page=services.PER_PAGE, error_out=False)
    return render_template("notifications/index.html", page=page, unread=unread_notifications())


@bp.post("/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int):
    notification = db.session.get(Notification, notification_id)
    require(can_read_notification(current_user, notification), hide=True)
    services.mark_read(notification)
    db.session.commit()
    # stored as a path of this site; checked again so even a bad row never leads to another site
    target = safe_next_url(notification.link, "")
    return redirect(request.script_root + target if target else url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all():
    changed = services.mark_all_read(current_user)
    db.session.commit()
    if changed:
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"))
