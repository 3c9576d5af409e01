"""The expert pool's pages (list, add, edit, invite, Excel import and export) for those who manage
it; the mentoring requests of a signed-in expert; a team leader's request for a mentor."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from competition.accounts.views import SIDE_LABELS
from competition.core.permissions import require
from competition.core.web import accepts_uploads, commit_or_flash, commit_or_show
from competition.experts import excel, forms, policies, services
from competition.experts.models import EXPERT_KIND_LABELS, Expert, Mentorship, MentorshipState
from competition.extensions import csrf, db
from competition.institutions.models import Institution
from competition.institutions.services import institutions_by_side
from competition.judging.models import RoundJudge
from competition.rounds.models import Round
from competition.teams import queries as team_queries
from competition.teams.models import Team, TeamState
from competition.teams.policies import can_view_team

bp = Blueprint("experts", __name__, url_prefix="/experts")
PER_PAGE = 30

#: room for the multipart envelope and the CSRF field around the file itself
_FORM_OVERHEAD = 64 * 1024
#: the memory the multipart parser may hold at once; must exceed its 64 KB read size
_FIELD_MEMORY = 256 * 1024

MENTORSHIP_STATE_LABELS = {
    MentorshipState.REQUESTED.value: _l("Waiting for an answer"),
    MentorshipState.ACCEPTED.value: _l("Accepted"),
    MentorshipState.DECLINED.value: _l("Declined"),
    MentorshipState.ENDED.value: _l("Ended"),
}


# --- helpers --------------------------------------------------------------------------------------


def _require_manager() -> None:
    require(policies.can_manage_experts(current_user))


def _load_expert(expert_id: int) -> Expert:
    _require_manager()
    expert = db.session.get(Expert, expert_id)
    require(expert is not None, hide=True)
    return expert


def _institution_choices() -> list[SelectChoice]:
    return [SelectChoice("", "—")] + [
        SelectChoice(inst.id, f"{inst.name} ({inst.code})", optgroup=str(SIDE_LABELS[side]))
        for side, institutions in institutions_by_side().items()
        for inst in institutions
    ]


def _chosen_institution(form) -> Institution | None | bool:
    """The institution chosen, None for none, False for an unknown one (an error is added)."""
    if form.institution.data is None:
        return None
    institution = db.session.get(Institution, form.institution.data)
    if institution is None:
        form.institution.errors = [*form.institution.errors, _("Please choose one of the listed institutions.")]
        return False
    return institution


def _download(data: bytes, name: str):
    response = send_file(io.BytesIO(data), mimetype=excel.XLSX_MIMETYPE, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a cache
    return response


@bp.app_template_global("mentorship_state_label")
def mentorship_state_label(state: str) -> str:
    return str(MENTORSHIP_STATE_LABELS.get(state, state))


# --- the pool -------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    _require_manager()
    form = forms.PoolFilterForm(request.args)
    tags = services.known_tags()
    form.tag.choices = [SelectChoice("", _("All expertise"))] + [SelectChoice(tag, tag) for tag in tags]
    form.validate()
    filters = services.PoolFilters(
        q=(form.q.data or "").strip()[:100] or None,
        side=form.side.data if form.side.data in SIDE_LABELS else None,
        kind=form.kind.data if form.kind.data in {kind.value for kind in EXPERT_KIND_LABELS} else None,
        tag=form.tag.data if form.tag.data in tags else None,
        mentors={"yes": True, "no": False}.get(form.mentors.data or ""),
    )
    page = db.paginate(services.pool_query(filters), per_page=PER_PAGE, error_out=False)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("experts/index.html", form=form, page=page, filter_args=args, side_labels=SIDE_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    _require_manager()
    form = forms.NewExpertForm()
    form.institution.choices = _institution_choices()
    if form.validate_on_submit() and (institution := _chosen_institution(form)) is not False:
        created = commit_or_show(
            form,
            lambda: services.create_expert(
                actor=current_user,
                email=form.email.data,
                profile=form.profile(institution),
                locale=form.locale.data,
                invite=form.invite.data,
            ),
        )
        if created:
            message = (
                _("The expert has been added and the invitation sent.")
                if form.invite.data
                else _("The expert has been added.")
            )
            flash(message, "success")
            return redirect(url_for("experts.detail", expert_id=created.value.id))
    return render_template("experts/new.html", form=form)


@bp.route("/<int:expert_id>", methods=["GET", "POST"])
@login_required
def detail(expert_id: int):
    expert = _load_expert(expert_id)
    form = forms.EditExpertForm(obj=expert) if request.method == "GET" else forms.EditExpertForm()
    form.institution.choices = _institution_choices()
    if request.method == "GET":
        form.real_name.data = expert.user.real_name
        form.institution.data = expert.institution_id
        form.expertise.data = ", ".join(expert.expertise or ())
    if (
        form.validate_on_submit()
        and (institution := _chosen_institution(form)) is not False
        and commit_or_show(
            form, lambda: services.update_expert(expert, actor=current_user, profile=form.profile(institution))
        )
    ):
        flash(_("The expert's profile has been saved."), "success")
        return redirect(url_for("experts.detail", expert_id=expert.id))
    rounds = db.session.scalars(
        select(Round).join(RoundJudge, RoundJudge.round_id == Round.id).where(RoundJudge.user_id == expert.user_id)
    ).all()
    return render_template(
        "experts/detail.html",
        expert=expert,
        form=form,
        mentorships=services.mentorships_of_expert(expert),
        rounds=rounds,
        last_invited=services.last_invitation(expert),
    )


@bp.post("/<int:expert_id>/invite")
@login_required
def invite(expert_id: int):
    expert = _load_expert(expert_id)
    commit_or_flash(
        lambda: services.invite_expert(expert, actor=current_user),
        _("The invitation has been sent to %(email)s.", email=expert.user.email),
    )
    return redirect(url_for("experts.detail", expert_id=expert.id))


# --- Excel ----------------------------------------------------------------------------------------


@bp.get("/export.xlsx")
@login_required
def export_xlsx():
    _require_manager()
    return _download(excel.export_xlsx(), "专家库.xlsx")


@bp.get("/import-template.xlsx")
@login_required
def import_template():
    _require_manager()
    return _download(excel.build_template(), "专家导入模板.xlsx")


def _render_import(form, problems=(), status: int = 200):
    return (
        render_template(
            "experts/import.html",
            form=form,
            problems=problems,
            columns=excel.COLUMNS,
            max_mb=excel.MAX_UPLOAD_BYTES // 2**20,
            max_rows=excel.MAX_ROWS,
        ),
        status,
    )


def _too_large() -> list[excel.Problem]:
    return [
        excel.Problem(
            None,
            None,
            _l(
                "The file is larger than %(max)s MB; please split it into several files.",
                max=excel.MAX_UPLOAD_BYTES // 2**20,
            ),
        )
    ]


@bp.route("/import", methods=["GET", "POST"])
@csrf.exempt  # checked below, once this upload's limits are set: the global check would read the body first
@accepts_uploads
@login_required
def import_experts():
    _require_manager()
    form = forms.ImportForm(formdata=None)
    if request.method == "POST":
        # an oversized upload is refused from its declared length, before its body is read
        limit = excel.MAX_UPLOAD_BYTES + _FORM_OVERHEAD
        if (request.content_length or 0) > limit:
            return _render_import(form, _too_large(), 413)
        request.max_content_length = limit
        request.max_form_memory_size = _FIELD_MEMORY
        try:
            if current_app.config["WTF_CSRF_ENABLED"]:
                csrf.protect()
            form = forms.ImportForm()
        except RequestEntityTooLarge:  # a body without a declared length that turned out too large
            return _render_import(form, _too_large(), 413)
    if not form.validate_on_submit():
        return _render_import(form)
    upload = form.file.data
    result = excel.validate_import(upload.stream)
    if isinstance(result, list):
        db.session.rollback()
        return _render_import(form, result)
    try:
        summary = excel.apply_import(
            result, current_user, filename=(upload.filename or "")[:200] or None, invite=form.invite.data
        )
        db.session.commit()
    except IntegrityError:
        # someone added a clashing account or expert between the check and the import
        db.session.rollback()
        current_app.logger.info("expert import lost a race", exc_info=True)
        problem = excel.Problem(
            None,
            None,
            _l(
                "Something changed while the file was imported (for example, an address was added to the pool "
                "at the same moment); nothing was imported. Please upload the file again."
            ),
        )
        return _render_import(form, [problem], 409)
    flash(
        _(
            "Imported %(experts)s expert(s); %(accounts)s new account(s) were created and %(invited)s invitation(s) "
            "sent.",
            experts=summary.experts,
            accounts=summary.new_accounts,
            invited=summary.invited,
        ),
        "success",
    )
    return redirect(url_for("experts.index"))


# --- mentoring ------------------------------------------------------------------------------------


@bp.get("/mentoring")
@login_required
def mentoring():
    expert = services.expert_for_user(current_user)
    mentorships = services.mentorships_of_expert(expert) if expert else []
    return render_template(
        "experts/mentoring.html",
        expert=expert,
        waiting=[m for m in mentorships if m.state == MentorshipState.REQUESTED],
        accepted=[m for m in mentorships if m.state == MentorshipState.ACCEPTED],
        earlier=[m for m in mentorships if m.state in (MentorshipState.DECLINED, MentorshipState.ENDED)],
        answer_form=forms.AnswerForm(),
    )


def _load_mentorship(mentorship_id: int, allowed) -> Mentorship:
    mentorship = db.session.get(Mentorship, mentorship_id)
    require(mentorship is not None and allowed(current_user, mentorship), hide=True)
    return mentorship


@bp.post("/mentorships/<int:mentorship_id>/answer")
@login_required
def answer(mentorship_id: int):
    mentorship = _load_mentorship(mentorship_id, policies.can_answer_mentorship)
    form = forms.AnswerForm()
    if not form.validate_on_submit() or form.decision.data not in ("accept", "decline"):
        flash(_("Please choose Accept or Decline."), "danger")
        return redirect(url_for("experts.mentoring"))
    accept = form.decision.data == "accept"
    commit_or_flash(
        lambda: services.answer_mentorship(mentorship, actor=current_user, accept=accept),
        _("You now mentor the team “%(team)s”.", team=mentorship.team.name)
        if accept
        else _("You have declined the request of the team “%(team)s”.", team=mentorship.team.name),
    )
    return redirect(url_for("experts.mentoring"))


@bp.post("/mentorships/<int:mentorship_id>/end")
@login_required
def end_mentorship(mentorship_id: int):
    mentorship = _load_mentorship(mentorship_id, policies.can_end_mentorship)
    team = mentorship.team
    by_leader = team.leader_id == current_user.id
    message = (
        _("The request has been withdrawn.")
        if mentorship.state == MentorshipState.REQUESTED
        else _("The mentorship has ended.")
    )
    commit_or_flash(lambda: services.end_mentorship(mentorship, actor=current_user), message)
    if by_leader:
        return redirect(url_for("teams.detail", team_id=team.id, _anchor="mentors"))
    return redirect(url_for("experts.mentoring"))


# --- a team's mentors -----------------------------------------------------------------------------


def _load_team(team_id: int) -> Team:
    team = team_queries.team_with_people(team_id)
    require(team is not None and can_view_team(current_user, team), hide=True)
    return team


@bp.post("/teams/<int:team_id>/request")
@login_required
def request_mentor(team_id: int):
    team = _load_team(team_id)
    require(policies.can_request_mentor(current_user, team))
    back = url_for("teams.detail", team_id=team.id, _anchor="mentors")
    form = forms.MentorRequestForm()
    if not form.validate_on_submit():
        errors = [str(error) for error in (*form.expert.errors, *form.message.errors)]
        flash(" ".join(errors) or _("Please choose an expert."), "danger")
        return redirect(back)
    expert = db.session.get(Expert, form.expert.data)
    if expert is None:
        flash(_("Please choose an expert."), "danger")
        return redirect(back)
    commit_or_flash(
        lambda: services.request_mentor(team, expert, actor=current_user, message=form.message.data),
        _("Your request has been sent to %(name)s.", name=expert.user.real_name),
    )
    return redirect(back)


@bp.app_template_global("team_mentoring")
def team_mentoring(team: Team) -> dict:
    """For the team's page: its mentors, its requests, and for its leader the form to ask one."""
    mentorships = services.mentorships_of_team(team)
    panel = {
        "accepted": [m for m in mentorships if m.state == MentorshipState.ACCEPTED],
        "waiting": [m for m in mentorships if m.state == MentorshipState.REQUESTED],
        "earlier": [m for m in mentorships if m.state in (MentorshipState.DECLINED, MentorshipState.ENDED)],
        "form": None,
    }
    if policies.can_request_mentor(current_user, team) and team.state != TeamState.WITHDRAWN:
        tags = services.known_tags(mentors_only=True)
        tag_form = forms.MentorTagForm(request.args)
        tag_form.mentor_tag.choices = [SelectChoice("", _("All expertise"))] + [SelectChoice(t, t) for t in tags]
        tag = tag_form.mentor_tag.data if tag_form.mentor_tag.data in tags else None
        form = forms.MentorRequestForm(formdata=None)
        form.expert.choices = [SelectChoice("", _("— please choose —"))] + [
            SelectChoice(expert.id, _expert_label(expert)) for expert in services.mentor_candidates(team, tag)
        ]
        panel.update(form=form, tag_form=tag_form, tag=tag, candidates=len(form.expert.choices) - 1)
    return panel


def _expert_label(expert: Expert) -> str:
    parts = [expert.user.real_name, expert.title, expert.employer, expert.kind_label]
    label = " · ".join(part for part in parts if part)
    if expert.expertise:
        label += f" ({', '.join(expert.expertise)})"
    return label
