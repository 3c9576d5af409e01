"""The institution form of the admin area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from competition.institutions.models import Side
from competition.institutions.services import CITY_EN_MAX, CITY_ZH_MAX, NAME_EN_MAX, NAME_ZH_MAX

SIDE_CHOICE_LABELS = {Side.SICHUAN: _l("Sichuan"), Side.CHONGQING: _l("Chongqing")}


def _text(label, maximum: int, missing, **kwargs) -> StringField:
    return StringField(
        label,
        validators=[
            InputRequired(message=missing),
            Length(max=maximum, message=_l("At most %(max)d characters.")),
        ],
        **kwargs,
    )


class InstitutionForm(FlaskForm):
    code = _text(
        _l("Code"),
        32,
        _l("Please enter the code."),
        description=_l("2 to 32 characters: letters A–Z, digits 0–9 and hyphens, e.g. SCU."),
    )
    name_zh = _text(_l("Name (Chinese)"), NAME_ZH_MAX, _l("Please enter the Chinese name."))
    name_en = _text(_l("Name (English)"), NAME_EN_MAX, _l("Please enter the English name."))
    city_zh = _text(_l("City (Chinese)"), CITY_ZH_MAX, _l("Please enter the city in Chinese."))
    city_en = _text(_l("City (English)"), CITY_EN_MAX, _l("Please enter the city in English."))
    side = SelectField(
        _l("Side"),
        # no default: the side is chosen, never guessed from the name or the city
        choices=[SelectChoice("", _l("Please choose…"))]
        + [SelectChoice(side.value, label) for side, label in SIDE_CHOICE_LABELS.items()],
        validators=[InputRequired(message=_l("Please choose the side: Sichuan or Chongqing."))],
        invalid_choice_message=_l("Please choose the side: Sichuan or Chongqing."),
        description=_l("Sichuan or Chongqing, by where the campus is: 四川外国语大学 is in Chongqing."),
    )


class SideFilterForm(FlaskForm):
    class Meta:
        csrf = False

    side = SelectField(
        _l("Side"),
        choices=[SelectChoice("", _l("Both sides"))]
        + [SelectChoice(side.value, label) for side, label in SIDE_CHOICE_LABELS.items()],
        invalid_choice_message=_l("Please choose one of the options."),
    )
