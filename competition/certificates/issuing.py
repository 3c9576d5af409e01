"""Issuing certificates from a round's published results, in two steps that may each be rerun.

1. `plan()` works out who receives what (`recipients()`) and makes the missing certificate rows,
   serial numbers and verification codes included, in one transaction. A rerun adds only what is
   missing; rows not rendered yet follow corrections (a member's name fixed meanwhile); rows not
   rendered yet that are no longer wanted (the organizer unticked a kind, a new publication changed
   the awards) go, their serial numbers unused. Issued certificates are never touched: changing
   one is a reissue.
2. `render_pending()` renders the rows still pending (or failed before), one at a time: every
   character is first checked against the fonts (a name no font covers stops that certificate,
   with the list of characters, and the others go on), the PDF is stored atomically with its
   SHA-256, the row marked issued and the recipient's e-mail queued, then committed. A crash
   loses at most the certificate being rendered; the next run renders only what is missing.

The background job and the `flask certificates generate` command run both steps
(competition.certificates.jobs).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from competition.accounts.models import User
from competition.certificates import services
from competition.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateState,
    FailureReason,
    RecipientType,
)
from competition.competitions.models import Competition
from competition.core import audit, storage
from competition.core.errors import DomainError
from competition.core.time import to_local, utcnow
from competition.extensions import db
from competition.results.models import ResultSnapshot, SnapshotKind
from competition.rounds.models import Round
from competition.scoring.models import Scorecard, ScorecardState
from competition.teams.models import Team

#: what an organizer may choose to issue
AWARD_TEAM = "award_team"
AWARD_MEMBER = "award_member"
ADVISOR = "advisor"
PARTICIPATION = "participation"
JUDGE = "judge"
CHOICES = (AWARD_TEAM, AWARD_MEMBER, ADVISOR, PARTICIPATION, JUDGE)
CHOICE_LABELS = {
    AWARD_TEAM: _l("Award certificates for awarded teams"),
    AWARD_MEMBER: _l("Award certificates for each member of an awarded team"),
    ADVISOR: _l("Outstanding advisor certificates for the advisors of awarded teams"),
    PARTICIPATION: _l("Certificates of participation for the members of other teams that handed in"),
    JUDGE: _l("Certificates of appreciation for the judges who submitted scores"),
}
AWARD_CODES = tuple(services.AWARD_TEXT)
STORAGE_FOLDER = "certificates"
_RENDERABLE = (CertificateState.PENDING.value, CertificateState.FAILED.value)


@dataclass(frozen=True)
class IssueSettings:
    """The organizer's choices for one run."""

    choices: frozenset[str] = frozenset(CHOICES)
    #: advisors of teams with one of these awards are outstanding advisors
    advisor_awards: tuple[str, ...] = AWARD_CODES
    #: the date printed on the certificates (default: the day they are planned, Beijing time)
    issued_on: date | None = None

    def check(self) -> None:
        if not self.choices:
            raise DomainError(_l("Please choose at least one kind of certificate."), field="choices")
        if not set(self.choices) <= set(CHOICES):
            raise DomainError(_l("Unknown kind of certificate."), field="choices")
        if not set(self.advisor_awards) <= set(AWARD_CODES):
            raise DomainError(_l("Unknown award."), field="advisor_awards")

    def as_dict(self) -> dict[str, Any]:
        """JSON for a job's arguments."""
        return {
            "choices": sorted(self.choices, key=CHOICES.index),
            "advisor_awards": list(self.advisor_awards),
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> IssueSettings:
        data = data or {}
        issued_on = data.get("issued_on")
        return cls(
            choices=frozenset(data.get("choices", CHOICES)),
            advisor_awards=tuple(data.get("advisor_awards", AWARD_CODES)),
            issued_on=date.fromisoformat(issued_on) if issued_on else None,
        )


@dataclass
class Recipient:
    """One certificate somebody should hold."""

    key: str
    kind: str
    recipient_type: str
    name: str
    email: str | None = None
    user_id: int | None = None
    team_id: int | None = None
    submission_id: int | None = None
    advisor_id: int | None = None
    award: str | None = None
    track_zh: str = ""
    track_en: str = ""
    institution_zh: str = ""
    institution_en: str = ""
    #: plain strings about the recipient (the team, the advisor's title, ...)
    extra: dict[str, str] = field(default_factory=dict)


# --- who receives what --------------------------------------------------------------------------


def published_snapshot(round_: Round) -> ResultSnapshot:
    from competition.results.services import current_snapshot

    snapshot = current_snapshot(round_, SnapshotKind.PUBLISHED)
    if snapshot is None:
        raise DomainError(
            _l("The results of %(round)s are not published yet: certificates follow the published results.",
               round=round_.name)
        )  # fmt: skip
    return snapshot


def _team_extra(row: dict[str, Any]) -> dict[str, str]:
    return {"team_name": row.get("team_name") or "", "project_title": row.get("project_title") or ""}


def recipients(round_: Round, settings: IssueSettings) -> list[Recipient]:
    """Everyone who should hold a certificate of this round, in the order serials are given: the
    published results' order (track, rank), per team the team, its members and its advisors; then
    the judges. Raises DomainError when the round has no published results."""
    snapshot = published_snapshot(round_)
    rows = snapshot.rows or []
    teams = {
        team.id: team
        for team in db.session.scalars(
            select(Team)
            .where(Team.id.in_([row["team_id"] for row in rows]))
            .options(selectinload(Team.members), selectinload(Team.advisors))
        )
    }
    users = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(User.id.in_([m.user_id for t in teams.values() for m in t.members]))
        )
    }
    found: list[Recipient] = []
    choices = settings.choices
    for row in rows:
        team = teams.get(row["team_id"])
        if team is None:  # deleted since the publication
            continue
        award = row.get("award") or None
        common = {
            "team_id": team.id, "submission_id": row.get("submission_id"), "award": award,
            "track_zh": row.get("track_zh") or "", "track_en": row.get("track_en") or "",
            "institution_zh": row.get("institution_zh") or "", "institution_en": row.get("institution_en") or "",
            "extra": _team_extra(row),
        }  # fmt: skip
        base = f"r{round_.id}"
        if award:
            if AWARD_TEAM in choices:
                found.append(Recipient(key=f"{base}/award/t{team.id}", kind=CertificateKind.AWARD.value,
                                       recipient_type=RecipientType.TEAM.value,
                                       name=row.get("team_name") or team.name, **common))  # fmt: skip
            if AWARD_MEMBER in choices:
                found.extend(_members(team, users, f"{base}/award/t{team.id}", CertificateKind.AWARD, common))
            if ADVISOR in choices and award in settings.advisor_awards:
                for advisor in team.advisors:
                    email = advisor.email
                    if advisor.user_id and not email:
                        person = db.session.get(User, advisor.user_id)
                        email = person.email if person else None
                    extra = {**common["extra"], "advisor_title": advisor.title or ""}
                    found.append(Recipient(key=f"{base}/advisor/t{team.id}/a{advisor.id}",
                                           kind=CertificateKind.ADVISOR.value,
                                           recipient_type=RecipientType.ADVISOR.value, name=advisor.name,
                                           email=email, user_id=advisor.user_id, advisor_id=advisor.id,
                                           **{**common, "extra": extra}))  # fmt: skip
        elif PARTICIPATION in choices:
            found.extend(
                _members(team, users, f"{base}/participation/t{team.id}", CertificateKind.PARTICIPATION, common)
            )
    if JUDGE in choices:
        found.extend(_judges(round_))
    return found


def _members(team: Team, users: dict[int, User], key: str, kind: CertificateKind, common: dict) -> list[Recipient]:
    result = []
    for member in team.members:
        person = users.get(member.user_id)
        result.append(Recipient(key=f"{key}/m{member.user_id}", kind=kind.value,
                                recipient_type=RecipientType.MEMBER.value, name=member.real_name,
                                email=person.email if person else None, user_id=member.user_id, **common))  # fmt: skip
    return result


def _judges(round_: Round) -> list[Recipient]:
    judge_ids = select(Scorecard.judge_id).where(
        Scorecard.round_id == round_.id, Scorecard.state == ScorecardState.SUBMITTED.value
    )
    judges = db.session.scalars(
        select(User).where(User.id.in_(judge_ids)).options(selectinload(User.institution)).order_by(User.id)
    )
    result = []
    for judge in judges:
        institution = judge.institution
        result.append(Recipient(
            key=f"r{round_.id}/judge/u{judge.id}", kind=CertificateKind.JUDGE.value,
            recipient_type=RecipientType.JUDGE.value, name=judge.real_name, email=judge.email, user_id=judge.id,
            institution_zh=institution.name_zh if institution else "",
            institution_en=institution.name_en if institution else "",
        ))  # fmt: skip
    return result


# --- the values a template receives -------------------------------------------------------------


def _date_texts(day: date) -> tuple[str, str]:
    return f"{day.year}年{day.month}月{day.day}日", f"{day.day} {day.strftime('%B')} {day.year}"


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def values_for(competition: Competition, round_: Round, recipient: Recipient, *, serial: str, code: str,
               issued_on: date) -> dict[str, str]:  # fmt: skip
    """The plain strings a certificate's template receives (never markup: the template escapes)."""
    award_zh, award_en = services.AWARD_TEXT.get(recipient.award or "", ("", ""))
    title_zh, title_en = services.KIND_TEXT[CertificateKind(recipient.kind)]
    date_zh, date_en = _date_texts(issued_on)
    values = {
        "kind": recipient.kind,
        "recipient_type": recipient.recipient_type,
        "title_zh": title_zh,
        "title_en": title_en,
        "recipient_name": recipient.name,
        "team_name": "",
        "project_title": "",
        "advisor_title": "",
        "award_zh": award_zh,
        "award_en": award_en,
        "competition_zh": competition.name_zh or "",
        "competition_en": competition.name_en or "",
        "round_zh": round_.name_zh or "",
        "round_en": round_.name_en or "",
        "track_zh": recipient.track_zh,
        "track_en": recipient.track_en,
        "institution_zh": recipient.institution_zh,
        "institution_en": recipient.institution_en,
        "issuer_zh": competition.host_zh or "",
        "issuer_en": competition.host_en or "",
        "co_hosts_zh": "、".join(_lines(competition.co_hosts_zh)),
        "co_hosts_en": "; ".join(_lines(competition.co_hosts_en)),
        "issue_date_zh": date_zh,
        "issue_date_en": date_en,
        "issue_date": issued_on.isoformat(),
        "serial": serial,
        "verification_code": code,
        "verify_url": services.verify_url(code),
    }
    values.update({key: value for key, value in recipient.extra.items() if value is not None})
    return {key: str(value) for key, value in values.items()}


def refreshed_values(values: dict[str, Any], *, recipient_name: str, serial: str, code: str) -> dict[str, str]:
    """A reissued certificate's values: the old ones with its new name, serial and code."""
    updated = dict(values or {})
    updated.update(recipient_name=recipient_name, serial=serial, verification_code=code,
                   verify_url=services.verify_url(code))  # fmt: skip
    return updated


def printed_texts(values: dict[str, Any]) -> list[str]:
    """Every text a certificate may print, for the font coverage check."""
    return [str(value) for key, value in values.items() if value and key not in ("kind", "recipient_type")]


# --- plan ---------------------------------------------------------------------------------------


@dataclass
class PlanOutcome:
    created: int = 0
    updated: int = 0
    removed: int = 0
    total: int = 0


def plan(round_: Round, settings: IssueSettings, *, actor=None, now: datetime | None = None) -> PlanOutcome:
    """Make the missing certificate rows of the round (serials and codes with them), in the current
    transaction; the caller commits. Idempotent: see the module's description."""
    from competition.core.locks import lock_row

    settings.check()
    now = now or utcnow()
    lock_row(Round, round_.id)  # one plan of a round at a time; a publication waits for it
    wanted = recipients(round_, settings)
    competition = db.session.get(Competition, round_.competition_id)
    issued_on = settings.issued_on or to_local(now).date()
    existing = {
        row.recipient_key: row
        for row in db.session.scalars(
            select(Certificate).where(Certificate.round_id == round_.id, Certificate.is_current.is_(True))
        )
    }
    outcome = PlanOutcome()
    missing = [recipient for recipient in wanted if recipient.key not in existing]
    sequences = services.allocate_sequences(competition, len(missing))
    for recipient, sequence in zip(missing, sequences, strict=True):
        serial, code = services.format_serial(competition, sequence), services.new_verification_code()
        row = Certificate(competition_id=competition.id, round_id=round_.id, sequence=sequence, serial=serial,
                          verification_code=code, state=CertificateState.PENDING.value, is_current=True,
                          created_at=now, created_by_id=getattr(actor, "id", None))  # fmt: skip
        _apply(row, recipient, values_for(competition, round_, recipient, serial=serial, code=code,
                                          issued_on=issued_on))  # fmt: skip
        db.session.add(row)
        outcome.created += 1
    keys = {recipient.key for recipient in wanted}
    for recipient in wanted:
        row = existing.get(recipient.key)
        # issued rows never change; a reissued one keeps what the organizer decided (a new name)
        if row is None or row.state not in _RENDERABLE or row.replaces_id is not None:
            continue
        printed_on = date.fromisoformat(row.values["issue_date"]) if row.values.get("issue_date") else issued_on
        values = values_for(competition, round_, recipient, serial=row.serial, code=row.verification_code,
                            issued_on=settings.issued_on or printed_on)  # fmt: skip
        if values != row.values or row.recipient_email != recipient.email or row.recipient_user_id != recipient.user_id:
            _apply(row, recipient, values)
            outcome.updated += 1
    for key, row in existing.items():
        # a reissued certificate (replaces_id) is the organizer's decision: never dropped here
        if key not in keys and row.state in _RENDERABLE and row.replaces_id is None:
            db.session.delete(row)
            outcome.removed += 1
    db.session.flush()
    outcome.total = len(wanted)
    audit.record(actor, "certificates.plan", round_, choices=sorted(settings.choices), created=outcome.created,
                 updated=outcome.updated, removed=outcome.removed, total=outcome.total)  # fmt: skip
    return outcome


def _apply(row: Certificate, recipient: Recipient, values: dict[str, str]) -> None:
    row.kind, row.recipient_type, row.recipient_key = recipient.kind, recipient.recipient_type, recipient.key
    row.recipient_user_id, row.recipient_name, row.recipient_email = recipient.user_id, recipient.name, recipient.email
    row.team_id, row.submission_id, row.advisor_id = recipient.team_id, recipient.submission_id, recipient.advisor_id
    row.award = recipient.award
    row.track_zh, row.track_en = recipient.track_zh, recipient.track_en
    row.institution_zh, row.institution_en = recipient.institution_zh, recipient.institution_en
    row.values = values


# --- rendering ----------------------------------------------------------------------------------


def metadata_for(competition: Competition | None, *, title: str, keywords: list[str] | None = None) -> dict:
    """PDF metadata: author is the issuer."""
    if competition is None:
        return {"title": title, "keywords": keywords or []}
    return {
        "title": title,
        "subject": competition.name_zh or competition.name_en or "",
        "author": competition.host_zh or competition.name_zh or "",
        "keywords": keywords or [],
    }


@dataclass
class RenderOutcome:
    issued: int = 0
    failed: int = 0
    #: issued by someone else meanwhile, revoked or gone: nothing done
    skipped: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (serial, reason, detail)


ProgressCallback = Callable[[int, int], None]


def pending_ids(round_: Round) -> list[int]:
    return list(
        db.session.scalars(
            select(Certificate.id)
            .where(Certificate.round_id == round_.id, Certificate.state.in_(_RENDERABLE),
                   Certificate.is_current.is_(True))
            .order_by(Certificate.sequence)
        )
    )  # fmt: skip


def render_pending(round_: Round, *, limit: int | None = None, progress: ProgressCallback | None = None,
                   now: datetime | None = None) -> RenderOutcome:  # fmt: skip
    """Render the round's pending and failed certificates, committing after each one.
    `progress(done, total)` is called after each; `limit` stops after that many."""
    ids = pending_ids(round_)
    if limit is not None:
        ids = ids[:limit]
    return render_ids(ids, progress=progress, now=now)


def render_certificates(certificates: list[Certificate], *, now: datetime | None = None) -> RenderOutcome:
    """Render a few certificates inside the caller's transaction (the caller commits; a rollback
    leaves at most an unused file behind)."""
    return render_ids([certificate.id for certificate in certificates], now=now, commit=False)


#: certificates laid out together by one `render_many` (each still its own PDF, committed on its own)
RENDER_CHUNK = 8


def render_ids(
    ids: list[int], *, progress: ProgressCallback | None = None, now: datetime | None = None, commit: bool = True
) -> RenderOutcome:
    """Render these certificates (those still pending or failed), committing after each one
    unless `commit` is false. They are laid out RENDER_CHUNK at a time (`render_many`); a crash
    loses at most the uncommitted ones of a chunk, which stay pending for the next run."""
    from competition.certificates import rendering

    if commit:
        db.session.commit()  # what came before is kept whatever happens to the first certificate
    outcome = RenderOutcome()
    templates: dict[tuple[int, str], tuple[services.TemplateSource, Competition]] = {}
    engine = rendering.renderer() if ids else None
    done = 0
    for start in range(0, len(ids), RENDER_CHUNK):
        chunk = ids[start : start + RENDER_CHUNK]
        ready: list[tuple[Certificate, services.TemplateSource, dict[str, str], dict]] = []
        for certificate_id in chunk:
            certificate = db.session.get(Certificate, certificate_id)
            if certificate is None or certificate.state not in _RENDERABLE or not certificate.is_current:
                outcome.skipped += 1
                continue
            prepared = _prepare(certificate, templates, outcome)
            if prepared is not None:
                ready.append((certificate, *prepared))
        results = engine.render_many([(template.html, values, template.css) for _, template, values, _ in ready],
                                     [metadata for _, _, _, metadata in ready]) if ready else []  # fmt: skip
        finished = {certificate.id: result for (certificate, _, _, _), result in zip(ready, results, strict=True)}
        for certificate_id in chunk:
            if certificate_id in finished:
                _store(db.session.get(Certificate, certificate_id), finished[certificate_id], outcome, now or utcnow())
            if commit:
                db.session.commit()
            else:
                db.session.flush()
            done += 1
            if progress is not None:
                progress(done, len(ids))
    return outcome


def _fail(certificate: Certificate, reason: FailureReason, detail: str, outcome: RenderOutcome) -> None:
    updated = db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.state.in_(_RENDERABLE))
        .values(state=CertificateState.FAILED.value, failure_reason=reason.value, failure_detail=detail)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if updated:
        outcome.failed += 1
        outcome.failures.append((certificate.serial, reason.value, detail))
    else:
        outcome.skipped += 1


def _prepare(certificate: Certificate, templates: dict, outcome: RenderOutcome):
    """(template, values, PDF metadata) of a certificate, or None after failing it for a character
    no shipped face covers."""
    from competition.certificates import rendering

    values = {key: str(value) for key, value in (certificate.values or {}).items()}
    uncovered = rendering.check_coverage(printed_texts(values))
    if uncovered:
        _fail(certificate, FailureReason.UNCOVERED, "".join(uncovered), outcome)
        return None
    key = (certificate.competition_id, certificate.kind)
    if key not in templates:
        competition = db.session.get(Competition, certificate.competition_id)
        templates[key] = (services.template_for(competition, certificate.kind), competition)
    template, competition = templates[key]
    title_zh = values.get("title_zh") or services.KIND_TEXT[CertificateKind(certificate.kind)][0]
    metadata = metadata_for(competition, title=f"{title_zh} {certificate.serial}", keywords=[certificate.serial])
    return template, values, metadata


def _store(certificate: Certificate, pdf, outcome: RenderOutcome, now: datetime) -> None:
    """Keep a rendered PDF (bytes) and issue the certificate, or fail it for its TemplateProblem."""
    from competition.certificates import rendering

    if isinstance(pdf, rendering.TemplateProblem):
        _fail(certificate, FailureReason.TEMPLATE, str(pdf)[:2000], outcome)
        return
    stored = storage.save(io.BytesIO(pdf), folder=f"{STORAGE_FOLDER}/{certificate.competition_id}", suffix=".pdf")
    issued = db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.state.in_(_RENDERABLE))
        .values(state=CertificateState.ISSUED.value, file_key=stored.key, sha256=stored.sha256, size=stored.size,
                issued_at=now, failure_reason=None, failure_detail=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount  # fmt: skip
    if not issued:  # another run issued it, or it was revoked, meanwhile
        storage.delete_after_commit(stored.key)
        outcome.skipped += 1
        return
    outcome.issued += 1
    _mail_recipient(certificate, now)


# --- e-mail -------------------------------------------------------------------------------------


def _account_url() -> str:
    from flask import current_app

    from competition.core.mail import external_url

    try:
        return external_url("certificates.mine")
    except BuildError:  # the account page arrives with the certificate views
        return current_app.config["BASE_URL"].rstrip("/") + "/"


def _mail_recipient(certificate: Certificate, now: datetime) -> None:
    """Tell a recipient with an account that the certificate is there — once per certificate."""
    from competition.core.mail import internal_path, queue_mail

    if certificate.recipient_user_id is None or certificate.emailed_at is not None:
        return
    user = db.session.get(User, certificate.recipient_user_id)
    if user is None or user.is_disabled:
        return
    claimed = db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.emailed_at.is_(None))
        .values(emailed_at=now)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not claimed:
        return
    values = certificate.values or {}
    english = user.locale == "en"
    queue_mail(
        to=user.email,
        template="certificates/emails/issued",
        locale=user.locale,
        user=user,
        link=internal_path("certificates.mine"),
        certificate_name=certificate.recipient_name,
        kind_label=services.KIND_TEXT[CertificateKind(certificate.kind)][1 if english else 0],
        award=values.get("award_en" if english else "award_zh", ""),
        team_name=values.get("team_name", ""),
        competition_name=(values.get("competition_en") or values.get("competition_zh", "")) if english
        else values.get("competition_zh", ""),
        round_name=(values.get("round_en") or values.get("round_zh", "")) if english else values.get("round_zh", ""),
        serial=certificate.serial,
        verify_url=services.verify_url(certificate.verification_code),
        account_url=_account_url(),
    )  # fmt: skip
