"""Account services called directly: the rules, without HTTP."""

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from competition.accounts import services
from competition.accounts.models import Role, User
from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.mail import OutboxMessage
from tests import factories


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Li.Ming@Example.EDU.cn ", "li.ming@example.edu.cn"),
        ("li.ming＠example.edu.cn", "li.ming@example.edu.cn"),  # full-width at sign typed on a Chinese IME
        ("ZHANG@QQ.COM", "zhang@qq.com"),
    ],
)
def test_normalize_email_gives_one_canonical_form(app, raw, expected):
    assert services.normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "not-an-address", "a@b", "x" * 5000 + "@example.com", "a@@example.com"])
def test_normalize_email_refuses_implausible_addresses(app, raw):
    with pytest.raises(DomainError):
        services.normalize_email(raw)


def _register(email="new@example.edu.cn", password="a good password", **fields):
    return services.register_user(
        email=email,
        password=password,
        real_name=fields.get("real_name", "李明"),
        institution=fields.get("institution") or factories.institution("UESTC"),
        phone=None,
        locale=fields.get("locale", "zh_Hans_CN"),
    )


def test_register_creates_an_unverified_account_and_queues_a_verification_mail(app, db):
    user = _register()
    db.session.commit()
    assert user.email == "new@example.edu.cn" and not user.is_verified
    mail = db.session.scalar(select(OutboxMessage))
    assert mail.to_address == user.email and mail.template == "accounts/emails/verify_email"
    assert "/account/verify/" in mail.body_text


def test_register_with_a_taken_address_creates_nothing_and_tells_the_owner(app, db):
    owner = factories.user(email="taken@example.edu.cn", locale="en")
    db.session.commit()
    assert _register(email="TAKEN@example.edu.cn ") is None
    db.session.commit()
    assert db.session.scalar(select(func.count(User.id))) == 1
    mail = db.session.scalar(select(OutboxMessage))
    assert mail.to_address == owner.email
    assert mail.template == "accounts/emails/already_registered"
    assert mail.locale == "en" and "already has an account" in mail.body_text


def test_verify_email_marks_the_address_confirmed_and_refuses_forged_tokens(app, db):
    user = _register()
    token = services.make_verification_token(user)
    assert services.verify_email(token).is_verified
    with pytest.raises(DomainError):
        services.verify_email(token + "x")


def test_verification_link_expires(app, db):
    user = _register()
    with freeze_time("2026-01-01 00:00:00"):
        token = services.make_verification_token(user)
    with freeze_time("2026-01-05 00:00:00"), pytest.raises(DomainError):
        services.verify_email(token)


def test_authenticate_accepts_the_right_password_only(app, db):
    user = factories.user(email="li@example.edu.cn", password="right password")
    assert services.authenticate("LI@example.edu.cn", "right password") == user
    with pytest.raises(services.LoginRefused) as refused:
        services.authenticate("li@example.edu.cn", "wrong password")
    assert refused.value.reason == "credentials"


def test_wrong_address_and_wrong_password_give_the_same_message(app, db):
    factories.user(email="li@example.edu.cn", password="right password")
    with pytest.raises(services.LoginRefused) as unknown:
        services.authenticate("nobody@example.edu.cn", "right password")
    with pytest.raises(services.LoginRefused) as wrong:
        services.authenticate("li@example.edu.cn", "wrong password")
    assert str(unknown.value.message) == str(wrong.value.message)


def test_unverified_and_disabled_accounts_are_refused_only_with_the_right_password(app, db):
    factories.user(email="new@example.edu.cn", password="right password", verified=False)
    factories.user(email="off@example.edu.cn", password="right password", is_disabled=True)
    with pytest.raises(services.LoginRefused) as unverified:
        services.authenticate("new@example.edu.cn", "right password")
    assert unverified.value.reason == "unverified"
    with pytest.raises(services.LoginRefused) as disabled:
        services.authenticate("off@example.edu.cn", "right password")
    assert disabled.value.reason == "disabled"
    with pytest.raises(services.LoginRefused) as wrong:
        services.authenticate("off@example.edu.cn", "wrong password")
    assert wrong.value.reason == "credentials"


@pytest.mark.parametrize(
    "password",
    [
        "  spaces around  ",
        "这是一个由六十四个汉字组成的很长很长的密码短语用来测试系统是否能够正确地处理中文字符而不会出错也不会截断任何内容好的",
    ],
)
def test_passwords_are_kept_exactly_including_spaces_and_chinese(app, db, password):
    factories.user(email="p@example.edu.cn", password=password)
    assert services.authenticate("p@example.edu.cn", password)
    with pytest.raises(services.LoginRefused):
        services.authenticate("p@example.edu.cn", password.strip() + "x")


def test_sixty_four_character_chinese_passphrase_is_accepted(app):
    passphrase = "川渝" * 32
    assert len(passphrase) == 64
    services.check_password_policy(passphrase)


@pytest.mark.parametrize("password", ["short", "x" * 257])
def test_password_policy_refuses_too_short_and_too_long(app, password):
    with pytest.raises(DomainError):
        services.hash_password(password)


def test_reset_token_works_once(app, db):
    user = factories.user()
    token = services.make_reset_token(user)
    services.reset_password(token, "a brand new password")
    db.session.commit()
    with pytest.raises(DomainError):
        services.reset_password(token, "another new password")


def test_reset_token_expires_after_an_hour(app, db):
    user = factories.user()
    with freeze_time("2026-03-01 08:00:00"):
        token = services.make_reset_token(user)
    with freeze_time("2026-03-01 08:59:00"):
        services.user_for_reset_token(token)
    with freeze_time("2026-03-01 09:00:01"), pytest.raises(DomainError):
        services.user_for_reset_token(token)


def test_reset_token_dies_when_the_password_changes_another_way(app, db):
    user = factories.user(password="old password 1")
    token = services.make_reset_token(user)
    services.change_password(user, current_password="old password 1", new_password="new password 2")
    with pytest.raises(DomainError):
        services.user_for_reset_token(token)


def test_reset_token_of_a_disabled_account_is_refused(app, db):
    user = factories.user()
    token = services.make_reset_token(user)
    user.is_disabled = True
    with pytest.raises(DomainError):
        services.user_for_reset_token(token)


def test_password_reset_request_mails_known_active_addresses_only(app, db):
    factories.user(email="known@example.edu.cn")
    factories.user(email="off@example.edu.cn", is_disabled=True)
    services.request_password_reset("known@example.edu.cn")
    services.request_password_reset("unknown@example.edu.cn")
    services.request_password_reset("off@example.edu.cn")
    services.request_password_reset("not an address")
    assert [m.to_address for m in db.session.scalars(select(OutboxMessage))] == ["known@example.edu.cn"]


def test_changing_the_password_replaces_the_session_token(app, db):
    user = factories.user(password="old password 1")
    before = user.get_id()
    services.change_password(user, current_password="old password 1", new_password="new password 2")
    assert user.get_id() != before


def test_change_password_requires_the_current_one(app, db):
    user = factories.user(password="old password 1")
    with pytest.raises(DomainError) as error:
        services.change_password(user, current_password="wrong", new_password="new password 2")
    assert error.value.field == "current_password"


def test_disabling_ends_sessions_and_is_audited(app, db):
    admin = factories.user(is_admin=True)
    user = factories.user()
    before = user.get_id()
    services.set_disabled(user, actor=admin, disabled=True)
    assert user.is_disabled and user.get_id() != before
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.disable"))
    assert entry.actor_id == admin.id and entry.object_id == str(user.id)


def test_an_admin_cannot_disable_themselves(app, db):
    admin = factories.user(is_admin=True)
    with pytest.raises(DomainError):
        services.set_disabled(admin, actor=admin, disabled=True)


def test_one_person_holds_different_roles_in_different_competitions(app, db):
    admin = factories.user(is_admin=True)
    person = factories.user()
    first, second = factories.competition(), factories.competition()
    services.grant_role(actor=admin, user=person, competition=first, role=Role.JUDGE)
    services.grant_role(actor=admin, user=person, competition=second, role=Role.STUDENT)
    assert person.roles_in(first) == {Role.JUDGE}
    assert person.roles_in(second) == {Role.STUDENT}


def test_granting_the_same_role_twice_is_refused(app, db):
    admin = factories.user(is_admin=True)
    person = factories.user()
    contest = factories.competition()
    services.grant_role(actor=admin, user=person, competition=contest, role=Role.JUDGE)
    with pytest.raises(DomainError):
        services.grant_role(actor=admin, user=person, competition=contest, role=Role.JUDGE)


def test_institution_organizer_needs_an_institution(app, db):
    admin = factories.user(is_admin=True)
    with pytest.raises(DomainError) as error:
        services.grant_role(
            actor=admin, user=factories.user(), competition=factories.competition(), role=Role.INSTITUTION_ORGANIZER
        )
    assert error.value.field == "institution"


def test_create_admin_makes_a_verified_admin(app, db):
    user = services.create_admin(email="Boss@Example.edu.cn", password="a long password", real_name="管理员")
    assert user.is_admin and user.is_verified and user.email == "boss@example.edu.cn"


def test_unused_reset_token_is_bound_to_the_user(app, db):
    first, second = factories.user(), factories.user()
    token = services.make_reset_token(first)
    assert services.user_for_reset_token(token) == first != second
    forged = services._serializer("accounts.reset-password").dumps([second.id, "0" * 24])
    with pytest.raises(DomainError):
        services.user_for_reset_token(forged)
