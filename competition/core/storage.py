"""Files under `uploads/` in DATA_DIR (default `instance/`), stored under generated names.

A file is streamed to a temporary name in the same folder, hashed on the way, then renamed into
place: a reader never sees half a file, and a failure leaves nothing behind. The original (often
Chinese) name is kept by the caller for display and download, never used as a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


def data_root() -> Path:
    """The folder holding `uploads/` and `exports/`: DATA_DIR (a shared mount when several app hosts
    run), the instance folder by default."""
    return Path(current_app.config.get("DATA_DIR") or current_app.instance_path)


def upload_root() -> Path:
    root = data_root() / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    return root


def path_for(key: str) -> Path:
    """The path of a stored key; keys are generated here, but a forged one still stays inside the root."""
    root = upload_root().resolve()
    path = (root / key).resolve()
    if root not in path.parents:
        raise ValueError("storage key outside the upload root")
    return path


def save(stream: BinaryIO, *, folder: str, suffix: str = "", max_bytes: int | None = None) -> StoredFile:
    """Stream `stream` into `folder` under a new name; raises ValueError past `max_bytes`."""
    key = f"{folder}/{uuid.uuid4().hex}{suffix}"
    final = path_for(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as handle:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ValueError("file too large")
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _sync_folder(final.parent)
    return StoredFile(key=key, size=size, sha256=digest.hexdigest())


def _sync_folder(folder: Path) -> None:
    """Make the rename durable: after a crash a renamed file is there only once its folder is synced
    (the database row naming it may already be committed)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def delete(key: str | None) -> None:
    if key:
        path_for(key).unlink(missing_ok=True)


_DELETE_KEY = "storage_delete_after_commit"


def delete_after_commit(key: str | None) -> None:
    """Remove a replaced file once the transaction that replaced it has committed (never before)."""
    from competition.extensions import db

    if key:
        db.session().info.setdefault(_DELETE_KEY, []).append(key)


def _register_session_events() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_commit")
    def _delete_replaced_files(session) -> None:
        for key in session.info.pop(_DELETE_KEY, []):
            with contextlib.suppress(OSError, ValueError, RuntimeError):  # a leftover file is harmless
                delete(key)

    @event.listens_for(Session, "after_rollback")
    def _keep_files(session) -> None:
        session.info.pop(_DELETE_KEY, None)


_register_session_events()


def save_with(write, *, folder: str, suffix: str = "") -> StoredFile:
    """Store what `write(path)` writes to a temporary path (e.g. a converted copy), atomically."""
    key = f"{folder}/{uuid.uuid4().hex}{suffix}"
    final = path_for(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".part")
    try:
        write(partial)
        digest, size = hashlib.sha256(), 0
        with partial.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
            os.fsync(handle.fileno())
        partial.replace(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _sync_folder(final.parent)
    return StoredFile(key=key, size=size, sha256=digest.hexdigest())
