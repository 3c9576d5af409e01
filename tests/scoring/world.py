"""A round with a rubric, handed-in submissions and assigned judges, for scoring tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from competition.extensions import db
from competition.judging.models import Assignment, RoundJudge
from competition.rounds.models import Round
from competition.scoring import services
from competition.submissions.models import Submission
from tests import factories

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@dataclass
class ScoringWorld:
    contest: object
    round: Round
    rubric: object
    submissions: list
    judges: list
    assignments: list
    organizer: object


def scoring_world(*, teams: int = 2, judges: int = 2, preset: str = "alliance-online-review", opens=NOW - timedelta(days=1),
                  closes=NOW + timedelta(days=7)) -> ScoringWorld:  # fmt: skip
    contest = factories.competition(code="SC1", state="judging")
    track = factories.track(contest, "idea")
    round_ = factories.round_(contest, level="alliance", judging_opens_at=opens, judging_closes_at=closes)
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    rubric = services.create_rubric(round_, actor=organizer, preset_code=preset)
    submissions, people, assignments = [], [], []
    for _ in range(teams):
        team = factories.team(contest, state="approved", track_row=track)
        submission = Submission(round=round_, team=team, state="submitted", abstract="摘要")
        db.session.add(submission)
        submissions.append(submission)
    for _ in range(judges):
        judge = factories.user(institution=factories.institution("CQU"))
        factories.grant(judge, contest, "judge")
        db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
        people.append(judge)
    db.session.flush()
    for submission in submissions:
        for judge in people:
            assignment = Assignment(round_id=round_.id, submission_id=submission.id, judge_id=judge.id)
            db.session.add(assignment)
            assignments.append(assignment)
    db.session.commit()
    return ScoringWorld(contest, round_, rubric, submissions, people, assignments, organizer)


def full_points(rubric, fraction: float = 0.8) -> dict[int, str]:
    return {criterion.id: str(int(float(criterion.max_points) * fraction)) for criterion in rubric.criteria}
