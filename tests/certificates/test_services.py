"""Revoke and reissue, verification (states, look-up by serial and name, masked names), a person's
own certificates, downloads and templates."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from competition.certificates import issuing, services
from competition.certificates.models import Certificate, CertificateState, CertificateTemplate
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.mail import OutboxMessage
from competition.extensions import db
from tests import factories
from tests.certificates.world import EXPECTED_TOTAL, PUBLISHED_AT, published_round

pytestmark = pytest.mark.usefixtures("english")

LATER = PUBLISHED_AT + timedelta(days=3)


def _issued_world(_renderer):
    world = published_round()
    issuing.plan(world.round, issuing.IssueSettings(), actor=world.organizer)
    issuing.render_pending(world.round, now=PUBLISHED_AT)
    return world


def _certificate_of(user) -> Certificate:
    return db.session.scalar(select(Certificate).where(Certificate.recipient_user_id == user.id))


def _member(world, team_index: int, position: int):
    return sorted(world.teams[team_index].members, key=lambda member: member.id)[position]


# --- masked names and normalized names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张小三", "张*三"),
        ("欧阳娜娜", "欧**娜"),
        ("阿卜杜拉·艾合买提", "阿**拉·艾**提"),
        ("阿卜杜拉•艾合买提", "阿**拉·艾**提"),  # a bullet typed for the middle dot
        ("买买提·艾力", "买*提·艾*"),
        ("李", "*"),
        ("John Smith", "J***"),
        ("  Émilie Durand ", "É***"),
        ("", ""),
    ],
)
def test_mask_name(name, masked):
    assert services.mask_name(name) == masked


@pytest.mark.parametrize(
    ("typed", "stored", "same"),
    [
        ("张三", "张三", True),
        (" 张 三 ", "张三", True),
        ("张\u3000三", "张三", True),  # an ideographic space
        ("阿卜杜拉・艾合买提", "阿卜杜拉·艾合买提", True),  # katakana middle dot
        ("阿卜杜拉 · 艾合买提", "阿卜杜拉·艾合买提", True),
        ("ＪＯＨＮ  smith", "John Smith", True),  # full-width letters, case, double space
        ("JohnSmith", "John Smith", False),
        ("张四", "张三", False),
        ("张", "张三", False),
    ],
)
def test_normalize_name(typed, stored, same):
    assert (services.normalize_name(typed) == services.normalize_name(stored)) is same


# --- revoke and reissue, and what verification says ---------------------------------------------


def test_verification_of_a_valid_certificate(app, fake_renderer):
    world = _issued_world(fake_renderer)
    leader = world.teams[0].leader
    certificate = _certificate_of(leader)
    found = services.verify_by_code(certificate.verification_code)
    assert found.status == "valid"
    assert (found.serial, found.kind, found.award, found.award_zh, found.award_en) == (
        certificate.serial, "award", "gold", "金奖", "Gold Award")  # fmt: skip
    assert found.name == services.mask_name(leader.real_name) != leader.real_name
    assert found.competition_zh == world.contest.name_zh and found.round_zh == world.round.name_zh
    assert found.issued_at == PUBLISHED_AT
    assert (found.revoked_at, found.revoke_reason, found.superseded_by_serial) == (None, None, None)
    assert found.kind_label == "Award certificate"
    team = services.verify_by_code(
        db.session.scalar(select(Certificate.verification_code).where(Certificate.recipient_type == "team"))
    )
    assert team.name == world.teams[0].name  # a team's name is public in the results: not masked


def test_unknown_or_unissued_certificates_are_not_found(app, fake_renderer):
    world = published_round()
    issuing.plan(world.round, issuing.IssueSettings())
    db.session.commit()
    pending = db.session.scalar(select(Certificate).order_by(Certificate.sequence).limit(1))
    assert services.verify_by_code(pending.verification_code) is None  # not issued yet
    assert services.verify_by_serial(pending.serial, pending.recipient_name) is None
    assert services.verify_by_code("nope") is None
    assert services.verify_by_code("") is None
    assert services.verify_by_code("x" * 500) is None


def test_lookup_by_serial_needs_the_exact_name(app, fake_renderer):
    world = _issued_world(fake_renderer)
    member = _member(world, 1, 1)
    member.real_name = "阿卜杜拉·艾合买提"
    certificate = _certificate_of(member.user)
    certificate.recipient_name = member.real_name  # as if issued under that name
    db.session.commit()
    found = services.verify_by_serial(certificate.serial, "阿卜杜拉・艾合买提")
    assert found is not None and found.serial == certificate.serial and found.name == "阿**拉·艾**提"
    assert services.verify_by_serial(certificate.serial.lower(), " 阿卜杜拉 · 艾合买提 ") is not None
    assert services.verify_by_serial(certificate.serial, "阿卜杜拉") is None
    assert services.verify_by_serial(certificate.serial, "") is None
    assert services.verify_by_serial("SC1-2026-999999", "阿卜杜拉·艾合买提") is None


def test_revoke_needs_a_reason_and_is_audited(app, fake_renderer):
    world = _issued_world(fake_renderer)
    certificate = _certificate_of(world.teams[0].leader)
    for reason in ("", "   ", None):
        with pytest.raises(DomainError, match="give a reason"):
            services.revoke(certificate, actor=world.organizer, reason=reason)
    services.revoke(certificate, actor=world.organizer, reason="学籍信息不符", now=LATER)
    db.session.commit()
    assert certificate.state == CertificateState.REVOKED
    assert (certificate.revoked_at, certificate.revoked_by_id) == (LATER, world.organizer.id)
    found = services.verify_by_code(certificate.verification_code)
    assert (found.status, found.revoked_at, found.revoke_reason) == ("revoked", LATER, "学籍信息不符")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificates.revoke"))
    assert entry.object_id == str(certificate.id) and entry.details["reason"] == "学籍信息不符"
    with pytest.raises(DomainError, match="already revoked"):
        services.revoke(certificate, actor=world.organizer, reason="again")
    # a rerun does not bring a revoked certificate back
    assert issuing.plan(world.round, issuing.IssueSettings()).created == 0
    assert issuing.render_pending(world.round).issued == 0


def test_reissue_gives_a_new_serial_and_code_and_supersedes_the_old(app, fake_renderer):
    world = _issued_world(fake_renderer)
    member = _member(world, 0, 2)
    old = _certificate_of(member.user)
    with pytest.raises(DomainError, match="give a reason"):
        services.reissue(old, actor=world.organizer, reason=" ")
    new = services.reissue(old, actor=world.organizer, reason="姓名有误", recipient_name="孙悟空", now=LATER)
    db.session.commit()
    assert new.serial == f"SC1-2026-{EXPECTED_TOTAL + 1:06d}"
    assert new.verification_code != old.verification_code
    assert (new.state, new.recipient_name, new.replaces_id) == ("issued", "孙悟空", old.id)
    assert new.values["recipient_name"] == "孙悟空" and new.values["serial"] == new.serial
    assert new.values["verify_url"].endswith(new.verification_code)
    assert (new.kind, new.award, new.recipient_key, new.team_id) == (old.kind, old.award, old.recipient_key,
                                                                     old.team_id)  # fmt: skip
    assert fake_renderer.rendered[-1]["recipient_name"] == "孙悟空"
    assert (old.state, old.superseded_by_id, old.is_current) == ("superseded", new.id, None)
    assert old.file_key is not None  # the old PDF stays: it was issued
    # verification follows
    before = services.verify_by_code(old.verification_code)
    assert (before.status, before.superseded_by_serial) == ("superseded", new.serial)
    assert services.verify_by_code(new.verification_code).status == "valid"
    assert services.verify_by_serial(new.serial, "孙悟空").status == "valid"
    assert services.verify_by_serial(old.serial, member.real_name).status == "superseded"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificates.reissue"))
    assert entry.details["new_serial"] == new.serial and entry.details["reason"] == "姓名有误"
    # the recipient hears of the new certificate
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == member.user.email)).all()
    assert len(mails) == 2 and new.serial in mails[-1].body_text
    # a chain: the new one can be reissued in turn, the old one not again
    with pytest.raises(DomainError, match="already been replaced"):
        services.reissue(old, actor=world.organizer, reason="again")
    newer = services.reissue(new, actor=world.organizer, reason="再次更正", now=LATER)
    db.session.commit()
    assert (new.state, new.superseded_by_id, newer.replaces_id) == ("superseded", newer.id, new.id)
    assert newer.serial == f"SC1-2026-{EXPECTED_TOTAL + 2:06d}"
    # still one current certificate for the place, and reruns add nothing
    current = db.session.scalars(
        select(Certificate).where(Certificate.recipient_key == old.recipient_key, Certificate.is_current.is_(True))
    ).all()
    assert current == [newer]
    assert issuing.plan(world.round, issuing.IssueSettings()).created == 0


def test_a_revoked_certificate_can_be_reissued(app, fake_renderer):
    world = _issued_world(fake_renderer)
    old = _certificate_of(world.judges[0])
    services.revoke(old, actor=world.organizer, reason="误撤销", now=LATER)
    new = services.reissue(old, actor=world.organizer, reason="恢复", now=LATER)
    db.session.commit()
    assert (old.state, new.state) == ("superseded", "issued")
    assert services.verify_by_code(old.verification_code).status == "superseded"


def test_a_reissued_certificate_not_rendered_yet_is_kept_by_a_later_plan(app, fake_renderer):
    world = _issued_world(fake_renderer)
    old = _certificate_of(world.judges[0])
    new = services.reissue(old, actor=world.organizer, reason="更正", recipient_name="李四光", render=False)
    db.session.commit()
    assert new.state == "pending"
    for choices in ({"award_team"}, {"judge"}):
        outcome = issuing.plan(world.round, issuing.IssueSettings(choices=frozenset(choices)))
        assert (outcome.removed, outcome.updated) == (0, 0)
    assert issuing.render_pending(world.round).issued == 1
    assert (new.state, new.recipient_name, fake_renderer.rendered[-1]["recipient_name"]) == (
        "issued",
        "李四光",
        "李四光",
    )


def test_a_pending_certificate_cannot_be_reissued(app, fake_renderer):
    world = published_round()
    issuing.plan(world.round, issuing.IssueSettings(choices=frozenset({"judge"})))
    db.session.commit()
    pending = db.session.scalar(select(Certificate).limit(1))
    with pytest.raises(DomainError, match="Only an issued or revoked"):
        services.reissue(pending, actor=world.organizer, reason="x")


# --- a person's certificates --------------------------------------------------------------------


def test_a_students_list_holds_only_their_own_and_their_teams(app, fake_renderer):
    world = _issued_world(fake_renderer)
    member = _member(world, 0, 1)
    mine = services.certificates_of(member.user)
    assert sorted((c.recipient_type, c.recipient_name) for c in mine) == [
        ("member", member.real_name), ("team", world.teams[0].name)]  # fmt: skip
    other = _member(world, 0, 2)
    assert not any(c.recipient_user_id == other.user_id for c in mine)
    # a participant of team 3: one certificate of participation, nothing of teams 1 and 2
    third = _member(world, 2, 0)
    assert [(c.kind, c.recipient_user_id) for c in services.certificates_of(third.user)] == [
        ("participation", third.user_id)]  # fmt: skip
    assert services.certificates_of(factories.user()) == []
    assert services.certificates_of(None) == []
    # a superseded certificate leaves the list, its replacement is there
    old = _certificate_of(member.user)
    new = services.reissue(old, actor=world.organizer, reason="更正")
    db.session.commit()
    ids = [c.id for c in services.certificates_of(member.user)]
    assert new.id in ids and old.id not in ids


def test_who_may_download(app, fake_renderer):
    world = _issued_world(fake_renderer)
    member = _member(world, 0, 1)
    own, other = _certificate_of(member.user), _certificate_of(_member(world, 0, 2).user)
    team = db.session.scalar(select(Certificate).where(Certificate.team_id == world.teams[0].id,
                                                       Certificate.recipient_type == "team"))  # fmt: skip
    assert services.may_download(member.user, own)
    assert services.may_download(member.user, team)
    assert not services.may_download(member.user, other)
    assert not services.may_download(_member(world, 1, 0).user, team)
    assert services.may_download(world.organizer, other)
    assert not services.may_download(factories.user(), other)
    assert not services.may_download(None, own)
    # a revoked certificate is listed (with its state) but no longer handed out, but to organizers
    services.revoke(own, actor=world.organizer, reason="撤销")
    db.session.commit()
    assert own in services.certificates_of(member.user)
    assert not services.may_download(member.user, own)
    assert services.may_download(world.organizer, own)


# --- downloads ----------------------------------------------------------------------------------


def test_zip_per_track_and_per_institution(app, fake_renderer):
    world = _issued_world(fake_renderer)
    assert services.download_groups(world.round, "track") == [("创意组", "Idea track", EXPECTED_TOTAL - 2)]
    institutions = services.download_groups(world.round, "institution")
    assert [(name, count) for name, _, count in institutions] == [("四川大学", EXPECTED_TOTAL - 2), ("重庆大学", 2)]
    chunks = list(services.zip_stream(services.issued_certificates(world.round, track="创意组")))
    assert len(chunks) > 3  # produced piece by piece
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        names = archive.namelist()
        assert len(names) == EXPECTED_TOTAL - 2
        first = services.issued_certificates(world.round)[0]
        name = f"获奖证书/{first.serial}-{first.recipient_name}.pdf"
        assert names[0] == name
        assert archive.read(name) == services.pdf_bytes(first)
        assert sum(n.startswith("参赛证明/") for n in names) == 3
        assert sum(n.startswith("优秀指导教师证书/") for n in names) == 3
    judges = zipfile.ZipFile(io.BytesIO(services.zip_bytes(
        services.issued_certificates(world.round, institution="重庆大学"))))  # fmt: skip
    assert [n.split("/")[0] for n in judges.namelist()] == ["评审专家感谢状", "评审专家感谢状"]


def test_print_batch_is_one_document_of_the_issued_certificates(app, fake_renderer):
    world = _issued_world(fake_renderer)
    certificates = services.issued_certificates(world.round, kind="award")
    pdf = services.print_batch(certificates)
    assert pdf.startswith(b"%PDF")
    (batch,) = fake_renderer.batches
    assert [item[1]["serial"] for item in batch] == [c.serial for c in certificates]
    assert len(batch) == 8  # 2 teams and their 6 members
    with pytest.raises(DomainError):
        services.print_batch([])


def test_round_counts(app, fake_renderer):
    world = published_round()
    world.teams[0].members[0].real_name = "\ue001"
    db.session.commit()
    issuing.plan(world.round, issuing.IssueSettings())
    issuing.render_pending(world.round, limit=10)
    assert services.round_counts(world.round) == {"pending": 6, "issued": 9, "failed": 1, "revoked": 0}


# --- templates ----------------------------------------------------------------------------------


def test_templates_default_then_saved_then_reset(app, fake_renderer):
    world = published_round(publish=False)
    default = services.template_for(world.contest, "award")
    assert default.is_default and default.html
    services.save_template(world.contest, "award", html="<p>{{ recipient_name }}</p>", css="p{color:red}",
                           actor=world.organizer)  # fmt: skip
    db.session.commit()
    saved = services.template_for(world.contest, "award")
    assert (saved.html, saved.css, saved.is_default) == ("<p>{{ recipient_name }}</p>", "p{color:red}", False)
    assert services.template_for(world.contest, "judge").is_default
    with pytest.raises(DomainError):
        services.save_template(world.contest, "diploma", html="<p></p>", css="", actor=world.organizer)
    with pytest.raises(DomainError):
        services.save_template(world.contest, "award", html="  ", css="", actor=world.organizer)
    with pytest.raises(DomainError, match="at most"):
        services.save_template(world.contest, "award", html="<p>x</p>" * 20_000, css="", actor=world.organizer)
    with pytest.raises(DomainError, match="cannot be used.*salary"):
        services.save_template(world.contest, "award", html="<p>{{ salary }}</p>", css="", actor=world.organizer)
    with pytest.raises(DomainError, match="cannot be used"):
        services.save_template(world.contest, "award", html="{{ ''.__class__.__mro__ }}", css="", actor=world.organizer)
    assert services.template_for(world.contest, "award").html == "<p>{{ recipient_name }}</p>"
    services.reset_template(world.contest, "award", actor=world.organizer)
    db.session.commit()
    assert db.session.scalar(select(CertificateTemplate)) is None
    assert services.template_for(world.contest, "award").is_default
