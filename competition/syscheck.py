"""Checks the system libraries WeasyPrint needs; prints the exact install command when one is missing.

Run as `python -m competition.syscheck` (the Makefile does, before `run` and `test`).
"""

from __future__ import annotations

import ctypes.util
import functools
import os
import shutil
import subprocess
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


@functools.cache
def harfbuzz_subset_available() -> bool:
    """Whether WeasyPrint can subset fonts with HarfBuzz (libharfbuzz-subset0). Without it WeasyPrint
    silently falls back to fontTools: certificates take ~100x longer (22.8 s each measured)."""
    return ctypes.util.find_library("harfbuzz-subset") is not None


def warn_if_slow(logger) -> None:
    """Log one warning at start-up when certificates would render slowly."""
    if not harfbuzz_subset_available():
        logger.warning(
            "libharfbuzz-subset0 is missing: certificate PDFs will render ~100x slower "
            "(sudo apt-get install -y libharfbuzz-subset0)"
        )


def install(packages: list[str]) -> bool:
    """On a fresh machine where we are root (a container, CI), install what is missing with apt-get
    instead of only naming it; elsewhere the user is told the command. Returns whether it worked."""
    apt_get = shutil.which("apt-get")
    if not packages or os.geteuid() != 0 or apt_get is None:
        return False
    print(f"Installing {' '.join(packages)} with apt-get …", file=sys.stderr)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = [apt_get, "install", "-y", "-qq", *packages]  # package names from this module only
    if subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, check=False).returncode != 0:  # noqa: S603  # nosec B603
        subprocess.run([apt_get, "update", "-qq"], env=environment, stdout=subprocess.DEVNULL, check=False)  # noqa: S603  # nosec B603
        if subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, check=False).returncode != 0:  # noqa: S603  # nosec B603
            return False
    harfbuzz_subset_available.cache_clear()
    return True


def main() -> int:
    install(missing(REQUIRED) + missing(RECOMMENDED))
    required = missing(REQUIRED)
    if required:
        print("WeasyPrint (certificates) needs system libraries that are missing. Install them with:", file=sys.stderr)
        print(f"    sudo apt-get install -y {' '.join(required + missing(RECOMMENDED))}", file=sys.stderr)
        return 1
    recommended = missing(RECOMMENDED)
    if recommended:
        print(
            "Note: without HarfBuzz's subsetter certificate PDFs render ~100x slower: "
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
