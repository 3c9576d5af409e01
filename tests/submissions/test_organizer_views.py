"""Organizers' submission pages: the submission window and materials of a round, the overview by
status (with reopening and extensions), the scope of institution organizers and the .xlsx list."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from competition.accounts.models import User
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db
from competition.rounds.models import Round
from competition.submissions import overview, services
from competition.submissions.models import Extension, MaterialSlot, Submission, SubmissionState
from competition.teams.models import Team
from tests import factories
from tests.submissions import pdf_bytes

EN = {"Accept-Language": "en"}
#: 23:59 Beijing time on 31 May 2026
DEADLINE = datetime(2026, 5, 31, 15, 59, tzinfo=UTC)
BEFORE = DEADLINE - timedelta(days=3)
AFTER = DEADLINE + timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass
class World:
    contest: object
    round: Round
    plan: MaterialSlot
    attachments: MaterialSlot
    video: MaterialSlot
    organizer: User
    scu: object
    cqu: object


def make_world(*, level: str = "institution", deadline: datetime | None = DEADLINE, **round_fields) -> World:
    contest = factories.competition(code="SUB", state="submission")
    factories.track(contest, "idea")
    round_ = factories.round_(
        contest, name_zh="校赛/初赛", name_en="School round", level=level, submission_deadline=deadline, **round_fields
    )
    organizer = factories.user(locale="en")
    factories.grant(organizer, contest, "organizer")
    slots = {slot.code: slot for slot in services.add_standard_slots(round_, actor=organizer)}
    scu, cqu = factories.institution("SCU"), factories.institution("CQU")
    db.session.commit()
    return World(contest, round_, slots["plan"], slots["attachments"], slots["video"], organizer, scu, cqu)


def team_of(world: World, institution=None, *, name: str | None = None, track=None) -> Team:
    return factories.team(
        world.contest,
        state="approved",
        members=0,
        institution_row=institution or world.scu,
        name=name,
        track_row=track,
    )


def upload(
    world: World, team: Team, slot: MaterialSlot, *, at: datetime = BEFORE, name: str = "商业计划书.pdf", data=None
):
    item = services.upload(
        world.round,
        team,
        slot,
        actor=team.leader,
        stream=io.BytesIO(data if data is not None else pdf_bytes()),
        filename=name,
        started_at=at,
        now=at,
    )
    db.session.commit()
    return item


def hand_in(world: World, team: Team, *, at: datetime = BEFORE) -> Submission:
    upload(world, team, world.plan, at=at)
    services.save_details(
        world.round, team, actor=team.leader, abstract="摘要", keywords="", industry="", stage=None, now=at
    )
    submission = services.submit(world.round, team, actor=team.leader, now=at)
    db.session.commit()
    return submission


def extend(world: World, team: Team, until: datetime, *, now: datetime = BEFORE):
    extension = services.grant_extension(world.round, team, actor=world.organizer, until=until, reason="停电", now=now)
    db.session.commit()
    return extension


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def base_url(world: World) -> str:
    return f"/competitions/{world.contest.code}/rounds/{world.round.id}"


def slot_count(world: World) -> int:
    return db.session.scalar(select(func.count(MaterialSlot.id)).where(MaterialSlot.round_id == world.round.id))


def sign_in(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@contextmanager
def frozen(client, user, when: datetime):
    """Requests as `user` with the server clock at `when` (signed in then: a session cookie signed
    at another time would have expired)."""
    with freeze_time(when):
        sign_in(client, user)
        yield


def institution_organizer(world: World, institution) -> User:
    person = factories.user(locale="en", institution=institution)
    factories.grant(person, world.contest, "institution_organizer", institution)
    db.session.commit()
    return person


# --- materials and the submission window ----------------------------------------------------------


def test_the_materials_page_is_for_organizers_only(client, login_as):
    world = make_world()
    url = f"{base_url(world)}/materials"
    assert client.get(url).status_code == 302  # to the log-in page
    login_as("student", competition=world.contest)
    assert client.get(url).status_code == 403
    sign_in(client, institution_organizer(world, world.scu))
    assert client.get(url).status_code == 403
    sign_in(client, world.organizer)
    page = client.get(url).get_data(as_text=True)
    assert "Business plan" in page and "Submission window" in page


def test_the_standard_materials_are_added_once(client):
    world = make_world()
    for slot in list(world.round.material_slots):
        db.session.delete(slot)
    db.session.commit()
    sign_in(client, world.organizer)
    page = client.get(f"{base_url(world)}/materials").get_data(as_text=True)
    assert "Add the standard materials" in page
    response = client.post(f"{base_url(world)}/materials/standard", follow_redirects=True)
    assert "Added:" in response.get_data(as_text=True)
    assert slot_count(world) == 4
    plan = db.session.scalar(select(MaterialSlot).where(MaterialSlot.code == "plan"))
    assert (plan.allowed_kinds, plan.max_bytes, plan.required) == (["pdf"], 20 * 1024 * 1024, True)
    response = client.post(f"{base_url(world)}/materials/standard", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "already in this round" in page and "Add the standard materials" not in page
    assert slot_count(world) == 4
    assert len(audit("material_slot.create")) == 4 + 4  # make_world's four, then these four


def _slot_form(**fields) -> dict:
    values = {
        "code": "poster",
        "label_zh": "海报",
        "label_en": "Poster",
        "help_zh": "",
        "help_en": "",
        "allowed_kinds": ["pdf", "png"],
        "max_mb": "10",
        "max_files": "1",
        "position": "5",
    }
    values.update(fields)
    return values


def test_an_organizer_adds_edits_and_deletes_a_material(client):
    world = make_world()
    sign_in(client, world.organizer)
    response = client.post(f"{base_url(world)}/materials/new", data=_slot_form(required="y"))
    assert response.status_code == 302
    poster = db.session.scalar(select(MaterialSlot).where(MaterialSlot.code == "poster"))
    assert (poster.allowed_kinds, poster.max_bytes, poster.required, poster.allow_link) == (
        ["pdf", "png"],
        10 * 1024 * 1024,
        True,
        False,
    )
    page = client.get(f"{base_url(world)}/materials/{poster.id}").get_data(as_text=True)
    assert re.search(r'<input [^>]*name="max_mb" [^>]*value="10"', page)
    assert re.search(r'<input checked [^>]*value="png"', page) and not re.search(r'<input checked [^>]*"pptx"', page)
    response = client.post(
        f"{base_url(world)}/materials/{poster.id}",
        data=_slot_form(code="poster", label_en="Event poster", max_mb="500", max_files="3", allow_link="y"),
    )
    assert response.status_code == 302
    db.session.refresh(poster)
    assert (poster.label_en, poster.max_bytes, poster.max_files, poster.required, poster.allow_link) == (
        "Event poster",
        500 * 1024 * 1024,
        3,
        False,
        True,
    )
    assert audit("material_slot.update")[-1].details["code"] == "poster"
    response = client.post(f"{base_url(world)}/materials/{poster.id}/delete", follow_redirects=True)
    assert "has been deleted" in response.get_data(as_text=True)
    assert db.session.scalar(select(MaterialSlot.id).where(MaterialSlot.code == "poster")) is None
    assert audit("material_slot.delete")[0].details == {"code": "poster"}


def test_a_material_with_uploads_cannot_be_deleted(client):
    world = make_world()
    team = team_of(world)
    db.session.commit()
    upload(world, team, world.plan)
    sign_in(client, world.organizer)
    response = client.post(f"{base_url(world)}/materials/{world.plan.id}/delete", follow_redirects=True)
    assert "cannot be deleted" in response.get_data(as_text=True)
    assert db.session.get(MaterialSlot, world.plan.id) is not None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"allowed_kinds": []}, "Choose at least one file type."),
        ({"max_mb": "0"}, "Please enter a number between 1 and 500."),
        ({"max_mb": "501"}, "Please enter a number between 1 and 500."),
        ({"max_files": "21"}, "Please enter a number between 1 and 20."),
        ({"code": "plan"}, "Another material of this round already uses this code."),
        ({"code": "商业计划"}, "A code has 1 to 32 lower-case letters"),
        ({"label_zh": " "}, "Please enter the Chinese name."),
        ({"allowed_kinds": ["exe"]}, "Please choose one of the options."),
    ],
    ids=["no-kinds", "size-0", "size-501", "too-many-files", "duplicate-code", "chinese-code", "no-name", "kind"],
)
def test_a_refused_material_is_shown_and_nothing_is_saved(client, fields, message):
    world = make_world()
    before = slot_count(world)
    sign_in(client, world.organizer)
    response = client.post(f"{base_url(world)}/materials/new", data=_slot_form(**fields))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert slot_count(world) == before
    assert audit("material_slot.create")[-1].details["code"] != "poster"


def test_the_service_refuses_a_material_of_size_zero_or_over_500_mb(app, english):
    world = make_world()
    settings = services.SlotSettings("poster", "海报", "", "", "", ["pdf"], 0, False, 1, False)
    for size in (0, services.SLOT_MAX_BYTES + 1):
        settings.max_bytes = size
        with pytest.raises(DomainError, match="between 1 KB and 500 MB"):
            services.save_slot(world.round, actor=world.organizer, slot=None, settings=settings)
        db.session.rollback()
    assert slot_count(world) == 4


def test_the_submission_window_is_typed_and_shown_in_beijing_time(client):
    world = make_world(deadline=None)
    sign_in(client, world.organizer)
    response = client.post(
        f"{base_url(world)}/materials",
        data={
            "opens_at": "2026-05-01T09:00",
            "deadline": "2026-05-31T23:59",
            "blind": "y",
            "abstract_max_chars": "600",
        },
    )
    assert response.status_code == 302
    db.session.refresh(world.round)
    assert world.round.submission_opens_at == datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    assert world.round.submission_deadline == DEADLINE
    assert (world.round.blind, world.round.abstract_max_chars) == (True, 600)
    page = client.get(f"{base_url(world)}/materials").get_data(as_text=True)
    assert 'value="2026-05-31T23:59"' in page and 'value="2026-05-01T09:00"' in page
    entry = audit("round.submission_settings")[0]
    assert entry.actor_id == world.organizer.id
    assert entry.details["deadline"] == DEADLINE.isoformat() and entry.details["before"]["deadline"] is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"opens_at": "2026-06-01T09:00", "deadline": "2026-05-31T23:59"}, "The deadline must come after the opening"),
        ({"opens_at": "2026-05-31T23:59", "deadline": "2026-05-31T23:59"}, "The deadline must come after the opening"),
        ({"abstract_max_chars": "49"}, "Please enter a number between 50 and 5000."),
        ({"abstract_max_chars": "5001"}, "Please enter a number between 50 and 5000."),
        ({"deadline": "31/05/2026"}, "Please enter a date and time."),
    ],
    ids=["deadline-first", "same-time", "limit-49", "limit-5001", "not-a-time"],
)
def test_refused_settings_change_nothing(client, fields, message):
    world = make_world()
    sign_in(client, world.organizer)
    data = {"opens_at": "", "deadline": "2026-05-31T23:59", "abstract_max_chars": "800"} | fields
    response = client.post(f"{base_url(world)}/materials", data=data)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    db.session.refresh(world.round)
    assert (world.round.submission_opens_at, world.round.submission_deadline) == (None, DEADLINE)
    assert audit("round.submission_settings") == []


def test_the_settings_service_checks_the_competitions_deadline_and_the_limit(app, english):
    world = make_world(deadline=None)
    world.contest.submission_deadline = DEADLINE
    opens = DEADLINE + HOUR
    with pytest.raises(DomainError, match="competition's submission deadline comes before"):
        services.update_submission_settings(
            world.round, actor=world.organizer, opens_at=opens, deadline=None, blind=False, abstract_max_chars=800
        )
    with pytest.raises(DomainError, match="between 50 and 5000"):
        services.update_submission_settings(
            world.round, actor=world.organizer, opens_at=None, deadline=None, blind=False, abstract_max_chars=10
        )


def test_the_round_pages_link_to_the_submission_pages(client):
    world = make_world()
    sign_in(client, world.organizer)
    page = client.get(f"{base_url(world)}").get_data(as_text=True)
    assert f"{base_url(world)}/submissions" in page and f"{base_url(world)}/materials" in page
    page = client.get(f"/competitions/{world.contest.code}/rounds/").get_data(as_text=True)
    assert f"{base_url(world)}/materials" in page


# --- the overview ---------------------------------------------------------------------------------


def _statuses(page: str) -> dict[str, str]:
    """{team id: status} of the rows of the overview's team list."""
    return dict(re.findall(r'data-team="(\d+)" data-status="(\w+)"', page))


@pytest.fixture
def statuses_world(app):
    """Teams in every state, in two institutions: (world, {name: team})."""
    world = make_world()
    teams = {
        "none": team_of(world, name="无提交"),
        "empty": team_of(world, name="空草稿"),
        "draft": team_of(world, name="草稿", institution=world.cqu),
        "submitted": team_of(world, name="已提交", institution=world.cqu),
        "extended": team_of(world, name="已延期"),
        "expired": team_of(world, name="延期已过"),
    }
    factories.team(world.contest, state="submitted", members=0, name="未审核")  # takes no part
    db.session.add(Submission(round=world.round, team=teams["empty"]))
    db.session.commit()
    upload(world, teams["draft"], world.attachments, name="附件.pdf")
    hand_in(world, teams["submitted"])
    extend(world, teams["extended"], DEADLINE + timedelta(days=5))
    extend(world, teams["expired"], DEADLINE + HOUR)
    return world, teams


def test_before_the_deadline_teams_are_not_started_draft_submitted_or_extended(client, statuses_world):
    world, teams = statuses_world
    counts = overview.overview(world.round, None, BEFORE)
    assert counts.totals.counts == {"not_started": 2, "draft": 1, "submitted": 1, "extended": 2}
    by_institution = {institution.code: row.counts for institution, row in counts.by_institution}
    assert by_institution == {"SCU": {"not_started": 2, "extended": 2}, "CQU": {"draft": 1, "submitted": 1}}
    assert [(track.code, row.total) for track, row in counts.by_track] == [("idea", 6)]
    with frozen(client, world.organizer, BEFORE):
        page = client.get(f"{base_url(world)}/submissions").get_data(as_text=True)
    assert _statuses(page) == {
        str(teams["none"].id): "not_started",
        str(teams["empty"].id): "not_started",
        str(teams["draft"].id): "draft",
        str(teams["submitted"].id): "submitted",
        str(teams["extended"].id): "extended",
        str(teams["expired"].id): "extended",
    }
    assert "未审核" not in page


def test_after_the_deadline_unsubmitted_teams_are_late_unless_an_extension_runs(client, statuses_world):
    world, teams = statuses_world
    counts = overview.overview(world.round, None, AFTER)
    assert counts.totals.counts == {"late": 4, "submitted": 1, "extended": 1}
    with frozen(client, world.organizer, AFTER):
        page = client.get(f"{base_url(world)}/submissions", headers=EN).get_data(as_text=True)
        late = client.get(f"{base_url(world)}/submissions?status=late").get_data(as_text=True)
        cqu = client.get(f"{base_url(world)}/submissions?institution={world.cqu.id}").get_data(as_text=True)
    statuses = _statuses(page)
    assert statuses[str(teams["extended"].id)] == "extended"
    assert statuses[str(teams["expired"].id)] == "late"
    assert statuses[str(teams["draft"].id)] == "late"
    assert set(_statuses(late)) == {str(teams[name].id) for name in ("none", "empty", "draft", "expired")}
    assert set(_statuses(cqu)) == {str(teams["draft"].id), str(teams["submitted"].id)}
    # the deadline that applies, in Beijing time
    assert "6/5/26" in page and "5/31/26" in page


def test_the_overview_counts_current_files_once_per_document(app, statuses_world):
    world, teams = statuses_world
    team = teams["draft"]
    upload(world, team, world.plan, name="v1.pdf")
    upload(world, team, world.plan, name="v2.pdf")
    upload(world, team, world.attachments, name="附件2.pdf")
    rows = overview.all_team_rows(world.round, None, BEFORE)
    assert {row.team.id: row.files for row in rows}[team.id] == 3  # plan (2 versions) + 2 attachments


def test_the_overview_needs_no_query_per_team(client, statuses_world):
    world, _ = statuses_world
    sign_in(client, world.organizer)

    def queries() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"{base_url(world)}/submissions").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    client.get(f"{base_url(world)}/submissions")  # the session's first request also checks the privacy consent
    few = queries()
    for number in range(12):
        team = team_of(world, name=f"更多团队{number}", institution=world.cqu if number % 2 else world.scu)
        db.session.add(Submission(round=world.round, team=team, abstract="摘要"))
    db.session.commit()
    assert queries() == few


# --- reopening and extensions ---------------------------------------------------------------------


def test_reopening_needs_a_reason_and_is_audited(client, statuses_world):
    world, teams = statuses_world
    team = teams["submitted"]
    url = f"{base_url(world)}/submissions/{team.id}/reopen"
    sign_in(client, world.organizer)
    response = client.post(url, data={"reason": "  "}, follow_redirects=True)
    assert "Please give a reason." in response.get_data(as_text=True)
    submission = services.submission_for(world.round, team)
    assert submission.state == SubmissionState.SUBMITTED and audit("submission.reopen") == []
    response = client.post(
        url, data={"reason": "计划书页码错误", "next": f"{base_url(world)}/submissions?status=submitted"}
    )
    assert response.headers["Location"].endswith("/submissions?status=submitted")
    db.session.refresh(submission)
    assert submission.state == SubmissionState.DRAFT
    entry = audit("submission.reopen")[0]
    assert (entry.actor_id, entry.details["reason"]) == (world.organizer.id, "计划书页码错误")
    response = client.post(url, data={"reason": "再次"}, follow_redirects=True)
    assert "nothing to reopen" in response.get_data(as_text=True)
    response = client.post(f"{base_url(world)}/submissions/{teams['none'].id}/reopen", data={"reason": "x"})
    assert len(audit("submission.reopen")) == 1


def test_an_extension_is_granted_changed_and_revoked_in_beijing_time(client, statuses_world):
    world, teams = statuses_world
    team = teams["none"]
    url = f"{base_url(world)}/submissions/{team.id}/extension"
    with frozen(client, world.organizer, BEFORE):
        response = client.post(url, data={"until": "2026-06-03T18:00", "reason": "停电"}, follow_redirects=True)
    assert "may hand in until 2026-06-03 18:00 (Beijing time)" in response.get_data(as_text=True)
    extension = services.extension_for(world.round, team)
    assert (extension.until, extension.reason) == (datetime(2026, 6, 3, 10, 0, tzinfo=UTC), "停电")
    with freeze_time(BEFORE):
        client.post(url, data={"until": "2026-06-05T12:00", "reason": "导师出差"})
        page = client.get(f"{base_url(world)}/submissions?status=extended").get_data(as_text=True)
    db.session.refresh(extension)
    assert extension.until == datetime(2026, 6, 5, 4, 0, tzinfo=UTC)
    assert 'value="2026-06-05T12:00"' in page and "导师出差" in page  # the form shows the extension to change
    entries = audit("submission.extension")
    assert entries[-1].details["old"] == datetime(2026, 6, 3, 10, 0, tzinfo=UTC).isoformat()
    assert entries[-1].details["reason"] == "导师出差" and entries[-1].actor_id == world.organizer.id
    with frozen(client, world.organizer, BEFORE):
        revoked = client.post(f"{url}/revoke", follow_redirects=True).get_data(as_text=True)
        again = client.post(f"{url}/revoke", follow_redirects=True).get_data(as_text=True)
    assert "has been revoked" in revoked and "has no extension" in again
    assert services.extension_for(world.round, team) is None
    assert audit("submission.extension_revoked")[0].actor_id == world.organizer.id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"until": "2026-05-20T12:00", "reason": "停电"}, "An extension must end in the future."),
        ({"until": "2026-05-30T12:00", "reason": "停电"}, "An extension must end after the round&#39;s deadline."),
        ({"until": "2026-05-31T23:59", "reason": "停电"}, "An extension must end after the round&#39;s deadline."),
        ({"until": "2026-06-03T18:00", "reason": " "}, "Please give a reason."),
        ({"until": "", "reason": "停电"}, "Please enter a date and time."),
    ],
    ids=["past", "before-deadline", "at-deadline", "no-reason", "no-time"],
)
def test_a_refused_extension_changes_nothing(client, statuses_world, data, message):
    world, teams = statuses_world
    before = db.session.scalar(select(func.count(Extension.id)))
    with frozen(client, world.organizer, datetime(2026, 5, 25, tzinfo=UTC)):
        response = client.post(
            f"{base_url(world)}/submissions/{teams['none'].id}/extension", data=data, follow_redirects=True
        )
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Extension.id))) == before
    assert services.extension_for(world.round, teams["none"]) is None


def test_an_extended_team_may_upload_after_the_deadline_and_another_may_not(app, english, statuses_world):
    world, teams = statuses_world
    late = DEADLINE + timedelta(days=2)
    item = upload(world, teams["extended"], world.plan, at=late)
    assert item.uploaded_at == late
    with pytest.raises(DomainError, match="The deadline was"):
        upload(world, teams["none"], world.plan, at=late)
    with pytest.raises(DomainError, match="The deadline was"):
        upload(world, teams["expired"], world.plan, at=late)


def test_an_extension_needs_a_round_with_a_deadline(app, english):
    world = make_world(deadline=None)
    team = team_of(world)
    with pytest.raises(DomainError, match="no deadline"):
        extend(world, team, DEADLINE)
    assert services.deadline_for(world.round, team) is None


# --- institution organizers -----------------------------------------------------------------------


def test_an_institution_organizer_sees_and_manages_only_their_teams_in_a_school_round(client, statuses_world):
    world, teams = statuses_world
    with frozen(client, institution_organizer(world, world.scu), BEFORE):
        page = client.get(f"{base_url(world)}/submissions").get_data(as_text=True)
        assert set(_statuses(page)) == {str(teams[name].id) for name in ("none", "empty", "extended", "expired")}
        assert "Download all materials" not in page and "/materials" not in page
        # another institution's team: as if it did not exist
        for action in ("reopen", "extension", "extension/revoke"):
            url = f"{base_url(world)}/submissions/{teams['submitted'].id}/{action}"
            assert client.post(url, data={"reason": "x", "until": "2026-06-03T18:00"}).status_code == 404
        assert services.extension_for(world.round, teams["submitted"]) is None
        # their own team, in a school round
        response = client.post(
            f"{base_url(world)}/submissions/{teams['none'].id}/extension",
            data={"until": "2026-06-03T18:00", "reason": "停电"},
        )
        assert client.post(f"{base_url(world)}/materials.zip").status_code == 403
        workbook = load_workbook(io.BytesIO(client.get(f"{base_url(world)}/submissions.xlsx").data))
    assert response.status_code == 302
    assert services.extension_for(world.round, teams["none"]) is not None
    names = [row[0] for row in workbook.active.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(teams[name].name for name in ("none", "empty", "extended", "expired"))


def test_an_institution_organizer_cannot_extend_or_reopen_in_an_alliance_round(client):
    world = make_world(level="alliance")
    team = team_of(world)
    db.session.commit()
    hand_in(world, team)
    with frozen(client, institution_organizer(world, world.scu), BEFORE):
        page = client.get(f"{base_url(world)}/submissions").get_data(as_text=True)
        assert team.name in page and "Grant an extension" not in page and "Reopen" not in page
        extension = client.post(
            f"{base_url(world)}/submissions/{team.id}/extension", data={"until": "2026-06-03T18:00", "reason": "x"}
        )
        reopen = client.post(f"{base_url(world)}/submissions/{team.id}/reopen", data={"reason": "x"})
    assert (extension.status_code, reopen.status_code) == (403, 403)
    assert services.extension_for(world.round, team) is None
    assert services.submission_for(world.round, team).is_submitted


def test_people_without_a_role_see_no_overview(client, login_as):
    world = make_world()
    login_as("student", competition=world.contest)
    assert client.get(f"{base_url(world)}/submissions").status_code == 403
    assert client.get(f"{base_url(world)}/submissions.xlsx").status_code == 403
    other = factories.competition(code="OTHER")
    login_as("organizer", competition=other)
    assert client.get(f"{base_url(world)}/submissions").status_code == 403
    assert client.get(f"/competitions/OTHER/rounds/{world.round.id}/submissions").status_code == 404


# --- the .xlsx list -------------------------------------------------------------------------------


def test_the_xlsx_has_a_row_per_team_with_text_never_a_formula(client):
    world = make_world()
    team = team_of(world, name="=1+1", institution=world.cqu)
    quiet = team_of(world, name="@SUM(A1)")
    db.session.commit()
    upload(world, team, world.plan, name="=HYPERLINK(1).pdf")
    upload(world, team, world.attachments, name="附件一.pdf")
    upload(world, team, world.attachments, name="附件二.pdf")
    services.add_link(
        world.round, team, world.video, actor=team.leader, url="https://v.example.com/=1", started_at=BEFORE, now=BEFORE
    )
    services.save_details(
        world.round,
        team,
        actor=team.leader,
        abstract="-1+1 摘要",
        keywords="AI",
        industry="教育",
        stage="idea",
        now=BEFORE,
    )
    services.submit(world.round, team, actor=team.leader, now=BEFORE)
    db.session.commit()
    with frozen(client, world.organizer, BEFORE):
        response = client.get(f"{base_url(world)}/submissions.xlsx")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert "attachment" in disposition and quote("SUB-校赛_初赛-作品列表.xlsx") in disposition
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:6] == ["Team", "Project", "Institution", "Side", "Track", "Status"]
    assert header[-4:] == ["Business plan", "Pitch slides", "Project video", "Other attachments"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == {"=1+1", "@SUM(A1)"}
    row = rows["=1+1"]
    assert all(cell.data_type == "s" for cell in row if isinstance(cell.value, str))
    values = {header[index]: cell.value for index, cell in enumerate(row)}
    assert values["Status"] == "Submitted" and values["Side"] == "Chongqing"
    assert values["Submitted at (Beijing time)"] == datetime(2026, 5, 28, 23, 59)
    assert values["Deadline (Beijing time)"] == datetime(2026, 5, 31, 23, 59)
    assert values["Abstract"] == "-1+1 摘要" and values["Stage of the venture"] == "Idea"
    assert values["Business plan"] == "=HYPERLINK(1).pdf"
    assert values["Other attachments"] == "附件一.pdf\n附件二.pdf"
    assert values["Project video"] == "https://v.example.com/=1"
    assert rows["@SUM(A1)"][0].data_type == "s"
    assert {header[index]: cell.value for index, cell in enumerate(rows["@SUM(A1)"])}["Status"] == "Not started"
    assert quiet.name == "@SUM(A1)"
