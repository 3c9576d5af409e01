"""Real small files for the submission tests: PDFs made with pikepdf, Office documents as zips, MP4s.

`pdf_bytes()` names its author in the document information and in XMP; `office_bytes()` names
the author, last editor, company and manager in docProps, as PowerPoint and Word do.
"""

from __future__ import annotations

import io
import random
import zipfile

AUTHOR = "张三"
EDITOR = "李四"
UNIVERSITY = "四川大学"
MANAGER = "王老师"

#: the start of an MP4: a 24-byte `ftyp` box (brand mp42), then padding
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00\x00\x00\x00mp42isom" + b"\x00" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
SHELL = b"#!/bin/sh\nrm -rf / --no-preserve-root\n"


def pdf_bytes(
    *,
    author: str | None = AUTHOR,
    creator: str | None = UNIVERSITY,
    xmp: bool = True,
    pages: int = 1,
    password: str | None = None,
    open_action: str | None = None,
    javascript: bool = False,
    page_action: bool = False,
    padding: int = 0,
) -> bytes:
    """A real PDF. `open_action`: "javascript" (an action dictionary that runs a script) or
    "fit" (a destination, as LaTeX's hyperref writes by default); `padding` adds an unused stream.
    Each call makes another file (PDFs carry a random /ID)."""
    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    if author is not None:
        pdf.docinfo["/Author"] = author
    if creator is not None:
        pdf.docinfo["/Creator"] = creator
    if xmp:
        with pdf.open_metadata() as meta:
            meta["dc:creator"] = [author or "anonymous"]
            meta["dc:title"] = "商业计划书"
    script = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('hi')"))
    if open_action == "javascript":
        pdf.Root.OpenAction = pdf.make_indirect(script)
    elif open_action == "fit":
        pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit])
    if javascript:
        pdf.Root.Names = pikepdf.Dictionary(
            JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("init"), pdf.make_indirect(script)]))
        )
    if page_action:
        pdf.pages[0].obj.AA = pikepdf.Dictionary(O=pdf.make_indirect(script))
    if padding:  # bytes that do not compress, so the file grows by about `padding`
        pdf.Root.Padding = pdf.make_stream(random.Random(padding).randbytes(padding))
    buffer = io.BytesIO()
    if password is not None:
        pdf.save(buffer, encryption=pikepdf.Encryption(owner="o" + password, user=password))
    else:
        pdf.save(buffer)
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>
</Types>"""

_CORE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" \
xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:title>商业计划书</dc:title><dc:creator>{creator}</dc:creator><cp:lastModifiedBy>{editor}</cp:lastModifiedBy>
<cp:revision>3</cp:revision>
<dcterms:created xsi:type="dcterms:W3CDTF">2026-03-01T08:00:00Z</dcterms:created>
</cp:coreProperties>"""

_APP = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" \
xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">
<Application>{application}</Application><Slides>1</Slides><Company>{company}</Company><Manager>{manager}</Manager>
</Properties>"""

_MAIN_PART = {
    "pptx": (
        "ppt/presentation.xml",
        '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>',
    ),
    "docx": (
        "word/document.xml",
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>项目简介</w:t></w:r></w:p></w:body></w:document>",
    ),
    "xlsx": ("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'),
}


def office_entries(kind: str = "pptx") -> dict[str, str]:
    part, body = _MAIN_PART[kind]
    application = {"pptx": "Microsoft Office PowerPoint", "docx": "Microsoft Office Word"}.get(kind, "WPS")
    return {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
        part: body,
        "docProps/core.xml": _CORE.format(creator=AUTHOR, editor=EDITOR),
        "docProps/app.xml": _APP.format(application=application, company=UNIVERSITY, manager=MANAGER),
    }


def office_bytes(kind: str = "pptx") -> bytes:
    """A PPTX, DOCX or XLSX package whose docProps name the author, the last editor, the university."""
    return zip_bytes(office_entries(kind))
