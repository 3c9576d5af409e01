"""Checks the system libraries WeasyPrint needs; prints the exact install command when one is missing.

Run as `python -m competition.syscheck` (the Makefile does, before `run` and `test`).
"""

from __future__ import annotations

import ctypes.util
import sys

#: library name for ctypes -> Debian/Ubuntu package that provides it
REQUIRED = {
    "gobject-2.0": "libglib2.0-0",
    "pango-1.0": "libpango-1.0-0",
    "pangoft2-1.0": "libpangoft2-1.0-0",
    "harfbuzz": "libharfbuzz0b",
    "fontconfig": "libfontconfig1",
}
RECOMMENDED = {"harfbuzz-subset": "libharfbuzz-subset0"}


def missing(libraries: dict[str, str]) -> list[str]:
    return [package for library, package in libraries.items() if ctypes.util.find_library(library) is None]


def main() -> int:
    required = missing(REQUIRED)
    if required:
        print("WeasyPrint (certificates) needs system libraries that are missing. Install them with:", file=sys.stderr)
        print(f"    sudo apt-get install -y {' '.join(required + missing(RECOMMENDED))}", file=sys.stderr)
        return 1
    recommended = missing(RECOMMENDED)
    if recommended:
        print(
            "Note: smaller certificate PDFs need HarfBuzz's subsetter: "
            f"sudo apt-get install -y {' '.join(recommended)}",
            file=sys.stderr,
        )
    try:
        import weasyprint

        weasyprint.HTML(string="<p>成渝 check</p>").write_pdf()
    except Exception as error:  # noqa: BLE001 - report whatever stops WeasyPrint
        print(f"WeasyPrint cannot render a PDF on this machine: {error}", file=sys.stderr)
        print(f"    sudo apt-get install -y {' '.join(REQUIRED.values())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
