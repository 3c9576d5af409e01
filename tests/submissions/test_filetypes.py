"""What a file is, read from its bytes (never its name), and the policy on PDFs judges open."""

from __future__ import annotations

import io

import pytest

from competition.core.errors import DomainError
from competition.submissions import filetypes
from competition.submissions.models import FileKind
from tests.submissions import HTML, JPEG, MP4, PNG, SHELL, SVG, office_bytes, pdf_bytes, zip_bytes

pytestmark = pytest.mark.usefixtures("english")


def _detect(data: bytes) -> FileKind | None:
    stream = io.BytesIO(data)
    stream.seek(5)
    kind = filetypes.detect(stream)
    assert stream.tell() == 0, "detect() leaves the stream rewound for whoever stores it next"
    return kind


# --- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (pdf_bytes(), FileKind.PDF),
        (office_bytes("pptx"), FileKind.PPTX),
        (office_bytes("docx"), FileKind.DOCX),
        (office_bytes("xlsx"), FileKind.XLSX),
        (MP4, FileKind.MP4),
        (PNG, FileKind.PNG),
        (JPEG, FileKind.JPEG),
    ],
    ids=["pdf", "pptx", "docx", "xlsx", "mp4", "png", "jpeg"],
)
def test_known_kinds_are_read_from_their_bytes(data, expected):
    assert _detect(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        HTML,
        SVG,
        SHELL,
        b"",
        b"%PD",
        b"PK\x03\x04 not really a zip",
        zip_bytes({"readme.txt": "hello", "ppt/presentation.xml": "<x/>"}),  # no [Content_Types].xml
        zip_bytes({"[Content_Types].xml": "<Types/>", "notes/a.txt": "x"}),  # a package, but of nothing we know
        b"\xef\xbb\xbf%PDF-1.7",  # a BOM in front: not how a PDF begins
    ],
    ids=["html", "svg", "shell", "empty", "short", "broken-zip", "zip-without-types", "random-package", "bom-pdf"],
)
def test_anything_else_is_not_a_known_kind(data):
    assert _detect(data) is None


def test_a_pdf_html_polyglot_that_starts_with_the_pdf_header_is_a_pdf():
    """A file both a PDF and an HTML page is what its first bytes say: a PDF. It is stored as
    `.pdf` and only ever served as application/pdf (an attachment, with nosniff), so the HTML in
    it never runs in a browser."""
    polyglot = pdf_bytes() + HTML
    assert _detect(polyglot) == FileKind.PDF
    filetypes.check_pdf(io.BytesIO(polyglot))  # a valid PDF with trailing bytes passes the policy


def test_a_zip_bomb_with_too_many_entries_is_not_an_office_file():
    entries = {"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}
    entries |= {f"word/media/{index}.bin": "" for index in range(filetypes.MAX_ZIP_ENTRIES)}
    assert _detect(zip_bytes(entries)) is None


# --- the PDF policy -------------------------------------------------------------------------------


def _check(data: bytes) -> str | None:
    try:
        filetypes.check_pdf(io.BytesIO(data))
    except DomainError as error:
        assert error.field == "file"
        return str(error.message)
    return None


def test_a_plain_pdf_passes_the_policy():
    assert _check(pdf_bytes()) is None
    assert _check(pdf_bytes(author=None, creator=None, xmp=False, pages=3)) is None


def test_an_encrypted_pdf_is_refused_because_judges_could_not_open_it():
    message = _check(pdf_bytes(password="u"))
    assert message is not None and "password" in message


def test_a_pdf_that_runs_javascript_when_opened_is_refused():
    message = _check(pdf_bytes(open_action="javascript"))
    assert message is not None and "scripts or actions" in message


def test_a_pdf_with_a_javascript_name_tree_is_refused():
    message = _check(pdf_bytes(javascript=True))
    assert message is not None and "scripts or actions" in message


def test_a_pdf_whose_page_runs_an_action_when_shown_is_refused():
    message = _check(pdf_bytes(page_action=True))
    assert message is not None and "scripts or actions" in message


def test_a_pdf_that_only_opens_at_a_page_is_accepted():
    """LaTeX (hyperref) writes `/OpenAction [page /Fit]` into every PDF: a view, not an action."""
    assert _check(pdf_bytes(open_action="fit")) is None


def test_a_damaged_pdf_is_refused_with_a_message():
    message = _check(b"%PDF-1.7\n" + b"\x00garbage" * 10)
    assert message is not None and "damaged" in message


def test_the_policy_leaves_the_stream_open_for_storing():
    stream = io.BytesIO(pdf_bytes())
    filetypes.check_pdf(stream)
    assert not stream.closed
    stream.seek(0)
    assert stream.read(5) == b"%PDF-"


def _with_open_action(make_action) -> bytes:
    import pikepdf

    pdf = pikepdf.open(io.BytesIO(pdf_bytes()))
    pdf.Root.OpenAction = make_action(pdf)
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def test_a_go_to_action_is_accepted_but_not_one_that_chains_a_script():
    import pikepdf

    def go_to(pdf, **extra):
        return pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit]), **extra)

    script = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    launch = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))
    assert _check(_with_open_action(go_to)) is None
    assert _check(_with_open_action(lambda pdf: go_to(pdf, Next=script))) is not None
    assert _check(_with_open_action(lambda pdf: go_to(pdf, Next=pikepdf.Array([script])))) is not None
    assert _check(_with_open_action(lambda pdf: launch)) is not None
