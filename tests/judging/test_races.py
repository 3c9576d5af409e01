"""Races on real databases (PostgreSQL in CI, SQLite locally): a conflict of interest declared while
a proposal that places the same judge on the same team is being applied.

Whatever the order, no assignment may stand on a pair with a conflict in force: either applying is
refused ("A conflict of interest was declared after this proposal was computed…") or the
declaration, coming second, takes the new assignment away again.
"""

from __future__ import annotations

import threading

from flask_babel import force_locale
from sqlalchemy import delete, select

from competition.accounts.models import User
from competition.competitions.models import Competition
from competition.core.errors import DomainError
from competition.extensions import db
from competition.judging import assignment, conflicts
from competition.judging.models import Assignment, AssignmentRun, RoundJudge
from competition.rounds.models import Round
from competition.submissions.models import Submission
from competition.teams.models import Team
from tests import factories

ROUNDS = 8
REFUSED = "A conflict of interest was declared after this proposal was computed."


def build(teams: int = 4, judges: int = 5, k: int = 2):
    contest = factories.competition()
    track = factories.track(contest, "idea")
    round_ = factories.round_(contest, level="alliance", entry_rule="all_approved", judges_per_submission=k)
    submissions = []
    for _ in range(teams):
        team = factories.team(contest, state="approved", members=0, track_row=track,
                              institution_row=factories.institution("SCU"))  # fmt: skip
        submission = Submission(round=round_, team=team, state="submitted", abstract="摘要")
        db.session.add(submission)
        submissions.append(submission)
    people = []
    for _ in range(judges):
        person = factories.user(institution=factories.institution("CQU"))
        db.session.add(RoundJudge(round_id=round_.id, user_id=person.id))
        people.append(person)
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    db.session.flush()
    return contest, round_, submissions, people, organizer


def fresh_proposal(round_, organizer, k: int) -> AssignmentRun:
    """Clear the round's assignments and propose again: every pair of the proposal is new."""
    db.session.execute(delete(Assignment).where(Assignment.round_id == round_.id))
    round_.assignment_version += 1
    run = assignment.propose(round_, actor=organizer, settings=assignment.Settings(judges_per_submission=k))
    db.session.commit()
    return run


def conflicted_assignments(contest_id: int) -> list[tuple[int, int]]:
    """(judge id, team id) of every assignment that stands on a pair with a conflict in force."""
    db.session.expire_all()
    in_force = conflicts.active_pairs(db.session.get(Competition, contest_id))
    rows = db.session.execute(
        select(Assignment.judge_id, Submission.team_id).join(Submission, Submission.id == Assignment.submission_id)
    ).all()
    return [tuple(row) for row in rows if tuple(row) in in_force]


def test_declaring_first_makes_applying_refuse(app):
    contest, round_, submissions, judges, organizer = build()
    run = fresh_proposal(round_, organizer, 2)
    submission_id, judge_id = run.pairs[0]
    team = db.session.get(Submission, submission_id).team
    conflicts.declare(contest, judge=db.session.get(User, judge_id), team=team, actor=organizer,
                      reason="曾为该团队导师", by_organizer=True)  # fmt: skip
    db.session.commit()
    with force_locale("en"):
        try:
            assignment.apply(run, actor=organizer)
        except DomainError as error:
            message = str(error.message)
        else:
            message = "applied"
    assert message.startswith(REFUSED)
    db.session.rollback()
    assert conflicted_assignments(contest.id) == []


def test_declaring_second_takes_the_new_assignment_away(app):
    contest, round_, submissions, judges, organizer = build()
    run = fresh_proposal(round_, organizer, 2)
    submission_id, judge_id = run.pairs[0]
    assignment.apply(run, actor=organizer)
    db.session.commit()
    team = db.session.get(Submission, submission_id).team
    conflicts.declare(contest, judge=db.session.get(User, judge_id), team=team, actor=organizer,
                      reason="曾为该团队导师", by_organizer=True)  # fmt: skip
    db.session.commit()
    assert conflicted_assignments(contest.id) == []
    assert len(run.pairs) - 1 == db.session.scalar(select(db.func.count(Assignment.id)))


def test_a_conflict_declared_while_a_proposal_is_applied_never_leaves_an_assignment_on_it(app):
    contest, round_, submissions, judges, organizer = build()
    db.session.commit()
    contest_id, round_id, organizer_id = contest.id, round_.id, organizer.id
    outcomes: list[tuple[str, str]] = []
    for attempt in range(ROUNDS):
        round_ = db.session.get(Round, round_id)
        run = fresh_proposal(round_, db.session.get(User, organizer_id), 2)
        in_force = conflicts.active_pairs(db.session.get(Competition, contest_id))
        teams = {s.id: s.team_id for s in db.session.scalars(select(Submission))}
        # a pair of the proposal without a conflict yet: the judge is about to declare one
        submission_id, judge_id = next(
            (s, j) for s, j in run.pairs[attempt % len(run.pairs) :] + run.pairs if (j, teams[s]) not in in_force
        )
        team_id, run_id = teams[submission_id], run.id
        db.session.commit()

        barrier = threading.Barrier(2)
        lock = threading.Lock()
        results: dict[str, str] = {}

        def record(who: str, outcome: str, results=results, lock=lock) -> None:
            with lock:
                results[who] = outcome

        def apply_proposal(barrier=barrier, record=record, run_id=run_id) -> None:
            with app.app_context(), force_locale("en"):
                proposal = db.session.get(AssignmentRun, run_id)
                actor = db.session.get(User, organizer_id)
                barrier.wait()
                try:
                    assignment.apply(proposal, actor=actor)
                    db.session.commit()
                    record("apply", "applied")
                except DomainError as error:
                    db.session.rollback()
                    record("apply", f"refused: {error.message}")
                except Exception as error:  # noqa: BLE001 - any other failure is what this test hunts
                    db.session.rollback()
                    record("apply", f"error: {type(error).__name__}: {error}")

        def declare_conflict(barrier=barrier, record=record, judge_id=judge_id, team_id=team_id) -> None:
            with app.app_context(), force_locale("en"):
                competition = db.session.get(Competition, contest_id)
                judge = db.session.get(User, judge_id)
                team = db.session.get(Team, team_id)
                barrier.wait()
                try:
                    conflicts.declare(competition, judge=judge, team=team, actor=judge, reason="我曾指导该团队",
                                      by_organizer=False)  # fmt: skip
                    db.session.commit()
                    record("declare", "declared")
                except Exception as error:  # noqa: BLE001 - declaring must always work
                    db.session.rollback()
                    record("declare", f"error: {type(error).__name__}: {error}")

        threads = [threading.Thread(target=apply_proposal), threading.Thread(target=declare_conflict)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert results.get("declare") == "declared", results
        assert results.get("apply") == "applied" or results["apply"] == f"refused: {REFUSED} Please compute it again."
        assert conflicted_assignments(contest_id) == [], (attempt, results)
        stored = {(a.submission_id, a.judge_id) for a in db.session.scalars(select(Assignment))}
        if results["apply"] == "applied":  # the declaration came second: it took exactly that pair away
            assert stored == {tuple(pair) for pair in run.pairs} - {(submission_id, judge_id)}
        else:
            assert stored == set()
        outcomes.append((results["apply"][:7], results["declare"]))
    assert len(outcomes) == ROUNDS
