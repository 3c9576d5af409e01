"""A competition ready for judging, shared by the judging view and service tests: an alliance round
with its judging window open, teams from both sides with handed-in submissions, the round's judges
(with the judge role) and an organizer, all reading English."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from competition.accounts.models import User
from competition.competitions.models import Competition
from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import RoundJudge
from competition.rounds.models import Round
from competition.submissions.models import Submission
from tests import factories

EN = {"Accept-Language": "en"}
TEAM_INSTITUTIONS = ("SCU", "CQU", "SISU", "UESTC")
JUDGE_INSTITUTIONS = ("SWU", "SWJTU", "CQUPT", "SWUFE")


@dataclass
class World:
    contest: Competition
    round: Round
    organizer: User
    submissions: list[Submission] = field(default_factory=list)
    judges: list[User] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.contest.code

    def url(self, suffix: str = "") -> str:
        return f"/competitions/{self.contest.code}/rounds/{self.round.id}{suffix}"


def build(
    *,
    teams: int = 4,
    judges: int = 4,
    k: int = 2,
    blind: bool = False,
    code: str = "JDG",
    team_institutions=TEAM_INSTITUTIONS,
    judge_institutions=JUDGE_INSTITUTIONS,
    **contest_fields,
) -> World:
    contest = factories.competition(code=code, state="judging", **contest_fields)
    factories.institution("CQUPT", name_zh="重庆邮电大学", city_zh="重庆", city_en="Chongqing", side="chongqing")
    track = factories.track(contest, "idea")
    now = utcnow()
    round_ = factories.round_(
        contest,
        name_zh="网评",
        name_en="Online review",
        level="alliance",
        judges_per_submission=k,
        blind=blind,
        judging_opens_at=now - timedelta(days=1),
        judging_closes_at=now + timedelta(days=10),
    )
    organizer = factories.user(locale="en", real_name="Olivia Organizer")
    factories.grant(organizer, contest, "organizer")
    world = World(contest, round_, organizer)
    for index in range(teams):
        team = factories.team(
            contest,
            state="approved",
            members=1,
            institution_row=factories.institution(team_institutions[index % len(team_institutions)]),
            track_row=track,
            name=f"Team {index + 1}",
        )
        team.project_title = f"Project {index + 1}"
        submission = Submission(round=round_, team=team, state="submitted", abstract="摘要", submitted_at=now)
        db.session.add(submission)
        world.submissions.append(submission)
    for index in range(judges):
        judge = factories.user(
            locale="en",
            real_name=f"Judge {index + 1}",
            institution=factories.institution(judge_institutions[index % len(judge_institutions)]),
        )
        factories.grant(judge, contest, "judge")
        db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
        world.judges.append(judge)
    db.session.commit()
    return world


def sign_in(client, user: User) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
