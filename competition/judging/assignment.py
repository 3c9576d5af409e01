"""Assigning judges to the submissions of a round: propose (optimal), preview, apply, repair, edit.

A proposal is computed by competition.judging.solver from the round's handed-in submissions, its
judges (RoundJudge), their tracks, the conflicts in force and the competition's conflict rules.
Re-running keeps protected assignments (scoring has begun) outright and prefers every other
existing assignment with a bonus larger than any other gain, so a late submission or a judge who
drops out is repaired by changing only what must change. Applying checks the round's assignment
version (two organizers cannot overwrite each other unseen) and the conflicts again, under the
competition's lock.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.competitions.models import Track
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.mail import external_url, internal_path, queue_mail
from competition.core.time import utcnow
from competition.extensions import db
from competition.judging import conflicts as conflict_rules
from competition.judging.models import Assignment, AssignmentRun, RoundJudge, RunState
from competition.judging.solver import Infeasible, Problem, solve
from competition.rounds.models import Round
from competition.submissions.models import Submission, SubmissionState
from competition.teams.models import Team

#: cost units per point of an organizer's weight (weights are 0–10)
UNIT = 10
#: what keeping an existing assignment is worth: more than any other term can gain
KEEP_BONUS = 10_000
#: widenings of the balanced load range tried in turn when the strict one is infeasible
BALANCE_STEPS = (0, 1, 2, 4, 8, None)


@dataclass
class Settings:
    judges_per_submission: int = 5
    min_load: int | None = None  # None: balanced (as even as the rules allow)
    max_load: int | None = None
    weight_expertise: int = 5
    weight_side: int = 5
    weight_industry: int = 3
    weight_spread: int = 2
    seed: int = 1
    keep_existing: bool = True

    @classmethod
    def for_round(cls, round_: Round) -> Settings:
        values = {key: value for key, value in (round_.assignment_settings or {}).items() if key in cls.__annotations__}
        values.setdefault("judges_per_submission", round_.judges_per_submission)
        return cls(**values)

    def check(self) -> None:
        if not 1 <= self.judges_per_submission <= 15:
            raise DomainError(_l("Each submission gets 1 to 15 judges."), field="judges_per_submission")
        for name in ("weight_expertise", "weight_side", "weight_industry", "weight_spread"):
            if not 0 <= getattr(self, name) <= 10:
                raise DomainError(_l("Weights are between 0 and 10."), field=name)
        if self.min_load is not None and self.min_load < 0:
            raise DomainError(_l("The smallest load cannot be negative."), field="min_load")
        if self.max_load is not None and self.max_load < 1:
            raise DomainError(_l("The largest load is at least 1."), field="max_load")
        if self.min_load is not None and self.max_load is not None and self.min_load > self.max_load:
            raise DomainError(_l("The smallest load cannot exceed the largest."), field="max_load")


# --- the instance --------------------------------------------------------------------------------


@dataclass
class Instance:
    """A round's assignment problem in dense arrays, with the maps back to rows."""

    submissions: list[Submission]
    judges: list[RoundJudge]
    profiles: dict
    allowed: np.ndarray  # (n, m) bool: eligible and no conflict
    cost: np.ndarray  # (n, m) int
    existing: np.ndarray  # (n, m) bool
    protected: np.ndarray  # (n, m) bool
    judge_side: np.ndarray
    judge_industry: np.ndarray
    #: current assignments outside the instance (judge left the round, submission reopened)
    orphans: int = 0
    #: (n, m) int 0–2: how well the judge's expertise fits (track, industry/keyword), without the jitter
    match: np.ndarray | None = None


def handed_in(round_: Round) -> list[Submission]:
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.round_id == round_.id, Submission.state == SubmissionState.SUBMITTED)
            .options(
                selectinload(Submission.team).selectinload(Team.institution),
                selectinload(Submission.team).selectinload(Team.track),
            )
            .order_by(Submission.id)
        )
    )


def round_judges(round_: Round) -> list[RoundJudge]:
    return list(
        db.session.scalars(select(RoundJudge).where(RoundJudge.round_id == round_.id).order_by(RoundJudge.user_id))
    )


def current_assignments(round_: Round) -> list[Assignment]:
    return list(db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id).order_by(Assignment.id)))


def _tags(submission: Submission) -> set[str]:
    words = {submission.team.track.code.lower()}
    for text in (submission.industry or "", submission.keywords or ""):
        words.update(
            part.strip().lower() for part in text.replace("，", ",").replace("、", ",").split(",") if part.strip()
        )
    return words


def build_instance(round_: Round, settings: Settings) -> Instance:
    """The round as arrays; every step is vectorized over submissions × judges (no loop over pairs)."""
    competition = round_.competition
    submissions = handed_in(round_)
    judges = round_judges(round_)
    profiles = conflict_rules.judge_profiles([judge.user_id for judge in judges])
    n, m = len(submissions), len(judges)
    s_index = {submission.id: i for i, submission in enumerate(submissions)}
    j_index = {judge.user_id: i for i, judge in enumerate(judges)}
    team_index = {submission.team_id: i for i, submission in enumerate(submissions)}
    ordered = [profiles[judge.user_id] for judge in judges]

    # eligibility: the judge covers the submission's track
    track_ids = sorted({submission.team.track_id for submission in submissions})
    track_pos = {track_id: i for i, track_id in enumerate(track_ids)}
    covers = np.array([[judge.covers(track_id) for judge in judges] for track_id in track_ids], dtype=bool).reshape(
        len(track_ids), m
    )
    submission_track = np.array([track_pos[submission.team.track_id] for submission in submissions], dtype=np.int64)
    allowed = covers[submission_track] if n else np.zeros((0, m), dtype=bool)
    # conflicts in force (stored), and the competition's side/city rules
    for judge_id, team_id in conflict_rules.active_pairs(competition):
        if judge_id in j_index and team_id in team_index:
            allowed[team_index[team_id], j_index[judge_id]] = False
    if competition.conflict_same_side:
        team_side = np.array([submission.team.institution.side for submission in submissions])
        judge_side_name = np.array([profile.side for profile in ordered])
        allowed &= team_side[:, None] != judge_side_name[None, :]
    if competition.conflict_same_city:
        team_city = np.array([submission.team.institution.city_zh for submission in submissions])
        judge_city = np.array([profile.city or "-" for profile in ordered])
        allowed &= team_city[:, None] != judge_city[None, :]

    # expertise: one point for the track, one for an industry or keyword the judge lists
    track_codes = [db.session.get(Track, track_id).code.lower() for track_id in track_ids]
    knows_track = np.array([[code in profile.expertise for profile in ordered] for code in track_codes], dtype=bool)
    vocabulary = sorted({tag for submission in submissions for tag in _tags(submission)})
    word = {tag: i for i, tag in enumerate(vocabulary)}
    has_tag = np.zeros((n, len(vocabulary)), dtype=np.int64)
    for i, submission in enumerate(submissions):
        has_tag[i, [word[tag] for tag in _tags(submission)]] = 1
    knows_tag = np.array([[tag in profile.expertise for profile in ordered] for tag in vocabulary], dtype=np.int64)
    knows_tag = knows_tag.reshape(len(vocabulary), m)
    match = (knows_track[submission_track] if n else np.zeros((0, m), bool)).astype(np.int64)
    match += (has_tag @ knows_tag) > 0
    rng = np.random.default_rng(settings.seed)
    jitter = rng.integers(0, settings.weight_spread + 1, size=(n, m)) if settings.weight_spread else 0
    cost = UNIT * settings.weight_expertise * (2 - np.minimum(match, 2)) // 2 + jitter

    existing = np.zeros((n, m), dtype=bool)
    protected = np.zeros((n, m), dtype=bool)
    orphans = 0
    for assignment in current_assignments(round_):
        if assignment.submission_id in s_index and assignment.judge_id in j_index:
            key = (s_index[assignment.submission_id], j_index[assignment.judge_id])
            existing[key] = True
            protected[key] = assignment.protected
        elif not assignment.protected:
            orphans += 1
    sides = np.array([0 if profile.side == "sichuan" else 1 for profile in ordered], dtype=np.int64)
    industry = np.array([profile.industry for profile in ordered], dtype=bool)
    # a protected assignment stays even if a conflict appeared since: an organizer must remove it
    allowed |= protected
    return Instance(submissions, judges, profiles, allowed, np.asarray(cost, dtype=np.int64), existing, protected,
                    sides, industry, orphans, match)  # fmt: skip


# --- explaining infeasibility -------------------------------------------------------------------


def explain_infeasible(instance: Instance, settings: Settings, load_min: np.ndarray, load_max: np.ndarray) -> str:
    """The first reason, in the organizer's words, why no assignment satisfies every hard rule."""
    k = settings.judges_per_submission
    if not instance.judges:
        return str(_l("This round has no judges yet. Add judges to the round first."))
    candidates = instance.allowed.sum(axis=1)
    for index in np.flatnonzero(candidates < k)[:1]:
        submission = instance.submissions[index]
        return str(
            _l(
                "“%(team)s” (%(track)s) has only %(count)s possible judge(s) once conflicts and tracks are taken into account; it needs %(k)s.",
                team=submission.team.name, track=submission.team.track.name, count=int(candidates[index]), k=k,
            )
        )  # fmt: skip
    tracks: dict[int, list[int]] = {}
    for index, submission in enumerate(instance.submissions):
        tracks.setdefault(submission.team.track_id, []).append(index)
    for rows in tracks.values():
        track = instance.submissions[rows[0]].team.track
        needed = len(rows) * k
        capacity = int(np.minimum(instance.allowed[rows].sum(axis=0), load_max).sum())
        if capacity < needed:
            return str(
                _l(
                    "%(track)s needs %(needed)s judge places; after conflicts only %(available)s are available.",
                    track=track.name, needed=needed, available=capacity,
                )
            )  # fmt: skip
    total = len(instance.submissions) * k
    if int(load_max.sum()) < total:
        return str(_l("The judges can take %(capacity)s submissions at most but %(needed)s judge places are needed. Raise the largest load or add judges.",
                      capacity=int(load_max.sum()), needed=total))  # fmt: skip
    if int(load_min.sum()) > total:
        return str(_l("The judges' smallest loads add up to %(minimum)s but only %(needed)s judge places are needed. Lower the smallest load.",
                      minimum=int(load_min.sum()), needed=total))  # fmt: skip
    return str(
        _l(
            "No assignment satisfies the tracks, the conflicts and the load limits at the same time. Widen the load limits or add judges."
        )
    )


# --- proposing ----------------------------------------------------------------------------------


def _bounds(instance: Instance, settings: Settings, widen: int | None) -> tuple[np.ndarray, np.ndarray]:
    m = len(instance.judges)
    total = len(instance.submissions) * settings.judges_per_submission
    average = total / m if m else 0
    low = np.full(m, settings.min_load if settings.min_load is not None else math.floor(average), dtype=np.int64)
    high = np.full(m, settings.max_load if settings.max_load is not None else math.ceil(average), dtype=np.int64)
    if widen is None:
        low[:] = 0 if settings.min_load is None else low
        high[:] = total if settings.max_load is None else high
    else:
        if settings.min_load is None:
            low = np.maximum(low - widen, 0)
        if settings.max_load is None:
            high = high + widen
    for index, judge in enumerate(instance.judges):
        if judge.min_load is not None:
            low[index] = judge.min_load
        if judge.max_load is not None:
            high[index] = judge.max_load
    return low, np.maximum(high, low)


def compute(instance: Instance, settings: Settings) -> tuple[np.ndarray, dict]:
    """The optimal pairs (a boolean (n, m) matrix) and how balanced the loads had to be."""
    k = settings.judges_per_submission
    n, m = instance.allowed.shape
    protected = instance.protected
    need = k - protected.sum(axis=1)
    if np.any(need < 0):
        need = np.maximum(need, 0)
    open_pairs = instance.allowed & ~protected
    pair_s, pair_j = np.nonzero(open_pairs)
    cost = instance.cost[pair_s, pair_j]
    keep = instance.existing[pair_s, pair_j] if settings.keep_existing else None
    side_covered = np.zeros((n, 2), dtype=bool)
    industry_covered = np.zeros((n, 2), dtype=bool)
    protected_s, protected_j = np.nonzero(protected)
    side_covered[protected_s, instance.judge_side[protected_j]] = True
    industry_covered[
        protected_s[instance.judge_industry[protected_j]],
        instance.judge_side[protected_j][instance.judge_industry[protected_j]],
    ] = True
    fixed_load = protected.sum(axis=0)
    last_error = None
    steps = (None,) if settings.min_load is not None and settings.max_load is not None else BALANCE_STEPS
    for widen in steps:
        low, high = _bounds(instance, settings, widen if steps != (None,) else 0)
        problem = Problem(
            need=need, load_min=np.maximum(low - fixed_load, 0), load_max=np.maximum(high - fixed_load, 0),
            judge_side=instance.judge_side, judge_industry=instance.judge_industry,
            pair_submission=pair_s, pair_judge=pair_j, pair_cost=cost,
            pair_keep=keep, keep_bonus=KEEP_BONUS if settings.keep_existing else 0,
            side_bonus=UNIT * settings.weight_side, industry_bonus=UNIT * settings.weight_industry,
            side_covered=side_covered, industry_covered=industry_covered,
        )  # fmt: skip
        try:
            solution = solve(problem)
        except Infeasible:
            last_error = (low, high)
            continue
        chosen = protected.copy()
        chosen[pair_s[solution.pair_index], pair_j[solution.pair_index]] = True
        return chosen, {"load_min_allowed": int(low.min()) if low.size else 0,
                        "load_max_allowed": int(high.max()) if high.size else 0,
                        "objective": solution.objective}  # fmt: skip
    low, high = last_error
    raise DomainError(explain_infeasible(instance, settings, low, high))


def statistics(instance: Instance, chosen: np.ndarray, settings: Settings) -> dict:
    """What the organizer sees before applying: loads, coverage, the share of panels meeting each
    goal, how spread the judge pairs are, and what changes."""
    n, m = chosen.shape
    loads = chosen.sum(axis=0)
    per_panel = chosen.sum(axis=1)
    k = settings.judges_per_submission
    sides = [set(instance.judge_side[np.flatnonzero(row)]) for row in chosen]
    industry = [bool(instance.judge_industry[np.flatnonzero(row)].any()) for row in chosen]
    # from the match itself: the cost also carries the spread's jitter, which can exceed half a weight
    matched = panel_matched = None
    if instance.match is not None:
        matched = instance.match[chosen] > 0
        panel_matched = ((instance.match > 0) & chosen).any(axis=1)
    pairs = Counter()
    for row in chosen:
        members = np.flatnonzero(row)
        pairs.update(itertools.combinations(members.tolist(), 2))
    total_pairs = sum(pairs.values())
    return {
        "submissions": n,
        "judges": m,
        "judges_per_submission": k,
        "load_min": int(loads.min()) if m else 0,
        "load_mean": round(float(loads.mean()) if m else 0.0, 2),
        "load_max": int(loads.max()) if m else 0,
        # a panel kept with more judges than k (protected ones) is covered too
        "coverage": round(float((per_panel >= k).mean()) if n else 1.0, 4),
        "both_sides": round(sum(len(s) == 2 for s in sides) / n, 4) if n else 1.0,
        "industry": round(sum(industry) / n, 4) if n else 1.0,
        "expertise_match": round(float(matched.mean()), 4) if matched is not None and matched.size else None,
        "expertise_panels": round(float(panel_matched.mean()), 4) if panel_matched is not None and n else None,
        "distinct_pairs": len(pairs),
        "pair_share_distinct": round(len(pairs) / total_pairs, 4) if total_pairs else 1.0,
        "max_pair_repeats": max(pairs.values(), default=0),
        "kept": int((chosen & instance.existing).sum()),
        "added": int((chosen & ~instance.existing).sum()),
        # assignments of judges who left the round or of submissions no longer handed in go too
        "removed": int((instance.existing & ~chosen).sum()) + instance.orphans,
    }


def propose(round_: Round, *, actor: User, settings: Settings) -> AssignmentRun:
    settings.check()
    # automatic conflicts follow the data (a new judge, a new member, a mentorship): never propose
    # from a stale list because nobody pressed "refresh"
    conflict_rules.refresh_automatic_conflicts(round_.competition, actor=actor)
    instance = build_instance(round_, settings)
    if not instance.submissions:
        raise DomainError(_l("No submission of this round has been handed in yet; there is nothing to assign."))
    chosen, solved = compute(instance, settings)
    stats = statistics(instance, chosen, settings) | solved
    s_ids = [submission.id for submission in instance.submissions]
    j_ids = [judge.user_id for judge in instance.judges]
    pairs = [[s_ids[s], j_ids[j]] for s, j in zip(*np.nonzero(chosen), strict=True)]
    round_.assignment_settings = asdict(settings)
    round_.judges_per_submission = settings.judges_per_submission
    run = AssignmentRun(round_id=round_.id, settings=asdict(settings), pairs=pairs, statistics=stats,
                        base_version=round_.assignment_version, created_by_id=actor.id)  # fmt: skip
    db.session.add(run)
    db.session.flush()
    audit.record(actor, "assignment.propose", round_, run_id=run.id, statistics=stats)
    return run


# --- applying and editing -----------------------------------------------------------------------


def _check_version(round_: Round, expected: int) -> None:
    db.session.refresh(round_, ["assignment_version"])
    if round_.assignment_version != expected:
        raise DomainError(
            _l("Someone else changed this round's assignments in the meantime. Reload the page and try again.")
        )


def apply(run: AssignmentRun, *, actor: User) -> dict[str, int]:
    """Make the proposal the round's assignments; judges with new work get an e-mail."""
    round_ = db.session.get(Round, run.round_id)
    if run.state != RunState.PROPOSED:
        raise DomainError(_l("This proposal has already been applied or discarded."))
    conflict_rules.lock_competition(round_.competition)
    _check_version(round_, run.base_version)
    wanted = {(s, j) for s, j in run.pairs}
    in_force = conflict_rules.active_pairs(round_.competition)
    teams = dict(
        db.session.execute(select(Submission.id, Submission.team_id).where(Submission.round_id == round_.id)).all()
    )
    current = {(a.submission_id, a.judge_id): a for a in current_assignments(round_)}
    clash = [pair for pair in wanted - set(current) if (pair[1], teams.get(pair[0])) in in_force]
    if clash:
        raise DomainError(
            _l("A conflict of interest was declared after this proposal was computed. Please compute it again.")
        )
    removed = [a for key, a in current.items() if key not in wanted and not a.protected]
    for assignment in removed:
        db.session.delete(assignment)
    added = sorted(wanted - set(current))
    for submission_id, judge_id in added:
        db.session.add(
            Assignment(round_id=round_.id, submission_id=submission_id, judge_id=judge_id, created_by_id=actor.id)
        )
    run.state, run.applied_at = RunState.APPLIED.value, utcnow()
    round_.assignment_version += 1
    db.session.flush()
    audit.record(actor, "assignment.apply", round_, run_id=run.id, added=len(added), removed=len(removed))
    _notify_judges(round_, Counter(judge_id for _, judge_id in added))
    return {"added": len(added), "removed": len(removed), "kept": len(wanted) - len(added)}


def _notify_judges(round_: Round, new_work: Counter) -> None:
    for judge in db.session.scalars(select(User).where(User.id.in_(list(new_work)))):
        queue_mail(
            to=judge.email,
            template="judging/emails/assigned",
            locale=judge.locale,
            user=judge,
            link=internal_path("judging.home"),
            count=new_work[judge.id],
            round_name=(round_.name_en or round_.name_zh) if judge.locale == "en" else round_.name_zh,
            competition_name=(
                (round_.competition.name_en or round_.competition.name_zh)
                if judge.locale == "en"
                else round_.competition.name_zh
            ),
            assignments_url=external_url("judging.home"),
        )


def discard(run: AssignmentRun, *, actor: User) -> None:
    if run.state != RunState.PROPOSED:
        raise DomainError(_l("This proposal has already been applied or discarded."))
    run.state = RunState.DISCARDED.value
    audit.record(actor, "assignment.discard", ("assignment_run", run.id))


def add_judge(
    round_: Round,
    submission: Submission,
    judge: User,
    *,
    actor: User,
    expected_version: int,
    override_reason: str | None,
) -> Assignment:
    """Place one judge by hand; a conflict can be overridden only with a reason (audited)."""
    if submission.round_id != round_.id or submission.state != SubmissionState.SUBMITTED:
        raise DomainError(_l("Only a handed-in submission of this round can get judges."))
    conflict_rules.lock_competition(round_.competition)
    _check_version(round_, expected_version)
    membership = db.session.scalar(
        select(RoundJudge).where(RoundJudge.round_id == round_.id, RoundJudge.user_id == judge.id)
    )
    if membership is None:
        raise DomainError(_l("%(name)s does not judge this round.", name=judge.real_name), field="judge")
    if not membership.covers(submission.team.track_id):
        raise DomainError(_l("%(name)s does not judge the track %(track)s.", name=judge.real_name,
                             track=submission.team.track.name), field="judge")  # fmt: skip
    exists = db.session.scalar(
        select(Assignment.id).where(Assignment.submission_id == submission.id, Assignment.judge_id == judge.id)
    )
    if exists is not None:
        raise DomainError(_l("%(name)s already judges this submission.", name=judge.real_name), field="judge")
    reasons = conflict_reasons(round_, judge, submission.team)
    override = (override_reason or "").strip()
    if reasons and not override:
        raise DomainError(
            _l("%(name)s has a conflict of interest with this team: %(reasons)s. To place them anyway, give a reason.",
               name=judge.real_name, reasons="；".join(reasons)),
            field="override_reason",
        )  # fmt: skip
    assignment = Assignment(round_id=round_.id, submission_id=submission.id, judge_id=judge.id, created_by_id=actor.id,
                            override_reason=override or None)  # fmt: skip
    db.session.add(assignment)
    round_.assignment_version += 1
    db.session.flush()
    audit.record(actor, "assignment.add", submission, judge_id=judge.id, override_reason=override or None,
                 conflicts=reasons)  # fmt: skip
    _notify_judges(round_, Counter({judge.id: 1}))
    return assignment


def conflict_reasons(round_: Round, judge: User, team: Team) -> list[str]:
    """Why a judge must not judge a team: stored conflicts in force and the competition's rules."""
    from competition.judging.models import Conflict

    reasons = list(
        db.session.scalars(
            select(Conflict.reason).where(
                Conflict.competition_id == round_.competition_id, Conflict.judge_id == judge.id,
                Conflict.team_id == team.id, Conflict.dismissed_at.is_(None),
            )
        )
    )  # fmt: skip
    profile = conflict_rules.judge_profiles([judge.id])[judge.id]
    rule = conflict_rules.rule_conflict(round_.competition, profile, team)
    return reasons + ([rule] if rule else [])


def remove_judge(assignment: Assignment, *, actor: User, expected_version: int, reason: str | None) -> None:
    round_ = db.session.get(Round, assignment.round_id)
    conflict_rules.lock_competition(round_.competition)
    _check_version(round_, expected_version)
    reason = (reason or "").strip()
    if assignment.protected and not reason:
        raise DomainError(
            _l("This judge has started scoring the submission; give a reason to remove them."), field="reason"
        )
    audit.record(actor, "assignment.remove", assignment.submission, judge_id=assignment.judge_id, reason=reason or None)
    db.session.delete(assignment)
    round_.assignment_version += 1
    db.session.flush()
