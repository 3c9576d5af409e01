"""Every material of a round in one ZIP, built by a background job ("submissions.archive").

The job streams the current version of every file of every submission of the round into
`instance/exports/<job id>.zip`: one folder per institution, a folder per team inside it and one
per material inside that, each file under the name the team gave it (made unique when two clash).
`manifest.csv` lists every file with its SHA-256 read while copying, compared with the one recorded
at upload, and every link. The archive is written to a `.part` file renamed when complete, so a
download never gets half an archive; archives older than ARCHIVE_KEEP_DAYS are removed when a new
one is made.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import re
import time
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from competition.competitions.models import Track
from competition.core import jobs, storage
from competition.core.spreadsheets import csv_cell
from competition.core.time import to_local, utcnow
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds.models import Round
from competition.submissions.models import SUBMISSION_STATE_LABELS, MaterialSlot, Submission, SubmissionFile
from competition.teams.models import Team

JOB_NAME = "submissions.archive"
ARCHIVE_KEEP_DAYS = 7
#: report progress after this many files, or this many bytes, whichever comes first
PROGRESS_EVERY_FILES = 5
PROGRESS_EVERY_BYTES = 64 * 1024 * 1024
MANIFEST_NAME = "manifest.csv"
_COMPONENT_MAX = 80
_FORBIDDEN = set('/\\:*?"<>|')
_JOB_ID = re.compile(r"[0-9a-f]{32}")


class ArchiveError(Exception):
    """A reason the archive could not be made, stored on the job row by its code."""


#: what the job page says for each ArchiveError code
ERROR_MESSAGES = {
    "round_gone": _l("The round no longer exists."),
    "disk_full": _l(
        "The server's disk is full, so the archive could not be written. Please ask the administrator to free space, "
        "then make the archive again."
    ),
}


def plain_error(error: str | None) -> str | None:
    """The job row's error in words for the organizer (None when it names no known reason)."""
    if error and error.startswith(f"{ArchiveError.__name__}: "):
        message = ERROR_MESSAGES.get(error.split(": ", 1)[1])
        return str(message) if message is not None else None
    return None


def exports_root() -> Path:
    """Beside the uploads, in DATA_DIR: an archive a worker built is downloaded from any app host."""
    return storage.data_root() / "exports"


def archive_path(job_id: str) -> Path:
    """Where the archive of a job is; job ids are generated, but a forged one never leaves the folder."""
    if not _JOB_ID.fullmatch(job_id or ""):
        raise ValueError("not a job id")
    return exports_root() / f"{job_id}.zip"


def component(text: str | None, fallback: str = "_") -> str:
    """One folder or file name: no separators, control or reserved characters, not hidden, not too long."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join("_" if char in _FORBIDDEN or unicodedata.category(char)[0] == "C" else char for char in text)
    text = text.strip().strip(".").strip()
    if len(text) > _COMPONENT_MAX:
        stem, dot, suffix = text.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            text = stem[: _COMPONENT_MAX - len(suffix) - 1].rstrip() + "." + suffix
        else:
            text = text[:_COMPONENT_MAX].rstrip()
    return text or fallback


def download_name(round_: Round) -> str:
    return f"{component(round_.competition.code)}-{component(round_.name_zh)}-作品材料.zip"


@dataclass(frozen=True)
class Entry:
    """One current file or link, read from the database before anything is written."""

    institution: str
    team: str
    track: str
    state: str
    material: str
    original_name: str
    storage_key: str | None
    link_url: str | None
    size: int
    sha256: str | None
    uploaded_at: datetime


def entries_of(round_: Round) -> list[Entry]:
    """The current files and links of every submission of the round, by institution, team and material."""
    rows = db.session.execute(
        select(SubmissionFile, Submission.state, Team.name, Institution.name_zh, Track.name_zh, MaterialSlot)
        .join(Submission, Submission.id == SubmissionFile.submission_id)
        .join(Team, Team.id == Submission.team_id)
        .join(Institution, Institution.id == Team.institution_id)
        .join(Track, Track.id == Team.track_id)
        .join(MaterialSlot, MaterialSlot.id == SubmissionFile.slot_id)
        # files deleted under the retention policy (competition.privacy.retention) have nothing to copy
        .where(
            Submission.round_id == round_.id, SubmissionFile.removed_at.is_(None), SubmissionFile.purged_at.is_(None)
        )
        .order_by(Institution.code, Team.name, Team.id, MaterialSlot.position, MaterialSlot.id, SubmissionFile.id)
    ).all()
    grouped: dict[tuple[int, int], list[Entry]] = defaultdict(list)
    for item, state, team, institution, track, slot in rows:
        entry = Entry(
            institution=institution,
            team=team,
            track=track,
            state=str(SUBMISSION_STATE_LABELS.get(state, state)),
            material=slot.label_zh,
            original_name=item.original_name,
            storage_key=item.storage_key,
            link_url=item.link_url,
            size=item.size or 0,
            sha256=item.sha256,
            uploaded_at=item.uploaded_at,
        )
        group = grouped[(item.submission_id, slot.id)]
        if slot.max_files == 1:
            group[:] = [entry]  # the newest version of a single document
        else:
            group.append(entry)
    return [entry for group in grouped.values() for entry in group]


class _Names:
    """Unique paths inside the archive: "计划书.pdf", then "计划书 (2).pdf" (case-insensitively)."""

    def __init__(self):
        self.used = {MANIFEST_NAME.lower()}

    def path_for(self, entry: Entry) -> str:
        folder = "/".join(component(part) for part in (entry.institution, entry.team, entry.material))
        name = component(entry.original_name, fallback="file")
        stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
        candidate, number = f"{folder}/{name}", 1
        while candidate.lower() in self.used:
            number += 1
            candidate = f"{folder}/{stem} ({number}){suffix}"
        self.used.add(candidate.lower())
        return candidate


MANIFEST_HEADER = [
    "学校 Institution",
    "团队 Team",
    "赛道 Track",
    "作品状态 Submission state",
    "材料 Material",
    "原文件名 Original name",
    "压缩包内路径 Path in archive",
    "大小（字节） Size (bytes)",
    "SHA-256",
    "上传时间（北京时间） Uploaded (Beijing time)",
    "链接 Link",
    "校验 Check",
]
CHECK_OK = "一致 ok"
CHECK_MISMATCH = "不一致 differs from upload"
CHECK_MISSING = "文件缺失 file missing"


def _zip_time(value: datetime) -> tuple[int, int, int, int, int, int]:
    local = to_local(value)
    return max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second


def _copy_into(archive: zipfile.ZipFile, entry: Entry, path: str) -> tuple[str | None, int]:
    """Stream one stored file into the archive; (its SHA-256, its size), or (None, 0) when it is missing."""
    try:
        source = storage.path_for(entry.storage_key)
        handle = source.open("rb")
    except (OSError, ValueError):
        return None, 0
    info = zipfile.ZipInfo(path, date_time=_zip_time(entry.uploaded_at))
    info.compress_type = zipfile.ZIP_STORED  # documents and videos are compressed already
    info.file_size = entry.size  # lets zipfile choose ZIP64 up front for large videos
    digest, size = hashlib.sha256(), 0
    with handle, archive.open(info, "w") as target:
        while chunk := handle.read(storage.CHUNK):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    return digest.hexdigest(), size


def write_archive(target: Path, entries: list[Entry], report=None) -> None:
    """Write the ZIP of `entries` to `target`; `report(done_bytes, total_bytes, done_files, total_files)`
    is called every few files."""
    files = [entry for entry in entries if entry.storage_key]
    total_bytes = sum(entry.size for entry in files) or 1
    names = _Names()
    manifest = io.StringIO()
    writer = csv.writer(manifest, lineterminator="\r\n")
    writer.writerow(MANIFEST_HEADER)
    done_bytes = since_files = since_bytes = done_files = 0
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for entry in entries:
            uploaded = to_local(entry.uploaded_at).strftime("%Y-%m-%d %H:%M:%S")
            head = [entry.institution, entry.team, entry.track, entry.state, entry.material, entry.original_name]
            if entry.link_url:
                writer.writerow([csv_cell(value) for value in (*head, "", "", "", uploaded, entry.link_url, "")])
                continue
            path = names.path_for(entry)
            sha256, size = _copy_into(archive, entry, path)
            if sha256 is None:
                check, path = CHECK_MISSING, ""
            else:
                check = CHECK_OK if sha256 == entry.sha256 else CHECK_MISMATCH
            row = (*head, path, size if sha256 else "", sha256 or "", uploaded, "", check)
            writer.writerow([csv_cell(value) for value in row])
            done_files += 1
            since_files += 1
            done_bytes += entry.size
            since_bytes += entry.size
            if report is not None and (since_files >= PROGRESS_EVERY_FILES or since_bytes >= PROGRESS_EVERY_BYTES):
                report(done_bytes, total_bytes, done_files, len(files))
                since_files = since_bytes = 0
        # with a byte-order mark, so Excel opens the Chinese text correctly
        archive.writestr(
            zipfile.ZipInfo(MANIFEST_NAME, date_time=_zip_time(utcnow())),
            ("\ufeff" + manifest.getvalue()).encode("utf-8"),
            compress_type=zipfile.ZIP_DEFLATED,
        )


def remove_old_archives(now: float | None = None) -> None:
    """Archives are large and easy to make again: those older than ARCHIVE_KEEP_DAYS go."""
    cutoff = (now or time.time()) - ARCHIVE_KEEP_DAYS * 24 * 3600
    root = exports_root()
    if not root.is_dir():
        return
    for path in root.glob("*.zip*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:  # another worker removed it, or it is in use: harmless
            continue


@jobs.job(JOB_NAME)
def build_archive(ctx: jobs.JobContext, *, round_id: int) -> None:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise ArchiveError("round_gone")
    entries = entries_of(round_)
    remove_old_archives()
    final = archive_path(ctx.job_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".part")

    def report(done_bytes: int, total_bytes: int, done_files: int, total_files: int) -> None:
        ctx.progress(min(99, done_bytes * 100 // total_bytes), message=f"{done_files}/{total_files}")

    try:
        write_archive(partial, entries, report)
        partial.replace(final)
    except OSError as error:
        partial.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ArchiveError("disk_full") from error
        raise
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
