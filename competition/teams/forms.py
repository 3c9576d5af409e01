"""Team forms: validation only. Choices from the database are set by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import TextInput

from competition.accounts.forms import _clean_name, _phone_valid, email_field
from competition.competitions.models import DEGREE_LABELS
from competition.core.errors import DomainError
from competition.teams.models import TEAM_STATE_LABELS
from competition.teams.national_id import normalize_national_id
from competition.teams.rules import PROJECT_TITLE_MAX, TEAM_NAME_MAX


def optional_int(value):
    return int(value) if value not in ("", None) else None


def _year(label):
    return IntegerField(
        label,
        validators=[
            InputRequired(message=_l("Please enter a year.")),
            NumberRange(min=1990, max=2100, message=_l("Please enter a year between 1990 and 2100.")),
        ],
        render_kw={"inputmode": "numeric"},
    )


class NeverFilledInput(TextInput):
    """A text box that never writes its value back into the page (the full national ID number is
    never sent to a browser, not even after a refused form)."""

    def __call__(self, field, **kwargs):
        kwargs["value"] = ""
        return super().__call__(field, **kwargs)


def _national_id_valid(form, field) -> None:
    try:
        field.data = normalize_national_id(field.data)
    except DomainError as error:
        raise ValidationError(str(error.message)) from error


class MemberProfileFields:
    """What the national rules ask of every student in a team."""

    real_name = StringField(
        _l("Real name"),
        filters=[_clean_name],
        validators=[
            InputRequired(message=_l("Please enter your real name.")),
            Length(min=1, max=50, message=_l("A name has 1 to 50 characters.")),
        ],
    )
    student_number = StringField(
        _l("Student number"),
        filters=[lambda value: value.strip() if value else value],
        validators=[
            InputRequired(message=_l("Please enter the student number.")),
            Length(max=32, message=_l("A student number has at most 32 characters.")),
        ],
    )
    member_institution = SelectField(
        _l("Institution where you study"),
        coerce=int,
        validators=[InputRequired(message=_l("Please choose your institution."))],
    )
    department = StringField(
        _l("School or department"),
        filters=[_clean_name],
        validators=[
            InputRequired(message=_l("Please enter the school or department.")),
            Length(max=100, message=_l("At most 100 characters.")),
        ],
    )
    major = StringField(
        _l("Major"),
        filters=[_clean_name],
        validators=[
            InputRequired(message=_l("Please enter the major.")),
            Length(max=100, message=_l("At most 100 characters.")),
        ],
    )
    degree_level = SelectField(
        _l("Degree level"),
        choices=[SelectChoice(level.value, label) for level, label in DEGREE_LABELS.items()],
        validators=[InputRequired(message=_l("Please choose a degree level."))],
    )
    enrollment_year = _year(_l("Year of enrollment"))
    graduation_year = _year(_l("Expected year of graduation"))
    phone = StringField(
        _l("Mobile phone (optional)"),
        validators=[Optional(), Length(max=32, message=_l("A phone number has at most 32 characters.")), _phone_valid],
        render_kw={"inputmode": "tel"},
    )
    #: shown only when the competition requires it: the views delete the field otherwise
    national_id = StringField(
        _l("National ID number"),
        validators=[Optional(), _national_id_valid],
        widget=NeverFilledInput(),
        description=_l(
            "This competition's rules require it (e.g. for insurance). Mainland resident ID, 18 characters. "
            "Pages and exports show it masked: only the first 4 and last 4 characters."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": 24},
    )
    national_id_consent = BooleanField(
        _l("I agree that my national ID number is collected and used for this competition as its rules require "
           "(separate consent for sensitive personal information; it can be withdrawn by asking for deletion).")
    )  # fmt: skip


class TeamFields:
    name = StringField(
        _l("Team name"),
        validators=[
            InputRequired(message=_l("Please enter the team name.")),
            Length(max=TEAM_NAME_MAX, message=_l("A team name has at most 60 characters.")),
        ],
    )
    project_title = StringField(
        _l("Project title"),
        validators=[
            InputRequired(message=_l("Please enter the project title.")),
            Length(max=PROJECT_TITLE_MAX, message=_l("A project title has at most 100 characters.")),
        ],
    )
    track = SelectField(_l("Track"), coerce=int, validators=[InputRequired(message=_l("Please choose a track."))])
    institution = SelectField(
        _l("Institution the team enters for"),
        coerce=int,
        validators=[InputRequired(message=_l("Please choose the institution."))],
    )


class CreateTeamForm(TeamFields, MemberProfileFields, FlaskForm):
    pass


class EditTeamForm(TeamFields, FlaskForm):
    pass


class MemberProfileForm(MemberProfileFields, FlaskForm):
    pass


class InviteForm(FlaskForm):
    email = email_field(_l("E-mail of the person to invite"))


class AdvisorForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[_clean_name],
        validators=[
            InputRequired(message=_l("Please enter the advisor's name.")),
            Length(max=50, message=_l("At most 50 characters.")),
        ],
    )
    title = StringField(
        _l("Title (e.g. associate professor)"),
        filters=[_clean_name],
        validators=[Optional(), Length(max=50, message=_l("At most 50 characters."))],
    )
    institution = SelectField(_l("Institution"), coerce=optional_int)
    email = StringField(
        _l("E-mail (optional)"),
        validators=[Optional(), Length(max=254, message=_l("An e-mail address has at most 254 characters."))],
    )
    phone = StringField(
        _l("Phone (optional)"),
        validators=[Optional(), Length(max=32, message=_l("A phone number has at most 32 characters.")), _phone_valid],
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=1000, message=_l("A reason has at most 1000 characters."))],
        render_kw={"rows": 3},
    )


class ApproveForm(FlaskForm):
    confirm = BooleanField(_l("I have checked that every member is a registered student of the institution."))


class TeamFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField(_l("Search team, project or member"), validators=[Optional(), Length(max=100)])
    track = SelectField(_l("Track"), coerce=optional_int, validators=[Optional()])
    institution = SelectField(_l("Institution"), coerce=optional_int, validators=[Optional()])
    side = SelectField(_l("Side"), validators=[Optional()])
    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("All states"))]
        + [SelectChoice(state.value, label) for state, label in TEAM_STATE_LABELS.items()],
        validators=[Optional()],
    )
