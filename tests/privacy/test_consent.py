"""The privacy notice, consent at registration and renewed consent when the notice changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from competition.accounts.models import User
from competition.extensions import db
from competition.privacy import services
from competition.privacy.models import Consent
from tests import factories

EN = {"Accept-Language": "en"}


def _form(**overrides):
    institution = factories.institution("UESTC")
    db.session.commit()
    form = {
        "email": "li.ming@example.edu.cn",
        "password": "a good password",
        "password_confirm": "a good password",
        "real_name": "李明",
        "institution": str(institution.id),
        "phone": "",
        "agree_privacy": "y",
    }
    form.update(overrides)
    return form


def test_the_notice_is_public_in_both_languages_and_limits_national_id_numbers(client):
    chinese = client.get("/privacy").get_data(as_text=True)
    assert "个人信息处理者" in chinese and "仅当某项赛事的规则确需时才收集身份证号码" in chinese
    assert services.NOTICE_VERSION in chinese
    english = client.get("/privacy", headers=EN).get_data(as_text=True)
    assert "Who is responsible" in english
    assert "National ID numbers are collected only when a competition’s rules require one" in english
    assert "shown masked on every page and in every export" in english
    for topic in ("student number", "organizers", "judges", "How long we keep it", "deletion", "withdrawing consent"):
        assert topic in english
    # linked from every page's footer
    assert 'href="/privacy"' in client.get("/", headers=EN).get_data(as_text=True)


def test_registering_without_agreeing_is_refused_with_a_message_and_keeps_the_input(client):
    form = _form()
    del form["agree_privacy"]
    response = client.post("/account/register", data=form, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Please read the privacy notice and tick the box to agree to it." in page
    assert 'value="li.ming@example.edu.cn"' in page and 'value="李明"' in page
    assert db.session.scalar(select(User).where(User.email == "li.ming@example.edu.cn")) is None
    assert db.session.scalars(select(Consent)).all() == []


def test_registering_records_the_consent_with_the_version_and_the_network_only(client):
    response = client.post("/account/register", data=_form(), environ_base={"REMOTE_ADDR": "202.115.32.77"})
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.email == "li.ming@example.edu.cn"))
    [consent] = db.session.scalars(select(Consent)).all()
    assert consent.user_id == user.id
    assert consent.notice_version == services.NOTICE_VERSION
    assert consent.ip_prefix == "202.115.32.0/24" and consent.source == "registration"
    assert consent.accepted_at is not None


def test_a_taken_address_records_no_consent(client):
    factories.user(email="taken@example.edu.cn")
    db.session.commit()
    client.post("/account/register", data=_form(email="taken@example.edu.cn"))
    assert db.session.scalars(select(Consent)).all() == []


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.200", "203.0.113.0/24"),
        ("2001:da8:8000:1234::5", "2001:da8:8000::/48"),
        ("not an address", None),
        (None, None),
    ],
)
def test_addresses_are_truncated_to_their_network(address, network):
    assert services.truncate_ip(address) == network


def test_people_who_agreed_to_an_older_notice_are_asked_again(client, login_as, monkeypatch):
    user = login_as("student", locale="en")
    db.session.add(Consent(user_id=user.id, notice_version="2025-01", source="registration"))
    db.session.commit()

    response = client.get("/account/", headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/privacy/accept")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "The privacy notice has changed since you agreed to it (version 2025-01)" in page
    # the notice, the privacy page, static files and log-out stay open
    assert client.get("/privacy", headers=EN).status_code == 200
    assert client.get("/account/privacy", headers=EN).status_code == 200
    assert client.get("/static/css/app.css").status_code == 200

    refused = client.post("/privacy/accept", data={"next": "/account/"}, headers=EN)
    assert "Please read the privacy notice and tick the box" in refused.get_data(as_text=True)
    agreed = client.post("/privacy/accept", data={"agree": "y", "next": "/account/"}, headers=EN)
    assert agreed.status_code == 302 and agreed.headers["Location"] == "/account/"
    assert client.get("/account/", headers=EN).status_code == 200
    versions = db.session.scalars(select(Consent.notice_version).where(Consent.user_id == user.id)).all()
    assert sorted(versions) == sorted(["2025-01", services.NOTICE_VERSION])

    # the notice changes again: the same session is asked again
    monkeypatch.setattr(services, "NOTICE_VERSION", "2099-01")
    assert client.get("/account/", headers=EN).status_code == 302


def test_the_next_address_after_agreeing_stays_on_this_site(client, login_as):
    user = login_as("student")
    db.session.add(Consent(user_id=user.id, notice_version="2025-01"))
    db.session.commit()
    response = client.post("/privacy/accept", data={"agree": "y", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/account/"


def test_accounts_made_by_others_are_not_blocked_and_may_agree_on_their_privacy_page(client, login_as):
    user = login_as("student", locale="en")  # like an Excel import or the demo: no consent recorded
    assert client.get("/account/", headers=EN).status_code == 200
    page = client.get("/account/privacy", headers=EN).get_data(as_text=True)
    assert "No agreement to the privacy notice is recorded" in page
    client.post("/privacy/accept", data={"agree": "y"}, headers=EN)
    page = client.get("/account/privacy", headers=EN).get_data(as_text=True)
    assert f"You agreed to version {services.NOTICE_VERSION}" in page
    assert db.session.scalar(select(Consent.source).where(Consent.user_id == user.id)) == "prompt"
