"""Admins add and edit institutions: validation, unique codes, explicit sides, audit."""

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db
from competition.institutions import services
from competition.institutions.models import Institution
from tests import factories


def _details(**fields) -> services.InstitutionDetails:
    values = {
        "code": "CTBU",
        "name_zh": "重庆工商大学",
        "name_en": "Chongqing Technology and Business University",
        "city_zh": "重庆",
        "city_en": "Chongqing",
        "side": "chongqing",
    }
    values.update(fields)
    return services.InstitutionDetails(**values)


def _count() -> int:
    return db.session.scalar(select(func.count(Institution.id)))


def test_an_institution_is_created_with_a_normalized_code_and_audited(app):
    admin = factories.user(is_admin=True)
    institution = services.create_institution(
        actor=admin, details=_details(code=" ｃｔｂｕ-2 ", name_zh=" 重庆工商大学 ")
    )
    db.session.commit()
    assert (institution.code, institution.name_zh, institution.side) == ("CTBU-2", "重庆工商大学", "chongqing")
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "institution.create"))
    assert audit.actor_id == admin.id and audit.object_id == str(institution.id) and audit.details["code"] == "CTBU-2"


@pytest.mark.parametrize("code", ["", "A", "X" * 33, "SC U", "SCU!", "四川"])
def test_a_code_has_2_to_32_letters_digits_or_hyphens(app, code):
    admin = factories.user(is_admin=True)
    before = _count()
    with pytest.raises(DomainError) as refused:
        services.create_institution(actor=admin, details=_details(code=code))
    assert refused.value.field == "code"
    assert _count() == before


def test_a_code_is_unique_whatever_its_case(app):
    admin = factories.user(is_admin=True, institution=factories.institution("SCU"))
    before = _count()
    with force_locale("en"), pytest.raises(DomainError) as refused:
        services.create_institution(actor=admin, details=_details(code="scu"))
    assert refused.value.field == "code"
    with force_locale("en"):
        assert "SCU" in str(refused.value.message)
    assert _count() == before


@pytest.mark.parametrize("side", ["", "Sichuan", "tibet", None])
def test_the_side_must_be_one_of_the_two(app, side):
    admin = factories.user(is_admin=True)
    before = _count()
    with pytest.raises(DomainError) as refused:
        services.create_institution(actor=admin, details=_details(side=side))
    assert refused.value.field == "side"
    assert _count() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name_zh", " "),
        ("name_en", ""),
        ("city_zh", ""),
        ("city_en", "  "),
        ("name_zh", "长" * 101),
        ("city_en", "x" * 101),
    ],
)
def test_names_and_cities_are_required_and_limited(app, field, value):
    admin = factories.user(is_admin=True)
    before = _count()
    with pytest.raises(DomainError) as refused:
        services.create_institution(actor=admin, details=_details(**{field: value}))
    assert refused.value.field == field
    assert _count() == before


def test_an_edit_is_audited_with_what_changed(app):
    institution = factories.institution("SISU", side="sichuan")  # entered on the wrong side
    admin = factories.user(is_admin=True)
    services.update_institution(
        institution,
        actor=admin,
        details=_details(
            code="SISU",
            name_zh=institution.name_zh,
            name_en=institution.name_en,
            city_zh=institution.city_zh,
            city_en=institution.city_en,
            side="chongqing",
        ),
    )
    db.session.commit()
    assert institution.side == "chongqing"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "institution.update"))
    assert audit.actor_id == admin.id and audit.details["changes"] == {"side": ["sichuan", "chongqing"]}


def test_an_institution_keeps_its_own_code_and_cannot_take_anothers(app):
    scu = factories.institution("SCU")
    factories.institution("CQU")
    admin = factories.user(is_admin=True)
    db.session.commit()
    services.update_institution(scu, actor=admin, details=_details(code="scu", side="sichuan"))
    assert scu.code == "SCU"
    with pytest.raises(DomainError) as refused:
        services.update_institution(scu, actor=admin, details=_details(code="CQU", side="sichuan"))
    assert refused.value.field == "code"
    db.session.rollback()
    assert db.session.get(Institution, scu.id).code == "SCU"


def test_an_unchanged_institution_writes_no_audit_entry(app):
    scu = factories.institution("SCU")
    services.update_institution(
        scu,
        actor=factories.user(is_admin=True),
        details=_details(
            code="SCU",
            name_zh=scu.name_zh,
            name_en=scu.name_en,
            city_zh=scu.city_zh,
            city_en=scu.city_en,
            side=scu.side,
        ),
    )
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "institution.update")) == 0
