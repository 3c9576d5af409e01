"""`/healthz` for load balancers and monitoring: the app answers and the database is reachable."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from competition.extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        log.warning("health check: database unreachable", exc_info=True)
        from competition.core.errors import DATABASE_RETRY_AFTER_SECONDS, _forget_database_session

        _forget_database_session()
        return jsonify(status="error", database="error"), 503, {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    return jsonify(status="ok", database="ok")
