"""Competition forms."""

from __future__ import annotations

from datetime import UTC

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from competition.accounts.forms import email_field
from competition.accounts.models import ROLE_LABELS, Role
from competition.competitions.models import DEGREE_LABELS, STATE_LABELS, CompetitionState, DegreeLevel
from competition.competitions.services import GeneralInfo, Rules, Timeline
from competition.core.time import SHANGHAI


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


# --- competition set-up (organizers) --------------------------------------------------------------


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label, max_length: int, *, required_message=None, description=None):
    # DataRequired, not InputRequired: a name of only spaces is no name
    validators = [DataRequired(message=required_message)] if required_message else [Optional()]
    validators.append(Length(max=max_length, message=_l("At most %(max)d characters.", max=max_length)))
    return StringField(label, filters=[_strip], validators=validators, description=description)


def _long_text(label, max_length: int, *, description=None, rows: int = 6):
    return TextAreaField(
        label,
        filters=[_strip],
        validators=[Length(max=max_length, message=_l("At most %(max)d characters.", max=max_length))],
        description=description,
        render_kw={"rows": rows},
    )


def _count(label, *, low: int, high: int, message, description=None):
    return IntegerField(
        label,
        validators=[InputRequired(message=message), NumberRange(min=low, max=high, message=message)],
        invalid_value_message=_l("Please enter a whole number."),
        description=description,
        render_kw={"inputmode": "numeric", "min": low, "max": high},
    )


def _optional_year(label):
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(min=1990, max=2100, message=_l("Please enter a year between 1990 and 2100.")),
        ],
        invalid_value_message=_l("Please enter a year, e.g. 2027."),
        description=_l("Optional."),
        render_kw={"inputmode": "numeric"},
    )


MARKDOWN_HELP = _l("Markdown: **bold**, *italic*, lists, [links](https://example.org). HTML is not allowed.")


class GeneralForm(FlaskForm):
    name_zh = _text(_l("Name (Chinese)"), 200, required_message=_l("Please enter the Chinese name."))
    name_en = _text(_l("Name (English)"), 300, required_message=_l("Please enter the English name."))
    year = IntegerField(
        _l("Year"),
        validators=[
            InputRequired(message=_l("Please enter the year.")),
            NumberRange(min=2000, max=2100, message=_l("Please enter a year between 2000 and 2100.")),
        ],
        invalid_value_message=_l("Please enter a year, e.g. 2026."),
        render_kw={"inputmode": "numeric"},
    )
    description_zh = _long_text(_l("Description (Chinese)"), 20000, description=MARKDOWN_HELP, rows=8)
    description_en = _long_text(_l("Description (English)"), 20000, description=MARKDOWN_HELP, rows=8)
    host_zh = _text(_l("Host organization (Chinese)"), 500)
    host_en = _text(_l("Host organization (English)"), 500)
    co_hosts_zh = _long_text(_l("Co-hosts (Chinese)"), 5000, description=_l("One organization per line."), rows=4)
    co_hosts_en = _long_text(_l("Co-hosts (English)"), 5000, description=_l("One organization per line."), rows=4)

    def to_info(self) -> GeneralInfo:
        return GeneralInfo(
            name_zh=self.name_zh.data,
            name_en=self.name_en.data,
            year=self.year.data,
            description_zh=self.description_zh.data or "",
            description_en=self.description_en.data or "",
            host_zh=self.host_zh.data or "",
            host_en=self.host_en.data or "",
            co_hosts_zh=self.co_hosts_zh.data or "",
            co_hosts_en=self.co_hosts_en.data or "",
        )


class CheckboxesField(SelectMultipleField):
    """Several choices shown as check boxes (the template draws them)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RulesForm(FlaskForm):
    min_team_size = _count(
        _l("Smallest team (people, leader included)"),
        low=1,
        high=100,
        message=_l("Please enter a number of people between 1 and 100."),
    )
    max_team_size = _count(
        _l("Largest team (people, leader included)"),
        low=1,
        high=100,
        message=_l("Please enter a number of people between 1 and 100."),
    )
    max_advisors = _count(
        _l("Advisors per team at most"), low=0, high=20, message=_l("Please enter a number between 0 and 20.")
    )
    allow_cross_institution = BooleanField(_l("Teams may have members from several institutions"))
    one_team_per_leader = BooleanField(_l("A person leads at most one team"))
    max_teams_per_student = _count(
        _l("Teams a student may join at most"), low=1, high=20, message=_l("Please enter a number between 1 and 20.")
    )
    eligible_degrees = CheckboxesField(
        _l("Eligible degree levels"),
        choices=[SelectChoice(level.value, label) for level, label in DEGREE_LABELS.items()],
        validate_choice=False,  # checked below, with our own message
    )
    min_graduation_year = _optional_year(_l("Graduating in or after"))
    max_graduation_year = _optional_year(_l("Graduating in or before"))
    uploads_retention_days = IntegerField(
        _l("Delete uploaded files this many days after archiving"),
        validators=[
            Optional(),
            NumberRange(min=0, max=36500, message=_l("Please enter a number of days between 0 and 36500.")),
        ],
        invalid_value_message=_l("Please enter a whole number."),
        description=_l(
            "Business plans, slides, videos and appeal attachments are deleted from the server this many days "
            "after the competition is archived; names, sizes and checksums stay, certificates are never "
            "deleted. Leave empty to keep the files."
        ),
        render_kw={"inputmode": "numeric", "min": 0},
    )
    requires_national_id = BooleanField(
        _l("Members must enter their national ID number"),
        description=_l(
            "Only when the competition's rules truly require it (e.g. insurance for an on-site final). "
            "The number is shown and exported masked only (first 4 and last 4 characters)."
        ),
    )

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        if obj is not None and not self.is_submitted():
            # no stored level means every level: show them all ticked
            self.eligible_degrees.data = [level.value for level in obj.degree_levels]

    def validate_eligible_degrees(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Please tick at least one degree level."))
        if set(field.data) - {level.value for level in DegreeLevel}:
            raise ValidationError(_l("Please tick only the degree levels offered."))

    def to_rules(self) -> Rules:
        chosen = sorted(set(self.eligible_degrees.data or []))
        every = sorted(level.value for level in DegreeLevel)
        return Rules(
            min_team_size=self.min_team_size.data,
            max_team_size=self.max_team_size.data,
            max_advisors=self.max_advisors.data,
            allow_cross_institution=self.allow_cross_institution.data,
            one_team_per_leader=self.one_team_per_leader.data,
            max_teams_per_student=self.max_teams_per_student.data,
            eligible_degrees=[] if chosen == every else chosen,  # empty: every level
            min_graduation_year=self.min_graduation_year.data,
            max_graduation_year=self.max_graduation_year.data,
            uploads_retention_days=self.uploads_retention_days.data,
            requires_national_id=bool(self.requires_national_id.data),
        )


def _moment(label):
    """A wall-clock time in Asia/Shanghai; stored values are shown back in Shanghai time too."""
    return DateTimeLocalField(
        label,
        validators=[Optional()],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        tz=SHANGHAI,
        invalid_value_message=_l("Please enter a date and time, e.g. 2026-03-01 09:00."),
        description=_l("Beijing time (UTC+8). Optional."),
    )


class TimelineForm(FlaskForm):
    registration_opens_at = _moment(_l("Registration opens"))
    registration_closes_at = _moment(_l("Registration closes"))
    submission_deadline = _moment(_l("Submission deadline"))
    publication_at = _moment(_l("Results published"))

    def to_timeline(self) -> Timeline:
        def utc(value):
            return value.astimezone(UTC) if value is not None else None

        return Timeline(
            registration_opens_at=utc(self.registration_opens_at.data),
            registration_closes_at=utc(self.registration_closes_at.data),
            submission_deadline=utc(self.submission_deadline.data),
            publication_at=utc(self.publication_at.data),
        )


class LogoForm(FlaskForm):
    logo = FileField(
        _l("Logo"),
        validators=[FileRequired(message=_l("Please choose an image file."))],
        description=_l("A PNG, JPEG or WebP image of at most 2 MB."),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )


class TrackForm(FlaskForm):
    code = _text(
        _l("Short code"),
        32,
        required_message=_l("Please enter a short code."),
        description=_l("Lower-case letters, digits, - or _, e.g. idea."),
    )
    name_zh = _text(_l("Name (Chinese)"), 100, required_message=_l("Please enter the Chinese name."))
    name_en = _text(_l("Name (English)"), 200, required_message=_l("Please enter the English name."))
    position = IntegerField(
        _l("Position in lists"),
        default=0,
        validators=[
            InputRequired(message=_l("Please enter a position.")),
            NumberRange(min=0, max=999, message=_l("Please enter a number between 0 and 999.")),
        ],
        invalid_value_message=_l("Please enter a whole number."),
        description=_l("Smaller numbers come first."),
        render_kw={"inputmode": "numeric"},
    )


class StateForm(FlaskForm):
    target = SelectField(
        _l("New state"),
        choices=[SelectChoice(state.value, label) for state, label in STATE_LABELS.items()],
        validate_choice=False,  # checked below, with our own message
    )

    def validate_target(self, field) -> None:
        if field.data not in {state.value for state in CompetitionState}:
            raise ValidationError(_l("Please choose one of the offered actions."))

    def target_state(self) -> CompetitionState:
        return CompetitionState(self.target.data)
