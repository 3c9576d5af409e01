"""Forms of the organizers' certificate pages: issuing a round's certificates, revoking and
reissuing one, a template, and the filters of a round's list.

The services have the last word (IssueSettings.check, revoke, reissue, save_template); their
refusals are shown on the field they name.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from competition.certificates import issuing, services
from competition.certificates.models import KIND_LABELS, STATE_LABELS
from competition.results.models import AWARD_LABELS
from competition.rounds.forms import INVALID_CHOICE

NAME_MAX = 100


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _checkboxes(label, choices, description=None):
    return SelectMultipleField(
        label,
        choices=choices,
        invalid_choice_message=INVALID_CHOICE,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        description=description,
    )


def _reason(label, description=None):
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please give a reason.")),
            Length(max=services.REASON_MAX, message=_l("At most %(max)d characters.")),
        ],
        description=description,
        render_kw={"rows": 2, "maxlength": services.REASON_MAX},
    )


class IssueForm(FlaskForm):
    """What to issue for one round (the index shows one per round, prefixed by the round)."""

    choices = _checkboxes(
        _l("Certificates to issue"),
        [SelectChoice(choice, label) for choice, label in issuing.CHOICE_LABELS.items()],
        description=_l("Who receives what follows from the published results of the round."),
    )
    advisor_awards = _checkboxes(
        _l("Advisors are outstanding advisors for teams with"),
        [SelectChoice(code, AWARD_LABELS[code]) for code in issuing.AWARD_CODES],
    )
    issued_on = DateField(
        _l("Date printed on the certificates"),
        validators=[Optional()],
        description=_l("Empty: the day they are generated (Beijing time)."),
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.choices.data and not self.choices.errors:
            self.choices.errors = [*self.choices.errors, _l("Please choose at least one kind of certificate.")]
            valid = False
        return valid

    def settings(self) -> issuing.IssueSettings:
        return issuing.IssueSettings(
            choices=frozenset(self.choices.data or ()),
            advisor_awards=tuple(code for code in issuing.AWARD_CODES if code in (self.advisor_awards.data or ())),
            issued_on=self.issued_on.data,
        )


class RevokeForm(FlaskForm):
    reason = _reason(_l("Reason for revoking"), description=_l("Shown on the public verification page."))
    confirm = BooleanField(
        _l("I understand that the verification page will show this certificate as revoked."),
        validators=[DataRequired(message=_l("Please tick the box to confirm."))],
    )
    next = HiddenField()


class ReissueForm(FlaskForm):
    reason = _reason(_l("Reason for reissuing"))
    recipient_name = StringField(
        _l("Name on the new certificate"),
        filters=[_strip],
        validators=[Optional(), Length(max=NAME_MAX, message=_l("At most %(max)d characters."))],
        description=_l("Empty: the same name as before."),
        render_kw={"maxlength": NAME_MAX},
    )
    next = HiddenField()


class TemplateForm(FlaskForm):
    html = TextAreaField(
        _l("Template (HTML with Jinja placeholders)"),
        validators=[Length(max=services.TEMPLATE_MAX_CHARS, message=_l("At most %(max)d characters."))],
        render_kw={"rows": 24, "spellcheck": "false", "autocomplete": "off"},
    )
    css = TextAreaField(
        _l("Additional CSS"),
        validators=[Length(max=services.TEMPLATE_MAX_CHARS, message=_l("At most %(max)d characters."))],
        description=_l("Comes after the default certificate styles and may change any of them."),
        render_kw={"rows": 8, "spellcheck": "false", "autocomplete": "off"},
    )


class ActionForm(FlaskForm):
    """A POST button (reset a template): only the CSRF token."""


class CertificateFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter form

    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice("", _l("Every kind"))]
        + [SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        validators=[Optional()],
        invalid_choice_message=INVALID_CHOICE,
    )
    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("All but superseded"))]
        + [SelectChoice(state.value, label) for state, label in STATE_LABELS.items()],
        validators=[Optional()],
        invalid_choice_message=INVALID_CHOICE,
    )
    track = SelectField(_l("Track"), validators=[Optional()], invalid_choice_message=INVALID_CHOICE)
    institution = SelectField(_l("Institution"), validators=[Optional()], invalid_choice_message=INVALID_CHOICE)
