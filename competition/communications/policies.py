"""Who may read and write announcements and send bulk e-mails.

Announcements: everyone who may see the competition reads the published ones (a draft competition's
only its organizers); its organizers and platform admins write them. Bulk e-mails: organizers to
anyone in the competition, institution organizers only to their own institution's teams.
"""

from __future__ import annotations

from competition.competitions.models import Competition
from competition.competitions.policies import can_manage_competition, can_view_competition
from competition.core.permissions import policy
from competition.teams.policies import reviewable_institution_ids


@policy
def can_view_announcements(user, competition: Competition) -> bool:
    return can_view_competition(user, competition)


@policy
def can_manage_announcements(user, competition: Competition) -> bool:
    return can_manage_competition(user, competition)


def mailing_scope(user, competition: Competition) -> set[int] | None:
    """None: every team and the judges (organizers, admins); else the institutions whose teams this
    person may mail (institution organizers; empty for anyone else)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return reviewable_institution_ids(user, competition)


@policy
def can_send_mailings(user, competition: Competition) -> bool:
    scope = mailing_scope(user, competition)
    return scope is None or bool(scope)
