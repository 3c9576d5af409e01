"""The certificate rendering engine: real PDFs (WeasyPrint), read back with pypdf.

The PDFs are rendered once per module (a renderer per process, as in production): the name and the
serial are real text, the fonts embedded and subset, the full face only where a rare character
needs it, the metadata set; templates are sandboxed and may load only the app's static files.
"""

from __future__ import annotations

import base64
import io
import logging
import re

import pypdf
import pytest

from competition import syscheck
from competition.certificates import coverage, rendering
from competition.certificates.rendering import TemplateProblem

SERIAL = "CCEC-2026-000123"
METADATA = {"title": f"获奖证书 {SERIAL}", "subject": "第三届成渝地区双城经济圈高校创新创业大赛",
            "author": "成渝地区双城经济圈高校就业创业协同发展联盟", "keywords": "证书, certificate"}  # fmt: skip
SUBSET_NAME = re.compile(r"^/[A-Z]{6}\+")
#: three different 1×1 PNGs (red, green, blue)
PNG_PIXELS = [
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC",
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNg+M8AAAICAQB7CYF4AAAAAElFTkSuQmCC",
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYPgPAAEDAQAIicLsAAAAAElFTkSuQmCC",
]


def template(kind: str = "award") -> str:
    html, css = rendering.default_template(kind)
    return rendering.with_css(html, css)


def values(kind: str = "award", **changes) -> dict[str, str]:
    return {**rendering.SAMPLE_VALUES[kind], "serial": SERIAL, **changes}


def reader(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(pdf))


def text_of(page) -> str:
    """The page's text without whitespace (letter-spaced names come out as 王 喆)."""
    return re.sub(r"\s+", "", page.extract_text())


def fonts_of(page) -> dict[str, pypdf.generic.DictionaryObject]:
    fonts = {}
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        fonts[str(font["/BaseFont"])] = font
    return fonts


@pytest.fixture(scope="module")
def engine() -> rendering.CertificateRenderer:
    return rendering.renderer()


@pytest.fixture(scope="module")
def common_pdf(engine) -> bytes:
    return engine.render(template(), values(recipient_name="欧阳明轩"), metadata=METADATA)


@pytest.fixture(scope="module")
def rare_pdf(engine) -> bytes:
    return engine.render(template("participation"), values("participation", recipient_name="王喆"), metadata=METADATA)


# --- the PDF ------------------------------------------------------------------------------------


def test_the_name_and_the_serial_are_real_text(common_pdf):
    text = text_of(reader(common_pdf).pages[0])
    assert "欧阳明轩" in text
    assert SERIAL in text
    assert "一等奖" in text and "FIRSTPRIZE" in text


def test_a_rare_character_is_printed_from_the_full_face(rare_pdf):
    page = reader(rare_pdf).pages[0]
    assert "王喆" in text_of(page)
    assert SERIAL in text_of(page)
    assert any("Certificate-Sans-Full" in name for name in fonts_of(page))


def test_fonts_are_embedded_and_subset(common_pdf, rare_pdf):
    for pdf in (common_pdf, rare_pdf):
        for name, font in fonts_of(reader(pdf).pages[0]).items():
            assert SUBSET_NAME.match(name), name
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), name


def test_a_common_certificate_uses_the_two_common_faces_only(common_pdf):
    names = sorted(re.sub(r"^/[A-Z]{6}\+", "", name) for name in fonts_of(reader(common_pdf).pages[0]))
    assert names == ["Certificate-Sans", "Certificate-Serif-Bold"]


def test_the_pdf_stays_small(common_pdf):
    assert len(common_pdf) < 150 * 1024


def test_metadata_title_subject_and_author(common_pdf):
    metadata = reader(common_pdf).metadata
    assert metadata.title == METADATA["title"]
    assert metadata.author == METADATA["author"]
    assert metadata.subject == METADATA["subject"]


def test_the_template_cannot_set_the_metadata_or_attach_files(engine):
    html = ('<html><head><title>fake</title><meta name="author" content="someone else">'
            '<link rel="attachment" href="/static/certificates/border.svg"></head><body>{{ serial }}</body></html>')  # fmt: skip
    pdf = reader(engine.render(html, values(), metadata=METADATA))
    assert pdf.metadata.title == METADATA["title"] and pdf.metadata.author == METADATA["author"]
    assert "/EmbeddedFiles" not in str(pdf.trailer["/Root"].get("/Names", {}))


def test_every_default_template_renders_its_sample_values(engine):
    for kind in rendering.KINDS:
        assert set(rendering.SAMPLE_VALUES[kind]) == set(rendering.VALUE_KEYS), kind
        pdf = engine.render(template(kind), rendering.SAMPLE_VALUES[kind], metadata={"title": kind})
        page = reader(pdf).pages[0]
        assert rendering.SAMPLE_VALUES[kind]["recipient_name"].replace(" ", "") in text_of(page)
        assert rendering.SAMPLE_VALUES[kind]["title_zh"] in text_of(page)


def test_a_batch_is_one_pdf_with_a_page_per_certificate(engine):
    names = ["张三", "阿依古丽·买买提", "刘堃"]
    items = [(template(kind), values(kind, recipient_name=name, serial=f"CCEC-2026-{number:06d}"))
             for number, (kind, name) in enumerate(zip(("award", "participation", "judge"), names, strict=True), 1)]  # fmt: skip
    pdf = reader(engine.render_batch(items, metadata={"title": "CCEC 2026 certificates", "author": "联盟"}))
    assert len(pdf.pages) == 3
    for number, (page, name) in enumerate(zip(pdf.pages, names, strict=True), 1):
        assert name in text_of(page)
        assert f"CCEC-2026-{number:06d}" in text_of(page)
    assert pdf.metadata.title == "CCEC 2026 certificates"
    with pytest.raises(ValueError):
        engine.render_batch([])


def test_a_batch_gives_each_certificate_its_own_page_and_its_own_fonts(engine):
    # a template whose body is a single line: laid out together, each still starts a page
    short = "<html><head><title>{{ serial }}</title></head><body><p>{{ recipient_name }} {{ serial }}</p></body></html>"
    names = ["张三", "刘堃", "李四"]  # 堃 is outside the GB2312 subset: the full face joins that run
    items = [(short, values(recipient_name=name, serial=f"S-{number}")) for number, name in enumerate(names)]
    items.append((template("award"), values(recipient_name="王五", serial="S-3")))  # another head: its own run
    pdf = reader(engine.render_batch(items))
    assert [text_of(page) for page in pdf.pages[:3]] == ["张三S-0", "刘堃S-1", "李四S-2"]
    assert len(pdf.pages) == 4 and "王五" in text_of(pdf.pages[3])


def test_a_template_without_a_body_tag_is_laid_out_on_its_own(engine):
    items = [("<p>{{ serial }}</p>", values(serial=f"S-{number}")) for number in range(3)]
    assert [text_of(page) for page in reader(engine.render_batch(items)).pages] == ["S-0", "S-1", "S-2"]


def test_a_batch_keeps_its_images_while_the_cache_is_bounded(engine, monkeypatch):
    monkeypatch.setattr(rendering, "MAX_CACHED_IMAGES", 1)
    items = [
        (f'<p>{{{{ serial }}}}</p><img style="width:5mm" src="data:image/png;base64,{PNG_PIXELS[number]}">',
         values(serial=f"S-{number}"))
        for number in range(3)
    ]  # fmt: skip
    pdf = reader(engine.render_batch(items))
    assert [text_of(page) for page in pdf.pages] == ["S-0", "S-1", "S-2"]
    assert len(engine.image_cache) > 1  # not emptied between the documents of one PDF
    engine.render("<p>{{ serial }}</p>", values(), metadata={})
    assert len(engine.image_cache) <= 1  # but before the next one


def test_the_qr_code_is_inline_svg_of_the_verification_address(engine):
    svg = engine.qr_svg("https://cy-alliance.example/verify/abc")
    assert svg.startswith("<svg") and "viewBox" in svg and "<path" in svg
    filled = engine.fill(template(), values())
    assert "qr-code" in filled
    assert rendering.SAMPLE_VALUES["award"]["verify_url"] in filled


def test_the_qr_code_uses_the_fixed_mask_and_one_compact_path(engine):
    svg = engine.qr_svg("https://cy-alliance.example/verify/abc")
    assert svg.count("<path") == 1 and "transform" not in svg and "scale" not in svg
    import segno

    assert segno.make("https://cy-alliance.example/verify/abc", error="m", micro=False,
                      mask=rendering.QR_MASK).mask == rendering.QR_MASK  # fmt: skip


def test_lists_and_their_markers_still_render_with_the_scoped_ua_stylesheet(engine):
    html = "<html><body><ol><li>甲 first</li><li>乙 second</li></ol><p>{{ serial }}</p></body></html>"
    text = text_of(reader(engine.render(html, values())).pages[0])
    assert "甲first" in text and "乙second" in text and SERIAL in text
    assert "1." in text and "2." in text  # the markers (pypdf reads them after the items)


def test_the_shipped_faces_are_truetype_with_the_kern_feature_only():
    from fontTools.ttLib import TTFont

    for name in (*coverage.COMMON_FACES, coverage.FULL_FACE):
        font = TTFont(rendering.STATIC_DIR / "fonts" / name, lazy=True)
        assert "glyf" in font and "CFF " not in font, name
        for table in ("GSUB", "GPOS"):
            if table in font:
                features = {record.FeatureTag for record in font[table].table.FeatureList.FeatureRecord}
                assert features <= {"kern"}, (name, table, features)


# --- names and coverage -------------------------------------------------------------------------


def test_check_coverage_lists_what_no_face_covers():
    assert coverage.check_coverage(["张三", "阿依古丽·买买提", "王喆 Zhang-San", "犇堃", " \t\n"]) == []
    assert coverage.check_coverage(["张\ue000三", "\U0002a6d6", "\ue000"]) == ["\ue000", "\U0002a6d6"]
    assert rendering.check_coverage("𪛖") == ["𪛖"]
    assert "U+E000" in coverage.describe(["\ue000"])


def test_needs_full_face_only_for_characters_beyond_the_common_faces():
    assert coverage.needs_full_face(["张三", "欧阳明轩", "阿依古丽·买买提", "Zhang San"]) is False
    assert coverage.needs_full_face(["王喆"]) is True
    assert coverage.needs_full_face(["刘堃", "张三"]) is True
    assert coverage.needs_full_face(["\ue000"]) is False  # covered by no face: check_coverage stops it


def test_long_names_get_smaller_classes():
    assert rendering.name_class("张三") == "name-xl name-pair"
    assert rendering.name_class("欧阳明轩") == "name-xl"
    assert rendering.name_class("阿卜杜热合曼·买买提明") == "name-xl"
    very_long = "克里斯蒂娜·阿卜杜热合曼·买买提明·艾尔肯"
    sizes = ["name-xl", "name-l", "name-m", "name-s", "name-xs", "name-xxs"]
    assert sizes.index(rendering.name_class(very_long)) > sizes.index(rendering.name_class("阿卜杜热合曼·买买提明"))
    assert rendering.name_class("x" * 200) == "name-xxs"


# --- the sandbox --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ ''.__class__.__mro__ }}", "not allowed"),
        ("{{ recipient_name.__class__.__subclasses__() }}", "not allowed"),
        ("<p>{{ no_such_value }}</p>", "no_such_value"),
        ("<p>\n{% if %}</p>", "syntax"),
        ("{{ 'x' * 100000000 }}", "too large"),
        ("{{ 9 ** 999999 }}", "too large"),
        ("{% for a in range(100000) %}{% for b in range(100) %}xx{% endfor %}{% endfor %}", "characters"),
        ("{% include 'award.html' %}", "award.html"),
    ],
)
def test_template_problems_are_reported_not_raised_later(engine, source, expected):
    with pytest.raises(TemplateProblem) as problem:
        engine.render(source, values(), metadata={})
    assert expected in str(problem.value)


def test_a_template_that_runs_over_many_pages_is_a_problem(engine):
    source = '{% for i in range(12) %}<p style="break-after: page">{{ serial }}</p>{% endfor %}'
    with pytest.raises(TemplateProblem) as problem:
        engine.render(source, values(), metadata={})
    assert "pages" in str(problem.value)


def test_a_syntax_error_says_its_line(engine):
    with pytest.raises(TemplateProblem) as problem:
        engine.fill("<p>one</p>\n<p>two</p>\n{% endif %}", values())
    assert problem.value.line == 3
    assert str(problem.value).startswith("line 3:")


def test_values_are_plain_strings_and_escaped(engine):
    with pytest.raises(TypeError):
        engine.render(template(), {**values(), "recipient_name": 42}, metadata={})
    with pytest.raises(TypeError):
        engine.fill("{{ recipient_name }}", {"recipient_name": ["张三"]})
    filled = engine.fill("<p>{{ recipient_name }}</p>", {"recipient_name": "<script>x</script>"})
    assert "<script>" not in filled and "&lt;script&gt;" in filled


def test_validate_checks_a_template_against_the_sample_values(engine):
    engine.validate(*rendering.default_template("judge"), kind="judge")
    with pytest.raises(TemplateProblem):
        engine.validate("{{ missing }}", "", kind="award")


def test_with_css_puts_the_css_in_the_head_literally(engine):
    html = with_css = rendering.with_css("<html><head><title>t</title></head><body>{{ serial }}</body></html>",
                                         ".name { color: red } /* {{ not jinja }} */")  # fmt: skip
    assert html.index("<style>") < html.index("</head>")
    filled = engine.fill(with_css, values())
    assert "{{ not jinja }}" in filled and SERIAL in filled
    assert rendering.with_css("<p>x</p>", "  ") == "<p>x</p>"


# --- what a template may load -------------------------------------------------------------------


def test_a_file_url_embeds_nothing_and_the_certificate_still_renders(engine, caplog):
    html = ('<html><body><p>{{ serial }}</p><img src="file:///etc/passwd"><img src="/static/../../../etc/passwd">'
            '<object data="file:///etc/passwd"></object><img src="https://example.com/x.png">'
            '<div style="background: url(file:///etc/hostname)">x</div></body></html>')  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        pdf = reader(engine.render(html, values(), metadata={}))
    page = pdf.pages[0]
    assert SERIAL in text_of(page)
    assert "root:" not in page.extract_text()
    assert not page["/Resources"].get("/XObject")
    assert "/EmbeddedFiles" not in str(pdf.trailer["/Root"])


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "https://example.com/static/certificates/border.svg",
        "http://app.invalid/static/certificates/border.svg",
        "https://app.invalid.example.com/static/certificates/border.svg",
        "https://app.invalid/competition/config.py",
        "https://app.invalid/static/../competition/config.py",
        "https://app.invalid/static/certificates/%2e%2e/%2e%2e/competition/config.py",
        "https://app.invalid/static/certificates/..%2f..%2fcompetition/config.py",
        "https://app.invalid/static/",
        "static:../competition/config.py",
        "static:/etc/passwd",
        "ftp://app.invalid/static/certificates/border.svg",
        "data:text/html,<script>alert(1)</script>",
        "data:image/png;base64," + "A" * (300 * 1024),
        "javascript:alert(1)",
    ],
)
def test_the_fetcher_refuses_everything_but_the_apps_static_files(url):
    fetcher = rendering.StaticFetcher()
    with pytest.raises(ValueError):
        fetcher.fetch(url)


@pytest.mark.parametrize(
    "url",
    ["https://app.invalid/static/certificates/border.svg", "static:certificates/border.svg",
     "static:/certificates/alliance-logo.svg"],
)  # fmt: skip
def test_the_fetcher_serves_static_files(url):
    response = rendering.StaticFetcher().fetch(url)
    assert response.content_type == "image/svg+xml"
    assert response.read().startswith(b"<svg")


def test_the_fetcher_serves_small_data_images():
    response = rendering.StaticFetcher().fetch(
        "data:image/svg+xml,%3Csvg%20xmlns%3D%22http://www.w3.org/2000/svg%22/%3E"
    )
    assert response.content_type == "image/svg+xml"
    assert response.read().startswith(b"<svg")


def test_the_art_is_vector_and_small():
    for path in (rendering.STATIC_DIR / "certificates").iterdir():
        assert path.suffix == ".svg", path
        assert path.stat().st_size < 20 * 1024, path


# --- start-up -----------------------------------------------------------------------------------


def test_harfbuzz_subset_is_detected_and_its_absence_logged(monkeypatch, caplog):
    assert isinstance(rendering.harfbuzz_subset_available(), bool)
    logger = logging.getLogger("test-startup")
    monkeypatch.setattr(syscheck, "harfbuzz_subset_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="test-startup"):
        syscheck.warn_if_slow(logger)
    assert "libharfbuzz-subset0" in caplog.text
    caplog.clear()
    monkeypatch.setattr(syscheck, "harfbuzz_subset_available", lambda: True)
    with caplog.at_level(logging.WARNING, logger="test-startup"):
        syscheck.warn_if_slow(logger)
    assert caplog.text == ""


def test_render_many_gives_each_certificate_its_own_pdf_in_order(engine):
    names = ["张三", "阿依古丽·买买提", "刘堃", "李四"]
    kinds = ("award", "award", "participation", "judge")
    items = [(template(kind), values(kind, recipient_name=name, serial=f"CCEC-2026-{number:06d}"))
             for number, (kind, name) in enumerate(zip(kinds, names, strict=True), 1)]  # fmt: skip
    metadata = [{"title": f"证书 {item[1]['serial']}", "author": "联盟"} for item in items]
    pdfs = engine.render_many(items, metadata)
    assert len(pdfs) == 4
    for number, (pdf, name) in enumerate(zip(pdfs, names, strict=True), 1):
        document = reader(pdf)
        assert len(document.pages) == 1
        assert name.replace("·", "") in text_of(document.pages[0]).replace("·", "")
        assert f"CCEC-2026-{number:06d}" in text_of(document.pages[0])
        assert document.metadata.title == f"证书 CCEC-2026-{number:06d}" and document.metadata.author == "联盟"
    # the same bytes a certificate gets on its own, apart from what makes each PDF unique
    alone = reader(engine.render(items[0][0], items[0][1], metadata=metadata[0]))
    assert text_of(alone.pages[0]) == text_of(reader(pdfs[0]).pages[0])
    assert set(fonts_of(alone.pages[0])) == set(fonts_of(reader(pdfs[0]).pages[0]))


def test_render_many_names_only_the_certificate_a_template_cannot_make(engine):
    broken = "<html><body><p>{{ no_such_value }}</p></body></html>"
    two_pages = '<html><body><p>{{ serial }}</p><p style="break-before: page">{{ recipient_name }}</p></body></html>'
    items = [
        (template("award"), values(serial="S-1")),
        (broken, values(serial="S-2")),
        (two_pages, values(serial="S-3", recipient_name="王五")),
        (two_pages, values(serial="S-4", recipient_name="赵六")),  # laid out together they are four pages
    ]
    results = engine.render_many(items, [{"title": item[1]["serial"]} for item in items])
    assert isinstance(results[1], rendering.TemplateProblem) and "no_such_value" in str(results[1])
    assert "S-1" in text_of(reader(results[0]).pages[0])
    for pdf, (serial, name) in zip(results[2:], (("S-3", "王五"), ("S-4", "赵六")), strict=True):
        pages = [text_of(page) for page in reader(pdf).pages]
        assert pages == [serial, name]


def test_the_border_and_logos_are_drawn_once_then_replayed_exactly():
    engine = rendering.CertificateRenderer()  # its own image cache
    html = template("award")
    pdfs = [engine.render(html, values(), metadata={}) for _ in range(3)]  # drawn, recorded, replayed
    contents = [reader(pdf).pages[0].get_contents().get_data() for pdf in pdfs]
    assert contents[0] == contents[1] == contents[2]
    replayed = [image for image in engine.image_cache.values() if isinstance(image, rendering._ReplayedSVG)]
    assert len(replayed) == 3  # border, alliance logo, host logo
    assert all(drawings and None not in drawings.values() for drawings in (image._drawings for image in replayed))


def test_an_svg_with_opacity_is_drawn_by_weasyprint_every_time():
    engine = rendering.CertificateRenderer()
    faded = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="red" '
             'opacity="0.5"/></svg>')  # fmt: skip
    data = "data:image/svg+xml;base64," + base64.b64encode(faded.encode()).decode()
    html = f'<html><body><img style="width:20mm" src="{data}"><p>{{{{ serial }}}}</p></body></html>'
    contents = [reader(engine.render(html, values(), metadata={})).pages[0].get_contents().get_data() for _ in range(3)]
    assert contents[0] == contents[1] == contents[2]
    (image,) = [image for image in engine.image_cache.values() if isinstance(image, rendering._ReplayedSVG)]
    assert list(image._drawings.values()) == [None]  # an opacity group: not replayable, drawn each time
