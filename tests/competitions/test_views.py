"""Competition pages: who sees a competition, entering as a student, organizers granting roles."""

from sqlalchemy import func, select

from competition.accounts.models import CompetitionRole, Role
from competition.core.audit import AuditEntry
from competition.extensions import db
from tests import factories


def test_a_draft_is_invisible_to_outsiders_and_visible_to_its_organizers(client, login_as):
    draft = factories.competition(code="DRAFT1", state="draft")
    db.session.commit()
    assert client.get("/competitions/DRAFT1").status_code == 404
    assert "DRAFT1" not in client.get("/").get_data(as_text=True)
    login_as("organizer", competition=draft)
    assert client.get("/competitions/DRAFT1").status_code == 200


def test_announced_competitions_are_listed_on_the_home_page(client):
    factories.competition(code="CY2026", name_zh="成渝联盟大赛2026")
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "成渝联盟大赛2026" in page and "/competitions/CY2026" in page


def test_organizer_grants_an_institution_organizer_role(client, login_as):
    contest = factories.competition(code="CY1")
    organizer = login_as("organizer", competition=contest)
    person = factories.user(email="office@scu.edu.cn")
    cqu = factories.institution("CQU")
    db.session.commit()
    response = client.post(
        "/competitions/CY1/people",
        data={
            "email": "OFFICE@scu.edu.cn",
            "role": "institution_organizer",
            "institution": str(cqu.id),
        },
    )
    assert response.status_code == 302
    grant = db.session.scalar(select(CompetitionRole).where(CompetitionRole.user_id == person.id))
    assert (grant.role, grant.institution.code, grant.granted_by_id) == ("institution_organizer", "CQU", organizer.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "role.grant"))
    assert entry.actor_id == organizer.id and entry.details["role"] == "institution_organizer"


def test_granting_to_an_unknown_address_keeps_the_input_and_changes_nothing(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest)
    before = db.session.scalar(select(func.count(CompetitionRole.id)))
    response = client.post(
        "/competitions/CY1/people", data={"email": "ghost@example.edu.cn", "role": "judge", "institution": ""}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="ghost@example.edu.cn"' in page
    assert "尚无用户使用该电子邮箱注册" in page
    assert db.session.scalar(select(func.count(CompetitionRole.id))) == before


def test_institution_organizer_without_institution_is_refused(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest)
    factories.user(email="office@scu.edu.cn")
    db.session.commit()
    response = client.post(
        "/competitions/CY1/people",
        data={"email": "office@scu.edu.cn", "role": "institution_organizer", "institution": ""},
    )
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(CompetitionRole.id))) == 1  # only the organizer's own


def test_an_organizer_cannot_touch_another_competitions_roles(client, login_as):
    mine, theirs = factories.competition(code="MINE"), factories.competition(code="THEIRS")
    judge = factories.user()
    grant = factories.grant(judge, theirs, "judge")
    login_as("organizer", competition=mine)
    assert client.get("/competitions/THEIRS/people").status_code == 403
    assert client.post(f"/competitions/THEIRS/people/{grant.id}/revoke").status_code == 403
    # nor through its own competition's URL
    assert client.post(f"/competitions/MINE/people/{grant.id}/revoke").status_code == 404
    assert db.session.get(CompetitionRole, grant.id) is not None


def test_revoking_a_role_is_audited(client, login_as):
    contest = factories.competition(code="CY1")
    organizer = login_as("organizer", competition=contest)
    grant = factories.grant(factories.user(), contest, "judge")
    db.session.commit()
    grant_id = grant.id
    assert client.post(f"/competitions/CY1/people/{grant_id}/revoke").status_code == 302
    assert db.session.get(CompetitionRole, grant_id) is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "role.revoke"))
    assert entry.actor_id == organizer.id and entry.details["role"] == "judge"


def test_over_posting_on_the_role_form_is_ignored(client, login_as):
    contest = factories.competition(code="CY1")
    login_as("organizer", competition=contest)
    person = factories.user(email="p@example.edu.cn")
    db.session.commit()
    client.post(
        "/competitions/CY1/people",
        data={
            "email": "p@example.edu.cn",
            "role": "judge",
            "institution": "",
            "is_admin": "1",
            "competition_id": "999",
            "user_id": "1",
        },
    )
    db.session.refresh(person)
    assert not person.is_admin and person.roles_in(contest) == {Role.JUDGE}


def test_dashboard_lists_my_roles_per_competition(client, login_as):
    contest = factories.competition(code="CY1", name_zh="成渝大赛")
    user = login_as("judge", competition=contest)
    factories.grant(user, factories.competition(code="CY2", name_zh="另一赛事"), "student")
    db.session.commit()
    page = client.get("/account/").get_data(as_text=True)
    assert "成渝大赛" in page and "另一赛事" in page and "评委" in page and "学生" in page
