"""The organizers' certificate pages through HTTP: issuing from a published round (the job, its
progress as JSON, the certificates that could not be generated with their characters), an
unpublished round refused, the round's list with revoke (reason and confirmation) and reissue,
downloads (one PDF, a ZIP per track or institution, a print batch as one multi-page PDF), the
template editor (preview as PDF, a bad template shown next to its text, save, reset), the links
into these pages, and access: only the competition's organizers and admins reach any of them."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape

import pypdf
import pytest
from sqlalchemy import func, select

from competition.certificates import issuing, services
from competition.certificates import organizer_views as views
from competition.certificates.models import Certificate, CertificateState, CertificateTemplate
from competition.core.audit import AuditEntry
from competition.core.jobs import Job, run_pending_jobs
from competition.extensions import db
from competition.teams.models import TeamMember
from tests import factories
from tests.certificates.world import EXPECTED_TOTAL, published_round

pytestmark = pytest.mark.usefixtures("english")

EN = {"Accept-Language": "en"}


def sign_in(client, user) -> None:
    user.locale = "en"
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def base(world) -> str:
    return f"/competitions/{world.contest.code}/certificates"


def issue_data(world, choices=issuing.CHOICES, awards=issuing.AWARD_CODES, issued_on="2026-06-18") -> dict:
    prefix = f"round-{world.round.id}-"
    return {f"{prefix}choices": list(choices), f"{prefix}advisor_awards": list(awards), f"{prefix}issued_on": issued_on}


def text_of(response) -> str:
    """The page's text, tags dropped and whitespace collapsed (for sentences across markup)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.text)))


def certificates() -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).order_by(Certificate.sequence)))


def issued_world(client, *, choices=issuing.CHOICES):
    """A published round whose certificates the organizer issued through the page (jobs inline, e-mails delivered)."""
    world = published_round()
    sign_in(client, world.organizer)
    response = client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world, choices), headers=EN)
    assert response.status_code == 302, response.text
    return world


def audit(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


# --- issuing ------------------------------------------------------------------------------------


def test_issuing_from_a_published_round_runs_the_job_and_lists_the_certificates(app, client, fake_renderer, outbox):
    world = published_round()
    sign_in(client, world.organizer)
    index = client.get(f"{base(world)}/", headers=EN)
    assert index.status_code == 200
    assert 'data-testid="issue-form"' in index.text and "Results published" in index.text
    assert re.search(rf'<input checked[^>]* name="round-{world.round.id}-choices" type="checkbox" value="award_member"',
                     index.text)  # fmt: skip

    response = client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world), headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{base(world)}/#round-{world.round.id}")
    rows = certificates()
    assert [row.state for row in rows] == ["issued"] * EXPECTED_TOTAL
    assert all(row.values["issue_date"] == "2026-06-18" for row in rows)
    assert len(fake_renderer.rendered) == EXPECTED_TOTAL
    (entry,) = audit("certificates.generate")
    assert entry.actor_id == world.organizer.id

    page = client.get(f"{base(world)}/", headers=EN)
    assert "are being generated" in page.text  # the flashed message
    assert f"Finished: {EXPECTED_TOTAL} of {EXPECTED_TOTAL} certificates generated." in page.text
    assert 'data-testid="count-issued">16<' in page.text
    assert "data-progress-url" not in page.text  # finished: nothing to poll

    progress = client.get(f"{base(world)}/rounds/{world.round.id}/progress.json", headers=EN)
    assert progress.status_code == 200 and progress.mimetype == "application/json"
    assert progress.json["state"] == "finished" and progress.json["running"] is False
    assert (progress.json["percent"], progress.json["done"], progress.json["total"]) == (100, 16, 16)
    assert progress.json["counts"] == {"pending": 0, "issued": 16, "failed": 0, "revoked": 0}

    listing = client.get(f"{base(world)}/rounds/{world.round.id}/", headers=EN)
    assert listing.status_code == 200
    assert listing.text.count('data-testid="certificate"') == EXPECTED_TOTAL
    for row in rows:
        assert row.serial in listing.text
    assert "16 certificate(s) found." in listing.text
    judges = client.get(f"{base(world)}/rounds/{world.round.id}/?kind=judge", headers=EN)
    assert judges.text.count('data-testid="certificate"') == 2
    chongqing = client.get(f"{base(world)}/rounds/{world.round.id}/?institution=重庆大学", headers=EN)
    assert chongqing.text.count('data-testid="certificate"') == 2
    paged = client.get(f"{base(world)}/rounds/{world.round.id}/?state=issued", headers=EN)
    assert paged.text.count('data-testid="certificate"') == EXPECTED_TOTAL


def test_the_list_is_paginated(app, client, fake_renderer, outbox, monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 5)
    world = issued_world(client)
    first = client.get(f"{base(world)}/rounds/{world.round.id}/?kind=award", headers=EN)
    assert first.text.count('data-testid="certificate"') == 5
    assert f"{base(world)}/rounds/{world.round.id}/?page=2&amp;kind=award" in first.text
    second = client.get(f"{base(world)}/rounds/{world.round.id}/?kind=award&page=2", headers=EN)
    assert second.text.count('data-testid="certificate"') == 3  # 2 teams and 6 members


def test_issuing_needs_a_choice(app, client, fake_renderer):
    world = published_round()
    sign_in(client, world.organizer)
    response = client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world, choices=()),
                           headers=EN)  # fmt: skip
    assert response.status_code == 200
    assert "Please choose at least one kind of certificate." in response.text
    assert f'id="round-{world.round.id}-choices-error"' in response.text
    assert 'value="2026-06-18"' in response.text  # what was typed is kept
    assert db.session.scalar(select(func.count(Job.id))) == 0


def test_an_unpublished_round_is_refused_with_a_message(app, client, fake_renderer):
    world = published_round(publish=False)
    sign_in(client, world.organizer)
    index = client.get(f"{base(world)}/", headers=EN)
    assert 'data-testid="not-published"' in index.text and 'data-testid="issue-form"' not in index.text
    assert "certificates follow the published results" in index.text
    response = client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world), headers=EN)
    assert response.status_code == 200
    assert "are not published yet: certificates follow the published results." in response.text
    assert 'class="alert alert-danger"' in response.text
    assert db.session.scalar(select(func.count(Job.id))) == 0
    assert certificates() == []


def test_progress_while_the_job_waits_and_a_second_run_is_refused(app, client, fake_renderer):
    app.config["MAIL_BACKEND"] = "console"  # the jobs run below, deferred: their e-mails go nowhere
    world = published_round()
    sign_in(client, world.organizer)
    assert client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world)).status_code == 302
    page = client.get(f"{base(world)}/", headers=EN)
    url = f"{base(world)}/rounds/{world.round.id}/progress.json"
    assert f'data-progress-url="{url}"' in page.text
    assert "/static/js/job-progress.js" in page.text
    assert "Waiting for its turn…" in page.text
    assert 'data-testid="check-progress"' in page.text and 'data-testid="stop-refresh"' in page.text
    assert re.search(r'data-testid="issue" disabled', page.text)
    calm = client.get(f"{base(world)}/?refresh=off", headers=EN)
    assert "data-progress-url" not in calm.text and 'data-testid="check-progress"' in calm.text
    waiting = client.get(url, headers=EN).json
    assert (waiting["state"], waiting["running"], waiting["percent"]) == ("queued", True, 0)

    again = client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world), headers=EN)
    assert again.status_code == 200 and "being generated already" in again.text
    assert db.session.scalar(select(func.count(Job.id))) == 1

    run_pending_jobs()
    done = client.get(url, headers=EN).json
    assert (done["state"], done["running"], done["percent"], done["done"]) == ("finished", False, 100, EXPECTED_TOTAL)


def test_uncovered_characters_are_listed_with_what_to_do(app, client, fake_renderer, outbox):
    world = published_round()
    member = db.session.scalar(
        select(TeamMember).where(TeamMember.team_id == world.teams[0].id).order_by(TeamMember.id).limit(1)
    )
    member.real_name = "王\ue000明"
    db.session.commit()
    sign_in(client, world.organizer)
    client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world, choices=("award_member",)))
    failed = db.session.scalar(select(Certificate).where(Certificate.state == CertificateState.FAILED.value))
    assert failed.recipient_name == "王\ue000明"

    for url in (f"{base(world)}/", f"{base(world)}/rounds/{world.round.id}/?state=failed"):
        page = client.get(url, headers=EN)
        assert page.status_code == 200
        assert "1 certificate(s) could not be generated" in page.text
        (row,) = re.findall(r'<tr data-testid="failure".*?</tr>', page.text, flags=re.S)
        assert "王\ue000明" in row and failed.serial in row
        assert '<code data-testid="code-point">U+E000</code>' in row
        assert "private use" in row
        assert "王" not in re.search(r'data-testid="uncovered">(.*?)</ul>', row, flags=re.S).group(1)
        assert "Have the member's name corrected in the team's member details, then issue again." in row
        assert f'href="/teams/{world.teams[0].id}"' in row

    # the name corrected, issuing again generates only the missing certificate
    member.real_name = "王明"
    db.session.commit()
    client.post(f"{base(world)}/rounds/{world.round.id}/issue", data=issue_data(world, choices=("award_member",)))
    db.session.refresh(failed)
    assert (failed.state, failed.recipient_name) == ("issued", "王明")
    assert 'data-testid="failures"' not in client.get(f"{base(world)}/", headers=EN).text
    assert len(fake_renderer.rendered) == 6  # the five others once, the corrected one once


# --- revoke and reissue -------------------------------------------------------------------------


def _row_of(user) -> Certificate:
    return db.session.scalar(select(Certificate).where(Certificate.recipient_user_id == user.id))


def test_revoke_needs_a_reason_and_the_confirmation(app, client, fake_renderer, outbox):
    world = issued_world(client)
    certificate = _row_of(world.teams[0].leader)
    url = f"{base(world)}/{certificate.id}/revoke"
    back = f"/competitions/{world.contest.code}/certificates/rounds/{world.round.id}/?kind=award"

    response = client.post(url, data={"reason": "  ", "confirm": "y", "next": back}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == f"{back}#certificate-{certificate.id}"
    assert "Please give a reason." in client.get(back, headers=EN).text
    response = client.post(url, data={"reason": "学籍信息不符"}, headers=EN)
    assert "Please tick the box to confirm." in client.get(response.headers["Location"], headers=EN).text
    db.session.refresh(certificate)
    assert certificate.state == "issued" and audit("certificates.revoke") == []

    response = client.post(url, data={"reason": "学籍信息不符", "confirm": "y", "next": "https://evil.example/"})
    assert response.headers["Location"].startswith(f"/competitions/{world.contest.code}/certificates/rounds/")
    db.session.refresh(certificate)
    assert (certificate.state, certificate.revoke_reason, certificate.revoked_by_id) == (
        "revoked", "学籍信息不符", world.organizer.id)  # fmt: skip
    (entry,) = audit("certificates.revoke")
    assert entry.actor_id == world.organizer.id and entry.details["reason"] == "学籍信息不符"
    page = client.get(f"{base(world)}/rounds/{world.round.id}/?state=revoked", headers=EN)
    assert f"Certificate {certificate.serial} has been revoked" in page.text
    assert page.text.count('data-testid="certificate"') == 1 and "Reason: 学籍信息不符" in page.text
    assert 'data-testid="revoke-form"' not in page.text  # revoked once is enough
    # twice is refused with a message
    client.post(url, data={"reason": "again", "confirm": "y"})
    assert "already revoked or replaced" in client.get(f"{base(world)}/", headers=EN).text
    # the public verification page follows
    assert services.verify_by_code(certificate.verification_code).status == "revoked"
    if "certificates.verify" in app.view_functions:
        public = client.get(f"/verify/{certificate.verification_code}", headers=EN)
        assert public.status_code == 200 and "学籍信息不符" in public.text


def test_reissue_gives_a_new_serial_and_supersedes_the_old(app, client, fake_renderer, outbox):
    world = issued_world(client)
    member = sorted(world.teams[0].members, key=lambda m: m.id)[2]
    old = _row_of(member.user)
    url = f"{base(world)}/{old.id}/reissue"
    client.post(url, data={"reason": "", "recipient_name": "孙悟空"})
    assert "Please give a reason." in client.get(f"{base(world)}/", headers=EN).text
    assert db.session.scalar(select(func.count(Certificate.id))) == EXPECTED_TOTAL

    response = client.post(url, data={"reason": "姓名有误", "recipient_name": " 孙悟空 "}, headers=EN)
    assert response.status_code == 302
    db.session.refresh(old)
    new = db.session.get(Certificate, old.superseded_by_id)
    assert response.headers["Location"].endswith(f"#certificate-{new.id}")
    assert (old.state, new.state, new.recipient_name, new.replaces_id) == ("superseded", "issued", "孙悟空", old.id)
    assert new.serial != old.serial and new.serial.endswith(f"{EXPECTED_TOTAL + 1:06d}")
    (entry,) = audit("certificates.reissue")
    assert entry.actor_id == world.organizer.id and entry.details["new_serial"] == new.serial
    page = client.get(f"{base(world)}/rounds/{world.round.id}/", headers=EN)
    assert f"Certificate {old.serial} has been replaced by {new.serial}" in page.text
    assert f'data-serial="{old.serial}"' not in page.text and f'data-serial="{new.serial}"' in page.text
    assert f"Replaces {old.serial}" in page.text
    superseded = client.get(f"{base(world)}/rounds/{world.round.id}/?state=superseded", headers=EN)
    assert superseded.text.count('data-testid="certificate"') == 1 and f"Replaced by {new.serial}" in superseded.text
    assert 'data-testid="reissue-form"' not in superseded.text
    client.post(url, data={"reason": "again"})
    assert "already been replaced" in client.get(f"{base(world)}/", headers=EN).text


# --- downloads ----------------------------------------------------------------------------------


def test_one_certificate_is_downloaded_as_its_pdf(app, client, fake_renderer, outbox):
    world = issued_world(client)
    certificate = _row_of(world.judges[0])
    response = client.get(f"{base(world)}/{certificate.id}/download")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == services.pdf_bytes(certificate)
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get(f"{base(world)}/999999/download").status_code == 404


def test_zip_per_track_and_per_institution(app, client, fake_renderer, outbox):
    world = issued_world(client)
    page = client.get(f"{base(world)}/rounds/{world.round.id}/", headers=EN)
    track_url = f"{base(world)}/rounds/{world.round.id}/certificates.zip?track=%E5%88%9B%E6%84%8F%E7%BB%84"
    assert track_url in page.text  # 创意组
    response = client.get(track_url)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    expected = [c for c in services.issued_certificates(world.round) if c.track_zh == "创意组"]
    assert len(expected) == EXPECTED_TOTAL - 2  # all but the judges
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(f"{services.KIND_TEXT[c.kind][0]}/{services.file_name(c)}" for c in expected)
        first = expected[0]
        assert archive.read(f"获奖证书/{services.file_name(first)}") == services.pdf_bytes(first)
    by_institution = client.get(f"{base(world)}/rounds/{world.round.id}/certificates.zip?institution=重庆大学")
    with zipfile.ZipFile(io.BytesIO(by_institution.data)) as archive:
        assert sorted(archive.namelist()) == sorted(
            f"评审专家感谢状/{services.file_name(_row_of(judge))}" for judge in world.judges
        )
    every = client.get(f"{base(world)}/rounds/{world.round.id}/certificates.zip")
    assert len(zipfile.ZipFile(io.BytesIO(every.data)).namelist()) == EXPECTED_TOTAL
    nothing = client.get(f"{base(world)}/rounds/{world.round.id}/certificates.zip?track=nope", headers=EN)
    assert nothing.status_code == 302
    assert "There is no issued certificate to download here." in client.get(nothing.headers["Location"]).text


def test_a_print_batch_is_one_pdf_with_a_page_per_certificate(app, client, fake_renderer, outbox, monkeypatch):
    world = issued_world(client)
    monkeypatch.setattr(fake_renderer, "render_batch", fake_renderer.real.render_batch)  # real PDFs here
    monkeypatch.setattr(views, "PRINT_BATCH_SIZE", 2)
    url = f"{base(world)}/rounds/{world.round.id}/print.pdf"
    page = client.get(f"{base(world)}/rounds/{world.round.id}/?kind=advisor", headers=EN)
    assert f"{url}?batch=1&amp;kind=advisor" in page.text and f"{url}?batch=2&amp;kind=advisor" in page.text
    assert "Print batch 2: certificates 3–3 (PDF)" in page.text
    advisors = services.issued_certificates(world.round, kind="advisor")
    assert len(advisors) == 3

    first = client.get(f"{url}?batch=1&kind=advisor")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(first.data))
    assert len(reader.pages) == 2
    for pdf_page, certificate in zip(reader.pages, advisors[:2], strict=True):
        text = pdf_page.extract_text()
        assert certificate.serial in text and certificate.recipient_name in text.replace(" ", "")  # 刘 芳: spaced
    second = pypdf.PdfReader(io.BytesIO(client.get(f"{url}?batch=2&kind=advisor").data))
    assert len(second.pages) == 1 and advisors[2].serial in second.pages[0].extract_text()
    assert client.get(f"{url}?batch=3&kind=advisor").status_code == 302
    assert client.get(f"{url}?kind=diploma").status_code == 404


# --- templates ----------------------------------------------------------------------------------


def test_the_editor_shows_the_template_and_its_preview(app, client):
    world = published_round(publish=False)
    sign_in(client, world.organizer)
    page = client.get(f"{base(world)}/templates/award", headers=EN)
    assert page.status_code == 200
    default = services.template_for(world.contest, "award")
    assert unescape(re.search(r'<textarea[^>]*name="html"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)).strip() \
        == default.html.strip()  # fmt: skip
    preview = f"{base(world)}/templates/award/preview"
    assert f'<iframe name="certificate-preview" src="{preview}"' in page.text
    assert f'formaction="{preview}" formtarget="certificate-preview"' in page.text
    assert "{{ recipient_name }}" in page.text and "uses the default template" in page.text
    assert 'data-testid="reset-form"' not in page.text
    assert "<script" not in page.text.split("</footer>")[0].split("<main")[1]  # no inline script
    assert client.get(f"{base(world)}/templates/diploma").status_code == 404


def test_the_preview_is_a_pdf_on_the_sample_values_framed_by_this_site_only(app, client):
    world = published_round(publish=False)
    sign_in(client, world.organizer)
    response = client.get(f"{base(world)}/templates/award/preview")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "object-src 'self'" in csp and "script-src" not in csp
    text = pypdf.PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "欧阳明轩" in text  # rendering.SAMPLE_VALUES["award"]
    # the text being edited, not saved
    posted = client.post(
        f"{base(world)}/templates/judge/preview",
        data={"html": "<p>感谢 {{ recipient_name }}，编号 {{ serial }}</p>", "css": "p { font-size: 30pt; }"},
    )
    assert posted.mimetype == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(posted.data)).pages[0].extract_text()
    assert "感谢 李华" in text and "CCEC-2026-000123" in text
    assert db.session.scalar(select(CertificateTemplate)) is None
    # other pages keep refusing to be framed
    assert client.get(f"{base(world)}/templates/award").headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<p>{{ salary }}</p>", "salary"),
        ("<p>{{ ''.__class__.__mro__ }}</p>", "The template cannot be used"),
        ("<p>{{ recipient_name.__init__.__globals__ }}</p>", "The template cannot be used"),
        ("<p>{% for x in %}</p>", "syntax error"),
        ("{% include 'base.html' %}", "cannot include"),
    ],
)
def test_a_bad_template_is_shown_with_its_problem_and_the_text_kept(app, client, template, message):
    world = published_round(publish=False)
    sign_in(client, world.organizer)
    response = client.post(f"{base(world)}/templates/award", data={"html": template, "css": "p{color:red}"},
                           headers=EN)  # fmt: skip
    assert response.status_code == 200
    error = re.search(r'id="html-error"[^>]*>(.*?)</div>', response.text, re.S)
    assert error and message in unescape(error.group(1))
    kept = re.search(r'<textarea[^>]*name="html"[^>]*>(.*?)</textarea>', response.text, re.S).group(1)
    assert unescape(kept).strip() == template
    assert "p{color:red}" in response.text
    assert db.session.scalar(select(CertificateTemplate)) is None
    preview = client.post(f"{base(world)}/templates/award/preview", data={"html": template}, headers=EN)
    assert preview.status_code == 200 and preview.mimetype == "text/html"
    assert 'data-testid="preview-problem"' in preview.text and message in unescape(preview.text)
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]


def test_a_local_file_in_a_template_is_left_out(app, client):
    world = published_round(publish=False)
    sign_in(client, world.organizer)
    html = '<p>{{ recipient_name }}</p><img src="file:///etc/passwd"><img src="http://169.254.169.254/latest">'
    preview = client.post(f"{base(world)}/templates/award/preview", data={"html": html})
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(preview.data))
    assert "欧阳明轩" in reader.pages[0].extract_text() and b"root:" not in preview.data
    saved = client.post(f"{base(world)}/templates/award", data={"html": html, "css": ""})
    assert saved.status_code == 302  # it renders safely: the image is simply left out


def test_a_template_is_saved_then_reset_to_the_default(app, client):
    world = published_round(publish=False)
    sign_in(client, world.organizer)
    html = "<h1>{{ title_zh }}</h1><p>{{ recipient_name }}</p><p>{{ serial }}</p>"
    response = client.post(f"{base(world)}/templates/advisor", data={"html": html, "css": "h1 { color: #1f4e79; }"})
    assert response.status_code == 302
    saved = services.template_for(world.contest, "advisor")
    assert (saved.html, saved.css, saved.is_default) == (html, "h1 { color: #1f4e79; }", False)
    (entry,) = audit("certificates.save_template")
    assert entry.actor_id == world.organizer.id
    page = client.get(f"{base(world)}/templates/advisor", headers=EN)
    assert "The template has been saved." in page.text and "uses your own template" in page.text
    assert "Changed on" in client.get(f"{base(world)}/", headers=EN).text
    preview = client.get(f"{base(world)}/templates/advisor/preview")
    assert "王建国" in pypdf.PdfReader(io.BytesIO(preview.data)).pages[0].extract_text()

    response = client.post(f"{base(world)}/templates/advisor/reset")
    assert response.headers["Location"].endswith(f"{base(world)}/templates/advisor")
    assert services.template_for(world.contest, "advisor").is_default
    assert "The default template is used again" in client.get(response.headers["Location"], headers=EN).text


# --- links and access ---------------------------------------------------------------------------


def test_the_competition_and_results_pages_link_to_the_certificates(app, client, fake_renderer):
    world = published_round()
    sign_in(client, world.organizer)
    link = f'href="{base(world)}/"'
    assert link in client.get(f"/competitions/{world.contest.code}", headers=EN).text
    results = client.get(f"/competitions/{world.contest.code}/rounds/{world.round.id}/results/", headers=EN)
    assert f'href="{base(world)}/#round-{world.round.id}"' in results.text
    student = factories.user()
    factories.grant(student, world.contest, "student")
    db.session.commit()
    sign_in(client, student)
    assert link not in client.get(f"/competitions/{world.contest.code}", headers=EN).text


def _routes(world, certificate_id: int) -> list[tuple[str, str]]:
    url, rid = base(world), world.round.id
    return [
        ("GET", f"{url}/"),
        ("POST", f"{url}/rounds/{rid}/issue"),
        ("GET", f"{url}/rounds/{rid}/progress.json"),
        ("GET", f"{url}/rounds/{rid}/"),
        ("GET", f"{url}/{certificate_id}/download"),
        ("POST", f"{url}/{certificate_id}/revoke"),
        ("POST", f"{url}/{certificate_id}/reissue"),
        ("GET", f"{url}/rounds/{rid}/certificates.zip"),
        ("GET", f"{url}/rounds/{rid}/print.pdf"),
        ("GET", f"{url}/templates/award"),
        ("POST", f"{url}/templates/award"),
        ("GET", f"{url}/templates/award/preview"),
        ("POST", f"{url}/templates/award/preview"),
        ("POST", f"{url}/templates/award/reset"),
    ]


@pytest.mark.parametrize("visitor", ["student", "judge", "other_organizer", "member"])
def test_only_the_competitions_organizers_reach_the_pages(app, client, fake_renderer, outbox, visitor):
    world = issued_world(client)
    certificate = _row_of(world.teams[0].leader)
    if visitor == "member":
        person = world.teams[0].leader  # holds the certificate, yet manages nothing
    else:
        person = factories.user()
        if visitor == "other_organizer":
            factories.grant(person, factories.competition(code="ELSE"), "organizer")
        else:
            factories.grant(person, world.contest, visitor)
    db.session.commit()
    sign_in(client, person)
    data = {**issue_data(world), "reason": "x", "confirm": "y", "html": "<p>{{ serial }}</p>", "css": ""}
    before = len(audit("certificates.generate"))
    for method, url in _routes(world, certificate.id):
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code in (403, 404), (method, url, response.status_code)
    db.session.refresh(certificate)
    assert certificate.state == "issued"
    assert db.session.scalar(select(func.count(Certificate.id))) == EXPECTED_TOTAL
    assert len(audit("certificates.generate")) == before
    assert db.session.scalar(select(CertificateTemplate)) is None


def test_anonymous_visitors_are_sent_to_log_in(app, client, fake_renderer):
    world = published_round()
    for method, url in _routes(world, 1):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], url


def test_other_competitions_rounds_and_certificates_are_not_found(app, client, fake_renderer, outbox):
    world = issued_world(client)
    other = factories.competition(code="ELSE")
    factories.grant(world.organizer, other, "organizer")
    other_round = factories.round_(other)
    db.session.commit()
    certificate = _row_of(world.judges[0])
    assert client.get(f"/competitions/ELSE/certificates/rounds/{world.round.id}/").status_code == 404
    assert client.get(f"/competitions/ELSE/certificates/{certificate.id}/download").status_code == 404
    assert client.post(f"/competitions/ELSE/certificates/{certificate.id}/revoke",
                       data={"reason": "x", "confirm": "y"}).status_code == 404  # fmt: skip
    assert client.get(f"{base(world)}/rounds/{other_round.id}/").status_code == 404
    assert client.get("/competitions/NOPE/certificates/").status_code == 404
    db.session.refresh(certificate)
    assert certificate.state == "issued"


def test_an_admin_reaches_the_pages(app, client, fake_renderer):
    world = published_round()
    admin = factories.user(is_admin=True)
    db.session.commit()
    sign_in(client, admin)
    assert client.get(f"{base(world)}/", headers=EN).status_code == 200
    assert client.get(f"{base(world)}/rounds/{world.round.id}/", headers=EN).status_code == 200
    assert client.get(f"{base(world)}/templates/judge", headers=EN).status_code == 200


def test_the_pages_render_in_chinese(app, client, fake_renderer, outbox):
    world = issued_world(client)
    world.organizer.locale = "zh_Hans_CN"
    db.session.commit()
    zh = {"Accept-Language": "zh-CN"}
    for url in (f"{base(world)}/", f"{base(world)}/rounds/{world.round.id}/", f"{base(world)}/templates/award"):
        response = client.get(url, headers=zh)
        assert response.status_code == 200 and '<html lang="zh-CN">' in response.text
