"""Round pages: the list, the set-up form, a round's teams, recommending and withdrawing."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from competition.core.audit import AuditEntry
from competition.extensions import db
from competition.rounds.models import Round, RoundEntry
from tests import factories

EN = {"Accept-Language": "en"}


def _form(**fields) -> dict:
    values = {
        "name_zh": "校赛",
        "name_en": "School round",
        "position": "1",
        "level": "institution",
        "entry_rule": "all_approved",
        "next_round": "",
        "quota_kind": "",
        "quota_value": "",
        "judging_opens_at": "",
        "judging_closes_at": "",
    }
    values.update(fields)
    return values


def _rounds() -> int:
    return db.session.scalar(select(func.count(Round.id)))


def _entries() -> int:
    return db.session.scalar(select(func.count(RoundEntry.id)))


def _school_and_final(contest, quota_value=2):
    final = factories.round_(
        contest, position=2, name_zh="决赛", name_en="Final", level="alliance", entry_rule="advanced"
    )
    school = factories.round_(contest, position=1, next_round=final, quota_kind="count", quota_value=quota_value)
    return school, final


# --- the list and the form ------------------------------------------------------------------------


def test_everyone_sees_the_list_and_only_organizers_may_change_it(client, login_as):
    contest = factories.competition(code="R1")
    factories.round_(contest, name_en="School round")
    db.session.commit()
    page = client.get("/competitions/R1/rounds/", headers=EN).get_data(as_text=True)
    assert "School round" in page and "Add a round" not in page
    login_as("student", competition=contest, locale="en")
    page = client.get("/competitions/R1/rounds/").get_data(as_text=True)
    assert "School round" in page and "Add a round" not in page
    assert client.get("/competitions/R1/rounds/new").status_code == 403
    login_as("organizer", competition=contest, locale="en")
    assert "Add a round" in client.get("/competitions/R1/rounds/").get_data(as_text=True)


def test_the_rounds_of_a_draft_are_hidden(client, login_as):
    factories.competition(code="RD", state="draft")
    db.session.commit()
    assert client.get("/competitions/RD/rounds/").status_code == 404
    login_as("student")
    assert client.get("/competitions/RD/rounds/new").status_code == 404


def test_an_organizer_adds_a_round_with_its_window_in_beijing_time(client, login_as):
    contest = factories.competition(code="R2")
    idea = factories.track(contest, "idea")
    factories.track(contest, "startup")
    final = factories.round_(
        contest, position=2, name_zh="决赛", name_en="Final", level="alliance", entry_rule="advanced"
    )
    login_as("organizer", competition=contest, locale="en")
    assert 'value="3"' in client.get("/competitions/R2/rounds/new").get_data(as_text=True)  # next position
    response = client.post(
        "/competitions/R2/rounds/new",
        data=_form(
            tracks=[str(idea.id)],
            next_round=str(final.id),
            quota_kind="percent",
            quota_value="30",
            judging_opens_at="2026-05-01T09:00",
            judging_closes_at="2026-05-10T18:30",
        ),
    )
    assert response.status_code == 302
    round_ = db.session.scalar(select(Round).where(Round.name_zh == "校赛"))
    assert [track.code for track in round_.tracks] == ["idea"]
    assert (round_.next_round_id, round_.quota_kind, round_.quota_value) == (final.id, "percent", 30)
    assert round_.judging_opens_at == datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    assert round_.judging_closes_at == datetime(2026, 5, 10, 10, 30, tzinfo=UTC)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_id == str(round_.id))) == "round.create"
    form = client.get(f"/competitions/R2/rounds/{round_.id}/edit").get_data(as_text=True)
    assert 'value="2026-05-01T09:00"' in form and 'value="2026-05-10T18:30"' in form
    listing = client.get("/competitions/R2/rounds/").get_data(as_text=True)
    assert "30% of each institution's teams, rounded up" in listing and "Final" in listing


def test_an_organizer_edits_a_round(client, login_as):
    contest = factories.competition(code="R3")
    round_ = factories.round_(contest, name_zh="校赛")
    login_as("organizer", competition=contest, locale="en")
    response = client.post(f"/competitions/R3/rounds/{round_.id}/edit", data=_form(name_zh="初赛", position="4"))
    assert response.status_code == 302
    db.session.refresh(round_)
    assert (round_.name_zh, round_.position) == ("初赛", 4)


def _refused(client, contest_code, data, message):
    before = _rounds()
    response = client.post(f"/competitions/{contest_code}/rounds/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert 'value="我的轮次"' in page  # what was typed is kept
    assert _rounds() == before


def test_the_form_refuses_inconsistent_rounds_and_saves_nothing(client, login_as):
    contest = factories.competition(code="R4")
    earlier = factories.round_(contest, position=1, level="alliance", entry_rule="advanced")
    later = factories.round_(contest, position=5, level="alliance", entry_rule="advanced")
    login_as("organizer", competition=contest, locale="en")
    base = {"name_zh": "我的轮次", "position": "3"}
    _refused(
        client, "R4", _form(**base, next_round=str(earlier.id)), "The round teams are recommended to must come later."
    )
    _refused(
        client,
        "R4",
        _form(**base, level="alliance", next_round=str(later.id), quota_kind="count", quota_value="2"),
        "Recommendation quotas belong to institution-level rounds.",
    )
    _refused(
        client,
        "R4",
        _form(**base, next_round=str(later.id), quota_kind="percent", quota_value="120"),
        "A percentage quota is between 0 and 100.",
    )
    _refused(
        client,
        "R4",
        _form(**base, judging_opens_at="2026-05-10T09:00", judging_closes_at="2026-05-01T09:00"),
        "Judging must close after it opens.",
    )
    _refused(client, "R4", _form(**base, judging_opens_at="next tuesday"), "Please enter a date and time.")
    _refused(client, "R4", _form(**base, level="province"), "Please choose one of the options.")
    _refused(client, "R4", _form(**base, next_round="999999"), "Please choose one of the options.")


def test_an_organizer_deletes_a_round_unless_teams_depend_on_it(client, login_as):
    contest = factories.competition(code="R5")
    school, final = _school_and_final(contest)
    login_as("organizer", competition=contest, locale="en")
    refused = client.post(f"/competitions/R5/rounds/{final.id}/delete", follow_redirects=True)
    assert "recommends its teams to this round" in refused.get_data(as_text=True)
    assert _rounds() == 2
    assert client.post(f"/competitions/R5/rounds/{school.id}/delete").status_code == 302
    assert _rounds() == 1


def test_a_round_of_another_competition_is_not_found(client, login_as):
    contest = factories.competition(code="R6")
    foreign = factories.round_(factories.competition(code="R6X"))
    login_as("organizer", competition=contest)
    assert client.get(f"/competitions/R6/rounds/{foreign.id}/edit").status_code == 404
    assert client.post(f"/competitions/R6/rounds/{foreign.id}/delete").status_code == 404
    assert _rounds() == 1


# --- a round's teams ------------------------------------------------------------------------------


def _world(code="RT"):
    contest = factories.competition(code=code)
    school, final = _school_and_final(contest)
    scu = factories.institution("SCU")
    cqu = factories.institution("CQU")
    scu_teams = [factories.team(contest, state="approved", institution_row=scu, members=0) for _ in range(3)]
    cqu_teams = [factories.team(contest, state="approved", institution_row=cqu, members=0) for _ in range(2)]
    return contest, school, final, scu_teams, cqu_teams


def test_an_institution_organizer_sees_their_teams_and_quota(client, login_as):
    contest, school, _final, scu_teams, cqu_teams = _world()
    login_as("institution_organizer", competition=contest, locale="en")
    page = client.get(f"/competitions/RT/rounds/{school.id}").get_data(as_text=True)
    assert all(team.name in page and team.project_title in page for team in scu_teams)
    assert not any(team.name in page for team in cqu_teams)
    assert "Sichuan University" in page and "Chongqing University" not in page
    assert "recommended 0 of 2" in page and "<td>Sichuan</td>" in page and "Idea track" in page
    assert page.count(">Recommend<") == 3


def test_an_organizer_sees_every_team_and_every_quota(client, login_as):
    contest, school, _final, scu_teams, cqu_teams = _world()
    login_as("organizer", competition=contest, locale="en")
    page = client.get(f"/competitions/RT/rounds/{school.id}").get_data(as_text=True)
    assert all(team.name in page for team in scu_teams + cqu_teams)
    assert "Chongqing University" in page and page.count("recommended 0 of 2") == 2


def test_students_and_judges_do_not_see_a_rounds_teams(client, login_as):
    contest, school, *_ = _world()
    login_as("student", competition=contest)
    assert client.get(f"/competitions/RT/rounds/{school.id}").status_code == 403
    login_as("judge", competition=contest)
    assert client.get(f"/competitions/RT/rounds/{school.id}").status_code == 403


def test_recommending_within_the_quota_and_refusing_beyond_it(client, login_as):
    contest, school, final, scu_teams, _cqu = _world()
    login_as("institution_organizer", competition=contest, locale="en")
    for team in scu_teams[:2]:
        response = client.post(f"/competitions/RT/rounds/{school.id}/teams/{team.id}/recommend")
        assert response.status_code == 302
    page = client.get(f"/competitions/RT/rounds/{school.id}").get_data(as_text=True)
    assert "recommended 2 of 2" in page and page.count("Withdraw recommendation") == 2
    refused = client.post(
        f"/competitions/RT/rounds/{school.id}/teams/{scu_teams[2].id}/recommend", follow_redirects=True
    )
    text = refused.get_data(as_text=True)
    assert (
        "Sichuan University may recommend 2 team(s) from School round (a fixed number) and has recommended 2." in text
    )
    assert _entries() == 2
    assert {entry.team_id for entry in db.session.scalars(select(RoundEntry))} == {t.id for t in scu_teams[:2]}
    final_page = client.get(f"/competitions/RT/rounds/{final.id}").get_data(as_text=True)
    assert scu_teams[0].name in final_page and scu_teams[2].name not in final_page


def test_an_institution_organizer_may_not_recommend_another_institutions_team(client, login_as):
    contest, school, _final, _scu, cqu_teams = _world()
    login_as("institution_organizer", competition=contest)
    response = client.post(f"/competitions/RT/rounds/{school.id}/teams/{cqu_teams[0].id}/recommend")
    assert response.status_code == 403
    assert _entries() == 0


def test_a_team_outside_the_round_or_the_competition_is_refused(client, login_as):
    contest, school, *_ = _world()
    draft = factories.team(contest, state="submitted", institution_row=factories.institution("SCU"), members=0)
    foreign = factories.team(factories.competition(code="RX"), state="approved", members=0)
    login_as("organizer", competition=contest, locale="en")
    refused = client.post(f"/competitions/RT/rounds/{school.id}/teams/{draft.id}/recommend", follow_redirects=True)
    assert "does not take part in School round" in refused.get_data(as_text=True)
    assert client.post(f"/competitions/RT/rounds/{school.id}/teams/{foreign.id}/recommend").status_code == 404
    assert _entries() == 0


def test_a_duplicate_recommendation_is_refused(client, login_as):
    contest, school, _final, scu_teams, _cqu = _world()
    login_as("institution_organizer", competition=contest, locale="en")
    url = f"/competitions/RT/rounds/{school.id}/teams/{scu_teams[0].id}/recommend"
    client.post(url)
    page = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "is already in Final" in page
    assert _entries() == 1


def test_withdrawing_a_recommendation(client, login_as):
    contest, school, _final, scu_teams, _cqu = _world()
    user = login_as("institution_organizer", competition=contest, locale="en")
    team = scu_teams[0]
    client.post(f"/competitions/RT/rounds/{school.id}/teams/{team.id}/recommend")
    assert _entries() == 1
    response = client.post(f"/competitions/RT/rounds/{school.id}/teams/{team.id}/withdraw", follow_redirects=True)
    assert "has been withdrawn" in response.get_data(as_text=True)
    assert _entries() == 0
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "round.withdraw_recommendation"))
    assert audit.actor_id == user.id and audit.object_id == str(team.id)
    again = client.post(f"/competitions/RT/rounds/{school.id}/teams/{team.id}/withdraw", follow_redirects=True)
    assert "has not been recommended" in again.get_data(as_text=True)


def test_get_does_not_recommend(client, login_as):
    contest, school, _final, scu_teams, _cqu = _world()
    login_as("organizer", competition=contest)
    assert client.get(f"/competitions/RT/rounds/{school.id}/teams/{scu_teams[0].id}/recommend").status_code == 405
    assert _entries() == 0
