"""The national ID number (PIPL minimisation): asked only where a competition's rules require it,
checked (GB 11643 check character, a real date of birth), stored normalized, and shown or exported
masked only — the full number never reaches a page or a download."""

from __future__ import annotations

import io
import json
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.extensions import db
from competition.privacy.services import anonymize_user
from competition.teams import services
from competition.teams.models import Team, TeamMember, TeamState
from competition.teams.national_id import check_character, mask_national_id, normalize_national_id
from tests import factories

EN = {"Accept-Language": "en"}
#: a valid number (its check character is X), seeded and searched for in every response
SENTINEL = "11010519491231002X"
SENTINEL_MASKED = "1101**********002X"
OTHER_VALID = "510104199001011230"


def _profile_form(person, **overrides):
    form = {
        "real_name": person.real_name,
        "student_number": f"2024{person.id:06d}",
        "member_institution": str(person.institution_id),
        "department": "经济学院",
        "major": "金融学",
        "degree_level": "bachelor",
        "enrollment_year": "2024",
        "graduation_year": "2028",
        "phone": "",
        "national_id_consent": "y",  # the separate consent, ignored where no number is asked
    }
    form.update(overrides)
    return form


def _create_form(user, contest, **overrides):
    return _profile_form(user, **overrides) | {
        "name": "星火队",
        "project_title": "川渝农产品冷链",
        "track": str(contest.tracks[0].id),
        "institution": str(user.institution_id),
    }


@pytest.fixture
def required(app):
    contest = factories.competition(code="ID26", min_team_size=1, max_team_size=4, requires_national_id=True)
    factories.track(contest, "idea")
    db.session.commit()
    return contest


@pytest.fixture
def plain(app):
    contest = factories.competition(code="NOID26", min_team_size=1, max_team_size=4)
    factories.track(contest, "idea")
    db.session.commit()
    return contest


# --- the number itself ------------------------------------------------------------------------------


def test_valid_numbers_are_normalized_to_an_upper_case_x(english):
    assert normalize_national_id(" 110105 19491231002x ") == SENTINEL
    assert normalize_national_id(OTHER_VALID) == OTHER_VALID


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1101051949123100", "18 characters"),  # too short
        ("1101051949123100XX", "18 characters"),  # X only at the end
        ("１１０１０５１９４９１２３１００２X", "18 characters"),  # full-width digits
        ("990105194912310021", "mainland province"),
        ("110105194912310021", "does not match"),  # wrong check character
        ("11010519490231" + "002", "not a real date"),  # 31 February
        ("11010518990101" + "002", "not a real date"),  # before 1900
        ("11010520990101" + "002", "not a real date"),  # in the future
    ],
)
def test_wrong_numbers_are_refused_with_a_clear_message(english, value, message):
    if len(value) == 17:  # a correct check character, so that only the date is wrong
        value += check_character(value)
    with pytest.raises(DomainError) as refused:
        normalize_national_id(value, today=date(2026, 11, 27))
    assert message in str(refused.value.message)
    assert refused.value.field == "national_id"


def test_the_mask_keeps_the_first_four_and_last_four_characters():
    assert mask_national_id("510104199001011234") == "5101**********1234"
    assert mask_national_id(SENTINEL) == SENTINEL_MASKED
    assert mask_national_id(None) == ""


# --- the rule off: never asked, never stored --------------------------------------------------------


def test_without_the_rule_the_field_is_not_shown_and_a_posted_number_is_ignored(client, login_as, plain):
    user = login_as(locale="en")
    page = client.get("/teams/new/NOID26", headers=EN).get_data(as_text=True)
    assert 'name="national_id"' not in page and "National ID" not in page
    response = client.post("/teams/new/NOID26", data=_create_form(user, plain, national_id=SENTINEL))
    assert response.status_code == 302
    member = db.session.scalar(select(TeamMember))
    assert member.national_id is None
    team_page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "National ID" not in team_page and SENTINEL not in team_page


def test_without_the_rule_the_services_store_nothing(app, plain):
    leader = factories.user()
    team = services.create_team(
        actor=leader,
        competition=plain,
        track=plain.tracks[0],
        institution=leader.institution,
        name="甲队",
        project_title="项目",
        profile=factories.member_profile(leader, national_id=SENTINEL),
        now=utcnow(),
    )
    assert team.members[0].national_id is None


# --- the rule on ------------------------------------------------------------------------------------


def test_with_the_rule_the_number_is_required_checked_and_stored_normalized(client, login_as, required):
    user = login_as(locale="en")
    page = client.get("/teams/new/ID26", headers=EN).get_data(as_text=True)
    assert 'name="national_id"' in page and "insurance" in page

    missing = client.post("/teams/new/ID26", data=_create_form(user, required), headers=EN)
    assert missing.status_code == 200
    assert "Please enter your national ID number" in missing.get_data(as_text=True)

    typo = client.post(
        "/teams/new/ID26", data=_create_form(user, required, national_id="110105194912310021"), headers=EN
    )
    text = typo.get_data(as_text=True)
    assert "does not match the others" in text
    assert "110105194912310021" not in text  # a refused form does not echo the number either
    assert db.session.scalar(select(Team)) is None

    done = client.post("/teams/new/ID26", data=_create_form(user, required, national_id=SENTINEL.lower()))
    assert done.status_code == 302
    assert db.session.scalar(select(TeamMember)).national_id == SENTINEL


def test_the_profile_page_shows_the_masked_number_and_an_empty_box(client, login_as, required):
    team = factories.team(required, members=0)
    member = team.members[0]
    member.national_id = SENTINEL
    team.leader.locale = "en"
    db.session.commit()
    login_as(user=team.leader)
    url = f"/teams/{team.id}/members/{member.id}/profile"
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert SENTINEL_MASKED in page and "Leave empty to keep it" in page
    box = next(tag for tag in page.split("<input") if 'name="national_id"' in tag)
    assert SENTINEL not in page and 'value=""' in box

    # empty keeps the number on file
    form = _profile_form(team.leader, student_number=member.student_number, national_id="")
    assert client.post(url, data=form).status_code == 302
    db.session.refresh(member)
    assert member.national_id == SENTINEL

    # a new full number replaces it; the audit log keeps the masked forms only
    assert client.post(url, data=form | {"national_id": OTHER_VALID}).status_code == 302
    db.session.refresh(member)
    assert member.national_id == OTHER_VALID
    logged = json.dumps([entry.details for entry in db.session.scalars(select(AuditEntry))], ensure_ascii=False)
    assert SENTINEL not in logged and OTHER_VALID not in logged and "5101**********1230" in logged


def test_a_team_cannot_be_submitted_while_a_member_lacks_the_number(app, english, required):
    team = factories.team(required, members=1)
    team.members[0].national_id = SENTINEL
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        services.submit_for_review(team, actor=team.leader, now=utcnow())
    assert team.members[1].real_name in str(refused.value.message)
    team.members[1].national_id = OTHER_VALID
    services.submit_for_review(team, actor=team.leader, now=utcnow())
    assert team.state == TeamState.SUBMITTED


def test_the_rules_form_turns_the_option_on(client, login_as, plain):
    login_as("organizer", competition=plain, locale="en")
    page = client.get("/competitions/NOID26/setup/rules", headers=EN).get_data(as_text=True)
    assert 'name="requires_national_id"' in page and "on-site final" in page
    rules = {
        "min_team_size": "1",
        "max_team_size": "4",
        "max_advisors": "3",
        "max_teams_per_student": "1",
        "eligible_degrees": ["bachelor", "master", "doctorate", "junior_college"],
        "requires_national_id": "y",
    }
    assert client.post("/competitions/NOID26/setup/rules", data=rules).status_code == 302
    db.session.refresh(plain)
    assert plain.requires_national_id is True


# --- masked everywhere: the sentinel sweep -----------------------------------------------------------


def _xlsx_text(data: bytes) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(
        str(value) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for value in row
    )


def test_the_full_number_appears_in_no_page_and_no_export(client, login_as, required):
    team = factories.team(required, members=1)
    leader = team.leader
    leader_row = team.members[0]
    leader_row.national_id = SENTINEL
    db.session.commit()

    seen = {}
    login_as(user=leader)
    seen["team page"] = client.get(f"/teams/{team.id}", headers=EN).get_data(as_text=True)
    profile_url = f"/teams/{team.id}/members/{leader_row.id}/profile"
    seen["profile page"] = client.get(profile_url, headers=EN).get_data(as_text=True)
    refused = _profile_form(leader, student_number=leader_row.student_number, national_id=SENTINEL, major="")
    seen["refused profile form"] = client.post(profile_url, data=refused, headers=EN).get_data(as_text=True)
    seen["privacy export"] = client.get("/account/privacy/export", headers=EN).get_data(as_text=True)
    assert SENTINEL_MASKED in json.dumps(json.loads(seen["privacy export"]), ensure_ascii=False)

    login_as("organizer", competition=required, locale="en")
    seen["review list"] = client.get("/competitions/ID26/teams/", headers=EN).get_data(as_text=True)
    seen["team page (organizer)"] = client.get(f"/teams/{team.id}", headers=EN).get_data(as_text=True)
    csv_export = client.get("/competitions/ID26/teams/export.csv", headers=EN)
    xlsx_export = client.get("/competitions/ID26/teams/export.xlsx", headers=EN)
    assert csv_export.status_code == xlsx_export.status_code == 200
    seen["csv export"] = csv_export.data.decode("utf-8-sig")
    seen["xlsx export"] = _xlsx_text(xlsx_export.data)

    for name, text in seen.items():
        assert SENTINEL not in text and SENTINEL.lower() not in text, name
    for name in ("team page", "profile page", "team page (organizer)", "csv export", "xlsx export"):
        assert SENTINEL_MASKED in seen[name], name
    assert "National ID (masked)" in seen["csv export"]


def test_exports_have_no_national_id_column_when_no_team_has_one(client, login_as, required):
    factories.team(required, members=1)
    db.session.commit()
    login_as("organizer", competition=required, locale="en")
    text = client.get("/competitions/ID26/teams/export.csv", headers=EN).data.decode("utf-8-sig")
    assert "National ID" not in text.splitlines()[0]


# --- deletion ---------------------------------------------------------------------------------------


def test_anonymization_clears_the_number(app, required):
    team = factories.team(required, members=1)
    member = team.members[1]
    member.national_id = SENTINEL
    admin = factories.user(is_admin=True)
    db.session.commit()
    anonymize_user(member.user, actor=admin)
    db.session.commit()
    db.session.refresh(member)
    assert member.national_id is None


def test_joining_a_team_asks_for_the_number_in_chinese_too(client, login_as, required):
    team = factories.team(required, members=0)
    db.session.commit()
    joiner = login_as()
    page = client.get(f"/teams/join/{team.invite_code}")
    assert page.status_code == 200 and 'name="national_id"' in page.get_data(as_text=True)
    response = client.post(f"/teams/join/{team.invite_code}", data=_profile_form(joiner, national_id=OTHER_VALID))
    assert response.status_code == 302
    assert team.member_for(joiner).national_id == OTHER_VALID


def test_a_number_is_kept_only_with_its_separate_consent_which_is_recorded(client, login_as, required):
    from competition.privacy import services as privacy
    from competition.privacy.models import Consent

    user = login_as(locale="en")
    refused = client.post(
        "/teams/new/ID26", data=_create_form(user, required, national_id=SENTINEL, national_id_consent="")
    )
    assert refused.status_code == 200
    assert "it is kept only with your separate consent" in refused.get_data(as_text=True)
    assert SENTINEL not in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(TeamMember.id))) == 0
    assert client.post("/teams/new/ID26", data=_create_form(user, required, national_id=SENTINEL)).status_code == 302
    consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
    assert (consent.source, consent.notice_version) == ("national-id", "national-id:ID26")
    # a separate consent is not an agreement to the privacy notice: no prompt to agree again
    assert privacy.latest_consent(user) is None and not privacy.must_consent_again(user.id)
