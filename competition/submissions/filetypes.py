"""What an uploaded file is, decided by its bytes, never by its name.

A PDF starts with `%PDF-`, an MP4 has `ftyp` at offset 4, Office files are zips holding `ppt/`,
`word/` or `xl/`. PDFs are opened with pikepdf to apply the policy on active content: encrypted
PDFs (judges could not open them) and PDFs with JavaScript or actions that run on opening are
refused with a message that says how to fix the file.
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

from competition.core.errors import DomainError
from competition.submissions.models import FileKind

_OFFICE_FOLDERS = {"ppt/": FileKind.PPTX, "word/": FileKind.DOCX, "xl/": FileKind.XLSX}
#: a zip with more entries than this is not a document anybody wrote by hand
MAX_ZIP_ENTRIES = 10_000


def detect(stream: BinaryIO) -> FileKind | None:
    """The kind of the file behind `stream` (rewound afterwards), or None when it is none we know."""
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return FileKind.MP4
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if head.startswith(b"PK\x03\x04"):
        return _office_kind(stream)
    return None


def _office_kind(stream: BinaryIO) -> FileKind | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        stream.seek(0)
    if len(names) > MAX_ZIP_ENTRIES or "[Content_Types].xml" not in names:
        return None
    for folder, kind in _OFFICE_FOLDERS.items():
        if any(name.startswith(folder) for name in names):
            return kind
    return None


def check_pdf(path) -> None:
    """Refuse PDFs a judge could not open safely: encrypted, or running code when opened."""
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            root = pdf.Root
            names = root.get("/Names")
            has_javascript = names is not None and "/JavaScript" in names
            runs_on_open = "/OpenAction" in root or "/AA" in root
            if not has_javascript:
                has_javascript = any("/JS" in _action(page) for page in pdf.pages)
    except pikepdf.PasswordError:
        raise DomainError(
            _l("This PDF is protected by a password; judges could not open it. Please upload it without protection."),
            field="file",
        ) from None
    except pikepdf.PdfError:
        raise DomainError(_l("This PDF is damaged and cannot be read. Please export it again."), field="file") from None
    if has_javascript or runs_on_open:
        raise DomainError(
            _l(
                "This PDF contains scripts or actions that run when it is opened. Please export it again as a plain PDF."
            ),
            field="file",
        )


def _action(page) -> dict:
    additional = page.obj.get("/AA")
    return dict(additional) if additional is not None else {}
