"""What must hold of the data whatever happened: each invariant is a function that returns the
violations it finds, in words an operator understands (an empty list when all is well).

`flask --app wsgi check` runs them all; the test suite runs the cheap ones after every test that used
the database (tests/conftest.py), so a code path that breaks one fails the test that took it.

Deliberately allowed, so not violations:
- a scorecard without an assignment: a judge taken off after scoring leaves the scores on record
  (competition.scoring.models.Scorecard); they no longer count;
- an assignment despite a conflict when an organizer placed the judge with a reason
  (`override_reason`), or, for an automatic conflict, when the judge had begun scoring (`protected`,
  flagged on the assignment page);
- a published snapshot that differs from a recomputation because scores or awards changed after it
  was published: it waits for a new, audited publication.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from competition.extensions import db
from competition.operations.backup import FILE_COLUMNS

Check = Callable[[], list[str]]


@dataclass(frozen=True)
class Invariant:
    name: str
    description: str
    check: Check
    #: a few aggregate queries, whatever the size of the data (run after every test)
    cheap: bool
    #: nothing to check while these tables are all empty
    tables: tuple[str, ...]


INVARIANTS: dict[str, Invariant] = {}


def invariant(name: str, description: str, *, tables: tuple[str, ...], cheap: bool = True) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        INVARIANTS[name] = Invariant(name, description, check, cheap, tables)
        return check

    return register


@invariant(
    "scores",
    "Every counted scorecard belongs to an assignment of its judge, submission and round.",
    tables=("scorecards",),
)
def scores_match_assignments() -> list[str]:
    from competition.judging.models import Assignment
    from competition.scoring.models import Criterion, Scorecard, ScoreValue

    problems = [
        f"scorecard {card_id} (judge {judge_id}, submission {submission_id}, round {round_id}) points to assignment "
        f"{assignment_id} of judge {a_judge}, submission {a_submission}, round {a_round}"
        for card_id, judge_id, submission_id, round_id, assignment_id, a_judge, a_submission, a_round in db.session.execute(
            select(Scorecard.id, Scorecard.judge_id, Scorecard.submission_id, Scorecard.round_id, Assignment.id,
                   Assignment.judge_id, Assignment.submission_id, Assignment.round_id)
            .join(Assignment, Assignment.id == Scorecard.assignment_id)
            .where(or_(Assignment.judge_id != Scorecard.judge_id, Assignment.submission_id != Scorecard.submission_id,
                       Assignment.round_id != Scorecard.round_id))
            .order_by(Scorecard.id)
        )
    ]  # fmt: skip
    problems += [
        f"score value {value_id} of scorecard {card_id} is for criterion {criterion_id}, which is not in the "
        f"scorecard's rubric {rubric_id}"
        for value_id, card_id, criterion_id, rubric_id in db.session.execute(
            select(ScoreValue.id, Scorecard.id, Criterion.id, Scorecard.rubric_id)
            .join(Scorecard, Scorecard.id == ScoreValue.scorecard_id)
            .join(Criterion, Criterion.id == ScoreValue.criterion_id)
            .where(Criterion.rubric_id != Scorecard.rubric_id)
            .order_by(ScoreValue.id)
        )
    ]
    return problems


@functools.cache
def _conflicts_statement():
    from competition.judging.models import AUTOMATIC_SOURCES, Assignment, Conflict
    from competition.rounds.models import Round
    from competition.submissions.models import Submission

    automatic = [source.value for source in AUTOMATIC_SOURCES]
    return (
        select(Conflict.id, Conflict.source, Assignment.id, Assignment.judge_id, Submission.team_id)
        .join(Submission, Submission.team_id == Conflict.team_id)
        .join(Assignment, and_(Assignment.submission_id == Submission.id, Assignment.judge_id == Conflict.judge_id))
        .join(Round, and_(Round.id == Assignment.round_id, Round.competition_id == Conflict.competition_id))
        .where(
            Conflict.dismissed_at.is_(None),
            Assignment.override_reason.is_(None),
            # an automatic conflict found after the judge began scoring leaves a flagged assignment
            or_(Conflict.source.not_in(automatic), Assignment.protected.is_(False)),
        )
        .order_by(Assignment.id, Conflict.id)
    )


@invariant("conflicts", "No judge is assigned to a team they are in conflict with (回避).", tables=("conflicts",))
def conflicts_have_no_assignment() -> list[str]:
    rows = db.session.execute(_conflicts_statement())
    return [
        f"assignment {assignment_id}: judge {judge_id} is assigned to team {team_id} despite conflict {conflict_id} "
        f"({source})"
        for conflict_id, source, assignment_id, judge_id, team_id in rows
    ]


@invariant(
    "certificates",
    "Certificate serials and verification codes are unique; one current certificate per recipient.",
    tables=("certificates",),
)
def certificates_are_unique() -> list[str]:
    from competition.certificates.models import Certificate, CertificateState

    problems = []
    for column, label in ((Certificate.serial, "serial"), (Certificate.verification_code, "verification code")):
        for value, count in db.session.execute(
            select(column, func.count()).group_by(column).having(func.count() > 1).order_by(column)
        ):
            problems.append(f"{count} certificates share the {label} {value}")
    for competition_id, key, count in db.session.execute(
        select(Certificate.competition_id, Certificate.recipient_key, func.count())
        .where(Certificate.is_current.is_(True))
        .group_by(Certificate.competition_id, Certificate.recipient_key)
        .having(func.count() > 1)
        .order_by(Certificate.competition_id, Certificate.recipient_key)
    ):
        problems.append(f"competition {competition_id}: {count} current certificates for the recipient {key}")
    for serial in db.session.scalars(
        select(Certificate.serial)
        .where(Certificate.state == CertificateState.ISSUED.value,
               or_(Certificate.file_key.is_(None), Certificate.sha256.is_(None)))
        .order_by(Certificate.serial)
    ):  # fmt: skip
        problems.append(f"certificate {serial} is issued but has no stored PDF")
    return problems


@functools.cache
def _teams_statement():
    """Built once (it takes longer to build than to run on a test's few rows)."""
    from competition.competitions.models import Competition
    from competition.teams.models import Advisor, MemberRole, Team, TeamMember

    members = (
        select(TeamMember.team_id, func.count().label("members"),
               func.sum(case((TeamMember.role == MemberRole.LEADER.value, 1), else_=0)).label("leaders"))
        .group_by(TeamMember.team_id)
        .subquery()
    )  # fmt: skip
    advisors = select(Advisor.team_id, func.count().label("advisors")).group_by(Advisor.team_id).subquery()
    leader = aliased(TeamMember)
    return (
        select(Team.id, Team.name, Team.state, Team.member_count, Competition.min_team_size, Competition.max_team_size,
               Competition.max_advisors, func.coalesce(members.c.members, 0), func.coalesce(members.c.leaders, 0),
               func.coalesce(advisors.c.advisors, 0), leader.id)
        .join(Competition, Competition.id == Team.competition_id)
        .outerjoin(members, members.c.team_id == Team.id)
        .outerjoin(advisors, advisors.c.team_id == Team.id)
        .outerjoin(leader, and_(leader.team_id == Team.id, leader.user_id == Team.leader_id,
                                leader.role == MemberRole.LEADER.value))
        .order_by(Team.id)
    )  # fmt: skip


@invariant(
    "teams",
    "Teams handed in or approved have a size within their competition's rules, and at most its advisors.",
    tables=("teams",),
)
def team_sizes_within_rules() -> list[str]:
    from competition.teams.models import TeamState

    problems = []
    for row in db.session.execute(_teams_statement()):
        team_id, name, state, member_count, low, high, max_advisors, count, leaders, advisor_count, leader_id = row
        where = f"team {team_id} “{name}” ({state})"
        if state in (TeamState.SUBMITTED, TeamState.APPROVED) and not low <= count <= high:
            problems.append(f"{where} has {count} members; its competition allows {low}–{high}")
        if state != TeamState.WITHDRAWN and advisor_count > max_advisors:
            problems.append(f"{where} has {advisor_count} advisors; its competition allows {max_advisors}")
    return problems


@invariant("members", "Every team's member count is right and its leader is its one leading member.", tables=("teams",))
def team_members_consistent() -> list[str]:
    problems = []
    for row in db.session.execute(_teams_statement()):
        team_id, name, state, member_count, _, _, _, count, leaders, _, leader_id = row
        where = f"team {team_id} “{name}” ({state})"
        if member_count != count:
            problems.append(f"{where} counts {member_count} members but has {count}")
        if leaders != 1 or leader_id is None:
            problems.append(f"{where}: its leader is not its one member with the leader's role")
    return problems


@invariant(
    "snapshots",
    "Every published result equals a recomputation from the scores.",
    tables=("result_snapshots",),
    cheap=False,
)
def snapshots_match_recomputation() -> list[str]:
    from competition.results import services as results
    from competition.results.models import AwardOverride, ResultSnapshot, SnapshotKind
    from competition.rounds.models import Round
    from competition.scoring.models import Scorecard, ScoreHistory

    compared = ("score", "untrimmed_total", "judges", "rank", "rank_overall", "award")
    problems = []
    snapshots = db.session.scalars(
        select(ResultSnapshot)
        .where(ResultSnapshot.kind == SnapshotKind.PUBLISHED.value, ResultSnapshot.superseded_at.is_(None))
        .order_by(ResultSnapshot.id)
    ).all()
    for snapshot in snapshots:
        round_ = db.session.get(Round, snapshot.round_id)
        stored = {
            key: value
            for key, value in (snapshot.settings or {}).items()
            if key in results.ResultSettings.__annotations__
        }
        live = {
            row["submission_id"]: row for row in results.compute_round(round_, results.ResultSettings(**stored)).rows
        }
        frozen = {row["submission_id"]: row for row in snapshot.rows}
        differences = []
        for submission_id in sorted(set(live) | set(frozen)):
            if submission_id not in live or submission_id not in frozen:
                differences.append(f"submission {submission_id} is in only one of them")
                continue
            for key in compared:
                if live[submission_id].get(key) != frozen[submission_id].get(key):
                    differences.append(f"submission {submission_id}: {key} {frozen[submission_id].get(key)!r} "
                                       f"published, {live[submission_id].get(key)!r} now")  # fmt: skip
        if not differences:
            continue
        changed_since = db.session.scalar(
            select(func.count()).select_from(Scorecard).where(
                Scorecard.round_id == round_.id,
                or_(Scorecard.updated_at > snapshot.created_at, Scorecard.submitted_at > snapshot.created_at,
                    Scorecard.id.in_(select(ScoreHistory.scorecard_id).where(ScoreHistory.created_at > snapshot.created_at))),
            )
        ) or db.session.scalar(
            select(func.count()).select_from(AwardOverride).where(
                AwardOverride.round_id == round_.id, AwardOverride.created_at > snapshot.created_at
            )
        )  # fmt: skip
        if changed_since:
            continue  # waiting for a new publication (see the module's docstring)
        problems.append(f"round {round_.id}: published snapshot {snapshot.id} differs from a recomputation: "
                        + "; ".join(differences[:5]) + (" …" if len(differences) > 5 else ""))  # fmt: skip
    return problems


@invariant(
    "files",
    "Every stored file named by a row is there and matches its SHA-256.",
    tables=tuple(sorted({item.table for item in FILE_COLUMNS})),
    cheap=False,
)
def files_match_hashes() -> list[str]:
    from competition.core import storage

    problems = []
    for item in FILE_COLUMNS:
        table = db.metadata.tables[item.table]
        key_column = table.c[item.key]
        sha_column = table.c[item.sha256] if item.sha256 else None
        columns = [table.primary_key.columns[0], key_column] + ([sha_column] if sha_column is not None else [])
        statement = select(*columns).where(key_column.is_not(None)).order_by(columns[0])
        if item.gone_when:
            statement = statement.where(table.c[item.gone_when].is_(None))
        for row in db.session.execute(statement):
            row_id, key, expected = row[0], row[1], row[2] if sha_column is not None else None
            where = f"{item.table} {row_id}: {item.key} {key}"
            try:
                path = storage.path_for(key)
            except ValueError:
                problems.append(f"{where} points outside the upload folder")
                continue
            if not path.is_file():
                problems.append(f"{where}: the file is missing")
                continue
            if expected:
                digest = hashlib.sha256()
                with path.open("rb") as handle:
                    while chunk := handle.read(storage.CHUNK):
                        digest.update(chunk)
                if digest.hexdigest() != expected:
                    problems.append(f"{where}: the file's SHA-256 is {digest.hexdigest()}, the row says {expected}")
    return problems


def run(names: list[str] | tuple[str, ...] | None = None, *, cheap_only: bool = False,
        skip: tuple[str, ...] = ()) -> dict[str, list[str]]:  # fmt: skip
    """The violations per invariant (names in registration order)."""
    unknown = set(names or ()) - set(INVARIANTS)
    if unknown:
        raise ValueError(f"unknown invariant(s): {', '.join(sorted(unknown))}")
    chosen = [
        item
        for item in INVARIANTS.values()
        if (not names or item.name in names) and (item.cheap or not cheap_only) and item.name not in skip
    ]
    populated = _populated(frozenset(table for item in chosen for table in item.tables))
    return {item.name: item.check() if populated & set(item.tables) else [] for item in chosen}


def _populated(tables: frozenset[str]) -> set[str]:
    """Which of `tables` have a row, in one query (most tests never touch most tables)."""
    if not tables:
        return set()
    names = sorted(tables)
    found = db.session.execute(_exists_query(tuple(names))).one()
    return {name for name, present in zip(names, found, strict=True) if present}


@functools.cache
def _exists_query(names: tuple[str, ...]):
    return select(*(exists().select_from(db.metadata.tables[name]).label(name) for name in names))
