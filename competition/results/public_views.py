"""What the public and the teams see of a round's results: only snapshots, never a live computation.

- `/results/<code>/<round>`: the public results (no log-in): the published snapshot, else the
  provisional list under notice (公示), per track, bilingual, scores only when the round shows them;
  404 while neither exists. Three queries (competition, round, snapshot without its rows), whatever
  the number of teams: the rendered tables are kept per (snapshot, language) in this process
  (`PAGE_CACHE`). A snapshot never changes once written and a new publication is a new snapshot
  with a new id, so the cache needs no invalidation: the key changes with the snapshot.
  Anonymous visitors (most of the traffic on publication day) get the whole page from `FULL_PAGES`
  after one small query (the current snapshot and the names the page shows): no template is
  rendered, only their own CSRF token is put in, and the gzip body is prepared too (2,000 rows are
  700 KB of HTML: compressing them per request would cost more than everything else);
- `/teams/<team>/results`: a team's published results with the per-criterion means and the judges'
  comments, anonymized (Judge A, B, …); its members only, 404 before publication;
- `/teams/<team>/rounds/<round>/appeal`: the team's appeals during the notice, and the answers;
- `/competitions/<code>/rounds/<round>/appeals`: the organizers read and answer them;
- `/appeals/<id>/attachment`: an appeal's attachment, for the team and the organizers only.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import bindparam, case, event, exists, select
from sqlalchemy.orm import defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from competition.accounts.models import User
from competition.competitions.models import Competition, CompetitionState
from competition.competitions.policies import can_view_competition
from competition.core import storage
from competition.core.i18n import current_locale
from competition.core.permissions import require
from competition.core.time import utcnow
from competition.core.web import accepts_uploads, commit_or_show
from competition.extensions import db
from competition.results import appeals
from competition.results.models import AWARD_LABELS, Appeal, AppealState, ResultSnapshot, SnapshotKind
from competition.results.policies import can_answer_appeals, can_file_appeal, can_view_appeal, can_view_team_results
from competition.results.public_forms import AnswerForm, AppealForm
from competition.rounds.models import Round
from competition.submissions.models import Submission, SubmissionState
from competition.teams import queries
from competition.teams.models import Team

bp = Blueprint("results", __name__)
log = logging.getLogger(__name__)

#: a download runs nothing and may not be framed
ATTACHMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
MIMETYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}
AWARD_BADGES = {
    "gold": "text-bg-warning",
    "silver": "text-bg-secondary",
    "bronze": "text-bg-danger",
    "honourable": "text-bg-info",
}


# --- the rendered public tables, per snapshot and language ----------------------------------------


class RenderedPages:
    """A small in-process LRU of rendered HTML keyed by (snapshot id, its creation time, round, language).

    Entries never go stale: a snapshot's content is never changed after it is written, and a new
    publication (or notice) is a new row with a new id, so the page reads the new key at once and the
    old entry simply ages out. The creation time in the key guards against an id reused by the
    database after a round (and its snapshots) was deleted. Safe across threads; each worker process
    keeps its own copy.
    """

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[tuple, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: tuple) -> Markup | None:
        """The entry if it is kept (its age is not refreshed)."""
        with self._lock:
            return self._items.get(key)

    def get_or_render(self, key: tuple, render: Callable[[], str]) -> Markup:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        rendered = Markup(render())  # noqa: S704 - our own template's output, autoescaped  # nosec B704
        with self._lock:
            self._items[key] = rendered
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return rendered

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


PAGE_CACHE = RenderedPages()


def _localized_field(row: dict, name: str, english: bool | None = None) -> str:
    """`name_en` in English when there is one, else `name_zh` (snapshot rows carry both). `english`
    spares looking up the language once per row of a long table."""
    if english is None:
        english = current_locale() == "en"
    if english and row.get(f"{name}_en"):
        return row[f"{name}_en"]
    return row.get(f"{name}_zh") or row.get(f"{name}_en") or ""


def _award(code: str | None) -> dict | None:
    if not code:
        return None
    return {"code": code, "label": str(AWARD_LABELS.get(code, code)), "badge": AWARD_BADGES.get(code, "text-bg-light")}


def _tracks(rows: list[dict]) -> list[dict]:
    """The rows grouped per track, in the snapshot's order (track, then rank). The language and each
    award's label are looked up once, not once per row (5,000 rows: a third of the rendering)."""
    english = current_locale() == "en"
    awards = {code: _award(code) for code in {row.get("award") for row in rows}}
    tracks: dict[int, dict] = {}
    for row in rows:
        track = tracks.get(row["track_id"])
        if track is None:
            track = tracks[row["track_id"]] = {"name": _localized_field(row, "track", english), "rows": []}
        track["rows"].append({
            "rank": row.get("rank"),
            "project": row.get("project_title") or "",
            "team": row.get("team_name") or "",
            "institution": _localized_field(row, "institution", english),
            "award": awards[row.get("award")],
            "advances": bool(row.get("advances")),
            "score": row.get("score"),
        })  # fmt: skip
    return list(tracks.values())


METHOD_TEXTS = {
    "mean": lambda s: _("A team's score is the mean of its judges' totals."),
    "trimmed": lambda s: _(
        "With at least %(count)s judges, a team's highest and lowest totals are dropped and the others averaged; "
        "with fewer judges, all totals are averaged.",
        count=s.get("trim_min_judges", 5),
    ),
    "median": lambda s: _("A team's score is the median of its judges' totals."),
    "zscore": lambda s: _(
        "Each judge's totals are standardized and rescaled to the round's mean and spread, then averaged, so that "
        "strict and lenient judges weigh the same."
    ),
}
ROUNDING_TEXTS = {
    "half_up": lambda: _("to the nearest whole number (halves up)"),
    "down": lambda: _("down"),
    "up": lambda: _("up"),
}


def _number(value) -> str:
    return f"{float(value):g}"


def _award_text(settings: dict) -> str | None:
    mode = settings.get("award_mode")
    tiers = [(str(AWARD_LABELS.get(name, name)), value) for name, value in settings.get("award_tiers") or []]
    if mode == "proportion" and tiers:
        parts = "; ".join(f"{label} {_number(value)} %" for label, value in tiers)
        return _("Awards go by share of the ranked teams of each track: %(tiers)s.", tiers=parts)
    if mode == "ratio" and tiers:
        return _(
            "%(percent)s %% of the ranked teams of each track are awarded, split %(names)s = %(ratio)s.",
            percent=_number(settings.get("awarded_percent", 0)),
            names=" : ".join(label for label, _value in tiers),
            ratio=" : ".join(_number(value) for _label, value in tiers),
        )
    if mode == "rank" and tiers:
        parts = "; ".join(_("%(award)s up to rank %(rank)s", award=label, rank=int(value)) for label, value in tiers)
        return _("Awards go by rank in each track: %(tiers)s.", tiers=parts)
    if mode == "score" and tiers:
        parts = "; ".join(_("%(award)s from %(score)s points", award=label, score=_number(value)) for label, value in tiers)  # fmt: skip
        return _("Awards go by score: %(tiers)s.", tiers=parts)
    return None


def _method(settings: dict) -> dict:
    method = METHOD_TEXTS.get(settings.get("method", "trimmed"), METHOD_TEXTS["trimmed"])(settings)
    rounding = ROUNDING_TEXTS.get(settings.get("rounding", "half_up"), ROUNDING_TEXTS["half_up"])()
    return {
        "method": method,
        "scores": _("Scores are rounded to 2 decimals (halves away from zero), at the end only."),
        "rounding": _(
            "A share of teams (for awards or advancement) is counted in places, rounded %(rule)s; teams tied at a "
            "cut-off all get the better place.",
            rule=rounding,
        ),
        "ties": _("Equal scores are separated by the tie-breaks set for the round; teams equal on all of them share a rank."),  # fmt: skip
        "awards": _award_text(settings),
        "advancement": _("Teams marked “advances” go on to the next round.")
        if settings.get("advancement_mode", "none") != "none"
        else None,
    }  # fmt: skip


def _public_snapshot(round_id: int) -> ResultSnapshot | None:
    """The round's public snapshot (published, else the notice) in one query, its big columns deferred:
    they are read only when the tables are rendered, not when they come from PAGE_CACHE."""
    return db.session.scalar(
        select(ResultSnapshot)
        .where(
            ResultSnapshot.round_id == round_id,
            ResultSnapshot.superseded_at.is_(None),
            ResultSnapshot.kind.in_([SnapshotKind.PUBLISHED.value, SnapshotKind.NOTICE.value]),
        )
        .options(defer(ResultSnapshot.rows), defer(ResultSnapshot.feedback), defer(ResultSnapshot.statistics))
        .order_by(case((ResultSnapshot.kind == SnapshotKind.PUBLISHED.value, 0), else_=1), ResultSnapshot.id.desc())
        .limit(1)
    )


def _visible_round(code: str, round_id: int) -> Round:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == competition.id, hide=True)
    set_committed_value(round_, "competition", competition)  # already loaded: no second query
    return round_


def _render_tables(snapshot: ResultSnapshot) -> str:
    settings = snapshot.settings or {}
    return render_template(
        "results/public/_tables.html",
        tracks=_tracks(snapshot.rows or []),
        show_scores=bool(settings.get("show_scores", True)),
        explanation=_method(settings),
    )


def _tables_key(snapshot_id: int, created_at, round_id: int) -> tuple:
    return (snapshot_id, created_at.isoformat(), round_id, current_locale())


def _public_page(code: str, round_id: int) -> tuple[str, ResultSnapshot, Markup]:
    """The page rendered for the visitor: its HTML, the snapshot shown and the tables (from PAGE_CACHE)."""
    round_ = _visible_round(code, round_id)
    snapshot = _public_snapshot(round_.id)
    require(snapshot is not None, hide=True)
    key = _tables_key(snapshot.id, snapshot.created_at, snapshot.round_id)
    tables = PAGE_CACHE.get_or_render(key, lambda: _render_tables(snapshot))
    html = render_template(
        "results/public/page.html",
        competition=round_.competition,
        round_=round_,
        snapshot=snapshot,
        final=snapshot.kind == SnapshotKind.PUBLISHED,
        notice_running=_notice_running(snapshot.kind, snapshot.notice_until),
        tables=tables,
    )
    return html, snapshot, tables


def _notice_running(kind: str, notice_until) -> bool:
    return bool(kind == SnapshotKind.NOTICE and notice_until and utcnow() < notice_until)


@bp.get("/results/<code>/<int:round_id>")
def public(code: str, round_id: int):
    if _anonymous_and_plain():
        answer = _cached_answer(code, round_id)
        if answer is not None:
            return answer
    return _public_page(code, round_id)[0]


# --- the whole page for anonymous visitors ------------------------------------------------------------
#
# An anonymous visitor's page depends only on the snapshot, the competition's and round's names and
# state, the language, the path and the time (is the notice still running?) — all in the key — and
# on the visitor's CSRF token (the language switch in the header), which is put in for each answer.
# Logged-in visitors (their own navigation), visitors with messages waiting (flashed) and URLs with a
# query string take the ordinary path. An entry is used only while the PAGE_CACHE entry of its
# tables is still there (clearing PAGE_CACHE clears these too) and for FULL_PAGE_SECONDS at most, so
# whatever else a later template might show to anonymous visitors is never older than that.
#
# No shared cache (nginx) may keep these pages: each holds its visitor's token. So the answer is
# "private, no-cache" with an ETag (the page and the visitor's session token): a browser revalidates
# and gets a 304 while nothing changed.

FULL_PAGE_SECONDS = 60
GZIP_LEVEL = 6
_CSRF_PLACEHOLDER = "csrf-placeholder-" + hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:24]


class _Crc32Continuation:
    """zlib.crc32(data, start) for a fixed `data` and any `start`, in 32 steps instead of a pass
    over the data: the function is affine over GF(2) in `start`, so it is known from its value at 0
    and at the 32 single bits (33 passes, once per cached page)."""

    def __init__(self, data: bytes):
        self.zero = zlib.crc32(data, 0)
        self.bits = [zlib.crc32(data, 1 << bit) ^ self.zero for bit in range(32)]

    def __call__(self, start: int) -> int:
        value = self.zero
        for bit in range(32):
            if start >> bit & 1:
                value ^= self.bits[bit]
        return value


class SplicedPage:
    """A page cut at its CSRF token(s), ready to be sent plain or gzip-compressed with the visitor's
    own token in place: the parts are deflated once, each ended by a full flush (byte-aligned, no
    reference to what came before), the token goes in as a stored block, and the CRC of the whole
    is continued over the fixed parts without reading them again. One gzip member: every browser
    reads it."""

    def __init__(self, html: str, placeholder: str):
        self.parts = [part.encode() for part in html.split(placeholder)]
        self.deflated = []
        for index, part in enumerate(self.parts):
            compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
            last = index == len(self.parts) - 1
            self.deflated.append(
                compressor.compress(part) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)
            )
        self.first_crc = zlib.crc32(self.parts[0])
        self.continuations = [_Crc32Continuation(part) for part in self.parts[1:]]
        self.fixed_length = sum(len(part) for part in self.parts)

    def plain(self, token: bytes) -> bytes:
        return token.join(self.parts)

    def gzip(self, token: bytes) -> bytes:
        stored = b"".join(
            b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
            for chunk in (token[start : start + 0xFFFF] for start in range(0, max(len(token), 1), 0xFFFF))
        )  # a non-final stored block (BFINAL 0, BTYPE 00, padded to the byte), LEN, NLEN, the bytes
        crc = self.first_crc
        body = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", self.deflated[0]]  # gzip header, no name/time
        for continuation, deflated in zip(self.continuations, self.deflated[1:], strict=True):
            crc = continuation(zlib.crc32(token, crc))
            body += [stored, deflated]
        length = self.fixed_length + len(token) * len(self.continuations)
        body.append(struct.pack("<II", crc, length & 0xFFFFFFFF))
        return b"".join(body)


@dataclass(frozen=True)
class FullPage:
    tables: Markup  # the PAGE_CACHE entry the page was built with: valid while that entry is kept
    page: SplicedPage
    tag: str
    expires: float


class FullPages:
    """An in-process LRU of FullPage, per worker (like PAGE_CACHE)."""

    def __init__(self, size: int = 16):
        self.size = size
        self._items: OrderedDict[tuple, FullPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> FullPage | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple, entry: FullPage) -> None:
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


FULL_PAGES = FullPages()


def _anonymous_and_plain() -> bool:
    return not current_user.is_authenticated and not request.query_string and "_flashes" not in session


#: built once (with bound parameters): this statement runs on every anonymous visit
_PAGE_FACTS = (
    select(
        Competition.state,
        Competition.name_zh,
        Competition.name_en,
        Round.name_zh,
        Round.name_en,
        ResultSnapshot.id,
        ResultSnapshot.created_at,
        ResultSnapshot.kind,
        ResultSnapshot.notice_until,
        ResultSnapshot.reason,
    )
    .join(Round, (Round.competition_id == Competition.id) & (Round.id == bindparam("round_id")))
    .join(ResultSnapshot, ResultSnapshot.round_id == Round.id)
    .where(
        Competition.code == bindparam("code"),
        ResultSnapshot.superseded_at.is_(None),
        ResultSnapshot.kind.in_([SnapshotKind.PUBLISHED.value, SnapshotKind.NOTICE.value]),
    )
    .order_by(case((ResultSnapshot.kind == SnapshotKind.PUBLISHED.value, 0), else_=1), ResultSnapshot.id.desc())
    .limit(1)
)


#: how long a process reuses the facts of a page without asking the database again. A change made
#: in this process (a publication, a renamed round, a competition back to draft) clears them at once
#: (`_forget_page_facts`); another process sees it at most this long afterwards. On publication day
#: this takes the database — three round trips, more than half of an anonymous visit's cost — off
#: nearly every request.
PAGE_FACTS_SECONDS = 1.0
_page_facts_memo: dict[tuple[str, int], tuple[object, float]] = {}
_clock = time.monotonic


def _page_facts(code: str, round_id: int):
    """What the page shows outside its tables, and which snapshot it shows (the same choice as
    _public_snapshot); None without a public snapshot. One query, at most once a second."""
    key, now = (code, round_id), _clock()
    remembered = _page_facts_memo.get(key)
    if remembered is not None and remembered[1] > now:
        return remembered[0]
    facts = db.session.execute(_PAGE_FACTS, {"code": code, "round_id": round_id}).first()
    if len(_page_facts_memo) > 1024:  # a crawler walking many rounds
        _page_facts_memo.clear()
    _page_facts_memo[key] = (facts, now + PAGE_FACTS_SECONDS)
    return facts


def _forget_page_facts(*_args) -> None:
    _page_facts_memo.clear()


for _model in (ResultSnapshot, Round, Competition):
    for _change in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _change, _forget_page_facts)


def _cached_answer(code: str, round_id: int) -> Response | None:
    facts = _page_facts(code, round_id)
    if facts is None or facts.state == CompetitionState.DRAFT:
        return None  # the ordinary path answers (a 404)
    tables_key = _tables_key(facts.id, facts.created_at, round_id)
    running = _notice_running(facts.kind, facts.notice_until)
    key = (*facts[:5], facts.kind, facts.notice_until, bool(facts.reason), tables_key, running, request.path)
    entry = FULL_PAGES.get(key)
    if entry is None or entry.tables is not PAGE_CACHE.peek(tables_key) or entry.expires < time.monotonic():
        entry = _build_full_page(code, round_id, facts.id)
        FULL_PAGES.put(key, entry)
    return _answer(entry)


def _build_full_page(code: str, round_id: int, snapshot_id: int) -> FullPage:
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    setattr(g, field, _CSRF_PLACEHOLDER)  # what flask_wtf's generate_csrf() returns in this request
    try:
        html, snapshot, tables = _public_page(code, round_id)
    finally:
        g.pop(field, None)
    if snapshot.id != snapshot_id:  # published in between: build again on the next request
        tables = Markup("")
    tag = hashlib.sha256(html.encode()).hexdigest()[:20]
    return FullPage(tables, SplicedPage(html, _CSRF_PLACEHOLDER), tag, time.monotonic() + FULL_PAGE_SECONDS)


def _answer(entry: FullPage) -> Response:
    token = generate_csrf()  # the visitor's own (a new session gets one, as on any page with a form)
    raw = str(session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), ""))
    compressed = request.accept_encodings["gzip"] > 0
    tag = f"{entry.tag}-{hashlib.sha256(raw.encode()).hexdigest()[:12]}" + ("-gz" if compressed else "")
    headers = {"Cache-Control": "private, no-cache", "Vary": "Accept-Encoding, Accept-Language, Cookie"}
    if request.if_none_match.contains_weak(tag):
        response = Response(status=304, headers=headers)
    else:
        body = entry.page.gzip(token.encode()) if compressed else entry.page.plain(token.encode())
        response = Response(body, mimetype="text/html", headers=headers)
        if compressed:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(tag, weak=True)
    return response


@bp.app_template_global("published_results")
def published_results(competition: Competition) -> list[dict]:
    """For the competition page: the rounds whose results are public, each with final or provisional
    (one query, the snapshots' rows left unread)."""
    found = db.session.execute(
        select(Round, ResultSnapshot.kind, ResultSnapshot.created_at, ResultSnapshot.notice_until)
        .join(ResultSnapshot, ResultSnapshot.round_id == Round.id)
        .where(
            Round.competition_id == competition.id,
            ResultSnapshot.superseded_at.is_(None),
            ResultSnapshot.kind.in_([SnapshotKind.PUBLISHED.value, SnapshotKind.NOTICE.value]),
        )
        .order_by(Round.position, Round.id, ResultSnapshot.id.desc())
    ).all()
    rounds: dict[int, dict] = {}
    for round_, kind, created_at, notice_until in found:
        entry = rounds.setdefault(round_.id, {"round": round_, "final": False, "at": created_at, "until": notice_until})
        if kind == SnapshotKind.PUBLISHED and not entry["final"]:
            entry.update(final=True, at=created_at, until=None)
    return list(rounds.values())


# --- a team's published results and feedback ------------------------------------------------------


def _published_for_team(team: Team) -> list[tuple[Round, ResultSnapshot]]:
    """The published snapshots of the rounds the team handed something in for, in round order."""
    return [
        (round_, snapshot)
        for round_, snapshot in db.session.execute(
            select(Round, ResultSnapshot)
            .join(ResultSnapshot, ResultSnapshot.round_id == Round.id)
            .join(Submission, (Submission.round_id == Round.id) & (Submission.team_id == team.id))
            .where(ResultSnapshot.kind == SnapshotKind.PUBLISHED.value, ResultSnapshot.superseded_at.is_(None))
            .options(defer(ResultSnapshot.statistics))
            .order_by(Round.position, Round.id)
        )
    ]


def _feedback_view(feedback: dict | None) -> dict:
    feedback = feedback or {}
    criteria = feedback.get("criteria") or []
    names = {item["code"]: _localized_field(item, "name") for item in criteria}
    judges: dict[str, list[dict]] = {}
    for comment in feedback.get("comments") or []:
        judges.setdefault(comment["judge"], []).append(
            {"criterion": names.get(comment.get("criterion") or ""), "text": comment["text"]}
        )
    return {
        "criteria": [{"name": names[item["code"]], "mean": item["mean"], "max": item["max"]} for item in criteria],
        "judges": sorted(judges.items()),
    }


@bp.app_template_global("team_result_links")
def team_result_links(team: Team) -> dict:
    """For the team page: whether results are published for the team, and the rounds where it may
    appeal now or has appealed (two small queries, no snapshot rows read)."""
    now = utcnow()
    published = db.session.scalar(
        select(
            exists()
            .where(ResultSnapshot.kind == SnapshotKind.PUBLISHED.value, ResultSnapshot.superseded_at.is_(None))
            .where(
                ResultSnapshot.round_id.in_(
                    select(Submission.round_id).where(
                        Submission.team_id == team.id, Submission.state == SubmissionState.SUBMITTED.value
                    )
                )
            )
        )
    )
    current_published = select(ResultSnapshot.id).where(
        ResultSnapshot.round_id == Round.id,
        ResultSnapshot.kind == SnapshotKind.PUBLISHED.value,
        ResultSnapshot.superseded_at.is_(None),
    )
    in_notice = (
        select(ResultSnapshot.id)
        .where(
            ResultSnapshot.round_id == Round.id,
            ResultSnapshot.kind == SnapshotKind.NOTICE.value,
            ResultSnapshot.superseded_at.is_(None),
            ResultSnapshot.notice_until > now,
        )
        .exists()
    )
    has_submission = select(Submission.id).where(Submission.round_id == Round.id, Submission.team_id == team.id)
    has_appeal = select(Appeal.id).where(Appeal.round_id == Round.id, Appeal.team_id == team.id)
    appeal_rounds = db.session.scalars(
        select(Round)
        .where(Round.competition_id == team.competition_id)
        .where((in_notice & has_submission.exists() & ~current_published.exists()) | has_appeal.exists())
        .order_by(Round.position, Round.id)
    ).all()
    return {"published": bool(published), "appeal_rounds": appeal_rounds}


@bp.get("/teams/<int:team_id>/results")
@login_required
def team_results(team_id: int):
    team = queries.team_with_people(team_id)
    require(team is not None and can_view_team_results(current_user, team), hide=True)
    entries = []
    for round_, snapshot in _published_for_team(team):
        row = next((row for row in snapshot.rows or [] if row.get("team_id") == team.id), None)
        if row is None:
            continue
        settings = snapshot.settings or {}
        entries.append({
            "round": round_,
            "snapshot": snapshot,
            "track": _localized_field(row, "track"),
            "rank": row.get("rank"),
            "ranked": sum(1 for other in snapshot.rows if other.get("track_id") == row.get("track_id")
                          and other.get("rank") is not None),
            "award": _award(row.get("award")),
            "advances": bool(row.get("advances")),
            "score": row.get("score") if settings.get("show_scores", True) else None,
            "show_scores": bool(settings.get("show_scores", True)),
            "feedback": _feedback_view((snapshot.feedback or {}).get(str(row.get("submission_id")))),
        })  # fmt: skip
    require(bool(entries), hide=True)
    return render_template("results/public/team.html", team=team, entries=entries)


# --- appeals --------------------------------------------------------------------------------------


def _appeal_limit(team_id: int, round_id: int) -> int:
    return appeals.ATTACHMENT_MAX_BYTES


def _appeal_page_data(team_id: int, round_id: int) -> tuple[Team, Round, object, list[Appeal]]:
    """The team, the round, the notice in force (or None) and the team's appeals; 404 unless the
    visitor is a member and the team may appeal now or has appealed."""
    team = queries.team_with_people(team_id)
    require(team is not None and can_file_appeal(current_user, team), hide=True)
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == team.competition_id, hide=True)
    notice = appeals.notice_in_force(round_, utcnow())
    if notice is not None and not appeals.takes_part(round_, team, notice):
        notice = None
    filed = appeals.appeals_of(round_, team)
    require(notice is not None or bool(filed), hide=True)
    return team, round_, notice, filed


def _render_appeal_page(team: Team, round_: Round, notice, filed: list[Appeal], form: AppealForm | None = None):
    return render_template(
        "results/public/appeal.html",
        team=team,
        round_=round_,
        notice=notice,
        appeals=filed,
        form=form or AppealForm(),
        max_megabytes=appeals.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    )


@bp.route("/teams/<int:team_id>/rounds/<int:round_id>/appeal", methods=["GET", "POST"])
@accepts_uploads(limit=_appeal_limit)
@login_required
def appeal(team_id: int, round_id: int):
    team, round_, notice, filed = _appeal_page_data(team_id, round_id)
    form = AppealForm()
    if request.method == "POST":
        if notice is None:
            flash(_("Appeals are possible only during the public notice of the results."), "danger")
            return redirect(url_for("results.appeal", team_id=team.id, round_id=round_.id))
        upload = form.attachment.data if form.attachment.data and form.attachment.data.filename else None
        if form.validate_on_submit() and commit_or_show(
            form,
            lambda: appeals.file_appeal(
                round_,
                team,
                actor=current_user,
                text=form.text.data,
                stream=upload.stream if upload else None,
                filename=upload.filename if upload else None,
                now=utcnow(),
            ),
        ):
            flash(_("Your appeal has been filed; the organizers will answer it."), "success")
            return redirect(url_for("results.appeal", team_id=team.id, round_id=round_.id, _anchor="appeals"))
    return _render_appeal_page(team, round_, notice, filed, form)


def _organizer_round(code: str, round_id: int) -> Round:
    round_ = _visible_round(code, round_id)
    require(can_answer_appeals(current_user, round_))
    return round_


def _render_organizer_page(round_: Round, failed: tuple[int, AnswerForm] | None = None):
    filed = db.session.scalars(
        select(Appeal)
        .where(Appeal.round_id == round_.id)
        .options(selectinload(Appeal.team).selectinload(Team.institution))
        .order_by(case((Appeal.state == AppealState.OPEN.value, 0), else_=1), Appeal.created_at, Appeal.id)
    ).all()
    people = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(User.id.in_({a.filed_by_id for a in filed} | {a.answered_by_id for a in filed}))
        )
    }
    forms = {
        item.id: failed[1] if failed and failed[0] == item.id else AnswerForm(prefix=f"appeal-{item.id}", formdata=None)
        for item in filed
        if item.state == AppealState.OPEN
    }
    return render_template(
        "results/public/organizer_appeals.html",
        competition=round_.competition,
        round_=round_,
        appeals=filed,
        people=people,
        forms=forms,
        notice=appeals.notice_in_force(round_, utcnow()),
    )


@bp.get("/competitions/<code>/rounds/<int:round_id>/appeals")
@login_required
def organizer_appeals(code: str, round_id: int):
    return _render_organizer_page(_organizer_round(code, round_id))


@bp.post("/competitions/<code>/rounds/<int:round_id>/appeals/<int:appeal_id>/answer")
@login_required
def answer_appeal(code: str, round_id: int, appeal_id: int):
    round_ = _organizer_round(code, round_id)
    item = db.session.get(Appeal, appeal_id)
    require(item is not None and item.round_id == round_.id, hide=True)
    form = AnswerForm(prefix=f"appeal-{item.id}")
    if form.validate_on_submit() and commit_or_show(
        form, lambda: appeals.answer_appeal(item, actor=current_user, answer=form.answer.data, now=utcnow())
    ):
        flash(_("The answer has been saved and sent to the team leader."), "success")
        return redirect(
            url_for("results.organizer_appeals", code=round_.competition.code, round_id=round_.id,
                    _anchor=f"appeal-{item.id}")
        )  # fmt: skip
    return _render_organizer_page(round_, (item.id, form))


@bp.get("/appeals/<int:appeal_id>/attachment")
@login_required
def appeal_attachment(appeal_id: int):
    """An appeal's attachment for the team and the organizers; 404 for anyone else (as for a missing
    file). Always a download, never shown in the page: nosniff and a sandboxing CSP."""
    item = db.session.get(Appeal, appeal_id)
    require(item is not None and item.attachment_key is not None and can_view_appeal(current_user, item), hide=True)
    path = storage.path_for(item.attachment_key)
    if not path.is_file():
        log.error("appeal %s: its stored attachment %s is missing", item.id, item.attachment_key)
        abort(404)
    suffix = path.suffix.lower()
    name = item.attachment_name or _("Appeal attachment")
    endings = (".jpg", ".jpeg") if suffix == ".jpg" else (suffix,)
    if not name.lower().endswith(endings):
        name += suffix
    response = send_file(path, mimetype=MIMETYPES.get(suffix, "application/octet-stream"), as_attachment=True,
                         download_name=name, conditional=True, etag=True)  # fmt: skip
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = ATTACHMENT_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response
