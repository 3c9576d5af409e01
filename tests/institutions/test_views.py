"""The institutions pages of the admin area."""

from sqlalchemy import func, select

from competition.core.audit import AuditEntry
from competition.extensions import db
from competition.institutions.models import Institution
from tests import factories

EN = {"Accept-Language": "en"}


def _form(**fields) -> dict:
    values = {
        "code": "CTBU",
        "name_zh": "重庆工商大学",
        "name_en": "Chongqing Technology and Business University",
        "city_zh": "重庆",
        "city_en": "Chongqing",
        "side": "chongqing",
    }
    values.update(fields)
    return values


def _count() -> int:
    return db.session.scalar(select(func.count(Institution.id)))


def test_only_platform_admins_may_open_the_pages(client, login_as):
    scu = factories.institution("SCU")
    db.session.commit()
    urls = ["/admin/institutions/", "/admin/institutions/new", f"/admin/institutions/{scu.id}/edit"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    login_as("organizer")
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.post("/admin/institutions/new", data=_form()).status_code == 403
    assert client.post(f"/admin/institutions/{scu.id}/edit", data=_form(code="X1")).status_code == 403
    assert db.session.get(Institution, scu.id).code == "SCU"
    login_as("institution_organizer")
    assert client.get("/admin/institutions/").status_code == 403
    login_as("admin")
    for url in urls:
        assert client.get(url).status_code == 200


def test_the_list_filters_by_side(client, login_as):
    factories.institution("SCU")
    factories.institution("SISU")  # in Chongqing, whatever its name says
    login_as("admin", locale="en")
    both = client.get("/admin/institutions/").get_data(as_text=True)
    assert "四川大学" in both and "四川外国语大学" in both
    assert 'href="/admin/institutions/"' in both  # the admin tab
    chongqing = client.get("/admin/institutions/?side=chongqing").get_data(as_text=True)
    assert "四川外国语大学" in chongqing and "四川大学</td>" not in chongqing
    sichuan = client.get("/admin/institutions/?side=sichuan").get_data(as_text=True)
    assert "四川大学</td>" in sichuan and "四川外国语大学" not in sichuan
    assert client.get("/admin/institutions/?side=tibet").status_code == 200


def test_an_admin_adds_an_institution(client, login_as):
    admin = login_as("admin", locale="en")
    response = client.post("/admin/institutions/new", data=_form(code="ctbu"))
    assert response.status_code == 302
    institution = db.session.scalar(select(Institution).where(Institution.code == "CTBU"))
    assert institution.side == "chongqing" and institution.city_en == "Chongqing"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "institution.create"))
    assert audit.actor_id == admin.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "has been added" in page and "CTBU" in page


def test_a_duplicate_code_is_refused_with_the_input_kept(client, login_as):
    factories.institution("SCU")
    login_as("admin", locale="en")
    before = _count()
    response = client.post("/admin/institutions/new", data=_form(code="scu", name_zh="另一所大学"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Another institution already uses the code SCU." in page and 'value="另一所大学"' in page
    assert _count() == before


def test_the_side_must_be_chosen(client, login_as):
    login_as("admin", locale="en")
    before = _count()
    for side in ("", "tibet"):
        response = client.post("/admin/institutions/new", data=_form(side=side))
        assert response.status_code == 200
        assert "Please choose the side: Sichuan or Chongqing." in response.get_data(as_text=True)
    assert _count() == before
    page = client.get("/admin/institutions/new").get_data(as_text=True)
    assert '<option value="">' in page and "<option selected" not in page  # nothing is pre-chosen


def test_an_admin_edits_an_institution_and_the_edit_is_audited(client, login_as):
    sisu = factories.institution("SISU", side="sichuan")
    admin = login_as("admin", locale="en")
    form = client.get(f"/admin/institutions/{sisu.id}/edit").get_data(as_text=True)
    assert 'value="SISU"' in form and 'value="四川外国语大学"' in form
    response = client.post(
        f"/admin/institutions/{sisu.id}/edit",
        data=_form(
            code="SISU",
            name_zh="四川外国语大学",
            name_en="Sichuan International Studies University",
            city_zh="重庆",
            city_en="Chongqing",
            side="chongqing",
        ),
    )
    assert response.status_code == 302
    db.session.refresh(sisu)
    assert sisu.side == "chongqing"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "institution.update"))
    assert audit.actor_id == admin.id and audit.details["changes"] == {"side": ["sichuan", "chongqing"]}


def test_an_edit_with_an_invalid_field_changes_nothing(client, login_as):
    scu = factories.institution("SCU")
    login_as("admin", locale="en")
    response = client.post(f"/admin/institutions/{scu.id}/edit", data=_form(code="S", name_en=""))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Please enter the English name." in page
    db.session.refresh(scu)
    assert (scu.code, scu.name_en) == ("SCU", "Sichuan University")
    assert client.get("/admin/institutions/999999/edit").status_code == 404
