"""A scored round for the public results, team feedback and appeal tests: teams scored by two judges
with comments (tests/scoring/world.py), and snapshots made of synthetic rows for query counts."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy import event

from competition.extensions import db
from competition.results.models import ResultSnapshot
from competition.scoring import services as scoring
from tests.scoring.world import NOW, ScoringWorld, scoring_world

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
#: the judges' points as a share of each criterion's maximum, per team (both judges alike)
FRACTIONS = (0.9, 0.7, 0.5)
COMMENT = "商业模式清晰，市场分析需要更多数据。"
OVERALL = "整体不错，建议补充财务预测。"


@dataclass
class ResultsWorld:
    scoring: ScoringWorld

    @property
    def round(self):
        return self.scoring.round

    @property
    def contest(self):
        return self.scoring.contest

    @property
    def organizer(self):
        return self.scoring.organizer

    @property
    def judges(self):
        return self.scoring.judges

    @property
    def teams(self):
        return [submission.team for submission in self.scoring.submissions]

    def url(self) -> str:
        return f"/results/{self.contest.code}/{self.round.id}"


def scored_round(*, teams: int = 3, settings: dict | None = None) -> ResultsWorld:
    """Three teams of one track scored 90 %, 70 % and 50 % by two judges; the first criterion of
    each scorecard and the scorecard itself carry a comment."""
    world = scoring_world(teams=teams, judges=2)
    if settings:
        world.round.result_settings = {**(world.round.result_settings or {}), **settings}
    fractions = {submission.id: FRACTIONS[index % len(FRACTIONS)] for index, submission in enumerate(world.submissions)}
    for assignment in world.assignments:
        judge = next(person for person in world.judges if person.id == assignment.judge_id)
        criteria = world.rubric.criteria
        points = {c.id: str(int(float(c.max_points) * fractions[assignment.submission_id])) for c in criteria}
        data = scoring.ScoreInput(points, {criteria[0].id: COMMENT}, OVERALL, 0)
        scoring.save(assignment, judge=judge, data=data, submit=True, now=NOW)
    db.session.commit()
    return ResultsWorld(world)


def synthetic_snapshot(round_, rows: int, *, kind: str = "published", show_scores: bool = True) -> ResultSnapshot:
    """A snapshot of `rows` made-up rows over two tracks: the page reads nothing else."""
    items = []
    for index in range(rows):
        track = index % 2
        items.append({
            "submission_id": 10_000 + index, "team_id": 10_000 + index, "team_name": f"团队{index}",
            "project_title": f"项目{index}", "institution_zh": "四川大学", "institution_en": "Sichuan University",
            "side": "sichuan", "track_id": 900 + track, "track_zh": f"赛道{track}", "track_en": f"Track {track}",
            "track_position": track, "score": round(90 - index * 0.37, 2), "rank": index // 2 + 1,
            "rank_overall": index + 1, "award": ("gold", "silver", "bronze", None)[index % 4],
            "advances": index < 10,
        })  # fmt: skip
    snapshot = ResultSnapshot(round_id=round_.id, kind=kind, settings={"show_scores": show_scores, "method": "mean"},
                              rows=items, feedback={}, statistics={}, created_at=NOW,
                              notice_until=None if kind == "published" else NOW)  # fmt: skip
    db.session.add(snapshot)
    db.session.commit()
    return snapshot


@contextlib.contextmanager
def count_queries():
    """The SQL statements run inside the block (a "before_cursor_execute" listener on the engine)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
