"""Translation catalogs: keep both in step with the source, and prove they are complete.

    python -m competition.core.catalogs update   # extract, merge into zh_Hans_CN and en, fill English
    python -m competition.core.catalogs check    # exit 1 on a missing, untranslated or fuzzy entry

Message ids are English, so the English catalog's translations equal the ids; `update` fills them
in and the check still demands every entry be present, translated and not fuzzy in both catalogs.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "competition" / "translations"
LOCALES = ("zh_Hans_CN", "en")
KEYWORDS = ("_l", "lazy_gettext")


def _pybabel() -> str:
    return str(Path(sys.executable).with_name("pybabel"))


def extract() -> Catalog:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        command = [_pybabel(), "-q", "extract", "-F", str(ROOT / "babel.cfg"), "--no-location", "--sort-output"]
        for keyword in KEYWORDS:
            command += ["-k", keyword]
        subprocess.run([*command, "-o", str(pot), str(ROOT)], check=True, cwd=ROOT)  # nosec B603  # our pybabel, fixed arguments
        with pot.open("rb") as handle:
            return read_po(handle)


def catalog_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def save(catalog: Catalog, locale: str) -> None:
    path = catalog_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, no_location=True, sort_output=True, ignore_obsolete=True)


def update() -> None:
    template = extract()
    for locale in LOCALES:
        path = catalog_path(locale)
        catalog = load(locale) if path.exists() else Catalog(locale=locale, project="competition")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: a fuzzy catalog is skipped by `pybabel compile`
        if locale == "en":
            for message in catalog:
                if isinstance(message.id, tuple) and not all(message.string):
                    message.string = message.id  # singular and plural, as written in the source
                elif message.id and not message.string:
                    message.string = message.id
                message.flags.discard("fuzzy")
        save(catalog, locale)


def problems() -> list[str]:
    template = extract()
    found = []
    for locale in LOCALES:
        if not catalog_path(locale).exists():
            found.append(f"{locale}: catalog missing")
            continue
        catalog = load(locale)
        if catalog.fuzzy:
            found.append(f"{locale}: the catalog header is marked fuzzy")
        for message in template:
            if not message.id:
                continue
            entry = catalog.get(message.id, message.context)
            label = message.id if isinstance(message.id, str) else message.id[0]
            if entry is None:
                found.append(f"{locale}: not in the catalog: {label!r}")
            elif entry.fuzzy:
                found.append(f"{locale}: fuzzy: {label!r}")
            elif not (all(entry.string) if isinstance(entry.string, tuple) else entry.string):
                found.append(f"{locale}: untranslated: {label!r}")
            elif _lone_percent(entry.string) and not _lone_percent(message.id):
                # templates' gettext always %-formats: a bare "%" in a translation breaks the page
                found.append(f"{locale}: a bare '%' (write '%%' or a word): {label!r}")
    return found


def _lone_percent(text: str | tuple[str, ...]) -> bool:
    texts = text if isinstance(text, tuple) else (text,)
    return any(re.search(r"%(?![(%])", re.sub("%%", "", item or "")) for item in texts)


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        update()
        return 0
    if argv[1:] == ["check"]:
        found = problems()
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            print(f"{len(found)} translation problem(s); run `make i18n-extract` and translate.", file=sys.stderr)
            return 1
        print("translations: both catalogs complete")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
