"""What the public and the recipients see of certificates.

- `/verify/<code>`: the page a certificate's QR code opens (no log-in): kind, award, competition,
  round, issue date, the recipient's name partly masked, team and project, serial number and status
  (valid, revoked with date and reason, superseded). An unknown code, a malformed one and a
  certificate not issued yet all answer the site's ordinary 404 page;
- `/verify?serial=…&name=…`: the same by the printed serial number plus the recipient's full name,
  by GET so that the answer can be bookmarked; a wrong serial and a wrong name get the same message;
- `/certificates/`: the signed-in person's own certificates (and their teams'), with their status;
- `/certificates/<id>/download`: the PDF, for whoever services.may_download allows; 404 for anyone
  else, as for a certificate that does not exist.

Both verification pages share one limit per address (CERTIFICATE_VERIFY_LIMIT), so that codes and
serial-plus-name pairs cannot be tried in bulk; opening the empty look-up form costs nothing.
"""

from __future__ import annotations

import logging
from datetime import date

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_babel import format_date
from flask_login import current_user, login_required
from sqlalchemy import select

from competition.certificates import services
from competition.certificates.forms import LookupForm
from competition.certificates.models import Certificate, CertificateKind, CertificateState
from competition.core.i18n import current_locale
from competition.core.permissions import require
from competition.extensions import db, limiter

bp = Blueprint("certificates", __name__)
log = logging.getLogger(__name__)

DEFAULT_VERIFY_LIMIT = "30 per minute;300 per hour"
#: a download runs nothing and may not be framed
DOWNLOAD_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
STATUS_BADGES = {
    services.VerificationStatus.VALID: "text-bg-success",
    services.VerificationStatus.REVOKED: "text-bg-danger",
    services.VerificationStatus.SUPERSEDED: "text-bg-secondary",
}
STATE_BADGES = {
    CertificateState.ISSUED.value: "text-bg-success",
    CertificateState.REVOKED.value: "text-bg-danger",
    CertificateState.SUPERSEDED.value: "text-bg-secondary",
}


def _verify_limit() -> str:
    return current_app.config.get("CERTIFICATE_VERIFY_LIMIT") or DEFAULT_VERIFY_LIMIT


def _blank_lookup_form() -> bool:
    """The look-up form opened without a question tries nothing: it is not counted."""
    return request.endpoint == "certificates.lookup" and not request.args


verification_limit = limiter.shared_limit(_verify_limit, scope="certificate-verify", exempt_when=_blank_lookup_form)


# --- bilingual values ---------------------------------------------------------------------------


def _bilingual(zh: str | None, en: str | None) -> dict | None:
    """A value in the reader's language first and in the other one below it (when it differs);
    None when there is nothing in either."""
    zh, en = (zh or "").strip(), (en or "").strip()
    if not zh and not en:
        return None
    english = current_locale() == "en"
    first, first_lang, second, second_lang = (en, "en", zh, "zh-CN") if english else (zh, "zh-CN", en, "en")
    if not first:
        first, first_lang, second, second_lang = second, second_lang, "", ""
    return {
        "text": first,
        "lang": first_lang,
        "other": second if second and second != first else "",
        "other_lang": second_lang,
    }


def _local(values: dict, key: str) -> str:
    """`<key>_en` in English when there is one, else `<key>_zh`."""
    if current_locale() == "en" and values.get(f"{key}_en"):
        return values[f"{key}_en"]
    return values.get(f"{key}_zh") or values.get(f"{key}_en") or ""


def _day(value) -> str:
    return format_date(value, "long") if value is not None else ""


def _issue_date(values: dict, issued_at) -> str:
    """The date printed on the certificate (what the reader compares), else the day it was issued."""
    try:
        return _day(date.fromisoformat(values.get("issue_date") or ""))
    except ValueError:
        return _day(issued_at)


def _verification_page(found: services.Verification) -> dict:
    """What the verification pages show of a certificate (the service's Verification, plus the team
    and the project it was issued for)."""
    values = db.session.scalar(select(Certificate.values).where(Certificate.serial == found.serial)) or {}
    kind_zh, kind_en = services.KIND_TEXT[CertificateKind(found.kind)]
    is_team = found.recipient_type == "team"
    return {
        "status": found.status,
        "badge": STATUS_BADGES[found.status],
        "serial": found.serial,
        "kind": _bilingual(kind_zh, kind_en),
        "award": _bilingual(found.award_zh, found.award_en),
        "competition": _bilingual(found.competition_zh, found.competition_en),
        "round": _bilingual(found.round_zh, found.round_en),
        "track": _bilingual(found.track_zh, found.track_en),
        "institution": _bilingual(found.institution_zh, found.institution_en),
        "name": found.name,
        "is_team": is_team,
        "team": "" if is_team else values.get("team_name", ""),
        "project": values.get("project_title", ""),
        "issued_on": _issue_date(values, found.issued_at),
        "revoked_on": _day(found.revoked_at),
        "revoke_reason": found.revoke_reason or "",
        "superseded_by_serial": found.superseded_by_serial or "",
    }


def _private(response, *, cache: str = "no-store"):
    """Verification answers change (a revocation) and carry names: not kept, not indexed."""
    response.headers["Cache-Control"] = cache
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- verification -------------------------------------------------------------------------------


@bp.get("/verify/<verification_code>")
@verification_limit
def verify(verification_code: str):
    found = services.verify_by_code(verification_code)
    if found is None:
        abort(404)  # unknown, malformed and not yet issued alike: the site's ordinary 404
    page = render_template("certificates/verify.html", certificate=_verification_page(found))
    return _private(current_app.make_response(page))


@bp.get("/verify")
@verification_limit
def lookup():
    asked = bool(request.args)
    form = LookupForm(formdata=request.args if asked else None)
    found, missed = None, False
    if asked and form.validate():
        verification = services.verify_by_serial(form.serial.data, form.name.data)
        if verification is None:
            missed = True
        else:
            found = _verification_page(verification)
    page = render_template("certificates/lookup.html", form=form, certificate=found, missed=missed)
    return _private(current_app.make_response(page))


# --- a person's own certificates ----------------------------------------------------------------


def _row(certificate: Certificate) -> dict:
    values = certificate.values or {}
    return {
        "certificate": certificate,
        "kind_label": certificate.kind_label,
        "award": _local(values, "award"),
        "competition": _local(values, "competition"),
        "round": _local(values, "round"),
        "team": values.get("team_name", "") if certificate.recipient_type != "team" else "",
        "state_label": certificate.state_label,
        "badge": STATE_BADGES.get(certificate.state, "text-bg-light"),
        "revoked": certificate.state == CertificateState.REVOKED,
        "issued_on": _issue_date(values, certificate.issued_at),
        "revoked_on": _day(certificate.revoked_at),
        "downloadable": services.may_download(current_user, certificate),
    }


@bp.get("/certificates/")
@login_required
def mine():
    rows = [_row(certificate) for certificate in services.certificates_of(current_user)]
    return render_template("certificates/mine.html", rows=rows)


@bp.get("/certificates/<int:certificate_id>/download")
@login_required
def download(certificate_id: int):
    """The certificate's PDF; 404 for anyone services.may_download does not allow (a student
    cannot tell whether another's certificate exists)."""
    certificate = db.session.get(Certificate, certificate_id)
    require(certificate is not None and services.may_download(current_user, certificate), hide=True)
    path = services.pdf_path(certificate)
    if not path.is_file():
        log.error("certificate %s: its stored file %s is missing", certificate.serial, certificate.file_key)
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=services.file_name(certificate), conditional=True, etag=True)  # fmt: skip
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response
