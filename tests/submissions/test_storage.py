"""Files under instance/uploads: generated keys, atomic writes, and a disk that fills up.

The disk-full tests mount a small tmpfs over the upload folder of an app of their own. That needs
root (as in CI); where mounting is impossible they are skipped saying so, except when the
environment variable CI is set: there they fail, so the check cannot silently disappear.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from competition import create_app
from competition.core import storage
from competition.core.errors import DomainError
from competition.extensions import db
from competition.submissions import services
from competition.submissions.models import Submission, SubmissionFile
from tests import factories
from tests.submissions import pdf_bytes

MB = 1024 * 1024
FULL_MESSAGE = (
    "The server's storage is full, so the upload was not saved; your previous version is kept. "
    "Please tell the organizers."
)


# --- keys and atomic writes -----------------------------------------------------------------------


def test_a_key_never_leads_outside_the_upload_root(app):
    root = storage.upload_root().resolve()
    assert storage.path_for("submissions/abc.pdf") == root / "submissions" / "abc.pdf"
    for forged in ("../config.py", "submissions/../../secret_key", "/etc/passwd", "..", ""):
        with pytest.raises(ValueError, match="outside the upload root"):
            storage.path_for(forged)


def test_a_saved_file_has_a_generated_name_its_size_and_its_hash(app):
    data = random.Random(1).randbytes(3 * MB + 17)  # more than one chunk
    stored = storage.save(io.BytesIO(data), folder="submissions", suffix=".pdf")
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    path = storage.path_for(stored.key)
    assert path.read_bytes() == data and not path.with_name(path.name + ".part").exists()
    storage.delete(stored.key)
    assert not path.exists()


def test_a_file_over_the_limit_leaves_nothing_behind(app):
    before = set(storage.upload_root().rglob("*"))
    with pytest.raises(ValueError, match="too large"):
        storage.save(io.BytesIO(b"x" * (2 * MB + 1)), folder="submissions", max_bytes=2 * MB)
    assert set(storage.upload_root().rglob("*")) - before <= {storage.upload_root() / "submissions"}


def test_a_failing_writer_leaves_nothing_behind(app):
    before = set(storage.upload_root().rglob("*"))

    def write(target: Path) -> None:
        target.write_bytes(b"half a copy")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError):
        storage.save_with(write, folder="blind", suffix=".pdf")
    assert set(storage.upload_root().rglob("*")) - before <= {storage.upload_root() / "blind"}


def test_a_replaced_file_is_deleted_only_once_the_replacement_is_committed(app):
    kept = storage.save(io.BytesIO(b"old"), folder="submissions")
    storage.delete_after_commit(kept.key)
    db.session.rollback()
    assert storage.path_for(kept.key).exists()
    storage.delete_after_commit(kept.key)
    db.session.commit()
    assert not storage.path_for(kept.key).exists()


# --- a full disk ----------------------------------------------------------------------------------


@contextmanager
def _small_disk(path: Path, size: str = "2m"):
    """A tmpfs of `size` mounted at `path` for the duration of the block."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
        )
        problem = result.stderr.strip() if result.returncode else None
    except OSError as error:  # no mount command
        problem = str(error)
    if problem is not None:
        reason = f"cannot mount a tmpfs over the upload folder to fill the disk (needs root): {problem}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextmanager
def _app_with_small_disk(database_url: str, instance: Path):
    """An app of its own whose instance/uploads is a 2 MB tmpfs (same database as the other tests)."""
    own_app = create_app({"APP_ENV": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)})
    with _small_disk(instance / "uploads") as uploads, own_app.app_context(), force_locale("en"):
        try:
            yield uploads
        finally:
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()


def _team_and_round(**round_fields):
    contest = factories.competition(state="submission")
    factories.track(contest)
    team = factories.team(contest, state="approved", members=1)
    round_ = factories.round_(contest, **round_fields)
    organizer = factories.user()
    slots = {slot.code: slot for slot in services.add_standard_slots(round_, actor=organizer)}
    db.session.commit()
    return team, round_, slots


def _mp4(size: int, seed: int) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + random.Random(seed).randbytes(size - 24)


def _upload(round_, team, slot, data: bytes, name: str):
    from competition.core.time import utcnow

    now = utcnow()
    return services.upload(round_, team, slot, actor=team.leader, stream=io.BytesIO(data), filename=name,
                           started_at=now, now=now)  # fmt: skip


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


def test_a_full_disk_refuses_the_upload_and_keeps_the_previous_version(app, database_url, tmp_path):
    with _app_with_small_disk(database_url, tmp_path / "instance") as uploads:
        team, round_, slots = _team_and_round()
        first_data = _mp4(1 * MB, seed=1)
        first = _upload(round_, team, slots["video"], first_data, "路演视频.mp4")
        db.session.commit()
        first_path = storage.path_for(first.storage_key)
        assert uploads in first_path.parents and first_path.read_bytes() == first_data

        with pytest.raises(DomainError) as refused:
            _upload(round_, team, slots["video"], _mp4(3 * MB, seed=2), "路演视频-终版.mp4")
        db.session.rollback()
        assert str(refused.value.message) == FULL_MESSAGE
        assert refused.value.field == "file"

        # the previous version: its file and its row, untouched and still current
        assert hashlib.sha256(first_path.read_bytes()).hexdigest() == first.sha256
        assert db.session.scalar(select(func.count(SubmissionFile.id))) == 1
        submission = db.session.scalar(select(Submission))
        assert [item.id for item in submission.current_files(slots["video"])] == [first.id]
        # nothing half-written, no new row
        assert list(uploads.rglob("*.part")) == []
        assert _files(uploads) == {first_path}


def test_a_full_disk_while_making_the_blind_copy_refuses_and_removes_the_original(app, database_url, tmp_path):
    with _app_with_small_disk(database_url, tmp_path / "instance") as uploads:
        team, round_, slots = _team_and_round(blind=True)
        plan = pdf_bytes(padding=1100 * 1024)  # fits once, not twice (original and copy)
        with pytest.raises(DomainError) as refused:
            _upload(round_, team, slots["plan"], plan, "商业计划书.pdf")
        db.session.rollback()
        assert str(refused.value.message) == FULL_MESSAGE
        assert _files(uploads) == set()
        assert db.session.scalar(select(func.count(SubmissionFile.id))) == 0
