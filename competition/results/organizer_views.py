"""Organizers' results pages of a round: the settings (method, flags, tie-breaks, awards,
advancement, notice), the preview with the explanation of every rule, flags, ranks, award overrides,
advancement and repechage, public notice and publication; statistics as server-drawn charts; the
results export with every step.

Only those who manage the round's scoring reach these pages (can_manage_scoring); what students
and the public see comes from published snapshots only (competition.results.public_views).
"""

from __future__ import annotations

import io
from collections import Counter

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from competition.accounts.models import User
from competition.accounts.views import SIDE_LABELS
from competition.competitions.models import _localized
from competition.core.i18n import local_datetime
from competition.core.permissions import require
from competition.core.spreadsheets import XLSX_MIMETYPE
from competition.core.time import utcnow
from competition.core.web import commit_or_flash, commit_or_show, flash_form_errors
from competition.extensions import db
from competition.judging.models import Assignment
from competition.judging.organizer_views import PER_PAGE as ASSIGNMENT_PER_PAGE
from competition.results import charts, explain, services
from competition.results.export import download_name, results_xlsx
from competition.results.models import AWARD_LABELS, ResultSnapshot, SnapshotKind
from competition.results.organizer_forms import (
    AWARD_TIER_MODES,
    TIE_BREAK_SLOTS,
    ActionForm,
    OverrideForm,
    PublishForm,
    RepechageForm,
    SettingsForm,
)
from competition.rounds.models import EntrySource, Round, RoundEntry
from competition.scoring.models import Rubric
from competition.scoring.organizer_views import managed_round as _round
from competition.submissions.models import Submission, SubmissionState
from competition.teams.models import Team

bp = Blueprint("results_admin", __name__, url_prefix="/competitions/<code>/rounds/<int:round_id>/results")

#: what a published row is compared on to tell that the results have changed since
COMPARED = ("score", "untrimmed_total", "judges", "rank", "award", "advances")
TIER_DEFAULTS = {
    "proportion": {"gold": 10, "silver": 20, "bronze": 30},
    "ratio": {"gold": 1, "silver": 2, "bronze": 6},
    "rank": {},
    "score": {},
}


def _submission(round_: Round, submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    require(submission is not None and submission.round_id == round_.id, hide=True)
    return submission


def _to_preview(round_: Round, anchor: str = ""):
    return redirect(url_for("results_admin.preview", code=round_.competition.code, round_id=round_.id) + anchor)


# --- the rules in words -----------------------------------------------------------------------------


def _track_groups(computation: services.Computation) -> list[dict]:
    """The rows per track, in the tracks' order (compute_round sorts them so)."""
    groups: list[dict] = []
    for row in computation.rows:
        if not groups or groups[-1]["track_id"] != row["track_id"]:
            groups.append(
                {"track_id": row["track_id"], "name": _localized(row["track_zh"], row["track_en"]), "rows": []}
            )
        groups[-1]["rows"].append(row)
    for group in groups:
        group["ranked"] = sum(1 for row in group["rows"] if row["rank"] is not None)
    return groups


def _rules(round_: Round, computation: services.Computation, groups: list[dict], target: Round | None) -> dict:
    settings = computation.settings
    totals = list(computation.gathered.totals.values())
    counts = [explain.TrackCount(group["name"], group["ranked"]) for group in groups]
    return {
        "method": explain.method_sentence(
            settings, charts.mean(totals) if totals else None, charts.population_sd(totals) if totals else None
        ),
        "ties": explain.tie_break_sentence(settings, computation.gathered.criteria or _rubric_criteria(round_)),
        "awards": explain.award_sentences(settings, counts),
        "advancement": explain.advancement_sentence(round_, settings, target, counts),
    }


def _rule_lines(rules: dict) -> list[str]:
    return [rules["method"], rules["ties"], *rules["awards"], rules["advancement"]]


def _rubric_criteria(round_: Round) -> dict[str, dict]:
    """code → names and maximum of the criteria of the round's rubrics (first rubric wins a shared code)."""
    criteria: dict[str, dict] = {}
    rubrics = db.session.scalars(
        select(Rubric).where(Rubric.round_id == round_.id).options(selectinload(Rubric.criteria)).order_by(Rubric.id)
    )
    for rubric in rubrics:
        for criterion in rubric.criteria:
            criteria.setdefault(criterion.code, {"name_zh": criterion.name_zh, "name_en": criterion.name_en,
                                                 "max": float(criterion.max_points)})  # fmt: skip
    return criteria


# --- settings ---------------------------------------------------------------------------------------


def _tie_break_choices(round_: Round) -> list[SelectChoice]:
    return [
        SelectChoice("", _("— none —")),
        SelectChoice("untrimmed_total", _("Higher untrimmed total")),
        SelectChoice("submitted_at", _("Earlier submission")),
    ] + [
        SelectChoice(f"criterion:{code}", _("Higher mean on “%(criterion)s”", criterion=_localized(meta["name_zh"], meta["name_en"])))
        for code, meta in _rubric_criteria(round_).items()
    ]  # fmt: skip


def _form_data(settings: services.ResultSettings) -> dict:
    data = {
        "method": settings.method,
        "trim_min_judges": settings.trim_min_judges,
        "max_range": settings.max_range,
        "max_sd": settings.max_sd,
        "judge_deviation": settings.judge_deviation,
        "award_mode": settings.award_mode,
        "awarded_percent": settings.awarded_percent,
        "rounding": settings.rounding,
        "advancement_mode": settings.advancement_mode,
        "advancement_value": settings.advancement_value if settings.advancement_mode != "none" else None,
        "notice_days": settings.notice_days,
        "show_scores": settings.show_scores,
    }
    for slot in range(1, TIE_BREAK_SLOTS + 1):
        data[f"tie_break_{slot}"] = settings.tie_breaks[slot - 1] if slot <= len(settings.tie_breaks) else ""
    for mode in AWARD_TIER_MODES:
        values = dict(TIER_DEFAULTS[mode])
        if settings.award_mode == mode:
            values = {str(code): value for code, value in settings.award_tiers}
        for code in services.AWARD_CODES:
            data[f"{mode}_{code}"] = values.get(code)
    return data


def _settings_of(form: SettingsForm) -> services.ResultSettings:
    mode = form.award_mode.data
    tiers = []
    if mode in AWARD_TIER_MODES:
        whole = mode in ("ratio", "rank")
        tiers = [
            [code, int(field.data) if whole else float(field.data)]
            for code, field in zip(services.AWARD_CODES, form.tiers(mode), strict=True)
            if field.data is not None
        ]
    advancement_value = form.advancement_value.data if form.advancement_mode.data != "none" else 0
    return services.ResultSettings(
        method=form.method.data,
        trim_min_judges=form.trim_min_judges.data,
        max_range=form.max_range.data,
        max_sd=form.max_sd.data,
        judge_deviation=form.judge_deviation.data,
        tie_breaks=[field.data for field in form.tie_breaks() if field.data],
        award_mode=mode,
        award_tiers=tiers,
        awarded_percent=form.awarded_percent.data if form.awarded_percent.data is not None else 30,
        rounding=form.rounding.data,
        advancement_mode=form.advancement_mode.data,
        advancement_value=float(advancement_value or 0),
        notice_days=form.notice_days.data,
        show_scores=bool(form.show_scores.data),
    )


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings(code: str, round_id: int):
    round_ = _round(code, round_id)
    current = services.ResultSettings.for_round(round_)
    form = SettingsForm() if request.method == "POST" else SettingsForm(data=_form_data(current))
    choices = _tie_break_choices(round_)
    for field in form.tie_breaks():
        field.choices = choices
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.save_settings(round_, actor=current_user, settings=_settings_of(form)),
        aliases={"award_tiers": "award_mode", "tie_breaks": "tie_break_1"},
    ):
        flash(_("The result settings have been saved."), "success")
        return _to_preview(round_)
    trim_n = form.trim_min_judges.data if isinstance(form.trim_min_judges.data, int) else current.trim_min_judges
    return render_template(
        "results/settings.html",
        competition=round_.competition,
        round_=round_,
        form=form,
        methods={
            method: explain.method_explanation(method, trim_n) for method in ("mean", "trimmed", "median", "zscore")
        },
        rounding={rule: explain.rounding_text(rule) for rule in ("half_up", "down", "up")},
        uses_quotas=explain.uses_quotas(round_),
        quota=explain.quota_text(round_) if explain.uses_quotas(round_) else None,
        next_round=services.next_round_of(round_),
        award_labels=AWARD_LABELS,
        award_codes=services.AWARD_CODES,
        tab="settings",
    )


# --- preview ----------------------------------------------------------------------------------------


def _differences(rows: list[dict], snapshot: ResultSnapshot | None) -> set[int]:
    """Submissions whose score, rank, award or advancement differ from the snapshot's (or are new or gone)."""
    if snapshot is None:
        return set()
    now = {row["submission_id"]: tuple(row.get(key) for key in COMPARED) for row in rows}
    then = {row["submission_id"]: tuple(row.get(key) for key in COMPARED) for row in snapshot.rows or []}
    return {sid for sid in now.keys() | then.keys() if now.get(sid) != then.get(sid)}


def _assignment_pages(round_: Round, submission_ids: set[int]) -> dict[int, int]:
    """submission → the page of the assignment page that lists it (to add a judge to its panel)."""
    if not submission_ids:
        return {}
    assigned = select(Assignment.submission_id).where(Assignment.round_id == round_.id)
    ordered = db.session.scalars(
        select(Submission.id)
        .join(Team, Team.id == Submission.team_id)
        .where(Submission.round_id == round_.id,
               or_(Submission.state == SubmissionState.SUBMITTED.value, Submission.id.in_(assigned)))
        .order_by(Team.project_title, Submission.id)
    ).all()  # fmt: skip
    return {sid: index // ASSIGNMENT_PER_PAGE + 1 for index, sid in enumerate(ordered) if sid in submission_ids}


def _people(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


@bp.get("/")
@login_required
def preview(code: str, round_id: int):
    round_ = _round(code, round_id)
    now = utcnow()
    computation = services.compute_round(round_)
    groups = _track_groups(computation)
    target = services.next_round_of(round_)
    rules = _rules(round_, computation, groups, target)
    by_id = {row["submission_id"]: row for row in computation.rows}
    found = computation.flags
    published = services.current_snapshot(round_, SnapshotKind.PUBLISHED)
    notice = services.current_snapshot(round_, SnapshotKind.NOTICE)
    compared = published or notice
    changed = _differences(computation.rows, compared)
    history = db.session.scalars(
        select(ResultSnapshot).where(ResultSnapshot.round_id == round_.id).order_by(ResultSnapshot.id.desc())
    ).all()
    judge_ids = set(found.outlying_judges)
    people = _people(judge_ids | {snapshot.created_by_id for snapshot in history})
    entries = []
    if target is not None:
        entries = db.session.scalars(
            select(RoundEntry)
            .where(RoundEntry.round_id == target.id)
            .options(selectinload(RoundEntry.team))
            .order_by(RoundEntry.id)
        ).all()
    in_target = {entry.team_id for entry in entries}
    from_here = [entry for entry in entries if entry.from_round_id == round_.id]
    repechage_form = RepechageForm(formdata=None)
    repechage_form.team.choices = [
        SelectChoice(row["team_id"], f"{row['team_name']} · {_localized(row['track_zh'], row['track_en'])}"
                     + (f" · {_('rank %(rank)s', rank=row['rank'])}" if row["rank"] else ""))
        for row in computation.rows if row["team_id"] not in in_target
    ]  # fmt: skip
    notice_running = notice is not None and published is None and notice.notice_until and notice.notice_until > now
    return render_template(
        "results/preview.html",
        competition=round_.competition,
        round_=round_,
        settings=computation.settings,
        rules=rules,
        groups=groups,
        rows=computation.rows,
        flags={
            "missing": [(by_id[sid], count) for sid, count in found.missing.items() if sid in by_id],
            "disagreement": [(by_id[sid], value) for sid, value in found.disagreement.items() if sid in by_id],
            "outlying": [
                (people.get(judge), value)
                for judge, value in sorted(found.outlying_judges.items(), key=lambda item: item[1])
            ],
        },  # fmt: skip
        assignment_pages=_assignment_pages(round_, set(found.disagreement)),
        award_labels=AWARD_LABELS,
        award_codes=services.AWARD_CODES,
        published=published,
        notice=notice,
        notice_running=notice_running,
        changed=changed,
        history=history,
        people=people,
        target=target,
        advancing=sum(1 for row in computation.rows if row["advances"]),
        from_here=from_here,
        entry_counts=Counter(entry.source for entry in from_here),
        entry_sources={
            EntrySource.ADVANCED.value: _("advanced"),
            EntrySource.REPECHAGE.value: _("repechage"),
            EntrySource.RECOMMENDED.value: _("recommended"),
        },  # fmt: skip
        repechage_form=repechage_form,
        number=explain.number,
        side_labels=SIDE_LABELS,
        localized=_localized,
        now=now,
        tab="preview",
    )


# --- overrides, advancement, repechage ---------------------------------------------------------------


@bp.post("/submissions/<int:submission_id>/award")
@login_required
def override(code: str, round_id: int, submission_id: int):
    round_ = _round(code, round_id)
    submission = _submission(round_, submission_id)
    form = OverrideForm()
    form.award.choices = [SelectChoice("", _("No award"))] + [
        SelectChoice(code, label) for code, label in AWARD_LABELS.items()
    ]
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.override_award(
                round_, submission, actor=current_user, award=form.award.data or None, reason=form.reason.data
            ),
            _("The award of “%(team)s” has been changed; the reason has been recorded.", team=submission.team.name),
        )
    else:
        flash_form_errors(form)
    return _to_preview(round_, f"#row-{submission.id}")


@bp.post("/submissions/<int:submission_id>/award/remove")
@login_required
def remove_override(code: str, round_id: int, submission_id: int):
    round_ = _round(code, round_id)
    submission = _submission(round_, submission_id)
    form = ActionForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.remove_override(round_, submission, actor=current_user),
            _("The override of “%(team)s” has been removed; the rule applies again.", team=submission.team.name),
        )
    else:
        flash_form_errors(form)
    return _to_preview(round_, f"#row-{submission.id}")


@bp.post("/advance")
@login_required
def advance(code: str, round_id: int):
    round_ = _round(code, round_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _to_preview(round_, "#advancement")
    outcome = commit_or_show(None, lambda: services.apply_advancement(round_, actor=current_user))
    if outcome:
        target = services.next_round_of(round_)
        if outcome.value:
            flash(_("%(count)s team(s) entered %(round)s.", count=outcome.value, round=target.name), "success")
        else:
            flash(_("No new team entered %(round)s: every advancing team is there already.", round=target.name), "info")
    return _to_preview(round_, "#advancement")


@bp.post("/repechage")
@login_required
def repechage(code: str, round_id: int):
    round_ = _round(code, round_id)
    form = RepechageForm()
    teams = {
        submission.team_id: submission.team
        for submission in db.session.scalars(
            select(Submission)
            .where(Submission.round_id == round_.id, Submission.state == SubmissionState.SUBMITTED.value)
            .options(selectinload(Submission.team))
        )
    }
    form.team.choices = [SelectChoice(team_id, team.name) for team_id, team in teams.items()]
    if form.validate_on_submit():
        team = teams[form.team.data]
        target = services.next_round_of(round_)
        commit_or_flash(
            lambda: services.add_repechage(round_, team, actor=current_user, reason=form.reason.data),
            _("“%(team)s” entered %(round)s by repechage; the reason has been recorded.", team=team.name,
              round=target.name if target else ""),
        )  # fmt: skip
    else:
        flash_form_errors(form)
    return _to_preview(round_, "#advancement")


# --- notice and publication ---------------------------------------------------------------------------


@bp.post("/notice")
@login_required
def start_notice(code: str, round_id: int):
    round_ = _round(code, round_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _to_preview(round_, "#publication")
    outcome = commit_or_show(None, lambda: services.start_notice(round_, actor=current_user, now=utcnow()))
    if outcome:
        flash(
            _("The provisional results are under public notice until %(time)s (Beijing time); teams may appeal meanwhile.",
              time=local_datetime(outcome.value.notice_until)),
            "success",
        )  # fmt: skip
    return _to_preview(round_, "#publication")


@bp.post("/publish")
@login_required
def publish(code: str, round_id: int):
    round_ = _round(code, round_id)
    form = PublishForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _to_preview(round_, "#publication")
    again = services.current_snapshot(round_, SnapshotKind.PUBLISHED) is not None
    outcome = commit_or_show(
        None, lambda: services.publish(round_, actor=current_user, now=utcnow(), reason=form.reason.data or None)
    )
    if outcome:
        flash(
            _("The results have been published again; the reason has been recorded.")
            if again
            else _("The results of %(round)s have been published; judging is closed.", round=round_.name),
            "success",
        )
    return _to_preview(round_, "#publication")


# --- statistics ---------------------------------------------------------------------------------------


def _statistics_charts(round_: Round, computation: services.Computation, groups: list[dict]) -> list[charts.Chart]:
    gathered = computation.gathered
    found: list[charts.Chart] = []
    for group in groups:
        scores = [row["score"] for row in group["rows"] if row["score"] is not None]
        found.append(charts.histogram(
            f"chart-track-{group['track_id']}",
            _("Scores in %(track)s", track=group["name"]),
            _("How many of the %(count)s scored submissions of %(track)s fall in each range of scores (%(method)s).",
              count=len(scores), track=group["name"], method=_method_name(computation.settings.method)),
            scores,
            headers=[_("Scores"), _("Submissions")],
        ))  # fmt: skip
    spreads = charts.judge_spreads(gathered.totals)
    names = {user.id: user.real_name for user in _people(spreads).values()}
    outlying = computation.flags.outlying_judges
    judges = sorted(
        (
            charts.JudgeSpread(
                names.get(judge, str(judge)), average, sd, count,
                note=(_("harsh") if outlying[judge] < 0 else _("lenient")) if judge in outlying else "",
                flagged=judge in outlying,
            )
            for judge, (average, sd, count) in spreads.items()
        ),
        key=lambda spread: (spread.mean, spread.name),
    )  # fmt: skip
    totals = list(gathered.totals.values())
    found.append(charts.judges_chart(
        "chart-judges",
        _("Each judge's totals"),
        _("For each judge, the mean of the totals they gave (a dot) and one standard deviation either side (a bar), "
          "with the number of scorecards in brackets; the dashed line is the mean of all totals of the round. "
          "Judges far left are harsh, far right lenient; those flagged as far from their panels are named so."),
        judges,
        charts.mean(totals) if totals else None,
        headers=[_("Judge"), _("Scorecards"), _("Mean total"), _("Standard deviation"), _("Flag")],
        round_label=_("round mean"),
    ))  # fmt: skip
    criteria = services.statistics(computation)["criteria"]
    found.append(charts.share_bars(
        "chart-criteria",
        _("Criteria: mean as a share of the maximum"),
        _("For each criterion, the mean of all judges' points as a share of its maximum points: low shares show where the projects are weakest."),
        [(_localized(meta["name_zh"], meta["name_en"]), meta["mean"], meta["max"]) for meta in criteria.values()],
        headers=[_("Criterion"), _("Mean points"), _("Maximum"), _("Share")],
    ))  # fmt: skip
    awards_used = [code for code in services.AWARD_CODES if any(row["award"] == code for row in computation.rows)]
    series = [_("Entries"), _("Advanced")] + [str(AWARD_LABELS[code]) for code in awards_used]

    def counts(rows: list[dict]) -> list[int]:
        return [len(rows), sum(1 for row in rows if row["advances"])] + [
            sum(1 for row in rows if row["award"] == code) for code in awards_used
        ]

    institutions: dict[str, list[dict]] = {}
    sides: dict[str, list[dict]] = {}
    for row in computation.rows:
        institutions.setdefault(_localized(row["institution_zh"], row["institution_en"]), []).append(row)
        sides.setdefault(str(SIDE_LABELS.get(row["side"], row["side"])), []).append(row)
    found.append(charts.grouped_bars(
        "chart-institutions",
        _("Entries, advancement and awards per institution"),
        _("For each institution: its scored and unscored entries in this round, how many advance, and how many win each award."),
        [(name, counts(rows)) for name, rows in sorted(institutions.items(), key=lambda item: (-len(item[1]), item[0]))],
        series,
        headers=[_("Institution"), *series],
    ))  # fmt: skip
    found.append(charts.grouped_bars(
        "chart-sides",
        _("Entries, advancement and awards per side"),
        _("Sichuan and Chongqing compared: entries in this round, how many advance, and how many win each award."),
        [(name, counts(rows)) for name, rows in sorted(sides.items())],
        series,
        headers=[_("Side"), *series],
    ))  # fmt: skip
    return found


def _method_name(method: str) -> str:
    return {"mean": _("Mean"), "trimmed": _("Trimmed mean"), "median": _("Median"),
            "zscore": _("Z-score normalization")}[method]  # fmt: skip


@bp.get("/statistics")
@login_required
def statistics(code: str, round_id: int):
    round_ = _round(code, round_id)
    computation = services.compute_round(round_)
    groups = _track_groups(computation)
    return render_template(
        "results/statistics.html",
        competition=round_.competition,
        round_=round_,
        charts=_statistics_charts(round_, computation, groups) if computation.rows else [],
        scored=any(row["score"] is not None for row in computation.rows),
        tab="statistics",
    )


# --- export -------------------------------------------------------------------------------------------


@bp.get("/results.xlsx")
@login_required
def export_xlsx(code: str, round_id: int):
    round_ = _round(code, round_id)
    computation = services.compute_round(round_)
    target = services.next_round_of(round_)
    lines = _rule_lines(_rules(round_, computation, _track_groups(computation), target))
    response = send_file(
        io.BytesIO(results_xlsx(round_, computation, lines, target)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=download_name(round_),
    )
    response.headers["Cache-Control"] = "no-store"  # scores and names: never kept by a cache
    return response
