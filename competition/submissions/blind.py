"""Copies for judges of blind rounds: the same document without the metadata that names its
author (PDF document information and XMP; Office docProps: creator, last editor, company, manager).

The text inside a document is the team's responsibility: the submission page warns them to remove
names and institutions from it.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from competition.submissions.models import FileKind

_CORE = "docProps/core.xml"
_APP = "docProps/app.xml"
# keep the usual prefixes when the XML is written back (Office readers expect them)
for _prefix, _uri in {
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "dcmitype": "http://purl.org/dc/dcmitype/",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "": "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
    "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
}.items():
    ElementTree.register_namespace(_prefix, _uri)

#: Office metadata elements that can name a person or an organization
_OFFICE_IDENTIFYING = {"creator", "lastModifiedBy", "Company", "Manager", "HyperlinkBase", "Template"}


def strip_metadata(source: Path, target: Path, kind: FileKind) -> None:
    """Write to `target` a copy of `source` without identifying metadata."""
    if kind == FileKind.PDF:
        _strip_pdf(source, target)
    elif kind in (FileKind.PPTX, FileKind.DOCX, FileKind.XLSX):
        _strip_office(source, target)
    else:
        shutil.copyfile(source, target)


def _strip_pdf(source: Path, target: Path) -> None:
    import pikepdf

    with pikepdf.open(source) as pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        if "/Metadata" in pdf.Root:
            del pdf.Root["/Metadata"]
        pdf.save(target)


#: docProps parts larger than this are not metadata anybody wrote; they are replaced, not parsed
_METADATA_MAX_BYTES = 1024 * 1024


def _strip_office(source: Path, target: Path) -> None:
    """Copy the package entry by entry (streamed: a large picture or video inside is never read
    whole into memory), rewriting only the two docProps parts."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            if item.filename in (_CORE, _APP):
                data = original.read(item) if item.file_size <= _METADATA_MAX_BYTES else b""
                copy.writestr(_entry_like(item), _without_identifying_elements(data))
                continue
            with (
                original.open(item) as reading,
                copy.open(_entry_like(item), "w", force_zip64=item.file_size > zipfile.ZIP64_LIMIT) as writing,
            ):
                shutil.copyfileobj(reading, writing, 1024 * 1024)


def _entry_like(item: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new entry with the name, date, compression and attributes of `item` (writing changes
    the ZipInfo it is given, and `item` belongs to the archive being read)."""
    entry = zipfile.ZipInfo(item.filename, date_time=item.date_time)
    entry.compress_type = item.compress_type if item.compress_type == zipfile.ZIP_STORED else zipfile.ZIP_DEFLATED
    entry.external_attr, entry.create_system, entry.comment = item.external_attr, item.create_system, item.comment
    return entry


def _without_identifying_elements(xml: bytes) -> bytes:
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - the file's own metadata; expat refuses entity bombs  # nosec B314
    except ElementTree.ParseError:
        return b""
    for parent in root.iter():
        for child in list(parent):
            if child.tag.rsplit("}", 1)[-1] in _OFFICE_IDENTIFYING:
                parent.remove(child)
    return ElementTree.tostring(root, xml_declaration=True, encoding="UTF-8")


def office_metadata(path: Path) -> dict[str, str]:
    """The identifying Office metadata of a file (for tests and for showing teams what is there)."""
    found = {}
    with zipfile.ZipFile(path) as archive:
        for name in (_CORE, _APP):
            if name not in archive.namelist():
                continue
            root = ElementTree.fromstring(archive.read(name))  # noqa: S314  # nosec B314
            for element in root.iter():
                tag = element.tag.rsplit("}", 1)[-1]
                if tag in _OFFICE_IDENTIFYING and (element.text or "").strip():
                    found[tag] = element.text.strip()
    return found
