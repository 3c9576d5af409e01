"""How fast certificates render: the same certificates three ways, in one run.

    .venv/bin/python benchmarks/certificates.py [--count 500] [--processes N] [--chunk PAGES]
                                                [--naive-sample N] [--profile]

The certificates: COUNT recipients of the four kinds in turn (award, advisor, participation,
judge), each with the default template of its kind, a serial, an unguessable code and the QR code of
its verification address. The names are varied: common two- to four-character names, long ones
with a middle dot (阿卜杜热合曼·买买提明), a very long one, and every seventh one with a rare character
(喆 堃 犇 昇 玥 …) outside the common GB2312 faces, which takes the full-face path.

1. naive: what a first implementation does — per certificate, a new Jinja template and a new
   `HTML(string=...).write_pdf()` with the system's Noto CJK (`Noto Serif CJK SC` / `Noto Sans CJK
   SC` by family name, from Debian's fonts-noto-cjk: full faces of 65,535 glyphs) and the default
   URL fetcher; nothing reused. One process.
2. app: the app's per-recipient pipeline as the bulk job runs it — the coverage check, then
   `CertificateRenderer.render_many` of RENDER_CHUNK (8) certificates (laid out together, then one
   PDF per recipient with its own metadata and font subsets; pre-subset faces registered once, base
   stylesheet parsed once, image cache, compiled templates), in a pool of one long-lived process
   per core, as the background workers are: each builds its renderer once and renders a first
   certificate before the clock starts (that start-up is printed on its own line).
3. batch: the app's print batch — `render_batch` of CHUNK certificates into one multi-page PDF,
   the chunks spread over the same workers.

`naive_per_s`, `app_per_s` and `batch_per_s` are certificates (pages) per second of wall time;
`speedup` and `batch_speedup` are app and batch against naive; `kb_per_pdf` is the mean size of the
app's per-recipient PDFs. `--naive-sample N` times only the first N naive certificates (stated on
its line) when the full naive run is too slow to wait for.

The last line is
`certificates count=N naive_per_s=… app_per_s=… speedup=… batch_per_s=… batch_speedup=… kb_per_pdf=…`.
Targets on the 2-core machine: speedup ≥ 6, batch_speedup ≥ 12, kb_per_pdf ≤ 150 (vector art).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import random
import re
import string
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from competition.certificates import rendering  # noqa: E402
from competition.certificates.issuing import RENDER_CHUNK  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏浩宇轩然欣怡梓涵子墨雨泽思远晨曦嘉怡"
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "慕容")
LONG_NAMES = ("阿卜杜热合曼·买买提明", "阿依古丽·买买提", "迪丽热巴·迪力木拉提", "娜仁其其格·巴特尔",
              "克里斯蒂娜·阿卜杜热合曼·买买提明·艾尔肯")  # fmt: skip
RARE = "喆堃犇昇玥赟昱珺琰堉"
TEAMS = ("青禾智农", "渝见未来", "蓉创空间", "巴蜀工匠", "山城数智", "锦江云链", "嘉陵星火", "天府慧眼")
PROJECTS = ("丘陵山区智慧农业无人机服务平台", "基于大模型的高校就业指导助手", "川渝非遗数字化传承计划",
            "城市更新中的社区养老驿站", "新能源汽车电池回收网络", "乡村振兴直播电商孵化器")  # fmt: skip
AWARDS = (
    ("一等奖", "First Prize"),
    ("二等奖", "Second Prize"),
    ("三等奖", "Third Prize"),
    ("优胜奖", "Honourable Mention"),
)
INSTITUTIONS = (("四川大学", "Sichuan University"), ("重庆大学", "Chongqing University"),
                ("电子科技大学", "University of Electronic Science and Technology of China"),
                ("西南财经大学", "Southwestern University of Finance and Economics"),
                ("西南大学", "Southwest University"), ("成都理工大学", "Chengdu University of Technology"))  # fmt: skip


def name_for(number: int, rng: random.Random) -> str:
    if number % 7 == 3:
        return rng.choice(SURNAMES) + rng.choice(RARE) + (rng.choice(GIVEN) if number % 2 else "")
    if number % 23 == 5:
        return LONG_NAMES[(number // 23) % len(LONG_NAMES)]
    if number % 11 == 2:
        return rng.choice(COMPOUND_SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def certificates(count: int, seed: int = 2026) -> list[tuple[str, dict[str, str]]]:
    """(kind, values) of COUNT certificates; the same every run."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_"
    items = []
    for number in range(count):
        kind = rendering.KINDS[number % len(rendering.KINDS)]
        values = dict(rendering.SAMPLE_VALUES[kind])
        code = "".join(rng.choice(alphabet) for _ in range(22))
        institution = INSTITUTIONS[number % len(INSTITUTIONS)]
        award = AWARDS[number % len(AWARDS)] if kind in ("award", "advisor") else ("", "")
        values.update(
            recipient_name=name_for(number, rng), serial=f"CCEC-2026-{number + 1:06d}", verification_code=code,
            verify_url=f"https://cy-alliance.example/verify/{code}", institution_zh=institution[0],
            institution_en=institution[1], award_zh=award[0], award_en=award[1],
        )  # fmt: skip
        if kind != "judge":
            values.update(team_name=rng.choice(TEAMS) + "团队", project_title=rng.choice(PROJECTS))
        items.append((kind, values))
    return items


# --- 1. naive -----------------------------------------------------------------------------------


def naive_stylesheet() -> str:
    """The base stylesheet with the system's full Noto CJK faces by family name, no @font-face."""
    css = re.sub(r"@font-face\s*\{[^}]*\}", "", rendering.base_css())
    return css.replace('"Certificate Serif"', '"Noto Serif CJK SC"').replace('"Certificate Sans"', '"Noto Sans CJK SC"')


def render_naive(kind: str, values: dict[str, str], stylesheet: str) -> bytes:
    import jinja2
    import segno
    from markupsafe import Markup
    from weasyprint import HTML

    template = jinja2.Environment(autoescape=True).from_string(rendering.default_template(kind)[0])
    qr = segno.make(values["verify_url"], error="m").svg_inline(scale=1, border=0, omitsize=True)
    html = template.render(**values, qr_svg=Markup(qr),  # noqa: S704 - segno's SVG
                           name_class=rendering.name_class(values["recipient_name"]),
                           title_class=rendering.title_class(values["title_zh"]))  # fmt: skip
    html = html.replace("</head>", f"<style>{stylesheet}</style></head>")
    html = html.replace('src="/static/', f'src="{rendering.STATIC_DIR.as_uri()}/')
    return HTML(string=html).write_pdf()


def run_naive(items, sample: int | None) -> tuple[float, int, float, float]:
    """Seconds per certificate, how many were timed, mean KB, CPU seconds per certificate."""
    stylesheet = naive_stylesheet()
    timed = items[:sample] if sample else items
    sizes = []
    started, cpu = time.perf_counter(), time.process_time()
    for kind, values in timed:
        sizes.append(len(render_naive(kind, values, stylesheet)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds / len(timed), len(timed), sum(sizes) / len(sizes) / 1024, cpu / len(timed)


# --- 2. and 3. the app --------------------------------------------------------------------------

#: this worker's renderer (rendering.renderer() unless --static-dir points elsewhere)
_engine: rendering.CertificateRenderer | None = None
_ready = None


def _start_worker(static_dir: str | None, ready) -> None:
    global _engine, _ready
    _engine = rendering.CertificateRenderer(Path(static_dir)) if static_dir else rendering.renderer()
    _ready = ready


def _warm_up(_) -> float:
    """Build this worker's renderer and render one certificate, then wait for the others: every
    worker takes exactly one of these. Returns the seconds it took."""
    started = time.perf_counter()
    _render_one(certificates(1)[0])
    seconds = time.perf_counter() - started
    _ready.wait()
    return seconds


def _render_one(item: tuple[str, dict[str, str]]) -> tuple[int, bool, float]:
    """(PDF bytes, whether the full face was needed, CPU seconds): one certificate alone."""
    return _render_recipients([item])[0]


def _render_recipients(items: list[tuple[str, dict[str, str]]]) -> list[tuple[int, bool, float]]:
    """What the bulk job does with RENDER_CHUNK certificates: the coverage check of each, then
    `render_many` (laid out together, one PDF each). Per certificate: (PDF bytes, whether the full
    face was needed, its share of the CPU seconds)."""
    cpu = time.process_time()
    prepared, metadata = [], []
    for kind, values in items:
        if rendering.check_coverage(list(values.values())):
            raise RuntimeError(f"uncovered characters in {values['recipient_name']}")
        html, css = rendering.default_template(kind)
        prepared.append((rendering.with_css(html, css), values))
        metadata.append({"title": f"{values['title_zh']} {values['serial']}", "subject": values["competition_zh"],
                         "author": values["issuer_zh"]})  # fmt: skip
    pdfs = _engine.render_many(prepared, metadata)
    share = (time.process_time() - cpu) / len(items)
    return [
        (len(pdf), rendering.needs_full_face(values.values()), share)
        for pdf, (_, values) in zip(pdfs, items, strict=True)
    ]


def _render_chunk(chunk: list[tuple[str, dict[str, str]]]) -> tuple[int, int, float]:
    """(PDF bytes, pages, CPU seconds)."""
    cpu = time.process_time()
    items = []
    for kind, values in chunk:
        html, css = rendering.default_template(kind)
        items.append((rendering.with_css(html, css), values))
    pdf = _engine.render_batch(items, metadata={"title": "CCEC 2026 certificates"})
    return len(pdf), len(chunk), time.process_time() - cpu


class WarmPool:
    """One long-lived worker per process, each with its renderer built and warmed up before timing."""

    def __init__(self, processes: int, static_dir: str | None):
        context = multiprocessing.get_context("fork")
        ready = context.Barrier(processes)
        self.pool = context.Pool(processes, initializer=_start_worker, initargs=(static_dir, ready))
        started = time.perf_counter()
        self.warm_up = max(self.pool.map(_warm_up, range(processes), chunksize=1))
        self.start_up = time.perf_counter() - started

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.terminate()
        self.pool.join()


def run_app(pool: WarmPool, items) -> tuple[float, float, int, float]:
    """Seconds in all, mean KB, how many used the full face, CPU seconds per certificate."""
    chunks = [items[start : start + RENDER_CHUNK] for start in range(0, len(items), RENDER_CHUNK)]
    started = time.perf_counter()
    results = [result for chunk in pool.pool.map(_render_recipients, chunks, chunksize=1) for result in chunk]
    seconds = time.perf_counter() - started
    return (seconds, sum(size for size, _, _ in results) / len(results) / 1024, sum(full for _, full, _ in results),
            sum(cpu for _, _, cpu in results) / len(results))  # fmt: skip


def run_batch(pool: WarmPool, items, chunk: int) -> tuple[float, int, float, float]:
    """Seconds in all, number of PDFs, KB per page, CPU seconds per page."""
    chunks = [items[start : start + chunk] for start in range(0, len(items), chunk)]
    started = time.perf_counter()
    results = pool.pool.map(_render_chunk, chunks, chunksize=1)
    seconds = time.perf_counter() - started
    assert sum(pages for _, pages, _ in results) == len(items)
    return (seconds, len(results), sum(size for size, _, _ in results) / len(items) / 1024,
            sum(cpu for _, _, cpu in results) / len(items))  # fmt: skip


def profile_app(items) -> None:
    global _engine
    _engine = rendering.renderer()
    for item in items[:3]:
        _render_one(item)
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items[:40]:
        _render_one(item)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(f"--- profile: 40 certificates, one process\n{out.getvalue()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="default: one per core")
    parser.add_argument("--chunk", type=int, default=0, help="pages per print PDF (default: count / 2 per process)")
    parser.add_argument("--naive-sample", type=int, default=0, help="time only the first N naive certificates")
    parser.add_argument("--profile", action="store_true", help="profile the app's pipeline in one process")
    parser.add_argument(
        "--static-dir", help="render the app's way from another static folder (e.g. other font subsets)"
    )
    args = parser.parse_args(argv)
    if not rendering.harfbuzz_subset_available():
        print("warning: libharfbuzz-subset0 is missing: WeasyPrint subsets with fontTools, ~100x slower")

    items = certificates(args.count)
    rare = sum(rendering.needs_full_face(values.values()) for _, values in items)
    longest = max((values["recipient_name"] for _, values in items), key=len)
    print(f"data: {args.count} certificates of {len(rendering.KINDS)} kinds, {rare} with a rare character "
          f"(full face), longest name {longest} ({len(longest)} characters); {args.processes} processes")  # fmt: skip
    if args.profile:
        profile_app(items)

    chunk = args.chunk or max(1, -(-args.count // (2 * args.processes)))
    with WarmPool(args.processes, args.static_dir) as pool:
        print(f"workers: {args.processes} started in {pool.start_up:.1f} s, each building its renderer and "
              f"rendering a first certificate ({pool.warm_up:.1f} s); timing starts after")  # fmt: skip
        batch_seconds, pdfs, kb_per_page, batch_cpu = run_batch(pool, items, chunk)
        app_seconds, kb_per_pdf, full, app_cpu = run_app(pool, items)
    print(f"batch: {args.count} pages in {batch_seconds:.1f} s ({batch_seconds / args.count * 1000:.0f} ms per page), "
          f"{pdfs} PDFs of up to {chunk} pages across {args.processes} processes, {kb_per_page:.0f} KB per page")  # fmt: skip
    print(f"app: {args.count} certificates in {app_seconds:.1f} s ({app_seconds / args.count * 1000:.0f} ms each) "
          f"with {args.processes} processes: coverage check, then render_many of {RENDER_CHUNK}: one PDF each; "
          f"{kb_per_pdf:.0f} KB per PDF, {full} with the full face")  # fmt: skip

    naive_each, naive_timed, naive_kb, naive_cpu = run_naive(items, args.naive_sample or None)
    sample_note = "" if naive_timed == args.count else f" (timed on the first {naive_timed} of {args.count})"
    print(f"naive: {naive_each * 1000:.0f} ms per certificate{sample_note}, one process, system Noto CJK, "
          f"nothing reused; {naive_kb:.0f} KB per PDF")  # fmt: skip

    load = os.getloadavg()[0]
    print(f"cpu: naive {naive_cpu * 1000:.0f} ms per certificate, app {app_cpu * 1000:.0f} ms, batch {batch_cpu * 1000:.0f} ms "
          f"per page (each in its process); with every core free: speedup about "
          f"{naive_cpu * args.processes / app_cpu:.1f}, batch_speedup about {naive_cpu * args.processes / batch_cpu:.1f} "
          f"(load average now {load:.1f} on {os.cpu_count()} cores)")  # fmt: skip
    naive_per_s = 1 / naive_each
    app_per_s = args.count / app_seconds
    batch_per_s = args.count / batch_seconds
    print(
        f"certificates count={args.count} naive_per_s={naive_per_s:.2f} app_per_s={app_per_s:.2f} "
        f"speedup={app_per_s / naive_per_s:.1f} batch_per_s={batch_per_s:.2f} "
        f"batch_speedup={batch_per_s / naive_per_s:.1f} kb_per_pdf={kb_per_pdf:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
