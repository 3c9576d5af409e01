"""Row locks that hold on both databases.

PostgreSQL: `SELECT … FOR UPDATE` locks the row until the transaction ends. SQLite has no row
locks, ignores FOR UPDATE and begins a transaction only at the first write, so whatever the caller
reads before its first write may be stale by the time it writes: a no-op UPDATE takes SQLite's
write lock at once (other writers wait, up to the busy timeout).
"""

from __future__ import annotations

from sqlalchemy import select, update

from competition.extensions import db


def lock_row(model, row_id: int, *, shared: bool = False) -> bool:
    """Serialize writers of one row: what the caller reads next stays true until it commits.

    `shared`: many holders at once, none while someone holds it exclusively (PostgreSQL's FOR
    SHARE — e.g. judges saving scores while the round is not being published). SQLite has only one
    writer at a time, so there every lock is exclusive.
    Returns whether the row exists (it may have been deleted since the caller loaded it)."""
    if db.session.get_bind().dialect.name == "sqlite":
        result = db.session.execute(
            update(model).where(model.id == row_id).values(id=model.id).execution_options(synchronize_session=False)
        )
        return result.rowcount > 0
    statement = select(model.id).where(model.id == row_id).with_for_update(read=shared)
    return db.session.execute(statement).first() is not None
