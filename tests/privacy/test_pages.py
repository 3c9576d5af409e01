"""Every privacy page answers in both languages."""

from __future__ import annotations

import pytest

from competition.extensions import db
from competition.privacy.models import Consent, DeletionRequest
from tests import factories

LANGUAGES = {"zh": {"Accept-Language": "zh-CN"}, "en": {"Accept-Language": "en"}}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_privacy_pages_render_in_both_languages(client, login_as, language):
    headers = LANGUAGES[language]
    contest = factories.competition(code="LIVE", state="submission")
    team = factories.team(contest, name="星河视觉")
    leader = team.leader
    db.session.add(Consent(user_id=leader.id, notice_version="2026-11"))
    db.session.add(DeletionRequest(user_id=leader.id, reason="毕业"))
    db.session.add(DeletionRequest(user_id=factories.user().id, state="refused", decision_note="仍在参赛"))
    db.session.commit()
    assert client.get("/privacy", headers=headers).status_code == 200
    login_as(user=leader)
    for url in ("/privacy", "/privacy/accept", "/account/privacy"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert "星河视觉" in response.get_data(as_text=True) or url != "/account/privacy"
    login_as("admin")
    page = client.get("/admin/privacy", headers=headers).get_data(as_text=True)
    assert page.count('data-testid="deletion-request"') == 2 and "星河视觉" in page and "仍在参赛" in page


@pytest.mark.app_config(PRIVACY_CONTACT_EMAIL="dpo@alliance.example.edu.cn")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notice_names_the_configured_contact(client, language):
    assert "dpo@alliance.example.edu.cn" in client.get("/privacy", headers=LANGUAGES[language]).get_data(as_text=True)
