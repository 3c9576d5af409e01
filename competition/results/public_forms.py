"""Forms of the team's appeal page and the organizers' answers: validation of the shape only; the
rules (notice period, length counted as a person counts, attachment type) are the service's."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from competition.results.appeals import ANSWER_MAX, TEXT_MAX, TEXT_MIN


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AppealForm(FlaskForm):
    text = TextAreaField(
        _l("Your appeal"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please explain your appeal.")),
            # a generous bound only: the service counts characters as a person does (CR LF is one)
            Length(max=TEXT_MAX * 2, message=_l("At most %(max)s characters.", max=TEXT_MAX)),
        ],
        description=_l("%(min)s to %(max)s characters: which result you question and why.", min=TEXT_MIN, max=TEXT_MAX),
        render_kw={"rows": 6, "maxlength": TEXT_MAX},
    )
    attachment = FileField(
        _l("Attachment (optional)"),
        description=_l("A PDF, PNG or JPEG file of at most 10 MB."),
        render_kw={"accept": ".pdf,application/pdf,.png,image/png,.jpg,.jpeg,image/jpeg"},
    )


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        _l("Answer"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please write an answer.")),
            Length(max=ANSWER_MAX * 2, message=_l("At most %(max)s characters.", max=ANSWER_MAX)),
        ],
        description=_l("The team leader receives the answer by e-mail; the team sees it on its appeal page."),
        render_kw={"rows": 4, "maxlength": ANSWER_MAX},
    )
