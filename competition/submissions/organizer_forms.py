"""Forms of the organizers' submission pages: a round's submission settings, its materials, the
filters of the overview, reopening and extensions. Times are typed in Beijing time."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from competition.core.time import SHANGHAI
from competition.rounds.forms import DATETIME_FORMATS, INVALID_CHOICE, optional_int
from competition.submissions import services
from competition.submissions.models import KIND_LABELS
from competition.submissions.overview import STATUS_LABELS

MB = 1024 * 1024
SLOT_MAX_MB = services.SLOT_MAX_BYTES // MB


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _beijing_time(label, *, required_message=None, description=None):
    # The browser sends a wall-clock time without a zone; it is Beijing time.
    validators = [InputRequired(message=required_message)] if required_message else [Optional()]
    return DateTimeLocalField(
        label,
        validators=validators,
        format=DATETIME_FORMATS,
        tz=SHANGHAI,
        invalid_value_message=_l("Please enter a date and time."),
        description=description,
    )


def _whole_number(label, *, low: int, high: int, description=None):
    message = _l("Please enter a number between %(min)s and %(max)s.", min=low, max=high)
    return IntegerField(
        label,
        validators=[InputRequired(message=message), NumberRange(min=low, max=high, message=message)],
        invalid_value_message=_l("Please enter a whole number."),
        description=description,
        render_kw={"inputmode": "numeric", "min": low, "max": high},
    )


class SubmissionSettingsForm(FlaskForm):
    opens_at = _beijing_time(
        _l("Submissions open"),
        description=_l("Beijing time (UTC+8). Leave empty to accept submissions from now on."),
    )
    deadline = _beijing_time(
        _l("Deadline"),
        description=_l("Beijing time (UTC+8). Leave empty to use the competition's submission deadline."),
    )
    blind = BooleanField(
        _l("Blind judging: judges never see who the team is and get files without their metadata"),
    )
    abstract_max_chars = _whole_number(
        _l("Longest abstract (characters)"),
        low=services.ABSTRACT_LIMIT_MIN,
        high=services.ABSTRACT_LIMIT_MAX,
        description=_l("Counted as people count them: one per Chinese character, letter, digit or punctuation mark."),
    )


class SlotForm(FlaskForm):
    code = StringField(
        _l("Short code"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please enter a short code.")),
            Length(max=32, message=_l("At most %(max)d characters.")),
        ],
        description=_l("Lower-case letters, digits, - or _, e.g. plan."),
    )
    label_zh = StringField(
        _l("Name (Chinese)"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please enter the Chinese name.")),
            Length(max=services.LABEL_ZH_MAX, message=_l("At most %(max)d characters.")),
        ],
    )
    label_en = StringField(
        _l("Name (English)"),
        filters=[_strip],
        validators=[Optional(), Length(max=services.LABEL_EN_MAX, message=_l("At most %(max)d characters."))],
        description=_l("Shown to English readers; the Chinese name is used when it is empty."),
    )
    help_zh = TextAreaField(
        _l("Explanation for teams (Chinese)"),
        filters=[_strip],
        validators=[Optional(), Length(max=services.HELP_MAX, message=_l("At most %(max)d characters."))],
        render_kw={"rows": 2},
    )
    help_en = TextAreaField(
        _l("Explanation for teams (English)"),
        filters=[_strip],
        validators=[Optional(), Length(max=services.HELP_MAX, message=_l("At most %(max)d characters."))],
        render_kw={"rows": 2},
    )
    allowed_kinds = SelectMultipleField(
        _l("Accepted file types"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        invalid_choice_message=INVALID_CHOICE,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        description=_l("The type is read from the file's content, not from its name."),
    )
    max_mb = _whole_number(
        _l("Largest file (MB)"), low=1, high=SLOT_MAX_MB, description=_l("At most %(max)s MB.", max=SLOT_MAX_MB)
    )
    max_files = _whole_number(
        _l("Number of files"),
        low=1,
        high=services.MAX_FILES_LIMIT,
        description=_l("1 for a single document (a new upload replaces it); more for a set of attachments."),
    )
    required = BooleanField(_l("Required before handing in"))
    allow_link = BooleanField(_l("May be handed in as a link instead (e.g. a video)"))
    position = _whole_number(_l("Position in the list"), low=0, high=999, description=_l("Smaller numbers come first."))

    def to_settings(self) -> services.SlotSettings:
        return services.SlotSettings(
            code=self.code.data or "",
            label_zh=self.label_zh.data or "",
            label_en=self.label_en.data or "",
            help_zh=self.help_zh.data or "",
            help_en=self.help_en.data or "",
            allowed_kinds=list(self.allowed_kinds.data or []),
            max_bytes=(self.max_mb.data or 0) * MB,
            required=bool(self.required.data),
            max_files=self.max_files.data or 0,
            allow_link=bool(self.allow_link.data),
            position=self.position.data or 0,
        )


class OverviewFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter form

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Every status"))]
        + [SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()],
        validators=[Optional()],
        invalid_choice_message=INVALID_CHOICE,
    )
    track = SelectField(
        _l("Track"), coerce=optional_int, validators=[Optional()], invalid_choice_message=INVALID_CHOICE
    )
    institution = SelectField(
        _l("Institution"), coerce=optional_int, validators=[Optional()], invalid_choice_message=INVALID_CHOICE
    )


def _reason(label):
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please give a reason.")),
            Length(max=services.REASON_MAX, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"rows": 2, "maxlength": services.REASON_MAX},
    )


class ReopenForm(FlaskForm):
    reason = _reason(_l("Reason for reopening"))
    next = HiddenField()


class ExtensionForm(FlaskForm):
    until = _beijing_time(_l("Extended until (Beijing time)"), required_message=_l("Please enter a date and time."))
    reason = _reason(_l("Reason for the extension"))
    next = HiddenField()


class ActionForm(FlaskForm):
    """A POST button without fields (its CSRF token), returning to `next`."""

    next = HiddenField()
