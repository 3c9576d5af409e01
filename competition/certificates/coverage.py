"""Which characters the shipped certificate faces can print.

Before a certificate is issued every character of its text (above all the recipient's name) is
checked against the faces in `static/fonts/`: a character that no face covers would print as a box
(or in whatever system font happens to have it), so it stops that certificate with a clear list
instead. A character outside the common GB2312 faces but inside the full face (喆, 堃, 犇 …) is
fine: that certificate adds the full face to its font stack; all others never load it.

Only fontTools is needed here (no WeasyPrint), so the issuing code and the web views can call this
cheaply; the character maps are read once per process.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent.parent / "static" / "fonts"
#: the faces every certificate uses: serif bold (titles, names, awards), sans regular (the rest)
COMMON_FACES = ("NotoSerifSC-Bold-GB2312.otf", "NotoSansSC-Regular-GB2312.otf")
#: the fallback for rare characters, added to a certificate's font stack only when it needs it
FULL_FACE = "NotoSansSC-Regular-Full.otf"


@cache
def _cmap(file_name: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(FONT_DIR / file_name, lazy=True) as font:
        return frozenset(font.getBestCmap())


@cache
def common_codepoints() -> frozenset[int]:
    """Code points both common faces cover (the name is set in serif, the rest in sans)."""
    serif, sans = (_cmap(name) for name in COMMON_FACES)
    return serif & sans


@cache
def covered_codepoints() -> frozenset[int]:
    """Code points some shipped face covers."""
    return common_codepoints() | _cmap(FULL_FACE)


def _characters(texts: Iterable[str] | str) -> set[str]:
    if isinstance(texts, str):
        texts = (texts,)
    return {char for text in texts if text for char in text if not char.isspace()}


def check_coverage(texts: Iterable[str] | str) -> list[str]:
    """The characters of `texts` (sorted, unique) that no shipped face covers; whitespace ignored.

    An empty list means the certificate can be printed.
    """
    covered = covered_codepoints()
    return sorted(char for char in _characters(texts) if ord(char) not in covered)


def needs_full_face(texts: Iterable[str] | str) -> bool:
    """Whether some character is outside the common (GB2312) faces but inside the full face."""
    common, full = common_codepoints(), _cmap(FULL_FACE)
    return any(ord(char) not in common and ord(char) in full for char in _characters(texts))


def describe(characters: Iterable[str]) -> str:
    """`'𪚶' (U+2A6B6), '' (U+E000)`: a readable list for the organizer."""
    return ", ".join(f"'{char}' (U+{ord(char):04X})" for char in characters)
