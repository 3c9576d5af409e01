"""Privacy forms: validation only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, TextAreaField
from wtforms.validators import InputRequired, Length

from competition.accounts.services import PASSWORD_MAX_LENGTH
from competition.privacy.models import REASON_MAX_LENGTH

AGREE_LABEL = _l("I have read and agree to the privacy notice")
AGREE_MESSAGE = _l("Please read the privacy notice and tick the box to agree to it.")


def agree_field():
    """The box registration and the renewed-consent page need ticked."""
    return BooleanField(AGREE_LABEL, validators=[InputRequired(message=AGREE_MESSAGE)])


class ConsentForm(FlaskForm):
    agree = agree_field()


class DeletionRequestForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[
            InputRequired(message=_l("Please enter your password to confirm.")),
            Length(max=PASSWORD_MAX_LENGTH, message=_l("A password has at most 256 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    reason = TextAreaField(
        _l("Why (optional)"),
        validators=[Length(max=REASON_MAX_LENGTH, message=_l("At most %(max)d characters.", max=REASON_MAX_LENGTH))],
        render_kw={"rows": 3},
    )


class RefuseForm(FlaskForm):
    note = TextAreaField(
        _l("Reason for refusing (sent to the person)"),
        validators=[
            InputRequired(message=_l("Please give the reason for refusing; the person is told.")),
            Length(max=REASON_MAX_LENGTH, message=_l("At most %(max)d characters.", max=REASON_MAX_LENGTH)),
        ],
        render_kw={"rows": 2},
    )
