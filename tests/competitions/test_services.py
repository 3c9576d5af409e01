"""Competition set-up services: each refuses bad input with a DomainError before changing anything,
and audits what it changes."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import func, select

from competition.competitions import services
from competition.competitions.models import CompetitionState, Track
from competition.core import storage
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db
from tests import factories


def image_bytes(image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 160)).save(buffer, format=image_format)
    return buffer.getvalue()


def actions() -> list[str]:
    return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


DEFAULT_RULES = services.Rules(
    min_team_size=3,
    max_team_size=15,
    max_advisors=3,
    allow_cross_institution=False,
    one_team_per_leader=True,
    max_teams_per_student=1,
    eligible_degrees=[],
    min_graduation_year=None,
    max_graduation_year=None,
)


@pytest.fixture(autouse=True)
def english(app):
    """Messages in English, whatever the catalogs say (the default language is Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def organizer(app):
    return factories.user()


# --- create and general information ---------------------------------------------------------------


def test_create_competition_normalizes_the_code_and_refuses_a_bad_or_taken_one(app, organizer):
    contest = services.create_competition(actor=organizer, code=" cy2026 ", year=2026, name_zh="赛", name_en="C")
    assert contest.code == "CY2026" and contest.state == CompetitionState.DRAFT
    for code in ("C", "CY 2026", "成渝", "-CY"):
        with pytest.raises(DomainError) as refused:
            services.create_competition(actor=organizer, code=code, year=2026, name_zh="赛", name_en="C")
        assert refused.value.field == "code"
    with pytest.raises(DomainError, match="already uses this code"):
        services.create_competition(actor=organizer, code="cy2026", year=2026, name_zh="赛", name_en="C")
    assert actions() == ["competition.create"]


def test_update_general_audits_only_real_changes(app, organizer):
    contest = factories.competition()
    info = services.GeneralInfo(
        name_zh="新名称",
        name_en=contest.name_en,
        year=2027,
        description_zh="",
        description_en="",
        host_zh="",
        host_en="",
        co_hosts_zh="",
        co_hosts_en="",
    )
    services.update_general(contest, actor=organizer, info=info)
    services.update_general(contest, actor=organizer, info=info)  # nothing new
    assert (contest.name_zh, contest.year) == ("新名称", 2027)
    entries = db.session.scalars(select(AuditEntry)).all()
    assert len(entries) == 1 and entries[0].details["fields"] == ["name_zh", "year"]


# --- rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"min_team_size": 0}, "max_team_size"),
        ({"min_team_size": 6, "max_team_size": 5}, "max_team_size"),
        ({"max_advisors": -1}, "max_advisors"),
        ({"max_teams_per_student": 0}, "max_teams_per_student"),
        ({"eligible_degrees": ["bachelor", "kindergarten"]}, "eligible_degrees"),
        ({"min_graduation_year": 2030, "max_graduation_year": 2029}, "max_graduation_year"),
    ],
)
def test_update_rules_refuses_impossible_rules_and_changes_nothing(app, organizer, changes, field):
    contest = factories.competition()
    with pytest.raises(DomainError) as refused:
        services.update_rules(contest, actor=organizer, rules=replace(DEFAULT_RULES, **changes))
    assert refused.value.field == field
    assert (contest.min_team_size, contest.max_team_size, contest.max_advisors) == (3, 15, 3)
    assert contest.max_teams_per_student == 1 and contest.eligible_degrees == []
    assert actions() == []


def test_update_rules_stores_sorted_degrees_and_audits_the_changes(app, organizer):
    contest = factories.competition()
    rules = replace(DEFAULT_RULES, max_team_size=10, eligible_degrees=["master", "bachelor"], min_graduation_year=2026)
    services.update_rules(contest, actor=organizer, rules=rules)
    assert contest.eligible_degrees == ["bachelor", "master"]
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "competition.update_rules"
    assert entry.details["changes"] == {
        "max_team_size": [15, 10],
        "eligible_degrees": [[], ["bachelor", "master"]],
        "min_graduation_year": [None, 2026],
    }
    services.update_rules(contest, actor=organizer, rules=rules)
    assert actions() == ["competition.update_rules"]


def test_a_team_of_exactly_one_size_is_allowed(app, organizer):
    contest = factories.competition()
    services.update_rules(contest, actor=organizer, rules=replace(DEFAULT_RULES, min_team_size=5, max_team_size=5))
    assert (contest.min_team_size, contest.max_team_size) == (5, 5)


# --- timeline -------------------------------------------------------------------------------------

OPENS = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def timeline(**changes) -> services.Timeline:
    values = {
        "registration_opens_at": OPENS,
        "registration_closes_at": OPENS + timedelta(days=60),
        "submission_deadline": OPENS + timedelta(days=75),
        "publication_at": OPENS + timedelta(days=90),
    }
    return services.Timeline(**(values | changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"registration_closes_at": OPENS - timedelta(minutes=1)}, "registration_closes_at"),
        ({"submission_deadline": OPENS + timedelta(days=59)}, "submission_deadline"),
        ({"publication_at": OPENS}, "publication_at"),
        # a gap in the middle still compares with the last date given
        ({"submission_deadline": None, "publication_at": OPENS + timedelta(days=1)}, "publication_at"),
    ],
)
def test_update_timeline_refuses_dates_out_of_order(app, organizer, changes, field):
    contest = factories.competition()
    with pytest.raises(DomainError) as refused:
        services.update_timeline(contest, actor=organizer, timeline=timeline(**changes))
    assert refused.value.field == field
    assert contest.registration_opens_at is None and actions() == []


def test_update_timeline_accepts_partial_and_equal_dates(app, organizer):
    contest = factories.competition()
    services.update_timeline(
        contest,
        actor=organizer,
        timeline=timeline(registration_closes_at=None, submission_deadline=OPENS, publication_at=None),
    )
    db.session.commit()
    db.session.expire_all()
    assert contest.registration_opens_at == OPENS and contest.submission_deadline == OPENS
    assert contest.registration_opens_at.tzinfo is not None
    assert actions() == ["competition.update_timeline"]


# --- logo -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("image_format", "suffix"), [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp")])
def test_set_logo_stores_a_real_image(app, organizer, image_format, suffix):
    contest = factories.competition()
    data = image_bytes(image_format)
    services.set_logo(contest, actor=organizer, stream=io.BytesIO(data))
    db.session.commit()
    assert contest.logo_key.startswith("logos/") and contest.logo_key.endswith(suffix)
    path, mimetype = services.logo_file(contest)
    assert path.read_bytes() == data and mimetype == services.LOGO_MIMETYPES[suffix]
    assert actions() == ["competition.set_logo"]


@pytest.mark.parametrize(
    "data",
    [
        b"<!doctype html><script>alert(1)</script>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"\x89PNG\r\n\x1a\n" + b"not really a png",
        image_bytes("GIF"),
        b"",
    ],
    ids=["html", "svg", "broken-png", "gif", "empty"],
)
def test_set_logo_refuses_what_is_not_a_png_jpeg_or_webp(app, organizer, data):
    contest = factories.competition()
    with pytest.raises(DomainError, match="PNG, JPEG or WebP") as refused:
        services.set_logo(contest, actor=organizer, stream=io.BytesIO(data))
    assert refused.value.field == "logo"
    assert contest.logo_key is None and actions() == []
    assert not list((storage.upload_root() / "logos").glob("*.part"))


def test_set_logo_refuses_more_than_two_megabytes(app, organizer):
    contest = factories.competition()
    data = image_bytes("PNG") + b"\0" * services.LOGO_MAX_BYTES
    with pytest.raises(DomainError, match="at most 2 MB"):
        services.set_logo(contest, actor=organizer, stream=io.BytesIO(data))
    assert contest.logo_key is None and actions() == []


def test_a_replaced_logo_is_deleted_only_after_the_commit(app, organizer):
    contest = factories.competition()
    services.set_logo(contest, actor=organizer, stream=io.BytesIO(image_bytes("PNG")))
    db.session.commit()
    first = contest.logo_key
    services.set_logo(contest, actor=organizer, stream=io.BytesIO(image_bytes("JPEG")))
    db.session.rollback()  # the replacement is abandoned: the first logo stays
    assert storage.path_for(first).exists()
    services.set_logo(contest, actor=organizer, stream=io.BytesIO(image_bytes("JPEG")))
    assert storage.path_for(first).exists()
    db.session.commit()
    assert not storage.path_for(first).exists()
    assert services.logo_file(contest)[1] == "image/jpeg"


def test_logo_file_is_none_without_a_logo_or_with_a_missing_file(app, organizer):
    contest = factories.competition()
    assert services.logo_file(contest) is None
    contest.logo_key = "logos/missing.png"
    assert services.logo_file(contest) is None
    contest.logo_key = "../../etc/passwd.png"
    assert services.logo_file(contest) is None


# --- state machine --------------------------------------------------------------------------------


def test_the_state_machine_moves_forward_and_one_step_back(app, organizer):
    contest = factories.competition(state="draft")
    factories.track(contest, "idea")
    path = [
        CompetitionState.REGISTRATION,
        CompetitionState.DRAFT,
        CompetitionState.REGISTRATION,
        CompetitionState.SUBMISSION,
        CompetitionState.REGISTRATION,
        CompetitionState.SUBMISSION,
        CompetitionState.JUDGING,
        CompetitionState.SUBMISSION,
        CompetitionState.JUDGING,
        CompetitionState.PUBLISHED,
        CompetitionState.ARCHIVED,
    ]
    for target in path:
        services.change_state(contest, actor=organizer, target=target)
        assert contest.state == target.value
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [entry.details["new"] for entry in entries] == [state.value for state in path]
    assert {entry.action for entry in entries} == {"competition.change_state"}


@pytest.mark.parametrize(
    ("state", "target"),
    [
        ("draft", "submission"),
        ("draft", "published"),
        ("registration", "judging"),
        ("registration", "registration"),
        ("published", "judging"),
        ("archived", "published"),
        ("archived", "draft"),
    ],
)
def test_illegal_transitions_are_refused(app, organizer, state, target):
    contest = factories.competition(state=state)
    factories.track(contest, "idea")
    with pytest.raises(DomainError, match="cannot go from"):
        services.change_state(contest, actor=organizer, target=CompetitionState(target))
    assert contest.state == state and actions() == []


def test_every_state_has_its_transitions_listed():
    assert set(services.TRANSITIONS) == set(CompetitionState)
    assert services.TRANSITIONS[CompetitionState.ARCHIVED] == ()


@pytest.mark.parametrize("state", ["draft", "submission"])
def test_registration_needs_a_track(app, organizer, state):
    contest = factories.competition(state=state)
    with pytest.raises(DomainError, match="Add at least one track"):
        services.change_state(contest, actor=organizer, target=CompetitionState.REGISTRATION)
    assert contest.state == state and actions() == []


# --- tracks ---------------------------------------------------------------------------------------


def test_save_track_creates_and_updates(app, organizer):
    contest = factories.competition()
    track = services.save_track(
        contest, actor=organizer, track=None, code=" Idea ", name_zh="创意组", name_en="Idea", position=1
    )
    assert track.code == "idea" and track in contest.tracks
    same = services.save_track(
        contest, actor=organizer, track=track, code="idea", name_zh="创意组", name_en="Idea", position=1
    )
    assert same is track
    services.save_track(
        contest, actor=organizer, track=track, code="ideas", name_zh="创意组", name_en="Ideas", position=2
    )
    assert (track.code, track.name_en, track.position) == ("ideas", "Ideas", 2)
    assert actions() == ["track.create", "track.update"]


@pytest.mark.parametrize("code", ["", "创意", "idea track", "-idea", "x" * 33])
def test_save_track_refuses_a_bad_code(app, organizer, code):
    contest = factories.competition()
    with pytest.raises(DomainError) as refused:
        services.save_track(contest, actor=organizer, track=None, code=code, name_zh="组", name_en="T", position=0)
    assert refused.value.field == "code"
    assert db.session.scalar(select(func.count(Track.id))) == 0 and actions() == []


def test_track_codes_are_unique_per_competition_only(app, organizer):
    contest, other = factories.competition(), factories.competition()
    factories.track(contest, "idea")
    startup = factories.track(contest, "startup")
    with pytest.raises(DomainError, match="already uses this code"):
        services.save_track(contest, actor=organizer, track=None, code="idea", name_zh="组", name_en="T", position=0)
    with pytest.raises(DomainError, match="already uses this code"):
        services.save_track(contest, actor=organizer, track=startup, code="idea", name_zh="组", name_en="T", position=0)
    assert startup.code == "startup"
    services.save_track(other, actor=organizer, track=None, code="idea", name_zh="组", name_en="T", position=0)
    assert actions() == ["track.create"]


def test_a_track_in_use_cannot_be_deleted_but_an_unused_one_can(app, organizer):
    contest = factories.competition()
    used = factories.track(contest, "idea")
    unused = factories.track(contest, "startup")
    factories.team(contest, track_row=used)
    with pytest.raises(DomainError, match="1 team"):
        services.delete_track(used, actor=organizer)
    unused_id = unused.id
    services.delete_track(unused, actor=organizer)
    assert db.session.get(Track, unused_id) is None and db.session.get(Track, used.id) is not None
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "track.delete" and entry.details == {"code": "startup"}
