"""Forms of the organizers' scoring pages: rubrics and criteria, reminders, reopening, closing.

Choices that depend on the round (tracks, presets) are filled in by the view. Every value is checked
again by the service, which has the last word (its refusals are shown on the field they name).
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from competition.judging.conflicts import REASON_MAX
from competition.rounds.forms import INVALID_CHOICE
from competition.scoring.services import CODE_MAX, GUIDANCE_MAX, NAME_EN_MAX, NAME_ZH_MAX, REMINDER_HOURS_MAX

#: a maximum as typed: up to three digits, at most one decimal (full-width digits are folded first)
MAX_POINTS_PATTERN = re.compile(r"^\d{1,3}(\.\d)?$")
MIN_COMMENT_MAX = 1000
STEP_CHOICES = [SelectChoice("1", _l("Whole points (1)")), SelectChoice("0.5", _l("Halves (0.5)"))]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _fold(value):
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def _max_points(_form, field) -> None:
    if field.data and not MAX_POINTS_PATTERN.fullmatch(field.data):
        raise ValidationError(_l("Please enter a number such as 20 or 7.5."))


def _text(label, limit: int, *, required_message=None, description=None):
    validators = [InputRequired(message=required_message)] if required_message else [Optional()]
    return StringField(
        label,
        filters=[_strip],
        validators=[*validators, Length(max=limit, message=_l("At most %(max)d characters."))],
        description=description,
        render_kw={"maxlength": limit},
    )


def _guidance(label):
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[Optional(), Length(max=GUIDANCE_MAX, message=_l("At most %(max)d characters."))],
        description=_l("What earns high marks and what earns low marks; judges see it next to the criterion."),
        render_kw={"rows": 3, "maxlength": GUIDANCE_MAX},
    )


def _reason(label):
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please give a reason.")),
            Length(max=REASON_MAX, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"rows": 2, "maxlength": REASON_MAX},
    )


class RubricCreateForm(FlaskForm):
    preset = SelectField(
        _l("Start from"),
        invalid_choice_message=INVALID_CHOICE,
        description=_l("A preset fills in its criteria and points; you can change them afterwards."),
    )
    track = SelectField(
        _l("For"),
        invalid_choice_message=INVALID_CHOICE,
        description=_l("A track's own rubric replaces the round's rubric for that track's submissions."),
    )


class CriterionForm(FlaskForm):
    code = _text(
        _l("Code"),
        CODE_MAX,
        required_message=_l("Please enter a code."),
        description=_l("1 to 32 lower-case letters, digits, - or _, e.g. innovation; used in the export."),
    )
    name_zh = _text(_l("Name (Chinese)"), NAME_ZH_MAX, required_message=_l("Please enter the Chinese name."))
    name_en = _text(
        _l("Name (English)"),
        NAME_EN_MAX,
        description=_l("Shown to English readers; the Chinese name is used when it is empty."),
    )
    max_points = StringField(
        _l("Maximum points"),
        filters=[_fold],
        validators=[InputRequired(message=_l("Please enter the maximum points.")), _max_points],
        description=_l("Between 0.5 and 999, a multiple of the step. Weights follow from the points."),
        render_kw={"inputmode": "decimal", "maxlength": 5},
    )
    step = SelectField(_l("Points in steps of"), choices=STEP_CHOICES, invalid_choice_message=INVALID_CHOICE)
    guidance_zh = _guidance(_l("Guidance (Chinese)"))
    guidance_en = _guidance(_l("Guidance (English)"))


class MinCommentForm(FlaskForm):
    min_comment_chars = IntegerField(
        _l("Smallest length of the overall comment (characters)"),
        validators=[
            InputRequired(message=_l("Please enter a number between %(min)s and %(max)s.", min=0, max=MIN_COMMENT_MAX)),
            NumberRange(min=0, max=MIN_COMMENT_MAX, message=_l("Please enter a number between %(min)s and %(max)s.")),
        ],
        invalid_value_message=_l("Please enter a whole number."),
        description=_l("0: the overall comment may be empty. Checked when the judge submits."),
        render_kw={"inputmode": "numeric", "min": 0, "max": MIN_COMMENT_MAX},
    )


class ReasonForm(FlaskForm):
    """Unfreezing a rubric, reopening a scorecard: the reason is recorded."""

    reason = _reason(_l("Reason"))


class ActionForm(FlaskForm):
    """A POST button (deleting a criterion or a rubric, sending reminders): only the CSRF token."""


class ReminderForm(FlaskForm):
    hours = IntegerField(
        _l("Automatic reminder, hours before judging closes"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=REMINDER_HOURS_MAX,
                message=_l("Between %(min)s and %(max)s hours, or empty for no automatic reminder."),
            ),
        ],
        invalid_value_message=_l("Please enter a whole number."),
        description=_l("Judges with unsubmitted scorecards get one e-mail this long before the close. Empty: never."),
        render_kw={"inputmode": "numeric", "min": 1, "max": REMINDER_HOURS_MAX},
    )


class CloseForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that judges cannot save or submit any score after this."),
        validators=[DataRequired(message=_l("Please tick the box to confirm."))],
    )
