"""Segments: who a bulk e-mail goes to, resolved to one recipient per address.

Team audiences cover the teams that are submitted for review or approved, optionally of one track
and/or one institution; an institution organizer's segment never leaves their institutions. Judge
audiences (organizers only): every judge of the competition, or the judges of a round who have
assignments without a submitted scorecard. Disabled accounts get nothing; an address reached twice
(a student in two teams, an advisor who is also a judge) gets one message, in the language of its
account (advisors without an account read Chinese).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from competition.accounts.models import CompetitionRole, Role, User
from competition.competitions.models import Competition, Track
from competition.core.errors import DomainError
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds.models import Round
from competition.teams.models import Advisor, MemberRole, Team, TeamMember, TeamState

DEFAULT_LOCALE = "zh_Hans_CN"
#: the teams a team audience covers
TEAM_STATES = (TeamState.SUBMITTED.value, TeamState.APPROVED.value)


class Audience(StrEnum):
    MEMBERS = "members"
    LEADERS = "leaders"
    ADVISORS = "advisors"
    PENDING_JUDGES = "pending_judges"
    JUDGES = "judges"


AUDIENCE_LABELS = {
    Audience.MEMBERS: _l("All members of submitted and approved teams"),
    Audience.LEADERS: _l("Team leaders of submitted and approved teams"),
    Audience.ADVISORS: _l("Advisors (with an e-mail address) of submitted and approved teams"),
    Audience.PENDING_JUDGES: _l("Judges of a round with scorecards still to submit"),
    Audience.JUDGES: _l("All judges of the competition"),
}
TEAM_AUDIENCES = (Audience.MEMBERS, Audience.LEADERS, Audience.ADVISORS)
JUDGE_AUDIENCES = (Audience.PENDING_JUDGES, Audience.JUDGES)


@dataclass(frozen=True)
class Segment:
    audience: Audience
    track_id: int | None = None
    institution_id: int | None = None
    round_id: int | None = None
    #: None: the whole competition; else only these institutions' teams (an institution organizer)
    scope: frozenset[int] | None = None

    def as_json(self) -> dict:
        return {
            "audience": self.audience.value,
            "track_id": self.track_id,
            "institution_id": self.institution_id,
            "round_id": self.round_id,
            "scope": sorted(self.scope) if self.scope is not None else None,
        }


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    locale: str = DEFAULT_LOCALE
    user_id: int | None = None

    @property
    def masked_email(self) -> str:
        local, _at, domain = self.email.partition("@")
        return f"{local[:2]}{'*' * max(len(local) - 2, 1)}@{domain}"


@dataclass
class _Collector:
    recipients: list[Recipient] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def add(self, email: str | None, name: str, locale: str | None, user_id: int | None) -> None:
        address = (email or "").strip()
        key = address.lower()
        if not address or "@" not in address or key in self.seen:
            return
        self.seen.add(key)
        self.recipients.append(
            Recipient(address, name, locale if locale in ("zh_Hans_CN", "en") else DEFAULT_LOCALE, user_id)
        )


def check(competition: Competition, segment: Segment) -> None:
    """Refuse a segment that names something outside the competition or outside the sender's scope."""
    if segment.audience in JUDGE_AUDIENCES:
        if segment.scope is not None:
            raise DomainError(
                _l("Institution organizers may only write to their own institution's teams."), field="audience"
            )
        if segment.audience == Audience.PENDING_JUDGES:
            round_ = db.session.get(Round, segment.round_id) if segment.round_id else None
            if round_ is None or round_.competition_id != competition.id:
                raise DomainError(_l("Please choose the round whose judges should be written to."), field="round")
        return
    if segment.track_id is not None:
        track = db.session.get(Track, segment.track_id)
        if track is None or track.competition_id != competition.id:
            raise DomainError(_l("Please choose a track of this competition."), field="track")
    if segment.institution_id is None:
        return
    if db.session.get(Institution, segment.institution_id) is None or (
        segment.scope is not None and segment.institution_id not in segment.scope
    ):
        raise DomainError(_l("You may only write to the teams of your own institution."), field="institution")


def _team_filters(competition: Competition, segment: Segment) -> list:
    conditions = [Team.competition_id == competition.id, Team.state.in_(TEAM_STATES)]
    if segment.track_id is not None:
        conditions.append(Team.track_id == segment.track_id)
    if segment.institution_id is not None:
        conditions.append(Team.institution_id == segment.institution_id)
    if segment.scope is not None:
        conditions.append(Team.institution_id.in_(segment.scope))
    return conditions


def resolve(competition: Competition, segment: Segment) -> list[Recipient]:
    """The recipients of `segment`, one per address, in a stable order (by team, then by person)."""
    check(competition, segment)
    collector = _Collector()
    if segment.audience in (Audience.MEMBERS, Audience.LEADERS):
        query = (
            select(User.email, User.real_name, User.locale, User.id)
            .join(TeamMember, TeamMember.user_id == User.id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(*_team_filters(competition, segment), User.is_disabled.is_(False))
            .order_by(Team.id, TeamMember.role != MemberRole.LEADER.value, TeamMember.id)
        )
        if segment.audience == Audience.LEADERS:
            query = query.where(TeamMember.role == MemberRole.LEADER.value)
        for email, name, locale, user_id in db.session.execute(query):
            collector.add(email, name, locale, user_id)
    elif segment.audience == Audience.ADVISORS:
        rows = db.session.execute(
            select(Advisor.email, Advisor.name, User.email, User.real_name, User.locale, User.id, User.is_disabled)
            .join(Team, Team.id == Advisor.team_id)
            .outerjoin(User, User.id == Advisor.user_id)
            .where(*_team_filters(competition, segment))
            .order_by(Team.id, Advisor.id)
        )
        for email, name, user_email, user_name, locale, user_id, disabled in rows:
            if user_id is not None:
                if not disabled:
                    collector.add(user_email, user_name, locale, user_id)
            else:
                collector.add(email, name, DEFAULT_LOCALE, None)
    elif segment.audience == Audience.JUDGES:
        rows = db.session.execute(
            select(User.email, User.real_name, User.locale, User.id)
            .join(CompetitionRole, CompetitionRole.user_id == User.id)
            .where(
                CompetitionRole.competition_id == competition.id,
                CompetitionRole.role == Role.JUDGE.value,
                User.is_disabled.is_(False),
            )
            .order_by(User.real_name, User.id)
        )
        for email, name, locale, user_id in rows:
            collector.add(email, name, locale, user_id)
    else:  # Audience.PENDING_JUDGES
        from competition.scoring.services import pending_work

        pending = pending_work(db.session.get(Round, segment.round_id))
        if pending:
            rows = db.session.execute(
                select(User.email, User.real_name, User.locale, User.id)
                .where(User.id.in_(list(pending)), User.is_disabled.is_(False))
                .order_by(User.real_name, User.id)
            )
            for email, name, locale, user_id in rows:
                collector.add(email, name, locale, user_id)
    return collector.recipients


def describe(segment: Segment) -> str:
    """The segment in words, in the current language, e.g. "All members … · 创意组 · 四川大学"."""
    parts = [str(AUDIENCE_LABELS[segment.audience])]
    if segment.audience in TEAM_AUDIENCES:
        if segment.track_id is not None and (track := db.session.get(Track, segment.track_id)):
            parts.append(_("track %(track)s", track=track.name))
        if segment.institution_id is not None and (institution := db.session.get(Institution, segment.institution_id)):
            parts.append(institution.name)
        elif segment.scope is not None:
            names = [
                inst.name for inst in db.session.scalars(select(Institution).where(Institution.id.in_(segment.scope)))
            ]
            parts.append(", ".join(sorted(names)))
    elif segment.audience == Audience.PENDING_JUDGES and (round_ := db.session.get(Round, segment.round_id)):
        parts.append(round_.name)
    return " · ".join(parts)


def describe_in_both_languages(segment: Segment) -> tuple[str, str]:
    with force_locale("zh_Hans_CN"):
        chinese = describe(segment)
    with force_locale("en"):
        english = describe(segment)
    return chinese[:500], english[:500]
