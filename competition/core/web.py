"""Request plumbing shared by every blueprint: safe redirects, security headers, form helpers."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, g, request

from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.extensions import db


def safe_next_url(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback` (no open redirects via `next=`)."""
    if not target:
        return fallback
    target = target.strip()
    if "\\" in target or any(ord(char) < 32 for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


#: room for the other form fields and the multipart framing around an uploaded file
UPLOAD_OVERHEAD_BYTES = 256 * 1024


def accepts_uploads(view=None, *, limit=None):
    """Mark a view whose requests carry files: `@accepts_uploads` or `@accepts_uploads(limit=f)`.

    Every other request body is limited to FORM_MAX_CONTENT_LENGTH, so a 2 GB body sent to the
    log-in form is refused with 413 before anything reads it. An upload view may name `limit`, a
    function of the view's URL arguments returning the largest file in bytes (or None for
    MAX_CONTENT_LENGTH): a larger body is refused with a 413 page that states the limit, before
    the body is read (the check runs before CSRF, which reads the form).
    """

    def mark(function):
        function.accepts_uploads = True
        function.upload_limit = limit
        return function

    return mark(view) if view is not None else mark


def register_request_limits(app: Flask) -> None:
    @app.before_request
    def limit_body_size() -> None:
        # before anything reads the body: an upload "began" when its request arrived
        g.request_started_at = utcnow()
        view = app.view_functions.get(request.endpoint or "")
        if not getattr(view, "accepts_uploads", False):
            request.max_content_length = app.config["FORM_MAX_CONTENT_LENGTH"]
            return
        limit = view.upload_limit(**(request.view_args or {})) if view.upload_limit else None
        if limit:
            g.upload_limit_bytes = limit
            request.max_content_length = min(limit + UPLOAD_OVERHEAD_BYTES, app.config["MAX_CONTENT_LENGTH"])


#: how far before the app saw a request a proxy's X-Request-Start may lie (a slow upload, buffered)
REQUEST_START_MAX_AGE = timedelta(hours=6)


def request_started_at() -> datetime:
    """When this request began: the moment it reached the app, before its body was read.

    Behind a reverse proxy that buffers request bodies (nginx does by default), the app sees an
    upload only once the proxy has received all of it, so a plan sent at 23:59 would arrive after
    the deadline. When TRUSTED_PROXIES is set, the proxy may state when the request began arriving
    in `X-Request-Start: t=<Unix epoch seconds>` (milliseconds and microseconds, as sent by some
    proxies, are recognised too). The proxy must set the header itself, replacing any value the
    client sent; with nginx: `proxy_set_header X-Request-Start "t=${msec}";` together with
    `proxy_request_buffering off;` (or take the time from a front load balancer). A value later
    than the app's own clock, or more than REQUEST_START_MAX_AGE earlier, is ignored.
    """
    arrived = g.get("request_started_at") or utcnow()
    if not current_app.config.get("TRUSTED_PROXIES"):
        return arrived
    header = request.headers.get("X-Request-Start", "").strip()
    try:
        value = float(header.removeprefix("t=").strip())
    except ValueError:
        return arrived
    if not math.isfinite(value) or value <= 0:
        return arrived
    for _ in range(2):  # milliseconds or microseconds since the epoch
        if value > 1e11:
            value /= 1000
    try:
        began = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return arrived
    if began > arrived or arrived - began > REQUEST_START_MAX_AGE:
        return arrived
    return began


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# --- running a service for a view: one commit, or a rollback and the refusal shown -----------------


@dataclass(frozen=True)
class Outcome:
    """What `commit_or_show` / `commit_or_flash` did: true when the action was committed.

    `value` is what the action returned (None when it was refused).
    """

    committed: bool
    value: Any = None

    def __bool__(self) -> bool:
        return self.committed


def flash_form_errors(form) -> None:
    """Each error of a form that has no page of its own to show them on (a small action form posted
    from a list), as flashed messages on the page the user is sent back to."""
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")


def show_domain_error(form, error: DomainError, aliases: Mapping[str, str] | None = None) -> None:
    """Show a refusal on the form field named by `error.field`, else flash it as "danger".

    `aliases` maps a service's field name to the form's field name where they differ. Without a
    form (None) the message is always flashed.
    """
    name = (aliases or {}).get(error.field, error.field) if error.field else None
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
    else:
        flash(str(error.message), "danger")


def commit_or_show(form, action: Callable[[], Any], *, aliases: Mapping[str, str] | None = None) -> Outcome:
    """Call `action()` and commit once; on a DomainError roll back and show it (`show_domain_error`).

    The view re-renders the form on a falsy outcome, so what the user typed is kept.
    """
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error, aliases)
        return Outcome(committed=False)
    db.session.commit()
    return Outcome(committed=True, value=value)


def commit_or_flash(action: Callable[[], Any], success_message: str, *, category: str = "success") -> Outcome:
    """For a POST button without a form: `commit_or_show` with the refusal flashed as "danger",
    and `success_message` flashed (as `category`) once the action is committed."""
    outcome = commit_or_show(None, action)
    if outcome:
        flash(success_message, category)
    return outcome
