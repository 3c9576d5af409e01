"""A round's results as .xlsx, for its organizers: every judge's scores and each step from them to
the ranks, awards and advancement, so any decision can be justified and recomputed by hand.

Sheets: the rules in words; every judge's scores (submission × judge, one column per criterion,
and the total); the aggregation of each submission by every method (mean, trimmed mean with the
totals dropped, median, z-score mean); the z-score of each judge's total; ranks with the tie-break
values; awards (the rule's and the override with its reason); advancement and the teams entered
into the next round. Text is always a string cell (competition.core.spreadsheets): a team named
"=1+1" stays a name.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from competition.accounts.models import User
from competition.accounts.views import SIDE_LABELS
from competition.competitions.models import _localized
from competition.core.spreadsheets import set_cell, workbook_bytes
from competition.core.time import to_local
from competition.extensions import db
from competition.results import compute, explain
from competition.results.services import Computation
from competition.rounds.models import EntrySource, Round, RoundEntry
from competition.submissions.archive import component

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")
_NUMBER_FORMAT = "0.00"
_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _header(sheet, headers: list[tuple[str, int]]) -> None:
    for index, (header, width) in enumerate(headers, start=1):
        cell = set_cell(sheet, 1, index, header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


def _write(sheet, row_index: int, values: list) -> None:
    for column, value in enumerate(values, start=1):
        cell = set_cell(sheet, row_index, column, value)
        if isinstance(value, float):
            cell.number_format = _NUMBER_FORMAT
        elif isinstance(value, datetime):
            cell.number_format = _DATE_FORMAT


def _local(value: datetime | None) -> datetime | None:
    return to_local(value).replace(tzinfo=None) if value is not None else None


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def _names(ids) -> dict[int, str]:
    users = db.session.scalars(select(User).where(User.id.in_(set(ids)))).all() if ids else []
    names = [user.real_name for user in users]
    # two judges with the same name are told apart by their e-mail
    return {user.id: f"{user.real_name} ({user.email})" if names.count(user.real_name) > 1 else user.real_name
            for user in users}  # fmt: skip


def _team_columns(row: dict) -> list:
    return [
        _localized(row["track_zh"], row["track_en"]),
        row["team_name"],
        row["project_title"],
        _localized(row["institution_zh"], row["institution_en"]),
        str(SIDE_LABELS.get(row["side"], row["side"])),
    ]


TEAM_HEADERS = [("Track", 14), ("Team", 22), ("Project", 26), ("Institution", 20), ("Side", 9)]


def _team_headers() -> list[tuple[str, int]]:
    labels = {"Track": _("Track"), "Team": _("Team"), "Project": _("Project"), "Institution": _("Institution"),
              "Side": _("Side")}  # fmt: skip
    return [(labels[key], width) for key, width in TEAM_HEADERS]


def _rules_sheet(sheet, round_: Round, computation: Computation, lines: list[str]) -> None:
    sheet.column_dimensions["A"].width = 120
    set_cell(sheet, 1, 1, f"{round_.competition.name} · {round_.name}").font = _HEADER_FONT
    for index, line in enumerate(lines, start=3):
        set_cell(sheet, index, 1, line).alignment = Alignment(wrap_text=True)


def _in_row_order(totals, computation: Computation, judges: dict[int, str]) -> list[tuple[int, int]]:
    """(submission, judge) pairs in the order of the ranking, then by judge."""
    position = {row["submission_id"]: index for index, row in enumerate(computation.rows)}
    return sorted(totals, key=lambda key: (position[key[0]], judges.get(key[1], ""), key[1]))


def _scores_sheet(sheet, computation: Computation, judges: dict[int, str]) -> None:
    gathered = computation.gathered
    codes = list(gathered.criteria)
    _header(
        sheet,
        _team_headers()
        + [(_("Judge"), 16)]
        + [(f"{_localized(gathered.criteria[c]['name_zh'], gathered.criteria[c]['name_en'])} ({c}, ≤ {explain.number(gathered.criteria[c]['max'])})", 12) for c in codes]
        + [(_("Total"), 10)],
    )  # fmt: skip
    rows = {row["submission_id"]: row for row in computation.rows}
    ordered = _in_row_order(gathered.totals, computation, judges)
    for index, (sid, judge) in enumerate(ordered, start=2):
        points = gathered.points.get((sid, judge), {})
        _write(sheet, index, _team_columns(rows[sid]) + [judges.get(judge, str(judge))]
               + [points.get(code) for code in codes] + [gathered.totals[(sid, judge)]])  # fmt: skip


def _aggregation_sheet(sheet, computation: Computation, judges: dict[int, str]) -> None:
    settings, gathered = computation.settings, computation.gathered
    _header(
        sheet,
        _team_headers()
        + [
            (_("Judges who scored"), 9),
            (_("Judges assigned"), 9),
            (_("Totals, lowest first"), 26),
            (_("Untrimmed total (sum)"), 11),
            (_("Mean"), 9),
            (_("Trimmed?"), 9),
            (_("Dropped lowest total"), 16),
            (_("Dropped highest total"), 16),
            (_("Trimmed mean"), 10),
            (_("Median"), 9),
            (_("Z-score mean (rescaled)"), 11),
            (_("Method used"), 16),
            (_("Score"), 9),
        ],
    )
    per_submission: dict[int, list[tuple[float, int]]] = {}
    for (sid, judge), total in gathered.totals.items():
        per_submission.setdefault(sid, []).append((total, judge))
    names = {
        "mean": _("Mean"),
        "trimmed": _("Trimmed mean"),
        "median": _("Median"),
        "zscore": _("Z-score normalization"),
    }
    for index, row in enumerate(computation.rows, start=2):
        sid = row["submission_id"]
        given = sorted(per_submission.get(sid, []), key=lambda item: (item[0], judges.get(item[1], "")))
        totals = [total for total, _judge in given]
        trimmed = len(totals) >= max(settings.trim_min_judges, 3)
        dropped_low = f"{explain.number(given[0][0])} ({judges.get(given[0][1], '')})" if trimmed else None
        dropped_high = f"{explain.number(given[-1][0])} ({judges.get(given[-1][1], '')})" if trimmed else None
        _write(sheet, index, _team_columns(row) + [
            row["judges"], row["expected_judges"], ", ".join(explain.number(total) for total in totals) or None,
            row["untrimmed_total"] if totals else None,
            computation.methods["mean"].get(sid), _yes(trimmed), dropped_low, dropped_high,
            computation.methods["trimmed"].get(sid), computation.methods["median"].get(sid),
            computation.methods["zscore"].get(sid), names[settings.method], row["score"],
        ])  # fmt: skip


def _zscore_sheet(sheet, computation: Computation, judges: dict[int, str]) -> None:
    totals = computation.gathered.totals
    everything = list(totals.values())
    round_mean, round_sd = compute.mean(everything), compute.population_sd(everything)
    spreads = {}
    for (_sid, judge), total in totals.items():
        spreads.setdefault(judge, []).append(total)
    stats = {judge: (compute.mean(values), compute.population_sd(values)) for judge, values in spreads.items()}
    rescaled = compute.zscore_rescaled(totals)
    _header(
        sheet,
        _team_headers()
        + [
            (_("Judge"), 16),
            (_("Total"), 9),
            (_("Judge's mean"), 10),
            (_("Judge's standard deviation"), 12),
            (_("z = (total − judge's mean) / judge's sd"), 16),
            (_("Round mean"), 10),
            (_("Round standard deviation"), 12),
            (_("Rescaled = round mean + round sd × z"), 16),
        ],
    )
    rows = {row["submission_id"]: row for row in computation.rows}
    ordered = _in_row_order(totals, computation, judges)
    for index, key in enumerate(ordered, start=2):
        sid, judge = key
        judge_mean, judge_sd = stats[judge]
        z = (totals[key] - judge_mean) / judge_sd if judge_sd else None
        _write(sheet, index, _team_columns(rows[sid]) + [
            judges.get(judge, str(judge)), totals[key], round(judge_mean, 4), round(judge_sd, 4),
            round(z, 4) if z is not None else _("no spread: total kept"), round(round_mean, 4), round(round_sd, 4),
            round(rescaled[key], 4),
        ])  # fmt: skip


def _ranks_sheet(sheet, computation: Computation) -> None:
    settings, gathered = computation.settings, computation.gathered
    keys = settings.tie_breaks
    _header(
        sheet,
        [(_("Rank in the track"), 9), (_("Overall rank"), 9)]
        + _team_headers()
        + [(_("Score"), 9)]
        + [(_("Tie-break %(number)s: %(rule)s", number=n, rule=explain.tie_break_label(key, gathered.criteria)), 20)
           for n, key in enumerate(keys, start=1)],
    )  # fmt: skip
    for index, row in enumerate(computation.rows, start=2):
        submission = gathered.submissions[row["submission_id"]]
        values = []
        for key in keys:
            if key == "untrimmed_total":
                values.append(row["untrimmed_total"])
            elif key == "submitted_at":
                values.append(_local(submission.submitted_at))
            else:
                points = gathered.values.get(submission.id, {}).get(key.split(":", 1)[1], [])
                values.append(round(compute.mean(points), 2) if points else None)
        _write(sheet, index, [row["rank"], row["rank_overall"]] + _team_columns(row) + [row["score"]] + values)


def _awards_sheet(sheet, computation: Computation) -> None:
    _header(
        sheet,
        [(_("Rank in the track"), 9)]
        + _team_headers()
        + [(_("Score"), 9), (_("Award by the rule"), 14), (_("Override"), 14), (_("Reason of the override"), 36),
           (_("Award"), 14)],
    )  # fmt: skip
    for index, row in enumerate(computation.rows, start=2):
        overridden = row["award_override_reason"] is not None
        _write(sheet, index, [row["rank"]] + _team_columns(row) + [
            row["score"], explain.award_label(row["award_rule"]) if row["award_rule"] else None,
            explain.award_label(row["award"]) if overridden else None, row["award_override_reason"],
            explain.award_label(row["award"]) if row["award"] else None,
        ])  # fmt: skip


def _advancement_sheet(sheet, round_: Round, computation: Computation, target: Round | None) -> None:
    entries = {}
    if target is not None:
        entries = {
            entry.team_id: entry
            for entry in db.session.scalars(
                select(RoundEntry).where(RoundEntry.round_id == target.id, RoundEntry.from_round_id == round_.id)
            )
        }
    sources = {EntrySource.ADVANCED.value: _("advanced"), EntrySource.REPECHAGE.value: _("repechage"),
               EntrySource.RECOMMENDED.value: _("recommended")}  # fmt: skip
    _header(
        sheet,
        [(_("Rank in the track"), 9)]
        + _team_headers()
        + [(_("Score"), 9), (_("Advances by the rule"), 12),
           (_("In the next round") + (f" ({target.name})" if target else ""), 20), (_("Reason"), 36)],
    )  # fmt: skip
    for index, row in enumerate(computation.rows, start=2):
        entry = entries.get(row["team_id"])
        _write(sheet, index, [row["rank"]] + _team_columns(row) + [
            row["score"], _yes(row["advances"]), sources.get(entry.source, entry.source) if entry else None,
            entry.reason if entry else None,
        ])  # fmt: skip


def results_xlsx(round_: Round, computation: Computation, rules: list[str], target: Round | None) -> bytes:
    gathered = computation.gathered
    judges = _names({judge for _sid, judge in gathered.totals})
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Rules")[:31]
    _rules_sheet(sheet, round_, computation, rules)
    _scores_sheet(workbook.create_sheet(_("Judges' scores")[:31]), computation, judges)
    _aggregation_sheet(workbook.create_sheet(_("Aggregation")[:31]), computation, judges)
    _zscore_sheet(workbook.create_sheet(_("Z-scores")[:31]), computation, judges)
    _ranks_sheet(workbook.create_sheet(_("Ranks")[:31]), computation)
    _awards_sheet(workbook.create_sheet(_("Awards")[:31]), computation)
    _advancement_sheet(workbook.create_sheet(_("Advancement")[:31]), round_, computation, target)
    return workbook_bytes(workbook)


def download_name(round_: Round) -> str:
    return f"{component(round_.competition.code)}-{component(round_.name_zh)}-成绩.xlsx"
