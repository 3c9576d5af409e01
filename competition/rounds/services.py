"""Rounds: set-up, who takes part, and institution organizers' recommendations within quotas.

Functions flush, never commit; the caller commits once. A refused action raises `DomainError`
before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from competition.accounts.models import User
from competition.competitions.models import Competition, Track
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.locks import lock_row
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds.models import EntrySource, QuotaKind, Round, RoundEntry, RoundEntryRule, RoundLevel
from competition.teams.models import Team, TeamState

NAME_ZH_MAX = 100
NAME_EN_MAX = 200
POSITION_MAX = 999


@dataclass
class RoundSettings:
    name_zh: str
    name_en: str
    position: int
    level: str
    entry_rule: str
    tracks: list[Track]
    next_round: Round | None
    quota_kind: str | None
    quota_value: int | None
    judging_opens_at: datetime | None
    judging_closes_at: datetime | None


@dataclass
class QuotaStatus:
    """One institution's recommendations from an institution-level round."""

    institution: Institution
    entries: int
    recommended: int
    quota: int | None

    @property
    def full(self) -> bool:
        return self.quota is not None and self.recommended >= self.quota


def _check_settings(competition: Competition, round_: Round | None, settings: RoundSettings) -> None:
    settings.name_zh = (settings.name_zh or "").strip()
    settings.name_en = (settings.name_en or "").strip()
    if not settings.name_zh:
        raise DomainError(_l("Please enter the Chinese name."), field="name_zh")
    if len(settings.name_zh) > NAME_ZH_MAX:
        raise DomainError(_l("At most %(max)s characters.", max=NAME_ZH_MAX), field="name_zh")
    if len(settings.name_en) > NAME_EN_MAX:
        raise DomainError(_l("At most %(max)s characters.", max=NAME_EN_MAX), field="name_en")
    if settings.position is None or not 1 <= settings.position <= POSITION_MAX:
        raise DomainError(_l("Please enter a number between 1 and %(max)s.", max=POSITION_MAX), field="position")
    if settings.level not in {level.value for level in RoundLevel}:
        raise DomainError(_l("Please choose the level."), field="level")
    if settings.entry_rule not in {rule.value for rule in RoundEntryRule}:
        raise DomainError(_l("Please choose how teams enter."), field="entry_rule")
    if any(track.competition_id != competition.id for track in settings.tracks):
        raise DomainError(_l("Please choose one of this competition's tracks."), field="tracks")
    next_round = settings.next_round
    if next_round is not None:
        if next_round.competition_id != competition.id or (round_ is not None and next_round.id == round_.id):
            raise DomainError(_l("Choose a later round of this competition."), field="next_round")
        if next_round.position <= settings.position:
            raise DomainError(_l("The round teams are recommended to must come later."), field="next_round")
        if next_round.entry_rule != RoundEntryRule.ADVANCED:
            raise DomainError(
                _l(
                    "The round teams are recommended to must take teams recommended or advanced from the previous round."
                ),
                field="next_round",
            )
    if settings.quota_kind:
        if settings.quota_kind not in {kind.value for kind in QuotaKind}:
            raise DomainError(_l("Please choose the kind of quota."), field="quota_kind")
        if settings.level != RoundLevel.INSTITUTION:
            raise DomainError(_l("Recommendation quotas belong to institution-level rounds."), field="quota_kind")
        if next_round is None:
            raise DomainError(_l("A quota needs the round teams are recommended to."), field="next_round")
        if settings.quota_value is None or settings.quota_value < 0:
            raise DomainError(_l("Please enter the quota."), field="quota_value")
        if settings.quota_kind == QuotaKind.PERCENT and settings.quota_value > 100:
            raise DomainError(_l("A percentage quota is between 0 and 100."), field="quota_value")
    else:
        settings.quota_value = None
        settings.quota_kind = None
    for field in ("judging_opens_at", "judging_closes_at"):
        value = getattr(settings, field)
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{field} must be an aware datetime")
    if (
        settings.judging_opens_at
        and settings.judging_closes_at
        and settings.judging_closes_at <= settings.judging_opens_at
    ):
        raise DomainError(_l("Judging must close after it opens."), field="judging_closes_at")
    if round_ is not None and round_.id is not None:
        _check_edit(round_, settings)


def _check_edit(round_: Round, settings: RoundSettings) -> None:
    """What an edit must keep: the rounds feeding this one stay earlier, recommendations keep their round."""
    feeders = db.session.scalars(select(Round).where(Round.next_round_id == round_.id)).all()
    for feeder in feeders:
        if feeder.position >= settings.position:
            raise DomainError(
                _l(
                    "%(round)s recommends its teams to this round, so this round must come after it.", round=feeder.name
                ),
                field="position",
            )
        if settings.entry_rule != RoundEntryRule.ADVANCED:
            raise DomainError(
                _l(
                    "%(round)s recommends its teams to this round, so teams enter it by recommendation or advancement.",
                    round=feeder.name,
                ),
                field="entry_rule",
            )
    new_next_id = settings.next_round.id if settings.next_round is not None else None
    if (new_next_id != round_.next_round_id or settings.level != round_.level) and _recommendations_from(round_):
        raise DomainError(
            _l(
                "Teams have already been recommended from this round; withdraw them before changing its level "
                "or the round it recommends to."
            ),
            field="next_round",
        )


def _recommendations_from(round_: Round) -> int:
    return db.session.scalar(
        select(func.count(RoundEntry.id)).where(
            RoundEntry.from_round_id == round_.id, RoundEntry.source == EntrySource.RECOMMENDED.value
        )
    )


def save_round(competition: Competition, *, actor: User, round_: Round | None, settings: RoundSettings) -> Round:
    """Create (`round_` None) or change a round; every rule is checked before anything changes."""
    _check_settings(competition, round_, settings)
    created = round_ is None
    round_ = round_ or Round(competition=competition)
    for field, value in vars(settings).items():
        setattr(round_, field, value)
    db.session.add(round_)
    db.session.flush()
    audit.record(
        actor,
        "round.create" if created else "round.update",
        round_,
        name=round_.name_zh,
        position=round_.position,
        level=round_.level,
        entry_rule=round_.entry_rule,
        tracks=[track.id for track in round_.tracks],
        next_round=round_.next_round_id,
        quota=[round_.quota_kind, round_.quota_value],
        judging=[value.isoformat() if value else None for value in (round_.judging_opens_at, round_.judging_closes_at)],
    )
    return round_


def delete_round(round_: Round, *, actor: User) -> None:
    if db.session.scalar(select(func.count(RoundEntry.id)).where(RoundEntry.round_id == round_.id)):
        raise DomainError(_l("Teams have entered this round; it cannot be deleted."))
    if _recommendations_from(round_):
        raise DomainError(
            _l("Teams have been recommended from this round; withdraw the recommendations before deleting it.")
        )
    feeder = db.session.scalar(select(Round).where(Round.next_round_id == round_.id).order_by(Round.position))
    if feeder is not None:
        raise DomainError(
            _l(
                "%(round)s recommends its teams to this round; change that round before deleting this one.",
                round=feeder.name,
            )
        )
    audit.record(actor, "round.delete", round_, name=round_.name_zh)
    db.session.delete(round_)
    db.session.flush()


def rounds_of(competition: Competition) -> list[Round]:
    return list(
        db.session.scalars(
            select(Round).where(Round.competition_id == competition.id).order_by(Round.position, Round.id)
        )
    )


def participants_query(round_: Round) -> Select:
    """The teams taking part in a round (approved, in its tracks; by entry where the round requires one)."""
    statement = select(Team).where(Team.competition_id == round_.competition_id, Team.state == TeamState.APPROVED)
    if round_.tracks:
        statement = statement.where(Team.track_id.in_([track.id for track in round_.tracks]))
    if round_.entry_rule == RoundEntryRule.ADVANCED:
        statement = statement.where(Team.id.in_(select(RoundEntry.team_id).where(RoundEntry.round_id == round_.id)))
    return statement


def entries_from(round_: Round, institution_id: int) -> int:
    """How many of an institution's teams take part in `round_` (the base of a percentage quota)."""
    return db.session.scalar(
        select(func.count()).select_from(
            participants_query(round_).where(Team.institution_id == institution_id).subquery()
        )
    )


def _recommendations_query(round_: Round):
    return select(RoundEntry).where(
        RoundEntry.round_id == round_.next_round_id,
        RoundEntry.from_round_id == round_.id,
        RoundEntry.source == EntrySource.RECOMMENDED.value,
    )


def recommended_count(round_: Round, institution_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(
            _recommendations_query(round_).where(RoundEntry.institution_id == institution_id).subquery()
        )
    )


def quota_status(round_: Round, institution_id: int) -> tuple[int, int | None]:
    """(recommended so far, quota or None) for one institution in an institution-level round."""
    return recommended_count(round_, institution_id), round_.quota_for(entries_from(round_, institution_id))


def quota_statuses(round_: Round, institution_ids: set[int] | None = None) -> list[QuotaStatus]:
    """The quota of every institution with teams in `round_` (or of `institution_ids`), by institution code."""
    participants = participants_query(round_).subquery()
    entries = dict(
        db.session.execute(
            select(participants.c.institution_id, func.count()).group_by(participants.c.institution_id)
        ).all()
    )
    recommendations = _recommendations_query(round_).subquery()
    recommended = dict(
        db.session.execute(
            select(recommendations.c.institution_id, func.count()).group_by(recommendations.c.institution_id)
        ).all()
    )
    wanted = set(entries) | set(recommended)
    if institution_ids is not None:
        wanted &= set(institution_ids)
    if not wanted:
        return []
    institutions = db.session.scalars(
        select(Institution).where(Institution.id.in_(wanted)).order_by(Institution.code)
    ).all()
    return [
        QuotaStatus(
            institution=institution,
            entries=entries.get(institution.id, 0),
            recommended=recommended.get(institution.id, 0),
            quota=round_.quota_for(entries.get(institution.id, 0)),
        )
        for institution in institutions
    ]


def recommended_team_ids(round_: Round) -> set[int]:
    """The teams recommended from `round_` to the round it names."""
    if round_.next_round_id is None:
        return set()
    return set(db.session.scalars(_recommendations_query(round_).with_only_columns(RoundEntry.team_id)))


def recommendation_of(round_: Round, team: Team) -> RoundEntry | None:
    if round_.next_round_id is None:
        return None
    return db.session.scalar(_recommendations_query(round_).where(RoundEntry.team_id == team.id))


def recommend(round_: Round, team: Team, *, actor: User) -> RoundEntry:
    """An institution organizer sends one of their teams from `round_` to the round after it."""
    if round_.level != RoundLevel.INSTITUTION or round_.next_round is None:
        raise DomainError(_l("Teams are recommended only from a school round that names its next round."))
    # One recommendation at a time per round, so two organizers cannot both take the last place.
    lock_row(Round, round_.id)
    in_round = db.session.scalar(
        select(func.count()).select_from(participants_query(round_).where(Team.id == team.id).subquery())
    )
    if not in_round:
        raise DomainError(_l("“%(team)s” does not take part in %(round)s.", team=team.name, round=round_.name))
    next_round = round_.next_round
    already = db.session.scalar(
        select(RoundEntry.id).where(RoundEntry.round_id == next_round.id, RoundEntry.team_id == team.id)
    )
    if already is not None:
        raise DomainError(_l("“%(team)s” is already in %(round)s.", team=team.name, round=next_round.name))
    if not next_round.covers(team.track_id):
        raise DomainError(
            _l("%(round)s does not include the track %(track)s.", round=next_round.name, track=team.track.name)
        )
    count, quota = quota_status(round_, team.institution_id)
    if quota is not None and count >= quota:
        rule = (
            _l(
                "%(percent)s%% of its %(entries)s teams, rounded up",
                percent=round_.quota_value,
                entries=entries_from(round_, team.institution_id),
            )
            if round_.quota_kind == QuotaKind.PERCENT
            else _l("a fixed number")
        )
        raise DomainError(
            _l(
                "%(institution)s may recommend %(quota)s team(s) from %(round)s (%(rule)s) and has recommended %(count)s.",
                institution=team.institution.name,
                quota=quota,
                round=round_.name,
                rule=rule,
                count=count,
            )
        )
    entry = RoundEntry(
        round_id=next_round.id,
        team=team,
        institution_id=team.institution_id,
        from_round_id=round_.id,
        source=EntrySource.RECOMMENDED.value,
        created_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        actor, "round.recommend", team, team=team.name, from_round=round_.id, to_round=next_round.id, entry=entry.id
    )
    return entry


def withdraw_recommendation_of(round_: Round, team: Team, *, actor: User) -> None:
    """Withdraw the recommendation of `team` from `round_` to the round it names."""
    entry = recommendation_of(round_, team)
    if entry is None:
        raise DomainError(_l("“%(team)s” has not been recommended from this round.", team=team.name))
    withdraw_recommendation(entry, actor=actor)


def withdraw_recommendation(entry: RoundEntry, *, actor: User) -> None:
    if entry.source != EntrySource.RECOMMENDED:
        raise DomainError(_l("Only a recommendation can be withdrawn here."))
    audit.record(
        actor,
        "round.withdraw_recommendation",
        entry.team,
        team=entry.team.name,
        round=entry.round_id,
        from_round=entry.from_round_id,
    )
    db.session.delete(entry)
    db.session.flush()
