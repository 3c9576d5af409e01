"""Team pages through HTTP: students' own teams only; reviewers by institution; every refusal shown
with its message and nothing changed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from competition.extensions import db
from competition.teams.models import Advisor, Team, TeamMember, TeamState
from tests import factories

EN = {"Accept-Language": "en"}


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
    }
    form.update(overrides)
    return form


@pytest.fixture
def contest(app):
    contest = factories.competition(code="CY2026", min_team_size=3, max_team_size=4)
    factories.track(contest, "idea")
    db.session.commit()
    return contest


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_student_creates_a_team_from_the_form(client, login_as, contest):
    user = login_as(locale="en")
    form = _profile_form(user) | {
        "name": "星火队",
        "project_title": "川渝农产品冷链",
        "track": str(contest.tracks[0].id),
        "institution": str(user.institution_id),
    }
    response = client.post("/teams/new/CY2026", data=form)
    assert response.status_code == 302
    team = db.session.scalar(select(Team))
    assert (team.name, team.leader_id, team.members[0].major) == ("星火队", user.id, "金融学")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "星火队" in page and team.invite_code in page


def test_create_form_keeps_input_and_names_the_rule(client, login_as, contest):
    contest.eligible_degrees = ["bachelor"]
    db.session.commit()
    user = login_as(locale="en")
    form = _profile_form(user, degree_level="doctorate") | {
        "name": "博士队",
        "project_title": "量子",
        "track": str(contest.tracks[0].id),
        "institution": str(user.institution_id),
    }
    page = client.post("/teams/new/CY2026", data=form).get_data(as_text=True)
    assert "open to Bachelor (本科) students only" in page and 'value="博士队"' in page
    assert _count(Team) == 0


def test_create_is_refused_when_registration_is_closed(client, login_as, contest):
    contest.state = "judging"
    db.session.commit()
    login_as(locale="en")
    response = client.get("/teams/new/CY2026", follow_redirects=True)
    assert "Registration for this competition is closed" in response.get_data(as_text=True)


def test_a_student_sees_only_their_own_team(client, login_as, contest):
    mine = factories.team(contest)
    theirs = factories.team(contest)
    login_as(user=mine.leader)
    assert client.get(f"/teams/{mine.id}").status_code == 200
    assert client.get(f"/teams/{theirs.id}").status_code == 404
    assert client.get("/teams/999999").status_code == 404
    assert client.get("/competitions/CY2026/teams/").status_code == 403


def test_member_joins_by_link_and_the_team_fills_up(client, login_as, contest):
    team = factories.team(contest, members=2)
    joiner = login_as(locale="en")
    page = client.get(f"/teams/join/{team.invite_code}").get_data(as_text=True)
    assert team.name in page
    response = client.post(f"/teams/join/{team.invite_code}", data=_profile_form(joiner))
    assert response.status_code == 302
    assert db.session.get(Team, team.id).member_count == 4
    late = factories.user(locale="en")
    login_as(user=late)
    page = client.post(f"/teams/join/{team.invite_code}", data=_profile_form(late)).get_data(as_text=True)
    assert "3–4 members including the leader; this one would have 5" in page
    assert db.session.scalar(select(func.count(TeamMember.id)).where(TeamMember.team_id == team.id)) == 4


def test_wrong_invite_codes_are_404_and_throttled(client, login_as, contest):
    login_as()
    statuses = [client.get(f"/teams/join/guess{i:04d}").status_code for i in range(25)]
    assert statuses[:20] == [404] * 20 and set(statuses[20:]) == {429}


def test_another_teams_code_cannot_be_used_to_edit_it(client, login_as, contest):
    team = factories.team(contest)
    login_as()
    assert client.post(f"/teams/{team.id}/edit", data={"name": "x"}).status_code == 404
    assert client.post(f"/teams/{team.id}/submit").status_code == 404


def test_leader_submits_and_institution_organizer_approves(client, login_as, contest, outbox):
    team = factories.team(contest, members=2)
    login_as(user=team.leader)
    client.post(f"/teams/{team.id}/submit")
    assert db.session.get(Team, team.id).state == TeamState.SUBMITTED

    reviewer = factories.user(institution=team.institution, locale="en")
    factories.grant(reviewer, contest, "institution_organizer", team.institution)
    db.session.commit()
    login_as(user=reviewer)
    listing = client.get("/competitions/CY2026/teams/", headers=EN).get_data(as_text=True)
    assert team.name in listing
    refused = client.post(f"/teams/{team.id}/approve", headers=EN, follow_redirects=True).get_data(as_text=True)
    assert "confirm that every member is a registered student" in refused
    assert db.session.get(Team, team.id).state == TeamState.SUBMITTED
    client.post(f"/teams/{team.id}/approve", data={"confirm": "y"})
    assert db.session.get(Team, team.id).state == TeamState.APPROVED
    assert [m["To"] for m in outbox] == [team.leader.email]


def test_institution_organizer_cannot_review_another_institution(client, login_as, contest):
    team = factories.team(contest, members=2, state="submitted")
    reviewer = factories.user(institution=factories.institution("CQU"))
    factories.grant(reviewer, contest, "institution_organizer", reviewer.institution)
    db.session.commit()
    login_as(user=reviewer)
    assert client.get(f"/teams/{team.id}").status_code == 404
    assert client.post(f"/teams/{team.id}/approve", data={"confirm": "y"}).status_code == 404
    assert team.name not in client.get("/competitions/CY2026/teams/").get_data(as_text=True)
    assert db.session.get(Team, team.id).state == TeamState.SUBMITTED


def test_organizer_of_another_competition_sees_nothing(client, login_as, contest):
    team = factories.team(contest, members=2, state="submitted")
    login_as("organizer", competition=factories.competition(code="OTHER"))
    assert client.get("/competitions/CY2026/teams/").status_code == 403
    assert client.get(f"/teams/{team.id}").status_code == 404


def test_return_with_reason_is_shown_to_the_team(client, login_as, contest):
    team = factories.team(contest, members=2, state="submitted")
    login_as("organizer", competition=contest, locale="en")
    client.post(f"/teams/{team.id}/return", data={"reason": ""})
    assert db.session.get(Team, team.id).state == TeamState.SUBMITTED
    client.post(f"/teams/{team.id}/return", data={"reason": "请补充团队成员学号"})
    assert db.session.get(Team, team.id).state == TeamState.RETURNED
    login_as(user=team.leader)
    assert "请补充团队成员学号" in client.get(f"/teams/{team.id}").get_data(as_text=True)


def test_review_list_filters_and_counts(client, login_as, contest):
    cqu = factories.institution("CQU")
    factories.team(contest, name="成都队", state="approved")
    factories.team(contest, name="重庆队", institution_row=cqu, state="submitted")
    login_as("organizer", competition=contest, locale="en")
    page = client.get("/competitions/CY2026/teams/", query_string={"side": "chongqing"}).get_data(as_text=True)
    assert "重庆队" in page and "成都队" not in page
    by_member = client.get("/competitions/CY2026/teams/", query_string={"q": "测试用户"}).get_data(as_text=True)
    assert "2 team(s) found" in by_member
    by_state = client.get("/competitions/CY2026/teams/", query_string={"state": "approved"}).get_data(as_text=True)
    assert "成都队" in by_state and "重庆队" not in by_state


def test_over_posting_on_team_forms_is_ignored(client, login_as, contest):
    team = factories.team(contest, members=2)
    login_as(user=team.leader)
    client.post(
        f"/teams/{team.id}/edit",
        data={
            "name": "新名字",
            "project_title": "新项目",
            "track": str(contest.tracks[0].id),
            "institution": str(team.institution_id),
            "state": "approved",
            "leader_id": "1",
            "member_count": "1",
        },
    )
    team = db.session.get(Team, team.id)
    assert team.name == "新名字" and team.state == TeamState.DRAFT and team.member_count == 3


def test_leader_adds_an_advisor_and_the_limit_is_enforced(client, login_as, contest):
    contest.max_advisors = 1
    team = factories.team(contest, members=2)
    team.leader.locale = "en"
    login_as(user=team.leader)
    client.post(f"/teams/{team.id}/advisors/new", data={"name": "王老师", "title": "教授", "institution": ""})
    page = client.post(
        f"/teams/{team.id}/advisors/new", data={"name": "李老师", "title": "", "institution": ""}, follow_redirects=True
    ).get_data(as_text=True)
    assert "at most 1 advisor(s); this one would have 2" in page
    assert _count(Advisor) == 1


def test_team_names_are_escaped_everywhere(client, login_as, contest):
    team = factories.team(contest, name="<script>alert(1)</script>")
    login_as(user=team.leader)
    page = client.get(f"/teams/{team.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_state_changing_team_routes_refuse_get(client, login_as, contest):
    team = factories.team(contest)
    login_as(user=team.leader)
    for action in ("submit", "withdraw", "invite-code", "leave", "approve", "return", "unlock"):
        assert client.get(f"/teams/{team.id}/{action}").status_code == 405, action


def test_invitation_link_in_the_mail_lets_the_invitee_join(client, login_as, contest, outbox):
    team = factories.team(contest, members=1)
    invitee = factories.user(email="friend@example.edu.cn")
    db.session.commit()
    login_as(user=team.leader)
    client.post(f"/teams/{team.id}/invite", data={"email": "friend@example.edu.cn"})
    [message] = outbox
    link = re.search(r"http://localhost(/teams/invitations/\S+)", message.get_body(("plain",)).get_content()).group(1)
    login_as(user=invitee)
    assert client.post(link, data=_profile_form(invitee)).status_code == 302
    assert db.session.get(Team, team.id).member_for(invitee) is not None


def test_rule_messages_are_in_chinese_for_chinese_users(client, login_as, contest):
    team = factories.team(contest, members=3)  # full: 4 of 4
    late = login_as()  # a Chinese-speaking student
    page = client.post(
        f"/teams/join/{team.invite_code}",
        data={
            "real_name": late.real_name,
            "student_number": "2024000999",
            "member_institution": str(late.institution_id),
            "department": "经济学院",
            "major": "金融学",
            "degree_level": "bachelor",
            "enrollment_year": "2024",
            "graduation_year": "2028",
        },
    ).get_data(as_text=True)
    assert "团队人数（含负责人）应为 3–4 人" in page and "5 人" in page
