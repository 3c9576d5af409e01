"""Forms of the team's submission page: validation only (the character limit of the abstract is the
round's, counted by the service). Uploads, links and the buttons are plain forms checked by CSRF."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from competition.submissions.models import STAGE_LABELS
from competition.submissions.services import INDUSTRY_MAX, KEYWORDS_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DetailsForm(FlaskForm):
    abstract = TextAreaField(_l("Abstract"), render_kw={"rows": 8})
    keywords = StringField(
        _l("Keywords"),
        filters=[_strip],
        validators=[Optional(), Length(max=KEYWORDS_MAX, message=_l("At most %(max)s characters.", max=KEYWORDS_MAX))],
        description=_l("A few words, separated by spaces or commas."),
    )
    industry = StringField(
        _l("Industry"),
        filters=[_strip],
        validators=[Optional(), Length(max=INDUSTRY_MAX, message=_l("At most %(max)s characters.", max=INDUSTRY_MAX))],
    )
    stage = SelectField(_l("Stage of the venture"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage.choices = [SelectChoice("", "—")] + [
            SelectChoice(stage.value, str(label)) for stage, label in STAGE_LABELS.items()
        ]
