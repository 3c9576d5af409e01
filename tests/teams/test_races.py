"""Races on real databases (PostgreSQL in CI, SQLite locally): the size limit holds under load."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.extensions import db
from competition.teams import services
from competition.teams.models import Team, TeamMember
from tests import factories


def test_ten_students_race_for_the_last_place_and_exactly_one_gets_it(app):
    contest = factories.competition(max_team_size=4, max_teams_per_student=1)
    team = factories.team(contest, members=2)  # 3 of 4 places taken
    students = [factories.user() for _ in range(10)]
    db.session.commit()
    team_id, student_ids = team.id, [student.id for student in students]

    barrier = threading.Barrier(len(student_ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def join(user_id: int) -> None:
        from competition.accounts.models import User

        with app.app_context():
            user = db.session.get(User, user_id)
            target = db.session.get(Team, team_id)
            profile = factories.member_profile(user)
            barrier.wait()
            try:
                services.join_team(target, user=user, profile=profile, now=utcnow())
                db.session.commit()
                outcome = "joined"
            except DomainError:
                db.session.rollback()
                outcome = "refused"
            except Exception as error:  # noqa: BLE001 - any other failure is what this test hunts
                db.session.rollback()
                outcome = f"error: {type(error).__name__}: {error}"
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=join, args=(user_id,)) for user_id in student_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["joined"] + ["refused"] * 9
    db.session.expire_all()
    assert db.session.scalar(select(func.count(TeamMember.id)).where(TeamMember.team_id == team_id)) == 4
    assert db.session.get(Team, team_id).member_count == 4
