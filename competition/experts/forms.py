"""Expert pool and mentoring forms: validation only. Choices from the database are set by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from competition.accounts.forms import _clean_name, email_field
from competition.accounts.views import SIDE_LABELS
from competition.core.i18n import LANGUAGE_NAMES
from competition.core.spreadsheets import XLSX_MIMETYPE
from competition.experts import services
from competition.experts.models import EXPERT_KIND_LABELS


def optional_int(value):
    return int(value) if value not in ("", None) else None


def _side_choices(empty_label) -> list[SelectChoice]:
    return [SelectChoice("", empty_label)] + [SelectChoice(side, label) for side, label in SIDE_LABELS.items()]


def _kind_choices(empty_label) -> list[SelectChoice]:
    return [SelectChoice("", empty_label)] + [
        SelectChoice(kind.value, label) for kind, label in EXPERT_KIND_LABELS.items()
    ]


class ExpertFields:
    real_name = StringField(
        _l("Name"),
        filters=[_clean_name],
        validators=[
            InputRequired(message=_l("Please enter the expert's name.")),
            Length(max=services.NAME_MAX, message=_l("A name has 1 to 50 characters.")),
        ],
    )
    title = StringField(
        _l("Title (optional)"),
        validators=[Length(max=services.TITLE_MAX, message=_l("At most 100 characters."))],
        description=_l("e.g. 教授 (professor), 合伙人 (partner)"),
    )
    institution = SelectField(
        _l("Institution of the alliance (when the employer is one of its universities)"),
        coerce=optional_int,
        validate_choice=False,  # checked by the view: an unknown one is refused with a message
        validators=[Optional()],
        description=_l("Conflicts of interest are read from it; the city and side default to its own."),
    )
    employer = StringField(
        _l("Employer"),
        validators=[Length(max=services.EMPLOYER_MAX, message=_l("At most 200 characters."))],
        description=_l("The university or company; may be left empty when an institution is chosen."),
    )
    city = StringField(
        _l("City"),
        validators=[Length(max=services.CITY_MAX, message=_l("At most 50 characters."))],
        description=_l("e.g. 成都; may be left empty when an institution is chosen."),
    )
    side = SelectField(
        _l("Side"),
        choices=_side_choices(_l("— please choose —")),
        validate_choice=False,  # checked by the service, with its message
        validators=[Optional()],
        description=_l("Sichuan or Chongqing: choose it unless an institution is chosen."),
    )
    kind = SelectField(
        _l("Kind"),
        choices=_kind_choices(_l("— please choose —")),
        validate_choice=False,  # checked by the service, with its message
        validators=[InputRequired(message=_l("Please choose the kind: academic, investor, entrepreneur or official."))],
    )
    expertise = StringField(
        _l("Expertise"),
        validators=[Length(max=1000, message=_l("At most 1000 characters."))],
        description=_l("Tags separated by commas or spaces: track codes and industries, e.g. idea, startup, 人工智能."),
    )
    mentors = BooleanField(_l("Mentors teams (teams may ask this expert for mentoring)"))
    bio = TextAreaField(
        _l("Short biography (optional)"),
        validators=[Length(max=services.BIO_MAX, message=_l("At most 2000 characters."))],
        render_kw={"rows": 3},
    )

    def profile(self, institution) -> services.ExpertProfile:
        return services.ExpertProfile(
            real_name=self.real_name.data or "",
            title=self.title.data or "",
            employer=self.employer.data or "",
            institution=institution,
            city=self.city.data or "",
            side=self.side.data or None,
            kind=self.kind.data or "",
            expertise=self.expertise.data or "",
            mentors=bool(self.mentors.data),
            bio=self.bio.data or "",
        )


class NewExpertForm(ExpertFields, FlaskForm):
    email = email_field()
    locale = SelectField(
        _l("Language of the e-mails for a new account"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        validators=[InputRequired(message=_l("Please choose a language."))],
    )
    invite = BooleanField(_l("Send the invitation e-mail now (a link to set a password)"), default=True)


class EditExpertForm(ExpertFields, FlaskForm):
    pass


class PoolFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    # unknown values in the address are ignored by the view, not reported
    q = StringField(_l("Search name, employer or e-mail"), validators=[Optional(), Length(max=100)])
    side = SelectField(_l("Side"), choices=_side_choices(_l("Both sides")), validate_choice=False)
    kind = SelectField(_l("Kind"), choices=_kind_choices(_l("All kinds")), validate_choice=False)
    tag = SelectField(_l("Expertise"), validate_choice=False)
    mentors = SelectField(
        _l("Mentors"),
        choices=[
            SelectChoice("", _l("Everyone")),
            SelectChoice("yes", _l("Mentors teams")),
            SelectChoice("no", _l("Does not mentor")),
        ],
        validate_choice=False,
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("Excel file (.xlsx, at most 5 MB, at most 5000 rows)"),
        validators=[FileRequired(message=_l("Please choose an .xlsx file."))],
        render_kw={"accept": ".xlsx," + XLSX_MIMETYPE},
    )
    invite = BooleanField(_l("Send each new expert the invitation e-mail (a link to set a password)"))


class MentorRequestForm(FlaskForm):
    expert = SelectField(
        _l("Expert"),
        coerce=optional_int,
        validate_choice=False,  # the view looks the expert up; the service checks them
        validators=[InputRequired(message=_l("Please choose an expert."))],
    )
    message = TextAreaField(
        _l("Message to the expert (optional)"),
        validators=[Length(max=services.MESSAGE_MAX, message=_l("A message has at most 1000 characters."))],
        render_kw={"rows": 3},
    )


class MentorTagForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter on the team's page

    mentor_tag = SelectField(_l("Expertise"), validate_choice=False)  # an unknown one is ignored


class AnswerForm(FlaskForm):
    decision = SelectField(
        _l("Answer"),
        choices=[SelectChoice("accept", _l("Accept")), SelectChoice("decline", _l("Decline"))],
        validate_choice=False,  # the view accepts "accept" and "decline" only, with its own message
        validators=[InputRequired(message=_l("Please choose Accept or Decline."))],
    )
