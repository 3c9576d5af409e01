"""Bulk e-mails: compose → preview (the exact count, the first recipients, the rendered message in
both languages) → confirm; one outbox message per address in its reader's language, sanitized;
idempotent against a double submit; institution organizers only reach their own teams."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, insert, select

from competition.accounts.models import CompetitionRole, User
from competition.communications.models import Mailing
from competition.core import jobs
from competition.core.mail import OutboxMessage
from competition.extensions import db
from competition.teams.models import Advisor, Team, TeamMember
from tests import factories

EN = {"Accept-Language": "en"}
XSS = "**重要** <script>alert(1)</script> [点我](javascript:alert(2)) [官网](https://example.edu.cn/x)"


def run_mailing_jobs() -> int:
    """Run the queued sending jobs only (the mail deliveries stay queued: the outbox is what counts)."""
    ids = db.session.scalars(
        select(jobs.Job.id).where(jobs.Job.name == "communications.send_mailing", jobs.Job.state == "queued")
    ).all()
    for job_id in ids:
        jobs.execute(job_id)
    return len(ids)


def queued() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "communications/emails/bulk")))


@pytest.fixture
def world(app):
    contest = factories.competition(code="MAIL")
    idea = factories.track(contest, "idea")
    scu, cqu = factories.institution("SCU"), factories.institution("CQU")
    scu_team = factories.team(contest, state="approved", track_row=idea, institution_row=scu, advisors=0)
    cqu_team = factories.team(contest, state="submitted", track_row=idea, institution_row=cqu)
    factories.team(contest, state="draft", track_row=idea, institution_row=scu)
    scu_team.members[1].user.locale = "en"
    db.session.commit()
    return contest, idea, scu, cqu, scu_team, cqu_team


FORM = {"audience": "members", "track": "", "institution": "", "round": "", "subject_zh": "中文主题",
        "body_zh": "中文**正文**", "subject_en": "English subject", "body_en": "English **text**"}  # fmt: skip


def preview(client, **changes) -> tuple[str, dict]:
    """Post the form for a preview; returns the page and the confirmation's fields."""
    response = client.post("/competitions/MAIL/mailings/new", data={**FORM, **changes, "action": "preview"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    send_form = (
        page.split('action="/competitions/MAIL/mailings/send"')[1].split("</form>")[0] if "send-mailing" in page else ""
    )
    fields = {
        name: value.replace("&#34;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        .replace("&#39;", "'")
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', send_form, re.S)
    }  # fmt: skip
    return page, fields


def test_preview_shows_the_exact_count_the_recipients_and_both_languages(app, client, login_as, world):
    contest, idea, scu, cqu, scu_team, cqu_team = world
    login_as("organizer", competition=contest)
    page, fields = preview(client)
    assert re.search(r'data-testid="recipient-count">[^<]*\b6<', page)
    assert scu_team.leader.real_name in page and cqu_team.leader.real_name in page
    assert scu_team.leader.email not in page  # addresses are masked on the preview
    assert "中文主题" in page and "English subject" in page
    assert "中文<strong>正文</strong>" in page and "English <strong>text</strong>" in page
    assert fields["expected_count"] == "6" and len(fields["token"]) >= 16
    assert db.session.scalar(select(func.count(Mailing.id))) == 0  # a preview sends nothing


def test_confirming_sends_one_message_per_recipient_in_their_language(app, client, login_as, world):
    contest, idea, scu, cqu, scu_team, cqu_team = world
    organizer = login_as("organizer", competition=contest)
    _page, fields = preview(client)
    response = client.post("/competitions/MAIL/mailings/send", data=fields)
    assert response.status_code == 302 and response.headers["Location"].endswith("/competitions/MAIL/mailings/")
    mailing = db.session.scalar(select(Mailing))
    assert mailing.recipient_count == 6 and mailing.author_id == organizer.id
    assert run_mailing_jobs() == 1
    messages = {message.to_address: message for message in queued()}
    assert len(messages) == 6 == mailing.recipient_count
    english_reader = scu_team.members[1].user
    assert messages[english_reader.email].subject == "English subject"
    assert "English <strong>text</strong>" in messages[english_reader.email].body_html
    assert messages[english_reader.email].locale == "en"
    chinese = messages[scu_team.leader.email]
    assert chinese.subject == "中文主题" and "中文**正文**" in chinese.body_text and chinese.locale == "zh_Hans_CN"
    history = client.get("/competitions/MAIL/mailings/").get_data(as_text=True)
    assert "中文主题" in history and 'data-testid="mailing-count">6' in history


def test_without_an_english_version_everyone_reads_chinese(app, client, login_as, world):
    contest, *_rest, scu_team, _cqu = world
    login_as("organizer", competition=contest)
    _page, fields = preview(client, subject_en="", body_en="")
    client.post("/competitions/MAIL/mailings/send", data=fields)
    run_mailing_jobs()
    english_reader = scu_team.members[1].user
    message = next(m for m in queued() if m.to_address == english_reader.email)
    assert message.subject == "中文主题" and "中文<strong>正文</strong>" in message.body_html
    assert "Hello" in message.body_text  # the frame is in the reader's language


def test_an_english_subject_without_english_text_is_refused(app, client, login_as, world):
    contest, *_rest = world
    login_as("organizer", competition=contest, locale="en")
    page, fields = preview(client, body_en="")
    assert "Write both the English subject and the English text, or neither." in page and not fields


def test_a_double_submit_sends_once(app, client, login_as, world):
    contest, *_rest = world
    login_as("organizer", competition=contest, locale="en")
    _page, fields = preview(client)
    client.post("/competitions/MAIL/mailings/send", data=fields)
    again = client.post("/competitions/MAIL/mailings/send", data=fields, follow_redirects=True)
    assert "had already been sent" in again.get_data(as_text=True)
    run_mailing_jobs()
    assert db.session.scalar(select(func.count(Mailing.id))) == 1
    assert len(queued()) == 6


def test_recipients_changed_since_the_preview_are_shown_again_before_sending(app, client, login_as, world):
    contest, idea, scu, cqu, scu_team, cqu_team = world
    login_as("organizer", competition=contest, locale="en")
    _page, fields = preview(client)
    factories.team(contest, state="approved", track_row=idea, institution_row=scu)
    db.session.commit()
    response = client.post("/competitions/MAIL/mailings/send", data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "there are now 9" in page
    assert db.session.scalar(select(func.count(Mailing.id))) == 0


def test_the_message_is_sanitized_in_both_parts(app, client, login_as, world, outbox):
    contest, *_rest = world
    login_as("organizer", competition=contest)
    _page, fields = preview(client, audience="leaders", body_zh=XSS, subject_en="", body_en="")
    client.post("/competitions/MAIL/mailings/send", data=fields)
    assert len(outbox) == 2  # jobs run inline here: queued and delivered to the SMTP server
    for email in outbox:
        html = email.get_body(preferencelist=("html",)).get_content()
        text = email.get_body(preferencelist=("plain",)).get_content()
        assert "<strong>重要</strong>" in html and 'href="https://example.edu.cn/x"' in html
        assert "<script>alert" not in html and 'href="javascript:' not in html
        assert "**重要**" in text  # the text part is the Markdown source, as written


def test_nobody_in_the_group_nothing_to_send(app, client, login_as, world):
    contest, *_rest = world
    login_as("organizer", competition=contest, locale="en")
    page, fields = preview(client, audience="judges")
    assert "Nobody is in this group" in page and not fields


def test_pending_judges_need_a_round(app, client, login_as, world):
    contest, *_rest = world
    login_as("organizer", competition=contest, locale="en")
    factories.round_(contest)
    db.session.commit()
    page, _fields = preview(client, audience="pending_judges")
    assert "Please choose the round whose judges should be written to." in page


def test_an_institution_organizer_reaches_only_their_own_teams(app, client, login_as, world):
    contest, idea, scu, cqu, scu_team, cqu_team = world
    office = factories.user(institution=scu, locale="en")
    factories.grant(office, contest, "institution_organizer", scu)
    login_as(user=office)
    form = client.get("/competitions/MAIL/mailings/new").get_data(as_text=True)
    assert "Sichuan University" in form and "Chongqing University" not in form
    assert 'value="judges"' not in form and 'value="pending_judges"' not in form
    page, fields = preview(client)
    assert fields["expected_count"] == "3"
    client.post("/competitions/MAIL/mailings/send", data=fields)
    run_mailing_jobs()
    assert {message.to_address for message in queued()} == {member.user.email for member in scu_team.members}
    refused, _ = preview(client, institution=str(cqu.id))
    assert "Not a valid choice" in refused or "your own institution" in refused
    judges, _ = preview(client, audience="judges")
    assert "Not a valid choice" in judges
    # the forged confirmation of another institution is refused as well
    forged = {**fields, "token": "x" * 32, "institution": str(cqu.id)}
    assert client.post("/competitions/MAIL/mailings/send", data=forged).status_code == 200
    assert db.session.scalar(select(func.count(Mailing.id))) == 1


@pytest.mark.parametrize("role", ["student", "judge", "other"])
def test_students_judges_and_other_organizers_are_refused(app, client, login_as, world, role):
    contest, *_rest = world
    if role == "other":
        login_as("organizer", competition=factories.competition(code="OTHERMAIL"))
    else:
        login_as(role, competition=contest)
    assert client.get("/competitions/MAIL/mailings/new").status_code == 403
    assert client.get("/competitions/MAIL/mailings/").status_code == 403
    assert client.post("/competitions/MAIL/mailings/new", data={**FORM, "action": "preview"}).status_code == 403
    assert client.post("/competitions/MAIL/mailings/send", data={**FORM, "token": "y" * 32}).status_code == 403
    assert db.session.scalar(select(func.count(Mailing.id))) == 0


def test_a_draft_competition_is_not_found_for_outsiders(app, client, login_as):
    factories.competition(code="DRAFTMAIL", state="draft")
    login_as("organizer", competition=factories.competition(code="ELSEMAIL"))
    assert client.get("/competitions/DRAFTMAIL/mailings/new").status_code == 404
    assert app.test_client().get("/competitions/DRAFTMAIL/mailings/new").status_code == 302  # log in first


def _bulk_teams(contest, track, institution, *, teams: int, members: int) -> None:
    """Teams written in bulk (the factories hash a password per person: too slow for hundreds)."""
    users = [{"email": f"bulk{index}@example.edu.cn", "password_hash": "x", "real_name": f"学生{index}",
              "institution_id": institution.id, "locale": "en" if index % 5 == 0 else "zh_Hans_CN", "is_admin": False,
              "is_disabled": False, "session_token": f"t{index}"} for index in range(teams * members)]  # fmt: skip
    db.session.execute(insert(User), users)
    ids = db.session.scalars(select(User.id).where(User.email.like("bulk%")).order_by(User.id)).all()
    db.session.execute(
        insert(CompetitionRole), [{"user_id": uid, "competition_id": contest.id, "role": "student"} for uid in ids]
    )
    team_rows = [{"competition_id": contest.id, "track_id": track.id, "institution_id": institution.id,
                  "name": f"批量团队{index}", "project_title": "项目", "leader_id": ids[index * members],
                  "state": "approved", "member_count": members, "invite_code": f"code{index}"} for index in range(teams)]  # fmt: skip
    db.session.execute(insert(Team), team_rows)
    team_ids = db.session.scalars(select(Team.id).where(Team.name.like("批量团队%")).order_by(Team.id)).all()
    profile = {"student_number": "1", "institution_id": institution.id, "department": "学院", "major": "专业",
               "degree_level": "bachelor", "enrollment_year": 2023, "graduation_year": 2027}  # fmt: skip
    db.session.execute(insert(TeamMember), [
        {"team_id": team_ids[index // members], "user_id": uid, "role": "leader" if index % members == 0 else "member",
         "real_name": f"学生{index}", **profile}
        for index, uid in enumerate(ids)
    ])  # fmt: skip
    db.session.execute(insert(Advisor), [{"team_id": tid, "name": "导师", "title": "", "email": f"advisor{tid}@example.org"}
                                         for tid in team_ids])  # fmt: skip
    db.session.commit()


def test_a_few_hundred_recipients_are_previewed_and_queued_quickly(app, client, login_as):
    contest = factories.competition(code="MAIL")
    track = factories.track(contest, "idea")
    _bulk_teams(contest, track, factories.institution("SCU"), teams=100, members=4)
    login_as("organizer", competition=contest)
    started = time.perf_counter()
    _page, fields = preview(client)
    preview_seconds = time.perf_counter() - started
    started = time.perf_counter()
    assert client.post("/competitions/MAIL/mailings/send", data=fields).status_code == 302
    confirm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    run_mailing_jobs()
    job_seconds = time.perf_counter() - started
    assert fields["expected_count"] == "400"
    messages = queued()
    assert len(messages) == 400 == db.session.scalar(select(Mailing.queued_count))
    assert sum(message.locale == "en" for message in messages) == 80
    print(
        f"mailing recipients=400 preview_s={preview_seconds:.2f} confirm_s={confirm_seconds:.2f} job_s={job_seconds:.2f}"
    )
    assert preview_seconds < 5 and confirm_seconds < 5 and job_seconds < 30


def test_the_sending_job_resumes_where_it_stopped_and_skips_accounts_disabled_since(app, client, login_as, world):
    from competition.communications import services

    contest, *_rest, scu_team, cqu_team = world
    login_as("organizer", competition=contest)
    _page, fields = preview(client)
    client.post("/competitions/MAIL/mailings/send", data=fields)
    mailing = db.session.scalar(select(Mailing))
    assert services.queue_chunk(mailing, limit=2) == 2  # a first chunk committed, then the job stopped
    db.session.commit()
    cqu_team.leader.is_disabled = True
    db.session.commit()
    run_mailing_jobs()
    addresses = [message.to_address for message in queued()]
    assert len(addresses) == len(set(addresses)) == 5 and cqu_team.leader.email not in addresses
    assert db.session.get(Mailing, mailing.id).is_done


def test_back_from_the_preview_keeps_what_was_written_in_english_too(app, client, login_as, world):
    contest, *_rest = world
    login_as("organizer", competition=contest, locale="en")
    page, fields = preview(client, body_zh="第一行\n第二行")
    assert "Check and send the e-mail" in page and "English" in page and "中文" in page
    back = client.post("/competitions/MAIL/mailings/new", data={**fields, "action": "edit"}).get_data(as_text=True)
    assert "Write an e-mail" in back and "第一行\n第二行" in back and 'value="中文主题"' in back
    assert "is-invalid" not in back
    assert db.session.scalar(select(func.count(Mailing.id))) == 0


def test_the_competition_page_links_organizers_to_the_e_mails(app, client, login_as, world):
    contest, *_rest = world
    assert "mailings-link" not in client.get("/competitions/MAIL").get_data(as_text=True)
    login_as("organizer", competition=contest)
    assert 'data-testid="mailings-link"' in client.get("/competitions/MAIL").get_data(as_text=True)
    setup = client.get("/competitions/MAIL/setup/").get_data(as_text=True)
    assert "/competitions/MAIL/announcements" in setup and "/competitions/MAIL/mailings/" in setup
