"""A round's judges: who judges it, for which tracks and with which load bounds.

Adding a person needs their account (found by e-mail); they get the competition's judge role if
they lack it, and their automatic conflicts are computed at once. Changing or removing a judge
changes what an assignment may contain, so it raises the round's assignment version: a proposal
computed before cannot be applied unseen. Removing a judge takes them off the round's submissions
they have not started scoring; one who has started must first be removed from those by hand, with
a reason. Every change is audited; services flush but never commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from competition.accounts import services as account_services
from competition.accounts.models import Role, User
from competition.core import audit
from competition.core.errors import DomainError
from competition.extensions import db
from competition.judging import conflicts
from competition.judging.models import Assignment, RoundJudge
from competition.rounds.models import Round

#: the largest load bound an organizer may type (a judge reading more in one round is a typo)
LOAD_LIMIT = 500


def round_tracks(round_: Round) -> list:
    """The tracks a judge of this round may be limited to: the round's, or all the competition's."""
    return list(round_.tracks or round_.competition.tracks)


def _track_ids(round_: Round, track_ids: Iterable[int] | None) -> list[int]:
    available = {track.id for track in round_tracks(round_)}
    chosen = sorted({int(track_id) for track_id in track_ids or ()})
    if any(track_id not in available for track_id in chosen):
        raise DomainError(_l("Please choose tracks of this round."), field="tracks")
    return chosen


def _check_loads(min_load: int | None, max_load: int | None) -> None:
    if min_load is not None and not 0 <= min_load <= LOAD_LIMIT:
        raise DomainError(
            _l("The smallest load is a number between %(min)s and %(max)s.", min=0, max=LOAD_LIMIT), field="min_load"
        )
    if max_load is not None and not 1 <= max_load <= LOAD_LIMIT:
        raise DomainError(
            _l("The largest load is a number between %(min)s and %(max)s.", min=1, max=LOAD_LIMIT), field="max_load"
        )
    if min_load is not None and max_load is not None and min_load > max_load:
        raise DomainError(_l("The smallest load cannot exceed the largest."), field="max_load")


def _check_version(round_: Round, expected_version: int | None) -> None:
    if expected_version is None:
        return
    db.session.refresh(round_, ["assignment_version"])
    if round_.assignment_version != expected_version:
        raise DomainError(
            _l("Someone else changed this round's assignments in the meantime. Reload the page and try again.")
        )


def add_round_judge(
    round_: Round,
    *,
    actor: User,
    email: str,
    track_ids: Iterable[int] | None = None,
    min_load: int | None = None,
    max_load: int | None = None,
) -> RoundJudge:
    """The person with this e-mail judges the round (for `track_ids`, all when empty)."""
    competition = round_.competition
    user = account_services.find_user_by_email(email or "")
    if user is None:
        raise DomainError(
            _l("Nobody has registered with this e-mail address yet. Ask the person to create an account first."),
            field="email",
        )
    if user.is_disabled:
        raise DomainError(_l("The account of %(name)s is disabled.", name=user.real_name), field="email")
    tracks = _track_ids(round_, track_ids)
    _check_loads(min_load, max_load)
    taken = db.session.scalar(
        select(RoundJudge.id).where(RoundJudge.round_id == round_.id, RoundJudge.user_id == user.id)
    )
    if taken is not None:
        raise DomainError(_l("%(name)s already judges this round.", name=user.real_name), field="email")
    if Role.JUDGE not in user.roles_in(competition):
        account_services.grant_role(actor=actor, user=user, competition=competition, role=Role.JUDGE)
    row = RoundJudge(round_id=round_.id, user_id=user.id, track_ids=tracks, min_load=min_load, max_load=max_load,
                     added_by_id=actor.id)  # fmt: skip
    try:
        with db.session.begin_nested():  # two organizers adding the same person at once
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise DomainError(_l("%(name)s already judges this round.", name=user.real_name), field="email") from None
    audit.record(actor, "round_judge.add", round_, user_id=user.id, track_ids=tracks, min_load=min_load,
                 max_load=max_load)  # fmt: skip
    conflicts.refresh_automatic_conflicts(competition, actor=actor)
    return row


def update_round_judge(
    round_judge: RoundJudge,
    *,
    actor: User,
    track_ids: Iterable[int] | None = None,
    min_load: int | None = None,
    max_load: int | None = None,
) -> RoundJudge:
    round_ = db.session.get(Round, round_judge.round_id)
    tracks = _track_ids(round_, track_ids)
    _check_loads(min_load, max_load)
    before = {"track_ids": list(round_judge.track_ids or []), "min_load": round_judge.min_load,
              "max_load": round_judge.max_load}  # fmt: skip
    after = {"track_ids": tracks, "min_load": min_load, "max_load": max_load}
    if before == after:
        return round_judge
    conflicts.lock_competition(round_.competition)
    round_judge.track_ids, round_judge.min_load, round_judge.max_load = tracks, min_load, max_load
    round_.assignment_version += 1
    db.session.flush()
    audit.record(actor, "round_judge.update", round_, user_id=round_judge.user_id, before=before, after=after)
    return round_judge


def remove_round_judge(round_judge: RoundJudge, *, actor: User, expected_version: int | None = None) -> int:
    """Take a judge off the round and off the submissions they have not started scoring; returns
    how many assignments went. Refused while they have started scoring one (remove those first)."""
    round_ = db.session.get(Round, round_judge.round_id)
    conflicts.lock_competition(round_.competition)
    _check_version(round_, expected_version)
    judge = db.session.get(User, round_judge.user_id)
    started = db.session.scalar(
        select(func.count(Assignment.id)).where(
            Assignment.round_id == round_.id, Assignment.judge_id == judge.id, Assignment.protected.is_(True)
        )
    )
    if started:
        raise DomainError(
            _l(
                "%(name)s has started scoring %(count)s submission(s) of this round. Remove them from those on the assignment page first (with a reason).",
                name=judge.real_name, count=started,
            )
        )  # fmt: skip
    removed = db.session.execute(
        delete(Assignment).where(Assignment.round_id == round_.id, Assignment.judge_id == judge.id)
    ).rowcount
    db.session.delete(round_judge)
    round_.assignment_version += 1
    db.session.flush()
    audit.record(actor, "round_judge.remove", round_, user_id=judge.id, removed_assignments=removed)
    return removed
