"""Forms of announcements and bulk e-mails (validation only; the services check again)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from competition.communications import services
from competition.communications.segments import AUDIENCE_LABELS, Audience


def optional_int(value):
    if value in ("", None):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _max(limit: int):
    return Length(max=limit, message=_l("At most %(max)s characters.", max=limit))


MARKDOWN_HELP = _l("Markdown: **bold**, *italic*, lists, [links](https://…); HTML is not allowed.")


class AnnouncementForm(FlaskForm):
    title_zh = StringField(
        _l("Title (Chinese)"),
        validators=[InputRequired(message=_l("Please enter the Chinese title.")), _max(services.TITLE_MAX)],
    )
    title_en = StringField(
        _l("Title (English)"),
        validators=[Optional(), _max(services.TITLE_EN_MAX)],
        description=_l("Optional; English readers see the Chinese title without it."),
    )
    body_zh = TextAreaField(
        _l("Text (Chinese)"),
        validators=[InputRequired(message=_l("Please write the Chinese text.")), _max(services.BODY_MAX)],
        description=MARKDOWN_HELP,
        render_kw={"rows": 8},
    )
    body_en = TextAreaField(
        _l("Text (English)"),
        validators=[Optional(), _max(services.BODY_MAX)],
        description=_l("Optional; English readers see the Chinese text without it."),
        render_kw={"rows": 8},
    )
    pinned = BooleanField(_l("Pin it (shown first)"))
    published = BooleanField(_l("Published (shown on the competition's page)"), default=True)
    email_it = BooleanField(_l("Also e-mail it (you choose the recipients and see a preview next)"))

    def data_input(self) -> services.AnnouncementInput:
        return services.AnnouncementInput(
            title_zh=self.title_zh.data or "",
            body_zh=self.body_zh.data or "",
            title_en=self.title_en.data or "",
            body_en=self.body_en.data or "",
            pinned=bool(self.pinned.data),
            published=bool(self.published.data),
        )


class MailingForm(FlaskForm):
    audience = SelectField(_l("Recipients"), validate_choice=True)
    track = SelectField(_l("Track"), coerce=optional_int, validate_choice=True)
    institution = SelectField(_l("Institution"), coerce=optional_int, validate_choice=True)
    round = SelectField(_l("Round (for judges with scorecards to submit)"), coerce=optional_int, validate_choice=True)
    subject_zh = StringField(
        _l("Subject (Chinese)"),
        validators=[InputRequired(message=_l("Please enter the Chinese subject.")), _max(services.SUBJECT_MAX)],
    )
    body_zh = TextAreaField(
        _l("Text (Chinese)"),
        validators=[InputRequired(message=_l("Please write the Chinese text.")), _max(services.BODY_MAX)],
        description=MARKDOWN_HELP,
        render_kw={"rows": 10},
    )
    subject_en = StringField(_l("Subject (English)"), validators=[Optional(), _max(services.SUBJECT_MAX)])
    body_en = TextAreaField(
        _l("Text (English)"),
        validators=[Optional(), _max(services.BODY_MAX)],
        description=_l("Optional; without it everyone receives the Chinese version."),
        render_kw={"rows": 10},
    )
    announcement = HiddenField()
    token = HiddenField()
    expected_count = HiddenField()

    def set_choices(self, *, audiences, tracks, institutions, rounds) -> None:
        self.audience.choices = [SelectChoice(a.value, AUDIENCE_LABELS[a]) for a in audiences]
        self.track.choices = [SelectChoice("", _l("All tracks"))] + [SelectChoice(t.id, t.name) for t in tracks]
        self.institution.choices = [SelectChoice("", _l("All institutions"))] + [
            SelectChoice(inst.id, inst.name) for inst in institutions
        ]
        self.round.choices = [SelectChoice("", "—")] + [SelectChoice(r.id, r.name) for r in rounds]

    def audience_value(self) -> Audience:
        return Audience(self.audience.data)

    def draft(self) -> services.MailDraft:
        return services.MailDraft(
            subject_zh=self.subject_zh.data or "",
            body_zh=self.body_zh.data or "",
            subject_en=self.subject_en.data or "",
            body_en=self.body_en.data or "",
        )
