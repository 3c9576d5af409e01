"""Download my data: everything the platform holds about one person, as JSON (PIPL art. 45).

Only the person's own data: their account, consents and requests, their own member details in each
team (the team itself by name, track and institution — never the other members), what their teams
handed in (file names, sizes, times; not the files), their own scorecards as a judge (never another
judge's), their certificates, the e-mails and notifications addressed to them, and the audit entries
about them or done by them (the latter without details, which may name other people).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from competition.accounts.models import CompetitionRole, User
from competition.certificates.models import Certificate
from competition.core.audit import AuditEntry
from competition.core.mail import OutboxMessage
from competition.experts.models import Expert
from competition.extensions import db
from competition.privacy.models import Consent, DeletionRequest
from competition.scoring.models import Scorecard
from competition.submissions.models import Submission, SubmissionFile
from competition.teams.models import Advisor, Team, TeamMember

FORMAT_VERSION = 1


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _row(obj, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: _value(getattr(obj, field)) for field in fields}


def user_data(user: User, *, now: datetime) -> dict[str, Any]:
    account = _row(
        user,
        ("id", "email", "real_name", "phone", "locale", "is_admin", "is_disabled", "email_verified_at", "created_at",
         "last_login_at", "password_changed_at"),
    )  # fmt: skip
    account["institution"] = user.institution.name_zh if user.institution else None
    account["two_factor_enabled"] = bool(getattr(user, "totp_enabled_at", None))
    roles = db.session.scalars(
        select(CompetitionRole).where(CompetitionRole.user_id == user.id).order_by(CompetitionRole.id)
    ).all()
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "exported_at": now.isoformat(),
        "account": account,
        "roles": [
            {
                "competition": grant.competition.code,
                "role": grant.role,
                "institution": grant.institution.name_zh if grant.institution else None,
                "since": _value(grant.created_at),
            }
            for grant in roles
        ],  # fmt: skip
        "consents": [
            _row(consent, ("notice_version", "accepted_at", "ip_prefix", "source"))
            for consent in db.session.scalars(select(Consent).where(Consent.user_id == user.id).order_by(Consent.id))
        ],
        "deletion_requests": [
            _row(item, ("state", "reason", "decision_note", "requested_at", "decided_at"))
            for item in db.session.scalars(
                select(DeletionRequest).where(DeletionRequest.user_id == user.id).order_by(DeletionRequest.id)
            )
        ],
    }
    data["teams"] = _memberships(user)
    data["advisor_of"] = [
        {"team": advisor.team.name, "competition": advisor.team.competition.code,
         **_row(advisor, ("name", "title", "email", "phone"))}
        for advisor in db.session.scalars(select(Advisor).where(Advisor.user_id == user.id).order_by(Advisor.id))
    ]  # fmt: skip
    expert = db.session.scalar(select(Expert).where(Expert.user_id == user.id))
    data["expert_profile"] = (
        _row(expert, ("title", "employer", "city", "side", "kind", "expertise", "mentors", "bio", "created_at"))
        if expert
        else None
    )
    data["scorecards"] = _scorecards(user)
    data["certificates"] = [
        _row(item, ("serial", "kind", "award", "recipient_name", "recipient_email", "state", "issued_at", "revoked_at"))
        | {"competition": item.competition.code}
        for item in db.session.scalars(
            select(Certificate)
            .options(selectinload(Certificate.competition))
            .where(Certificate.recipient_user_id == user.id)
            .order_by(Certificate.id)
        )
    ]
    data["emails"] = [
        _row(message, ("created_at", "to_address", "subject", "state", "sent_at", "body_text"))
        for message in db.session.scalars(
            select(OutboxMessage)
            .where(or_(OutboxMessage.to_user_id == user.id, OutboxMessage.to_address == user.email))
            .order_by(OutboxMessage.id)
        )
    ]
    data["notifications"] = _notifications(user)
    data["audit_log"] = _audit(user)
    return data


def _memberships(user: User) -> list[dict[str, Any]]:
    members = db.session.scalars(
        select(TeamMember)
        .options(selectinload(TeamMember.team))
        .where(TeamMember.user_id == user.id)
        .order_by(TeamMember.id)
    ).all()
    result = []
    for member in members:
        team = member.team
        entry = {
            "your_details": _row(
                member,
                (
                    "role",
                    "real_name",
                    "student_number",
                    "department",
                    "major",
                    "degree_level",
                    "enrollment_year",
                    "graduation_year",
                    "phone",
                    "joined_at",
                ),
            )  # fmt: skip
            | {"institution": member.institution.name_zh}
            # masked here too: a download can end up anywhere
            | ({"national_id_masked": member.national_id_masked} if member.national_id else {}),
            "team": {
                "name": team.name,
                "project_title": team.project_title,
                "competition": team.competition.code,
                "track": team.track.name_zh,
                "institution": team.institution.name_zh,
                "state": team.state,
                "member_count": team.member_count,
                "you_lead_it": team.leader_id == user.id,
            },
            "submissions": _submissions(team, user),
        }
        result.append(entry)
    return result


def _submissions(team: Team, user: User) -> list[dict[str, Any]]:
    submissions = db.session.scalars(
        select(Submission)
        .options(selectinload(Submission.files).selectinload(SubmissionFile.slot), selectinload(Submission.round))
        .where(Submission.team_id == team.id)
        .order_by(Submission.id)
    ).all()
    return [
        {
            "round": submission.round.name_zh,
            "state": submission.state,
            "abstract": submission.abstract,
            "submitted_at": _value(submission.submitted_at),
            "files": [
                {
                    "material": item.slot.code,
                    "name": item.original_name,
                    "link": item.link_url,
                    "size": item.size,
                    "sha256": item.sha256,
                    "uploaded_at": _value(item.uploaded_at),
                    "uploaded_by_you": item.uploaded_by_id == user.id,
                    "removed_at": _value(item.removed_at),
                    "purged_at": _value(item.purged_at),
                }
                for item in submission.files
            ],
        }
        for submission in submissions
    ]


def _scorecards(user: User) -> list[dict[str, Any]]:
    cards = db.session.scalars(
        select(Scorecard)
        .options(selectinload(Scorecard.values), selectinload(Scorecard.rubric))
        .where(Scorecard.judge_id == user.id)
        .order_by(Scorecard.id)
    ).all()
    result = []
    for card in cards:
        codes = {criterion.id: criterion.code for criterion in card.rubric.criteria}
        result.append({
            "round": card.submission.round.name_zh,
            "submission_id": card.submission_id,
            "project_title": card.submission.team.project_title,
            "state": card.state,
            "total": _value(card.total),
            "overall_comment": card.overall_comment,
            "submitted_at": _value(card.submitted_at),
            "scores": [
                {"criterion": codes.get(value.criterion_id), "points": _value(value.points),
                 "max_points": _value(value.max_points), "comment": value.comment}
                for value in card.values
            ],
        })  # fmt: skip
    return result


def _notifications(user: User) -> list[dict[str, Any]]:
    try:
        from competition.notifications.models import Notification
    except ImportError:  # pragma: no cover - notifications not installed
        return []
    return [
        _row(item, ("created_at", "kind", "title", "link", "read_at"))
        for item in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


def _audit(user: User) -> list[dict[str, Any]]:
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.actor_id == user.id,
                and_(AuditEntry.object_type == User.__tablename__, AuditEntry.object_id == str(user.id)),
            )
        )
        .order_by(AuditEntry.id)
    ).all()
    result = []
    for entry in entries:
        about_you = entry.object_type == User.__tablename__ and entry.object_id == str(user.id)
        by_you = entry.actor_id == user.id
        result.append({
            "at": _value(entry.created_at),
            "action": entry.action,
            "object": f"{entry.object_type}:{entry.object_id}" if entry.object_type else None,
            "by_you": by_you,
            # details of what someone did may name other people; those of what was done to you do not
            "details": entry.details if about_you else None,
            "network": entry.ip_address if by_you else None,
        })  # fmt: skip
    return result
