"""Backup and restore: a rich world goes into one archive and comes back into a fresh, empty
instance with the same rows, the same files and every invariant holding; a damaged archive and a
non-empty instance are refused; the dump is one consistent snapshot while others write.

On PostgreSQL (TEST_DATABASE_URL) the fresh instance is a scratch database made and dropped here."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from competition import create_app
from competition.accounts.models import User
from competition.core import storage
from competition.extensions import db
from competition.operations import backup, invariants
from competition.operations.backup import BackupError
from tests import factories
from tests.operations.test_invariants import _issued_world, _uploaded_file


@pytest.fixture
def fresh_url(database_url, tmp_path):
    """An empty database of the same kind as the suite's."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fresh_app(url: str, instance: Path):
    return create_app({"APP_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(instance)})


def _counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables
    }


def _file_hashes() -> dict[str, str]:
    hashes = {}
    for item in backup.FILE_COLUMNS:
        column = db.metadata.tables[item.table].c[item.key]
        for key in db.session.scalars(select(column).where(column.is_not(None))):
            hashes[key] = hashlib.sha256(storage.path_for(key).read_bytes()).hexdigest()
    return hashes


def _rich_world():
    """Teams with members and advisors, scorecards, published results, issued certificates, an
    uploaded business plan and a blind copy of it, and a logo."""
    world = _issued_world()
    upload = _uploaded_file(world, b"%PDF-1.7 " + bytes(range(256)) * 64)
    upload.blind_key = storage.save(io.BytesIO(b"%PDF-1.7 blind"), folder="blind", suffix=".pdf").key
    world.contest.logo_key = storage.save(io.BytesIO(b"\x89PNG\r\n\x1a\n logo"), folder="logos", suffix=".png").key
    db.session.commit()
    return world


def test_a_backup_restores_into_a_fresh_instance_with_equal_rows_and_files(app, fake_renderer, tmp_path, fresh_url):
    _rich_world()
    before, hashes = _counts(), _file_hashes()
    assert before["certificates"] and before["scorecards"] and before["result_snapshots"] and len(hashes) >= 4
    archive = tmp_path / "备份" / "backup.zip"
    created = app.test_cli_runner().invoke(args=["backup", "create", str(archive)])
    assert created.exit_code == 0, created.output
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    assert manifest["source_dialect"] == db.engine.dialect.name and manifest["alembic_revision"]
    assert {table["name"]: table["rows"] for table in manifest["tables"]} == before
    assert [item["key"] for item in manifest["files"]] == sorted(hashes)
    assert not list(archive.parent.glob("*.part"))  # written under a temporary name, then renamed

    target = _fresh_app(fresh_url, tmp_path / "restored-instance")
    with target.app_context():  # the command runs in the app whose context is current
        restored = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert restored.exit_code == 0, restored.output
        assert "All invariants hold." in restored.output
        assert _counts() == before
        assert _file_hashes() == hashes
        assert str(Path(storage.upload_root())).startswith(str(tmp_path / "restored-instance"))
        assert invariants.run() == {name: [] for name in invariants.INVARIANTS}
        # new rows get new ids: the sequences moved past the restored ones (PostgreSQL)
        person = factories.user()
        db.session.commit()
        assert person.id > max(db.session.scalars(select(User.id).where(User.id != person.id)))
        db.session.remove()
        db.engine.dispose()


def test_a_restore_into_an_instance_with_rows_is_refused(app, tmp_path):
    factories.user()
    db.session.commit()
    archive = tmp_path / "backup.zip"
    backup.create_backup(archive)
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code == 1
    assert "This instance is not empty: " in result.output and "users (1)" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 1


def _rewrite(archive: Path, change) -> None:
    with zipfile.ZipFile(archive) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    change(entries)
    with zipfile.ZipFile(archive, "w") as target:
        for name, data in entries.items():
            target.writestr(name, data)


def test_a_tampered_archive_is_refused_naming_the_entry_before_anything_is_touched(app, tmp_path, fresh_url):
    factories.team(state="draft")
    db.session.commit()
    archive = tmp_path / "backup.zip"
    backup.create_backup(archive)

    def change_a_user(entries):
        entries["database/users.jsonl"] = entries["database/users.jsonl"].replace(
            b'"is_admin":false', b'"is_admin":true', 1
        )

    _rewrite(archive, change_a_user)
    target = _fresh_app(fresh_url, tmp_path / "restored-instance")
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert result.exit_code == 1
        assert "database/users.jsonl does not match its checksum" in result.output
        assert backup.rows_present() == {}
        assert not db.inspect(db.engine).has_table("users")  # not even the schema was made
        db.engine.dispose()

    _rewrite(archive, lambda entries: entries.update({"files/extra.pdf": b"%PDF"}))
    with pytest.raises(BackupError, match="files/extra.pdf, which its manifest does not list"):
        with target.app_context():
            backup.restore_backup(archive)
    (tmp_path / "not-a-zip").write_bytes(b"hello")
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path / "not-a-zip")])
        db.engine.dispose()
    assert result.exit_code == 1 and "is not a readable backup archive" in result.output


def test_the_dump_is_one_snapshot_while_others_write(app, tmp_path, monkeypatch):
    factories.user()
    db.session.commit()
    original = backup._begin_snapshot

    def begin_then_someone_registers(connection):
        revision = original(connection)
        with app.app_context():  # another session, committing while the dump reads
            factories.user()
            db.session.commit()
        return revision

    monkeypatch.setattr(backup, "_begin_snapshot", begin_then_someone_registers)
    report = backup.create_backup(tmp_path / "backup.zip")
    assert report.rows["users"] == 1
    assert db.session.scalar(select(func.count(User.id))) == 2


def test_a_missing_file_is_reported_and_the_archive_still_written(app, fake_renderer, tmp_path):
    world = _issued_world()
    upload = _uploaded_file(world)
    storage.path_for(upload.storage_key).unlink()
    result = app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "backup.zip")])
    assert result.exit_code == 1
    assert f"problem: {upload.storage_key}: the file is missing" in result.output
    manifest = json.loads(zipfile.ZipFile(tmp_path / "backup.zip").read("manifest.json"))
    assert manifest["problems"] == [f"{upload.storage_key}: the file is missing"]


def test_values_of_every_type_survive_the_encoding(app):
    from datetime import UTC, datetime
    from decimal import Decimal

    from sqlalchemy import JSON, Column, DateTime, Integer, LargeBinary, MetaData, Numeric, Table

    from competition.core.time import UTCDateTime

    table = Table("example", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()),
                  Column("naive", DateTime()), Column("points", Numeric(5, 1)), Column("raw", LargeBinary),
                  Column("data", JSON))  # fmt: skip
    values = {
        "id": 1,
        "at": datetime(2026, 6, 30, 15, 59, 59, 123456, tzinfo=UTC),
        "naive": datetime(2026, 1, 1, 8, 0),
        "points": Decimal("17.5"),
        "raw": b"\x00\xff",
        "data": {"榜单": [1, 2.5, None]},
    }
    for column in table.columns:
        kind = backup._kind(column)
        encoded = json.loads(json.dumps(backup._encode(kind, values[column.name])))
        assert backup._decode(kind, encoded) == values[column.name]


def test_a_postgresql_backup_restores_into_sqlite(app, fake_renderer, tmp_path, database_url):
    """Portable: the same archive fills either kind of database (the other direction is the round
    trip above when the suite runs on SQLite and restores a SQLite archive into SQLite)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the suite runs on SQLite; the round trip above covers SQLite")
    _rich_world()
    before, hashes = _counts(), _file_hashes()
    report = backup.create_backup(tmp_path / "backup.zip")
    assert report.problems == []
    target = _fresh_app(f"sqlite:///{tmp_path / 'restored.db'}", tmp_path / "restored-instance")
    with target.app_context():
        backup.restore_backup(tmp_path / "backup.zip")
        assert _counts() == before and _file_hashes() == hashes
        assert invariants.run() == {name: [] for name in invariants.INVARIANTS}
        db.session.remove()
        db.engine.dispose()
