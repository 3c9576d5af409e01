"""One archive holds a whole instance: every table as JSON Lines, the stored files the rows name
(uploads, blind copies, logos, appeal attachments, certificate PDFs) and a manifest with a SHA-256 per
entry. The dump is dialect-independent, so a SQLite backup restores into PostgreSQL and back.

Layout of the ZIP file:

    manifest.json              format, created_at, source dialect, Alembic revision, row counts, checksums
    database/<table>.jsonl     one JSON object per row, tables in foreign-key order
    files/<storage key>        the stored file, byte for byte (not recompressed)

Values are encoded by column type: datetimes, dates and times in ISO 8601, decimals as strings,
bytes in base64, intervals in seconds, JSON columns as they are.

Consistency while the app runs: all tables are read in one read-only transaction that sees one
snapshot (PostgreSQL: REPEATABLE READ; SQLite: one read transaction, which WAL mode keeps stable
while others write). Only the files named by rows of that snapshot are copied; files are never
changed once written, and one with a known SHA-256 is checked against it on the way. The archive is
written under a temporary name next to PATH and renamed into place when complete.

Restore fills an empty instance: it refuses an archive whose checksums do not match before touching
anything, refuses a database that has rows, brings the schema to the archive's revision, puts the
files in place, inserts the rows in dependency order in one transaction, moves PostgreSQL's id
sequences past the restored ids, and upgrades to the newest revision if the archive was older.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Time,
    TypeDecorator,
    Uuid,
    bindparam,
    func,
    inspect,
    select,
    text,
    update,
)

from competition.core import storage
from competition.extensions import db

FORMAT = "competition-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FOLDER = "database"
FILES_FOLDER = "files"
BATCH = 1000
CHUNK = storage.CHUNK


@dataclass(frozen=True)
class FileColumn:
    """A column holding a key of competition.core.storage, and the column with its SHA-256 if any."""

    table: str
    key: str
    sha256: str | None = None
    #: a column that, when set, says the file was deleted on purpose (uploads purged under the
    #: retention policy keep their row and key): such a row names no file to back up or check
    gone_when: str | None = None


#: every column that names a stored file (tests/operations checks that no `*_key` column is forgotten)
FILE_COLUMNS = (
    FileColumn("submission_files", "storage_key", "sha256", gone_when="purged_at"),
    FileColumn("submission_files", "blind_key", gone_when="purged_at"),
    FileColumn("certificates", "file_key", "sha256"),
    FileColumn("competitions", "logo_key"),
    FileColumn("appeals", "attachment_key"),
)
#: `*_key` columns that are not storage keys
NOT_FILE_COLUMNS = {("certificates", "recipient_key")}


class BackupError(Exception):
    """A backup or restore refused, with a message for the person at the console."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class BackupReport:
    path: Path
    revision: str | None
    rows: dict[str, int]
    files: int
    file_bytes: int
    #: files named by rows but missing, or not matching their row's SHA-256
    problems: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    revision: str | None
    rows: dict[str, int]
    files: int
    migrated_to_head: bool = False


# --- values ---------------------------------------------------------------------------------------


def _kind(column: Column) -> str:
    column_type = column.type
    if isinstance(column_type, Interval):
        return "interval"
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, JSON):
        return "json"
    if isinstance(column_type, DateTime):
        return "datetime"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, Time):
        return "time"
    if isinstance(column_type, LargeBinary):
        return "bytes"
    if isinstance(column_type, Uuid):
        return "uuid"
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float) and column_type.asdecimal:
        return "decimal"
    return "plain"


def _encode(kind: str, value: Any) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "interval":
        return value.total_seconds()
    return str(value)  # uuid


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "decimal": Decimal,
    "bytes": base64.b64decode,
    "interval": lambda seconds: timedelta(seconds=seconds),
    "uuid": uuid.UUID,
}


def _decode(kind: str, value: Any) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    return _DECODERS[kind](value)


# --- writing --------------------------------------------------------------------------------------


class _HashingWriter(io.RawIOBase):
    def __init__(self, target):
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


class _ArchiveWriter:
    def __init__(self, archive: zipfile.ZipFile, when: datetime):
        self.archive = archive
        self.date_time = when.timetuple()[:6]
        self.entries: dict[str, dict[str, Any]] = {}

    @contextlib.contextmanager
    def entry(self, name: str, *, compress: bool) -> Iterator[_HashingWriter]:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o600 << 16
        with self.archive.open(info, "w", force_zip64=True) as handle:
            writer = _HashingWriter(handle)
            yield writer
        self.entries[name] = {"sha256": writer.digest.hexdigest(), "size": writer.size}


def _begin_snapshot(connection) -> str | None:
    """Start the one read transaction every table is read in, and read the schema's revision in it
    (on SQLite the snapshot is taken by the first read)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    elif dialect == "sqlite":
        connection.exec_driver_sql("BEGIN")
    return _revision(connection)


def _revision(connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _dump_database(writer: _ArchiveWriter) -> tuple[str | None, list[dict], dict[str, str | None], list[str]]:
    """Every table into the archive; returns the revision, the tables' manifest entries, the files
    the rows name (key → expected SHA-256 or None) and problems found on the way."""
    files: dict[str, str | None] = {}
    problems: list[str] = []
    tables: list[dict] = []
    with db.engine.connect() as connection:
        revision = _begin_snapshot(connection)
        inspector = inspect(connection)
        existing = set(inspector.get_table_names())
        for table in db.metadata.sorted_tables:
            if table.name not in existing:
                continue  # the database is at an older revision than the code: its tables are what counts
            present = {column["name"] for column in inspector.get_columns(table.name)}
            columns = [(column, _kind(column)) for column in table.columns if column.name in present]
            file_columns = [item for item in FILE_COLUMNS if item.table == table.name]
            entry = f"{DATABASE_FOLDER}/{table.name}.jsonl"
            count = 0
            statement = select(*(column for column, _ in columns)).order_by(*table.primary_key.columns)
            with writer.entry(entry, compress=True) as out:
                buffer = io.BufferedWriter(out, buffer_size=CHUNK)
                for row in connection.execution_options(yield_per=BATCH).execute(statement):
                    values = row._mapping
                    record = {column.name: _encode(kind, values[column]) for column, kind in columns}
                    buffer.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
                    count += 1
                    for item in file_columns:
                        key = values[table.c[item.key]]
                        if not key or (item.gone_when and values[table.c[item.gone_when]] is not None):
                            continue
                        expected = values[table.c[item.sha256]] if item.sha256 else None
                        known = files.get(key)
                        if known and expected and known != expected:
                            problems.append(f"{key}: rows disagree about its SHA-256")
                        files[key] = known or expected
                buffer.flush()
            tables.append({"name": table.name, "entry": entry, "rows": count,
                           "columns": [column.name for column, _ in columns]})  # fmt: skip
        connection.rollback()
    return revision, tables, files, problems


def _copy_files(writer: _ArchiveWriter, files: dict[str, str | None]) -> tuple[list[dict], int, list[str]]:
    copied: list[dict] = []
    problems: list[str] = []
    total = 0
    for key in sorted(files):
        try:
            path = storage.path_for(key)
            source = path.open("rb")
        except (OSError, ValueError):
            problems.append(f"{key}: the file is missing")
            continue
        entry = f"{FILES_FOLDER}/{key}"
        with source, writer.entry(entry, compress=False) as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
        written = writer.entries[entry]
        expected = files[key]
        if expected and written["sha256"] != expected:
            problems.append(f"{key}: its SHA-256 is {written['sha256']}, its row says {expected}")
        total += written["size"]
        copied.append({"key": key, "entry": entry})
    return copied, total, problems


def create_backup(path: str | os.PathLike, *, now: datetime | None = None) -> BackupReport:
    """Write the archive to `path` (replaced atomically when complete)."""
    from competition.core.time import utcnow

    now = now or utcnow()
    target = Path(path).resolve()
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the archive's file name, e.g. {target / 'backup.zip'}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)  # mkstemp's file is readable by its owner only: the archive holds password hashes
    partial = Path(partial_name)
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            writer = _ArchiveWriter(archive, now)
            revision, tables, files, problems = _dump_database(writer)
            copied, file_bytes, file_problems = _copy_files(writer, files)
            problems += file_problems
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": now.isoformat(),
                "source_dialect": db.engine.dialect.name,
                "alembic_revision": revision,
                "code_revision": _code_head(),
                "tables": tables,
                "files": copied,
                "entries": writer.entries,
                "problems": problems,
            }
            archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1), zipfile.ZIP_DEFLATED)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.replace(target)
        _sync_folder(target.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(target, revision, {table["name"]: table["rows"] for table in tables}, len(copied),
                        file_bytes, problems)  # fmt: skip


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _script_directory():
    from alembic.script import ScriptDirectory
    from flask import current_app

    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def _code_head() -> str | None:
    return _script_directory().get_current_head()


# --- reading and checking -------------------------------------------------------------------------


def read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BackupError(f"This is not a backup archive: it has no {MANIFEST}.") from None
    except (ValueError, zipfile.BadZipFile) as error:
        raise BackupError(f"The archive's {MANIFEST} cannot be read ({error}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"This is not a backup archive of this application (its {MANIFEST} says otherwise).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"The archive has format version {manifest.get('format_version')}; this application reads version "
            f"{FORMAT_VERSION}."
        )
    return manifest


def verify_archive(archive: zipfile.ZipFile, manifest: dict) -> None:
    """Every entry is there, listed, and has the SHA-256 and size the manifest gives; every file key
    stays inside the upload folder. Raises BackupError naming the first bad entry."""
    entries: dict[str, dict] = manifest.get("entries") or {}
    present = {info.filename for info in archive.infolist() if not info.is_dir()}
    for name in sorted(present - set(entries) - {MANIFEST}):
        raise BackupError(
            f"The archive holds {name}, which its manifest does not list; it was changed after the backup."
        )
    for name, expected in entries.items():
        if name not in present:
            raise BackupError(f"The archive lacks {name}, which its manifest lists.")
        digest, size = hashlib.sha256(), 0
        try:
            with archive.open(name) as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise BackupError(f"The archive's entry {name} is damaged ({error}).") from None
        if digest.hexdigest() != expected.get("sha256") or size != expected.get("size"):
            raise BackupError(
                f"The archive's entry {name} does not match its checksum in the manifest; it is damaged or was changed."
            )
    for table in manifest.get("tables", []):
        if table.get("entry") not in entries:
            raise BackupError(f"The manifest names no entry for table {table.get('name')}.")
    for item in manifest.get("files", []):
        if item.get("entry") not in entries or item.get("entry") != f"{FILES_FOLDER}/{item.get('key')}":
            raise BackupError(f"The manifest's file {item.get('key')} has no matching entry.")
        try:
            storage.path_for(item["key"])
        except ValueError:
            raise BackupError(f"The archive's file key {item['key']} points outside the upload folder.") from None


def _rows(archive: zipfile.ZipFile, entry: str) -> Iterator[dict]:
    with archive.open(entry) as raw, io.TextIOWrapper(raw, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


# --- restoring ------------------------------------------------------------------------------------


def rows_present() -> dict[str, int]:
    """Tables of the application that exist and have rows, with their counts."""
    existing = set(inspect(db.engine).get_table_names())
    counts = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in existing:
                count = connection.execute(select(func.count()).select_from(table)).scalar()
                if count:
                    counts[table.name] = count
    return counts


def _current_revision() -> str | None:
    with db.engine.connect() as connection:
        return _revision(connection)


def _prepare_schema(revision: str | None) -> None:
    """Bring the (empty) database to the archive's revision, up or down."""
    from alembic.util import CommandError
    from flask_migrate import downgrade, upgrade

    if revision is None:
        raise BackupError("The archive does not say which schema revision it was made at.")
    script = _script_directory()
    try:
        script.get_revision(revision)
    except CommandError:
        raise BackupError(
            f"The archive was made at schema revision {revision}, which this version of the application does "
            "not know; restore it with the version that made it (or a newer one)."
        ) from None
    current = _current_revision()
    if current == revision:
        return
    if current is not None and revision in {item.revision for item in script.iterate_revisions(current, "base")}:
        downgrade(revision=revision)
    else:
        upgrade(revision=revision)
    db.engine.dispose()


def _check_tables(manifest: dict) -> None:
    for table in manifest.get("tables", []):
        known = db.metadata.tables.get(table["name"])
        if known is None:
            raise BackupError(f"The archive has a table {table['name']} that this application does not know.")
        unknown = set(table.get("columns", [])) - set(known.c.keys())
        if unknown:
            raise BackupError(f"The archive's table {table['name']} has columns this application does not know: {', '.join(sorted(unknown))}.")  # fmt: skip


def _insert_table(table: Table, columns: list[str]) -> Table:
    """A bare copy of `table` with the archive's columns only: no defaults, nothing but the values."""
    return Table(
        table.name,
        MetaData(),
        *(
            Column(column.name, column.type, primary_key=column.primary_key, autoincrement=False)
            for column in table.columns
            if column.name in columns
        ),
    )


def _insert_rows(archive: zipfile.ZipFile, manifest: dict) -> dict[str, int]:
    order = [table["name"] for table in manifest["tables"]]
    position = {name: index for index, name in enumerate(order)}
    counts: dict[str, int] = {}
    later: list[tuple[Table, list[str], list[dict]]] = []  # foreign keys to rows not inserted yet
    with db.engine.begin() as connection:
        for info in manifest["tables"]:
            table = db.metadata.tables[info["name"]]
            columns = info["columns"]
            target = _insert_table(table, columns)
            kinds = {column.name: _kind(column) for column in target.columns}
            deferred = [
                column.name
                for column in table.columns
                if column.name in columns
                and any(position.get(key.column.table.name, -1) >= position[table.name] for key in column.foreign_keys)
            ]
            keys = [column.name for column in target.primary_key.columns]
            pending: list[dict] = []
            batch: list[dict] = []
            count = 0
            for record in _rows(archive, info["entry"]):
                row = {name: _decode(kinds[name], record.get(name)) for name in kinds}
                if deferred and any(row[name] is not None for name in deferred):
                    pending.append(
                        {**{f"_{name}": row[name] for name in keys}, **{name: row[name] for name in deferred}}
                    )
                    row.update(dict.fromkeys(deferred))
                batch.append(row)
                count += 1
                if len(batch) >= BATCH:
                    connection.execute(target.insert(), batch)
                    batch = []
            if batch:
                connection.execute(target.insert(), batch)
            if count != info["rows"]:
                raise BackupError(
                    f"The archive's table {info['name']} has {count} rows; its manifest says {info['rows']}."
                )
            counts[info["name"]] = count
            if pending:
                later.append((target, deferred, pending))
        for target, deferred, pending in later:
            statement = (
                update(target)
                .where(*(column == bindparam(f"_{column.name}") for column in target.primary_key.columns))
                .values({name: bindparam(name) for name in deferred})
            )
            for start in range(0, len(pending), BATCH):
                connection.execute(statement, pending[start : start + BATCH])
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, [db.metadata.tables[name] for name in order])
    return counts


def _reset_sequences(connection, tables: list[Table]) -> None:
    """Move each id sequence past the restored ids, so new rows do not collide with them."""
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) or keys[0].autoincrement is False:
            continue
        column = keys[0].name
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), COALESCE(MAX({quote(column)}), 1), "  # noqa: S608  # nosec B608 - names from the metadata
                f"MAX({quote(column)}) IS NOT NULL) FROM {quote(table.name)}"
            ),
            {"table": quote(table.name), "column": column},
        )


def _restore_files(archive: zipfile.ZipFile, manifest: dict) -> int:
    for item in manifest.get("files", []):
        final = storage.path_for(item["key"])
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(final.name + ".restoring")
        try:
            with archive.open(item["entry"]) as source, partial.open("wb") as handle:
                while chunk := source.read(CHUNK):
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _sync_folder(final.parent)
    return len(manifest.get("files", []))


def restore_backup(path: str | os.PathLike) -> RestoreReport:
    """Fill this (empty) instance from the archive at `path`."""
    from flask_migrate import upgrade

    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BackupError(f"{path} is not a readable backup archive ({error}).") from None
    with archive:
        manifest = read_manifest(archive)
        verify_archive(archive, manifest)
        _check_tables(manifest)
        found = rows_present()
        if found:
            listed = ", ".join(f"{name} ({count})" for name, count in found.items())
            raise BackupError(
                f"This instance is not empty: {listed}. Restore into an empty database (no rows in any table)."
            )
        revision = manifest.get("alembic_revision")
        _prepare_schema(revision)
        files = _restore_files(archive, manifest)
        rows = _insert_rows(archive, manifest)
    head = _code_head()
    migrated = False
    if revision != head:
        upgrade()
        db.engine.dispose()
        migrated = True
    return RestoreReport(revision, rows, files, migrated)
