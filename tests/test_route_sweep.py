"""Every route in app.url_map, requested as anonymous, student, judge, organizer of another
competition, organizer of this one and admin. A new route fails here until it is classified.
"""

from __future__ import annotations

import io

import pytest

from competition.certificates.models import Certificate
from competition.communications.models import Announcement
from competition.core import storage
from competition.core.jobs import Job
from competition.core.mail import queue_mail
from competition.core.time import utcnow
from competition.experts.models import Expert, Mentorship
from competition.extensions import db
from competition.judging.models import Assignment, AssignmentRun, Conflict, RoundJudge
from competition.notifications.models import Notification
from competition.privacy.models import DeletionRequest
from competition.results.models import Appeal, ResultSnapshot
from competition.rounds.models import RoundEntry
from competition.scoring import services as scoring
from competition.scoring.models import Scorecard, ScoreValue
from competition.submissions.models import MaterialSlot, Submission, SubmissionFile
from competition.teams.models import Advisor, TeamInvitation
from tests import factories

LOGIN = "login"  # anonymous is sent to the log-in page

# What each kind of route answers, per visitor. A set means any of those statuses.
OK = {200}
OK_OR_REDIRECT = {200, 302}
PUBLIC = dict.fromkeys(("anonymous", "student", "judge", "other_organizer", "organizer", "admin"), OK_OR_REDIRECT)
SIGNED_IN = {**PUBLIC, "anonymous": LOGIN}
ADMIN_ONLY = {
    "anonymous": LOGIN,
    "student": {403},
    "judge": {403},
    "other_organizer": {403},
    "organizer": {403},
    "admin": OK_OR_REDIRECT,
}
MANAGERS = {
    "anonymous": LOGIN,
    "student": {403},
    "judge": {403},
    "other_organizer": {403},
    "organizer": OK_OR_REDIRECT,
    "admin": OK_OR_REDIRECT,
}
#: organizers and institution organizers of this competition (the sweep has no institution organizer)
TEAM_OFFICES = {
    "anonymous": LOGIN,
    "student": {403},
    "judge": {403},
    "other_organizer": {403},
    "organizer": OK,
    "admin": OK,
}
#: a team page: its members and reviewers; everyone else cannot tell it exists
TEAM_PAGE = {
    "anonymous": LOGIN,
    "student": {404},
    "judge": {404},
    "other_organizer": {404},
    "organizer": OK,
    "admin": OK,
}
#: the leader's actions (the sweep's team is led by none of the visitors): reviewers see the team but may not act
TEAM_LEADER = {**TEAM_PAGE, "organizer": {403}, "admin": {403}}
#: the members' actions on their submission (none of the visitors is in the sweep's team)
TEAM_MEMBERS = TEAM_LEADER
#: reviewers' actions on a team; refused ones (wrong state) come back as a redirect with a message
TEAM_REVIEW = {**TEAM_PAGE, "organizer": {302}, "admin": {302}}
#: an invitation code or token that does not exist
NO_SUCH_INVITE = {
    "anonymous": LOGIN,
    "student": {404},
    "judge": {404},
    "other_organizer": {404},
    "organizer": {404},
    "admin": {404},
}
#: a file that does not exist yet (the sweep's competition has no logo)
NOT_FOUND = dict.fromkeys(("anonymous", "student", "judge", "other_organizer", "organizer", "admin"), {404})
#: a round's archive job: those who manage the round; everyone else cannot tell it exists
ROUND_JOB = {**NOT_FOUND, "anonymous": LOGIN, "organizer": OK_OR_REDIRECT, "admin": OK_OR_REDIRECT}
#: a judge's own assignment (the sweep's is another judge's): nobody else can tell it exists
OWN_ASSIGNMENT = {**NOT_FOUND, "anonymous": LOGIN}
#: the alliance's expert pool: admins and the organizers of any competition
EXPERT_POOL = {**MANAGERS, "other_organizer": OK_OR_REDIRECT}
#: a mentoring request: only its expert answers, only its team's leader or expert ends it (none of the visitors)
MENTORSHIP = {**NOT_FOUND, "anonymous": LOGIN}
#: a judge's scorecard as JSON (autosave): an expired session gets 401 JSON, never the log-in page
OWN_ASSIGNMENT_JSON = {**NOT_FOUND, "anonymous": {401}}
#: a team's own results and appeals (none of the visitors is in the sweep's team): nobody else can tell they exist
TEAM_ONLY = {**NOT_FOUND, "anonymous": LOGIN}
#: an appeal's attachment: its team and those who answer appeals (organizers, admins)
APPEAL_FILE = {**TEAM_ONLY, "organizer": OK, "admin": OK}
#: a certificate's PDF (the sweep's is the swept team leader's): its holder and the competition's organizers
CERTIFICATE_FILE = {**NOT_FOUND, "anonymous": LOGIN, "organizer": OK, "admin": OK}

ROUTES: dict[str, dict] = {
    "static": PUBLIC,
    "core.home": PUBLIC,
    "health.healthz": PUBLIC,
    "accounts.register": PUBLIC,
    "accounts.verify_email": PUBLIC,
    "accounts.resend_verification": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.forgot_password": PUBLIC,
    "accounts.reset_password": PUBLIC,
    "accounts.set_language": PUBLIC,
    "accounts.change_password": SIGNED_IN,
    "accounts.profile": SIGNED_IN,
    "accounts.dashboard": SIGNED_IN,
    # two-factor log-in: the second step without a password first goes back to the log-in page;
    # the sweep's visitors have no two-factor log-in, so its POSTs go back to the set-up page
    "accounts.security.login_code": PUBLIC,
    "accounts.security.two_factor_page": SIGNED_IN,
    "accounts.security.enable_two_factor": SIGNED_IN,
    "accounts.security.disable_two_factor": SIGNED_IN,
    "accounts.security.recovery_codes": SIGNED_IN,
    "accounts.security.stop_impersonating": PUBLIC,  # nobody is impersonating: a redirect
    "competitions.detail": PUBLIC,
    "competitions.people": MANAGERS,
    "competitions.revoke": MANAGERS,
    "competitions.logo": NOT_FOUND,
    "setup.general": MANAGERS,
    "setup.change_state": MANAGERS,
    "setup.rules": MANAGERS,
    "setup.timeline": MANAGERS,
    "setup.logo": MANAGERS,
    "setup.tracks": MANAGERS,
    "setup.edit_track": MANAGERS,
    "setup.delete_track": MANAGERS,
    "rounds.index": PUBLIC,
    "rounds.new": MANAGERS,
    "rounds.edit": MANAGERS,
    "rounds.detail": MANAGERS,
    "rounds.recommend": MANAGERS,
    "rounds.withdraw": MANAGERS,
    "rounds.delete": MANAGERS,
    "submission_admin.materials": MANAGERS,
    "submission_admin.new_slot": MANAGERS,
    "submission_admin.edit_slot": MANAGERS,
    "submission_admin.delete_slot": MANAGERS,  # the sweep's material has a file: refused with a message
    "submission_admin.standard_slots": MANAGERS,
    "submission_admin.overview_page": MANAGERS,
    "submission_admin.export_xlsx": MANAGERS,
    "submission_admin.reopen": MANAGERS,
    "submission_admin.extend": MANAGERS,
    "submission_admin.revoke_extension": MANAGERS,
    "submission_admin.make_archive": MANAGERS,
    "submission_admin.job": ROUND_JOB,
    "submission_admin.job_download": ROUND_JOB,  # the sweep's job is still queued: back to its page
    "submissions.team_submission": TEAM_PAGE,
    "submissions.upload": TEAM_MEMBERS,
    "submissions.add_link": TEAM_MEMBERS,
    "submissions.remove_file": TEAM_MEMBERS,
    "submissions.save_details": TEAM_MEMBERS,
    "submissions.submit": TEAM_MEMBERS,
    "submissions.download": TEAM_PAGE,  # the sweep's judge is not assigned
    "submissions.judge_view": TEAM_PAGE,
    "team_excel.export_xlsx": TEAM_OFFICES,
    "team_excel.export_csv": TEAM_OFFICES,
    "team_excel.import_template": TEAM_OFFICES,
    "team_excel.import_teams": TEAM_OFFICES,
    "teams.mine": SIGNED_IN,
    "teams.create": SIGNED_IN,
    "teams.detail": TEAM_PAGE,
    "teams.edit": TEAM_LEADER,
    "teams.member_profile": TEAM_LEADER,
    "teams.invite": TEAM_LEADER,
    "teams.regenerate_code": TEAM_LEADER,
    "teams.revoke_invitation": TEAM_LEADER,
    "teams.join": NO_SUCH_INVITE,
    "teams.invitation": NO_SUCH_INVITE,
    "teams.decline_invitation": NO_SUCH_INVITE,
    "teams.remove_member": TEAM_LEADER,
    "teams.transfer_leadership": TEAM_LEADER,
    "teams.leave": TEAM_REVIEW,  # a reviewer is no member: refused with a message
    "teams.advisor": TEAM_LEADER,
    "teams.remove_advisor": TEAM_LEADER,
    "teams.submit": TEAM_LEADER,
    "teams.withdraw": TEAM_LEADER,
    "team_review.team_list": TEAM_OFFICES,
    "team_review.approve": TEAM_REVIEW,
    "team_review.return_team": TEAM_REVIEW,
    "team_review.unlock": TEAM_REVIEW,
    "institutions.index": ADMIN_ONLY,
    "institutions.new": ADMIN_ONLY,
    "institutions.edit": ADMIN_ONLY,
    "admin.index": ADMIN_ONLY,
    "admin.users": ADMIN_ONLY,
    "admin.user_detail": ADMIN_ONLY,
    "admin.disable_user": ADMIN_ONLY,
    "admin.enable_user": ADMIN_ONLY,
    "admin.grant_admin": ADMIN_ONLY,
    "admin.revoke_admin": ADMIN_ONLY,
    "admin.send_reset_link": ADMIN_ONLY,
    "admin.reset_two_factor": ADMIN_ONLY,  # the sweep's user has no two-factor log-in: refused with a message
    "admin.impersonate": ADMIN_ONLY,
    "admin.competitions": ADMIN_ONLY,
    "admin.outbox": ADMIN_ONLY,
    "admin.outbox_message": ADMIN_ONLY,
    "admin.audit_log": ADMIN_ONLY,
    "admin.jobs": ADMIN_ONLY,
    "admin.outbox_retry": ADMIN_ONLY,  # the sweep's message is on its way: refused with a message
    "judging.home": SIGNED_IN,
    "judging.declare": OWN_ASSIGNMENT,
    "judging_admin.judges": MANAGERS,
    "judging_admin.edit_judge": MANAGERS,
    "judging_admin.remove_round_judge": MANAGERS,  # without the page's version: refused with a message
    "judging_admin.assignment_page": MANAGERS,
    "judging_admin.propose": MANAGERS,  # an empty form: shown again
    "judging_admin.run": MANAGERS,
    "judging_admin.apply_run": MANAGERS,  # the sweep's run is applied already: refused with a message
    "judging_admin.discard_run": MANAGERS,
    "judging_admin.add_assignment": MANAGERS,
    "judging_admin.remove_assignment": MANAGERS,
    "conflicts.index": MANAGERS,
    "conflicts.refresh": MANAGERS,
    "conflicts.declare": MANAGERS,
    "conflicts.dismiss": MANAGERS,  # without a reason: refused with a message
    "conflicts.restore": MANAGERS,  # the sweep's conflict is in force: refused with a message
    "experts.index": EXPERT_POOL,
    "experts.new": EXPERT_POOL,
    "experts.detail": EXPERT_POOL,
    "experts.invite": EXPERT_POOL,
    "experts.import_experts": EXPERT_POOL,
    "experts.import_template": EXPERT_POOL,
    "experts.export_xlsx": EXPERT_POOL,
    "experts.mentoring": SIGNED_IN,
    "experts.answer": MENTORSHIP,
    "experts.end_mentorship": MENTORSHIP,
    "experts.request_mentor": TEAM_LEADER,
    # the sweep's assignment is another judge's, in a round whose judging is not open
    "scoring.scorecard": OWN_ASSIGNMENT,
    "scoring.submit": OWN_ASSIGNMENT,
    "scoring.confirm": OWN_ASSIGNMENT,
    "scoring.autosave": OWN_ASSIGNMENT_JSON,
    "scoring.reopen_request": OWN_ASSIGNMENT,
    # the sweep's rubric is frozen and used by a submitted scorecard: its POSTs are refused with a message
    "scoring_admin.rubrics": MANAGERS,
    "scoring_admin.new_criterion": MANAGERS,
    "scoring_admin.edit_criterion": MANAGERS,
    "scoring_admin.delete_criterion": MANAGERS,
    "scoring_admin.min_comment": MANAGERS,
    "scoring_admin.unfreeze": MANAGERS,  # without a reason: refused with a message
    "scoring_admin.delete_rubric": MANAGERS,
    "scoring_admin.progress_page": MANAGERS,
    "scoring_admin.reopen": MANAGERS,  # without a reason: refused with a message
    "scoring_admin.send_reminders": MANAGERS,
    "scoring_admin.reminder_setting": MANAGERS,
    "scoring_admin.close": MANAGERS,  # without the confirmation: refused with a message
    "scoring_admin.export_xlsx": MANAGERS,
    # results: the sweep's school round is published (its snapshot is the public page's); the
    # organizers' POSTs without a form are refused with a message (publishing again needs a reason)
    "results_admin.preview": MANAGERS,
    "results_admin.settings": MANAGERS,  # an empty form: shown again with its errors
    "results_admin.override": MANAGERS,  # without a reason: refused with a message
    "results_admin.remove_override": MANAGERS,
    "results_admin.advance": MANAGERS,
    "results_admin.repechage": MANAGERS,  # without a team and a reason: refused with a message
    "results_admin.start_notice": MANAGERS,  # published already: refused with a message
    "results_admin.publish": MANAGERS,  # published already, without a reason: refused with a message
    "results_admin.statistics": MANAGERS,
    "results_admin.export_xlsx": MANAGERS,
    "results.public": PUBLIC,
    "results.team_results": TEAM_ONLY,
    "results.appeal": TEAM_ONLY,
    "results.organizer_appeals": MANAGERS,
    "results.answer_appeal": MANAGERS,  # an empty answer: the page shown again
    "results.appeal_attachment": APPEAL_FILE,
    "certificates.verify": PUBLIC,
    "certificates.lookup": PUBLIC,
    "certificates.mine": SIGNED_IN,
    "notifications.index": SIGNED_IN,
    "notifications.read_all": SIGNED_IN,
    "notifications.open_notification": NO_SUCH_INVITE,  # the sweep's notification is someone else's
    "certificates.download": CERTIFICATE_FILE,
    # certificates (organizers): the sweep's round is published with no rows and one certificate issued;
    # POSTs without a form are refused with a message (revoke and reissue need a reason, issuing a
    # choice, a template its text); the sweep's certificate's values are too few for the default
    # template, so its print batch is refused with a message
    "certificates_admin.index": MANAGERS,
    "certificates_admin.issue": MANAGERS,
    "certificates_admin.progress": MANAGERS,
    "certificates_admin.round_list": MANAGERS,
    "certificates_admin.download": MANAGERS,
    "certificates_admin.revoke": MANAGERS,
    "certificates_admin.reissue": MANAGERS,
    "certificates_admin.zip_download": MANAGERS,
    "certificates_admin.print_batch": MANAGERS,
    "certificates_admin.template_editor": MANAGERS,
    "certificates_admin.template_preview": MANAGERS,
    "certificates_admin.template_reset": MANAGERS,
    # communications: the sweep's announcement is published; delete is swept last (it removes it);
    # the bulk e-mail POSTs without a form show the form again with its errors
    "communications.announcements": PUBLIC,
    "communications.new_announcement": MANAGERS,
    "communications.edit_announcement": MANAGERS,
    "communications.pin_announcement": MANAGERS,
    "communications.publish_announcement": MANAGERS,
    "communications.delete_announcement": MANAGERS,
    "communications.new_mailing": MANAGERS,
    "communications.send_mailing": MANAGERS,
    "communications.mailings": MANAGERS,
    # privacy: nobody in the sweep has agreed to an older notice; the sweep's deletion request is
    # answered already, so carrying it out or refusing it is refused with a message
    "privacy.notice": PUBLIC,
    "privacy.accept": SIGNED_IN,
    "privacy.account": SIGNED_IN,
    "privacy.download_data": SIGNED_IN,
    "privacy.request_deletion": SIGNED_IN,  # without a password: the page shown again
    "privacy.cancel_deletion": SIGNED_IN,  # nothing to withdraw: back with a message
    "privacy.admin_requests": ADMIN_ONLY,
    "privacy.carry_out": ADMIN_ONLY,
    "privacy.refuse": ADMIN_ONLY,
}

VISITORS = ("anonymous", "student", "judge", "other_organizer", "organizer", "admin")


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ROUTES) == set(), "classify the new route(s) in tests/test_route_sweep.py"
    assert set(ROUTES) - endpoints == set(), "remove routes that no longer exist"


@pytest.fixture
def world(app):
    contest = factories.competition(code="SWEEP")
    other = factories.competition(code="OTHER")
    people = {
        "student": factories.user(),
        "judge": factories.user(),
        "other_organizer": factories.user(),
        "organizer": factories.user(),
        "admin": factories.user(is_admin=True),
    }
    factories.grant(people["student"], contest, "student")
    factories.grant(people["judge"], contest, "judge")
    factories.grant(people["other_organizer"], other, "organizer")
    factories.grant(people["organizer"], contest, "organizer")
    target = factories.user()
    grant = factories.grant(target, contest, "judge")
    track = factories.track(contest, "idea")
    factories.team(contest, track_row=track)  # a track in use: the sweep's POST cannot delete it
    # a school round recommending to a final, with two teams recommended: the sweep's POSTs (withdraw,
    # recommend, delete) leave at least one recommendation, so the round is never deleted
    final = factories.round_(contest, position=2, name_zh="决赛", level="alliance", entry_rule="advanced")
    school = factories.round_(contest, position=1, next_round=final, quota_kind="count", quota_value=5)
    recommended = [factories.team(contest, state="approved") for _ in range(2)]
    for team in recommended:
        db.session.add(
            RoundEntry(
                round_id=final.id,
                team=team,
                institution_id=team.institution_id,
                from_round_id=school.id,
                source="recommended",
            )
        )
    swept = recommended[0]
    advisor = Advisor(team=swept, name="王老师", title="教授")
    invitation = TeamInvitation(team=swept, email="invitee@example.edu.cn")
    db.session.add_all([advisor, invitation])
    # a material with a link handed in (so the sweep cannot delete it) and an archive job of the round
    slot = MaterialSlot(round=school, code="video", label_zh="视频", label_en="Video", allowed_kinds=["mp4"],
                        max_bytes=1024 * 1024, allow_link=True)  # fmt: skip
    submission = Submission(round=school, team=swept)
    db.session.add_all([slot, submission])
    db.session.flush()
    db.session.add(SubmissionFile(submission=submission, slot=slot, link_url="https://example.com/v"))
    stored = storage.save(io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + bytes(100)), folder="submissions", suffix=".mp4")
    video = SubmissionFile(submission=submission, slot=slot, original_name="路演视频.mp4", kind="mp4",
                           storage_key=stored.key, size=stored.size, sha256=stored.sha256)  # fmt: skip
    db.session.add(video)
    archive_job = Job(name="submissions.archive", args={"round_id": school.id})
    db.session.add(archive_job)
    db.session.flush()
    # judging: the target judges the school round and the swept submission (scoring begun), an
    # applied proposal, a conflict declared by an organizer (refreshing never removes it)
    round_judge = RoundJudge(round_id=school.id, user_id=target.id)
    assigned = Assignment(round_id=school.id, submission_id=submission.id, judge_id=target.id, protected=True)
    run = AssignmentRun(round_id=school.id, state="applied", pairs=[[submission.id, target.id]], statistics={})
    conflict = Conflict(competition_id=contest.id, judge_id=target.id, team_id=recommended[1].id,
                        source="declared_by_organizer", reason="亲属关系")  # fmt: skip
    db.session.add_all([round_judge, assigned, run, conflict])
    db.session.flush()
    # scoring: the school round's rubric, frozen by the target's submitted scorecard
    rubric = scoring.create_rubric(school, actor=people["organizer"], preset_code="alliance-online-review")
    criterion = rubric.criteria[0]
    scorecard = Scorecard(assignment_id=assigned.id, round_id=school.id, submission_id=submission.id,
                          judge_id=target.id, rubric_id=rubric.id, state="submitted", total=criterion.max_points,
                          submitted_at=utcnow(), version=1)  # fmt: skip
    scorecard.values.append(ScoreValue(criterion_id=criterion.id, points=criterion.max_points,
                                       max_points=criterion.max_points))  # fmt: skip
    rubric.frozen_at = scorecard.submitted_at
    db.session.add(scorecard)
    db.session.flush()
    expert = Expert(user=factories.user(), employer="天府创新投资", city="成都", side="sichuan", kind="investor",
                    expertise=["idea"], mentors=True)  # fmt: skip
    mentorship = Mentorship(team=swept, expert=expert)  # waiting for an answer
    db.session.add_all([expert, mentorship])
    # results: the school round published, and an appeal filed by the swept team with an attachment
    snapshot = ResultSnapshot(round_id=school.id, kind="published", settings={"show_scores": True, "method": "mean"},
                              rows=[], feedback={}, statistics={}, created_by_id=people["organizer"].id)  # fmt: skip
    db.session.add(snapshot)
    db.session.flush()
    attachment = storage.save(io.BytesIO(b"%PDF-1.4\n" + bytes(100)), folder="appeals", suffix=".pdf")
    appeal = Appeal(round_id=school.id, team_id=swept.id, snapshot_id=snapshot.id, text="我们对名次有疑问。",
                    attachment_key=attachment.key, attachment_name="说明.pdf", filed_by_id=swept.leader_id)  # fmt: skip
    db.session.add(appeal)
    # certificates: one issued to the swept team's leader (none of the visitors), with its PDF
    pdf = storage.save(io.BytesIO(b"%PDF-1.7\n" + bytes(100)), folder="certificates", suffix=".pdf")
    certificate = Certificate(competition_id=contest.id, round_id=school.id, kind="award", recipient_type="member",
                              recipient_key="sweep/award/leader", recipient_user_id=swept.leader_id,
                              recipient_name="李明", team_id=swept.id, sequence=1, serial="SWEEP-2026-000001",
                              verification_code="sweep-verify-code", state="issued", issued_at=utcnow(),
                              values={"competition_zh": contest.name_zh}, file_key=pdf.key, sha256=pdf.sha256, size=pdf.size)  # fmt: skip
    db.session.add(certificate)
    notification = Notification(user_id=target.id, kind="tests", title="通知", link="/")
    db.session.add(notification)
    announcement = Announcement(competition_id=contest.id, title_zh="报名通知", body_zh="请按时报名。",
                                published_at=utcnow())  # fmt: skip
    db.session.add(announcement)
    message = queue_mail(
        to=target.email, template="accounts/emails/verify_email", locale="en", user=target, verify_url="x", valid_days=3
    )
    deletion = DeletionRequest(user=factories.user(), state="refused", decision_note="仍在参赛")
    db.session.add(deletion)
    db.session.commit()
    values = {
        "code": contest.code,
        "grant_id": grant.id,
        "track_id": track.id,
        "user_id": target.id,
        "round_id": school.id,
        "team_id": swept.id,
        "member_id": swept.members[1].id,
        "advisor_id": advisor.id,
        "invitation_id": invitation.id,
        "institution_id": recommended[0].institution_id,
        "message_id": message.id,
        "announcement_id": announcement.id,
        "notification_id": notification.id,
        "slot_id": slot.id,
        "file_id": video.id,
        "submission_id": submission.id,
        "job_id": archive_job.id,
        "round_judge_id": round_judge.id,
        "assignment_id": assigned.id,
        "run_id": run.id,
        "conflict_id": conflict.id,
        "expert_id": expert.id,
        "mentorship_id": mentorship.id,
        "rubric_id": rubric.id,
        "criterion_id": criterion.id,
        "scorecard_id": scorecard.id,
        "appeal_id": appeal.id,
        "verification_code": certificate.verification_code,
        "certificate_id": certificate.id,
        "kind": "award",
        "token": "not-a-valid-token",
        "filename": "css/app.css",
        "request_id": deletion.id,
    }
    return people, values


def _sign_in(client, user):
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_route_answers_each_visitor_as_classified(app, world, visitor):
    people, values = world
    failures = []
    for rule in app.url_map.iter_rules():
        client = app.test_client()
        if visitor != "anonymous":
            _sign_in(client, people[visitor])
        method = "GET" if "GET" in rule.methods else "POST"
        url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        response = client.open(url, method=method)
        expected = ROUTES[rule.endpoint][visitor]
        if expected == LOGIN:
            ok = response.status_code == 302 and "/account/login" in response.headers["Location"]
        else:
            ok = response.status_code in expected
        if not ok:
            failures.append(f"{method} {url} as {visitor}: {response.status_code}, expected {expected}")
    assert failures == []


def test_routes_that_change_state_refuse_get(app):
    """log-out, language, join, revoke, disable…: only POST (with its CSRF token) changes anything."""
    post_only = [rule for rule in app.url_map.iter_rules() if "GET" not in rule.methods]
    assert {rule.endpoint for rule in post_only} >= {"accounts.logout", "competitions.revoke", "admin.disable_user"}
    for rule in post_only:
        url = rule.build(dict.fromkeys(rule.arguments, "1"), append_unknown=False)[1]
        assert app.test_client().get(url).status_code == 405, url
