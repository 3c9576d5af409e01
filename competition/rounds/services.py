"""Rounds: set-up, who takes part, and institution organizers' recommendations within quotas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from competition.accounts.models import User
from competition.competitions.models import Competition, Track
from competition.core import audit
from competition.core.errors import DomainError
from competition.extensions import db
from competition.rounds.models import EntrySource, QuotaKind, Round, RoundEntry, RoundEntryRule, RoundLevel
from competition.teams.models import Team, TeamState


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


def save_round(competition: Competition, *, actor: User, round_: Round | None, settings: RoundSettings) -> Round:
    if not settings.name_zh.strip():
        raise DomainError(_l("Please enter the Chinese name."), field="name_zh")
    if settings.level not in {level.value for level in RoundLevel}:
        raise DomainError(_l("Please choose the level."), field="level")
    if settings.entry_rule not in {rule.value for rule in RoundEntryRule}:
        raise DomainError(_l("Please choose how teams enter."), field="entry_rule")
    if any(track.competition_id != competition.id for track in settings.tracks):
        raise DomainError(_l("Please choose one of this competition's tracks."), field="tracks")
    if settings.next_round is not None:
        if settings.next_round.competition_id != competition.id or (round_ and settings.next_round.id == round_.id):
            raise DomainError(_l("Choose a later round of this competition."), field="next_round")
        if settings.next_round.position <= settings.position:
            raise DomainError(_l("The round teams are recommended to must come later."), field="next_round")
    if settings.quota_kind:
        if settings.level != RoundLevel.INSTITUTION:
            raise DomainError(_l("Recommendation quotas belong to institution-level rounds."), field="quota_kind")
        if settings.quota_value is None or settings.quota_value < 0:
            raise DomainError(_l("Please enter the quota."), field="quota_value")
        if settings.quota_kind == QuotaKind.PERCENT and settings.quota_value > 100:
            raise DomainError(_l("A percentage quota is between 0 and 100."), field="quota_value")
    else:
        settings.quota_value = None
        settings.quota_kind = None
    if (
        settings.judging_opens_at
        and settings.judging_closes_at
        and settings.judging_closes_at <= settings.judging_opens_at
    ):
        raise DomainError(_l("Judging must close after it opens."), field="judging_closes_at")
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
        level=round_.level,
        quota=[round_.quota_kind, round_.quota_value],
    )
    return round_


def delete_round(round_: Round, *, actor: User) -> None:
    if db.session.scalar(select(func.count(RoundEntry.id)).where(RoundEntry.round_id == round_.id)):
        raise DomainError(_l("Teams have entered this round; it cannot be deleted."))
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


def recommended_count(round_: Round, institution_id: int) -> int:
    return db.session.scalar(
        select(func.count(RoundEntry.id)).where(
            RoundEntry.round_id == round_.next_round_id,
            RoundEntry.from_round_id == round_.id,
            RoundEntry.institution_id == institution_id,
        )
    )


def quota_status(round_: Round, institution_id: int) -> tuple[int, int | None]:
    """(recommended so far, quota or None) for one institution in an institution-level round."""
    return recommended_count(round_, institution_id), round_.quota_for(entries_from(round_, institution_id))


def recommend(round_: Round, team: Team, *, actor: User) -> RoundEntry:
    """An institution organizer sends one of their teams from `round_` to the round after it."""
    if round_.level != RoundLevel.INSTITUTION or round_.next_round is None:
        raise DomainError(_l("Teams are recommended only from a school round that names its next round."))
    in_round = db.session.scalar(
        select(func.count()).select_from(participants_query(round_).where(Team.id == team.id).subquery())
    )
    if not in_round:
        raise DomainError(_l("“%(team)s” does not take part in %(round)s.", team=team.name, round=round_.name))
    already = db.session.scalar(
        select(RoundEntry.id).where(RoundEntry.round_id == round_.next_round_id, RoundEntry.team_id == team.id)
    )
    if already is not None:
        raise DomainError(_l("“%(team)s” is already in %(round)s.", team=team.name, round=round_.next_round.name))
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
        round_id=round_.next_round_id,
        team=team,
        institution_id=team.institution_id,
        from_round_id=round_.id,
        source=EntrySource.RECOMMENDED.value,
        created_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "round.recommend", team, from_round=round_.id, to_round=round_.next_round_id)
    return entry


def withdraw_recommendation(entry: RoundEntry, *, actor: User) -> None:
    if entry.source != EntrySource.RECOMMENDED:
        raise DomainError(_l("Only a recommendation can be withdrawn here."))
    audit.record(actor, "round.withdraw_recommendation", entry.team, round=entry.round_id)
    db.session.delete(entry)
    db.session.flush()
