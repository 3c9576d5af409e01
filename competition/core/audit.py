"""The audit log: who did what to which object, and the details needed to defend it later.

Every write in the project calls `record()` inside the same transaction as the write itself, so
an action and its audit entry are committed (or rolled back) together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request, session
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core.time import UTCDateTime, utcnow
from competition.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))

    actor = relationship("User", foreign_keys=[actor_id])


#: where the session keeps the admin who is viewing the site as someone else (accounts.security_views)
IMPERSONATOR_SESSION_KEY = "impersonator"


def _object_ref(obj) -> tuple[str | None, str | None]:
    if obj is None:
        return None, None
    if isinstance(obj, tuple):
        kind, ident = obj
        return kind, str(ident)
    return getattr(obj, "__tablename__", type(obj).__name__), str(obj.id)


def record(actor, action: str, obj=None, **details: Any) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits).

    `obj` is a model instance with an `id`, or a `(type, id)` pair for things that are not rows.
    """
    object_type, object_id = _object_ref(obj)
    impersonator = session.get(IMPERSONATOR_SESSION_KEY) if has_request_context() else None
    if isinstance(impersonator, dict) and impersonator.get("user_id") is not None:
        # an admin viewing the site as this person did it: the entry names both
        details = {**details, "impersonated_by": impersonator["user_id"]}
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
