"""The expert pool's pages and mentoring through HTTP: who may manage the pool, adding and inviting
an expert (the link sets a password and logs in), the pool's filters, the team's Mentors section,
answering a request."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from competition.experts.models import Expert, Mentorship, MentorshipState
from competition.extensions import db
from competition.judging import conflicts
from tests import factories
from tests.experts.helpers import counts, expert, mails

EN = {"Accept-Language": "en"}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _link(message, path_part: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"http://localhost({path_part}\S+)", body).group(1)


def _new_expert_form(**overrides) -> dict:
    form = {
        "email": "zhang.jg@example.com",
        "locale": "en",
        "real_name": "张建国",
        "title": "合伙人",
        "institution": "",
        "employer": "天府创新投资",
        "city": "成都",
        "side": "sichuan",
        "kind": "investor",
        "expertise": "idea, 人工智能",
        "mentors": "y",
        "bio": "",
        "invite": "y",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


# --- who manages the pool -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/experts/", "/experts/new", "/experts/import", "/experts/export.xlsx",
                                  "/experts/import-template.xlsx"])  # fmt: skip
def test_a_student_or_a_judge_cannot_manage_the_pool(client, login_as, path):
    login_as("student")
    assert client.get(path, headers=EN).status_code == 403
    login_as("judge")
    assert client.get(path, headers=EN).status_code == 403


def test_a_student_cannot_add_edit_or_invite(client, db, login_as):
    row = expert()
    login_as("student")
    db.session.commit()
    before = counts()
    assert client.post("/experts/new", data=_new_expert_form(), headers=EN).status_code == 403
    assert client.post(f"/experts/{row.id}", data=_new_expert_form(), headers=EN).status_code == 403
    assert client.post(f"/experts/{row.id}/invite", headers=EN).status_code == 403
    assert counts() == before


def test_an_organizer_of_any_competition_manages_the_pool(client, login_as):
    login_as("organizer", locale="en")
    page = client.get("/experts/", headers=EN)
    assert page.status_code == 200 and "Expert pool" in _text(page)
    assert client.get("/experts/999", headers=EN).status_code == 404


def test_the_navigation_offers_the_pool_and_mentoring_to_whom_it_concerns(client, db, login_as):
    organizer = login_as("organizer", locale="en")
    text = _text(client.get("/", headers=EN))
    assert 'href="/experts/"' in text and 'href="/experts/mentoring"' not in text
    expert(organizer)
    db.session.commit()
    assert 'href="/experts/mentoring"' in _text(client.get("/", headers=EN))
    login_as("student")
    text = _text(client.get("/", headers=EN))
    assert 'href="/experts/"' not in text and 'href="/experts/mentoring"' not in text


# --- adding, inviting, editing --------------------------------------------------------------------


def test_an_invited_expert_sets_a_password_through_the_link_and_logs_in(client, db, login_as, outbox):
    login_as("admin", locale="en")
    response = client.post("/experts/new", data=_new_expert_form(), headers=EN)
    assert response.status_code == 302
    created = db.session.scalar(select(Expert))
    assert response.headers["Location"] == f"/experts/{created.id}"
    assert not created.user.is_verified and created.expertise == ["idea", "人工智能"]
    [message] = outbox
    assert message["To"] == "zhang.jg@example.com" and "expert pool" in message["Subject"]
    link = _link(message, "/account/password/reset/")

    client.post("/account/logout")
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "a new password", "password_confirm": "a new password"})
    assert response.status_code == 302
    response = client.post("/account/login", data={"email": "zhang.jg@example.com", "password": "a new password"})
    assert response.status_code == 302
    db.session.refresh(created.user)
    assert created.user.is_verified
    assert 'href="/experts/mentoring"' in _text(client.get("/", headers=EN))
    # the link worked once
    assert client.get(link).status_code == 302


def test_adding_without_the_invitation_then_inviting_from_the_expert_page(client, db, login_as, outbox):
    login_as("organizer", locale="en")
    response = client.post("/experts/new", data=_new_expert_form(invite=None), headers=EN)
    assert response.status_code == 302 and outbox == []
    created = db.session.scalar(select(Expert))
    page = client.get(f"/experts/{created.id}", headers=EN)
    assert "Not yet used: the expert has not set a password" in _text(page) and "never" in _text(page)
    response = client.post(f"/experts/{created.id}/invite", headers=EN, follow_redirects=True)
    assert "The invitation has been sent to zhang.jg@example.com." in _text(response)
    assert len(outbox) == 1 and outbox[0]["To"] == "zhang.jg@example.com"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"side": ""}, "Please choose the side: Sichuan or Chongqing."),
        ({"kind": ""}, "Please choose the kind: academic, investor, entrepreneur or official."),
        ({"kind": "wizard"}, "Unknown kind “wizard”"),
        ({"email": "nobody"}, "valid e-mail address"),
        ({"employer": ""}, "Please enter the employer (a university or a company)."),
        ({"institution": "99999"}, "Please choose one of the listed institutions."),
        ({"expertise": "x" * 31}, "A tag has at most 30 characters"),
    ],
)
def test_a_bad_form_is_shown_again_with_its_message_and_nothing_is_added(client, db, login_as, overrides, message):
    login_as("admin", locale="en")
    before = counts()
    response = client.post("/experts/new", data=_new_expert_form(**overrides), headers=EN)
    assert response.status_code == 200 and message in _text(response)
    assert counts() == before


def test_adding_someone_already_in_the_pool_is_refused(client, db, login_as):
    login_as("admin", locale="en")
    expert(factories.user(email="zhang.jg@example.com"))
    db.session.commit()
    before = counts()
    response = client.post("/experts/new", data=_new_expert_form(), headers=EN)
    assert "zhang.jg@example.com is already in the expert pool." in _text(response)
    assert counts() == before


def test_an_institution_fills_in_the_side(client, db, login_as):
    cqu = factories.institution("CQU")
    login_as("admin", locale="en")
    data = _new_expert_form(institution=str(cqu.id), employer="", city="", side="")
    assert client.post("/experts/new", data=data, headers=EN).status_code == 302
    created = db.session.scalar(select(Expert))
    assert (created.side, created.city, created.employer) == ("chongqing", "重庆", "重庆大学")


def test_the_expert_page_edits_the_profile(client, db, login_as):
    row = expert(factories.user(verified=False, real_name="旧名"))
    login_as("admin", locale="en")
    page = _text(client.get(f"/experts/{row.id}", headers=EN))
    assert 'value="growth, 智能制造"' in page and "旧名" in page
    data = _new_expert_form(email=None, locale=None, invite=None, real_name="新名", kind="official", mentors=None)
    response = client.post(f"/experts/{row.id}", data=data, headers=EN)
    assert response.status_code == 302
    db.session.refresh(row)
    assert (row.user.real_name, row.kind, row.mentors, row.side) == ("新名", "official", False, "sichuan")


def test_the_name_of_an_account_in_use_is_not_changed_here(client, db, login_as):
    row = expert(factories.user(real_name="本人"))
    login_as("admin", locale="en")
    data = _new_expert_form(email=None, locale=None, invite=None, real_name="别人")
    response = client.post(f"/experts/{row.id}", data=data, headers=EN)
    assert "they change their name in their own profile" in _text(response)
    db.session.refresh(row)
    assert row.user.real_name == "本人" and row.kind == "entrepreneur"


# --- the pool's list ------------------------------------------------------------------------------


def test_the_pool_list_filters_and_pages(client, db, login_as):
    login_as("admin", locale="en")
    expert(factories.user(real_name="甲老师"), expertise=["ai"], side="sichuan", kind="academic")
    expert(factories.user(real_name="乙总"), expertise=["growth"], employer="西部投资", kind="investor", mentors=False)
    for index in range(31):
        expert(factories.user(real_name=f"丙{index:02d}"), expertise=["bulk"])
    db.session.commit()

    def names(query: str) -> list[str]:
        text = _text(client.get(f"/experts/?{query}", headers=EN))
        return re.findall(r'<a href="/experts/\d+">([^<]+)</a>', text)

    assert names("tag=ai") == ["甲老师"]
    assert names("side=sichuan") == ["甲老师"]
    assert names("kind=investor") == ["乙总"]
    assert names("mentors=no") == ["乙总"]
    assert names("q=西部") == ["乙总"]
    assert len(names("")) == 30 and len(names("page=2")) == 3
    assert 'href="/experts/?page=2&amp;tag=bulk"' in _text(client.get("/experts/?tag=bulk", headers=EN))
    assert names("tag=nope") and names("side=mars")  # unknown filters are ignored


# --- mentoring ------------------------------------------------------------------------------------


@pytest.fixture
def setting(app):
    contest = factories.competition()
    team = factories.team(contest, institution_row=factories.institution("SCU"))
    team.leader.locale = "en"
    mentor = expert(factories.user(real_name="孙婷", locale="en"), expertise=["growth", "ai"])
    other = expert(factories.user(real_name="赵磊", locale="en"), expertise=["idea"])
    quiet = expert(factories.user(real_name="不带队"), mentors=False)
    factories.grant(mentor.user, contest, "judge")
    db.session.commit()
    return contest, team, mentor, other, quiet


def _sign_in(client, user):
    """Sign in as `user`, who reads English (the pages' texts are asserted in English)."""
    from competition.extensions import db

    user.locale = "en"
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def test_the_leader_asks_the_expert_accepts_and_the_team_sees_its_mentor(client, db, setting, outbox):
    contest, team, mentor, other, quiet = setting
    _sign_in(client, team.leader)
    page = _text(client.get(f"/teams/{team.id}", headers=EN))
    assert "No mentor yet." in page and "Ask an expert of the alliance's pool" in page
    assert "孙婷" in page and "赵磊" in page and "不带队" not in page
    filtered = _text(client.get(f"/teams/{team.id}?mentor_tag=idea", headers=EN))
    assert "赵磊" in filtered and "孙婷" not in filtered

    response = client.post(
        f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id), "message": "请指导"}, headers=EN
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/teams/{team.id}#mentors"
    [request_mail] = outbox
    assert request_mail["To"] == mentor.user.email
    page = _text(client.get(f"/teams/{team.id}", headers=EN))
    assert "Requests waiting for an answer" in page and "Withdraw the request" in page

    _sign_in(client, mentor.user)
    page = _text(client.get("/experts/mentoring", headers=EN))
    assert team.name in page and "请指导" in page and 'value="accept"' in page
    mentorship = db.session.scalar(select(Mentorship))
    response = client.post(f"/experts/mentorships/{mentorship.id}/answer", data={"decision": "accept"}, headers=EN)
    assert response.status_code == 302
    db.session.refresh(mentorship)
    assert mentorship.state == MentorshipState.ACCEPTED
    assert (mentor.user_id, team.id) in conflicts.active_pairs(contest)
    assert outbox[-1]["To"] == team.leader.email
    assert "Teams you mentor" in _text(client.get("/experts/mentoring", headers=EN))

    _sign_in(client, team.leader)
    page = _text(client.get(f"/teams/{team.id}", headers=EN))
    section = page.split('id="mentors"', 1)[1]
    assert "孙婷" in section and mentor.user.email in section and "End the mentorship" in section


def test_the_expert_declines_and_the_leader_is_told(client, db, setting, outbox):
    _contest, team, mentor, _other, _quiet = setting
    _sign_in(client, team.leader)
    client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id)}, headers=EN)
    mentorship = db.session.scalar(select(Mentorship))
    _sign_in(client, mentor.user)
    response = client.post(
        f"/experts/mentorships/{mentorship.id}/answer", data={"decision": "decline"}, headers=EN, follow_redirects=True
    )
    assert f"You have declined the request of the team “{team.name}”." in _text(response)
    assert outbox[-1]["To"] == team.leader.email and "declined" in outbox[-1]["Subject"]


def test_only_the_expert_answers_their_request(client, db, setting, login_as):
    _contest, team, mentor, other, _quiet = setting
    _sign_in(client, team.leader)
    client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id)}, headers=EN)
    mentorship = db.session.scalar(select(Mentorship))
    admin = factories.user(is_admin=True)
    organizer = factories.user()
    factories.grant(organizer, team.competition, "organizer")
    db.session.commit()
    before = counts()
    for someone in (team.leader, other.user, admin, organizer):
        _sign_in(client, someone)
        response = client.post(f"/experts/mentorships/{mentorship.id}/answer", data={"decision": "accept"})
        assert response.status_code == 404
    assert counts() == before
    db.session.refresh(mentorship)
    assert mentorship.state == MentorshipState.REQUESTED


def test_an_answer_without_a_decision_changes_nothing(client, db, setting):
    _contest, team, mentor, _other, _quiet = setting
    _sign_in(client, team.leader)
    client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id)}, headers=EN)
    mentorship = db.session.scalar(select(Mentorship))
    _sign_in(client, mentor.user)
    before = counts()
    response = client.post(
        f"/experts/mentorships/{mentorship.id}/answer", data={"decision": "maybe"}, headers=EN, follow_redirects=True
    )
    assert "Please choose Accept or Decline." in _text(response)
    assert counts() == before


def test_only_the_leader_asks_and_refusals_are_flashed(client, db, setting):
    _contest, team, mentor, _other, quiet = setting
    member = team.members[1].user
    _sign_in(client, member)
    assert client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id)}).status_code == 403
    outsider = factories.user()
    db.session.commit()
    _sign_in(client, outsider)
    assert client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id)}).status_code == 404
    _sign_in(client, team.leader)
    before = counts()
    response = client.post(
        f"/experts/teams/{team.id}/request", data={"expert": str(quiet.id)}, headers=EN, follow_redirects=True
    )
    assert "This expert does not take mentoring requests." in _text(response)
    response = client.post(f"/experts/teams/{team.id}/request", data={"expert": ""}, headers=EN, follow_redirects=True)
    assert "Please choose an expert." in _text(response)
    response = client.post(
        f"/experts/teams/{team.id}/request", data={"expert": "99999"}, headers=EN, follow_redirects=True
    )
    assert "Please choose an expert." in _text(response)
    assert counts() == before


def test_a_member_sees_the_mentors_but_not_the_request_form(client, db, setting):
    _contest, team, mentor, _other, _quiet = setting
    _sign_in(client, team.members[1].user)
    page = _text(client.get(f"/teams/{team.id}", headers=EN))
    assert "No mentor yet." in page and "Send the request" not in page


def test_the_leader_withdraws_a_request(client, db, setting):
    _contest, team, mentor, _other, _quiet = setting
    _sign_in(client, team.leader)
    client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id)}, headers=EN)
    mentorship = db.session.scalar(select(Mentorship))
    response = client.post(f"/experts/mentorships/{mentorship.id}/end", headers=EN, follow_redirects=True)
    assert "The request has been withdrawn." in _text(response)
    db.session.refresh(mentorship)
    assert mentorship.state == MentorshipState.ENDED


def test_mentoring_page_for_someone_outside_the_pool(client, login_as):
    login_as("student", locale="en")
    page = client.get("/experts/mentoring", headers=EN)
    assert page.status_code == 200 and "You are not in the alliance's expert pool." in _text(page)


def test_the_mentoring_page_tells_an_expert_who_takes_no_requests(client, db, setting, login_as):
    *_rest, quiet = setting
    _sign_in(client, quiet.user)
    page = _text(client.get("/experts/mentoring", headers=EN))
    assert "Teams cannot ask you for mentoring at the moment" in page and "No request is waiting." in page


def test_invitation_mails_render_in_chinese_too(db, setting):
    from competition.experts import services

    _contest, team, mentor, _other, _quiet = setting
    mentor.user.locale = "zh_Hans_CN"
    services.request_mentor(team, mentor, actor=team.leader)
    [mail] = mails("experts/emails/mentor_request")
    assert mail.locale == "zh_Hans_CN" and team.name in mail.body_html


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_with_csrf_on_the_mentoring_buttons_carry_their_token(client, db, setting):
    _contest, team, mentor, _other, _quiet = setting
    _sign_in(client, team.leader)  # the leader asks through the form on the team's page
    text = _text(client.get(f"/teams/{team.id}", headers=EN))
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', text).group(1)
    assert client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id)}).status_code == 400
    response = client.post(f"/experts/teams/{team.id}/request", data={"expert": str(mentor.id), "csrf_token": token})
    assert response.status_code == 302
    mentorship = db.session.scalar(select(Mentorship))
    _sign_in(client, mentor.user)
    text = _text(client.get("/experts/mentoring", headers=EN))
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    response = client.post(
        f"/experts/mentorships/{mentorship.id}/answer", data={"decision": "accept", "csrf_token": token}
    )
    assert response.status_code == 302
    db.session.refresh(mentorship)
    assert mentorship.state == MentorshipState.ACCEPTED
