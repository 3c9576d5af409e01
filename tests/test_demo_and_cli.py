"""Demo data and the command-line tools."""

from sqlalchemy import func, select

from competition.accounts.models import CompetitionRole, Role, User
from competition.competitions.models import Competition
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds.models import Round


def test_demo_load_builds_a_believable_competition_with_one_login_per_role(app):
    result = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Institution.id))) == 28
    sisu = db.session.scalar(select(Institution).where(Institution.code == "SISU"))
    assert (sisu.name_zh, sisu.side) == ("四川外国语大学", "chongqing")
    codes = set(db.session.scalars(select(Competition.code)))
    roles = {grant.role for grant in db.session.scalars(select(CompetitionRole))}
    assert roles == {role.value for role in Role} and codes == {"CY2026", "CY2025"}
    for address in ("admin@", "organizer@", "scu-office@", "judge@", "student@"):
        assert address in result.output
    again = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    assert "nothing loaded" in again.output
    assert db.session.scalar(select(func.count(Competition.id))) == 2


def test_demo_logins_work(app, client):
    app.test_cli_runner().invoke(args=["demo", "load"])
    from competition.demo import DEMO_PASSWORD

    response = client.post("/account/login", data={"email": "judge@demo.cy-alliance.cn", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_create_admin_command(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "Boss@Example.edu.cn", "--password", "a long password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.email == "boss@example.edu.cn" and user.is_admin and user.is_verified


def test_create_admin_refuses_a_bad_address(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "nope", "--password", "a long password"])
    assert result.exit_code != 0 and db.session.scalar(select(User)) is None


def test_institutions_load_is_idempotent(app):
    runner = app.test_cli_runner()
    assert "28 institution(s)" in runner.invoke(args=["institutions", "load"]).output
    assert "0 institution(s)" in runner.invoke(args=["institutions", "load"]).output


def test_demo_has_school_rounds_feeding_an_alliance_round_and_teams_in_every_state(app):
    from competition.rounds.models import Round, RoundEntry
    from competition.teams.models import Team, TeamState

    app.test_cli_runner().invoke(args=["demo", "load"])
    rounds = db.session.scalars(select(Round).order_by(Round.position)).all()
    school = [r for r in rounds if r.level == "institution"]
    assert len(school) == 2 and all(r.quota_kind and r.next_round.level == "alliance" for r in school)
    assert school[0].next_round_id == school[1].next_round_id
    for side in ("sichuan", "chongqing"):
        states = {
            team.state for team in db.session.scalars(select(Team).join(Institution).where(Institution.side == side))
        }
        assert states == {state.value for state in TeamState}, side
    for team in db.session.scalars(select(Team)):
        assert team.member_count == len(team.members) and team.members[0].role == "leader"
    assert db.session.scalar(select(func.count(RoundEntry.id))) >= 3


def test_demo_has_experts_and_an_applied_assignment_without_conflicts(app):
    from competition.judging import conflicts
    from competition.judging.models import Assignment, AssignmentRun
    from competition.rounds.models import Round
    from competition.submissions.models import Submission

    app.test_cli_runner().invoke(args=["demo", "load"])
    for code, per_submission in (("CY2026", 2), ("CY2025", 5)):
        contest = db.session.scalar(select(Competition).where(Competition.code == code))
        run = db.session.scalar(
            select(AssignmentRun)
            .join(Round, Round.id == AssignmentRun.round_id)
            .where(Round.competition_id == contest.id)
        )
        assert run.state == "applied" and run.statistics["coverage"] == 1.0
        handed_in = db.session.scalars(
            select(Submission)
            .join(Round, Round.id == Submission.round_id)
            .where(Submission.state == "submitted", Round.competition_id == contest.id)
        ).all()
        assert handed_in
        for submission in handed_in:
            judges = db.session.scalars(
                select(Assignment.judge_id).where(Assignment.submission_id == submission.id)
            ).all()
            assert len(judges) == per_submission
        in_force = conflicts.active_pairs(contest)
        for assignment in db.session.scalars(select(Assignment).where(Assignment.round_id == run.round_id)):
            assert (assignment.judge_id, assignment.submission.team_id) not in in_force


def test_demo_has_last_years_results_published_after_a_notice_with_an_answered_appeal(app, client):
    from competition.results.models import Appeal, ResultSnapshot
    from competition.results.services import ResultSettings, compute_round

    app.test_cli_runner().invoke(args=["demo", "load"])
    contest = db.session.scalar(select(Competition).where(Competition.code == "CY2025"))
    final = db.session.scalar(select(Round).where(Round.competition_id == contest.id))
    kinds = sorted(snapshot.kind for snapshot in db.session.scalars(select(ResultSnapshot)))
    assert kinds == ["notice", "published"]
    published = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.kind == "published"))
    assert published.rows == compute_round(final, ResultSettings.for_round(final)).rows
    awards = [row["award"] for row in published.rows]
    assert awards.count("gold") == 2 and awards.count("silver") == 2  # one of each per track of six
    assert any(row["disagreement"] for row in published.rows)  # the demo shows a "needs re-review" flag
    appeal = db.session.scalar(select(Appeal))
    assert appeal.answer and appeal.answered_at
    page = client.get(f"/results/CY2025/{final.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "星河视觉" in page.text


def test_the_demos_story_mails_are_in_the_outbox_as_sent_and_in_the_notifications(app):
    from competition.core.jobs import Job
    from competition.core.mail import OutboxMessage
    from competition.notifications.models import Notification

    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    states = set(db.session.scalars(select(OutboxMessage.state)))
    assert states == {"sent"}  # nothing queued: the first `make run` prints no pile of e-mails
    assert db.session.scalar(select(func.count(Job.id)).where(Job.name == "mail.deliver", Job.state == "queued")) == 0
    student = db.session.scalar(select(User).where(User.email == "student@demo.cy-alliance.cn"))
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == student.id)) > 0


def test_the_demo_competition_page_shows_its_announcements_pinned_first(app, client):
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    page = client.get("/competitions/CY2026", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Registration is open" in page and "Business plan template and rubric published" in page
    assert page.index("Registration is open") < page.index("Business plan template")
