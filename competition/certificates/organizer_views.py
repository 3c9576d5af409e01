"""Organizers' certificate pages of a competition: issuing a round's certificates from its published
results as a background job (with a progress bar and the certificates that could not be made), a
round's certificates (filters, downloads one by one, as ZIPs per track or institution and as
multi-page PDFs for printing; revoke and reissue), and the template editor with a live PDF preview.

Only those who manage the competition reach these pages (can_manage_certificates); everyone else
gets 403, or 404 where even the existence of a round or certificate must not show. Every change
goes through competition.certificates.services / jobs, which audit it.
"""

from __future__ import annotations

import logging
import unicodedata
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from competition.certificates import issuing, rendering, services
from competition.certificates import jobs as certificate_jobs
from competition.certificates.models import (
    KIND_LABELS,
    STATE_LABELS,
    Certificate,
    CertificateKind,
    CertificateState,
    CertificateTemplate,
    FailureReason,
)
from competition.certificates.organizer_forms import (
    ActionForm,
    CertificateFilterForm,
    IssueForm,
    ReissueForm,
    RevokeForm,
    TemplateForm,
)
from competition.certificates.policies import can_manage_certificates
from competition.competitions.models import Competition, _localized
from competition.competitions.policies import can_view_competition
from competition.core.errors import DomainError
from competition.core.jobs import JobState
from competition.core.permissions import require
from competition.core.web import (
    CONTENT_SECURITY_POLICY,
    commit_or_flash,
    commit_or_show,
    flash_form_errors,
    safe_next_url,
)
from competition.extensions import db
from competition.results.models import AWARD_LABELS, SnapshotKind
from competition.results.services import current_snapshot
from competition.rounds.models import Round
from competition.submissions.archive import component

log = logging.getLogger(__name__)

bp = Blueprint("certificates_admin", __name__, url_prefix="/competitions/<code>/certificates")

PER_PAGE = 50
#: pages per print batch (one multi-page PDF); rendered while the organizer waits
PRINT_BATCH_SIZE = 100
#: failed certificates listed per round on the index (the round's list shows them all)
FAILURES_SHOWN = 20
#: a PDF preview shown in the editor's frame: framed by this site only; the PDF viewer is a plugin
PREVIEW_CSP = "default-src 'none'; object-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
#: a page shown in the editor's frame (a template's problem)
FRAMED_CSP = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
_RUNNING = (JobState.QUEUED.value, JobState.RUNNING.value)


# --- loading, with the access checks ------------------------------------------------------------


def _competition(code: str) -> Competition:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # A draft competition is invisible to outsiders: 404, not 403.
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    require(can_manage_certificates(current_user, competition))
    return competition


def _round(competition: Competition, round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == competition.id, hide=True)
    return round_


def _kind(kind: str) -> str:
    if kind not in {member.value for member in CertificateKind}:
        abort(404)
    return kind


def _certificate(competition: Competition, certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    require(certificate is not None and certificate.competition_id == competition.id, hide=True)
    return certificate


def _attachment(response: Response, name: str, *, inline: bool = False) -> Response:
    """Content-Disposition with the file's name, also when it is Chinese (RFC 6266 filename*)."""
    disposition = "inline" if inline else "attachment"
    try:
        name.encode("ascii")
        response.headers.set("Content-Disposition", disposition, filename=name)
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii") or "certificates"
        response.headers.set(
            "Content-Disposition", disposition, filename=simple, **{"filename*": f"UTF-8''{quote(name, safe='')}"}
        )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the index: rounds, issuing, progress, failures, templates ----------------------------------


def _issue_form(round_: Round, *, submitted: bool = False) -> IssueForm:
    prefix = f"round-{round_.id}"
    if submitted:
        return IssueForm(prefix=prefix)
    return IssueForm(
        formdata=None,
        prefix=prefix,
        data={"choices": list(issuing.CHOICES), "advisor_awards": list(issuing.AWARD_CODES)},
    )


def _progress_text(progress: certificate_jobs.JobProgress) -> str:
    if progress.state == JobState.QUEUED:
        return _("Waiting for its turn…")
    if progress.state == JobState.RUNNING:
        if not progress.total:
            return _("Working out who receives what…")
        return _("%(done)s of %(total)s certificates generated (%(percent)s%%).", done=progress.done,
                 total=progress.total, percent=progress.percent)  # fmt: skip
    if progress.state == JobState.FINISHED:
        return _("Finished: %(done)s of %(total)s certificates generated.", done=progress.done, total=progress.total)
    return _("The last run stopped part-way. Issue again: only what is missing is generated.")


def _characters(text: str | None) -> list[dict]:
    """The uncovered characters of a failure, each with its code point and Unicode name."""
    found = []
    for char in dict.fromkeys(text or ""):
        name = unicodedata.name(char, "")
        if not name:
            name = _("private use: no standard character") if unicodedata.category(char) == "Co" else _("no name")
        found.append({"char": char, "code": f"U+{ord(char):04X}", "name": name})
    return found


def _failures(round_: Round, *, limit: int | None = None) -> tuple[list[dict], int]:
    """The round's certificates that could not be generated (first `limit`), and how many there are."""
    where = (
        Certificate.round_id == round_.id,
        Certificate.state == CertificateState.FAILED.value,
        Certificate.is_current.is_(True),
    )
    total = db.session.scalar(select(func.count(Certificate.id)).where(*where)) or 0
    statement = select(Certificate).where(*where).order_by(Certificate.sequence)
    if limit is not None:
        statement = statement.limit(limit)
    rows = []
    for certificate in db.session.scalars(statement):
        uncovered = certificate.failure_reason == FailureReason.UNCOVERED
        rows.append({
            "certificate": certificate,
            "uncovered": uncovered,
            "characters": _characters(certificate.failure_detail) if uncovered else [],
            "detail": None if uncovered else certificate.failure_detail,
        })  # fmt: skip
    return rows, total


def _round_card(round_: Round, form: IssueForm) -> dict:
    published = current_snapshot(round_, SnapshotKind.PUBLISHED)
    job = certificate_jobs.latest_job(round_)
    progress = certificate_jobs.progress_of(job) if job is not None else None
    failures, failed = _failures(round_, limit=FAILURES_SHOWN)
    counts = services.round_counts(round_)
    return {
        "round": round_,
        "published": published,
        "counts": counts,
        "total": sum(counts.values()),
        "job": job,
        "progress": progress,
        "progress_text": _progress_text(progress) if progress is not None else "",
        "running": job is not None and job.state in _RUNNING,
        "failures": failures,
        "failed": failed,
        "form": form,
    }


def _render_index(competition: Competition, submitted: Round | None = None, submitted_form: IssueForm | None = None):
    rounds = db.session.scalars(
        select(Round).where(Round.competition_id == competition.id).order_by(Round.position, Round.id)
    ).all()
    cards = [
        _round_card(
            round_, submitted_form if submitted is not None and round_.id == submitted.id else _issue_form(round_)
        )
        for round_ in rounds
    ]
    saved = {
        row.kind: row
        for row in db.session.scalars(
            select(CertificateTemplate).where(CertificateTemplate.competition_id == competition.id)
        )
    }
    return render_template(
        "certificates/organizer/index.html",
        competition=competition,
        cards=cards,
        kinds=[(kind.value, KIND_LABELS[kind], saved.get(kind.value)) for kind in CertificateKind],
        state_labels=STATE_LABELS,
        refresh=request.args.get("refresh") != "off",
    )


@bp.get("/")
@login_required
def index(code: str):
    return _render_index(_competition(code))


@bp.post("/rounds/<int:round_id>/issue")
@login_required
def issue(code: str, round_id: int):
    competition = _competition(code)
    round_ = _round(competition, round_id)
    form = _issue_form(round_, submitted=True)
    if form.validate_on_submit():
        outcome = commit_or_show(form, lambda: certificate_jobs.start(round_, form.settings(), actor=current_user))
        if outcome:
            flash(
                _("The certificates of %(round)s are being generated. Certificates already issued are kept; only "
                  "what is missing is generated.", round=round_.name),
                "success",
            )  # fmt: skip
            return redirect(url_for(".index", code=competition.code) + f"#round-{round_.id}")
    return _render_index(competition, round_, form)


@bp.get("/rounds/<int:round_id>/progress.json")
@login_required
def progress(code: str, round_id: int):
    """The round's certificate job as JSON, for the progress bar (static/js/job-progress.js)."""
    competition = _competition(code)
    round_ = _round(competition, round_id)
    job = certificate_jobs.latest_job(round_)
    counts = services.round_counts(round_)
    if job is None:
        data = {"state": "none", "running": False, "percent": 0, "done": 0, "total": 0, "text": ""}
    else:
        found = certificate_jobs.progress_of(job)
        data = {
            "state": found.state, "running": job.state in _RUNNING, "percent": found.percent,
            "done": found.done, "total": found.total, "text": _progress_text(found),
        }  # fmt: skip
    response = jsonify({**data, "counts": counts})
    response.headers["Cache-Control"] = "no-store"
    return response


# --- a round's certificates ---------------------------------------------------------------------


def _names(round_: Round, zh_column, en_column) -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(zh_column, func.max(en_column))
        .where(Certificate.round_id == round_.id, zh_column != "")
        .group_by(zh_column)
    ).all()
    return sorted((zh, en or "") for zh, en in rows)


def _list_filters(round_: Round) -> CertificateFilterForm:
    filters = CertificateFilterForm(request.args)
    filters.track.choices = [SelectChoice("", _("Every track"))] + [
        SelectChoice(zh, _localized(zh, en)) for zh, en in _names(round_, Certificate.track_zh, Certificate.track_en)
    ]
    filters.institution.choices = [SelectChoice("", _("Every institution"))] + [
        SelectChoice(zh, _localized(zh, en))
        for zh, en in _names(round_, Certificate.institution_zh, Certificate.institution_en)
    ]
    filters.validate()
    return filters


def _value(field) -> str | None:
    return field.data if field.data and not field.errors else None


def _kept_filters() -> dict:
    """The filters of the page a button was pressed on."""
    return {
        key: value for key, value in request.args.items()
        if key in ("kind", "state", "track", "institution", "page") and value
    }  # fmt: skip


def _issued_count(round_: Round, *, kind: str | None, track: str | None, institution: str | None) -> int:
    statement = select(func.count(Certificate.id)).where(
        Certificate.round_id == round_.id, Certificate.state == CertificateState.ISSUED.value
    )
    if kind:
        statement = statement.where(Certificate.kind == kind)
    if track is not None:
        statement = statement.where(Certificate.track_zh == track)
    if institution is not None:
        statement = statement.where(Certificate.institution_zh == institution)
    return db.session.scalar(statement) or 0


@bp.get("/rounds/<int:round_id>/")
@login_required
def round_list(code: str, round_id: int):
    competition = _competition(code)
    round_ = _round(competition, round_id)
    filters = _list_filters(round_)
    kind, state = _value(filters.kind), _value(filters.state)
    track, institution = _value(filters.track), _value(filters.institution)
    statement = select(Certificate).where(Certificate.round_id == round_.id)
    if kind:
        statement = statement.where(Certificate.kind == kind)
    if state:
        statement = statement.where(Certificate.state == state)
    else:
        statement = statement.where(Certificate.state != CertificateState.SUPERSEDED.value)
    if track:
        statement = statement.where(Certificate.track_zh == track)
    if institution:
        statement = statement.where(Certificate.institution_zh == institution)
    page = db.paginate(statement.order_by(Certificate.sequence), per_page=PER_PAGE, error_out=False)
    successors = {row.superseded_by_id for row in page.items if row.superseded_by_id} | {
        row.replaces_id for row in page.items if row.replaces_id
    }
    related = (
        {row.id: row for row in db.session.scalars(select(Certificate).where(Certificate.id.in_(successors)))}
        if successors
        else {}
    )
    printable = _issued_count(round_, kind=kind, track=track, institution=institution)
    batches = [
        (number, (number - 1) * PRINT_BATCH_SIZE + 1, min(number * PRINT_BATCH_SIZE, printable))
        for number in range(1, (printable + PRINT_BATCH_SIZE - 1) // PRINT_BATCH_SIZE + 1)
    ]
    failures, failed = _failures(round_)
    job = certificate_jobs.latest_job(round_)
    progress_value = certificate_jobs.progress_of(job) if job is not None else None
    refresh = request.args.get("refresh") != "off"
    here_args = _kept_filters()
    here_url = url_for(".round_list", code=competition.code, round_id=round_.id,
                       **({**here_args, "refresh": "off"} if not refresh else here_args))  # fmt: skip
    stop_url = url_for(".round_list", code=competition.code, round_id=round_.id, **{**here_args, "refresh": "off"})
    return render_template(
        "certificates/organizer/round.html",
        competition=competition,
        round_=round_,
        filters=filters,
        page=page,
        related=related,
        counts=services.round_counts(round_),
        tracks=services.download_groups(round_, "track"),
        institutions=services.download_groups(round_, "institution"),
        printable=printable,
        batches=batches,
        print_args={
            key: value for key, value in {"kind": kind, "track": track, "institution": institution}.items() if value
        },
        failures=failures,
        failed=failed,
        job=job,
        progress=progress_value,
        progress_text=_progress_text(progress_value) if progress_value is not None else "",
        running=job is not None and job.state in _RUNNING,
        refresh=refresh,
        here_url=here_url,
        stop_url=stop_url,
        filter_args={key: value for key, value in here_args.items() if key != "page"},
        batch_size=PRINT_BATCH_SIZE,
        state_labels=STATE_LABELS,
        award_labels=AWARD_LABELS,
        localized=_localized,
        revoke_states=(CertificateState.ISSUED.value,),
        reissue_states=(CertificateState.ISSUED.value, CertificateState.REVOKED.value),
        reason_max=services.REASON_MAX,
    )


def _back_to_list(certificate: Certificate, next_url: str | None):
    if certificate.round_id is None:
        fallback = url_for(".index", code=certificate.competition.code)
    else:
        fallback = url_for(".round_list", code=certificate.competition.code, round_id=certificate.round_id)
    return redirect(safe_next_url(next_url, fallback) + f"#certificate-{certificate.id}")


@bp.get("/<int:certificate_id>/download")
@login_required
def download(code: str, certificate_id: int):
    certificate = _certificate(_competition(code), certificate_id)
    if not certificate.file_key:
        abort(404)
    path = services.pdf_path(certificate)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=services.file_name(certificate), max_age=0)  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:certificate_id>/revoke")
@login_required
def revoke(code: str, certificate_id: int):
    certificate = _certificate(_competition(code), certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.revoke(certificate, actor=current_user, reason=form.reason.data),
            _("Certificate %(serial)s has been revoked; its verification page says so, with the date and the reason.",
              serial=certificate.serial),
        )  # fmt: skip
    else:
        flash_form_errors(form)
    return _back_to_list(certificate, form.next.data)


@bp.post("/<int:certificate_id>/reissue")
@login_required
def reissue(code: str, certificate_id: int):
    certificate = _certificate(_competition(code), certificate_id)
    form = ReissueForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back_to_list(certificate, form.next.data)
    serial = certificate.serial
    outcome = commit_or_show(
        None,
        lambda: services.reissue(certificate, actor=current_user, reason=form.reason.data,
                                 recipient_name=form.recipient_name.data or None),
    )  # fmt: skip
    if outcome:
        new = outcome.value
        if new.state == CertificateState.ISSUED:
            flash(_("Certificate %(old)s has been replaced by %(new)s; the old one is marked superseded.",
                    old=serial, new=new.serial), "success")  # fmt: skip
        elif new.failure_reason == FailureReason.UNCOVERED:
            flash(_("Certificate %(old)s has been replaced by %(new)s, but it could not be generated: no font has "
                    "%(characters)s. Correct the name and reissue it.", old=serial, new=new.serial,
                    characters=rendering.describe(new.failure_detail or "")), "warning")  # fmt: skip
        else:
            flash(_("Certificate %(old)s has been replaced by %(new)s, but it could not be generated yet: "
                    "%(problem)s", old=serial, new=new.serial, problem=new.failure_detail or ""), "warning")  # fmt: skip
        return _back_to_list(new, form.next.data)
    return _back_to_list(certificate, form.next.data)


def _issued_filters() -> tuple[str | None, str | None, str | None]:
    kind = request.args.get("kind") or None
    if kind is not None and kind not in {member.value for member in CertificateKind}:
        abort(404)
    return kind, request.args.get("track") or None, request.args.get("institution") or None


def _nothing_to_download(round_: Round):
    flash(_("There is no issued certificate to download here."), "info")
    return redirect(url_for(".round_list", code=round_.competition.code, round_id=round_.id))


@bp.get("/rounds/<int:round_id>/certificates.zip")
@login_required
def zip_download(code: str, round_id: int):
    """The round's issued certificates as a ZIP (one folder per kind): all, or of one track or one
    institution (its Chinese name as in the results). Sent while it is made."""
    competition = _competition(code)
    round_ = _round(competition, round_id)
    kind, track, institution = _issued_filters()
    certificates = services.issued_certificates(round_, kind=kind, track=track, institution=institution)
    if not certificates:
        return _nothing_to_download(round_)
    name = component(f"{competition.code}-{round_.name_zh}-{track or institution or '全部'}") + ".zip"
    response = Response(stream_with_context(services.zip_stream(certificates)), mimetype="application/zip")
    return _attachment(response, name)


@bp.get("/rounds/<int:round_id>/print.pdf")
@login_required
def print_batch(code: str, round_id: int):
    """One multi-page PDF of up to PRINT_BATCH_SIZE issued certificates (batch 1, 2, …), for printing."""
    competition = _competition(code)
    round_ = _round(competition, round_id)
    kind, track, institution = _issued_filters()
    batch = request.args.get("batch", 1, type=int) or 1
    if batch < 1:
        abort(404)
    certificates = services.issued_certificates(round_, kind=kind, track=track, institution=institution)
    chunk = certificates[(batch - 1) * PRINT_BATCH_SIZE : batch * PRINT_BATCH_SIZE]
    if not chunk:
        return _nothing_to_download(round_)
    try:
        pdf = services.print_batch(chunk)
    except (DomainError, rendering.TemplateProblem) as problem:
        flash(_("The print batch could not be made: %(problem)s", problem=getattr(problem, "message", problem)),
              "danger")  # fmt: skip
        return redirect(url_for(".round_list", code=competition.code, round_id=round_.id))
    parts = [competition.code, round_.name_zh, kind and services.KIND_TEXT[CertificateKind(kind)][0], track,
             institution, f"{chunk[0].sequence:06d}-{chunk[-1].sequence:06d}"]  # fmt: skip
    name = component("-".join(part for part in parts if part)) + ".pdf"
    return _attachment(Response(pdf, mimetype="application/pdf"), name)


# --- templates ----------------------------------------------------------------------------------


def _render_editor(competition: Competition, kind: str, form: TemplateForm, source: services.TemplateSource):
    return render_template(
        "certificates/organizer/template.html",
        competition=competition,
        kind=kind,
        kind_label=KIND_LABELS[CertificateKind(kind)],
        form=form,
        source=source,
        reset_form=ActionForm(formdata=None),
        value_keys=rendering.VALUE_KEYS,
        derived_keys=rendering.DERIVED_KEYS,
        sample=rendering.SAMPLE_VALUES[kind],
        base_css=rendering.base_css(),
        kinds=[(member.value, KIND_LABELS[member]) for member in CertificateKind],
    )


@bp.route("/templates/<kind>", methods=["GET", "POST"])
@login_required
def template_editor(code: str, kind: str):
    competition = _competition(code)
    kind = _kind(kind)
    source = services.template_for(competition, kind)
    if request.method == "POST":
        form = TemplateForm()
    else:
        form = TemplateForm(formdata=None, data={"html": source.html, "css": source.css})
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.save_template(competition, kind, html=form.html.data or "", css=form.css.data or "",
                                       actor=current_user),
        aliases={"kind": "html"},
    ):  # fmt: skip
        flash(_("The template has been saved. Certificates generated from now on use it; those issued already "
                "stay as they are (reissue one to apply it)."), "success")  # fmt: skip
        return redirect(url_for(".template_editor", code=competition.code, kind=kind))
    return _render_editor(competition, kind, form, source)


def _framed_problem(message: str):
    response = Response(render_template("certificates/organizer/preview_problem.html", message=message))
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = FRAMED_CSP
    return response


@bp.route("/templates/<kind>/preview", methods=["GET", "POST"])
@login_required
def template_preview(code: str, kind: str):
    """The template as a PDF on the sample values, shown in the editor's frame: GET the saved (or
    default) template, POST the text being edited (nothing is saved)."""
    competition = _competition(code)
    kind = _kind(kind)
    if request.method == "POST":
        form = TemplateForm()
        if not form.validate_on_submit():
            return _framed_problem(" ".join(str(error) for errors in form.errors.values() for error in errors))
        html, css = form.html.data or "", form.css.data or ""
    else:
        source = services.template_for(competition, kind)
        html, css = source.html, source.css
    if not html.strip():
        return _framed_problem(_("The template is empty."))
    title = f"{services.KIND_TEXT[CertificateKind(kind)][0]} {rendering.SAMPLE_VALUES[kind]['serial']}"
    try:
        pdf = rendering.renderer().render(html, rendering.SAMPLE_VALUES[kind], css=css,
                                          metadata={"title": title, "author": competition.host_zh or ""})  # fmt: skip
    except rendering.TemplateProblem as problem:
        return _framed_problem(_("The template cannot be used: %(problem)s", problem=str(problem)))
    except Exception as error:  # noqa: BLE001 - whatever a template does, the organizer gets a message
        log.warning("certificate template preview failed: %s", error, exc_info=True)
        problem = f"{type(error).__name__}: {error}"
        return _framed_problem(_("The preview could not be made: %(problem)s", problem=problem))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return _attachment(response, f"preview-{kind}.pdf", inline=True)


@bp.post("/templates/<kind>/reset")
@login_required
def template_reset(code: str, kind: str):
    competition = _competition(code)
    kind = _kind(kind)
    form = ActionForm()
    if form.validate_on_submit():
        commit_or_flash(
            lambda: services.reset_template(competition, kind, actor=current_user),
            _("The default template is used again for %(kind)s.", kind=KIND_LABELS[CertificateKind(kind)]),
        )
    else:
        flash_form_errors(form)
    return redirect(url_for(".template_editor", code=competition.code, kind=kind))
