"""The competition's team rules, each refused with a message that names the rule and the numbers.

Every check here reads the database only; none writes. Services call them before changing anything,
so a refused action leaves the database as it was.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from competition.accounts.models import User
from competition.competitions.models import DEGREE_LABELS, Competition, DegreeLevel
from competition.core.errors import DomainError
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams.models import Team, TeamMember, TeamState
from competition.teams.national_id import normalize_national_id

TEAM_NAME_MAX = 60
PROJECT_TITLE_MAX = 100
#: states in which a team counts against a person's limits
ACTIVE_STATES = (TeamState.DRAFT, TeamState.SUBMITTED, TeamState.APPROVED, TeamState.RETURNED)


@dataclass
class MemberProfile:
    """What the national rules ask of every student in a team."""

    real_name: str
    student_number: str
    institution: Institution
    department: str
    major: str
    degree_level: str
    enrollment_year: int
    graduation_year: int
    phone: str | None = None
    #: only when the competition requires it; empty on a change keeps the number on file
    national_id: str | None = None
    #: the separate consent PIPL asks before sensitive information (an ID number) is collected
    national_id_consent: bool = False

    def as_columns(self) -> dict:
        """The columns every profile sets (the national ID number goes through `national_id_to_store`)."""
        return {
            "real_name": self.real_name,
            "student_number": self.student_number,
            "institution": self.institution,
            "department": self.department,
            "major": self.major,
            "degree_level": self.degree_level,
            "enrollment_year": self.enrollment_year,
            "graduation_year": self.graduation_year,
            "phone": self.phone,
        }


def clean_text(value: str | None) -> str:
    """NFC, invisible characters removed, runs of white space folded."""
    value = unicodedata.normalize("NFC", value or "")
    visible = "".join(char for char in value if unicodedata.category(char) not in {"Cf", "Cc"})
    return " ".join(visible.split())


def check_team_texts(name: str, project_title: str) -> tuple[str, str]:
    name, project_title = clean_text(name), clean_text(project_title)
    if not name:
        raise DomainError(_l("Please enter the team name."), field="name")
    if len(name) > TEAM_NAME_MAX:
        raise DomainError(_l("A team name has at most %(max)s characters.", max=TEAM_NAME_MAX), field="name")
    if not project_title:
        raise DomainError(_l("Please enter the project title."), field="project_title")
    if len(project_title) > PROJECT_TITLE_MAX:
        raise DomainError(
            _l("A project title has at most %(max)s characters.", max=PROJECT_TITLE_MAX), field="project_title"
        )
    return name, project_title


def check_name_free(competition: Competition, name: str, team: Team | None = None) -> None:
    clash = db.session.scalar(select(Team.id).where(Team.competition_id == competition.id, Team.name == name))
    if clash is not None and (team is None or clash != team.id):
        raise DomainError(_l("Another team of this competition is already called “%(name)s”.", name=name), field="name")


def check_registration_open(competition: Competition, now: datetime, team: Team | None = None) -> None:
    if team is not None and team.unlocked:
        return
    if not competition.registration_is_open(now):
        raise DomainError(_l("Registration for this competition is closed; teams cannot be created or changed now."))


def check_editable(team: Team, now: datetime) -> None:
    """Team details and members change only in draft or returned, and while registration is open."""
    state = TeamState(team.state)
    if state == TeamState.SUBMITTED:
        raise DomainError(
            _l(
                "The team has been submitted for review and cannot be changed; ask your institution's organizer to return it."
            )
        )
    if state == TeamState.APPROVED:
        raise DomainError(_l("The team has been approved; changes need an organizer to unlock it."))
    if state == TeamState.WITHDRAWN:
        raise DomainError(_l("The team has withdrawn."))
    check_registration_open(team.competition, now, team)


def check_profile(competition: Competition, profile: MemberProfile, team_institution: Institution) -> None:
    if profile.degree_level not in {degree.value for degree in DegreeLevel}:
        raise DomainError(_l("Please choose a degree level."), field="degree_level")
    if DegreeLevel(profile.degree_level) not in competition.degree_levels:
        allowed = "、".join(str(DEGREE_LABELS[level]) for level in competition.degree_levels)
        raise DomainError(
            _l("This competition is open to %(levels)s students only.", levels=allowed), field="degree_level"
        )
    if profile.graduation_year < profile.enrollment_year:
        raise DomainError(_l("The graduation year cannot be before the enrollment year."), field="graduation_year")
    low, high = competition.min_graduation_year, competition.max_graduation_year
    if (low is not None and profile.graduation_year < low) or (high is not None and profile.graduation_year > high):
        raise DomainError(
            _l(
                "Students graduating in %(low)s–%(high)s may enter; this one graduates in %(year)s.",
                low=low if low is not None else "…",
                high=high if high is not None else "…",
                year=profile.graduation_year,
            ),
            field="graduation_year",
        )
    if not competition.allow_cross_institution and profile.institution.id != team_institution.id:
        raise DomainError(
            _l(
                "Teams of this competition come from one institution: members must study at %(team)s, not %(member)s.",
                team=team_institution.name,
                member=profile.institution.name,
            ),
            field="institution",
        )


def national_id_to_store(competition: Competition, profile: MemberProfile, on_file: str | None = None) -> str | None:
    """The normalized national ID number to store, or None to store nothing new.

    Only a competition that requires it collects one (a posted number is ignored otherwise); there an
    empty entry keeps the number on file, and a member without one must enter it.
    """
    if not competition.requires_national_id:
        return None
    if profile.national_id and profile.national_id.strip():
        number = normalize_national_id(profile.national_id)
        if not profile.national_id_consent:
            raise DomainError(
                _l("A national ID number is sensitive personal information: it is kept only with your separate "
                   "consent. Tick the box to give it, or ask the organizers how else to take part."),
                field="national_id_consent",
            )  # fmt: skip
        return number
    if not on_file:
        raise DomainError(
            _l("Please enter your national ID number; this competition's rules require it."), field="national_id"
        )
    return None


def check_national_ids(team: Team) -> None:
    """Before submission: every member has entered the number the competition requires."""
    if not team.competition.requires_national_id:
        return
    missing = [member.real_name for member in team.members if not member.national_id]
    if missing:
        raise DomainError(
            _l(
                "This competition's rules require every member's national ID number; missing for: %(names)s.",
                names="、".join(missing),
            )
        )


def _active_memberships(competition: Competition, user: User):
    return (
        select(func.count(TeamMember.id))
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.competition_id == competition.id, TeamMember.user_id == user.id, Team.state.in_(ACTIVE_STATES))
    )


def check_person_limits(competition: Competition, user: User, *, as_leader: bool) -> None:
    """A student joins at most N teams; with the rule on, leads at most one."""
    count = db.session.scalar(_active_memberships(competition, user))
    if count >= competition.max_teams_per_student:
        raise DomainError(
            _l(
                "A student may be in at most %(max)s team(s) of this competition; %(name)s is already in %(count)s.",
                max=competition.max_teams_per_student,
                name=user.real_name,
                count=count,
            )
        )
    if as_leader:
        check_leads_no_other_team(competition, user)


def check_leads_no_other_team(competition: Competition, user: User, except_team: Team | None = None) -> None:
    if not competition.one_team_per_leader:
        return
    statement = select(Team.name).where(
        Team.competition_id == competition.id, Team.leader_id == user.id, Team.state.in_(ACTIVE_STATES)
    )
    if except_team is not None:
        statement = statement.where(Team.id != except_team.id)
    other = db.session.scalar(statement.limit(1))
    if other is not None:
        raise DomainError(
            _l("One person leads at most one team; %(name)s already leads “%(team)s”.", name=user.real_name, team=other)
        )


def check_size_for_submission(team: Team) -> None:
    competition = team.competition
    count = len(team.members)
    if not competition.min_team_size <= count <= competition.max_team_size:
        raise DomainError(
            _l(
                "A team has %(min)s–%(max)s members including the leader; this one has %(count)s.",
                min=competition.min_team_size,
                max=competition.max_team_size,
                count=count,
            )
        )


def size_limit_message(competition: Competition, count: int):
    return _l(
        "A team has %(min)s–%(max)s members including the leader; this one would have %(count)s.",
        min=competition.min_team_size,
        max=competition.max_team_size,
        count=count,
    )


def check_advisor_count(team: Team, adding: int = 0) -> None:
    count = len(team.advisors) + adding
    if count > team.competition.max_advisors:
        raise DomainError(
            _l(
                "A team has at most %(max)s advisor(s); this one would have %(count)s.",
                max=team.competition.max_advisors,
                count=count,
            )
        )


def check_student_number_free(competition: Competition, profile: MemberProfile, user: User) -> None:
    """Within one institution a student number belongs to one person (across the competition)."""
    owners = set(
        db.session.scalars(
            select(TeamMember.user_id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(
                Team.competition_id == competition.id,
                TeamMember.institution_id == profile.institution.id,
                TeamMember.student_number == profile.student_number,
            )
        )
    )
    if owners - {user.id}:
        raise DomainError(
            _l(
                "Student number %(number)s of %(institution)s is already used by another person.",
                number=profile.student_number,
                institution=profile.institution.name,
            ),
            field="student_number",
        )


def is_leader(team: Team, user) -> bool:
    return getattr(user, "id", None) == team.leader_id
