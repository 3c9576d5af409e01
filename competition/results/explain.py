"""The rules of a round's results in plain words: how scores are combined, how ties are broken,
how awards and advancement are counted (with the places each track gets), the rounding rule.

Shown on the organizers' settings and preview pages and written into the results export, so
whoever reads a rank can see the rule behind it. Sentences are built at request time, in the
reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import format_decimal
from flask_babel import gettext as _

from competition.competitions.models import _localized
from competition.results import compute
from competition.results.models import AWARD_LABELS
from competition.results.services import ResultSettings
from competition.rounds.models import QuotaKind, Round, RoundLevel


def number(value: float | None) -> str:
    """A score or a share as people write it: at most 2 decimals, no trailing zeros."""
    return "—" if value is None else format_decimal(value, format="#,##0.##")


def award_label(code: str | None) -> str:
    return str(AWARD_LABELS[code]) if code in AWARD_LABELS else _("No award")


def rounding_text(rounding: str) -> str:
    return {
        "half_up": _("rounded half up (1.5 → 2, 1.4 → 1)"),
        "down": _("rounded down (1.9 → 1)"),
        "up": _("rounded up (1.1 → 2)"),
    }[rounding]


def method_explanation(method: str, trim_min_judges: int) -> str:
    """What a method does, for someone who never heard of it."""
    return {
        "mean": _("The mean of the judges' totals: every judge counts the same; the rubric's points give each criterion its weight."),
        "trimmed": _("The trimmed mean: when at least %(n)s judges scored a submission, its highest and its lowest total are dropped and the other totals averaged; with fewer judges, all totals are averaged.", n=trim_min_judges),
        "median": _("The median: the middle total (with an even number of judges, the mean of the two middle ones); one extreme judge cannot move it."),
        "zscore": _("Z-score normalization: each judge's totals are first put on a common scale — how far each lies from that judge's own mean, in that judge's standard deviations — then rescaled to the round's mean and spread and averaged. A harsh or a lenient judge then weighs no more than the others. Judges who gave one total, or all the same, keep their totals."),
    }[method]  # fmt: skip


def method_sentence(settings: ResultSettings, round_mean: float | None = None, round_sd: float | None = None) -> str:
    sentence = _(
        "Scores are combined as follows. %(rule)s", rule=method_explanation(settings.method, settings.trim_min_judges)
    )
    if settings.method == "zscore" and round_mean is not None:
        sentence += " " + _(
            "The round's mean is %(mean)s and its standard deviation %(sd)s.",
            mean=number(round_mean),
            sd=number(round_sd),
        )
    return sentence + " " + _("Scores are rounded to 2 decimals at the end only.")  # fmt: skip


def tie_break_label(key: str, criteria: dict[str, dict]) -> str:
    if key == "untrimmed_total":
        return _("the higher untrimmed total (the sum of all the judges' totals)")
    if key == "submitted_at":
        return _("the earlier submission")
    code = key.split(":", 1)[1]
    meta = criteria.get(code)
    name = _localized(meta["name_zh"], meta["name_en"]) if meta else code
    return _("the higher mean on “%(criterion)s”", criterion=name)


def tie_break_sentence(settings: ResultSettings, criteria: dict[str, dict]) -> str:
    if not settings.tie_breaks:
        return _("Teams with equal scores share a rank (1, 2, 2, 4).")
    chain = _(", then ").join(tie_break_label(key, criteria) for key in settings.tie_breaks)
    return _("Equal scores are ordered by %(chain)s. Teams still equal share a rank (1, 2, 2, 4).", chain=chain)


@dataclass
class TrackCount:
    name: str
    ranked: int


def _tiers(settings: ResultSettings) -> list[tuple[str, float]]:
    tiers = [(str(code), float(value)) for code, value in settings.award_tiers]
    if settings.award_mode == "ratio":
        return compute.ratio_tiers(settings.awarded_percent, [(code, int(value)) for code, value in tiers])
    return tiers


def award_places(settings: ResultSettings, ranked: int) -> list[tuple[str, int]]:
    """Proportion and ratio modes: the places each award gets among `ranked` teams (before ties)."""
    places, cumulative, given = [], 0.0, 0
    for code, percent in _tiers(settings):
        cumulative += percent
        upto = compute.share_count(ranked, cumulative, settings.rounding)
        places.append((code, max(upto - given, 0)))
        given = max(upto, given)
    return places


def award_sentences(settings: ResultSettings, tracks: Iterable[TrackCount]) -> list[str]:
    mode = settings.award_mode
    if mode == "none" or not settings.award_tiers:
        return [_("No awards are given in this round.")]
    lines = []
    if mode in ("proportion", "ratio"):
        shares = _(", ").join(
            _("%(award)s %(percent)s %%", award=award_label(code), percent=number(percent)) for code, percent in _tiers(settings)
        )  # fmt: skip
        if mode == "ratio":
            ratio = " : ".join(str(int(value)) for _code, value in settings.award_tiers)
            names = " : ".join(award_label(code) for code, _value in settings.award_tiers)
            lines.append(_("%(percent)s %% of each track's ranked teams are awarded, split %(names)s = %(ratio)s (%(shares)s).",
                           percent=number(settings.awarded_percent), names=names, ratio=ratio, shares=shares))  # fmt: skip
        else:
            lines.append(_("Of each track's ranked teams: %(shares)s, best first.", shares=shares))
        lines.append(_("The shares are counted cumulatively (the first award's share, then the first two together, …) and %(rounding)s into places; teams tied at a cut-off all get the better award.",
                       rounding=rounding_text(settings.rounding)))  # fmt: skip
        for track in tracks:
            places = _(", ").join(
                _("%(award)s %(count)s", award=award_label(code), count=count)
                for code, count in award_places(settings, track.ranked)
            )
            lines.append(
                _("%(track)s, %(count)s ranked teams: %(places)s.", track=track.name, count=track.ranked, places=places)
            )
    elif mode == "rank":
        lines.append(_(", ").join(
            _("%(award)s: ranks up to %(rank)s", award=award_label(code), rank=int(value)) for code, value in settings.award_tiers
        ) + _(" — in each track."))  # fmt: skip
    else:
        lines.append(_(", ").join(
            _("%(award)s: a score of at least %(score)s", award=award_label(code), score=number(value)) for code, value in settings.award_tiers
        ) + ".")  # fmt: skip
    lines.append(_("An organizer may change a single team's award with a reason; the change is recorded and shown."))
    return lines


def quota_text(round_: Round) -> str:
    if round_.quota_kind == QuotaKind.COUNT:
        return _("%(count)s team(s) per institution", count=round_.quota_value)
    return _("%(percent)s%% of each institution's teams, rounded up", percent=round_.quota_value)


def uses_quotas(round_: Round) -> bool:
    return round_.level == RoundLevel.INSTITUTION and bool(round_.quota_kind)


def advancement_sentence(round_: Round, settings: ResultSettings, next_round: Round | None,
                         tracks: Iterable[TrackCount]) -> str:  # fmt: skip
    if next_round is None:
        return _("No later round takes teams from this round.")
    if settings.advancement_mode == "none":
        return _("Teams do not advance to %(round)s automatically; an organizer may add teams by repechage, with a reason.", round=next_round.name)  # fmt: skip
    if uses_quotas(round_):
        return _("This is a school round: each institution's best teams advance to %(round)s, up to its quota (%(quota)s).",
                 round=next_round.name, quota=quota_text(round_))  # fmt: skip
    if settings.advancement_mode == "top_n":
        return _("The best %(count)s teams of each track advance to %(round)s; teams tied with the last place advance too.",
                 count=int(settings.advancement_value), round=next_round.name)  # fmt: skip
    places = _(", ").join(
        _("%(track)s %(count)s of %(ranked)s", track=track.name, ranked=track.ranked,
          count=compute.share_count(track.ranked, settings.advancement_value, settings.rounding))
        for track in tracks
    )  # fmt: skip
    return _("The best %(percent)s %% of each track advance to %(round)s, %(rounding)s; teams tied with the last place advance too (%(places)s).",
             percent=number(settings.advancement_value), round=next_round.name, rounding=rounding_text(settings.rounding),
             places=places or "—")  # fmt: skip
