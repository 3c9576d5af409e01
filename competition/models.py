"""Every model module, imported in one place so the metadata (and Alembic) sees all tables."""

from competition.accounts.models import CompetitionRole, User  # noqa: F401
from competition.certificates.models import Certificate, CertificateCounter, CertificateTemplate  # noqa: F401
from competition.communications.models import Announcement, Mailing  # noqa: F401
from competition.competitions.models import Competition, Track  # noqa: F401
from competition.core.audit import AuditEntry  # noqa: F401
from competition.core.jobs import Job  # noqa: F401
from competition.core.mail import OutboxMessage  # noqa: F401
from competition.experts.models import Expert, Mentorship  # noqa: F401
from competition.institutions.models import Institution  # noqa: F401
from competition.judging.models import Assignment, AssignmentRun, Conflict, RoundJudge  # noqa: F401
from competition.notifications.models import Notification  # noqa: F401
from competition.privacy.models import Consent, DeletionRequest  # noqa: F401
from competition.results.models import Appeal, AwardOverride, ResultSnapshot  # noqa: F401
from competition.rounds.models import Round, RoundEntry  # noqa: F401
from competition.scoring.models import Criterion, Rubric, Scorecard, ScoreHistory, ScoreValue  # noqa: F401
from competition.submissions.models import Extension, MaterialSlot, Submission, SubmissionFile  # noqa: F401
from competition.teams.models import Advisor, Team, TeamInvitation, TeamMember  # noqa: F401
