"""The round form; choices that depend on the competition are filled in by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from competition.core.time import SHANGHAI
from competition.rounds.models import ENTRY_LABELS, LEVEL_LABELS, QuotaKind
from competition.rounds.services import NAME_EN_MAX, NAME_ZH_MAX, POSITION_MAX

QUOTA_LABELS = {
    QuotaKind.COUNT: _l("A number of teams per institution"),
    QuotaKind.PERCENT: _l("A percentage of each institution's teams in this round, rounded up"),
}
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
INVALID_CHOICE = _l("Please choose one of the options.")


def optional_int(value):
    return int(value) if value not in ("", None) else None


def _judging_field(label):
    # The browser sends a wall-clock time without a zone; it is Beijing time.
    return DateTimeLocalField(
        label,
        validators=[Optional()],
        format=DATETIME_FORMATS,
        tz=SHANGHAI,
        invalid_value_message=_l("Please enter a date and time."),
        description=_l("Beijing time (UTC+8). Leave empty if not decided yet."),
    )


class RoundForm(FlaskForm):
    name_zh = StringField(
        _l("Name (Chinese)"),
        validators=[
            InputRequired(message=_l("Please enter the Chinese name.")),
            Length(max=NAME_ZH_MAX, message=_l("At most %(max)d characters.")),
        ],
    )
    name_en = StringField(
        _l("Name (English)"),
        validators=[Optional(), Length(max=NAME_EN_MAX, message=_l("At most %(max)d characters."))],
        description=_l("Shown to English readers; the Chinese name is used when it is empty."),
    )
    position = IntegerField(
        _l("Order"),
        validators=[
            InputRequired(message=_l("Please enter the order of this round.")),
            NumberRange(min=1, max=POSITION_MAX, message=_l("Please enter a number between %(min)s and %(max)s.")),
        ],
        invalid_value_message=_l("Please enter a whole number."),
        description=_l("Rounds are held in this order: 1 first."),
    )
    level = SelectField(
        _l("Level"),
        choices=[SelectChoice(level.value, label) for level, label in LEVEL_LABELS.items()],
        validators=[InputRequired(message=_l("Please choose the level."))],
        invalid_choice_message=INVALID_CHOICE,
        description=_l("A school round is run by each institution's organizer for their own teams."),
    )
    entry_rule = SelectField(
        _l("Which teams take part"),
        choices=[SelectChoice(rule.value, label) for rule, label in ENTRY_LABELS.items()],
        validators=[InputRequired(message=_l("Please choose how teams enter."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    tracks = SelectMultipleField(
        _l("Tracks"),
        coerce=int,
        invalid_choice_message=INVALID_CHOICE,
        invalid_value_message=INVALID_CHOICE,
        description=_l("None selected: every track."),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    next_round = SelectField(
        _l("Teams are recommended to"),
        coerce=optional_int,
        invalid_choice_message=INVALID_CHOICE,
        invalid_value_message=INVALID_CHOICE,
        description=_l("For a school round: the later round its institutions recommend teams to."),
    )
    quota_kind = SelectField(
        _l("Recommendation quota"),
        choices=[SelectChoice("", _l("No quota"))]
        + [SelectChoice(kind.value, label) for kind, label in QUOTA_LABELS.items()],
        invalid_choice_message=INVALID_CHOICE,
        description=_l("Only for school rounds that recommend teams to a later round."),
    )
    quota_value = IntegerField(
        _l("Quota (teams, or percent)"),
        validators=[Optional(), NumberRange(min=0, message=_l("Please enter a number of at least %(min)s."))],
        invalid_value_message=_l("Please enter a whole number."),
    )
    judging_opens_at = _judging_field(_l("Judging opens"))
    judging_closes_at = _judging_field(_l("Judging closes"))
