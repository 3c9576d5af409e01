"""Who may manage the expert pool, and who acts on a mentoring request.

The pool is the alliance's, shared by its competitions: platform admins and the organizers of any
competition manage it. A team's leader asks for a mentor; only the expert asked answers.
"""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select

from competition.accounts.models import Role
from competition.accounts.policies import is_platform_admin
from competition.core.permissions import policy
from competition.experts.models import Expert
from competition.extensions import db


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


@policy
def can_manage_experts(user) -> bool:
    if not _signed_in(user):
        return False
    return is_platform_admin(user) or any(grant.role == Role.ORGANIZER.value for grant in user.roles)


@policy
def is_expert(user) -> bool:
    """The person is in the pool (the navigation offers them their mentoring requests)."""
    if not _signed_in(user):
        return False
    if not has_request_context():
        return db.session.scalar(select(Expert.id).where(Expert.user_id == user.id)) is not None
    known = g.setdefault("expert_user_ids", {})  # asked on every page: once per request
    if user.id not in known:
        known[user.id] = db.session.scalar(select(Expert.id).where(Expert.user_id == user.id)) is not None
    return known[user.id]


@policy
def can_request_mentor(user, team) -> bool:
    return _signed_in(user) and team.leader_id == user.id


@policy
def can_answer_mentorship(user, mentorship) -> bool:
    return _signed_in(user) and mentorship.expert.user_id == user.id


@policy
def can_end_mentorship(user, mentorship) -> bool:
    """The leader withdraws a request or ends the mentorship; the expert ends it."""
    return _signed_in(user) and user.id in (mentorship.team.leader_id, mentorship.expert.user_id)
