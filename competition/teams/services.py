"""Team workflows: create, invite, join, leave, lead, advisors, submit, withdraw, review, unlock.

Rules are checked (competition.teams.rules) before anything is written, so a refused action leaves
the database unchanged. Functions flush, never commit; the caller commits once.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from competition.accounts.models import CompetitionRole, Role, User
from competition.accounts.services import normalize_email
from competition.competitions.models import Competition, Track
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.mail import external_url, internal_path, queue_mail
from competition.core.time import utcnow
from competition.extensions import db
from competition.institutions.models import Institution
from competition.teams import rules
from competition.teams.models import (
    Advisor,
    InvitationState,
    MemberRole,
    Team,
    TeamInvitation,
    TeamMember,
    TeamState,
    new_invite_code,
)
from competition.teams.national_id import mask_national_id
from competition.teams.rules import MemberProfile

REASON_MAX = 1000


def ensure_student_role(user: User, competition: Competition) -> None:
    exists = db.session.scalar(
        select(CompetitionRole.id).where(
            CompetitionRole.user_id == user.id,
            CompetitionRole.competition_id == competition.id,
            CompetitionRole.role == Role.STUDENT.value,
        )
    )
    if exists is None:
        db.session.add(
            CompetitionRole(user=user, competition=competition, role=Role.STUDENT.value, granted_by_id=user.id)
        )


def _check_track(competition: Competition, track: Track) -> None:
    if track is None or track.competition_id != competition.id:
        raise DomainError(_l("Please choose one of this competition's tracks."), field="track")


# --- creating and editing -----------------------------------------------------------------------


def create_team(
    *,
    actor: User,
    competition: Competition,
    track: Track,
    institution: Institution,
    name: str,
    project_title: str,
    profile: MemberProfile,
    now: datetime,
) -> Team:
    """A student creates a team and becomes its leader (with their own member details)."""
    rules.check_registration_open(competition, now)
    _check_track(competition, track)
    name, project_title = rules.check_team_texts(name, project_title)
    rules.check_name_free(competition, name)
    rules.check_person_limits(competition, actor, as_leader=True)
    rules.check_profile(competition, profile, institution)
    rules.check_student_number_free(competition, profile, actor)
    national_id = rules.national_id_to_store(competition, profile)
    _record_national_id_consent(actor, competition, national_id)
    team = Team(
        competition=competition,
        track=track,
        institution=institution,
        name=name,
        project_title=project_title,
        leader=actor,
        member_count=1,
    )
    db.session.add(team)
    team.members.append(
        TeamMember(user=actor, role=MemberRole.LEADER.value, national_id=national_id, **profile.as_columns())
    )
    ensure_student_role(actor, competition)
    db.session.flush()
    audit.record(actor, "team.create", team, name=name, track=track.code, institution=institution.code)
    return team


def update_team(
    team: Team, *, actor: User, name: str, project_title: str, track: Track, institution: Institution, now: datetime
) -> None:
    rules.check_editable(team, now)
    _check_track(team.competition, track)
    name, project_title = rules.check_team_texts(name, project_title)
    rules.check_name_free(team.competition, name, team)
    if institution.id != team.institution_id and not team.competition.allow_cross_institution:
        strangers = [member for member in team.members if member.institution_id != institution.id]
        if strangers:
            raise DomainError(
                _l(
                    "Teams of this competition come from one institution: members must study at %(team)s, not %(member)s.",
                    team=institution.name,
                    member=strangers[0].institution.name,
                ),
                field="institution",
            )
    changes = {}
    for field, value in (("name", name), ("project_title", project_title)):
        if getattr(team, field) != value:
            changes[field] = [getattr(team, field), value]
            setattr(team, field, value)
    if team.track_id != track.id:
        changes["track"] = [team.track.code, track.code]
        team.track = track
    if team.institution_id != institution.id:
        changes["institution"] = [team.institution.code, institution.code]
        team.institution = institution
    if changes:
        db.session.flush()
        audit.record(actor, "team.update", team, changes=changes)


def _record_national_id_consent(user: User, competition: Competition, national_id: str | None) -> None:
    """The separate consent given with a national ID number, kept as a consent record of its own."""
    if national_id is None:
        return
    from competition.privacy import services as privacy

    privacy.record_consent(user, ip_address=None, source="national-id", version=f"national-id:{competition.code}")


def update_member_profile(
    team: Team, member: TeamMember, *, actor: User, profile: MemberProfile, now: datetime
) -> None:
    rules.check_editable(team, now)
    rules.check_profile(team.competition, profile, team.institution)
    rules.check_student_number_free(team.competition, profile, member.user)
    national_id = rules.national_id_to_store(team.competition, profile, member.national_id)
    _record_national_id_consent(member.user, team.competition, national_id)
    changes = {}
    for field, value in profile.as_columns().items():
        old = getattr(member, field)
        if old != value:
            changes[field] = [getattr(old, "code", old), getattr(value, "code", value)]
            setattr(member, field, value)
    if national_id is not None and national_id != member.national_id:
        # the audit log keeps the masked forms only
        changes["national_id"] = [member.national_id_masked or None, mask_national_id(national_id)]
        member.national_id = national_id
    if changes:
        audit.record(actor, "team.update_member", team, member_user_id=member.user_id, changes=changes)


# --- joining ------------------------------------------------------------------------------------


def team_for_invite_code(code: str) -> Team | None:
    if not code or len(code) > 64:
        return None
    return db.session.scalar(select(Team).where(Team.invite_code == code))


def join_team(team: Team, *, user: User, profile: MemberProfile, now: datetime) -> TeamMember:
    """Add `user` as a member. The size limit holds even when many join at the same moment."""
    competition = team.competition
    rules.check_editable(team, now)
    if team.member_for(user) is not None:
        raise DomainError(_l("You are already a member of this team."))
    rules.check_person_limits(competition, user, as_leader=False)
    rules.check_profile(competition, profile, team.institution)
    rules.check_student_number_free(competition, profile, user)
    national_id = rules.national_id_to_store(competition, profile)
    _record_national_id_consent(user, competition, national_id)
    # One conditional UPDATE: of concurrent joiners only as many succeed as there are free places.
    taken = db.session.execute(
        update(Team)
        .where(Team.id == team.id, Team.member_count < competition.max_team_size)
        .values(member_count=Team.member_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        db.session.refresh(team, ["member_count"])
        raise DomainError(rules.size_limit_message(competition, team.member_count + 1))
    member = TeamMember(
        team=team, user=user, role=MemberRole.MEMBER.value, national_id=national_id, **profile.as_columns()
    )
    db.session.add(member)
    ensure_student_role(user, competition)
    db.session.flush()
    db.session.refresh(team, ["member_count"])
    audit.record(user, "team.join", team, user_id=user.id)
    return member


def _release_place(team: Team) -> None:
    db.session.execute(
        update(Team)
        .where(Team.id == team.id, Team.member_count > 0)
        .values(member_count=Team.member_count - 1)
        .execution_options(synchronize_session=False)
    )


def remove_member(team: Team, member: TeamMember, *, actor: User, now: datetime) -> None:
    rules.check_editable(team, now)
    if member.team_id != team.id:
        raise DomainError(_l("This person is not a member of this team."))
    if member.is_leader:
        raise DomainError(_l("The leader cannot be removed; transfer the leadership first."))
    user_id = member.user_id
    db.session.delete(member)
    _release_place(team)
    db.session.flush()
    db.session.refresh(team, ["member_count", "members"])
    audit.record(actor, "team.remove_member" if actor.id != user_id else "team.leave", team, user_id=user_id)


def leave_team(team: Team, *, user: User, now: datetime) -> None:
    member = team.member_for(user)
    if member is None:
        raise DomainError(_l("You are not a member of this team."))
    if member.is_leader:
        raise DomainError(_l("The leader cannot leave the team; transfer the leadership first, or withdraw the team."))
    remove_member(team, member, actor=user, now=now)


def transfer_leadership(team: Team, member: TeamMember, *, actor: User, now: datetime) -> None:
    rules.check_editable(team, now)
    if member.team_id != team.id or member.is_leader:
        raise DomainError(_l("Choose another member of this team."))
    rules.check_leads_no_other_team(team.competition, member.user, except_team=team)
    old_leader = team.member_for(team.leader)
    old_leader.role = MemberRole.MEMBER.value
    member.role = MemberRole.LEADER.value
    team.leader = member.user
    db.session.flush()
    audit.record(
        actor, "team.transfer_leadership", team, old_leader_id=old_leader.user_id, new_leader_id=member.user_id
    )


def regenerate_invite_code(team: Team, *, actor: User) -> None:
    """A new code; the old link stops working at once."""
    team.invite_code = new_invite_code()
    audit.record(actor, "team.regenerate_invite_code", team)


def invite_by_email(team: Team, *, actor: User, email: str, now: datetime) -> TeamInvitation:
    rules.check_editable(team, now)
    address = normalize_email(email)
    if any(member.user.email == address for member in team.members):
        raise DomainError(_l("%(email)s is already a member of this team.", email=address), field="email")
    pending = next(
        (inv for inv in team.invitations if inv.email == address and inv.state == InvitationState.PENDING), None
    )
    invitation = pending or TeamInvitation(team=team, email=address, invited_by_id=actor.id)
    db.session.add(invitation)
    db.session.flush()
    invitee = db.session.scalar(select(User).where(User.email == address))
    queue_mail(
        to=address,
        template="teams/emails/invitation",
        locale=invitee.locale if invitee else "zh_Hans_CN",
        user=invitee,
        link=internal_path("teams.invitation", token=invitation.token),
        team_name=team.name,
        project_title=team.project_title,
        competition_name=team.competition.name_zh,
        competition_name_en=team.competition.name_en,
        leader_name=actor.real_name,
        invitation_url=external_url("teams.invitation", token=invitation.token),
    )
    audit.record(actor, "team.invite", team, email=address)
    return invitation


def invitation_for_token(token: str) -> TeamInvitation | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(TeamInvitation).where(TeamInvitation.token == token))


def _check_invitation_for(invitation: TeamInvitation, user: User) -> None:
    if invitation.state != InvitationState.PENDING:
        raise DomainError(_l("This invitation has already been answered or withdrawn."))
    if invitation.email != user.email:
        raise DomainError(
            _l("This invitation was sent to %(email)s; log in with that address to answer it.", email=invitation.email)
        )


def accept_invitation(invitation: TeamInvitation, *, user: User, profile: MemberProfile, now: datetime) -> TeamMember:
    _check_invitation_for(invitation, user)
    member = join_team(invitation.team, user=user, profile=profile, now=now)
    invitation.state = InvitationState.ACCEPTED.value
    invitation.answered_at = now
    return member


def decline_invitation(invitation: TeamInvitation, *, user: User, now: datetime) -> None:
    _check_invitation_for(invitation, user)
    invitation.state = InvitationState.DECLINED.value
    invitation.answered_at = now
    audit.record(user, "team.decline_invitation", invitation.team, email=user.email)


def revoke_invitation(invitation: TeamInvitation, *, actor: User) -> None:
    if invitation.state == InvitationState.PENDING:
        invitation.state = InvitationState.REVOKED.value
        audit.record(actor, "team.revoke_invitation", invitation.team, email=invitation.email)


# --- advisors -----------------------------------------------------------------------------------


def _advisor_values(name: str, title: str, institution: Institution | None, email: str | None, phone: str | None):
    name, title = rules.clean_text(name), rules.clean_text(title)
    if not name:
        raise DomainError(_l("Please enter the advisor's name."), field="name")
    if len(name) > 50 or len(title) > 50:
        raise DomainError(_l("Names and titles have at most 50 characters."), field="name")
    address = normalize_email(email) if email else None
    account = db.session.scalar(select(User).where(User.email == address)) if address else None
    return {
        "name": name,
        "title": title,
        "institution": institution,
        "email": address,
        "phone": phone or None,
        "user_id": account.id if account else None,
    }


def add_advisor(
    team: Team,
    *,
    actor: User,
    name: str,
    title: str,
    institution: Institution | None,
    email: str | None,
    phone: str | None,
    now: datetime,
) -> Advisor:
    rules.check_editable(team, now)
    rules.check_advisor_count(team, adding=1)
    advisor = Advisor(team=team, **_advisor_values(name, title, institution, email, phone))
    db.session.add(advisor)
    db.session.flush()
    audit.record(actor, "team.add_advisor", team, advisor_id=advisor.id, name=advisor.name)
    return advisor


def update_advisor(
    advisor: Advisor,
    *,
    actor: User,
    name: str,
    title: str,
    institution: Institution | None,
    email: str | None,
    phone: str | None,
    now: datetime,
) -> None:
    rules.check_editable(advisor.team, now)
    for field, value in _advisor_values(name, title, institution, email, phone).items():
        setattr(advisor, field, value)
    audit.record(actor, "team.update_advisor", advisor.team, advisor_id=advisor.id)


def remove_advisor(advisor: Advisor, *, actor: User, now: datetime) -> None:
    team = advisor.team
    rules.check_editable(team, now)
    audit.record(actor, "team.remove_advisor", team, advisor_id=advisor.id, name=advisor.name)
    db.session.delete(advisor)
    db.session.flush()
    db.session.refresh(team, ["advisors"])


# --- the team's life cycle ----------------------------------------------------------------------


def submit_for_review(team: Team, *, actor: User, now: datetime) -> None:
    rules.check_editable(team, now)
    rules.check_size_for_submission(team)
    rules.check_advisor_count(team)
    for member in team.members:
        rules.check_profile(team.competition, _profile_of(member), team.institution)
    rules.check_national_ids(team)
    team.state = TeamState.SUBMITTED.value
    team.submitted_at = now
    team.unlocked = False
    team.return_reason = None
    audit.record(actor, "team.submit", team)


def _profile_of(member: TeamMember) -> MemberProfile:
    return MemberProfile(
        real_name=member.real_name,
        student_number=member.student_number,
        institution=member.institution,
        department=member.department,
        major=member.major,
        degree_level=member.degree_level,
        enrollment_year=member.enrollment_year,
        graduation_year=member.graduation_year,
        phone=member.phone,
    )


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise DomainError(_l("Please give a reason."), field="reason")
    if len(text) > REASON_MAX:
        raise DomainError(_l("A reason has at most %(max)s characters.", max=REASON_MAX), field="reason")
    return text or None


def withdraw(team: Team, *, actor: User, reason: str | None) -> None:
    if team.state == TeamState.WITHDRAWN:
        raise DomainError(_l("The team has withdrawn."))
    reason = _reason(reason, required=False)
    old = team.state
    team.state = TeamState.WITHDRAWN.value
    audit.record(actor, "team.withdraw", team, old_state=old, reason=reason)


def _notify_leader(team: Team, template: str, **context) -> None:
    leader = team.leader
    queue_mail(
        to=leader.email,
        template=template,
        locale=leader.locale,
        user=leader,
        link=internal_path("teams.detail", team_id=team.id),
        team_name=team.name,
        competition_name=team.competition.name_zh if leader.locale != "en" else team.competition.name_en,
        team_url=external_url("teams.detail", team_id=team.id),
        **context,
    )


def approve(team: Team, *, actor: User, student_status_confirmed: bool) -> None:
    if team.state != TeamState.SUBMITTED:
        raise DomainError(_l("Only a team submitted for review can be approved."))
    if not student_status_confirmed:
        raise DomainError(
            _l("Please confirm that every member is a registered student of the institution."), field="confirm"
        )
    rules.check_size_for_submission(team)
    team.state = TeamState.APPROVED.value
    team.reviewed_at = utcnow()
    team.reviewed_by_id = actor.id
    audit.record(actor, "team.approve", team)
    _notify_leader(team, "teams/emails/approved")


def return_for_changes(team: Team, *, actor: User, reason: str) -> None:
    if team.state not in (TeamState.SUBMITTED, TeamState.APPROVED):
        raise DomainError(_l("Only a submitted or approved team can be returned."))
    reason = _reason(reason, required=True)
    old = team.state
    team.state = TeamState.RETURNED.value
    team.return_reason = reason
    team.reviewed_at = utcnow()
    team.reviewed_by_id = actor.id
    team.unlocked = old == TeamState.APPROVED or team.unlocked
    audit.record(actor, "team.return", team, old_state=old, reason=reason)
    _notify_leader(team, "teams/emails/returned", reason=reason)


def unlock(team: Team, *, actor: User, reason: str) -> None:
    """Let a team change again after approval or after registration closed; it goes back to draft."""
    if team.state == TeamState.WITHDRAWN:
        raise DomainError(_l("The team has withdrawn."))
    reason = _reason(reason, required=True)
    old = team.state
    team.unlocked = True
    if team.state in (TeamState.SUBMITTED, TeamState.APPROVED):
        team.state = TeamState.DRAFT.value
    audit.record(actor, "team.unlock", team, old_state=old, reason=reason)
    _notify_leader(team, "teams/emails/unlocked", reason=reason)
