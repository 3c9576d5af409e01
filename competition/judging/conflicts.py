"""Conflicts of interest (回避): who must not judge which team, and why.

Automatic conflicts are derived from the data and kept as rows so that organizers can review them
and dismiss a false positive with a reason: the judge's institution is a member's or an advisor's;
the judge mentors or mentored the team; and, where the competition asks for it, the judge is from
the team's side (cross-region review) or city. Judges declare conflicts themselves at any time; organizers
declare them too. Declaring one removes the judge's assignments to that team.

Declaring a conflict and applying an assignment both lock the competition's row first, so one
waits for the other: an assignment never lands on a pair declared a moment earlier.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from competition.accounts.models import CompetitionRole, Role, User
from competition.competitions.models import Competition
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.locks import lock_row
from competition.core.mail import external_url, internal_path, queue_mail
from competition.core.time import utcnow
from competition.experts.models import Expert, Mentorship, MentorshipState
from competition.extensions import db
from competition.judging.models import Assignment, Conflict, ConflictSource, RoundJudge
from competition.rounds.models import Round
from competition.submissions.models import Submission
from competition.teams.models import Team, TeamState

REASON_MAX = 1000


@dataclass(frozen=True)
class JudgeProfile:
    """What conflicts and panel goals need to know about a judge."""

    user_id: int
    name: str
    institution_id: int | None
    institution_name: str
    side: str
    city: str
    industry: bool
    expertise: frozenset[str]


def judge_profiles(user_ids) -> dict[int, JudgeProfile]:
    """Profiles from the expert pool; a judge without one is taken from their account."""
    user_ids = list(user_ids)
    if not user_ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(user_ids)).options(selectinload(User.institution))).all()
    experts = {
        expert.user_id: expert
        for expert in db.session.scalars(
            select(Expert).where(Expert.user_id.in_(user_ids)).options(selectinload(Expert.institution))
        )
    }
    profiles = {}
    for user in users:
        expert = experts.get(user.id)
        institution = (expert.institution if expert and expert.institution_id else None) or user.institution
        if expert is not None:
            profiles[user.id] = JudgeProfile(
                user.id, user.real_name, institution.id if institution else None,
                institution.name_zh if institution else expert.employer, expert.side,
                expert.city or (institution.city_zh if institution else ""), expert.is_industry,
                frozenset(tag.lower() for tag in expert.expertise),
            )  # fmt: skip
        else:
            profiles[user.id] = JudgeProfile(
                user.id, user.real_name, institution.id if institution else None,
                institution.name_zh if institution else "", institution.side if institution else "sichuan",
                institution.city_zh if institution else "", False, frozenset(),
            )  # fmt: skip
    return profiles


def judges_of(competition: Competition) -> set[int]:
    """Everyone who judges a round of the competition or holds the judge role in it."""
    in_rounds = db.session.scalars(
        select(RoundJudge.user_id)
        .join(Round, Round.id == RoundJudge.round_id)
        .where(Round.competition_id == competition.id)
    )
    with_role = db.session.scalars(
        select(CompetitionRole.user_id).where(
            CompetitionRole.competition_id == competition.id, CompetitionRole.role == Role.JUDGE.value
        )
    )
    return set(in_rounds) | set(with_role)


def rule_conflict(competition: Competition, judge: JudgeProfile, team: Team) -> str | None:
    """Why the competition's own rules keep a judge off a team (cross-region or same city), or None.

    These follow from a competition setting for every pair at once, so they are not stored row by
    row (a national round would need millions); the conflicts page states the rule instead."""
    if competition.conflict_same_side and judge.side == team.institution.side:
        side = "四川" if judge.side == "sichuan" else "重庆"
        return f"本赛事要求跨区域评审：{judge.name}与“{team.name}”同属{side}"
    if competition.conflict_same_city and judge.city and judge.city == team.institution.city_zh:
        return f"本赛事回避同城评委：{judge.name}与“{team.name}”同在{judge.city}"
    return None


def refresh_automatic_conflicts(competition: Competition, *, actor: User | None) -> dict[str, int]:
    """Bring the stored automatic conflicts in line with the data — the judge's institution is the
    team's, a member's or an advisor's; the judge mentors or mentored the team — adding new ones and dropping
    those whose cause is gone; dismissed ones stay dismissed. Returns counts of added and removed."""
    teams = db.session.scalars(
        select(Team)
        .where(Team.competition_id == competition.id, Team.state != TeamState.WITHDRAWN)
        .options(selectinload(Team.members), selectinload(Team.advisors))
    ).all()
    profiles = judge_profiles(judges_of(competition))
    # institution -> {team id: the people of the team who study or teach there}
    people_at: dict[int, dict[int, list[str]]] = {}
    for team in teams:
        people_at.setdefault(team.institution_id, {}).setdefault(team.id, [])
        for member in team.members:
            people_at.setdefault(member.institution_id, {}).setdefault(team.id, []).append(member.real_name)
        for advisor in team.advisors:
            if advisor.institution_id:
                people_at.setdefault(advisor.institution_id, {}).setdefault(team.id, []).append(advisor.name)
    names = {team.id: team.name for team in teams}
    wanted: dict[tuple[int, int, str], str] = {}
    for judge in profiles.values():
        for team_id, people in people_at.get(judge.institution_id, {}).items():
            who = "、".join(dict.fromkeys(people)) or f"“{names[team_id]}”"
            wanted[(judge.user_id, team_id, ConflictSource.SAME_INSTITUTION.value)] = (
                f"{judge.name}与{who}同属{judge.institution_name}"
            )
    for user_id, team_id in db.session.execute(
        select(Expert.user_id, Mentorship.team_id)
        .join(Expert, Expert.id == Mentorship.expert_id)
        # an ended mentorship is still a conflict: the judge coached the team (one ended before it
        # was ever answered was a request withdrawn, not mentoring)
        .where(
            (Mentorship.state == MentorshipState.ACCEPTED.value)
            | ((Mentorship.state == MentorshipState.ENDED.value) & Mentorship.answered_at.is_not(None))
        )
    ):
        if user_id in profiles and team_id in names:
            wanted[(user_id, team_id, ConflictSource.MENTOR.value)] = (
                f"{profiles[user_id].name}是“{names[team_id]}”的导师"
            )
    stored = (ConflictSource.SAME_INSTITUTION.value, ConflictSource.MENTOR.value)
    existing = {
        (row.judge_id, row.team_id, row.source): row
        for row in db.session.scalars(
            select(Conflict).where(Conflict.competition_id == competition.id, Conflict.source.in_(stored))
        )
    }
    added = removed = 0
    new_pairs = set()
    for key, reason in wanted.items():
        row = existing.get(key)
        if row is None:
            db.session.add(Conflict(competition_id=competition.id, judge_id=key[0], team_id=key[1], source=key[2],
                                    reason=reason, created_by_id=getattr(actor, "id", None)))  # fmt: skip
            new_pairs.add(key[:2])
            added += 1
        elif row.reason != reason:
            row.reason = reason
    for key, row in existing.items():
        if key not in wanted:
            db.session.delete(row)
            removed += 1
    db.session.flush()
    dropped = drop_conflicted_assignments(competition, new_pairs)
    if added or removed:
        audit.record(actor, "conflict.refresh", competition, added=added, removed=removed,
                     removed_assignments=dropped)  # fmt: skip
    return {"added": added, "removed": removed, "assignments_removed": len(dropped)}


def drop_conflicted_assignments(competition: Competition, pairs: set[tuple[int, int]]) -> list[int]:
    """Take judges off teams they now conflict with (a conflict found after assigning). An
    assignment whose scoring has begun stays; the assignment page flags it for the organizers."""
    if not pairs:
        return []
    rows = db.session.execute(
        select(Assignment.id, Assignment.round_id, Assignment.judge_id, Submission.team_id)
        .join(Submission, Submission.id == Assignment.submission_id)
        .join(Round, Round.id == Assignment.round_id)
        .where(
            Round.competition_id == competition.id,
            Assignment.judge_id.in_({judge_id for judge_id, _ in pairs}),
            Assignment.protected.is_(False),
        )
    ).all()
    doomed = [row for row in rows if (row.judge_id, row.team_id) in pairs]
    if doomed:
        db.session.execute(delete(Assignment).where(Assignment.id.in_([row.id for row in doomed])))
        for round_id in {row.round_id for row in doomed}:
            db.session.get(Round, round_id).assignment_version += 1
    return [row.id for row in doomed]


def active_pairs(competition: Competition) -> set[tuple[int, int]]:
    """(judge id, team id) of every conflict in force."""
    return {
        (judge_id, team_id)
        for judge_id, team_id in db.session.execute(
            select(Conflict.judge_id, Conflict.team_id).where(
                Conflict.competition_id == competition.id, Conflict.dismissed_at.is_(None)
            )
        )
    }


def lock_competition(competition: Competition) -> None:
    """Serialize conflict declarations and assignment changes of one competition: what the caller
    reads next (versions, conflicts in force) stays true until it commits."""
    lock_row(Competition, competition.id)


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError(_l("Please give a reason."), field="reason")
    if len(text) > REASON_MAX:
        raise DomainError(_l("A reason has at most %(max)s characters.", max=REASON_MAX), field="reason")
    return text


def declare(
    competition: Competition, *, judge: User, team: Team, actor: User, reason: str, by_organizer: bool
) -> Conflict:
    """Record a declared conflict and take the judge off the team's submissions in this competition."""
    reason = _reason(reason)
    if team.competition_id != competition.id:
        raise DomainError(_l("This team is not in this competition."))
    lock_competition(competition)
    source = ConflictSource.DECLARED_BY_ORGANIZER if by_organizer else ConflictSource.DECLARED_BY_JUDGE
    conflict = db.session.scalar(
        select(Conflict).where(
            Conflict.competition_id == competition.id, Conflict.judge_id == judge.id, Conflict.team_id == team.id,
            Conflict.source == source.value,
        )
    )  # fmt: skip
    if conflict is None:
        conflict = Conflict(competition_id=competition.id, judge_id=judge.id, team_id=team.id, source=source.value,
                            reason=reason, created_by_id=actor.id)  # fmt: skip
        db.session.add(conflict)
    else:
        conflict.reason, conflict.dismissed_at, conflict.dismissed_by_id, conflict.dismiss_reason = (
            reason,
            None,
            None,
            None,
        )
    removed = _remove_assignments(competition, judge, team)
    db.session.flush()
    audit.record(actor, "conflict.declare", team, judge_id=judge.id, source=source.value, reason=reason,
                 removed_assignments=removed)  # fmt: skip
    if removed and not by_organizer:
        _alert_organizers(competition, judge, team, reason)
    return conflict


def _remove_assignments(competition: Competition, judge: User, team: Team) -> list[int]:
    rows = db.session.execute(
        select(Assignment.id, Assignment.round_id)
        .join(Submission, Submission.id == Assignment.submission_id)
        .join(Round, Round.id == Assignment.round_id)
        .where(Assignment.judge_id == judge.id, Submission.team_id == team.id, Round.competition_id == competition.id)
    ).all()
    if rows:
        db.session.execute(delete(Assignment).where(Assignment.id.in_([row.id for row in rows])))
        for round_id in {row.round_id for row in rows}:
            round_ = db.session.get(Round, round_id)
            round_.assignment_version += 1
    return [row.id for row in rows]


def _alert_organizers(competition: Competition, judge: User, team: Team, reason: str) -> None:
    organizers = db.session.scalars(
        select(User)
        .join(CompetitionRole, CompetitionRole.user_id == User.id)
        .where(CompetitionRole.competition_id == competition.id, CompetitionRole.role == Role.ORGANIZER.value)
    ).all()
    for organizer in organizers:
        queue_mail(
            to=organizer.email,
            template="judging/emails/conflict_declared",
            locale=organizer.locale,
            user=organizer,
            link=internal_path("conflicts.index", code=competition.code),
            judge_name=judge.real_name,
            team_name=team.name,
            reason=reason,
            conflicts_url=external_url("conflicts.index", code=competition.code),
        )


def dismiss(conflict: Conflict, *, actor: User, reason: str) -> None:
    """An organizer decides an automatic conflict is a false positive (audited)."""
    reason = _reason(reason)
    if not conflict.is_automatic:
        raise DomainError(_l("Only automatic conflicts can be dismissed; a declared one stands."))
    if conflict.dismissed_at is not None:
        raise DomainError(_l("This conflict has already been dismissed."))
    conflict.dismissed_at, conflict.dismissed_by_id, conflict.dismiss_reason = utcnow(), actor.id, reason
    audit.record(actor, "conflict.dismiss", conflict.team, judge_id=conflict.judge_id, source=conflict.source,
                 reason=reason)  # fmt: skip


def restore(conflict: Conflict, *, actor: User) -> None:
    if conflict.dismissed_at is None:
        raise DomainError(_l("This conflict is in force."))
    conflict.dismissed_at = conflict.dismissed_by_id = conflict.dismiss_reason = None
    dropped = drop_conflicted_assignments(conflict.team.competition, {(conflict.judge_id, conflict.team_id)})
    audit.record(actor, "conflict.restore", conflict.team, judge_id=conflict.judge_id, source=conflict.source,
                 removed_assignments=dropped)  # fmt: skip
