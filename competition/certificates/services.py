"""Certificates outside bulk issuing: serial numbers and verification codes, templates, revoke and
reissue, verification lookups with masked names, a person's own certificates, and downloads (one
PDF, a ZIP per track or institution, one multi-page PDF for printing).

Issuing from published results is in competition.certificates.issuing. Services add to the
current transaction; the caller commits.
"""

from __future__ import annotations

import io
import re
import secrets
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from competition.certificates.models import (
    KIND_LABELS,
    Certificate,
    CertificateCounter,
    CertificateKind,
    CertificateState,
    CertificateTemplate,
    RecipientType,
)
from competition.competitions.models import Competition
from competition.core import audit, storage
from competition.core.errors import DomainError
from competition.core.time import to_local, utcnow
from competition.extensions import db
from competition.rounds.models import Round

SEQUENCE_DIGITS = 6
#: 96 random bits, 16 URL-safe characters
CODE_BYTES = 12
REASON_MAX = 1000
TEMPLATE_MAX_CHARS = 100_000

#: the award names printed on certificates (both languages, whatever the reader's language)
AWARD_TEXT = {
    "gold": ("金奖", "Gold Award"),
    "silver": ("银奖", "Silver Award"),
    "bronze": ("铜奖", "Bronze Award"),
    "honourable": ("优秀奖", "Honourable Mention"),
}
#: the kind of certificate, printed and used as a folder name in ZIP downloads
KIND_TEXT = {
    CertificateKind.AWARD: ("获奖证书", "Certificate of Award"),
    CertificateKind.ADVISOR: ("优秀指导教师证书", "Outstanding Advisor"),
    CertificateKind.PARTICIPATION: ("参赛证明", "Certificate of Participation"),
    CertificateKind.JUDGE: ("评审专家感谢状", "Certificate of Appreciation"),
}


# --- serial numbers and verification codes ------------------------------------------------------


def format_serial(competition: Competition, sequence: int) -> str:
    """`<competition code>-<year>-<6-digit sequence>`, e.g. CY2026-2026-000123."""
    return f"{competition.code}-{competition.year}-{sequence:0{SEQUENCE_DIGITS}d}"


def new_verification_code() -> str:
    """Unguessable and URL-safe (the unique constraint is the backstop against the improbable)."""
    return secrets.token_urlsafe(CODE_BYTES)


def allocate_sequences(competition: Competition, count: int) -> list[int]:
    """The next `count` sequence numbers of the competition, reserved in the current transaction.

    One conditional UPDATE takes the counter row's lock (PostgreSQL) or the write lock (SQLite)
    until the caller commits: two runs at once get disjoint numbers, and a number once committed
    is never handed out again (a rollback returns only numbers nobody saw)."""
    if count <= 0:
        return []
    bump = (
        update(CertificateCounter)
        .where(CertificateCounter.competition_id == competition.id)
        .values(last_sequence=CertificateCounter.last_sequence + count)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(bump).rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(CertificateCounter(competition_id=competition.id, last_sequence=0))
        except IntegrityError:
            pass  # another run created it meanwhile
        db.session.execute(bump)
    last = db.session.scalar(
        select(CertificateCounter.last_sequence)
        .where(CertificateCounter.competition_id == competition.id)
        .execution_options(populate_existing=True)
    )
    return list(range(last - count + 1, last + 1))


def verify_url(code: str) -> str:
    """The address the QR code holds: under BASE_URL, never the request's host."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/verify/{code}"


# --- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateSource:
    html: str
    css: str
    is_default: bool


def default_template(kind: CertificateKind | str) -> TemplateSource:
    from competition.certificates import rendering

    html, css = rendering.default_template(str(kind))
    return TemplateSource(html=html, css=css, is_default=True)


def template_for(competition: Competition, kind: CertificateKind | str) -> TemplateSource:
    """The organizer's template for this kind, else the default."""
    saved = db.session.scalar(
        select(CertificateTemplate).where(
            CertificateTemplate.competition_id == competition.id, CertificateTemplate.kind == str(kind)
        )
    )
    if saved is None:
        return default_template(kind)
    return TemplateSource(html=saved.html, css=saved.css or "", is_default=False)


def save_template(competition: Competition, kind: str, *, html: str, css: str, actor, now: datetime | None = None):
    """Keep an organizer's template once it renders the sample values without a problem."""
    from competition.certificates import rendering

    if kind not in {member.value for member in CertificateKind}:
        raise DomainError(_l("Unknown kind of certificate."), field="kind")
    if not (html or "").strip():
        raise DomainError(_l("The template is empty."), field="html")
    if len(html) > TEMPLATE_MAX_CHARS or len(css or "") > TEMPLATE_MAX_CHARS:
        raise DomainError(_l("A template has at most %(max)s characters.", max=TEMPLATE_MAX_CHARS), field="html")
    try:
        rendering.renderer().validate(html, css or "", kind=kind)
    except rendering.TemplateProblem as problem:
        raise DomainError(_l("The template cannot be used: %(problem)s", problem=str(problem)), field="html") from None
    row = db.session.scalar(
        select(CertificateTemplate).where(
            CertificateTemplate.competition_id == competition.id, CertificateTemplate.kind == kind
        )
    )
    if row is None:
        row = CertificateTemplate(competition_id=competition.id, kind=kind)
        db.session.add(row)
    row.html, row.css = html, css or ""
    row.updated_by_id, row.updated_at = getattr(actor, "id", None), now or utcnow()
    db.session.flush()
    audit.record(actor, "certificates.save_template", row, competition_id=competition.id, kind=kind)
    return row


def reset_template(competition: Competition, kind: str, *, actor) -> None:
    """Go back to the default template."""
    row = db.session.scalar(
        select(CertificateTemplate).where(
            CertificateTemplate.competition_id == competition.id, CertificateTemplate.kind == kind
        )
    )
    if row is not None:
        audit.record(actor, "certificates.reset_template", row, competition_id=competition.id, kind=kind)
        db.session.delete(row)


# --- revoke and reissue -------------------------------------------------------------------------


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError(_l("Please give a reason."), field="reason")
    if len(text) > REASON_MAX:
        raise DomainError(_l("A reason has at most %(max)s characters.", max=REASON_MAX), field="reason")
    return text


def _lock(certificate: Certificate) -> None:
    from competition.core.locks import lock_row

    lock_row(Certificate, certificate.id)
    db.session.refresh(certificate)


def revoke(certificate: Certificate, *, actor, reason: str, now: datetime | None = None) -> Certificate:
    """Withdraw a certificate: its verification page says so, with the date and the reason."""
    reason = _reason(reason)
    _lock(certificate)
    if certificate.state in (CertificateState.REVOKED, CertificateState.SUPERSEDED):
        raise DomainError(_l("This certificate is already revoked or replaced."))
    old_state = certificate.state
    certificate.state = CertificateState.REVOKED.value
    certificate.revoked_at = now or utcnow()
    certificate.revoked_by_id = getattr(actor, "id", None)
    certificate.revoke_reason = reason
    db.session.flush()
    audit.record(actor, "certificates.revoke", certificate, serial=certificate.serial, old_state=old_state,
                 reason=reason)  # fmt: skip
    return certificate


def reissue(
    certificate: Certificate,
    *,
    actor,
    reason: str,
    recipient_name: str | None = None,
    now: datetime | None = None,
    render: bool = True,
) -> Certificate:
    """Replace a certificate (e.g. a misspelt name) by a new one with a new serial and code; the
    old one is marked superseded and points to the new one. The new one is rendered at once
    unless `render` is false (its state then says whether it was)."""
    from competition.certificates import issuing

    reason = _reason(reason)
    _lock(certificate)
    if certificate.state == CertificateState.SUPERSEDED:
        raise DomainError(_l("This certificate has already been replaced."))
    if certificate.state not in (CertificateState.ISSUED, CertificateState.REVOKED):
        raise DomainError(_l("Only an issued or revoked certificate can be reissued."))
    name = (recipient_name or "").strip() or certificate.recipient_name
    if len(name) > 100:
        raise DomainError(_l("A name has at most %(max)s characters.", max=100), field="recipient_name")
    now = now or utcnow()
    competition = db.session.get(Competition, certificate.competition_id)
    # the old one leaves the recipient's place first, so the new one may take it
    certificate.state = CertificateState.SUPERSEDED.value
    certificate.is_current = None
    db.session.flush()
    (sequence,) = allocate_sequences(competition, 1)
    serial, code = format_serial(competition, sequence), new_verification_code()
    values = issuing.refreshed_values(certificate.values, recipient_name=name, serial=serial, code=code)
    new = Certificate(
        competition_id=certificate.competition_id, round_id=certificate.round_id, kind=certificate.kind,
        recipient_type=certificate.recipient_type, recipient_key=certificate.recipient_key, is_current=True,
        recipient_user_id=certificate.recipient_user_id, recipient_name=name,
        recipient_email=certificate.recipient_email, team_id=certificate.team_id,
        submission_id=certificate.submission_id, advisor_id=certificate.advisor_id, award=certificate.award,
        track_zh=certificate.track_zh, track_en=certificate.track_en, institution_zh=certificate.institution_zh,
        institution_en=certificate.institution_en, sequence=sequence, serial=serial, verification_code=code,
        state=CertificateState.PENDING.value, values=values, created_at=now, created_by_id=getattr(actor, "id", None),
        replaces_id=certificate.id,
    )  # fmt: skip
    db.session.add(new)
    db.session.flush()
    certificate.superseded_by_id = new.id
    db.session.flush()
    audit.record(actor, "certificates.reissue", certificate, serial=certificate.serial, new_serial=serial,
                 new_id=new.id, reason=reason, old_name=certificate.recipient_name, new_name=name)  # fmt: skip
    if render:
        issuing.render_certificates([new], now=now)
    return new


# --- verification -------------------------------------------------------------------------------

_MIDDLE_DOTS = str.maketrans(dict.fromkeys("\u2022\u2027\u2219\u22c5\u30fb\u0387\u16eb\u318d", "\u00b7"))
_SPACE = re.compile(r"\s+")
_WIDE = r"\u3000-\u9fff\uf900-\ufaff\U00020000-\U0003134f\u00b7"
_SPACE_BETWEEN_WIDE = re.compile(rf"(?<=[{_WIDE}]) (?=[{_WIDE}])")


def normalize_name(name: str | None) -> str:
    """For comparing names as typed: NFKC (full-width letters, compatibility ideographs), one kind
    of middle dot, whitespace collapsed (and dropped between Chinese characters), case folded."""
    text = unicodedata.normalize("NFKC", name or "").translate(_MIDDLE_DOTS)
    text = _SPACE.sub(" ", text).strip()
    text = _SPACE_BETWEEN_WIDE.sub("", text)
    return text.casefold()


def _is_latin(char: str) -> bool:
    return char.isalpha() and "LATIN" in unicodedata.name(char, "")


def _mask_part(part: str) -> str:
    if len(part) <= 1:
        return "*" * len(part)
    if len(part) == 2:
        return part[0] + "*"
    return part[0] + "*" * (len(part) - 2) + part[-1]


def mask_name(name: str | None) -> str:
    """A name as the public verification page shows it: 张三 → 张*, 张小三 → 张*三, 欧阳娜娜 → 欧**娜,
    阿卜杜拉·艾合买提 → 阿**拉·艾**提 (each part of a name with a middle dot), 李 → *,
    John Smith → J***."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFC", name or "")).strip().translate(_MIDDLE_DOTS)
    if not text:
        return ""
    if _is_latin(text[0]):
        return text[0] + "***"
    return "·".join(_mask_part(part.strip()) for part in text.split("·"))


class VerificationStatus:
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows of one certificate."""

    status: str
    serial: str
    kind: str
    recipient_type: str
    name: str  # masked, except a team's name (public in the results anyway)
    award: str | None
    award_zh: str
    award_en: str
    competition_zh: str
    competition_en: str
    round_zh: str
    round_en: str
    track_zh: str
    track_en: str
    institution_zh: str
    institution_en: str
    issued_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None
    superseded_by_serial: str | None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[CertificateKind(self.kind)])


_PUBLIC_STATES = (CertificateState.ISSUED, CertificateState.REVOKED, CertificateState.SUPERSEDED)


def _verification(certificate: Certificate) -> Verification | None:
    """None for a certificate that was never issued: nobody holds it, so nobody verifies it."""
    if certificate.state not in _PUBLIC_STATES or certificate.issued_at is None:
        return None
    status = {
        CertificateState.ISSUED: VerificationStatus.VALID,
        CertificateState.REVOKED: VerificationStatus.REVOKED,
        CertificateState.SUPERSEDED: VerificationStatus.SUPERSEDED,
    }[CertificateState(certificate.state)]
    values = certificate.values or {}
    award_zh, award_en = AWARD_TEXT.get(certificate.award or "", ("", ""))
    successor = db.session.get(Certificate, certificate.superseded_by_id) if certificate.superseded_by_id else None
    team = certificate.recipient_type == RecipientType.TEAM
    return Verification(
        status=status, serial=certificate.serial, kind=certificate.kind, recipient_type=certificate.recipient_type,
        name=certificate.recipient_name if team else mask_name(certificate.recipient_name), award=certificate.award,
        award_zh=award_zh, award_en=award_en, competition_zh=values.get("competition_zh", ""),
        competition_en=values.get("competition_en", ""), round_zh=values.get("round_zh", ""),
        round_en=values.get("round_en", ""), track_zh=certificate.track_zh, track_en=certificate.track_en,
        institution_zh=certificate.institution_zh, institution_en=certificate.institution_en,
        issued_at=certificate.issued_at, revoked_at=certificate.revoked_at,
        revoke_reason=certificate.revoke_reason if status == VerificationStatus.REVOKED else None,
        superseded_by_serial=successor.serial if successor is not None and successor.issued_at else None,
    )  # fmt: skip


def verify_by_code(code: str | None) -> Verification | None:
    """The certificate a QR code points to; None when unknown (the page answers a uniform 404)."""
    code = (code or "").strip()
    if not code or len(code) > 32:
        return None
    certificate = db.session.scalar(select(Certificate).where(Certificate.verification_code == code))
    return _verification(certificate) if certificate is not None else None


def verify_by_serial(serial: str | None, name: str | None) -> Verification | None:
    """Look-up by the printed serial plus the recipient's full name: both must match (the name
    after normalize_name); anything else is None, the same as an unknown serial."""
    serial = unicodedata.normalize("NFKC", serial or "").strip().upper()
    wanted = normalize_name(name)
    if not serial or not wanted or len(serial) > 64:
        return None
    certificate = db.session.scalar(select(Certificate).where(Certificate.serial == serial)) or db.session.scalar(
        select(Certificate).where(func.upper(Certificate.serial) == serial)
    )
    if certificate is None or normalize_name(certificate.recipient_name) != wanted:
        return None
    return _verification(certificate)


# --- a person's certificates --------------------------------------------------------------------

_HOLDER_STATES = (CertificateState.ISSUED.value, CertificateState.REVOKED.value)


def certificates_of(user) -> list[Certificate]:
    """The certificates a person holds: their own, and those of teams they are a member of
    (issued or revoked; never another member's)."""
    from competition.teams.models import TeamMember

    if user is None or getattr(user, "id", None) is None:
        return []
    team_ids = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    mine = Certificate.recipient_user_id == user.id
    teams = (Certificate.recipient_type == RecipientType.TEAM.value) & Certificate.team_id.in_(team_ids)
    return list(
        db.session.scalars(
            select(Certificate)
            .where(mine | teams, Certificate.state.in_(_HOLDER_STATES))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def may_download(user, certificate: Certificate) -> bool:
    """The recipient, and the members of the team for a team's certificate, while it is valid; the
    organizers of the competition (and admins) always."""
    from competition.rounds.policies import can_manage_rounds
    from competition.teams.models import TeamMember

    if user is None or not getattr(user, "is_authenticated", False) or not certificate.file_key:
        return False
    if certificate.state == CertificateState.ISSUED:
        if certificate.recipient_user_id is not None and certificate.recipient_user_id == user.id:
            return True
        if certificate.recipient_type == RecipientType.TEAM and certificate.team_id is not None:
            member = db.session.scalar(
                select(TeamMember.id).where(TeamMember.team_id == certificate.team_id, TeamMember.user_id == user.id)
            )
            if member is not None:
                return True
    competition = db.session.get(Competition, certificate.competition_id)
    return competition is not None and can_manage_rounds(user, competition)


# --- downloads ----------------------------------------------------------------------------------


def pdf_path(certificate: Certificate):
    if not certificate.file_key:
        raise DomainError(_l("This certificate has not been generated yet."))
    return storage.path_for(certificate.file_key)


def pdf_bytes(certificate: Certificate) -> bytes:
    return pdf_path(certificate).read_bytes()


def file_name(certificate: Certificate) -> str:
    from competition.submissions.archive import component

    return f"{component(certificate.serial)}-{component(certificate.recipient_name)}.pdf"


def issued_certificates(
    round_: Round, *, kind: str | None = None, track: str | None = None, institution: str | None = None
) -> list[Certificate]:
    """The round's issued certificates in serial order, optionally of one kind, one track (its
    Chinese name as in the results) or one institution (its Chinese name)."""
    statement = select(Certificate).where(
        Certificate.round_id == round_.id, Certificate.state == CertificateState.ISSUED.value
    )
    if kind:
        statement = statement.where(Certificate.kind == kind)
    if track is not None:
        statement = statement.where(Certificate.track_zh == track)
    if institution is not None:
        statement = statement.where(Certificate.institution_zh == institution)
    return list(db.session.scalars(statement.order_by(Certificate.sequence)))


def download_groups(round_: Round, by: str) -> list[tuple[str, str, int]]:
    """(Chinese name, English name, issued certificates) per track or per institution."""
    if by not in ("track", "institution"):
        raise ValueError(by)
    zh, en = (Certificate.track_zh, Certificate.track_en) if by == "track" else (
        Certificate.institution_zh, Certificate.institution_en)  # fmt: skip
    rows = db.session.execute(
        select(zh, func.max(en), func.count(Certificate.id))
        .where(Certificate.round_id == round_.id, Certificate.state == CertificateState.ISSUED.value, zh != "")
        .group_by(zh)
    ).all()
    # sorted here: the database's collation would order Chinese names differently on each server
    return sorted((name, name_en or "", count) for name, name_en, count in rows)


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what is written until it is taken: zipfile then writes
    streaming entries (data descriptors) and the ZIP leaves piece by piece."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(certificates: Iterable[Certificate]) -> Iterator[bytes]:
    """A ZIP of the certificates' PDFs, one folder per kind, produced while it is sent (PDFs are
    compressed already: stored as they are). A file missing on disk is left out."""
    sink = _Sink()
    names: Counter[str] = Counter()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for certificate in certificates:
            if not certificate.file_key:
                continue
            path = storage.path_for(certificate.file_key)
            if not path.is_file():
                continue
            name = f"{KIND_TEXT[CertificateKind(certificate.kind)][0]}/{file_name(certificate)}"
            names[name] += 1
            if names[name] > 1:
                name = name.removesuffix(".pdf") + f"-{names[name]}.pdf"
            stamp = to_local(certificate.issued_at or utcnow()).timetuple()[:6]
            info = zipfile.ZipInfo(name, date_time=stamp)
            with path.open("rb") as source, archive.open(info, "w") as target:
                while chunk := source.read(storage.CHUNK):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def zip_bytes(certificates: Iterable[Certificate]) -> bytes:
    return b"".join(zip_stream(certificates))


def print_batch(certificates: list[Certificate]) -> bytes:
    """One multi-page PDF of the certificates, for printing (each with its own template)."""
    from competition.certificates import issuing, rendering

    items = []
    templates: dict[tuple[int, str], TemplateSource] = {}
    competition = None
    for certificate in certificates:
        key = (certificate.competition_id, certificate.kind)
        if key not in templates:
            competition = db.session.get(Competition, certificate.competition_id)
            templates[key] = template_for(competition, certificate.kind)
        template = templates[key]
        items.append((template.html, dict(certificate.values), template.css))
    if not items:
        raise DomainError(_l("There is no issued certificate to print."))
    metadata = issuing.metadata_for(competition, title=f"{competition.code} certificates")
    return rendering.renderer().render_batch(items, metadata=metadata)


def round_counts(round_: Round) -> dict[str, int]:
    """Certificates of the round by state (superseded ones left out)."""
    rows = db.session.execute(
        select(Certificate.state, func.count(Certificate.id))
        .where(Certificate.round_id == round_.id, Certificate.is_current.is_(True))
        .group_by(Certificate.state)
    ).all()
    counts = {state.value: 0 for state in CertificateState if state != CertificateState.SUPERSEDED}
    counts.update(dict(rows))
    return counts
