"""The ZIP of every material of a round: a background job, its progress page and its download."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import time
import zipfile
from urllib.parse import quote

import pytest
from sqlalchemy import select

from competition.core import jobs
from competition.core.jobs import Job, JobState
from competition.extensions import db
from competition.submissions import archive, services
from competition.submissions.models import SubmissionFile
from tests import factories
from tests.submissions import MP4, pdf_bytes
from tests.submissions.test_organizer_views import BEFORE, base_url, hand_in, make_world, sign_in, team_of, upload


@pytest.fixture
def world(app, smtp_server):
    """Two teams in two institutions with versions, clashing names, a video and a link. Handing in
    mails the members a receipt: to a real local SMTP server, for the tests that run the jobs."""
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    world = make_world()
    first = team_of(world, name="星火团队")
    second = team_of(world, name="=1+1", institution=world.cqu)
    db.session.commit()
    upload(world, first, world.plan, name="计划书.pdf")  # an older version: not in the archive
    services.add_link(
        world.round,
        first,
        world.video,
        actor=first.leader,
        url="https://v.example.com/1",
        started_at=BEFORE,
        now=BEFORE,
    )
    hand_in(world, first)  # uploads the current 商业计划书.pdf
    upload(world, second, world.plan, name="计划书.pdf")
    upload(world, second, world.attachments, name="附件.pdf")
    upload(world, second, world.attachments, name="附件.pdf")
    removed = upload(world, second, world.attachments, name="删除的.pdf")
    services.remove_file(removed, actor=second.leader, now=BEFORE)
    upload(world, second, world.video, name="路演视频.mp4", data=MP4)
    return world


def _current_files(world) -> list[SubmissionFile]:
    rows = db.session.scalars(select(SubmissionFile).where(SubmissionFile.removed_at.is_(None))).all()
    latest_plan = {}
    for item in rows:
        if item.slot_id == world.plan.id:
            latest_plan[item.submission_id] = item
    return [item for item in rows if item.slot_id != world.plan.id and not item.is_link] + list(latest_plan.values())


def _make_archive(client, world) -> str:
    response = client.post(f"{base_url(world)}/materials.zip")
    assert response.status_code == 302
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert response.headers["Location"].endswith(f"/jobs/{job_id}")
    return job_id


def test_the_archive_holds_every_current_file_with_a_manifest(client, world, run_jobs_inline, monkeypatch):
    reported = []
    original = jobs.JobContext.progress
    monkeypatch.setattr(archive, "PROGRESS_EVERY_FILES", 2)
    monkeypatch.setattr(
        jobs.JobContext,
        "progress",
        lambda self, percent, message=None: (reported.append(percent), original(self, percent, message)),
    )
    sign_in(client, world.organizer)
    job_id = _make_archive(client, world)
    row = db.session.get(Job, job_id)
    assert (row.state, row.progress, row.created_by_id, row.args) == (
        JobState.FINISHED,
        100,
        world.organizer.id,
        {"round_id": world.round.id},
    )
    assert reported and reported == sorted(reported) and all(0 <= percent < 100 for percent in reported)
    path = archive.archive_path(job_id)
    assert path.is_file() and not path.with_name(path.name + ".part").exists()

    with zipfile.ZipFile(path) as zipped:
        names = zipped.namelist()
        assert sorted(names) == sorted(
            [
                "四川大学/星火团队/商业计划书/商业计划书.pdf",
                "重庆大学/=1+1/商业计划书/计划书.pdf",
                "重庆大学/=1+1/其他附件/附件.pdf",
                "重庆大学/=1+1/其他附件/附件 (2).pdf",
                "重庆大学/=1+1/项目视频/路演视频.mp4",
                "manifest.csv",
            ]
        )
        stored = {item.sha256 for item in _current_files(world)}
        inside = {hashlib.sha256(zipped.read(name)).hexdigest() for name in names if name != "manifest.csv"}
        assert inside == stored and len(stored) == 5
        manifest = zipped.read("manifest.csv").decode("utf-8")
    assert manifest.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(manifest.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "学校 Institution" and "SHA-256" in header
    assert len(body) == 6  # five files and the link
    by_path = {row[6]: row for row in body}
    with zipfile.ZipFile(path) as zipped:
        for name in names:
            if name != "manifest.csv":
                assert by_path[name][8] == hashlib.sha256(zipped.read(name)).hexdigest()
                assert by_path[name][-1] == archive.CHECK_OK
    link = next(row for row in body if row[10])
    assert link[10] == "https://v.example.com/1" and link[1] == "星火团队"
    assert "'=1+1" in [row[1] for row in body]  # a CSV cell never starts like a formula


def test_the_download_is_for_organizers_only(client, world, run_jobs_inline, login_as):
    sign_in(client, world.organizer)
    job_id = _make_archive(client, world)
    url = f"{base_url(world)}/jobs/{job_id}/download"
    page = client.get(f"{base_url(world)}/jobs/{job_id}").get_data(as_text=True)
    assert "The archive is ready." in page and url in page and 'http-equiv="refresh"' not in page
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert quote("SUB-校赛_初赛-作品材料.zip") in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert zipfile.ZipFile(io.BytesIO(response.data)).testzip() is None
    response.close()

    login_as("student", competition=world.contest)
    assert client.get(url).status_code == 404
    assert client.get(f"{base_url(world)}/jobs/{job_id}").status_code == 404
    person = factories.user(institution=world.scu)
    factories.grant(person, world.contest, "institution_organizer", world.scu)
    db.session.commit()
    sign_in(client, person)
    assert client.get(url).status_code == 404
    # another round's URL, a job of another kind, a made-up id
    sign_in(client, world.organizer)
    other = factories.round_(world.contest, position=2, name_zh="决赛")
    mail_job = Job(name="mail.deliver", args={"round_id": world.round.id}, state=JobState.FINISHED)
    db.session.add(mail_job)
    db.session.commit()
    assert client.get(f"/competitions/SUB/rounds/{other.id}/jobs/{job_id}/download").status_code == 404
    assert client.get(f"{base_url(world)}/jobs/{mail_job.id}/download").status_code == 404
    assert client.get(f"{base_url(world)}/jobs/{'0' * 32}").status_code == 404
    assert client.get(f"{base_url(world)}/jobs/..%2F..%2Fconfig/download").status_code == 404


def test_the_job_page_refreshes_itself_while_the_archive_is_made(client, world):
    sign_in(client, world.organizer)
    job_id = _make_archive(client, world)  # the deferred backend: the job waits
    page = client.get(f"{base_url(world)}/jobs/{job_id}").get_data(as_text=True)
    # reloaded by a small static script (no meta refresh, which axe counts as critical; no inline script)
    assert 'data-reload-after="2000"' in page and "js/reload-while-running.js" in page
    assert '<progress class="w-100" value="0" max="100"' in page and "<script>" not in page.split("</main>")[0]
    # one link stops the refreshing (it disturbs screen readers)
    quiet = client.get(f"{base_url(world)}/jobs/{job_id}?refresh=off").get_data(as_text=True)
    assert "data-reload-after" not in quiet and "Refresh automatically" in quiet
    response = client.get(f"{base_url(world)}/jobs/{job_id}/download", follow_redirects=True)
    assert "not ready yet" in response.get_data(as_text=True)
    jobs.execute(job_id)
    page = client.get(f"{base_url(world)}/jobs/{job_id}").get_data(as_text=True)
    assert "data-reload-after" not in page and "/download" in page
    overview = client.get(f"{base_url(world)}/submissions").get_data(as_text=True)
    assert f"/jobs/{job_id}" in overview  # listed among the recent archives


def test_a_failed_archive_says_why_in_plain_words(client, world, app, monkeypatch):
    app.config["JOBS_RAISE_ERRORS"] = False
    sign_in(client, world.organizer)

    def disk_full(target, entries, report=None):
        target.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive, "write_archive", disk_full)
    job_id = _make_archive(client, world)
    jobs.run_pending_jobs()
    row = db.session.get(Job, job_id)
    assert row.state == JobState.FAILED and row.error == "ArchiveError: disk_full"
    assert not list(archive.exports_root().glob(f"{job_id}*"))  # the .part file is gone
    page = client.get(f"{base_url(world)}/jobs/{job_id}").get_data(as_text=True)
    assert "The archive could not be made." in page and "disk is full" in page
    assert client.get(f"{base_url(world)}/jobs/{job_id}/download").status_code == 302

    monkeypatch.setattr(archive, "write_archive", lambda *args, **kwargs: 1 / 0)
    job_id = _make_archive(client, world)
    jobs.run_pending_jobs()
    page = client.get(f"{base_url(world)}/jobs/{job_id}").get_data(as_text=True)
    assert "tell the platform" in page and "ZeroDivisionError" in page


def test_a_missing_stored_file_is_listed_and_the_rest_archived(client, world, run_jobs_inline):
    gone = db.session.scalar(select(SubmissionFile).where(SubmissionFile.original_name == "路演视频.mp4"))
    os.remove(archive.storage.path_for(gone.storage_key))
    sign_in(client, world.organizer)
    job_id = _make_archive(client, world)
    assert db.session.get(Job, job_id).state == JobState.FINISHED
    with zipfile.ZipFile(archive.archive_path(job_id)) as zipped:
        assert not any(name.endswith(".mp4") for name in zipped.namelist())
        manifest = zipped.read("manifest.csv").decode("utf-8")
    row = next(row for row in csv.reader(io.StringIO(manifest.lstrip("\ufeff"))) if row[5] == "路演视频.mp4")
    assert (row[6], row[-1]) == ("", archive.CHECK_MISSING)


def test_old_archives_are_removed_when_a_new_one_is_made(client, world, run_jobs_inline):
    root = archive.exports_root()
    root.mkdir(parents=True, exist_ok=True)
    old = root / f"{'a' * 32}.zip"
    old.write_bytes(b"old")
    week_ago = time.time() - (archive.ARCHIVE_KEEP_DAYS * 24 + 1) * 3600
    os.utime(old, (week_ago, week_ago))
    sign_in(client, world.organizer)
    job_id = _make_archive(client, world)
    assert not old.exists() and archive.archive_path(job_id).is_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("计划书.pdf", "计划书.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a\\b:c*d?.pdf", "a_b_c_d_.pdf"),
        ("  .hidden  ", "hidden"),
        ("\x00\x07", "__"),
        ("", "_"),
        ("长" * 100 + ".pdf", "长" * 76 + ".pdf"),
    ],
)
def test_names_inside_the_archive_stay_inside_their_folder(text, expected):
    assert archive.component(text) == expected


def test_a_job_id_that_is_not_one_never_names_a_path(app):
    for forged in ("../x", "a" * 31, "A" * 32, ""):
        with pytest.raises(ValueError):
            archive.archive_path(forged)


def test_names_that_clash_are_numbered():
    names = archive._Names()
    entry = archive.Entry("学校", "团队", "赛道", "已提交", "附件", "A.pdf", "k", None, 1, None, BEFORE)
    lower = archive.Entry("学校", "团队", "赛道", "已提交", "附件", "a.pdf", "k", None, 1, None, BEFORE)
    manifest = archive.Entry("学校", "团队", "赛道", "已提交", "附件", "manifest.csv", "k", None, 1, None, BEFORE)
    assert [names.path_for(item) for item in (entry, lower, entry, manifest)] == [
        "学校/团队/附件/A.pdf",
        "学校/团队/附件/a (2).pdf",
        "学校/团队/附件/A (3).pdf",
        "学校/团队/附件/manifest.csv",
    ]


def test_pdf_helper_makes_distinct_files():
    assert pdf_bytes() != pdf_bytes()
