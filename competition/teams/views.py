"""Students' team pages: create, edit, invite, join, advisors, submit, withdraw."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from competition.accounts.views import SIDE_LABELS
from competition.competitions.models import Competition, Track
from competition.competitions.policies import can_view_competition
from competition.core.permissions import require
from competition.core.time import utcnow
from competition.core.web import commit_or_flash, commit_or_show
from competition.extensions import db, limiter
from competition.institutions.models import Institution
from competition.institutions.services import institutions_by_side
from competition.teams import forms, policies, queries, services
from competition.teams.models import Advisor, TeamMember
from competition.teams.rules import MemberProfile

bp = Blueprint("teams", __name__, url_prefix="/teams")


# --- helpers ------------------------------------------------------------------------------------


def _institution_choices(*, optional: bool = False) -> list[SelectChoice]:
    choices = [SelectChoice("", "—")] if optional else []
    return choices + [
        SelectChoice(inst.id, inst.name, optgroup=str(SIDE_LABELS[side]))
        for side, institutions in institutions_by_side().items()
        for inst in institutions
    ]


def _track_choices(competition: Competition) -> list[SelectChoice]:
    return [SelectChoice(track.id, track.name) for track in competition.tracks]


#: service field names -> form field names
PROFILE_ALIASES = {"institution": "member_institution"}


def _profile_from(form) -> MemberProfile:
    return MemberProfile(
        real_name=form.real_name.data,
        student_number=form.student_number.data,
        institution=db.session.get(Institution, form.member_institution.data),
        department=form.department.data,
        major=form.major.data,
        degree_level=form.degree_level.data,
        enrollment_year=form.enrollment_year.data,
        graduation_year=form.graduation_year.data,
        phone=form.phone.data,
        national_id=form.national_id.data if form.national_id is not None else None,
        national_id_consent=bool(form.national_id_consent.data) if form.national_id_consent is not None else False,
    )


def _national_id_field(form, competition: Competition) -> None:
    """The national ID box only where the competition's rules require one; a number posted anyway
    is then ignored. It is never filled in (NeverFilledInput)."""
    if not competition.requires_national_id:
        del form.national_id
        del form.national_id_consent


def _prefill_profile(form, source: TeamMember | None) -> None:
    """Fill an empty profile form from the person's latest membership, or from their account."""
    if request.method != "GET":
        return
    form.real_name.data = source.real_name if source else current_user.real_name
    form.member_institution.data = source.institution_id if source else current_user.institution_id
    form.phone.data = (source.phone if source else current_user.phone) or ""
    if source is not None:
        for field in ("student_number", "department", "major", "degree_level", "enrollment_year", "graduation_year"):
            getattr(form, field).data = getattr(source, field)


def _latest_membership(user) -> TeamMember | None:
    return db.session.scalar(
        select(TeamMember).where(TeamMember.user_id == user.id).order_by(TeamMember.id.desc()).limit(1)
    )


def _load_team(team_id: int):
    team = queries.team_with_people(team_id)
    require(team is not None and policies.can_view_team(current_user, team), hide=True)
    return team


def _back(team) -> str:
    return url_for("teams.detail", team_id=team.id)


# --- my teams, create, view, edit ---------------------------------------------------------------


@bp.get("/")
@login_required
def mine():
    return render_template("teams/mine.html", teams=queries.teams_of_user(current_user))


@bp.route("/new/<code>", methods=["GET", "POST"])
@login_required
def create(code: str):
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    if not policies.can_create_team(current_user, competition):
        flash(_("Registration for this competition is closed; teams cannot be created or changed now."), "warning")
        return redirect(url_for("competitions.detail", code=code))
    form = forms.CreateTeamForm()
    form.track.choices = _track_choices(competition)
    form.institution.choices = form.member_institution.choices = _institution_choices()
    _national_id_field(form, competition)
    if request.method == "GET":
        form.institution.data = current_user.institution_id
    _prefill_profile(form, _latest_membership(current_user))
    if form.validate_on_submit() and (
        created := commit_or_show(
            form,
            lambda: services.create_team(
                actor=current_user,
                competition=competition,
                track=db.session.get(Track, form.track.data),
                institution=db.session.get(Institution, form.institution.data),
                name=form.name.data,
                project_title=form.project_title.data,
                profile=_profile_from(form),
                now=utcnow(),
            ),
            aliases=PROFILE_ALIASES,
        )
    ):
        flash(_("Your team has been created. Invite your members with the link below."), "success")
        return redirect(_back(created.value))
    return render_template("teams/create.html", form=form, competition=competition)


@bp.get("/<int:team_id>")
@login_required
def detail(team_id: int):
    team = _load_team(team_id)
    return render_template(
        "teams/detail.html",
        team=team,
        me=team.member_for(current_user),
        invite_form=forms.InviteForm(),
        reason_form=forms.ReasonForm(),
        approve_form=forms.ApproveForm(),
        join_url=url_for("teams.join", code=team.invite_code, _external=True),
    )


@bp.route("/<int:team_id>/edit", methods=["GET", "POST"])
@login_required
def edit(team_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    form = forms.EditTeamForm(obj=team) if request.method == "GET" else forms.EditTeamForm()
    form.track.choices = _track_choices(team.competition)
    form.institution.choices = _institution_choices()
    if request.method == "GET":
        form.track.data, form.institution.data = team.track_id, team.institution_id
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.update_team(
            team,
            actor=current_user,
            name=form.name.data,
            project_title=form.project_title.data,
            track=db.session.get(Track, form.track.data),
            institution=db.session.get(Institution, form.institution.data),
            now=utcnow(),
        ),
    ):
        flash(_("The team has been saved."), "success")
        return redirect(_back(team))
    return render_template("teams/edit.html", form=form, team=team)


@bp.route("/<int:team_id>/members/<int:member_id>/profile", methods=["GET", "POST"])
@login_required
def member_profile(team_id: int, member_id: int):
    team = _load_team(team_id)
    member = db.session.get(TeamMember, member_id)
    require(member is not None and member.team_id == team.id, hide=True)
    require(member.user_id == current_user.id or policies.can_lead_team(current_user, team))
    form = forms.MemberProfileForm()
    form.member_institution.choices = _institution_choices()
    _national_id_field(form, team.competition)
    _prefill_profile(form, member)
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.update_member_profile(
            team, member, actor=current_user, profile=_profile_from(form), now=utcnow()
        ),
        aliases=PROFILE_ALIASES,
    ):
        flash(_("The member's details have been saved."), "success")
        return redirect(_back(team))
    return render_template("teams/member_profile.html", form=form, team=team, member=member)


# --- inviting and joining -----------------------------------------------------------------------


@bp.post("/<int:team_id>/invite")
@login_required
def invite(team_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    form = forms.InviteForm()
    if not form.validate_on_submit():
        flash(" ".join(form.email.errors) or _("Please enter a valid e-mail address."), "danger")
        return redirect(_back(team))
    commit_or_flash(
        lambda: services.invite_by_email(team, actor=current_user, email=form.email.data, now=utcnow()),
        _("The invitation has been sent to %(email)s.", email=form.email.data),
    )
    return redirect(_back(team))


@bp.post("/<int:team_id>/invite-code")
@login_required
def regenerate_code(team_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    commit_or_flash(
        lambda: services.regenerate_invite_code(team, actor=current_user),
        _("A new invitation link has been made; the old one no longer works."),
    )
    return redirect(_back(team))


@bp.post("/<int:team_id>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(team_id: int, invitation_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    invitation = next((inv for inv in team.invitations if inv.id == invitation_id), None)
    require(invitation is not None, hide=True)
    commit_or_flash(
        lambda: services.revoke_invitation(invitation, actor=current_user),
        _("The invitation has been withdrawn."),
    )
    return redirect(_back(team))


def _not_found(response) -> bool:
    return response.status_code == 404


def _join_limit() -> str:
    return current_app.config["INVITE_CODE_LIMIT"]


@bp.route("/join/<code>", methods=["GET", "POST"])
@limiter.limit(_join_limit, deduct_when=_not_found)
@login_required
def join(code: str):
    """Join by the team's link. Wrong codes are throttled, so 100 guesses get 429s."""
    team = services.team_for_invite_code(code)
    require(team is not None, hide=True)
    form = forms.MemberProfileForm()
    form.member_institution.choices = _institution_choices()
    _national_id_field(form, team.competition)
    _prefill_profile(form, _latest_membership(current_user))
    if request.method == "GET" and form.member_institution.data is None:
        form.member_institution.data = team.institution_id
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.join_team(team, user=current_user, profile=_profile_from(form), now=utcnow()),
        aliases=PROFILE_ALIASES,
    ):
        flash(_("Welcome to %(team)s.", team=team.name), "success")
        return redirect(_back(team))
    return render_template("teams/join.html", form=form, team=team, action=url_for("teams.join", code=code))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit(_join_limit, deduct_when=_not_found)
@login_required
def invitation(token: str):
    found = services.invitation_for_token(token)
    require(found is not None, hide=True)
    team = found.team
    form = forms.MemberProfileForm()
    form.member_institution.choices = _institution_choices()
    _national_id_field(form, team.competition)
    _prefill_profile(form, _latest_membership(current_user))
    if request.method == "GET" and form.member_institution.data is None:
        form.member_institution.data = team.institution_id
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.accept_invitation(found, user=current_user, profile=_profile_from(form), now=utcnow()),
        aliases=PROFILE_ALIASES,
    ):
        flash(_("Welcome to %(team)s.", team=team.name), "success")
        return redirect(_back(team))
    return render_template(
        "teams/join.html",
        form=form,
        team=team,
        invitation=found,
        action=url_for("teams.invitation", token=token),
        decline_action=url_for("teams.decline_invitation", token=token),
    )


@bp.post("/invitations/<token>/decline")
@limiter.limit(_join_limit, deduct_when=_not_found)
@login_required
def decline_invitation(token: str):
    found = services.invitation_for_token(token)
    require(found is not None, hide=True)
    if commit_or_flash(
        lambda: services.decline_invitation(found, user=current_user, now=utcnow()),
        _("You have declined the invitation."),
        category="info",
    ):
        return redirect(url_for("teams.mine"))
    return redirect(url_for("teams.invitation", token=token))


# --- members ------------------------------------------------------------------------------------


def _member_of(team, member_id: int) -> TeamMember:
    member = next((m for m in team.members if m.id == member_id), None)
    require(member is not None, hide=True)
    return member


@bp.post("/<int:team_id>/members/<int:member_id>/remove")
@login_required
def remove_member(team_id: int, member_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    member = _member_of(team, member_id)
    commit_or_flash(
        lambda: services.remove_member(team, member, actor=current_user, now=utcnow()),
        _("%(name)s has been removed from the team.", name=member.real_name),
    )
    return redirect(_back(team))


@bp.post("/<int:team_id>/members/<int:member_id>/lead")
@login_required
def transfer_leadership(team_id: int, member_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    member = _member_of(team, member_id)
    commit_or_flash(
        lambda: services.transfer_leadership(team, member, actor=current_user, now=utcnow()),
        _("%(name)s now leads the team.", name=member.real_name),
    )
    return redirect(_back(team))


@bp.post("/<int:team_id>/leave")
@login_required
def leave(team_id: int):
    team = _load_team(team_id)
    if commit_or_flash(
        lambda: services.leave_team(team, user=current_user, now=utcnow()),
        _("You have left %(team)s.", team=team.name),
        category="info",
    ):
        return redirect(url_for("teams.mine"))
    return redirect(_back(team))


# --- advisors -----------------------------------------------------------------------------------


def _advisor_form(advisor: Advisor | None) -> forms.AdvisorForm:
    form = forms.AdvisorForm(obj=advisor) if request.method == "GET" and advisor else forms.AdvisorForm()
    form.institution.choices = _institution_choices(optional=True)
    if request.method == "GET" and advisor is not None:
        form.institution.data = advisor.institution_id
    return form


@bp.route("/<int:team_id>/advisors/new", methods=["GET", "POST"])
@bp.route("/<int:team_id>/advisors/<int:advisor_id>", methods=["GET", "POST"])
@login_required
def advisor(team_id: int, advisor_id: int | None = None):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    existing = None
    if advisor_id is not None:
        existing = next((a for a in team.advisors if a.id == advisor_id), None)
        require(existing is not None, hide=True)
    form = _advisor_form(existing)
    if form.validate_on_submit():
        values = {
            "name": form.name.data,
            "title": form.title.data or "",
            "institution": db.session.get(Institution, form.institution.data) if form.institution.data else None,
            "email": form.email.data or None,
            "phone": form.phone.data or None,
            "now": utcnow(),
        }
        if commit_or_show(
            form,
            lambda: (
                services.add_advisor(team, actor=current_user, **values)
                if existing is None
                else services.update_advisor(existing, actor=current_user, **values)
            ),
        ):
            flash(_("The advisor has been saved."), "success")
            return redirect(_back(team))
    return render_template("teams/advisor.html", form=form, team=team, advisor=existing)


@bp.post("/<int:team_id>/advisors/<int:advisor_id>/remove")
@login_required
def remove_advisor(team_id: int, advisor_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    existing = next((a for a in team.advisors if a.id == advisor_id), None)
    require(existing is not None, hide=True)
    commit_or_flash(
        lambda: services.remove_advisor(existing, actor=current_user, now=utcnow()),
        _("The advisor has been removed."),
    )
    return redirect(_back(team))


# --- submit and withdraw ------------------------------------------------------------------------


@bp.post("/<int:team_id>/submit")
@login_required
def submit(team_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    commit_or_flash(
        lambda: services.submit_for_review(team, actor=current_user, now=utcnow()),
        _("The team has been submitted for review by %(institution)s.", institution=team.institution.name),
    )
    return redirect(_back(team))


@bp.post("/<int:team_id>/withdraw")
@login_required
def withdraw(team_id: int):
    team = _load_team(team_id)
    require(policies.can_lead_team(current_user, team))
    form = forms.ReasonForm()
    form.validate()
    commit_or_flash(
        lambda: services.withdraw(team, actor=current_user, reason=form.reason.data),
        _("The team has withdrawn from the competition."),
    )
    return redirect(_back(team))
