"""Request plumbing shared by every blueprint: safe redirects, security headers, form helpers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request


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


def accepts_uploads(view):
    """Mark a view whose requests may be as large as MAX_CONTENT_LENGTH (file uploads).

    Every other request body is limited to FORM_MAX_CONTENT_LENGTH, so a 2 GB body sent to the
    log-in form is refused with 413 before anything reads it.
    """
    view.accepts_uploads = True
    return view


def register_request_limits(app: Flask) -> None:
    @app.before_request
    def limit_body_size() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if not getattr(view, "accepts_uploads", False):
            request.max_content_length = app.config["FORM_MAX_CONTENT_LENGTH"]


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
