"""Domain errors and the error pages.

Services raise `DomainError` with a translatable message; views catch it, show the message and keep
what the user typed. Every HTTP error gets a page in the user's language (JSON for API clients).
"""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the domain refused an action; `message` is shown to the user as it is."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


ERROR_TITLES = {
    400: _l("Bad request"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    413: _l("Upload too large"),
    429: _l("Too many requests"),
    500: _l("Server error"),
    503: _l("Service temporarily unavailable"),
}

ERROR_EXPLANATIONS = {
    400: _l("The request could not be understood. Please go back, reload the page and try again."),
    403: _l("You do not have permission to open this page."),
    404: _l("The page you asked for does not exist, or you may not see it."),
    405: _l("This address does not accept that kind of request."),
    413: _l("What you sent is larger than the limit this page accepts. Please send a smaller file or less text."),
    429: _l("You have tried this too often. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. It has been logged; please try again later."),
    503: _l("The service is briefly unavailable. Please try again in a minute."),
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(code: int, detail: str | None = None):
    title = ERROR_TITLES.get(code, ERROR_TITLES[500])
    explanation = detail or ERROR_EXPLANATIONS.get(code, ERROR_EXPLANATIONS[500])
    if _wants_json():
        return {"error": str(title), "message": str(explanation)}, code
    return render_template("errors/error.html", code=code, title=title, explanation=explanation), code


def _detail_for(code: int) -> str | None:
    """A 413 on an upload names the limit of what was being uploaded."""
    from flask import g

    limit = g.get("upload_limit_bytes") if code == 413 else None
    if not limit:
        return None
    size = f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
    return str(
        _l("The file is larger than the limit of %(size)s for this upload. Please upload a smaller file.", size=size)
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, str(_l("Your form expired or was sent from another page. Please reload and try again."))
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if isinstance(error, SecurityError):
            # An untrusted Host header: no URL can be built for this request, so no full page.
            return str(ERROR_TITLES[400]), 400, {"Content-Type": "text/plain; charset=utf-8"}
        response = error.get_response()
        body, code = render_error(error.code, _detail_for(error.code))
        if isinstance(body, dict):
            from flask import jsonify

            new = jsonify(body)
        else:
            new = app.make_response(body)
        new.status_code = code
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response.headers:
                new.headers[header] = response.headers[header]
        return new

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        propagate = app.config.get("PROPAGATE_EXCEPTIONS")
        if propagate is None:
            propagate = app.testing or app.debug  # Flask's own rule: tests and the debugger see the error
        if propagate:
            raise error
        log.exception("unhandled error on %s %s", request.method, request.path)
        from competition.extensions import db

        db.session.rollback()
        return render_error(500)

    app.register_error_handler(InternalServerError, lambda e: render_error(500))
