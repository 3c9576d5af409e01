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
#: ISO media files that are no video: HEIF/AVIF photos (an iPhone's default) and M4A/M4B audio
_NOT_VIDEO_BRANDS = {
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
    b"M4A ", b"M4B ", b"M4P ",
}  # fmt: skip
#: a zip with more entries than this is not a document anybody wrote by hand
MAX_ZIP_ENTRIES = 10_000
#: nor one that unpacks to more than this (slides with videos unpack to about their own size)
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024


def detect(stream: BinaryIO) -> FileKind | None:
    """The kind of the file behind `stream` (rewound afterwards), or None when it is none we know."""
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] not in _NOT_VIDEO_BRANDS:
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
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        stream.seek(0)
    names = [entry.filename for entry in entries]
    if len(names) > MAX_ZIP_ENTRIES or "[Content_Types].xml" not in names:
        return None
    if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        return None  # a zip bomb: copying it for a blind round would fill the disk
    for folder, kind in _OFFICE_FOLDERS.items():
        if any(name.startswith(folder) for name in names):
            return kind
    return None


def check_pdf(path) -> None:
    """Refuse PDFs a judge could not open safely: encrypted, or running code when opened.

    Refused: a `/JavaScript` name tree, document or page additional actions (`/AA`: run on opening,
    closing, saving, printing a page or the document), and an `/OpenAction` that is an action other
    than going to a page. An `/OpenAction` that is only a destination (`[page /Fit]`, which LaTeX's
    hyperref writes into every PDF) is a view, not code, and is accepted.
    """
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            root = pdf.Root
            names = root.get("/Names")
            has_javascript = isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names
            runs_on_open = (
                "/AA" in root
                or not _only_goes_to_a_page(root.get("/OpenAction"))
                or any("/AA" in page.obj for page in pdf.pages)
            )
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


def _only_goes_to_a_page(action, depth: int = 0) -> bool:
    """True for no open action, a destination, or a chain of /GoTo actions (nothing that runs)."""
    import pikepdf

    if action is None or isinstance(action, (pikepdf.Array, pikepdf.Name, pikepdf.String)):
        return True
    if not isinstance(action, pikepdf.Dictionary) or depth > 10:
        return False
    if action.get("/S") != pikepdf.Name.GoTo:
        return False
    following = action.get("/Next")
    if following is None:
        return True
    if isinstance(following, pikepdf.Array):
        return all(_only_goes_to_a_page(item, depth + 1) for item in following)
    return _only_goes_to_a_page(following, depth + 1)
