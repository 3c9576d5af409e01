"""What the public and the teams see of a round's results: only snapshots, never a live computation.

- `/results/<code>/<round>`: the public results (no log-in): the published snapshot, else the
  provisional list under notice (公示), per track, bilingual, scores only when the round shows them;
  404 while neither exists. Three queries (competition, round, snapshot without its rows), whatever
  the number of teams: the rendered tables are kept per (snapshot, language) in this process
  (`PAGE_CACHE`). A snapshot never changes once written and a new publication is a new snapshot
  with a new id, so the cache needs no invalidation: the key changes with the snapshot;
- `/teams/<team>/results`: a team's published results with the per-criterion means and the judges'
  comments, anonymized (Judge A, B, …); its members only, 404 before publication;
- `/teams/<team>/rounds/<round>/appeal`: the team's appeals during the notice, and the answers;
- `/competitions/<code>/rounds/<round>/appeals`: the organizers read and answer them;
- `/appeals/<id>/attachment`: an appeal's attachment, for the team and the organizers only.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import case, exists, select
from sqlalchemy.orm import defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from competition.accounts.models import User
from competition.competitions.models import Competition
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

    def get_or_render(self, key: tuple, render: Callable[[], str]) -> Markup:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        rendered = Markup(render())  # noqa: S704 - our own template's output, autoescaped
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


@bp.get("/results/<code>/<int:round_id>")
def public(code: str, round_id: int):
    round_ = _visible_round(code, round_id)
    snapshot = _public_snapshot(round_.id)
    require(snapshot is not None, hide=True)
    key = (snapshot.id, snapshot.created_at.isoformat(), snapshot.round_id, current_locale())
    tables = PAGE_CACHE.get_or_render(key, lambda: _render_tables(snapshot))
    now = utcnow()
    return render_template(
        "results/public/page.html",
        competition=round_.competition,
        round_=round_,
        snapshot=snapshot,
        final=snapshot.kind == SnapshotKind.PUBLISHED,
        notice_running=snapshot.kind == SnapshotKind.NOTICE and snapshot.notice_until and now < snapshot.notice_until,
        tables=tables,
    )


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
