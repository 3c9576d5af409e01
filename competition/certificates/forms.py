"""The public look-up of a certificate by its serial number and the recipient's full name.

Sent by GET (the answer is a page an employer may bookmark), so without a CSRF token: it changes
nothing. Only the shape is checked here; matching is competition.certificates.services'.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

SERIAL_MAX = 64
NAME_MAX = 100


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LookupForm(FlaskForm):
    class Meta:
        csrf = False

    serial = StringField(
        _l("Serial number"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please enter the serial number printed on the certificate.")),
            Length(max=SERIAL_MAX, message=_l("At most %(max)s characters.", max=SERIAL_MAX)),
        ],
        description=_l("As printed on the certificate, e.g. CY2026-2026-000123."),
        render_kw={"maxlength": SERIAL_MAX, "autocomplete": "off", "spellcheck": "false"},
    )
    name = StringField(
        _l("Full name of the recipient"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please enter the recipient's full name.")),
            Length(max=NAME_MAX, message=_l("At most %(max)s characters.", max=NAME_MAX)),
        ],
        description=_l("The whole name as printed on the certificate (for a team's certificate, the team's name)."),
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
