"""Who manages a competition's certificates: issuing, the list, revoking and reissuing, downloads,
the templates. The organizers of the competition and platform admins — as for its rounds.

Recipients download their own certificates through competition.certificates.services.may_download;
the public verification pages need no policy.
"""

from __future__ import annotations

from competition.core.permissions import policy
from competition.rounds.policies import can_manage_rounds


@policy
def can_manage_certificates(user, competition) -> bool:
    """Issue, list, revoke, reissue and download a competition's certificates, edit its templates."""
    return bool(user is not None and getattr(user, "is_authenticated", False)) and can_manage_rounds(user, competition)
