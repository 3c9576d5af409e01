"""Account forms: validation only. Choices that come from the database are passed in by the view."""

from __future__ import annotations

import unicodedata

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, Optional, ValidationError

from competition.accounts import services
from competition.core.errors import DomainError
from competition.privacy import forms as privacy_forms

LOCALE_CHOICES = [SelectChoice("zh_Hans_CN", "中文"), SelectChoice("en", "English")]
NAME_MAX_LENGTH = 50


def _email_valid(form, field) -> None:
    try:
        services.normalize_email(field.data or "")
    except DomainError as error:
        raise ValidationError(str(error.message)) from None


def _password_policy(form, field) -> None:
    try:
        services.check_password_policy(field.data or "")
    except DomainError as error:
        raise ValidationError(str(error.message)) from None


def _clean_name(value: str | None) -> str | None:
    """Trim and drop invisible characters (zero-width spaces and the like) from a person's name."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value)
    visible = "".join(char for char in value if unicodedata.category(char) not in {"Cf", "Cc"})
    return " ".join(visible.split())


def _phone_valid(form, field) -> None:
    if not field.data:
        field.data = None
        return
    try:
        number = phonenumbers.parse(field.data, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(_l("Please enter a valid phone number, e.g. 13800138000."))
    field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_field(label=None):
    return EmailField(
        label or _l("E-mail"),
        validators=[
            InputRequired(message=_l("Please enter your e-mail address.")),
            Length(max=services.EMAIL_MAX_LENGTH, message=_l("An e-mail address has at most 254 characters.")),
            _email_valid,
        ],
        render_kw={"autocomplete": "email"},
    )


def new_password_fields():
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Please enter a password.")), _password_policy],
        description=_l("At least 8 characters; spaces and Chinese characters are allowed."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            InputRequired(message=_l("Please repeat the password.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class ProfileFieldsMixin:
    real_name = StringField(
        _l("Real name"),
        filters=[_clean_name],
        validators=[
            InputRequired(message=_l("Please enter your real name.")),
            Length(min=1, max=NAME_MAX_LENGTH, message=_l("A name has 1 to 50 characters.")),
        ],
        render_kw={"autocomplete": "name"},
    )
    institution = SelectField(
        _l("Institution"),
        coerce=int,
        validate_choice=True,
        validators=[InputRequired(message=_l("Please choose your institution."))],
    )
    phone = StringField(
        _l("Mobile phone (optional)"),
        validators=[Optional(), Length(max=32, message=_l("A phone number has at most 32 characters.")), _phone_valid],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )

    def validate_real_name(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Please enter your real name."))


class RegisterForm(ProfileFieldsMixin, FlaskForm):
    email = email_field()
    password, password_confirm = new_password_fields()
    #: PIPL: the privacy notice must be agreed to (competition.privacy records the consent)
    agree_privacy = privacy_forms.agree_field()


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(message=_l("Please enter your password.")),
            Length(max=services.PASSWORD_MAX_LENGTH, message=_l("A password has at most 256 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me logged in on this device"))


class EmailOnlyForm(FlaskForm):
    email = email_field()


class ResetPasswordForm(FlaskForm):
    password, password_confirm = new_password_fields()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            InputRequired(message=_l("Please enter your current password.")),
            Length(max=services.PASSWORD_MAX_LENGTH, message=_l("A password has at most 256 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    password, password_confirm = new_password_fields()


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, validate_choice=True)


class LanguageForm(FlaskForm):
    locale = SelectField(choices=LOCALE_CHOICES, validate_choice=True)
    next = StringField()


def _code_field(label=None):
    return StringField(
        label or _l("Code from your authenticator app"),
        validators=[
            InputRequired(message=_l("Please enter the code.")),
            Length(max=20, message=_l("A code has 6 digits (a recovery code 10 letters and digits).")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off"},
    )


class TwoFactorLoginForm(FlaskForm):
    code = _code_field(_l("Code from your authenticator app, or a recovery code"))


class TwoFactorEnableForm(FlaskForm):
    code = _code_field()


class TwoFactorCodeForm(FlaskForm):
    code = _code_field()


class TwoFactorDisableForm(FlaskForm):
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(message=_l("Please enter your password.")),
            Length(max=services.PASSWORD_MAX_LENGTH, message=_l("A password has at most 256 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field(_l("Code from your authenticator app, or a recovery code"))
