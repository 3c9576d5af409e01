"""Judges score their assignments: the scorecard, saving a draft (the form, or autosave from
static/js/scorecard.js), submitting through a confirmation, asking to reopen.

- `GET /scoring/assignments/<id>`: the project (blind-aware), its materials inline, the rubric with
  the judge's values; read-only once submitted. `POST` saves a draft (the page works without JS).
- `POST …/submit`: saves the draft, checks that it is complete, shows the confirmation.
- `GET|POST …/confirm`: the confirmation (GET: of the stored draft); its POST submits.
- `POST …/autosave`: JSON for scorecard.js — 200, 409 (changed elsewhere, or submitted), 422
  (invalid values), 401 (the session expired: never a redirect to the log-in page), 404.
- `POST …/reopen-request`: the judge asks the organizers to reopen a submitted scorecard.

Only the assigned judge, holding the judge role, while the round's judging is open
(`can_open_scorecard`): anyone else, and everyone once the round has closed, gets 404, the same as
for a missing id. Nothing here shows another judge's scores or comments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import wraps
from types import SimpleNamespace

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from competition.core.errors import DomainError
from competition.core.permissions import require
from competition.core.time import utcnow
from competition.core.web import commit_or_flash, commit_or_show, show_domain_error
from competition.extensions import csrf, db, login_manager
from competition.judging.forms import DeclareForm
from competition.judging.models import Assignment
from competition.scoring import services
from competition.scoring.models import Criterion, Rubric, Scorecard
from competition.scoring.policies import can_open_scorecard
from competition.submissions.policies import is_blind_for
from competition.submissions.services import count_characters
from competition.submissions.views import _time_left, project_context

bp = Blueprint("scoring", __name__, url_prefix="/scoring")

REASON_MAX = 1000
PAGE_OUT_OF_DATE = _l("This page is out of date. Reload it and try again.")


# --- signed in first, then CSRF -----------------------------------------------------------------


def judge_request(*, json: bool = False):
    """The session first, then the CSRF token.

    Flask-Login's `login_required` sends every unauthenticated request — JSON too — to the log-in
    page (its `unauthorized()` flashes and redirects), and CSRFProtect refuses a request whose
    session cookie is gone with a 400 before any view runs. A judge whose session expired while
    typing must instead learn that and keep their input: so these views are exempt from the global
    CSRF check and run it themselves once the session is known to be valid. An expired session
    gets 401 JSON (autosave) or the log-in page with `next=` the scorecard (forms).
    """

    def decorate(view):
        @wraps(view)
        def wrapper(assignment_id: int):
            if not current_user.is_authenticated:
                if json:
                    return _json_error(
                        401, _("Your session has expired. Log in again; your input is kept in this browser."), "session"
                    )
                if request.method == "POST":
                    flash(_("Your session has expired. Please log in again and go on with the scorecard."), "info")
                else:
                    flash(str(login_manager.login_message), login_manager.login_message_category)
                return redirect(
                    url_for("accounts.login", next=url_for("scoring.scorecard", assignment_id=assignment_id))
                )
            if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
                if not json:
                    csrf.protect()  # a CSRFError: the usual 400 page
                else:
                    try:
                        csrf.protect()  # the token comes in the X-CSRFToken header
                    except CSRFError:
                        return _json_error(
                            400, _("Not saved: this page has expired. Reload it; your input is kept."), "csrf"
                        )
            return view(assignment_id)

        return csrf.exempt(wrapper)

    return decorate


def _json_error(status: int, message: str, field: str | None, **extra):
    return {"ok": False, "error": str(message), "field": field, **extra}, status


# --- what the page shows -------------------------------------------------------------------------


def _assignment(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is not None and not can_open_scorecard(current_user, assignment):
        _audit_refused_post(assignment)
    require(assignment is not None and can_open_scorecard(current_user, assignment), hide=True)
    return assignment


def _audit_refused_post(assignment: Assignment) -> None:
    """A score posted where it may not be (another's assignment, a closed round) is recorded."""
    if request.method == "POST" and current_user.is_authenticated:
        services.record_refused_attempt(current_user._get_current_object(), assignment, utcnow())
        db.session.commit()


def _judge():
    return current_user._get_current_object()


def _rubric(assignment: Assignment) -> Rubric | None:
    submission = assignment.submission
    return services.rubric_for(submission.round, submission.team.track_id)


def plain(value: Decimal | None) -> str:
    """7 or 7.5, never 7.0 or 7E+1."""
    if value is None:
        return ""
    return f"{value.normalize():f}"


@dataclass
class Entered:
    """What the form shows: the judge's input (raw text) or the stored values."""

    points: dict[int, str]
    comments: dict[int, str]
    overall: str

    @classmethod
    def stored(cls, scorecard: Scorecard | None) -> Entered:
        if scorecard is None:
            return cls({}, {}, "")
        return cls(
            {value.criterion_id: plain(value.points) for value in scorecard.values},
            {value.criterion_id: value.comment for value in scorecard.values},
            scorecard.overall_comment or "",
        )

    @classmethod
    def posted(cls, criteria: list[Criterion]) -> Entered:
        form = request.form
        return cls(
            {c.id: form.get(f"points-{c.id}", "") for c in criteria},
            {c.id: form.get(f"comment-{c.id}", "") for c in criteria},
            form.get("overall_comment", ""),
        )

    def total(self, criteria: list[Criterion]) -> Decimal:
        """The sum of the valid values (what the judge would get if they saved now)."""
        total = Decimal(0)
        for criterion in criteria:
            raw = self.points.get(criterion.id, "")
            if raw.strip():
                try:
                    total += services.parse_points(raw, criterion)
                except DomainError:
                    continue
        return total


class Fields:
    """The scorecard's inputs by name, each with its `errors`, so `show_domain_error` (which looks a
    field up with getattr) puts a refusal on the input it names; a name not on the page is flashed."""

    def __init__(self, criteria: list[Criterion]):
        names = ["overall_comment", "version"]
        for criterion in criteria:
            names += [f"points-{criterion.id}", f"comment-{criterion.id}"]
        self.__dict__["_fields"] = {name: SimpleNamespace(errors=[]) for name in names}

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def errors_of(self, name: str) -> list[str]:
        return self.__dict__["_fields"][name].errors if name in self.__dict__["_fields"] else []

    @property
    def any(self) -> bool:
        return any(field.errors for field in self.__dict__["_fields"].values())


def _row(criterion: Criterion, value) -> SimpleNamespace:
    return SimpleNamespace(
        criterion=criterion, points=value.points if value else None, comment=value.comment if value else ""
    )


def _render(
    assignment: Assignment,
    *,
    entered: Entered | None = None,
    fields: Fields | None = None,
    version: int | None = None,
    template: str = "scoring/scorecard.html",
    **extra,
):
    submission = assignment.submission
    round_ = submission.round
    rubric = _rubric(assignment)
    criteria = list(rubric.criteria) if rubric else []
    scorecard = services.scorecard_for(assignment)
    entered = entered or Entered.stored(scorecard)
    now = utcnow()
    context = project_context(submission, blind=is_blind_for(current_user, submission))
    if scorecard is not None:
        extra.setdefault("rows", [_row(criterion, scorecard.value_for(criterion)) for criterion in criteria])
    return render_template(
        template,
        **context,
        assignment=assignment,
        rubric=rubric,
        criteria=criteria,
        scorecard=scorecard,
        read_only=scorecard is not None and scorecard.is_submitted,
        entered=entered,
        fields=fields or Fields(criteria),
        version=version if version is not None else (scorecard.version if scorecard else 0),
        total=entered.total(criteria),
        overall_count=count_characters(services.clean_text(entered.overall)),
        plain=plain,
        time_left=_time_left(round_.judging_closes_at - now),
        comment_max=services.COMMENT_MAX,
        overall_max=services.OVERALL_MAX,
        reason_max=REASON_MAX,
        conflict_form=DeclareForm(),
        **extra,
    )


# --- reading what the judge sent -----------------------------------------------------------------


def _criterion_field(name: str, criteria: dict[int, Criterion]) -> int:
    """The criterion id of a field named points-<id> or comment-<id>; refused when the rubric has no
    such criterion."""
    _prefix, _dash, rest = name.partition("-")
    cid = int(rest) if rest.isascii() and rest.isdigit() and len(rest) < 10 else None
    if cid not in criteria:
        raise DomainError(
            _l("The form names a criterion that is not in this rubric (%(field)s); reload the page.", field=name[:40])
        )
    return cid


def _version(raw) -> int:
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise DomainError(PAGE_OUT_OF_DATE, field="version")
    return int(text)


def form_input(criteria: dict[int, Criterion]) -> services.ScoreInput:
    """The posted form as the service takes it; a field sent twice or naming a criterion outside
    the rubric is refused, naming the field."""
    form = request.form
    points: dict[int, str] = {}
    comments: dict[int, str] = {}
    for name in form:
        prefix = name.partition("-")[0]
        if prefix not in ("points", "comment"):
            continue
        cid = _criterion_field(name, criteria)
        values = form.getlist(name)
        if len(values) > 1:
            raise DomainError(
                _l("%(criterion)s was sent more than once (%(field)s); reload the page.",
                   criterion=criteria[cid].name, field=name),
                field=name,
            )  # fmt: skip
        (points if prefix == "points" else comments)[cid] = values[0]
    overall = form.getlist("overall_comment")
    if len(overall) > 1:
        raise DomainError(_l("The overall comment was sent more than once; reload the page."), field="overall_comment")
    return services.ScoreInput(points, comments, overall[0] if overall else "", _version(form.get("version")))


def json_input(payload, criteria: dict[int, Criterion]) -> services.ScoreInput:
    """The autosave body {version, points: {id: text}, comments: {id: text}, overall}."""
    if not isinstance(payload, dict):
        raise DomainError(PAGE_OUT_OF_DATE)
    version = payload.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise DomainError(PAGE_OUT_OF_DATE, field="version")
    maps = {}
    for key, prefix in (("points", "points"), ("comments", "comment")):
        raw = payload.get(key) or {}
        if not isinstance(raw, dict):
            raise DomainError(PAGE_OUT_OF_DATE)
        # a value that is not text (a JSON number, null…) is refused like any other malformed value
        maps[key] = {
            _criterion_field(f"{prefix}-{name}", criteria): value if isinstance(value, str) else "?"
            for name, value in raw.items()
        }
    overall = payload.get("overall", "")
    if not isinstance(overall, str):
        raise DomainError(PAGE_OUT_OF_DATE, field="overall_comment")
    return services.ScoreInput(maps["points"], maps["comments"], overall, version)


def _criteria(rubric: Rubric | None) -> dict[int, Criterion]:
    return {criterion.id: criterion for criterion in rubric.criteria} if rubric else {}


def _missing(fields: Fields, criteria: dict[int, Criterion], data: services.ScoreInput) -> None:
    """Mark each criterion without points (submitting needs all)."""
    for cid in criteria:
        if not (data.points.get(cid) or "").strip():
            getattr(fields, f"points-{cid}").errors.append(_("Please give points here before submitting."))


def _no_rubric(assignment: Assignment):
    flash(_("This round has no rubric yet; the organizers have been told."), "danger")
    return redirect(url_for("scoring.scorecard", assignment_id=assignment.id))


def _check_submit(assignment: Assignment, data: services.ScoreInput) -> DomainError | None:
    """Whether submitting `data` now would be accepted, without keeping anything (a dry run that
    is rolled back): the confirmation is only shown for a scorecard that can be submitted."""
    try:
        services.save(assignment, judge=_judge(), data=data, submit=True, now=utcnow())
    except DomainError as error:
        return error
    finally:
        db.session.rollback()
    return None


# --- the scorecard -------------------------------------------------------------------------------


@bp.route("/assignments/<int:assignment_id>", methods=["GET", "POST"])
@judge_request()
def scorecard(assignment_id: int):
    """The scorecard; its POST saves a draft (incomplete is fine) and shows the page again."""
    assignment = _assignment(assignment_id)
    if request.method == "GET":
        return _render(assignment)
    criteria = _criteria(_rubric(assignment))
    if not criteria:
        return _no_rubric(assignment)
    fields = Fields(list(criteria.values()))
    outcome = commit_or_show(
        fields,
        lambda: services.save(assignment, judge=_judge(), data=form_input(criteria), submit=False, now=utcnow()),
    )
    if outcome:
        flash(_("Your draft has been saved."), "success")
        return redirect(url_for("scoring.scorecard", assignment_id=assignment_id))
    return _render(
        assignment, entered=Entered.posted(list(criteria.values())), fields=fields,
        version=_posted_version(),
    )  # fmt: skip


def _posted_version() -> int | None:
    """The version the judge's page was based on: kept, so a stale page stays stale (no overwrite)."""
    try:
        return _version(request.form.get("version"))
    except DomainError:
        return None


@bp.post("/assignments/<int:assignment_id>/submit")
@judge_request()
def submit(assignment_id: int):
    """Save the input as a draft (nothing is lost if the judge stops here), check that it can be
    submitted and show the confirmation; a problem shows the scorecard again with the input."""
    assignment = _assignment(assignment_id)
    criteria = _criteria(_rubric(assignment))
    if not criteria:
        return _no_rubric(assignment)
    fields = Fields(list(criteria.values()))
    posted = Entered.posted(list(criteria.values()))
    try:
        data = form_input(criteria)
    except DomainError as error:
        show_domain_error(fields, error)
        return _render(assignment, entered=posted, fields=fields, version=_posted_version())
    outcome = commit_or_show(
        fields, lambda: services.save(assignment, judge=_judge(), data=data, submit=False, now=utcnow())
    )
    if not outcome:
        return _render(assignment, entered=posted, fields=fields, version=data.expected_version)
    data = replace(data, expected_version=outcome.value.version)
    problem = _check_submit(assignment, data)
    if problem is not None:
        flash(_("Your draft has been saved, but it cannot be submitted yet:"), "info")
        show_domain_error(fields, problem)
        _missing(fields, criteria, data)
        return _render(assignment, entered=posted, fields=fields, version=data.expected_version)
    return _confirmation(assignment, data)


def _confirmation(assignment: Assignment, data: services.ScoreInput):
    criteria = _criteria(_rubric(assignment))
    rows = [
        SimpleNamespace(criterion=criterion, points=services.parse_points(data.points[cid], criterion),
                        comment=services.clean_text(data.comments.get(cid)))
        for cid, criterion in criteria.items()
    ]  # fmt: skip
    return _render(
        assignment,
        template="scoring/confirm.html",
        entered=Entered(dict(data.points), dict(data.comments), data.overall_comment),
        version=data.expected_version,
        rows=rows,
        overall=services.clean_text(data.overall_comment),
    )


@bp.route("/assignments/<int:assignment_id>/confirm", methods=["GET", "POST"])
@judge_request()
def confirm(assignment_id: int):
    """GET: the confirmation of the stored draft. POST (from the confirmation, with the values and
    the version it showed): submit. A second identical POST changes nothing (idempotent)."""
    assignment = _assignment(assignment_id)
    criteria = _criteria(_rubric(assignment))
    if not criteria:
        return _no_rubric(assignment)
    back = redirect(url_for("scoring.scorecard", assignment_id=assignment_id))
    if request.method == "GET":
        stored = services.scorecard_for(assignment)
        if stored is None or stored.is_submitted:
            return back
        entered = Entered.stored(stored)
        data = services.ScoreInput(entered.points, entered.comments, entered.overall, stored.version)
        problem = _check_submit(assignment, data)
        if problem is not None:
            flash(str(problem.message), "danger")
            return back
        return _confirmation(assignment, data)
    fields = Fields(list(criteria.values()))
    project = assignment.submission.team.project_title
    outcome = commit_or_show(
        fields,
        lambda: services.save(assignment, judge=_judge(), data=form_input(criteria), submit=True, now=utcnow()),
    )
    if outcome:
        flash(_("Your scores for “%(project)s” have been submitted. Thank you.", project=project), "success")
        return back
    return _render(
        assignment, entered=Entered.posted(list(criteria.values())), fields=fields, version=_posted_version()
    )


@bp.post("/assignments/<int:assignment_id>/autosave")
@judge_request(json=True)
def autosave(assignment_id: int):
    """Save a draft from scorecard.js: {ok, version, saved_at, message} or {ok: false, error, field}."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is not None and not can_open_scorecard(current_user, assignment):
        _audit_refused_post(assignment)
    if assignment is None or not can_open_scorecard(current_user, assignment):
        return _json_error(404, _("This scorecard cannot be opened (it is not yours, or judging is closed)."), None)
    criteria = _criteria(_rubric(assignment))
    if not criteria:
        return _json_error(409, _("This round has no rubric yet; the organizers have been told."), None)
    stored = services.scorecard_for(assignment)
    if stored is not None and stored.is_submitted:
        return _json_error(
            409, _("You have submitted this scorecard; ask the organizers to reopen it to change it."), "state"
        )
    now = utcnow()
    try:
        data = json_input(request.get_json(silent=True), criteria)
    except DomainError as error:  # malformed: not a conflict, whatever the field
        return _json_error(422, str(error.message), error.field)
    try:
        saved = services.save(assignment, judge=_judge(), data=data, submit=False, now=now)
    except DomainError as error:
        db.session.rollback()
        return _json_error(409 if error.field == "version" else 422, str(error.message), error.field)
    db.session.commit()
    saved_at = format_datetime(now, "HH:mm")  # Beijing time (the app's time zone)
    return {
        "ok": True,
        "version": saved.version,
        "saved_at": saved_at,
        "message": _("Saved at %(time)s", time=saved_at),
        "total": plain(saved.total) if saved.total is not None else None,
    }


@bp.post("/assignments/<int:assignment_id>/reopen-request")
@judge_request()
def reopen_request(assignment_id: int):
    """The judge of a submitted scorecard asks the organizers to reopen it (with a reason)."""
    assignment = _assignment(assignment_id)
    stored = services.scorecard_for(assignment)
    back = redirect(url_for("scoring.scorecard", assignment_id=assignment_id))
    if stored is None:
        flash(_("This scorecard is still a draft; you can change it yourself."), "info")
        return back
    reason = request.form.get("reason", "")
    if len(reason.strip()) > REASON_MAX:
        flash(_("A reason has at most %(max)s characters.", max=REASON_MAX), "danger")
        return back
    commit_or_flash(
        lambda: services.request_reopen(stored, judge=_judge(), reason=reason, now=utcnow()),
        _("Your request has been recorded; the organizers will reopen the scorecard or get back to you."),
    )
    return back
