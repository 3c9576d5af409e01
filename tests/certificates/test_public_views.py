"""The public verification pages (by QR code, by serial number and name), their rate limit, and a
person's own certificates and downloads."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import quote

import pytest
from babel.dates import format_date
from sqlalchemy import select

from competition.certificates import issuing, services
from competition.certificates.models import Certificate
from competition.core.time import to_local
from competition.extensions import db
from tests.certificates.world import PUBLISHED_AT, published_round

EN = {"Accept-Language": "en"}
LATER = PUBLISHED_AT + timedelta(days=3)
NO_MATCH = "No certificate matches this serial number and name."


@pytest.fixture
def issued(app, fake_renderer):
    """The world's round with every kind of certificate issued (stand-in PDFs)."""
    world = published_round()
    issuing.plan(world.round, issuing.IssueSettings(), actor=world.organizer)
    issuing.render_pending(world.round, now=PUBLISHED_AT)
    db.session.commit()
    return world


def _certificate_of(user) -> Certificate:
    return db.session.scalar(
        select(Certificate).where(Certificate.recipient_user_id == user.id, Certificate.is_current.is_(True))
    )


def _team_certificate(team) -> Certificate:
    return db.session.scalar(
        select(Certificate).where(Certificate.recipient_type == "team", Certificate.team_id == team.id)
    )


def _long_date(value) -> str:
    return format_date(to_local(value).date(), "long", locale="en")


def _page(response) -> str:
    return response.get_data(as_text=True)


def _without_address(page: str) -> str:
    """A page without the address it was asked at (the language switch's form sends one back there)."""
    return re.sub(r'name="next" value="[^"]*"', 'name="next" value=""', page)


def _printed_date(certificate: Certificate) -> str:
    from datetime import date

    return format_date(date.fromisoformat(certificate.values["issue_date"]), "long", locale="en")


# --- verification by QR code --------------------------------------------------------------------


def test_a_valid_certificate_is_shown_with_the_name_masked(issued, client):
    leader = issued.teams[0].leader
    certificate = _certificate_of(leader)
    response = client.get(f"/verify/{certificate.verification_code}", headers=EN)
    assert response.status_code == 200
    page = _page(response)
    assert 'data-status="valid"' in page and "This certificate is valid." in page
    assert "Certificate of Award" in page and "获奖证书" in page  # both languages
    assert "Gold Award" in page and "金奖" in page
    assert issued.contest.name_en in page and issued.contest.name_zh in page
    assert issued.round.name_zh in page
    assert certificate.values["team_name"] in page and certificate.values["project_title"] in page
    assert certificate.serial in page
    assert _printed_date(certificate) in page
    masked = services.mask_name(leader.real_name)
    assert masked != leader.real_name and f'data-testid="certificate-name">{masked}<' in page
    assert leader.real_name not in page
    assert '<meta name="robots" content="noindex">' in page
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_speaks_chinese_by_default(issued, client):
    certificate = _certificate_of(issued.teams[0].leader)
    page = _page(client.get(f"/verify/{certificate.verification_code}"))
    assert '<span lang="zh-CN">金奖</span>' in page and '<span lang="zh-CN">获奖证书</span>' in page


def test_a_teams_certificate_shows_the_team_name(issued, client):
    team = issued.teams[0]
    certificate = _team_certificate(team)
    page = _page(client.get(f"/verify/{certificate.verification_code}", headers=EN))
    assert f'data-testid="certificate-name">{team.name}<' in page and "partly hidden" not in page


def test_a_revoked_certificate_says_when_and_why(issued, client):
    certificate = _certificate_of(issued.teams[0].leader)
    services.revoke(certificate, actor=issued.organizer, reason="学籍信息不符", now=LATER)
    db.session.commit()
    response = client.get(f"/verify/{certificate.verification_code}", headers=EN)
    assert response.status_code == 200
    page = _page(response)
    assert 'data-status="revoked"' in page and "This certificate has been revoked." in page
    assert f"Revoked on {_long_date(LATER)}." in page
    assert "学籍信息不符" in page
    assert "This certificate is valid." not in page


def test_a_superseded_certificate_points_to_its_replacement(issued, client):
    member = sorted(issued.teams[0].members, key=lambda member: member.id)[2]
    old = _certificate_of(member.user)
    new = services.reissue(old, actor=issued.organizer, reason="姓名有误", recipient_name="孙悟空", now=LATER)
    db.session.commit()
    page = _page(client.get(f"/verify/{old.verification_code}", headers=EN))
    assert 'data-status="superseded"' in page and "A newer certificate replaces this one." in page
    assert f"Its serial number is {new.serial}." in page and old.serial in page
    page = _page(client.get(f"/verify/{new.verification_code}", headers=EN))
    assert 'data-status="valid"' in page and "孙*空" in page and "孙悟空" not in page


def test_unknown_malformed_and_unissued_codes_get_one_and_the_same_404(issued, client):
    certificate = _certificate_of(issued.teams[0].leader)
    pending = services.reissue(certificate, actor=issued.organizer, reason="更正", render=False, now=LATER)
    db.session.commit()
    assert pending.state == "pending"
    codes = [secrets.token_urlsafe(12), "not a code!", "x" * 300, "'\"><script>", pending.verification_code]
    bodies = set()
    for code in codes:
        response = client.get(f"/verify/{quote(code, safe='')}", headers=EN)
        assert response.status_code == 404
        bodies.add(_without_address(_page(response)))
    assert len(bodies) == 1
    body = bodies.pop()
    assert "Page not found" in body and "certificate" not in body.lower()
    # the same page as any other unknown address
    assert _without_address(_page(client.get("/no-such-page", headers=EN))) == body


# --- look-up by serial number and name ----------------------------------------------------------


def test_lookup_by_serial_and_full_name(issued, client):
    leader = issued.teams[0].leader
    certificate = _certificate_of(leader)
    response = client.get("/verify", query_string={"serial": certificate.serial.lower(), "name": leader.real_name},
                          headers=EN)  # fmt: skip
    assert response.status_code == 200
    page = _page(response)
    assert 'data-status="valid"' in page and certificate.serial in page and "Gold Award" in page
    assert f'data-testid="certificate-name">{services.mask_name(leader.real_name)}<' in page
    assert NO_MATCH not in page
    assert '<meta name="robots" content="noindex">' in page


def test_a_wrong_name_or_serial_gets_one_message_and_keeps_what_was_typed(issued, client):
    leader = issued.teams[0].leader
    certificate = _certificate_of(leader)
    asked = [
        {"serial": certificate.serial, "name": "张三"},  # the wrong name
        {"serial": "SC1-2026-999999", "name": leader.real_name},  # an unknown serial
        {"serial": certificate.serial, "name": leader.real_name[:-1]},  # part of the name
    ]
    for query in asked:
        page = _page(client.get("/verify", query_string=query, headers=EN))
        assert NO_MATCH in page and 'data-testid="verification"' not in page
        assert f'value="{query["serial"]}"' in page and f'value="{query["name"]}"' in page


def test_the_lookup_form_checks_lengths_and_empty_fields(issued, client):
    page = _page(client.get("/verify", headers=EN))
    assert 'name="serial"' in page and NO_MATCH not in page and "Please correct" not in page
    page = _page(client.get("/verify", query_string={"serial": "X" * 65, "name": ""}, headers=EN))
    assert "At most 64 characters." in page and "Please enter the recipient" in page
    assert NO_MATCH not in page
    page = _page(client.get("/verify", query_string={"serial": "S", "name": "名" * 101}, headers=EN))
    assert "At most 100 characters." in page and NO_MATCH not in page


# --- the rate limit -----------------------------------------------------------------------------


def test_verification_is_rate_limited_per_address(issued, client):
    certificate = _certificate_of(issued.teams[0].leader)
    statuses = [client.get(f"/verify/guess{attempt:04d}", headers=EN).status_code for attempt in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    # the same limit for every code and for the look-up: a known code waits too
    response = client.get(f"/verify/{certificate.verification_code}", headers=EN)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many requests" in _page(response)
    query = {"serial": certificate.serial, "name": issued.teams[0].leader.real_name}
    assert client.get("/verify", query_string=query, headers=EN).status_code == 429
    # another address is not held up
    other = client.get(f"/verify/{certificate.verification_code}", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200


def test_lookups_share_the_limit_and_the_empty_form_is_free(issued, client, app):
    app.config["CERTIFICATE_VERIFY_LIMIT"] = "3 per minute"
    certificate = _certificate_of(issued.teams[0].leader)
    for _ in range(5):
        assert client.get("/verify", headers=EN).status_code == 200  # the form alone tries nothing
    assert client.get("/verify", query_string={"serial": "A", "name": "B"}).status_code == 200
    assert client.get("/verify/guess").status_code == 404
    assert client.get(f"/verify/{certificate.verification_code}").status_code == 200
    assert client.get("/verify", query_string={"serial": "A", "name": "B"}).status_code == 429
    assert client.get(f"/verify/{certificate.verification_code}").status_code == 429


# --- a person's own certificates ----------------------------------------------------------------


def _in_english(user) -> None:
    user.locale = "en"
    db.session.commit()


def test_anonymous_visitors_are_sent_to_log_in(issued, client):
    certificate = _certificate_of(issued.teams[0].leader)
    for url in ("/certificates/", f"/certificates/{certificate.id}/download"):
        response = client.get(url)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_a_student_sees_and_downloads_their_own_certificates(issued, client, login_as):
    team = issued.teams[0]
    leader = team.leader
    _in_english(leader)
    login_as(user=leader)
    own, team_certificate = _certificate_of(leader), _team_certificate(team)
    page = _page(client.get("/certificates/"))
    assert f'data-serial="{own.serial}"' in page and f'data-serial="{team_certificate.serial}"' in page
    assert page.count('data-testid="certificate-row"') == 2
    assert leader.real_name in page  # one's own name in full
    assert f"/certificates/{own.id}/download" in page and f"/verify/{own.verification_code}" in page
    for certificate in (own, team_certificate):
        response = client.get(f"/certificates/{certificate.id}/download")
        assert response.status_code == 200
        assert response.data.startswith(b"%PDF")
        assert response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and certificate.serial in disposition
        assert "filename*=UTF-8''" in disposition  # the Chinese name, encoded
        assert response.headers["Cache-Control"] == "private, no-store"


def test_another_persons_certificate_is_not_found(issued, client, login_as):
    leader = issued.teams[0].leader
    login_as(user=leader)
    others = [
        _certificate_of(sorted(issued.teams[0].members, key=lambda member: member.id)[1].user),  # a team-mate's
        _certificate_of(issued.teams[1].leader),  # another team's member
        _team_certificate(issued.teams[1]),  # another team's
        _certificate_of(issued.judges[0]),
    ]
    for certificate in others:
        assert certificate.recipient_user_id != leader.id
        assert client.get(f"/certificates/{certificate.id}/download").status_code == 404
    assert client.get("/certificates/999999/download").status_code == 404
    page = _page(client.get("/certificates/"))
    assert all(certificate.serial not in page for certificate in others)


def test_a_revoked_certificate_is_listed_but_not_downloadable(issued, client, login_as):
    leader = issued.teams[0].leader
    certificate = _certificate_of(leader)
    services.revoke(certificate, actor=issued.organizer, reason="学籍信息不符", now=LATER)
    db.session.commit()
    _in_english(leader)
    login_as(user=leader)
    page = _page(client.get("/certificates/"))
    assert f'data-serial="{certificate.serial}"' in page and "Revoked" in page and "学籍信息不符" in page
    assert f"/certificates/{certificate.id}/download" not in page
    assert client.get(f"/certificates/{certificate.id}/download").status_code == 404


def test_someone_without_certificates_is_told_so(app, client, login_as):
    login_as(locale="en")
    page = _page(client.get("/certificates/"))
    assert 'data-testid="no-certificates"' in page


def test_the_account_menu_links_to_the_certificates(app, client, login_as):
    login_as()
    assert 'href="/certificates/"' in _page(client.get("/account/"))
