"""Forms of the organizers' results pages: the round's result settings, award overrides,
repechage, publication.

Choices that depend on the round (tie-breaks by criterion, teams for repechage) are filled in by the
view. The service (ResultSettings.check) has the last word; its refusals are shown on the field
they name.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from competition.results.models import AWARD_LABELS
from competition.results.services import AWARD_CODES
from competition.rounds.forms import INVALID_CHOICE

REASON_MAX = 1000
TIE_BREAK_SLOTS = 4
#: how the award tiers of each mode are entered: field prefix, the meaning of the number
AWARD_TIER_MODES = ("proportion", "ratio", "rank", "score")

METHOD_CHOICES = [
    SelectChoice("mean", _l("Mean")),
    SelectChoice("trimmed", _l("Trimmed mean")),
    SelectChoice("median", _l("Median")),
    SelectChoice("zscore", _l("Z-score normalization")),
]
AWARD_MODE_CHOICES = [
    SelectChoice("proportion", _l("A share of each track's teams per award (preset 10 / 20 / 30 %)")),
    SelectChoice("ratio", _l("The national split: X percent of the teams awarded, gold : silver : bronze ≈ 1 : 2 : 6")),
    SelectChoice("rank", _l("Rank cut-offs")),
    SelectChoice("score", _l("Score thresholds")),
    SelectChoice("none", _l("No awards in this round")),
]
ROUNDING_CHOICES = [
    SelectChoice("half_up", _l("Half up (1.5 → 2, 1.4 → 1)")),
    SelectChoice("down", _l("Down (1.9 → 1)")),
    SelectChoice("up", _l("Up (1.1 → 2)")),
]
ADVANCEMENT_CHOICES = [
    SelectChoice("none", _l("No automatic advancement")),
    SelectChoice("top_n", _l("The best N teams of each track")),
    SelectChoice("top_percent", _l("The best X percent of each track")),
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _integer(label, *, low: int, high: int, required: bool = True, description=None):
    message = _l("Please enter a number between %(min)s and %(max)s.", min=low, max=high)
    return IntegerField(
        label,
        validators=[InputRequired(message=message) if required else Optional(), NumberRange(low, high, message)],
        invalid_value_message=_l("Please enter a whole number."),
        description=description,
        render_kw={"inputmode": "numeric", "min": low, "max": high},
    )


def _decimal(label, *, low: float, high: float, required: bool = False, description=None):
    message = _l("Please enter a number between %(min)s and %(max)s.", min=low, max=high)
    return FloatField(
        label,
        validators=[InputRequired(message=message) if required else Optional(), NumberRange(low, high, message)],
        invalid_value_message=_l("Please enter a number such as 20 or 7.5."),
        description=description,
        render_kw={"inputmode": "decimal", "min": low, "max": high, "step": "any"},
    )


def _reason(label, *, required: bool = True):
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please give a reason.")) if required else Optional(),
            Length(max=REASON_MAX, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"rows": 2, "maxlength": REASON_MAX},
    )


class SettingsForm(FlaskForm):
    method = RadioField(_l("How the judges' totals are combined"), choices=METHOD_CHOICES,
                        invalid_choice_message=INVALID_CHOICE)  # fmt: skip
    trim_min_judges = _integer(
        _l("Trim from this many judges on (N)"),
        low=3,
        high=50,
        description=_l("With at least N judges, the highest and the lowest total are dropped. Usually 5."),
    )
    max_range = _decimal(
        _l("Needs re-review when the totals of one submission lie further apart than (points)"),
        low=0,
        high=10000,
        description=_l("The highest total minus the lowest. Empty: not checked."),
    )
    max_sd = _decimal(
        _l("… or when their standard deviation is above (points)"),
        low=0,
        high=10000,
        description=_l("Empty: not checked."),
    )
    judge_deviation = _decimal(
        _l("Flag a judge whose totals sit on average this many panel standard deviations from the others"),
        low=0.1,
        high=10,
        required=True,
        description=_l("1.5 is a good start: a judge far harsher or far more lenient than their panels stands out."),
    )
    award_mode = RadioField(_l("How awards are given"), choices=AWARD_MODE_CHOICES,
                            invalid_choice_message=INVALID_CHOICE)  # fmt: skip
    awarded_percent = _decimal(_l("Share of each track's teams awarded (%)"), low=0.01, high=100)
    rounding = RadioField(_l("Rounding of shares into places"), choices=ROUNDING_CHOICES,
                          invalid_choice_message=INVALID_CHOICE)  # fmt: skip
    advancement_mode = RadioField(_l("Who advances to the next round"), choices=ADVANCEMENT_CHOICES,
                                  invalid_choice_message=INVALID_CHOICE)  # fmt: skip
    advancement_value = _decimal(_l("N teams, or X %"), low=0, high=100000)
    notice_days = _integer(
        _l("Public notice (days)"),
        low=0,
        high=30,
        description=_l("The provisional results are shown publicly this long before the final publication; teams may appeal meanwhile. 0: no notice, publish directly."),
    )  # fmt: skip
    show_scores = BooleanField(_l("Show the scores on the public results page (otherwise ranks and awards only)"))

    def tie_breaks(self) -> list:
        return [getattr(self, f"tie_break_{slot}") for slot in range(1, TIE_BREAK_SLOTS + 1)]

    def tiers(self, mode: str) -> list:
        return [getattr(self, f"{mode}_{code}") for code in AWARD_CODES]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        chosen = set()
        for field in self.tie_breaks():
            if field.data and field.data in chosen:
                field.errors = [*field.errors, _l("This tie-break is already in the chain.")]
                valid = False
            chosen.add(field.data)
        mode = self.award_mode.data
        tiers = self.tiers(mode) if mode in AWARD_TIER_MODES else []
        if tiers and all(field.data is None and not field.errors for field in tiers):
            self.award_mode.errors = [*self.award_mode.errors, _l("Please give at least one award tier.")]
            valid = False
        if mode == "ratio" and self.awarded_percent.data is None and not self.awarded_percent.errors:
            self.awarded_percent.errors = [*self.awarded_percent.errors, _l("Please enter the share awarded.")]
            valid = False
        if self.advancement_mode.data in ("top_n", "top_percent") and self.advancement_value.data is None:
            self.advancement_value.errors = [*self.advancement_value.errors, _l("Please enter how many advance.")]
            valid = False
        return valid


def _add_tier_fields() -> None:
    """proportion_gold … score_honourable: the number each award gets in each mode."""
    for code in AWARD_CODES:
        label = AWARD_LABELS[code]
        setattr(SettingsForm, f"proportion_{code}", _decimal(label, low=0, high=100))
        setattr(SettingsForm, f"ratio_{code}", _integer(label, low=1, high=100, required=False))
        setattr(SettingsForm, f"rank_{code}", _integer(label, low=1, high=100000, required=False))
        setattr(SettingsForm, f"score_{code}", _decimal(label, low=0, high=100000))
    for slot in range(1, TIE_BREAK_SLOTS + 1):
        setattr(
            SettingsForm,
            f"tie_break_{slot}",
            SelectField(_l("Tie-break %(number)s", number=slot), invalid_choice_message=INVALID_CHOICE),
        )


_add_tier_fields()


class OverrideForm(FlaskForm):
    award = SelectField(_l("Award"), invalid_choice_message=INVALID_CHOICE)
    reason = _reason(_l("Reason"))


class RepechageForm(FlaskForm):
    team = SelectField(_l("Team"), coerce=int, invalid_choice_message=INVALID_CHOICE)
    reason = _reason(_l("Reason"))


class PublishForm(FlaskForm):
    """Publishing: the reason is required when results are published already ("publish again")."""

    reason = _reason(_l("Reason for publishing again"), required=False)


class ActionForm(FlaskForm):
    """A POST button (apply the advancement, start the notice, remove an override): only the CSRF token."""
