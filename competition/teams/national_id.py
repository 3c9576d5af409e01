"""The mainland resident ID number (居民身份证号码, GB 11643-1999), collected only when a competition's
rules require it (PIPL minimisation) and shown or exported masked only.

The full number is stored, normalized (upper-case X); every page, export and audit entry uses
`mask_national_id`.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from competition.core.errors import DomainError
from competition.core.time import utcnow

LENGTH = 18
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
#: the province-level codes that start a mainland resident ID number
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65}
)
_OLDEST_YEAR = 1900


def check_character(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    return _CHECK_CHARACTERS[sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalize_national_id(value: str | None, *, today: date | None = None) -> str:
    """The number with spaces removed and an upper-case X, or a DomainError (field "national_id")."""
    text = "".join((value or "").split()).upper()
    if len(text) != LENGTH or not text[:17].isascii() or not text[:17].isdigit() or text[17] not in "0123456789X":
        raise DomainError(
            _l("A national ID number has 18 characters: 17 digits, then a digit or X."), field="national_id"
        )
    if int(text[:2]) not in _PROVINCES:
        raise DomainError(
            _l("This national ID number does not start with the code of a mainland province."), field="national_id"
        )
    today = today or utcnow().date()
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < _OLDEST_YEAR or born > today:
        raise DomainError(
            _l("The date of birth in this national ID number (characters 7 to 14) is not a real date."),
            field="national_id",
        )
    if check_character(text[:17]) != text[17]:
        raise DomainError(
            _l(
                "The last character of this national ID number does not match the others; please check for a typing error."
            ),
            field="national_id",
        )
    return text


def mask_national_id(value: str | None) -> str:
    """ "510104199001011234" -> "5101**********1234": the first 4 and last 4 characters only."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
