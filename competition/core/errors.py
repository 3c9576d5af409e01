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


#: how long a client is asked to wait when the database is unreachable (seconds)
DATABASE_RETRY_AFTER_SECONDS = 30

#: the 503 page when even the normal error page cannot be rendered: both languages, no database
UNAVAILABLE_FALLBACK_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>服务暂时不可用 · Service temporarily unavailable</title></head>
<body><main><h1>服务暂时不可用</h1><p>服务暂时不可用，请稍后再试。</p>
<h1 lang="en">Service temporarily unavailable</h1>
<p lang="en">The service is briefly unavailable. Please try again in a minute.</p></main></body></html>
"""


def is_database_unavailable(error: BaseException | None) -> bool:
    """True for a lost or refused database connection (PostgreSQL restarting, the network, a full
    pool): the request could not run at all and may simply be retried, so it is a 503, not a 500."""
    from sqlalchemy import exc

    if error is None:
        return False
    if isinstance(error, (exc.OperationalError, exc.TimeoutError, exc.DisconnectionError)):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a runtime dependency
        return False
    return isinstance(error, psycopg.OperationalError)


def _forget_database_session() -> None:
    """Drop whatever the failed request held: the next request starts with a fresh session, and the
    pool (pre-ping) replaces connections the server closed, so the app recovers without a restart."""
    from competition.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; removing the session is what matters
        log.debug("rollback after a database outage failed", exc_info=True)
    try:
        db.session.remove()
    except Exception:  # noqa: BLE001
        log.debug("removing the session after a database outage failed", exc_info=True)
        db.session.registry.clear()


def render_database_unavailable():
    """The friendly 503 while the database is unreachable, with Retry-After.

    Nothing on the page may touch the database: the signed-in user is not loaded again (the page
    shows the anonymous navigation), and if the normal error page still fails a plain bilingual
    page is sent instead.
    """
    from flask import g, jsonify, make_response

    from competition.extensions import login_manager

    _forget_database_session()
    g._login_user = login_manager.anonymous_user()
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    try:
        body, code = render_error(503)
        response = jsonify(body) if isinstance(body, dict) else make_response(body)
    except Exception:  # noqa: BLE001 - the last resort must not fail
        log.warning("the 503 page could not be rendered; sending the plain one", exc_info=True)
        response = make_response(UNAVAILABLE_FALLBACK_HTML)
        response.mimetype = "text/html"
    response.status_code = 503
    response.headers.update(headers)
    return response


#: a body refused for its declared size is read and thrown away before the 413 is sent when it is
#: no larger than this (on upload routes: than MAX_CONTENT_LENGTH, what they accept anyway):
#: gunicorn closes a connection that still has more than 64 KiB unread, and a proxy (nginx) still
#: sending the body then gets a broken pipe and answers 502 instead of our page, or the browser
#: shows a reset connection.
DRAIN_REFUSED_BODY_BYTES = 8 * 1024 * 1024


def _drain_refused_body() -> None:
    """Read the rest of a body refused by its Content-Length (nothing of it has been read then)."""
    from flask import current_app

    length = request.content_length
    limit = request.max_content_length
    view = current_app.view_functions.get(request.endpoint or "")
    cap = DRAIN_REFUSED_BODY_BYTES
    if getattr(view, "accepts_uploads", False):
        cap = max(cap, current_app.config["MAX_CONTENT_LENGTH"] or 0)
    if not length or limit is None or length <= limit or length > cap:
        return
    stream = request.environ.get("wsgi.input")
    remaining = length
    try:
        while remaining > 0 and stream is not None:
            chunk = stream.read(min(64 * 1024, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
    except Exception:  # noqa: BLE001 - the client went away; the answer is sent anyway
        log.debug("reading a refused body failed", exc_info=True)


def register_error_handlers(app: Flask) -> None:
    @app.teardown_appcontext
    def end_database_session(_error):
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier), which then has nothing
        # left to do. A connection the server cut after the response was made fails its closing
        # rollback; that must not turn a finished request into a bare 500.
        from competition.extensions import db

        try:
            db.session.remove()
        except Exception:  # noqa: BLE001 - the connection is gone; forgetting the session is what matters
            log.debug("closing the session failed", exc_info=True)
            db.session.registry.clear()

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
        if error.code == 413:
            _drain_refused_body()
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
        if is_database_unavailable(error):
            log.warning("database unavailable on %s %s: %s", request.method, request.path, error.__class__.__name__)
            return render_database_unavailable()
        propagate = app.config.get("PROPAGATE_EXCEPTIONS")
        if propagate is None:
            propagate = app.testing or app.debug  # Flask's own rule: tests and the debugger see the error
        if propagate:
            raise error
        log.exception("unhandled error on %s %s", request.method, request.path)
        from competition.extensions import db

        db.session.rollback()
        return render_error(500)

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        if is_database_unavailable(getattr(error, "original_exception", None)):
            return render_database_unavailable()
        return render_error(500)
