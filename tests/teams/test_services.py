"""Team rules and workflows, called directly. Every refusal names the rule and the numbers and
leaves the database as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from competition.accounts.models import Role
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.mail import OutboxMessage
from competition.extensions import db
from competition.teams import services
from competition.teams.models import InvitationState, Team, TeamMember, TeamState
from tests import factories

NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("english")


def _counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(Team.id))), db.session.scalar(select(func.count(TeamMember.id))))


@pytest.fixture
def contest(app):
    contest = factories.competition(code="CY2026", min_team_size=3, max_team_size=4, max_advisors=1)
    factories.track(contest, "idea")
    db.session.flush()
    return contest


def _create(contest, leader, **overrides):
    values = {
        "actor": leader,
        "competition": contest,
        "track": contest.tracks[0],
        "institution": leader.institution,
        "name": "川渝星火",
        "project_title": "智慧农业",
        "profile": factories.member_profile(leader),
        "now": NOW,
    }
    values.update(overrides)
    return services.create_team(**values)


def test_a_student_creates_a_team_and_leads_it(contest):
    leader = factories.user()
    team = _create(contest, leader)
    assert team.leader == leader and team.member_count == 1 and team.state == TeamState.DRAFT
    assert team.members[0].role == "leader" and team.members[0].student_number.startswith("2023")
    assert Role.STUDENT in leader.roles_in(contest)
    assert len(team.invite_code) >= 32  # 192 random bits
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "team.create"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "\u200b\u200b"}, "Please enter the team name."),
        ({"name": "名" * 61}, "A team name has at most 60 characters."),
        ({"project_title": "   "}, "Please enter the project title."),
    ],
)
def test_team_texts_are_checked(contest, overrides, message):
    with pytest.raises(DomainError) as error:
        _create(contest, factories.user(), **overrides)
    assert str(error.value.message) == message
    assert _counts() == (0, 0)


def test_team_name_is_stored_literally(contest):
    team = _create(contest, factories.user(), name="<script>alert(1)</script>{{7*7}}")
    assert team.name == "<script>alert(1)</script>{{7*7}}"


def test_registration_must_be_open(contest):
    contest.state = "submission"
    with pytest.raises(DomainError, match="Registration for this competition is closed"):
        _create(contest, factories.user())
    contest.state = "registration"
    contest.registration_closes_at = NOW - timedelta(seconds=1)
    with pytest.raises(DomainError, match="closed"):
        _create(contest, factories.user())
    assert _counts() == (0, 0)


def test_one_person_leads_at_most_one_team(contest):
    contest.max_teams_per_student = 2
    leader = factories.user()
    _create(contest, leader)
    with pytest.raises(DomainError) as error:
        _create(contest, leader, name="第二个团队")
    assert "already leads “川渝星火”" in str(error.value.message)


def test_a_student_joins_at_most_n_teams(contest):
    student = factories.user()
    first = factories.team(contest)
    services.join_team(first, user=student, profile=factories.member_profile(student), now=NOW)
    second = factories.team(contest)
    with pytest.raises(DomainError) as error:
        services.join_team(second, user=student, profile=factories.member_profile(student), now=NOW)
    assert "at most 1 team(s)" in str(error.value.message) and "is already in 1" in str(error.value.message)


def test_join_respects_the_size_limit_with_numbers(contest):
    team = factories.team(contest, members=3)  # 4 people: full
    newcomer = factories.user()
    before = _counts()
    with pytest.raises(DomainError) as error:
        services.join_team(team, user=newcomer, profile=factories.member_profile(newcomer), now=NOW)
    assert str(error.value.message) == "A team has 3–4 members including the leader; this one would have 5."
    assert _counts() == before and db.session.get(Team, team.id).member_count == 4


def test_cross_institution_members_are_refused_unless_allowed(contest):
    team = factories.team(contest, members=0)
    stranger = factories.user(institution=factories.institution("CQU"))
    with pytest.raises(DomainError) as error:
        services.join_team(team, user=stranger, profile=factories.member_profile(stranger), now=NOW)
    assert "must study at Sichuan University, not Chongqing University" in str(error.value.message)
    contest.allow_cross_institution = True
    services.join_team(team, user=stranger, profile=factories.member_profile(stranger), now=NOW)
    assert len(team.members) == 2


def test_degree_levels_and_graduation_window(contest):
    contest.eligible_degrees = ["bachelor", "master"]
    contest.min_graduation_year, contest.max_graduation_year = 2024, 2028
    team = factories.team(contest, members=0)
    phd = factories.user()
    with pytest.raises(DomainError) as error:
        services.join_team(team, user=phd, profile=factories.member_profile(phd, degree_level="doctorate"), now=NOW)
    assert error.value.field == "degree_level"
    late = factories.user()
    with pytest.raises(DomainError) as error:
        services.join_team(team, user=late, profile=factories.member_profile(late, graduation_year=2030), now=NOW)
    assert "2024–2028" in str(error.value.message) and "2030" in str(error.value.message)


def test_a_student_number_belongs_to_one_person_per_institution(contest):
    team = factories.team(contest, members=0)
    taken = team.members[0].student_number
    other = factories.user()
    with pytest.raises(DomainError) as error:
        services.join_team(team, user=other, profile=factories.member_profile(other, student_number=taken), now=NOW)
    assert error.value.field == "student_number"


def test_submit_checks_the_minimum_size_with_numbers(contest):
    team = factories.team(contest, members=1)
    with pytest.raises(DomainError) as error:
        services.submit_for_review(team, actor=team.leader, now=NOW)
    assert str(error.value.message) == "A team has 3–4 members including the leader; this one has 2."
    assert db.session.get(Team, team.id).state == TeamState.DRAFT


def test_submitted_team_is_locked_until_returned(contest):
    team = factories.team(contest, members=2)
    services.submit_for_review(team, actor=team.leader, now=NOW)
    newcomer = factories.user()
    with pytest.raises(DomainError, match="submitted for review"):
        services.join_team(team, user=newcomer, profile=factories.member_profile(newcomer), now=NOW)
    reviewer = factories.user()
    services.return_for_changes(team, actor=reviewer, reason="请补充指导教师信息")
    assert team.state == TeamState.RETURNED and team.return_reason == "请补充指导教师信息"
    services.join_team(team, user=newcomer, profile=factories.member_profile(newcomer), now=NOW)


def test_approval_needs_the_student_status_confirmation_and_mails_the_leader(contest):
    team = factories.team(contest, members=2)
    services.submit_for_review(team, actor=team.leader, now=NOW)
    reviewer = factories.user()
    with pytest.raises(DomainError) as error:
        services.approve(team, actor=reviewer, student_status_confirmed=False)
    assert error.value.field == "confirm" and team.state == TeamState.SUBMITTED
    services.approve(team, actor=reviewer, student_status_confirmed=True)
    assert team.state == TeamState.APPROVED and team.reviewed_by_id == reviewer.id
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "teams/emails/approved"))
    assert mail.to_address == team.leader.email


def test_return_needs_a_reason(contest):
    team = factories.team(contest, members=2, state="submitted")
    with pytest.raises(DomainError) as error:
        services.return_for_changes(team, actor=factories.user(), reason="  ")
    assert error.value.field == "reason" and team.state == TeamState.SUBMITTED


def test_approved_team_changes_only_after_an_organizer_unlocks_it(contest):
    team = factories.team(contest, members=2, state="approved")
    newcomer = factories.user()
    with pytest.raises(DomainError, match="unlock"):
        services.join_team(team, user=newcomer, profile=factories.member_profile(newcomer), now=NOW)
    contest.state = "submission"  # registration has closed meanwhile
    services.unlock(team, actor=factories.user(), reason="更换成员")
    assert team.state == TeamState.DRAFT and team.unlocked
    services.join_team(team, user=newcomer, profile=factories.member_profile(newcomer), now=NOW)
    services.submit_for_review(team, actor=team.leader, now=NOW)
    assert team.state == TeamState.SUBMITTED and not team.unlocked


def test_leader_transfers_leadership_and_cannot_leave_before(contest):
    team = factories.team(contest, members=1)
    member = next(m for m in team.members if not m.is_leader)
    with pytest.raises(DomainError, match="transfer the leadership"):
        services.leave_team(team, user=team.leader, now=NOW)
    old_leader = team.leader
    services.transfer_leadership(team, member, actor=old_leader, now=NOW)
    assert team.leader == member.user and member.role == "leader"
    services.leave_team(team, user=old_leader, now=NOW)
    assert db.session.get(Team, team.id).member_count == 1 and len(team.members) == 1


def test_removing_a_member_frees_a_place(contest):
    team = factories.team(contest, members=3)
    member = next(m for m in team.members if not m.is_leader)
    services.remove_member(team, member, actor=team.leader, now=NOW)
    assert db.session.get(Team, team.id).member_count == 3
    with pytest.raises(DomainError, match="leader cannot be removed"):
        services.remove_member(team, team.member_for(team.leader), actor=team.leader, now=NOW)


def test_advisors_are_limited(contest):
    team = factories.team(contest, members=2)
    services.add_advisor(
        team, actor=team.leader, name="王老师", title="教授", institution=None, email=None, phone=None, now=NOW
    )
    with pytest.raises(DomainError) as error:
        services.add_advisor(
            team, actor=team.leader, name="李老师", title="", institution=None, email=None, phone=None, now=NOW
        )
    assert str(error.value.message) == "A team has at most 1 advisor(s); this one would have 2."
    assert len(team.advisors) == 1


def test_advisor_with_an_account_is_linked(contest):
    teacher = factories.user(email="teacher@scu.edu.cn")
    team = factories.team(contest, members=2)
    advisor = services.add_advisor(
        team,
        actor=team.leader,
        name="王老师",
        title="教授",
        institution=None,
        email="Teacher@SCU.edu.cn",
        phone=None,
        now=NOW,
    )
    assert advisor.user_id == teacher.id and advisor.email == "teacher@scu.edu.cn"


def test_invitation_by_email_is_accepted_only_by_its_addressee(contest):
    team = factories.team(contest, members=0)
    invitee = factories.user(email="invitee@example.edu.cn")
    invitation = services.invite_by_email(team, actor=team.leader, email="Invitee@example.edu.cn", now=NOW)
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "teams/emails/invitation"))
    assert invitation.token in mail.body_text
    stranger = factories.user()
    with pytest.raises(DomainError, match="sent to invitee@example.edu.cn"):
        services.accept_invitation(invitation, user=stranger, profile=factories.member_profile(stranger), now=NOW)
    services.accept_invitation(invitation, user=invitee, profile=factories.member_profile(invitee), now=NOW)
    assert invitation.state == InvitationState.ACCEPTED and team.member_for(invitee) is not None
    with pytest.raises(DomainError, match="already been answered"):
        services.decline_invitation(invitation, user=invitee, now=NOW)


def test_regenerated_code_voids_the_old_link(contest):
    team = factories.team(contest)
    old = team.invite_code
    services.regenerate_invite_code(team, actor=team.leader)
    assert services.team_for_invite_code(old) is None
    assert services.team_for_invite_code(team.invite_code) == team


def test_withdrawn_teams_free_their_people(contest):
    leader = factories.user()
    team = _create(contest, leader)
    services.withdraw(team, actor=leader, reason="放弃参赛")
    assert team.state == TeamState.WITHDRAWN
    _create(contest, leader, name="新团队")  # may lead a new team now
