"""The certificate rendering engine: organizer templates (HTML/CSS with Jinja) to PDF, fast and safely.

Templates are filled in a sandboxed Jinja environment (ImmutableSandboxedEnvironment, autoescape,
StrictUndefined) from plain string values only; every problem a template can have (syntax, an
unknown placeholder, an unsafe attribute, a runtime error) comes out as a `TemplateProblem` with a
readable message and line, never as a crash later. WeasyPrint may load only the app's own static
files: `StaticFetcher` maps `/static/…` (and `static:…`) to files under `static/` and refuses
everything else (`file:`, every host, large `data:` URLs); a refused resource is left out and the
certificate still renders.

Speed (issue 8): one `CertificateRenderer` per process (`renderer()`), created once and reused for
every certificate — it holds the WeasyPrint FontConfiguration with the pre-subset CJK faces already
registered, the base stylesheet parsed once, the image cache (the border art is parsed once), and
the compiled templates. Each certificate uses two faces (serif bold, sans regular); the full face is
added to the font stacks only for a certificate whose text needs it (`needs_full_face`).
WeasyPrint embeds only the glyphs used, subset by HarfBuzz (`libharfbuzz-subset0`; without it
WeasyPrint falls back to fontTools, ~100× slower — `create_app` warns at start-up).

For printing, `render_batch` lays out many certificates and writes them as one multi-page PDF, so
the fonts are subset and embedded once for all of them.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib import request as urllib_request
from urllib.parse import unquote, urlsplit

import segno
from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.images import SVGImage
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from competition.certificates.coverage import check_coverage, describe, needs_full_face
from competition.syscheck import harfbuzz_subset_available

__all__ = [
    "KINDS", "SAMPLE_VALUES", "VALUE_KEYS", "CertificateRenderer", "StaticFetcher", "TemplateProblem",
    "base_css", "check_coverage", "default_template", "describe", "harfbuzz_subset_available",
    "name_class", "needs_full_face", "renderer", "with_css",
]  # fmt: skip

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
STATIC_DIR = PROJECT_DIR / "static"
TEMPLATE_DIR = Path(__file__).resolve().parent / "default_templates"
#: the base URL documents are rendered under: `/static/x` in a template becomes APP_ORIGIN/static/x,
#: which the fetcher maps to the file. `.invalid` is reserved (RFC 2606): it never resolves.
APP_ORIGIN = "https://app.invalid"
BASE_URL = APP_ORIGIN + "/"
KINDS = ("award", "advisor", "participation", "judge")

#: what a template may show at most (a runaway loop stops here instead of filling the memory)
MAX_OUTPUT_CHARS = 1_000_000
#: `data:` URLs larger than this are refused (use a static file)
MAX_DATA_URL_CHARS = 256 * 1024
#: the QR code's mask pattern (see CertificateRenderer.qr_svg); None lets segno score all eight
QR_MASK: int | None = 2
#: a certificate is one sheet; more pages than this means a template gone wrong
MAX_PAGES = 4
#: the image cache is emptied between documents past this many entries (data: URLs are unique)
MAX_CACHED_IMAGES = 256

# --- the values a template receives -------------------------------------------------------------

#: the plain values every certificate gets from issuing (competition.certificates.issuing.values_for),
#: with what each means — the template editor shows this list
VALUE_KEYS: dict[str, str] = {
    "kind": "award / advisor / participation / judge",
    "recipient_type": "team / member / advisor / judge",
    "title_zh": "标题，如 获奖证书", "title_en": "title, e.g. Certificate of Award",
    "recipient_name": "获证人姓名（团队证书为团队名称）/ the recipient's name (the team's for a team)",
    "team_name": "团队名称 / team", "project_title": "项目名称 / project", "advisor_title": "职称 / advisor's title",
    "award_zh": "奖项，如 一等奖", "award_en": "award, e.g. First Prize",
    "competition_zh": "赛事名称", "competition_en": "competition",
    "round_zh": "赛段，如 决赛", "round_en": "round, e.g. Final",
    "track_zh": "赛道/组别", "track_en": "track",
    "institution_zh": "学校/单位", "institution_en": "institution",
    "issuer_zh": "主办单位（颁发单位）", "issuer_en": "host (issuer)",
    "co_hosts_zh": "协办单位", "co_hosts_en": "co-hosts",
    "issue_date_zh": "颁发日期，如 2026年6月18日", "issue_date_en": "date, e.g. 18 June 2026",
    "issue_date": "ISO date, e.g. 2026-06-18",
    "serial": "证书编号 / serial, e.g. CCEC-2026-000123",
    "verification_code": "验证码 / verification code",
    "verify_url": "验证网址 / verification URL (the QR code holds it)",
}  # fmt: skip
#: computed by the renderer, not given: the QR code (inline SVG of verify_url), the CSS classes that
#: size the name and the title by their length
DERIVED_KEYS: dict[str, str] = {
    "qr_svg": "二维码（verify_url 的内联 SVG）/ QR code of verify_url, inline SVG",
    "name_class": "姓名字号 / CSS class sizing the name by its length (name-xl … name-xxs)",
    "title_class": "标题字距 / CSS class spacing the title by its length (title-short, title-long)",
}  # fmt: skip

_COMMON_SAMPLE = {
    "competition_zh": "第三届成渝地区双城经济圈高校创新创业大赛",
    "competition_en": "3rd Chengdu–Chongqing Universities Innovation and Entrepreneurship Competition",
    "round_zh": "决赛", "round_en": "Final",
    "track_zh": "创意组", "track_en": "Idea track",
    "institution_zh": "四川大学", "institution_en": "Sichuan University",
    "issuer_zh": "成渝地区双城经济圈高校就业创业协同发展联盟",
    "issuer_en": "Chengdu–Chongqing Universities Employment and Entrepreneurship Alliance",
    "co_hosts_zh": "四川大学、重庆大学", "co_hosts_en": "Sichuan University; Chongqing University",
    "issue_date_zh": "2026年6月18日", "issue_date_en": "18 June 2026", "issue_date": "2026-06-18",
    "serial": "CCEC-2026-000123",
    "verification_code": "q3Zr7xWm0bK2fN9sLd4TgA",
    "verify_url": "https://cy-alliance.example/verify/q3Zr7xWm0bK2fN9sLd4TgA",
    "team_name": "青禾智农团队", "project_title": "青禾——丘陵山区智慧农业无人机服务平台",
    "advisor_title": "", "award_zh": "", "award_en": "",
}  # fmt: skip
#: the live preview's sample values, per kind (every key of VALUE_KEYS)
SAMPLE_VALUES: dict[str, dict[str, str]] = {
    "award": {**_COMMON_SAMPLE, "kind": "award", "recipient_type": "member", "title_zh": "获奖证书",
              "title_en": "Certificate of Award", "recipient_name": "欧阳明轩", "award_zh": "一等奖",
              "award_en": "First Prize"},
    "advisor": {**_COMMON_SAMPLE, "kind": "advisor", "recipient_type": "advisor", "title_zh": "优秀指导教师证书",
                "title_en": "Outstanding Advisor", "recipient_name": "王建国", "advisor_title": "教授",
                "award_zh": "一等奖", "award_en": "First Prize"},
    "participation": {**_COMMON_SAMPLE, "kind": "participation", "recipient_type": "member",
                      "title_zh": "参赛证明", "title_en": "Certificate of Participation",
                      "recipient_name": "阿依古丽·买买提", "institution_zh": "重庆大学",
                      "institution_en": "Chongqing University"},
    "judge": {**_COMMON_SAMPLE, "kind": "judge", "recipient_type": "judge", "title_zh": "评审专家感谢状",
              "title_en": "Certificate of Appreciation", "recipient_name": "李华", "team_name": "",
              "project_title": "", "track_zh": "", "track_en": "", "institution_zh": "西南财经大学",
              "institution_en": "Southwestern University of Finance and Economics"},
}  # fmt: skip


def _em_width(text: str) -> float:
    """The width of `text` in em, roughly: wide (CJK) characters 1, the rest about half."""
    return sum(1.0 if unicodedata.east_asian_width(char) in "WF" else 0.55 for char in text)


#: (class, font size in pt, letter spacing in em); the name's line is 600 pt wide at most
_NAME_SIZES = (("name-xl", 42, 0.12), ("name-l", 34, 0.06), ("name-m", 27, 0), ("name-s", 21, 0),
               ("name-xs", 16, 0))  # fmt: skip
_NAME_LINE_PT = 600


def name_class(name: str) -> str:
    """The CSS class(es) that keep `name` on one line: the longer, the smaller (names with · too)."""
    name = name.strip()
    width = _em_width(name)
    if len(name) == 2 and width == 2:  # 张三: spaced out, as Chinese certificates do
        return "name-xl name-pair"
    for css_class, size, spacing in _NAME_SIZES:
        if (width + spacing * len(name)) * size <= _NAME_LINE_PT:
            return css_class
    return "name-xxs"


def title_class(title: str) -> str:
    return "title-short" if _em_width(title) <= 5 else "title-long"


# --- templates ----------------------------------------------------------------------------------


class TemplateProblem(ValueError):
    """A template that cannot be used, with a readable message (and its line, when known)."""

    def __init__(self, message: str, *, line: int | None = None):
        self.message, self.line = message, line
        super().__init__(f"line {line}: {message}" if line else message)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with `*` and `**` bounded so that a template cannot make huge strings or numbers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("the exponent is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                sized = isinstance(sequence, str | list | tuple) and isinstance(count, int)
                if sized and len(sequence) * count > MAX_OUTPUT_CHARS:
                    raise SecurityError("the repetition is too large")
        return super().call_binop(context, operator, left, right)


class _NoLoader(BaseLoader):
    """Certificate templates are self-contained: {% include %}, {% import %} and {% extends %} fail."""

    def get_source(self, environment, template):
        raise TemplateNotFound(
            template, f"a certificate template cannot include, import or extend another ({template})"
        )


def _environment() -> _Sandbox:
    return _Sandbox(autoescape=True, undefined=StrictUndefined, auto_reload=False, loader=_NoLoader())


def _template_line(error: BaseException) -> int | None:
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    traceback, line = error.__traceback__, None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _problem(error: BaseException) -> TemplateProblem:
    if isinstance(error, TemplateSyntaxError):
        message = f"syntax error: {error.message}"
    elif isinstance(error, SecurityError):
        message = f"not allowed in a template: {error}"
    elif isinstance(error, TemplateError):
        message = str(error.message if getattr(error, "message", None) else error)
    elif isinstance(error, RecursionError):
        message = "the template calls itself without end"
    else:
        message = f"{type(error).__name__}: {error}"
    return TemplateProblem(message, line=_template_line(error))


def _read(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


@cache
def base_css() -> str:
    """The stylesheet under every template (fonts, page, the default classes) — for the editor."""
    return _read("certificate.css")


#: the organizer's CSS box starts with this for a default template
DEFAULT_CUSTOM_CSS = (
    "/* Rules here come after the default certificate styles and may change any of them,\n"
    "   e.g.  .title { color: #1f4e79; }   .name span { border-bottom: none; } */\n"
)


def default_template(kind: str) -> tuple[str, str]:
    """(HTML, CSS) of the default template of `kind` (award, advisor, participation, judge)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of certificate {kind!r}")
    return _read(f"{kind}.html"), DEFAULT_CUSTOM_CSS


def with_css(html: str, css: str) -> str:
    """The organizer's CSS in the head of their HTML (taken literally: Jinja does not read it)."""
    if not (css or "").strip():
        return html
    block = "<style>{% raw %}" + css.replace("</", "<\\/") + "{% endraw %}</style>\n"
    match = re.search(r"</head\s*>", html, flags=re.IGNORECASE)
    if match:
        return html[: match.start()] + block + html[match.start() :]
    return block + html


# --- the URL fetcher ----------------------------------------------------------------------------


class ResourceRefused(ValueError):
    """A template asked for something that is not one of the app's static files."""


class StaticFetcher(URLFetcher):
    """Serves the app's own static files, and small `data:` images; refuses everything else.

    `/static/x` (resolved against APP_ORIGIN), `https://app.invalid/static/x` and `static:x` map to
    `static/x`; a path that resolves outside `static/` (.., symlinks, encoded slashes) is refused,
    as are `file:`, `http(s):` to any other host and every other scheme. WeasyPrint logs a refusal
    and leaves the resource out: the document still renders.
    """

    def __init__(self, static_dir: Path = STATIC_DIR):
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.static_dir = Path(static_dir).resolve()

    def resolve(self, url: str) -> Path:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "static":
            relative = unquote(parts.netloc + parts.path)
        elif scheme in ("http", "https") and f"{scheme}://{parts.netloc.lower()}" == APP_ORIGIN:
            path = unquote(parts.path)
            if not path.startswith("/static/"):
                raise ResourceRefused(f"only the app's static files may be used: {url[:200]}")
            relative = path.removeprefix("/static/")
        else:
            raise ResourceRefused(f"only the app's static files may be used: {url[:200]}")
        if "\x00" in relative or "\\" in relative:
            raise ResourceRefused(f"not a static file: {url[:200]}")
        target = (self.static_dir / relative.lstrip("/")).resolve()
        if not target.is_relative_to(self.static_dir) or not target.is_file():
            raise ResourceRefused(f"not a static file: {url[:200]}")
        return target

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return self._data(url)
        path = self.resolve(url)
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime_type})

    def _data(self, url: str) -> URLFetcherResponse:
        if len(url) > MAX_DATA_URL_CHARS:
            raise ResourceRefused("a data: URL this large is refused; use a static file")
        if not url[5:].lstrip().lower().startswith("image/"):
            raise ResourceRefused("only images may be given as data: URLs")
        response = urllib_request.DataHandler().data_open(urllib_request.Request(url))  # noqa: S310 - data: only
        return URLFetcherResponse(
            url, body=response.read(), headers={"Content-Type": response.headers.get_content_type()}
        )


# --- the renderer -------------------------------------------------------------------------------

#: appended to the font stacks of a certificate whose text needs the full face
_FULL_FACE_CSS = """
@font-face {
  font-family: "Certificate Sans Full";
  font-weight: 400;
  src: url(/static/fonts/NotoSansSC-Regular-Full.otf);
}
:root {
  --serif: "Certificate Serif", "Certificate Sans Full";
  --sans: "Certificate Sans", "Certificate Sans Full";
}
"""


@cache
def _ua_stylesheet() -> CSS:
    """WeasyPrint's HTML user-agent stylesheet with its `::marker`, `::footnote-*` and `::note-*`
    rules scoped to the elements that use them (li/summary, .footnote, .note) instead of every
    element: unscoped, they give each element of a certificate six pseudo-element styles to compute
    (~300 per page) — about 6 ms per certificate. A template using footnotes should give the
    footnote element the class `footnote`."""
    from weasyprint.html import UA, UA_COUNTER_STYLE

    ua = UA.replace("::marker {", "li::marker, summary::marker {")
    for pseudo in ("footnote-call", "footnote-marker"):
        ua = ua.replace(f"::{pseudo} {{", f".footnote::{pseudo} {{")
    for pseudo in ("note-call", "note-marker", "note-callback"):
        ua = ua.replace(f"::{pseudo} {{", f".note::{pseudo} {{")
    return CSS(string=ua, counter_style=UA_COUNTER_STYLE)


class _CertificateHTML(HTML):
    """A document with the scoped user-agent stylesheet (`_ua_stylesheet`)."""

    def _ua_stylesheets(self, forms=False):
        sheets = super()._ua_stylesheets(forms)
        return [_ua_stylesheet(), *sheets[1:]]


_PDF_OPTIONS = {"uncompressed_pdf": False, "optimize_images": False, "full_fonts": False, "hinting": False}


#: the drawing operations of a flat SVG (paths, rectangles, colours, line styles, transforms):
#: calls whose effect is all in their arguments, so the same calls draw the same image again
_REPLAYABLE = frozenset({
    "move_to", "line_to", "curve_to", "rectangle", "close", "fill", "stroke", "fill_and_stroke",
    "push_state", "pop_state", "transform", "set_color", "set_dash", "set_line_cap", "set_line_join",
    "set_miter_limit", "set_line_width",
})  # fmt: skip


class _Recorder:
    """Stands in for the PDF stream while an SVG draws itself: passes every call on and notes it.
    Any other call, or reading the stream's state, makes the drawing not replayable."""

    def __init__(self, stream):
        self._stream = stream
        self.calls: list[tuple[str, tuple, dict]] = []
        self.replayable = True

    def __getattr__(self, name: str):
        value = getattr(self._stream, name)
        if name not in _REPLAYABLE or not callable(value):
            self.replayable = False
            return value

        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return value(*args, **kwargs)

        return call


class _ReplayedSVG:
    """An SVG of the image cache (the border, the logos: the same on every certificate). WeasyPrint
    keeps the parsed tree but walks it and parses every path again each time the image is drawn —
    the border and logos cost ~4 ms a page that way; this draws it once per size, notes the stream
    calls it made, and makes the same calls on later pages. An SVG whose drawing needs more than
    those plain calls (opacity groups, patterns, text) is drawn by WeasyPrint every time."""

    def __init__(self, image: SVGImage):
        self._image = image
        self._drawings: dict[tuple[float, float], list[tuple[str, tuple, dict]] | None] = {}

    def __getattr__(self, name: str):
        return getattr(self._image, name)

    def draw(self, stream, concrete_width, concrete_height, style) -> None:
        key = (concrete_width, concrete_height)
        calls = self._drawings.get(key)
        if calls is not None:
            for name, args, kwargs in calls:
                getattr(stream, name)(*args, **kwargs)
            return
        if key in self._drawings:  # known not to be replayable
            self._image.draw(stream, concrete_width, concrete_height, style)
            return
        recorder = _Recorder(stream)
        self._image.draw(recorder, concrete_width, concrete_height, style)
        self._drawings[key] = recorder.calls if recorder.replayable else None


class CertificateRenderer:
    """Everything one process reuses from certificate to certificate. Create it once (`renderer()`).

    Rendering is serialized by a lock: Pango's font map and the image cache are not thread-safe
    (templates are filled outside it).
    """

    def __init__(self, static_dir: Path = STATIC_DIR):
        self.url_fetcher = StaticFetcher(static_dir)
        self.font_config = FontConfiguration()
        self.base_css = CSS(string=base_css(), base_url=BASE_URL, url_fetcher=self.url_fetcher,
                            font_config=self.font_config)  # fmt: skip
        self._full_face_css: CSS | None = None
        #: WeasyPrint's image cache: the border and logos are parsed once per process
        self.image_cache: dict = {}
        self.environment = _environment()
        self._lock = threading.RLock()
        self._compile = lru_cache(maxsize=32)(self._compile_uncached)
        self._parse_css = lru_cache(maxsize=32)(self._parse_css_uncached)

    # templates

    def _compile_uncached(self, source: str):
        try:
            template = self.environment.from_string(source)
        except Exception as error:  # noqa: BLE001 - every problem of a template is the template's
            raise _problem(error) from None
        return template, needs_full_face([source])

    def fill(self, template_html: str, values: Mapping[str, str]) -> str:
        """The template filled with `values` (plain strings) and the derived values: HTML."""
        template, _ = self._compile(template_html)
        context = self.context(values)
        size = 0
        chunks = []
        try:
            for chunk in template.generate(context):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateProblem(f"the template makes more than {MAX_OUTPUT_CHARS:,} characters")
                chunks.append(chunk)
        except TemplateProblem:
            raise
        except Exception as error:  # noqa: BLE001 - every problem of a template is the template's
            raise _problem(error) from None
        return "".join(chunks)

    def context(self, values: Mapping[str, str]) -> dict[str, Any]:
        if not isinstance(values, Mapping):
            raise TypeError("values must be a mapping of strings to strings")
        for key, value in values.items():
            if not isinstance(key, str) or type(value) is not str:
                raise TypeError(f"certificate values are plain strings; {key!r} is {type(value).__name__}")
        context: dict[str, Any] = dict(values)
        context["name_class"] = name_class(values.get("recipient_name", ""))
        context["title_class"] = title_class(values.get("title_zh", ""))
        url = values.get("verify_url", "")
        # segno's SVG: path data only (the URL is encoded in the modules, never written as text)
        context["qr_svg"] = Markup(self.qr_svg(url)) if url else ""  # noqa: S704  # nosec B704
        return context

    def validate(self, template_html: str, css: str = "", *, kind: str = "award") -> None:
        """Raise TemplateProblem unless the template fills with the sample values (no PDF made)."""
        self.fill(with_css(template_html, css), SAMPLE_VALUES[kind])

    @staticmethod
    def qr_svg(url: str) -> str:
        """The QR code of `url` as inline SVG (scales to its box; no quiet zone: the box has one).

        segno's SVG is already one compact path (horizontal runs, no transforms). The mask is fixed
        (pattern 2, vertical stripes, which every reader decodes) instead of scored: choosing among
        the eight costs ~4 ms per certificate in pure Python for no gain at this size and print
        quality."""
        qr = segno.make(url, error="m", micro=False, mask=QR_MASK)
        return qr.svg_inline(scale=1, border=0, omitsize=True, dark="#1d1a17", svgclass="qr-code", lineclass=None)

    # stylesheets

    def _parse_css_uncached(self, css: str) -> CSS:
        return CSS(string=css, base_url=BASE_URL, url_fetcher=self.url_fetcher, font_config=self.font_config)

    def full_face_css(self) -> CSS:
        """Parsed (and the full face loaded) the first time a certificate needs it."""
        if self._full_face_css is None:
            self._full_face_css = self._parse_css(_FULL_FACE_CSS)
        return self._full_face_css

    # documents

    def document(self, template_html: str, values: Mapping[str, str], css: str = ""):
        """A laid-out WeasyPrint Document of one certificate (not yet written). Call it holding the
        lock, between `_start()` and writing: the document's images live in the image cache."""
        _, template_needs_full = self._compile(template_html)
        html = self.fill(template_html, values)
        full_face = template_needs_full or needs_full_face(values.values()) or bool(css and needs_full_face([css]))
        with self._lock:
            stylesheets = [self.base_css]
            if full_face:
                stylesheets.append(self.full_face_css())
            if css:
                stylesheets.append(self._parse_css(css))
            try:
                document = _CertificateHTML(string=html, base_url=BASE_URL, url_fetcher=self.url_fetcher).render(
                    font_config=self.font_config, stylesheets=stylesheets, cache=self.image_cache
                )
                self._replay_cached_svgs()
            except RecursionError:
                raise TemplateProblem("the template's elements are nested too deeply") from None
        if len(document.pages) > MAX_PAGES:
            raise TemplateProblem(
                f"a certificate has at most {MAX_PAGES} pages; this template makes {len(document.pages)}"
            )
        return document

    def _replay_cached_svgs(self) -> None:
        """Let the next documents replay the cached SVGs' drawings (`_ReplayedSVG`)."""
        for url, image in list(self.image_cache.items()):
            if type(image) is SVGImage:
                self.image_cache[url] = _ReplayedSVG(image)

    def _start(self) -> None:
        """Before a PDF's first document: empty the image cache if it grew large (data: URLs are
        unique). Never between the documents of one PDF: they read their images when written."""
        if len(self.image_cache) > MAX_CACHED_IMAGES:
            self.image_cache.clear()

    def render(self, template_html: str, values: Mapping[str, str], *, metadata: Mapping[str, Any] | None = None,
               css: str = "") -> bytes:  # fmt: skip
        """One certificate as a PDF. `metadata`: title, subject, author (the issuer), keywords."""
        with self._lock:
            self._start()
            document = self.document(template_html, values, css)
            document.metadata = _metadata(metadata, fallback_title=values.get("serial", ""))
            return document.write_pdf(**_PDF_OPTIONS)

    def render_batch(self, items: Iterable[tuple], metadata: Mapping[str, Any] | None = None) -> bytes:
        """Many certificates as one multi-page PDF (for printing): items are (template HTML, values)
        or (template HTML, values, css). The fonts are subset and embedded once for all pages.

        Consecutive certificates whose filled templates have the same head (stylesheets, apart from
        the title) and the same CSS are laid out as one document, each body in its own
        `<section class="certificate-page">` starting a new page: parsing, styling and laying out
        one document of many pages costs about a quarter less per page than one document per
        certificate. A template without `<body>` tags is laid out on its own."""
        runs = self._runs(items)
        if not runs:
            raise ValueError("render_batch needs at least one certificate")
        with self._lock:
            self._start()
            documents = [self._run_document(key[0], run) if key else self.document(run[0][0], run[0][1], run[0][2])
                         for key, run in runs]  # fmt: skip
            combined = documents[0].copy([page for document in documents for page in document.pages])
            combined.metadata = _metadata(metadata, fallback_title="")
            return combined.write_pdf(**_PDF_OPTIONS)

    def render_many(
        self, items: Iterable[tuple], metadata: Iterable[Mapping[str, Any] | None]
    ) -> list[bytes | TemplateProblem]:
        """One PDF per certificate, as `render` makes for each (items as for `render_batch`, one
        metadata mapping per item), in the same order; a certificate its template cannot make gets
        its TemplateProblem instead of bytes.

        Certificates sharing a head are laid out together, as in `render_batch`, and each page is
        then written as a PDF of its own (its fonts subset to its own glyphs): about a sixth less
        work per certificate than laying each out alone. A run with a template problem, or whose
        certificates do not take exactly one page each, is rendered one by one, so a problem names
        only its own certificate."""
        items, metadata = list(items), list(metadata)
        results: list[bytes | TemplateProblem] = []
        with self._lock:
            self._start()
            for key, run in self._runs(items, keep_going=True):
                document = None
                if key is not None and len(run) > 1:
                    try:
                        document = self._run_document(key[0], run)
                    except TemplateProblem:
                        document = None
                if document is not None and len(document.pages) == len(run):
                    for page, (_, values, _, _, _) in zip(document.pages, run, strict=True):
                        single = document.copy([page])
                        single.metadata = _metadata(metadata[len(results)], fallback_title=values.get("serial", ""))
                        results.append(single.write_pdf(**_PDF_OPTIONS))
                    continue
                for template_html, values, css, _, _ in run:
                    try:
                        results.append(self.render(template_html, values, metadata=metadata[len(results)], css=css))
                    except TemplateProblem as problem:
                        results.append(problem)
        return results

    def _runs(self, items: Iterable[tuple], *, keep_going: bool = False) -> list[tuple[tuple | None, list[tuple]]]:
        """The items filled and grouped into runs of consecutive certificates that share a head and
        CSS: [(key or None, [(template HTML, values, css, filled HTML, body match)])]. With
        `keep_going`, an item whose template cannot be filled is a run of its own (key None)
        instead of a raised TemplateProblem."""
        runs: list[tuple[tuple | None, list[tuple]]] = []
        for item in items:
            template_html, values, css = item[0], item[1], item[2] if len(item) > 2 else ""
            try:
                filled = self.fill(template_html, values)
            except TemplateProblem:
                if not keep_going:
                    raise
                runs.append((None, [(template_html, values, css, "", None)]))
                continue
            body = _BODY.search(filled)
            key = (css, _TITLE.sub("", filled[: body.start()])) if body else None
            entry = (template_html, values, css, filled, body)
            if key is not None and runs and runs[-1][0] == key:
                runs[-1][1].append(entry)
            else:
                runs.append((key, [entry]))
        return runs

    def _run_document(self, css: str, run: list[tuple]):
        """One document of certificates whose filled templates share their head."""
        if len(run) == 1:
            return self.document(run[0][0], run[0][1], css)
        full_face = any(self._compile(template_html)[1] or needs_full_face(values.values())
                        for template_html, values, _, _, _ in run) or bool(css and needs_full_face([css]))  # fmt: skip
        first_filled, first_body = run[0][3], run[0][4]
        html = "".join(
            [first_filled[: first_body.end(1)]]
            + [f'<section class="certificate-page">{body.group(2)}</section>' for _, _, _, _, body in run]
            + [first_filled[first_body.start(3) :]]
        )
        stylesheets = [self.base_css, _page_sections_css()]
        if full_face:
            stylesheets.append(self.full_face_css())
        if css:
            stylesheets.append(self._parse_css(css))
        try:
            document = _CertificateHTML(string=html, base_url=BASE_URL, url_fetcher=self.url_fetcher).render(
                font_config=self.font_config, stylesheets=stylesheets, cache=self.image_cache
            )
            self._replay_cached_svgs()
        except RecursionError:
            raise TemplateProblem("the template's elements are nested too deeply") from None
        if len(document.pages) > MAX_PAGES * len(run):
            raise TemplateProblem(f"a certificate has at most {MAX_PAGES} pages")
        return document


#: a filled template's body: (1) the opening tag, (2) its content, (3) the closing tag onwards
_BODY = re.compile(r"(<body\b[^>]*>)(.*)(</body\s*>)", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title\b.*?</title\s*>", re.IGNORECASE | re.DOTALL)


@cache
def _page_sections_css() -> CSS:
    return CSS(string=".certificate-page + .certificate-page { break-before: page; }")


def _metadata(metadata: Mapping[str, Any] | None, *, fallback_title: str) -> DocumentMetadata:
    """The PDF's metadata from the caller, never from the template (which cannot attach files)."""
    metadata = dict(metadata or {})
    keywords = metadata.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [word.strip() for word in keywords.split(",") if word.strip()]
    author = metadata.get("author") or ""
    return DocumentMetadata(
        title=str(metadata.get("title") or fallback_title) or None,
        authors=[str(author)] if author else [],
        description=str(metadata.get("subject") or "") or None,
        keywords=[str(word) for word in keywords],
        generator="Chengdu–Chongqing Alliance Competition Platform",
        created=metadata.get("created"),
        lang="zh-CN",
    )


_renderer: CertificateRenderer | None = None
_renderer_lock = threading.Lock()


def renderer() -> CertificateRenderer:
    """This process's renderer, created on first use."""
    global _renderer
    if _renderer is None:
        with _renderer_lock:
            if _renderer is None:
                if not harfbuzz_subset_available():
                    log.warning("libharfbuzz-subset0 is missing: certificates will render ~100x slower")
                _renderer = CertificateRenderer()
    return _renderer


if __name__ == "__main__":  # pragma: no cover - a quick look: python -m competition.certificates.rendering
    kind = sys.argv[1] if len(sys.argv) > 1 else "award"
    html, css = default_template(kind)
    sys.stdout.buffer.write(renderer().render(html, SAMPLE_VALUES[kind], metadata={"title": kind}, css=css))
