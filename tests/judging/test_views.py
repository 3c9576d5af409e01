"""Judging pages: the judge's assignments (blind-aware, declaring a conflict), a round's judges, and
the assignment — settings → proposal with statistics → apply (e-mails) or discard, manual edits
with conflict checks and the round's version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from competition.accounts.models import CompetitionRole, Role
from competition.core.audit import AuditEntry
from competition.core.time import utcnow
from competition.extensions import db
from competition.judging import assignment, conflicts
from competition.judging.models import Assignment, AssignmentRun, RoundJudge
from competition.rounds.models import Round
from competition.submissions.models import Submission
from tests import factories
from tests.judging.world import EN, build, sign_in


def _assign(world, submission, judge, **fields) -> Assignment:
    row = Assignment(round_id=world.round.id, submission_id=submission.id, judge_id=judge.id, **fields)
    db.session.add(row)
    db.session.commit()
    return row


def _exists(model, row) -> bool:
    """Whether the row is still in the database (without loading the possibly deleted object)."""
    row_id = inspect(row).identity[0]
    return db.session.scalar(select(func.count(model.id)).where(model.id == row_id)) == 1


def _version(world) -> int:
    return db.session.get(Round, world.round.id).assignment_version


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visitor", "expected"),
    [
        ("anonymous", 302),
        ("student", 403),
        ("judge", 403),
        ("other_organizer", 403),
        ("organizer", 200),
        ("admin", 200),
    ],
)
def test_organizer_pages_answer_each_role(app, client, visitor, expected):
    world = build()
    run = AssignmentRun(round_id=world.round.id, pairs=[], statistics={})
    db.session.add(run)
    db.session.commit()
    other = factories.competition(code="OTHER")
    people = {
        "student": factories.user(),
        "judge": world.judges[0],
        "other_organizer": factories.user(),
        "organizer": world.organizer,
        "admin": factories.user(is_admin=True),
    }
    factories.grant(people["student"], world.contest, "student")
    factories.grant(people["other_organizer"], other, "organizer")
    db.session.commit()
    if visitor != "anonymous":
        sign_in(client, people[visitor])
    judge_row = db.session.scalar(select(RoundJudge).where(RoundJudge.round_id == world.round.id))
    for url in (
        world.url("/judges"),
        world.url(f"/judges/{judge_row.id}"),
        world.url("/assignment"),
        world.url(f"/assignment/runs/{run.id}"),
        f"/competitions/{world.code}/conflicts/",
    ):
        response = client.get(url, headers=EN)
        assert response.status_code == expected, (visitor, url)


def test_runs_and_round_judges_of_another_round_are_not_found(client):
    world = build()
    other_round = factories.round_(world.contest, position=2, name_zh="决赛", level="alliance")
    run = AssignmentRun(round_id=other_round.id, pairs=[], statistics={})
    foreign_judge = RoundJudge(round_id=other_round.id, user_id=world.judges[0].id)
    db.session.add_all([run, foreign_judge])
    db.session.commit()
    sign_in(client, world.organizer)
    assert client.get(world.url(f"/assignment/runs/{run.id}")).status_code == 404
    assert client.get(world.url(f"/judges/{foreign_judge.id}")).status_code == 404


def test_a_draft_competition_is_not_found_for_an_organizer_of_another_one(client):
    world = build(code="DRAFTY")
    world.contest.state = "draft"
    outsider = factories.user()
    factories.grant(outsider, factories.competition(code="ELSE"), "organizer")
    db.session.commit()
    sign_in(client, outsider)
    assert client.get(world.url("/assignment")).status_code == 404
    assert client.get(f"/competitions/{world.code}/conflicts/").status_code == 404


# --- the judge's page ---------------------------------------------------------------------------


def test_judge_sees_only_their_own_assignments_grouped_with_the_window(client):
    world = build(teams=3)
    mine, theirs = world.judges[0], world.judges[1]
    _assign(world, world.submissions[0], mine)
    _assign(world, world.submissions[1], theirs)
    sign_in(client, mine)
    page = client.get("/judging/", headers=EN).get_data(as_text=True)
    assert "Project 1" in page and "Project 2" not in page
    assert world.contest.name_en in page and "Online review" in page
    assert 'data-window="open"' in page and "It closes at" in page
    assert f"/submissions/{world.submissions[0].id}/view" in page
    assert "Team 1" in page  # not a blind round: the team is named
    # the judge reads their own submission, not another judge's
    assert client.get(f"/submissions/{world.submissions[0].id}/view").status_code == 200
    assert client.get(f"/submissions/{world.submissions[1].id}/view").status_code == 404


def test_a_judge_without_assignments_gets_a_friendly_page(client, login_as):
    login_as("judge", locale="en")
    page = client.get("/judging/").get_data(as_text=True)
    assert "You have no submissions to judge" in page


def test_before_the_window_the_page_says_when_it_opens_and_links_nothing(client):
    world = build(teams=1)
    world.round.judging_opens_at = utcnow() + timedelta(days=2)
    db.session.commit()
    _assign(world, world.submissions[0], world.judges[0])
    sign_in(client, world.judges[0])
    page = client.get("/judging/").get_data(as_text=True)
    assert 'data-window="not_yet"' in page and "Judging opens at" in page
    assert "/view" not in page and "can be read while judging is open" in page


def test_blind_round_never_names_the_team_on_the_judge_page(client):
    world = build(teams=1, blind=True)
    team = world.submissions[0].team
    _assign(world, world.submissions[0], world.judges[0])
    sign_in(client, world.judges[0])
    page = client.get("/judging/", headers=EN).get_data(as_text=True)
    assert "Project 1" in page
    assert team.name not in page and team.institution.name_en not in page and team.institution.name_zh not in page
    assert all(member.real_name not in page for member in team.members)
    assert 'data-testid="team-name"' not in page


def test_judge_declares_a_conflict_and_is_taken_off_and_organizers_are_emailed(client, outbox):
    world = build(teams=2)
    judge = world.judges[0]
    row = _assign(world, world.submissions[0], judge)
    version = _version(world)
    sign_in(client, judge)
    response = client.post(f"/judging/assignments/{row.id}/conflict", data={"reason": "I taught two of its members"})
    assert response.status_code == 302
    assert not _exists(Assignment, row)
    assert _version(world) == version + 1
    page = client.get("/judging/").get_data(as_text=True)
    assert "has been recorded" in page and "Project 1" not in page.split("</main>")[0].split("My assignments")[-1]
    [message] = [m for m in outbox if m["To"] == world.organizer.email]
    assert (
        "Judge 1" in message["Subject"] and "I taught two of its members" in message.get_body(("plain",)).get_content()
    )
    # the organizers' list shows it with the judge's reason
    sign_in(client, world.organizer)
    conflicts_page = client.get(f"/competitions/{world.code}/conflicts/").get_data(as_text=True)
    assert "I taught two of its members" in conflicts_page and "Declared by the judge" in conflicts_page


def test_a_conflict_needs_a_reason_and_only_the_assigned_judge_may_declare(client):
    world = build(teams=1)
    row = _assign(world, world.submissions[0], world.judges[0])
    sign_in(client, world.judges[1])
    assert client.post(f"/judging/assignments/{row.id}/conflict", data={"reason": "x"}).status_code == 404
    sign_in(client, world.judges[0])
    client.post(f"/judging/assignments/{row.id}/conflict", data={"reason": "  "})
    assert _exists(Assignment, row)
    assert "Please give a reason." in client.get("/judging/", headers=EN).get_data(as_text=True)


def test_in_a_blind_round_the_confirmation_names_the_project_not_the_team(client):
    world = build(teams=1, blind=True)
    row = _assign(world, world.submissions[0], world.judges[0])
    sign_in(client, world.judges[0])
    response = client.post(
        f"/judging/assignments/{row.id}/conflict", data={"reason": "I know them"}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Project 1" in page and "Team 1" not in page


# --- a round's judges ---------------------------------------------------------------------------


def test_organizer_adds_a_judge_by_email_who_gets_the_judge_role(client):
    world = build(judges=1)
    newcomer = factories.user(email="newjudge@example.edu.cn", real_name="New Judge")
    db.session.commit()
    sign_in(client, world.organizer)
    track = world.contest.tracks[0]
    response = client.post(
        world.url("/judges"),
        data={"email": "NewJudge@example.edu.cn", "tracks": [str(track.id)], "min_load": "1", "max_load": "4"},
    )
    assert response.status_code == 302
    row = db.session.scalar(select(RoundJudge).where(RoundJudge.user_id == newcomer.id))
    assert row.track_ids == [track.id] and (row.min_load, row.max_load) == (1, 4)
    assert Role.JUDGE in db.session.get(type(newcomer), newcomer.id).roles_in(world.contest)
    page = client.get(world.url("/judges")).get_data(as_text=True)
    assert "New Judge" in page and "Idea track" in page and "1–4" in page
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "round_judge.add")) is not None


def test_adding_an_unknown_or_duplicate_person_is_refused_on_the_form(client):
    world = build(judges=1)
    sign_in(client, world.organizer)
    page = client.post(world.url("/judges"), data={"email": "nobody@example.edu.cn"}).get_data(as_text=True)
    assert "Nobody has registered with this e-mail address" in page
    page = client.post(world.url("/judges"), data={"email": world.judges[0].email}).get_data(as_text=True)
    assert "already judges this round" in page
    page = client.post(
        world.url("/judges"), data={"email": world.organizer.email, "min_load": "5", "max_load": "2"}
    ).get_data(as_text=True)
    assert "The smallest load cannot exceed the largest." in page
    assert db.session.scalar(select(func.count(RoundJudge.id))) == 1


def test_organizer_edits_and_removes_a_round_judge(client):
    world = build(teams=2, judges=2)
    judge = world.judges[0]
    row = db.session.scalar(select(RoundJudge).where(RoundJudge.user_id == judge.id))
    assigned = _assign(world, world.submissions[0], judge)
    sign_in(client, world.organizer)
    assert client.get(world.url(f"/judges/{row.id}")).status_code == 200
    client.post(world.url(f"/judges/{row.id}"), data={"max_load": "3"})
    assert db.session.get(RoundJudge, row.id).max_load == 3
    stale = _version(world) - 1
    client.post(world.url(f"/judges/{row.id}/remove"), data={"version": stale})
    assert _exists(RoundJudge, row)  # someone else changed the round meanwhile
    client.post(world.url(f"/judges/{row.id}/remove"), data={"version": _version(world)})
    assert not _exists(RoundJudge, row) and not _exists(Assignment, assigned)


# --- the assignment -----------------------------------------------------------------------------


SETTINGS = {
    "judges_per_submission": "2",
    "weight_expertise": "5",
    "weight_side": "5",
    "weight_industry": "3",
    "weight_spread": "2",
    "seed": "1",
    "keep_existing": "y",
}


def test_propose_preview_apply_emails_the_judges(client, outbox):
    world = build(teams=4, judges=4, k=2)
    sign_in(client, world.organizer)
    page = client.get(world.url("/assignment")).get_data(as_text=True)
    assert 'name="judges_per_submission"' in page and 'value="2"' in page
    response = client.post(world.url("/assignment/propose"), data=SETTINGS)
    assert response.status_code == 302 and "/assignment/runs/" in response.headers["Location"]
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Every judge gets 2 submission(s)." in preview
    assert "100% of the submissions have 2 judges." in preview
    assert "of the panels have judges from both Sichuan and Chongqing." in preview
    assert "of the panels include an investor or entrepreneur." in preview
    assert "0 kept, 8 added, 0 removed" in preview
    assert preview.count('data-change="added"') == 8
    assert db.session.scalar(select(func.count(Assignment.id))) == 0  # nothing changes before applying
    run = db.session.scalar(select(AssignmentRun))
    response = client.post(world.url(f"/assignment/runs/{run.id}/apply"))
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Assignment.id))) == 8
    assert sorted(m["To"] for m in outbox) == sorted(judge.email for judge in world.judges)
    body = outbox[0].get_body(("plain",)).get_content()
    assert "/judging/" in body and "Online review" in body
    current = client.get(world.url("/assignment"), headers=EN).get_data(as_text=True)
    assert current.count('data-testid="assigned-judge"') == 8 and "Applied" in current
    # applying twice is refused with a message
    response = client.post(world.url(f"/assignment/runs/{run.id}/apply"), follow_redirects=True)
    assert "already been applied or discarded" in response.get_data(as_text=True)


def test_rerun_keeps_scored_assignments_and_repairs_a_late_submission(client):
    world = build(teams=3, judges=4, k=2)
    sign_in(client, world.organizer)
    client.post(world.url("/assignment/propose"), data=SETTINGS)
    client.post(world.url(f"/assignment/runs/{db.session.scalar(select(AssignmentRun.id))}/apply"))
    before = {(a.submission_id, a.judge_id) for a in db.session.scalars(select(Assignment))}
    late = world.submissions[0]
    team = factories.team(world.contest, state="approved", track_row=late.team.track, name="Late team")
    db.session.add(Submission(round_id=world.round.id, team_id=team.id, state="submitted", abstract="迟到"))
    db.session.commit()
    response = client.post(world.url("/assignment/propose"), data=SETTINGS)
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "6 kept, 2 added, 0 removed" in preview
    assert preview.count('data-changed="1"') == 1
    client.post(response.headers["Location"] + "/apply")
    after = {(a.submission_id, a.judge_id) for a in db.session.scalars(select(Assignment))}
    assert before < after and len(after - before) == 2


def test_an_infeasible_round_is_explained_and_the_form_kept(client):
    world = build(teams=3, judges=2, k=3)
    sign_in(client, world.organizer)
    response = client.post(
        world.url("/assignment/propose"), data={**SETTINGS, "judges_per_submission": "3", "seed": "77"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "has only 2 possible judge(s)" in page and "it needs 3" in page
    assert 'value="77"' in page  # what was typed is kept
    assert db.session.scalar(select(func.count(AssignmentRun.id))) == 0


def test_invalid_settings_are_shown_on_the_form(client):
    world = build()
    sign_in(client, world.organizer)
    page = client.post(world.url("/assignment/propose"), data={**SETTINGS, "weight_side": "11"}).get_data(as_text=True)
    assert "Please enter a number between 0 and 10." in page


def test_a_proposal_is_refused_when_someone_changed_the_assignments_meanwhile(client):
    world = build(teams=2, judges=3, k=1)
    sign_in(client, world.organizer)
    client.post(world.url("/assignment/propose"), data={**SETTINGS, "judges_per_submission": "1"})
    run = db.session.scalar(select(AssignmentRun))
    _assign(world, world.submissions[0], world.judges[0])
    world.round.assignment_version += 1
    db.session.commit()
    page = client.get(world.url(f"/assignment/runs/{run.id}")).get_data(as_text=True)
    assert 'data-testid="stale"' in page
    response = client.post(world.url(f"/assignment/runs/{run.id}/apply"), follow_redirects=True)
    assert "Someone else changed this round" in response.get_data(as_text=True)
    assert db.session.get(AssignmentRun, run.id).state == "proposed"


def test_discarding_a_proposal(client):
    world = build(teams=2, judges=3, k=1)
    sign_in(client, world.organizer)
    client.post(world.url("/assignment/propose"), data={**SETTINGS, "judges_per_submission": "1"})
    run = db.session.scalar(select(AssignmentRun))
    client.post(world.url(f"/assignment/runs/{run.id}/discard"))
    assert db.session.get(AssignmentRun, run.id).state == "discarded"
    assert db.session.scalar(select(func.count(Assignment.id))) == 0


def test_a_stale_manual_edit_is_refused(client):
    world = build(teams=1, judges=2, k=1)
    sign_in(client, world.organizer)
    version = _version(world)
    client.post(world.url(f"/assignment/submissions/{world.submissions[0].id}/add"),
                data={"version": version, "judge": world.judges[0].id})  # fmt: skip
    response = client.post(
        world.url(f"/assignment/submissions/{world.submissions[0].id}/add"),
        data={"version": version, "judge": world.judges[1].id},
        follow_redirects=True,
    )
    assert "Someone else changed this round" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Assignment.id))) == 1


def test_manual_add_with_a_conflict_needs_a_reason_and_is_audited(client, outbox):
    world = build(teams=1, judges=2, k=1)
    submission, judge = world.submissions[0], world.judges[0]
    conflicts.declare(world.contest, judge=judge, team=submission.team, actor=world.organizer, reason="Cousin of the leader",
                      by_organizer=True)  # fmt: skip
    db.session.commit()
    sign_in(client, world.organizer)
    url = world.url(f"/assignment/submissions/{submission.id}/add")
    response = client.post(url, data={"version": _version(world), "judge": judge.id})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "has a conflict of interest with this team" in page and "Cousin of the leader" in page
    assert 'name="override_reason"' in page and 'data-testid="override"' in page
    assert db.session.scalar(select(func.count(Assignment.id))) == 0
    client.post(url, data={"version": _version(world), "judge": judge.id, "override_reason": "The only AI expert"})
    row = db.session.scalar(select(Assignment))
    assert row.judge_id == judge.id and row.override_reason == "The only AI expert"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "assignment.add"))
    assert entry.details["override_reason"] == "The only AI expert"
    page = client.get(world.url("/assignment"), headers=EN).get_data(as_text=True)
    assert "Placed despite a conflict" in page and "The only AI expert" in page
    assert [m["To"] for m in outbox] == [judge.email]


def test_the_add_list_marks_judges_with_a_conflict(client):
    world = build(teams=1, judges=2, k=1)
    conflicts.declare(world.contest, judge=world.judges[1], team=world.submissions[0].team, actor=world.organizer,
                      reason="Business partner", by_organizer=True)  # fmt: skip
    db.session.commit()
    sign_in(client, world.organizer)
    page = client.get(world.url("/assignment"), headers=EN).get_data(as_text=True)
    assert "Judge 2 · SWJTU University · 0 assigned · conflict of interest" in page
    assert "Judge 1 · SWU University · 0 assigned</option>" in page


def test_removing_a_judge_who_started_scoring_needs_a_reason(client):
    world = build(teams=1, judges=2, k=1)
    row = _assign(world, world.submissions[0], world.judges[0], protected=True)
    sign_in(client, world.organizer)
    url = world.url(f"/assignment/{row.id}/remove")
    response = client.post(url, data={"version": _version(world)}, follow_redirects=True)
    assert "give a reason to remove them" in response.get_data(as_text=True)
    assert _exists(Assignment, row)
    client.post(url, data={"version": _version(world), "reason": "Fell ill"})
    assert not _exists(Assignment, row)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "assignment.remove"))
    assert entry.details["reason"] == "Fell ill"


def test_an_unprotected_assignment_is_removed_without_a_reason(client):
    world = build(teams=1, judges=2, k=1)
    row = _assign(world, world.submissions[0], world.judges[0])
    sign_in(client, world.organizer)
    client.post(world.url(f"/assignment/{row.id}/remove"), data={"version": _version(world)})
    assert not _exists(Assignment, row)


def test_the_round_page_links_to_the_judging_pages(client):
    world = build()
    sign_in(client, world.organizer)
    page = client.get(f"/competitions/{world.code}/rounds/{world.round.id}").get_data(as_text=True)
    assert world.url("/judges") in page and world.url("/assignment") in page
    assert f"/competitions/{world.code}/conflicts/" in page


def test_a_proposal_with_statistics_in_chinese(client):
    world = build(teams=2, judges=2, k=1)
    world.organizer.locale = "zh_Hans_CN"
    db.session.commit()
    sign_in(client, world.organizer)
    run = assignment.propose(world.round, actor=world.organizer, settings=assignment.Settings(judges_per_submission=1))
    db.session.commit()
    response = client.get(world.url(f"/assignment/runs/{run.id}"))
    assert response.status_code == 200 and "100%" in response.get_data(as_text=True)


def test_a_round_judge_whose_judge_role_was_removed_is_flagged(client):
    world = build(judges=2)
    grant = db.session.scalar(select(CompetitionRole).where(CompetitionRole.user_id == world.judges[1].id))
    db.session.delete(grant)
    db.session.commit()
    sign_in(client, world.organizer)
    page = client.get(world.url("/judges")).get_data(as_text=True)
    assert page.count('data-testid="no-judge-role"') == 1
