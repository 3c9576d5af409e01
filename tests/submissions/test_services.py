"""Submission services without HTTP: deadlines by the server clock, extensions, file types read from
the bytes, the PDF policy, versions, names that never reach the disk, links, the abstract, handing
in and reopening, copies for blind rounds, and two members uploading at once."""

from __future__ import annotations

import hashlib
import inspect
import io
import re
import threading
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.core import storage
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db
from competition.rounds.models import Round
from competition.submissions import blind, services
from competition.submissions.models import Extension, MaterialSlot, Submission, SubmissionFile
from competition.teams.models import Team
from tests import factories
from tests.submissions import (
    AUTHOR,
    EDITOR,
    HTML,
    MANAGER,
    MP4,
    SHELL,
    SVG,
    UNIVERSITY,
    office_bytes,
    office_entries,
    pdf_bytes,
    zip_bytes,
)

pytestmark = pytest.mark.usefixtures("english")

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
#: 23:59:59 Beijing time on 30 June
DEADLINE = datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
PDF = pdf_bytes()


@dataclass
class World:
    contest: object
    team: Team
    round: Round
    slots: dict[str, MaterialSlot]
    leader: User
    member: User
    organizer: User


def _world(*, blind_round: bool = False, deadline: datetime | None = DEADLINE, **round_fields) -> World:
    contest = factories.competition(state="submission")
    factories.track(contest)
    team = factories.team(contest, state="approved", members=1)
    round_ = factories.round_(contest, submission_deadline=deadline, blind=blind_round, **round_fields)
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    slots = {slot.code: slot for slot in services.add_standard_slots(round_, actor=organizer)}
    db.session.commit()
    member = next(item.user for item in team.members if item.user_id != team.leader_id)
    return World(contest, team, round_, slots, team.leader, member, organizer)


def _upload(
    world: World,
    code: str,
    data: bytes,
    *,
    name: str = "商业计划书.pdf",
    at: datetime = NOW,
    started_at: datetime | None = None,
    team: Team | None = None,
    actor: User | None = None,
) -> SubmissionFile:
    return services.upload(
        world.round,
        team or world.team,
        world.slots[code],
        actor=actor or world.leader,
        stream=io.BytesIO(data),
        filename=name,
        started_at=started_at or at,
        now=at,
    )


def _refused(action, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as caught:
        action(*args, **kwargs)
    db.session.rollback()
    return str(caught.value.message)


def _stored_files() -> set[Path]:
    return {path for path in storage.upload_root().rglob("*") if path.is_file()}


def _file_rows() -> int:
    return db.session.scalar(select(func.count(SubmissionFile.id)))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- deadlines: the server's clock ----------------------------------------------------------------


def test_an_upload_begun_a_second_before_the_deadline_is_accepted():
    world = _world()
    item = _upload(world, "plan", PDF, at=DEADLINE - SECOND)
    assert item.upload_started_at == DEADLINE - SECOND


def test_an_upload_begun_a_second_after_the_deadline_is_refused_and_nothing_is_stored():
    world = _world()
    before = _stored_files()
    message = _refused(_upload, world, "plan", PDF, at=DEADLINE + SECOND)
    assert "The deadline was" in message and "Beijing time" in message
    assert _stored_files() == before
    assert _file_rows() == 0


def test_an_upload_begun_before_the_deadline_may_end_within_the_grace_period(app):
    assert app.config["SUBMISSION_GRACE_MINUTES"] == 15
    world = _world()
    began = DEADLINE - 3 * MINUTE
    item = _upload(world, "plan", PDF, started_at=began, at=DEADLINE + 14 * MINUTE)
    assert (item.upload_started_at, item.uploaded_at) == (began, DEADLINE + 14 * MINUTE)
    message = _refused(_upload, world, "plan", PDF, started_at=began, at=DEADLINE + 16 * MINUTE)
    assert "more than 15 minutes" in message


def test_a_team_whose_upload_ended_in_the_grace_period_may_still_hand_in_then(app):
    world = _world()
    services.save_details(world.round, world.team, actor=world.leader, abstract="摘要", keywords="", industry="",
                          stage=None, now=DEADLINE - MINUTE)  # fmt: skip
    _upload(world, "plan", PDF, started_at=DEADLINE - MINUTE, at=DEADLINE + 5 * MINUTE)
    submission = services.submit(world.round, world.team, actor=world.leader, now=DEADLINE + 6 * MINUTE)
    assert submission.is_submitted


def test_without_an_upload_on_its_way_handing_in_ends_at_the_deadline(app):
    world = _world()
    services.save_details(world.round, world.team, actor=world.leader, abstract="摘要", keywords="", industry="",
                          stage=None, now=DEADLINE - MINUTE)  # fmt: skip
    _upload(world, "plan", PDF, at=DEADLINE - MINUTE)
    message = _refused(services.submit, world.round, world.team, actor=world.leader, now=DEADLINE + MINUTE)
    assert "The deadline was" in message


def test_the_grace_period_is_a_setting(app):
    app.config["SUBMISSION_GRACE_MINUTES"] = 5
    world = _world()
    message = _refused(_upload, world, "plan", PDF, started_at=DEADLINE - MINUTE, at=DEADLINE + 6 * MINUTE)
    assert "more than 5 minutes" in message


def test_nothing_is_accepted_before_submissions_open():
    world = _world(submission_opens_at=NOW + timedelta(days=1))
    message = _refused(_upload, world, "plan", PDF)
    assert "open at" in message
    assert "Submissions for" in _refused(
        services.save_details, world.round, world.team, actor=world.leader, abstract="摘要", keywords="",
        industry="", stage=None, now=NOW,
    )  # fmt: skip
    _upload(world, "plan", PDF, at=NOW + timedelta(days=1))  # open now


def test_the_round_falls_back_to_the_competitions_deadline():
    world = _world(deadline=None)
    world.contest.submission_deadline = DEADLINE
    db.session.commit()
    assert "The deadline was" in _refused(_upload, world, "plan", PDF, at=DEADLINE + SECOND)


def test_times_come_from_the_server_never_from_the_team():
    """A team cannot forge the time of its upload: the services take `started_at` and `now` from
    the caller, which is the view — it passes `competition.core.web.request_started_at()` (the
    moment the request reached the app, recorded before its body is read; a trusted proxy's
    X-Request-Start only when TRUSTED_PROXIES is set) and `utcnow()`, never a time sent by the
    browser or written in the file. The file's own dates (here XMP dates long before the deadline)
    play no part."""
    parameters = inspect.signature(services.upload).parameters
    times = {name for name, parameter in parameters.items() if parameter.annotation in ("datetime", datetime)}
    assert times == {"started_at", "now"}
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in times)

    import pikepdf

    pdf = pikepdf.open(io.BytesIO(PDF))
    with pdf.open_metadata() as meta:
        meta["xmp:CreateDate"] = "2026-01-01T00:00:00+08:00"
        meta["xmp:ModifyDate"] = "2026-01-02T00:00:00+08:00"
    buffer = io.BytesIO()
    pdf.save(buffer)
    world = _world()
    assert "The deadline was" in _refused(_upload, world, "plan", buffer.getvalue(), at=DEADLINE + MINUTE)


# --- extensions -----------------------------------------------------------------------------------


def _extend(world: World, until: datetime, *, team: Team | None = None, reason: str = "停电", now: datetime = NOW):
    return services.grant_extension(
        world.round, team or world.team, actor=world.organizer, until=until, reason=reason, now=now
    )


def test_an_extended_team_uploads_after_the_deadline_and_the_others_do_not():
    world = _world()
    other = factories.team(world.contest, state="approved", members=0)
    _extend(world, DEADLINE + timedelta(days=2))
    db.session.commit()
    late = DEADLINE + timedelta(days=1)
    item = _upload(world, "plan", PDF, at=late)
    assert item.uploaded_at == late
    db.session.commit()
    assert "The deadline was" in _refused(_upload, world, "plan", PDF, at=late, team=other, actor=other.leader)
    assert "The deadline was" in _refused(_upload, world, "plan", PDF, at=DEADLINE + timedelta(days=2, seconds=1))


def test_an_extension_is_changed_in_place_and_revoked_with_an_audit_trail():
    world = _world()
    first = _extend(world, DEADLINE + timedelta(days=1), reason="停电")
    db.session.commit()
    second = _extend(world, DEADLINE + timedelta(days=3), reason="导师出差")
    db.session.commit()
    assert second.id == first.id
    assert db.session.scalar(select(func.count(Extension.id))) == 1
    assert (second.until, second.reason) == (DEADLINE + timedelta(days=3), "导师出差")
    granted = _audit("submission.extension")
    assert [entry.details["reason"] for entry in granted] == ["停电", "导师出差"]
    assert granted[1].details["old"] == (DEADLINE + timedelta(days=1)).isoformat()
    assert all(entry.actor_id == world.organizer.id for entry in granted)

    _upload(world, "plan", PDF, at=DEADLINE + timedelta(days=2))
    services.revoke_extension(second, actor=world.organizer)
    db.session.commit()
    assert _audit("submission.extension_revoked")[0].details["until"] == (DEADLINE + timedelta(days=3)).isoformat()
    assert "The deadline was" in _refused(_upload, world, "plan", PDF, at=DEADLINE + timedelta(days=2))


@pytest.mark.parametrize(
    ("until", "now", "expected"),
    [
        (NOW - SECOND, NOW, "must end in the future"),
        (DEADLINE + timedelta(days=1), DEADLINE + timedelta(days=2), "must end in the future"),
        (DEADLINE, NOW, "after the round's deadline"),
        (DEADLINE - timedelta(days=1), NOW, "after the round's deadline"),
    ],
    ids=["past", "past-after-the-deadline", "at-the-deadline", "before-the-deadline"],
)
def test_an_extension_must_end_in_the_future_and_after_the_rounds_deadline(until, now, expected):
    world = _world()
    assert expected in _refused(_extend, world, until, now=now)
    assert db.session.scalar(select(func.count(Extension.id))) == 0


def test_an_extension_needs_a_reason_and_a_team_of_the_round():
    world = _world()
    assert "reason" in _refused(_extend, world, DEADLINE + timedelta(days=1), reason="  ")
    outsider = factories.team(world.contest, state="draft", members=0)
    assert "does not take part" in _refused(_extend, world, DEADLINE + timedelta(days=1), team=outsider)


def test_an_extension_never_shortens_a_deadline_moved_later_afterwards():
    world = _world()
    _extend(world, DEADLINE + timedelta(days=1))
    world.round.submission_deadline = DEADLINE + timedelta(days=10)  # everybody gets ten more days
    db.session.commit()
    assert services.deadline_for(world.round, world.team) == DEADLINE + timedelta(days=10)
    _upload(world, "plan", PDF, at=DEADLINE + timedelta(days=5))


# --- what a file is: read from its content --------------------------------------------------------


@pytest.mark.parametrize("data", [HTML, SVG, SHELL], ids=["html", "svg", "shell"])
def test_a_file_named_pdf_that_is_not_a_pdf_is_refused(data):
    world = _world()
    before = _stored_files()
    message = _refused(_upload, world, "plan", data, name="plan.pdf")
    assert "Business plan accepts PDF" in message and "read from its content" in message
    assert _stored_files() == before


def test_a_pdf_html_polyglot_is_stored_and_served_as_a_pdf():
    """It passes as the PDF its first bytes make it; the download view serves `.pdf` keys only as
    application/pdf attachments with nosniff, so its HTML never runs."""
    world = _world()
    item = _upload(world, "plan", PDF + HTML, name="plan.html")
    assert item.kind == "pdf" and item.storage_key.endswith(".pdf")


def test_a_name_without_an_extension_is_detected_from_the_content():
    world = _world()
    item = _upload(world, "plan", PDF, name="计划书")
    assert (item.kind, item.original_name) == ("pdf", "计划书")


def test_office_files_are_told_apart_by_their_content():
    world = _world()
    assert _upload(world, "slides", office_bytes("pptx"), name="路演.docx").kind == "pptx"
    assert "Pitch slides accepts PDF" in _refused(_upload, world, "slides", office_bytes("docx"), name="路演.pptx")
    assert _upload(world, "attachments", office_bytes("docx"), name="附件.pptx").kind == "docx"
    assert _upload(world, "attachments", office_bytes("xlsx"), name="财务.xlsx").kind == "xlsx"
    random_zip = zip_bytes({"data.csv": "a,b\n1,2\n", "readme.txt": "hello"})
    assert "Other attachments accepts" in _refused(_upload, world, "attachments", random_zip, name="数据.docx")
    assert _upload(world, "video", MP4, name="视频.mp4").kind == "mp4"


def test_an_empty_file_is_refused():
    world = _world()
    assert _refused(_upload, world, "plan", b"") == "The file is empty."


def test_a_file_over_the_limit_of_its_material_is_refused_naming_the_limit():
    world = _world()
    world.slots["plan"].max_bytes = 1024 * 1024
    db.session.commit()
    fits = pdf_bytes(padding=1024 * 1024 - 8192)
    assert len(fits) <= 1024 * 1024
    _upload(world, "plan", fits)
    too_big = pdf_bytes(padding=2 * 1024 * 1024)
    assert _refused(_upload, world, "plan", too_big) == "Business plan may be at most 1 MB; this file has 2 MB."


# --- the PDF policy on upload ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (pdf_bytes(password="u"), "protected by a password"),
        (pdf_bytes(open_action="javascript"), "scripts or actions"),
        (pdf_bytes(javascript=True), "scripts or actions"),
    ],
    ids=["encrypted", "open-action", "javascript-name-tree"],
)
def test_pdfs_judges_could_not_open_safely_are_refused(data, expected):
    world = _world()
    before = _stored_files()
    assert expected in _refused(_upload, world, "plan", data)
    assert _stored_files() == before and _file_rows() == 0


def test_a_plain_pdf_is_accepted():
    world = _world()
    assert _upload(world, "plan", PDF).kind == "pdf"


# --- versions and attachments ---------------------------------------------------------------------


def test_every_version_is_kept_and_the_newest_counts():
    world = _world()
    versions = [pdf_bytes(pages=count) for count in (1, 2, 3)]
    items = [_upload(world, "plan", data, at=NOW + index * MINUTE) for index, data in enumerate(versions)]
    db.session.commit()
    submission = services.submission_for(world.round, world.team)
    assert [item.id for item in submission.files] == [item.id for item in items]
    assert submission.current_files(world.slots["plan"]) == [items[-1]]
    for item, data in zip(items, versions, strict=True):
        assert storage.path_for(item.storage_key).read_bytes() == data


def test_attachments_up_to_the_limit_and_the_next_one_is_refused_naming_it():
    world = _world()
    for index in range(5):
        _upload(world, "attachments", pdf_bytes(pages=index + 1), name=f"附件{index + 1}.pdf")
    db.session.commit()
    before = _stored_files()
    message = _refused(_upload, world, "attachments", PDF, name="附件6.pdf")
    assert message == "Other attachments holds at most 5 files; remove one first."
    assert _stored_files() == before


def test_a_removed_attachment_stays_in_the_history_and_frees_its_place():
    world = _world()
    items = [_upload(world, "attachments", pdf_bytes(pages=index + 1), name=f"附件{index}.pdf") for index in range(5)]
    db.session.commit()
    services.remove_file(items[1], actor=world.member, now=NOW + MINUTE)
    db.session.commit()
    submission = services.submission_for(world.round, world.team)
    current = submission.current_files(world.slots["attachments"])
    assert items[1] not in current and len(current) == 4
    assert items[1].removed_at == NOW + MINUTE and storage.path_for(items[1].storage_key).exists()
    assert _file_rows() == 5
    assert _audit("submission.remove_file")[0].details["file_id"] == items[1].id
    _upload(world, "attachments", PDF, name="附件6.pdf")  # the place is free again


def test_removing_the_current_version_of_a_document_empties_its_material():
    """Removing the business plan must not quietly bring back an older version the team replaced."""
    world = _world()
    old = _upload(world, "plan", pdf_bytes(pages=1))
    new = _upload(world, "plan", pdf_bytes(pages=2), at=NOW + MINUTE)
    db.session.commit()
    services.remove_file(new, actor=world.leader, now=NOW + 2 * MINUTE)
    db.session.commit()
    submission = services.submission_for(world.round, world.team)
    assert submission.current_files(world.slots["plan"]) == []
    assert "Business plan" in services.missing_for_submission(world.round, submission)
    assert {item.id for item in submission.files} == {old.id, new.id}  # the history is whole
    assert storage.path_for(old.storage_key).exists() and storage.path_for(new.storage_key).exists()


# --- names never reach the disk -------------------------------------------------------------------


KEY = re.compile(r"^submissions/[0-9a-f]{32}\.pdf$")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("商业计划书.pdf", "商业计划书.pdf"),
        ("../../app/config.py", "config.py"),
        ("..\\..\\win.ini", "win.ini"),
        ("%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
        ("plan\x00.pdf.exe", "plan.pdf.exe"),
        ("\x1b[31m红色\x07计划\u202etxt.pdf", "[31m红色计划txt.pdf"),
        ("/etc/passwd", "passwd"),
        ("", ""),
    ],
    ids=["chinese", "dot-dot-slash", "backslashes", "percent-encoded", "nul", "control-and-bidi", "absolute", "empty"],
)
def test_names_are_kept_for_display_and_never_reach_the_storage_key(app, name, shown):
    world = _world()
    item = _upload(world, "plan", PDF, name=name)
    assert item.original_name == shown
    assert KEY.match(item.storage_key), item.storage_key
    root = storage.upload_root().resolve()
    assert root == (Path(app.instance_path) / "uploads").resolve()
    path = storage.path_for(item.storage_key)
    assert root in path.parents and path.is_file()
    generated = item.storage_key.removesuffix(".pdf")  # the suffix comes from the content
    for part in re.split(r"[/\\.\x00%]+", name):
        if re.search(r"[^0-9a-f]", part):  # a part of hex digits alone could match a random key by chance
            assert part not in generated
    assert not (Path(storage.upload_root()).parent.parent / "app" / "config.py").exists()


def test_two_teams_uploading_the_same_name_get_two_blobs():
    world = _world()
    other = factories.team(world.contest, state="approved", members=0)
    ours, theirs = pdf_bytes(pages=1), pdf_bytes(pages=2)
    first = _upload(world, "plan", ours)
    second = _upload(world, "plan", theirs, team=other, actor=other.leader)
    db.session.commit()
    assert first.original_name == second.original_name == "商业计划书.pdf"
    assert first.storage_key != second.storage_key
    assert storage.path_for(first.storage_key).read_bytes() == ours
    assert storage.path_for(second.storage_key).read_bytes() == theirs


def test_the_stored_size_and_hash_are_those_of_the_bytes():
    world = _world()
    data = pdf_bytes(padding=300_000)
    item = _upload(world, "plan", data)
    assert (item.size, item.sha256) == (len(data), _sha256(data))
    on_disk = storage.path_for(item.storage_key).read_bytes()
    assert (len(on_disk), _sha256(on_disk)) == (item.size, item.sha256)
    entry = _audit("submission.upload")[0]
    assert (entry.details["sha256"], entry.details["size"], entry.actor_id) == (item.sha256, item.size, world.leader.id)


# --- links ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/video",
        "http://127.0.0.1:6379/",
        "http://localhost/",
        "http://localhost./",
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://127.1/",
        "http://2130706433/",
        "http://intranet/",
        "ftp://www.bilibili.com/video",
        "https://",
        "",
        "https://www.bilibili.com/" + "a" * 500,
    ],
)
def test_only_links_to_public_websites_are_accepted(url):
    world = _world()
    message = _refused(
        services.add_link, world.round, world.team, world.slots["video"], actor=world.leader, url=url,
        started_at=NOW, now=NOW,
    )  # fmt: skip
    assert message == "Please enter an http:// or https:// link to a public website."
    assert _file_rows() == 0


def test_a_video_link_is_accepted_where_the_material_allows_links():
    world = _world()
    item = services.add_link(
        world.round, world.team, world.slots["video"], actor=world.leader,
        url="  https://www.bilibili.com/video/BV1xx  ", started_at=NOW, now=NOW,
    )  # fmt: skip
    assert (item.link_url, item.storage_key, item.is_link) == ("https://www.bilibili.com/video/BV1xx", None, True)
    assert "must be uploaded as a file" in _refused(
        services.add_link, world.round, world.team, world.slots["plan"], actor=world.leader,
        url="https://www.bilibili.com/video/BV1xx", started_at=NOW, now=NOW,
    )  # fmt: skip


# --- the abstract, counted in characters ----------------------------------------------------------


def _details(world: World, abstract: str) -> Submission:
    return services.save_details(
        world.round, world.team, actor=world.leader, abstract=abstract, keywords="乡村 振兴", industry="农业",
        stage="idea", now=NOW,
    )  # fmt: skip


def test_the_abstract_is_counted_in_characters_not_bytes():
    world = _world()
    assert world.round.abstract_max_chars == 800
    assert _details(world, "创" * 800).abstract == "创" * 800  # 2400 bytes in UTF-8
    assert _refused(_details, world, "创" * 801) == "The abstract may have at most 800 characters; it has 801."


def test_a_line_break_from_a_browser_counts_once():
    assert services.count_characters("第一行\r\n第二行") == 7
    world = _world()
    abstract = "创" * 399 + "\r\n" + "新" * 400
    assert services.count_characters(abstract) == 800
    assert _details(world, abstract).abstract == "创" * 399 + "\n" + "新" * 400


def test_a_character_outside_the_basic_plane_counts_once():
    assert services.count_characters("𠮷") == 1
    world = _world()
    assert _details(world, "𠮷" * 800).abstract == "𠮷" * 800
    assert "it has 801" in _refused(_details, world, "𠮷" * 801)


# --- handing in and reopening ---------------------------------------------------------------------


def _submit(world: World, at: datetime = NOW):
    return services.submit(world.round, world.team, actor=world.leader, now=at)


def test_handing_in_is_refused_while_something_required_is_missing():
    world = _world()
    assert _refused(_submit, world) == "Still missing before handing in: Business plan、Abstract."
    _details(world, "项目摘要")
    db.session.commit()
    assert _refused(_submit, world) == "Still missing before handing in: Business plan."
    _upload(world, "attachments", PDF)  # not what is missing
    db.session.commit()
    assert _refused(_submit, world) == "Still missing before handing in: Business plan."
    _upload(world, "plan", PDF)
    submission = _submit(world)
    assert (submission.state, submission.submitted_at) == ("submitted", NOW)
    assert submission.submitted_by_id == world.leader.id


def test_after_handing_in_nothing_is_accepted_and_nothing_stored():
    world = _world()
    _details(world, "项目摘要")
    _upload(world, "plan", PDF)
    _submit(world)
    db.session.commit()
    before, rows = _stored_files(), _file_rows()
    for action in (
        lambda: _upload(world, "plan", pdf_bytes(pages=2), at=NOW + MINUTE),
        lambda: _upload(world, "attachments", PDF, at=NOW + MINUTE),
        lambda: _details(world, "改过的摘要"),
    ):
        assert "handed in and is locked" in _refused(action)
    assert _stored_files() == before and _file_rows() == rows
    assert services.submission_for(world.round, world.team).abstract == "项目摘要"


def test_reopening_needs_a_reason_and_is_audited():
    world = _world()
    _details(world, "项目摘要")
    _upload(world, "plan", PDF)
    submission = _submit(world)
    db.session.commit()
    assert _refused(services.reopen, submission, actor=world.organizer, reason=" \n ") == "Please give a reason."
    submission = services.submission_for(world.round, world.team)
    services.reopen(submission, actor=world.organizer, reason="团队要求更换路演 PPT")
    db.session.commit()
    assert submission.state == "draft"
    entry = _audit("submission.reopen")[0]
    assert (entry.actor_id, entry.details["reason"]) == (world.organizer.id, "团队要求更换路演 PPT")
    _upload(world, "slides", office_bytes("pptx"), name="路演.pptx", at=NOW + MINUTE)
    assert "nothing to reopen" in _refused(services.reopen, submission, actor=world.organizer, reason="再来一次")


# --- copies for blind rounds ----------------------------------------------------------------------


def test_the_blind_copy_of_a_pdf_has_no_author_and_no_xmp():
    import pikepdf

    world = _world()
    item = _upload(world, "plan", PDF)
    assert item.blind_key is None  # not a blind round: made on first need
    key = services.ensure_blind_copy(item)
    assert key == item.blind_key and key != item.storage_key and key.startswith("blind/")
    with pikepdf.open(storage.path_for(key)) as copy:
        info = copy.trailer.get("/Info")
        assert info is None or not ({"/Author", "/Creator"} & set(info.keys()))
        assert "/Metadata" not in copy.Root
        assert len(copy.pages) == 1
    data = storage.path_for(key).read_bytes()
    for name in (AUTHOR, UNIVERSITY):
        assert name.encode() not in data and name.encode("utf-16-be") not in data
    original = storage.path_for(item.storage_key).read_bytes()
    assert original == PDF and _sha256(original) == item.sha256
    assert services.ensure_blind_copy(item) == key  # made once


@pytest.mark.parametrize("kind", ["pptx", "docx"])
def test_the_blind_copy_of_an_office_file_has_no_names_and_is_still_the_same_package(kind):
    world = _world()
    data = office_bytes(kind)
    item = _upload(world, "attachments", data, name=f"材料.{kind}")
    original = storage.path_for(item.storage_key)
    assert blind.office_metadata(original) == {
        "creator": AUTHOR, "lastModifiedBy": EDITOR, "Company": UNIVERSITY, "Manager": MANAGER,
    }  # fmt: skip
    copy = storage.path_for(services.ensure_blind_copy(item))
    assert blind.office_metadata(copy) == {}
    with zipfile.ZipFile(copy) as stripped, zipfile.ZipFile(io.BytesIO(data)) as source:
        assert stripped.testzip() is None
        assert stripped.namelist() == source.namelist()
        for name in source.namelist():
            if not name.startswith("docProps/"):
                assert stripped.read(name) == source.read(name), name
        core = stripped.read("docProps/core.xml").decode()
        app_xml = stripped.read("docProps/app.xml").decode()
    assert "商业计划书" in core and "<cp:revision>3</cp:revision>" in core  # the rest of the metadata stays
    assert "Microsoft Office" in app_xml
    for name in (AUTHOR, EDITOR, UNIVERSITY, MANAGER):
        assert name not in core and name not in app_xml
    assert original.read_bytes() == data


def test_an_upload_into_a_blind_round_gets_its_copy_at_once():
    world = _world(blind_round=True)
    plan = _upload(world, "plan", PDF)
    slides = _upload(world, "slides", office_bytes("pptx"), name="路演.pptx")
    video = _upload(world, "video", MP4, name="视频.mp4")
    db.session.commit()
    assert plan.blind_key and storage.path_for(plan.blind_key).is_file()
    assert slides.blind_key and blind.office_metadata(storage.path_for(slides.blind_key)) == {}
    assert video.blind_key == video.storage_key  # a video has no metadata we strip: served as it is


def test_a_blind_copy_of_a_large_office_file_is_streamed_not_read_whole():
    """A DOCX with a big (highly compressible) picture is copied entry by entry."""
    world = _world()
    entries = office_entries("docx") | {"word/media/image1.bin": b"\x00" * (8 * 1024 * 1024)}
    item = _upload(world, "attachments", zip_bytes(entries), name="大文件.docx")
    copy = storage.path_for(services.ensure_blind_copy(item))
    with zipfile.ZipFile(copy) as stripped:
        assert stripped.getinfo("word/media/image1.bin").file_size == 8 * 1024 * 1024
        assert stripped.testzip() is None


# --- two members upload at once -------------------------------------------------------------------


def _race(app, world: World, code: str, payloads: list[bytes]) -> list[str]:
    """Each payload uploaded by another member of the team in its own thread and app context,
    all released at once; returns "stored", "refused: …" or "error: …" per upload."""
    round_id, team_id, slot_id = world.round.id, world.team.id, world.slots[code].id
    user_ids = [member.user_id for member in world.team.members]
    barrier = threading.Barrier(len(payloads))
    outcomes: list[str] = []
    lock = threading.Lock()

    def upload(user_id: int, data: bytes) -> None:
        with app.app_context(), force_locale("en"):
            round_, team = db.session.get(Round, round_id), db.session.get(Team, team_id)
            slot, user = db.session.get(MaterialSlot, slot_id), db.session.get(User, user_id)
            barrier.wait(timeout=30)
            try:
                services.upload(round_, team, slot, actor=user, stream=io.BytesIO(data), filename="商业计划书.pdf",
                                started_at=NOW, now=NOW)  # fmt: skip
                db.session.commit()
                outcome = "stored"
            except DomainError as error:
                db.session.rollback()
                outcome = f"refused: {error}"
            except Exception as error:  # noqa: BLE001 - any other failure would be a 500: what this test hunts
                db.session.rollback()
                outcome = f"error: {type(error).__name__}: {error}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [
        threading.Thread(target=upload, args=(user_ids[index % len(user_ids)], data))
        for index, data in enumerate(payloads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.expire_all()
    return outcomes


def test_two_members_uploading_the_same_document_at_once_both_land_in_the_history(app):
    world = _world()  # no submission yet: both requests also race to create it
    payloads = [pdf_bytes(pages=1, padding=200_000), pdf_bytes(pages=2, padding=200_000)]
    outcomes = _race(app, world, "plan", payloads)
    assert outcomes == ["stored", "stored"]
    assert db.session.scalar(select(func.count(Submission.id))) == 1
    submission = services.submission_for(world.round, world.team)
    files = submission.files
    assert len(files) == 2
    assert {item.sha256 for item in files} == {_sha256(data) for data in payloads}
    for item in files:
        assert _sha256(storage.path_for(item.storage_key).read_bytes()) == item.sha256
    assert len(submission.current_files(world.slots["plan"])) == 1
    assert submission.current_files(world.slots["plan"]) == [files[-1]]


def test_two_members_racing_for_the_last_attachment_place_get_one_each(app):
    world = _world()
    for index in range(4):
        _upload(world, "attachments", pdf_bytes(pages=index + 1), name=f"附件{index}.pdf")
    db.session.commit()
    before = _stored_files()
    outcomes = _race(app, world, "attachments", [pdf_bytes(pages=7), pdf_bytes(pages=8)])
    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["refused", "stored"], outcomes
    assert "at most 5 files" in next(outcome for outcome in outcomes if outcome.startswith("refused"))
    submission = services.submission_for(world.round, world.team)
    assert len(submission.current_files(world.slots["attachments"])) == 5
    assert len(_stored_files() - before) == 1  # the refused upload left no file behind
