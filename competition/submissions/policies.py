"""Who may read and change a submission, and download its files.

- the team's members: their own submission, every version;
- reviewers (admins, the competition's organizers, the team's institution organizer): everything;
- judges: the current files of a submission assigned to them, while the round's judging is open —
  and in a blind round only the metadata-free copies, never who the team is;
- nobody else: 404, as if the file did not exist.
"""

from __future__ import annotations

from sqlalchemy import select

from competition.accounts.models import Role
from competition.competitions.policies import can_manage_competition
from competition.core.permissions import policy
from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import Assignment
from competition.rounds.models import RoundLevel
from competition.teams.policies import can_review_team, reviewable_institution_ids


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_team_member(user, team) -> bool:
    return _signed_in(user) and team.member_for(user) is not None


@policy
def can_edit_submission(user, team) -> bool:
    """Any member of the team uploads and edits; the leader alone is not a bottleneck."""
    return is_team_member(user, team)


@policy
def can_view_submission(user, team) -> bool:
    return is_team_member(user, team) or can_review_team(user, team)


@policy
def can_manage_submission(user, round_, team) -> bool:
    """Reopen and extend: organizers, and the team's institution organizer in a school round."""
    if not _signed_in(user) or team.competition_id != round_.competition_id:
        return False
    scope = reviewable_institution_ids(user, round_.competition)
    if scope is None:
        return True
    return round_.level == RoundLevel.INSTITUTION and team.institution_id in scope


@policy
def can_see_round_submissions(user, round_) -> bool:
    """The overview of a round: organizers all teams, institution organizers their own."""
    if not _signed_in(user):
        return False
    scope = reviewable_institution_ids(user, round_.competition)
    return scope is None or bool(scope)


@policy
def can_manage_materials(user, round_) -> bool:
    """A round's materials and submission window, and the archive of every file: organizers."""
    return can_manage_competition(user, round_.competition)


def judge_assignment(user, submission):
    """The person's assignment to this submission, while they still hold the judge role (removing
    the role ends their access even though the assignment stays on record)."""
    if not _signed_in(user) or Role.JUDGE not in user.roles_in(submission.round.competition):
        return None
    return db.session.scalar(
        select(Assignment).where(Assignment.submission_id == submission.id, Assignment.judge_id == user.id)
    )


def is_judging(user, submission) -> bool:
    """An assigned judge while the round's judging window is open."""
    return judge_assignment(user, submission) is not None and submission.round.judging_is_open(utcnow())


@policy
def can_read_submission(user, submission) -> bool:
    """The reading page judges use: an assigned judge while judging is open, and reviewers."""
    return is_judging(user, submission) or can_review_team(user, submission.team)


def can_download_file(user, item) -> bool:
    submission = item.submission
    team = submission.team
    if is_team_member(user, team) or can_review_team(user, team):
        return True
    if not is_judging(user, submission):
        return False
    current = {current.id for current in submission.current_files(item.slot)}
    return item.id in current


@policy
def is_blind_for(user, submission) -> bool:
    """Whether this person must not learn who the team is (a judge of a blind round)."""
    return bool(submission.round.blind) and not (
        is_team_member(user, submission.team) or can_review_team(user, submission.team)
    )
