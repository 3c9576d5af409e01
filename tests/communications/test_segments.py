"""Segments resolve to exactly the right people: team states, tracks, institutions, leaders,
advisors, judges with pending work; one message per address; disabled accounts skipped."""

from __future__ import annotations

import pytest

from competition.communications.segments import Audience, Segment, resolve
from competition.core.errors import DomainError
from competition.extensions import db
from competition.judging.models import Assignment, RoundJudge
from competition.scoring.models import Scorecard
from competition.submissions.models import Submission
from competition.teams.models import Advisor, TeamMember
from tests import factories


def emails(recipients) -> set[str]:
    return {recipient.email for recipient in recipients}


def team_emails(*teams) -> set[str]:
    return {member.user.email for team in teams for member in team.members}


@pytest.fixture
def world(app):
    contest = factories.competition(code="SEG")
    idea, startup = factories.track(contest, "idea"), factories.track(contest, "startup")
    scu, cqu = factories.institution("SCU"), factories.institution("CQU")
    teams = {
        "approved": factories.team(contest, state="approved", track_row=idea, institution_row=scu),
        "submitted": factories.team(contest, state="submitted", track_row=startup, institution_row=cqu),
        "draft": factories.team(contest, state="draft", track_row=idea, institution_row=scu),
        "returned": factories.team(contest, state="returned", track_row=idea, institution_row=scu),
        "withdrawn": factories.team(contest, state="withdrawn", track_row=idea, institution_row=cqu),
    }
    other = factories.team(factories.competition(code="OTHERSEG"), state="approved")
    db.session.commit()
    return contest, idea, startup, scu, cqu, teams, other


def test_members_are_those_of_submitted_and_approved_teams_only(world):
    contest, *_rest, teams, _other = world
    got = resolve(contest, Segment(Audience.MEMBERS))
    assert emails(got) == team_emails(teams["approved"], teams["submitted"])
    assert len(got) == 6


def test_a_track_and_an_institution_narrow_the_teams(world):
    contest, idea, startup, scu, cqu, teams, _other = world
    assert emails(resolve(contest, Segment(Audience.MEMBERS, track_id=idea.id))) == team_emails(teams["approved"])
    assert emails(resolve(contest, Segment(Audience.MEMBERS, institution_id=cqu.id))) == team_emails(teams["submitted"])
    assert resolve(contest, Segment(Audience.MEMBERS, track_id=startup.id, institution_id=scu.id)) == []


def test_leaders_only(world):
    contest, *_rest, teams, _other = world
    got = resolve(contest, Segment(Audience.LEADERS))
    assert emails(got) == {teams["approved"].leader.email, teams["submitted"].leader.email}


def test_an_institution_organizers_scope_never_leaves_their_institution(world):
    contest, idea, startup, scu, cqu, teams, _other = world
    scope = frozenset({scu.id})
    assert emails(resolve(contest, Segment(Audience.MEMBERS, scope=scope))) == team_emails(teams["approved"])
    assert resolve(contest, Segment(Audience.MEMBERS, track_id=startup.id, scope=scope)) == []
    with pytest.raises(DomainError) as refused:
        resolve(contest, Segment(Audience.MEMBERS, institution_id=cqu.id, scope=scope))
    assert refused.value.field == "institution"
    for audience in (Audience.JUDGES, Audience.PENDING_JUDGES):
        with pytest.raises(DomainError):
            resolve(contest, Segment(audience, scope=scope))


def test_a_track_of_another_competition_is_refused(world):
    contest, *_rest, other = world
    with pytest.raises(DomainError) as refused:
        resolve(contest, Segment(Audience.MEMBERS, track_id=other.track_id))
    assert refused.value.field == "track"


def test_one_message_per_address_and_no_disabled_account(world):
    contest, idea, startup, scu, cqu, teams, _other = world
    # a student in both teams (rows written directly), and a member whose account is disabled
    twice = teams["approved"].members[1].user
    teams["submitted"].members.append(
        TeamMember(user=twice, role="member", **factories.member_profile(twice, cqu).as_columns())
    )
    teams["submitted"].member_count += 1
    disabled = teams["submitted"].members[1].user
    disabled.is_disabled = True
    db.session.commit()
    got = resolve(contest, Segment(Audience.MEMBERS))
    addresses = [recipient.email for recipient in got]
    assert addresses.count(twice.email) == 1
    assert disabled.email not in addresses
    assert len(got) == 5


def test_advisors_with_an_address_in_their_accounts_language(world):
    contest, *_rest, teams, _other = world
    with_account = factories.user(locale="en", real_name="Prof. Smith")
    disabled = factories.user(is_disabled=True)
    contest.max_advisors = 6
    team = teams["approved"]
    team.advisors.extend([
        Advisor(name="王老师", email="wang@example.edu.cn"),
        Advisor(name="无邮箱老师"),
        Advisor(name="Smith", user_id=with_account.id, email="old-address@example.org"),
        Advisor(name="停用老师", user_id=disabled.id, email="stopped@example.org"),
        Advisor(name="王老师", email="WANG@example.edu.cn"),  # the same person twice
    ])  # fmt: skip
    teams["draft"].advisors.append(Advisor(name="草稿老师", email="draft@example.edu.cn"))
    db.session.commit()
    got = {recipient.email: recipient for recipient in resolve(contest, Segment(Audience.ADVISORS))}
    assert set(got) == {"wang@example.edu.cn", with_account.email}
    assert got["wang@example.edu.cn"].locale == "zh_Hans_CN" and got["wang@example.edu.cn"].user_id is None
    assert got[with_account.email].locale == "en" and got[with_account.email].name == "Prof. Smith"


def _judging(contest):
    round_ = factories.round_(contest, level="alliance")
    team = factories.team(contest, state="approved")
    submission = Submission(round=round_, team=team, state="submitted", abstract="摘要")
    db.session.add(submission)
    db.session.flush()
    return round_, submission


def test_judges_with_pending_work_only(world):
    contest, *_rest = world
    round_, submission = _judging(contest)
    from competition.scoring import services as scoring

    rubric = scoring.create_rubric(round_, actor=factories.user(), preset_code="alliance-online-review")
    judges = {name: factories.user(real_name=name) for name in ("未开始", "草稿中", "已提交", "停用", "未分配")}
    judges["停用"].is_disabled = True
    for judge in judges.values():
        factories.grant(judge, contest, "judge")
        db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
    db.session.flush()
    for name in ("未开始", "草稿中", "已提交", "停用"):
        assignment = Assignment(round_id=round_.id, submission_id=submission.id, judge_id=judges[name].id)
        db.session.add(assignment)
        db.session.flush()
        if name in ("草稿中", "已提交"):
            db.session.add(Scorecard(assignment_id=assignment.id, round_id=round_.id, submission_id=submission.id,
                                     judge_id=judges[name].id, rubric_id=rubric.id,
                                     state="submitted" if name == "已提交" else "draft"))  # fmt: skip
    db.session.commit()
    pending = resolve(contest, Segment(Audience.PENDING_JUDGES, round_id=round_.id))
    assert {recipient.name for recipient in pending} == {"未开始", "草稿中"}
    everyone = resolve(contest, Segment(Audience.JUDGES))
    assert {recipient.name for recipient in everyone} == {"未开始", "草稿中", "已提交", "未分配"}


def test_pending_judges_need_a_round_of_this_competition(world):
    contest, *_rest = world
    other_round, _submission = _judging(factories.competition(code="ELSE"))
    for round_id in (None, other_round.id):
        with pytest.raises(DomainError) as refused:
            resolve(contest, Segment(Audience.PENDING_JUDGES, round_id=round_id))
        assert refused.value.field == "round"
