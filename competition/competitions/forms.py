"""Competition forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from competition.accounts.forms import email_field
from competition.accounts.models import ROLE_LABELS, Role


def optional_int(value):
    return int(value) if value not in ("", None) else None


class CompetitionForm(FlaskForm):
    code = StringField(
        _l("Short code"),
        validators=[
            InputRequired(message=_l("Please enter a short code.")),
            Length(max=32, message=_l("At most 32 characters.")),
        ],
        description=_l("Used in certificate serial numbers, e.g. CY2026."),
    )
    year = IntegerField(
        _l("Year"),
        validators=[
            InputRequired(message=_l("Please enter the year.")),
            NumberRange(min=2000, max=2100, message=_l("Please enter a year between 2000 and 2100.")),
        ],
    )
    name_zh = StringField(
        _l("Name (Chinese)"),
        validators=[
            InputRequired(message=_l("Please enter the Chinese name.")),
            Length(max=200, message=_l("At most 200 characters.")),
        ],
    )
    name_en = StringField(
        _l("Name (English)"),
        validators=[
            InputRequired(message=_l("Please enter the English name.")),
            Length(max=300, message=_l("At most 300 characters.")),
        ],
    )


class GrantRoleForm(FlaskForm):
    email = email_field(_l("E-mail of the person"))
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        validate_choice=True,
    )
    institution = SelectField(_l("Institution (for institution organizers)"), coerce=optional_int, validate_choice=True)

    def role_value(self) -> Role:
        return Role(self.role.data)
