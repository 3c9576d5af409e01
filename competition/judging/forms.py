"""Forms of the judging pages: round judges, the assignment settings, manual edits, conflicts.

Every form that changes a round's assignments carries the round's `assignment_version` as it was
when the page was shown (`version`), so a change made meanwhile by someone else is refused.
Choices that depend on the round are filled in by the view.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from competition.accounts.forms import email_field
from competition.judging.conflicts import REASON_MAX
from competition.judging.models import CONFLICT_SOURCE_LABELS
from competition.judging.services import LOAD_LIMIT
from competition.rounds.forms import INVALID_CHOICE, optional_int

SEED_MAX = 2**31 - 1


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _number(label, *, low: int, high: int, required: bool, description=None):
    message = _l("Please enter a number between %(min)s and %(max)s.", min=low, max=high)
    validators = [InputRequired(message=message)] if required else [Optional()]
    return IntegerField(
        label,
        validators=[*validators, NumberRange(min=low, max=high, message=message)],
        invalid_value_message=_l("Please enter a whole number."),
        description=description,
        render_kw={"inputmode": "numeric", "min": low, "max": high},
    )


def _reason(label, *, required: bool = True, description=None):
    validators = [DataRequired(message=_l("Please give a reason."))] if required else [Optional()]
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[*validators, Length(max=REASON_MAX, message=_l("At most %(max)d characters."))],
        description=description,
        render_kw={"rows": 2, "maxlength": REASON_MAX},
    )


def _version():
    return IntegerField(
        validators=[InputRequired(message=_l("This page is out of date. Reload it and try again."))],
        invalid_value_message=_l("This page is out of date. Reload it and try again."),
        widget=widgets.HiddenInput(),
    )


def _tracks_field():
    return SelectMultipleField(
        _l("Tracks"),
        coerce=int,
        invalid_choice_message=INVALID_CHOICE,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        description=_l("None ticked: every track of the round."),
    )


def _load(label, *, low: int, description):
    return _number(label, low=low, high=LOAD_LIMIT, required=False, description=description)


# --- round judges ---------------------------------------------------------------------------------


class RoundJudgeEditForm(FlaskForm):
    tracks = _tracks_field()
    min_load = _load(_l("Smallest load"), low=0, description=_l("Leave empty for the round's setting."))
    max_load = _load(_l("Largest load"), low=1, description=_l("Leave empty for the round's setting."))


class RoundJudgeForm(RoundJudgeEditForm):
    email = email_field(_l("E-mail of the judge"))


class VersionForm(FlaskForm):
    """A POST button acting on the round's assignments: only the version the page showed."""

    version = _version()


# --- the assignment -------------------------------------------------------------------------------


def _weight(label, description):
    return _number(label, low=0, high=10, required=True, description=description)


class SettingsForm(FlaskForm):
    judges_per_submission = _number(
        _l("Judges per submission"), low=1, high=15, required=True, description=_l("How many judges read each project.")
    )
    min_load = _number(
        _l("Smallest number of submissions per judge"),
        low=0,
        high=LOAD_LIMIT,
        required=False,
        description=_l("Leave both loads empty to share the work as evenly as the rules allow."),
    )
    max_load = _number(_l("Largest number of submissions per judge"), low=1, high=LOAD_LIMIT, required=False)
    weight_expertise = _weight(
        _l("Expertise"), _l("Judges whose expertise fits the project's track, industry or keywords (0 = ignore, 10 = very important).")
    )  # fmt: skip
    weight_side = _weight(_l("Both sides on each panel"), _l("Judges from Sichuan and from Chongqing on every panel."))
    weight_industry = _weight(
        _l("Investor or entrepreneur on each panel"), _l("At least one judge from industry on every panel.")
    )
    weight_spread = _weight(
        _l("Spread"), _l("Vary who sits together, so that the same judges do not always judge as a group.")
    )
    seed = _number(
        _l("Seed"),
        low=0,
        high=SEED_MAX,
        required=True,
        description=_l("Another number gives another proposal of the same quality."),
    )
    keep_existing = BooleanField(_l("Keep the current assignments where possible (change only what must change)"))


class AddJudgeForm(FlaskForm):
    version = _version()
    judge = SelectField(
        _l("Judge"),
        coerce=optional_int,
        validators=[InputRequired(message=_l("Please choose a judge."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    override_reason = _reason(
        _l("Reason for placing this judge despite the conflict"),
        required=False,
        description=_l("Recorded in the audit log."),
    )


class RemoveJudgeForm(FlaskForm):
    version = _version()
    reason = _reason(_l("Reason for removing this judge"), required=False)


# --- conflicts ------------------------------------------------------------------------------------


class DeclareForm(FlaskForm):
    """A judge declares a conflict of interest with the team of an assignment."""

    reason = _reason(
        _l("Why you should not judge this project"),
        description=_l("For example: you know the team, you advised it, or you have a business or family tie."),
    )


class OrganizerDeclareForm(FlaskForm):
    judge = SelectField(
        _l("Judge"),
        coerce=optional_int,
        validators=[InputRequired(message=_l("Please choose a judge."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    team = SelectField(
        _l("Team"),
        coerce=optional_int,
        validators=[InputRequired(message=_l("Please choose a team."))],
        invalid_choice_message=INVALID_CHOICE,
    )
    reason = _reason(_l("Reason"))


class DismissForm(FlaskForm):
    reason = _reason(_l("Why this is not a conflict"))


class ConflictFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter form

    source = SelectField(
        _l("Source"),
        choices=[SelectChoice("", _l("Every source"))]
        + [SelectChoice(source.value, label) for source, label in CONFLICT_SOURCE_LABELS.items()],
        validators=[Optional()],
        invalid_choice_message=INVALID_CHOICE,
    )
    judge = SelectField(
        _l("Judge"), coerce=optional_int, validators=[Optional()], invalid_choice_message=INVALID_CHOICE
    )
    team = StringField(
        _l("Team or project"),
        filters=[_strip],
        validators=[Optional(), Length(max=60, message=_l("At most %(max)d characters."))],
    )
    state = SelectField(
        _l("State"),
        choices=[
            SelectChoice("", _l("In force and dismissed")),
            SelectChoice("active", _l("In force")),
            SelectChoice("dismissed", _l("Dismissed")),
        ],
        validators=[Optional()],
        invalid_choice_message=INVALID_CHOICE,
    )
