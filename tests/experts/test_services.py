"""The expert pool's services: profiles, accounts, invitations; mentoring and its conflict of interest.
Every refusal comes with its message and leaves the database as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from competition.accounts import services as account_services
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.experts import services
from competition.experts.models import Expert, Mentorship, MentorshipState
from competition.extensions import db
from competition.judging import conflicts
from competition.judging.models import Conflict, ConflictSource
from competition.teams.models import TeamState
from tests import factories
from tests.experts.helpers import counts, expert, mails, profile

pytestmark = pytest.mark.usefixtures("english")


def refused(action, message: str) -> DomainError:
    """`action()` is refused with `message` and changes nothing."""
    db.session.commit()
    before = counts()
    with pytest.raises(DomainError) as caught:
        action()
    db.session.rollback()
    assert message in str(caught.value.message)
    assert counts() == before
    return caught.value


# --- profiles and accounts ------------------------------------------------------------------------


def test_a_new_address_gets_an_unverified_account_nobody_can_log_in_to(app):
    admin = factories.user(is_admin=True)
    created = services.create_expert(
        actor=admin, email=" Zhang.JG＠Example.com ", profile=profile(expertise="Idea，人工智能、AI  ai"), locale="en"
    )
    db.session.commit()
    user = created.user
    assert user.email == "zhang.jg@example.com" and user.real_name == "张建国" and user.locale == "en"
    assert not user.is_verified
    assert not account_services.password_matches(user, "")
    assert (created.title, created.employer, created.city, created.side, created.kind) == (
        "教授", "天府创新投资", "成都", "sichuan", "investor",
    )  # fmt: skip
    assert created.expertise == ["idea", "人工智能", "ai"] and created.mentors is True
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "expert.create"))
    assert entry.actor_id == admin.id and entry.details["new_account"] is True
    assert mails("experts/emails/invitation") == []


def test_an_existing_account_is_linked_and_keeps_its_name(app):
    admin = factories.user(is_admin=True)
    teacher = factories.user(email="teacher@example.edu.cn", real_name="王老师")
    before = counts()["users"]
    created = services.create_expert(actor=admin, email="TEACHER@example.edu.cn", profile=profile(real_name="别的名字"))
    assert created.user_id == teacher.id and teacher.real_name == "王老师"
    assert counts()["users"] == before


def test_an_institution_gives_the_employer_city_and_side_unless_they_are_given(app):
    admin = factories.user(is_admin=True)
    cqu = factories.institution("CQU")
    created = services.create_expert(
        actor=admin, email="a@example.com", profile=profile(employer="", city="", side=None, institution=cqu)
    )
    assert (created.employer, created.city, created.side, created.institution_id) == ("重庆大学", "重庆", "chongqing",
                                                                                      cqu.id)  # fmt: skip
    assert created.user.institution_id == cqu.id
    other = services.create_expert(
        actor=admin,
        email="b@example.com",
        profile=profile(employer="重庆大学成都研究院", city="成都", side="四川", institution=cqu),  # fmt: skip
    )
    assert (other.employer, other.city, other.side) == ("重庆大学成都研究院", "成都", "sichuan")


@pytest.mark.parametrize(
    ("email", "fields", "message", "field"),
    [
        ("x@example.com", {"side": None}, "Please choose the side: Sichuan or Chongqing.", "side"),
        ("x@example.com", {"side": "成都"}, "Unknown side “成都”", "side"),
        ("x@example.com", {"kind": "professor"}, "Unknown kind “professor”", "kind"),
        ("x@example.com", {"kind": ""}, "Please choose the kind", "kind"),
        ("x@example.com", {"real_name": "  "}, "Please enter the expert's name.", "real_name"),
        ("x@example.com", {"real_name": "名" * 51}, "At most 50 characters", "real_name"),
        ("x@example.com", {"employer": ""}, "Please enter the employer", "employer"),
        ("x@example.com", {"city": ""}, "Please enter the city.", "city"),
        ("x@example.com", {"title": "t" * 101}, "At most 100 characters", "title"),
        ("x@example.com", {"expertise": "a" * 31}, "A tag has at most 30 characters", "expertise"),
        ("x@example.com", {"expertise": " ".join(f"t{i}" for i in range(31))}, "At most 30 tags", "expertise"),
        ("x@example.com", {"bio": "b" * 2001}, "At most 2000 characters", "bio"),
        ("not an address", {}, "This is not a valid e-mail address.", "email"),
    ],
)
def test_a_bad_profile_is_refused_with_its_field(app, email, fields, message, field):
    admin = factories.user(is_admin=True)
    error = refused(lambda: services.create_expert(actor=admin, email=email, profile=profile(**fields)), message)
    assert error.field == field


def test_someone_already_in_the_pool_is_refused(app):
    admin = factories.user(is_admin=True)
    services.create_expert(actor=admin, email="x@example.com", profile=profile())
    refused(
        lambda: services.create_expert(actor=admin, email="X@example.com", profile=profile()),
        "x@example.com is already in the expert pool.",
    )


def test_tags_are_split_lower_cased_and_kept_once():
    assert services.parse_tags("AI,人工智能，Idea、idea  乡村振兴;ＡＩ") == ["ai", "人工智能", "idea", "乡村振兴"]
    assert services.parse_tags(["Growth", "growth"]) == ["growth"]
    assert services.parse_tags("") == []


def test_the_side_is_never_guessed_from_a_name():
    with pytest.raises(DomainError):
        services.parse_side("四川外国语大学", None)
    assert services.parse_side("重庆市", None) == "chongqing"
    assert services.parse_side(" Sichuan ", None) == "sichuan"


def test_update_changes_the_profile_and_records_what_changed(app):
    admin = factories.user(is_admin=True)
    created = services.create_expert(actor=admin, email="x@example.com", profile=profile())
    services.update_expert(created, actor=admin, profile=profile(real_name="张建国二", kind="学术专家", mentors=False))
    assert (created.user.real_name, created.kind, created.mentors) == ("张建国二", "academic", False)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "expert.update"))
    assert entry.details["changes"]["kind"] == ["investor", "academic"]
    assert entry.details["changes"]["name"] == ["张建国", "张建国二"]


def test_the_name_of_an_account_in_use_is_its_owners(app):
    admin = factories.user(is_admin=True)
    row = expert()
    db.session.commit()
    refused(
        lambda: services.update_expert(row, actor=admin, profile=profile(real_name="新名字")),
        "they change their name in their own profile",
    )


# --- invitations ----------------------------------------------------------------------------------


def test_the_invitation_is_in_the_invitees_language_with_a_set_password_link(app):
    admin = factories.user(is_admin=True, real_name="组织者")
    english = services.create_expert(actor=admin, email="en@example.com", profile=profile(), locale="en", invite=True)
    chinese = services.create_expert(actor=admin, email="zh@example.com", profile=profile(), invite=True)
    first, second = mails("experts/emails/invitation")
    assert (first.to_address, first.locale, second.to_address, second.locale) == (
        "en@example.com", "en", "zh@example.com", "zh_Hans_CN",
    )  # fmt: skip
    assert "http://localhost/account/password/reset/" in first.body_text
    assert "has added you to the expert pool" in first.body_text and "组织者" in first.body_text
    token = first.body_text.split("/account/password/reset/", 1)[1].split()[0]
    assert account_services.user_for_reset_token(token).id == english.user_id
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "expert.invite")).all()
    assert len(actions) == 2 and chinese.user_id != english.user_id


def test_an_expert_who_uses_their_account_is_asked_to_log_in(app):
    admin = factories.user(is_admin=True)
    row = expert(factories.user(locale="en"))
    services.invite_expert(row, actor=admin)
    [mail] = mails("experts/emails/invitation")
    assert "/account/password/reset/" not in mail.body_text
    assert "You already have an account with this address" in mail.body_text


def test_a_disabled_account_is_not_invited(app):
    admin = factories.user(is_admin=True)
    row = expert(factories.user(is_disabled=True))
    refused(lambda: services.invite_expert(row, actor=admin), "This expert's account has been disabled")


# --- the pool's queries ---------------------------------------------------------------------------


def test_the_pool_filters_by_tag_side_kind_mentoring_and_text(app):
    expert(factories.user(real_name="甲"), expertise=["ai", "人工智能"], side="sichuan", kind="academic")
    expert(factories.user(real_name="乙"), expertise=["ai_x", "growth"], side="chongqing", mentors=False)
    expert(factories.user(real_name="丙"), expertise=["100%"], employer="西部投资", kind="investor")

    def names(**filters):
        return [row.user.real_name for row in db.session.scalars(services.pool_query(services.PoolFilters(**filters)))]

    assert names() == sorted(["甲", "乙", "丙"])
    assert names(tag="ai") == ["甲"]  # "ai_x" is another tag, and "_" is no wildcard
    assert names(tag="人工智能") == ["甲"]
    assert names(tag="100%") == ["丙"]
    assert names(side="sichuan") == ["甲"]
    assert names(kind="investor") == ["丙"]
    assert names(mentors=False) == ["乙"]
    assert names(q="西部") == ["丙"]
    assert services.known_tags(mentors_only=True) == sorted(["ai", "人工智能", "100%"])
    assert "ai_x" in services.known_tags()


# --- mentoring ------------------------------------------------------------------------------------


@pytest.fixture
def setting(app):
    """A team, its leader, a mentor of the pool who judges in the team's competition."""
    contest = factories.competition()
    team = factories.team(contest, institution_row=factories.institution("SCU"))
    mentor = expert(factories.user(real_name="孙婷", locale="en", institution=factories.institution("CQU")))
    factories.grant(mentor.user, contest, "judge")
    db.session.commit()
    return contest, team, mentor


def test_request_accept_end_and_the_conflict_of_interest(setting):
    contest, team, mentor = setting
    leader = team.leader
    mentorship = services.request_mentor(team, mentor, actor=leader, message="  请指导我们的商业计划  ")
    db.session.commit()
    assert (mentorship.state, mentorship.message, mentorship.requested_by_id) == ("requested", "请指导我们的商业计划",
                                                                                  leader.id)  # fmt: skip
    [request] = mails("experts/emails/mentor_request")
    assert request.to_address == mentor.user.email and request.locale == "en"
    assert team.name in request.body_text and "请指导我们的商业计划" in request.body_text
    assert "http://localhost/experts/mentoring" in request.body_text
    assert (mentor.user_id, team.id) not in conflicts.active_pairs(contest)

    services.answer_mentorship(mentorship, actor=mentor.user, accept=True)
    db.session.commit()
    assert mentorship.state == MentorshipState.ACCEPTED and mentorship.answered_at is not None
    assert (mentor.user_id, team.id) in conflicts.active_pairs(contest)
    conflict = db.session.scalar(select(Conflict).where(Conflict.team_id == team.id))
    assert conflict.source == ConflictSource.MENTOR and "导师" in conflict.reason
    [answer] = mails("experts/emails/mentor_answer")
    assert (
        answer.to_address == leader.email and "已同意担任" in answer.subject + answer.body_text
    )  # the leader reads Chinese

    services.end_mentorship(mentorship, actor=leader)
    db.session.commit()
    assert mentorship.state == MentorshipState.ENDED
    # judging.conflicts: an ended mentorship still keeps the mentor off the team (they coached it)
    assert (mentor.user_id, team.id) in conflicts.active_pairs(contest)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("mentorship.%")).order_by(AuditEntry.id)
    ).all()
    assert actions == ["mentorship.request", "mentorship.answer", "mentorship.end"]


def test_the_expert_may_end_an_accepted_mentorship_too(setting):
    contest, team, mentor = setting
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    services.answer_mentorship(mentorship, actor=mentor.user, accept=True)
    services.end_mentorship(mentorship, actor=mentor.user)
    assert mentorship.state == MentorshipState.ENDED
    assert mentorship.answered_at is not None


def test_a_request_withdrawn_before_an_answer_is_no_conflict(setting):
    contest, team, mentor = setting
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    services.end_mentorship(mentorship, actor=team.leader)
    assert mentorship.state == MentorshipState.ENDED and mentorship.answered_at is None
    conflicts.refresh_automatic_conflicts(contest, actor=None)
    assert conflicts.active_pairs(contest) == set()


def test_a_declined_request_tells_the_leader_and_makes_no_conflict(setting):
    contest, team, mentor = setting
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    services.answer_mentorship(mentorship, actor=mentor.user, accept=False)
    assert mentorship.state == MentorshipState.DECLINED
    [answer] = mails("experts/emails/mentor_answer")
    assert answer.to_address == team.leader.email
    assert conflicts.active_pairs(contest) == set()


def test_an_ended_mentorship_may_be_asked_for_again_in_the_same_row(setting):
    _contest, team, mentor = setting
    first = services.request_mentor(team, mentor, actor=team.leader)
    services.end_mentorship(first, actor=team.leader)  # withdrawn before an answer
    again = services.request_mentor(team, mentor, actor=team.leader, message="again")
    assert again.id == first.id and again.state == MentorshipState.REQUESTED and again.answered_at is None


def test_request_refusals(setting):
    contest, team, mentor = setting
    member = team.members[1].user
    refused(lambda: services.request_mentor(team, mentor, actor=member), "Only the team's leader can ask for a mentor.")
    quiet = expert(mentors=False)
    refused(
        lambda: services.request_mentor(team, quiet, actor=team.leader),
        "This expert does not take mentoring requests.",
    )
    insider = expert(member)
    refused(lambda: services.request_mentor(team, insider, actor=team.leader), "A member of the team cannot mentor it.")
    refused(
        lambda: services.request_mentor(team, mentor, actor=team.leader, message="m" * 1001),
        "A message has at most 1000 characters.",
    )
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    refused(
        lambda: services.request_mentor(team, mentor, actor=team.leader),
        "You have already asked this expert; the request is waiting for an answer.",
    )
    services.answer_mentorship(mentorship, actor=mentor.user, accept=True)
    refused(lambda: services.request_mentor(team, mentor, actor=team.leader), "This expert already mentors the team.")


def test_an_expert_who_declined_is_not_asked_again(setting):
    _contest, team, mentor = setting
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    services.answer_mentorship(mentorship, actor=mentor.user, accept=False)
    refused(
        lambda: services.request_mentor(team, mentor, actor=team.leader), "This expert has declined the team's request."
    )


def test_a_withdrawn_team_asks_no_mentor_and_cannot_be_accepted(setting):
    _contest, team, mentor = setting
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    team.state = TeamState.WITHDRAWN.value
    other = expert()
    refused(
        lambda: services.request_mentor(team, other, actor=team.leader),
        "The team has withdrawn; it cannot ask for a mentor.",
    )
    refused(
        lambda: services.answer_mentorship(mentorship, actor=mentor.user, accept=True),
        "The team has withdrawn; the request can only be declined.",
    )
    services.answer_mentorship(mentorship, actor=mentor.user, accept=False)
    assert mentorship.state == MentorshipState.DECLINED


def test_a_team_has_at_most_five_requests_waiting(setting):
    _contest, team, _mentor = setting
    for _ in range(services.OPEN_REQUESTS_MAX):
        services.request_mentor(team, expert(), actor=team.leader)
    sixth = expert()
    refused(lambda: services.request_mentor(team, sixth, actor=team.leader), "The team has 5 requests waiting")


def test_only_the_expert_answers_and_only_once(setting):
    _contest, team, mentor = setting
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    for someone in (team.leader, factories.user(is_admin=True)):
        refused(
            lambda someone=someone: services.answer_mentorship(mentorship, actor=someone, accept=True),
            "Only the expert asked can answer this request.",
        )
    services.answer_mentorship(mentorship, actor=mentor.user, accept=False)
    refused(
        lambda: services.answer_mentorship(mentorship, actor=mentor.user, accept=True),
        "This request is no longer waiting for an answer.",
    )


def test_end_refusals(setting):
    _contest, team, mentor = setting
    mentorship = services.request_mentor(team, mentor, actor=team.leader)
    refused(
        lambda: services.end_mentorship(mentorship, actor=team.members[1].user),
        "Only the team's leader or the expert can end this mentorship.",
    )
    refused(lambda: services.end_mentorship(mentorship, actor=mentor.user), "Please accept or decline the request.")
    services.answer_mentorship(mentorship, actor=mentor.user, accept=False)
    refused(lambda: services.end_mentorship(mentorship, actor=team.leader), "This mentorship is not in force.")


def test_candidates_are_the_mentors_not_yet_asked(setting):
    _contest, team, mentor = setting
    tagged = expert(factories.user(real_name="甲"), expertise=["ai"])
    expert(factories.user(real_name="乙"), mentors=False)
    expert(team.members[1].user)
    assert {row.id for row in services.mentor_candidates(team)} == {mentor.id, tagged.id}
    assert [row.id for row in services.mentor_candidates(team, "ai")] == [tagged.id]
    services.request_mentor(team, mentor, actor=team.leader)
    assert [row.id for row in services.mentor_candidates(team)] == [tagged.id]
    assert db.session.scalar(select(Mentorship.id)) is not None and db.session.get(Expert, mentor.id).mentors
