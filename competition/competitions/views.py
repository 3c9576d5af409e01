"""Public competition pages and the organizers' page of people and roles."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from competition.accounts import services as account_services
from competition.accounts.models import CompetitionRole
from competition.competitions import policies, services
from competition.competitions.forms import GrantRoleForm
from competition.competitions.models import Competition
from competition.core.errors import DomainError
from competition.core.permissions import require
from competition.core.web import commit_or_show
from competition.extensions import db
from competition.institutions.models import Institution
from competition.institutions.services import institutions_by_side

bp = Blueprint("competitions", __name__, url_prefix="/competitions")


def _load(code: str) -> Competition:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # A draft is invisible to outsiders: 404, not 403.
    require(competition is not None and policies.can_view_competition(current_user, competition), hide=True)
    return competition


@bp.get("/<code>")
def detail(code: str):
    competition = _load(code)
    return render_template("competitions/detail.html", competition=competition)


@bp.get("/<code>/logo")
def logo(code: str):
    """The competition's logo, for whoever may see the competition (a draft's only to its managers)."""
    competition = _load(code)
    found = services.logo_file(competition)
    if found is None:
        abort(404)
    path, mimetype = found
    response = send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not competition.is_public:
        response.cache_control.public = False
        response.cache_control.private = True
    return response


def _grant_form() -> GrantRoleForm:
    form = GrantRoleForm()
    form.institution.choices = [SelectChoice("", "—")] + [
        SelectChoice(inst.id, f"{inst.code} {inst.name}") for group in institutions_by_side().values() for inst in group
    ]
    return form


@bp.route("/<code>/people", methods=["GET", "POST"])
@login_required
def people(code: str):
    competition = _load(code)
    require(policies.can_manage_roles(current_user, competition))
    form = _grant_form()
    if form.validate_on_submit():
        user = account_services.find_user_by_email(form.email.data)
        institution = db.session.get(Institution, form.institution.data) if form.institution.data else None

        def grant_role():
            if user is None:
                raise DomainError(_("Nobody has registered with this e-mail address yet."), field="email")
            return account_services.grant_role(
                actor=current_user, user=user, competition=competition, role=form.role_value(), institution=institution
            )

        if granted := commit_or_show(form, grant_role):
            flash(
                _("%(name)s now holds the role %(role)s.", name=user.real_name, role=granted.value.role_label),
                "success",
            )
            return redirect(url_for("competitions.people", code=code))
    grants = db.session.scalars(
        select(CompetitionRole)
        .where(CompetitionRole.competition_id == competition.id)
        .options(selectinload(CompetitionRole.user), selectinload(CompetitionRole.institution))
        .order_by(CompetitionRole.role, CompetitionRole.id)
    ).all()
    return render_template("competitions/people.html", competition=competition, grants=grants, form=form)


@bp.post("/<code>/people/<int:grant_id>/revoke")
@login_required
def revoke(code: str, grant_id: int):
    competition = _load(code)
    require(policies.can_manage_roles(current_user, competition))
    grant = db.session.get(CompetitionRole, grant_id)
    require(grant is not None and grant.competition_id == competition.id, hide=True)
    account_services.revoke_role(actor=current_user, grant=grant)
    db.session.commit()
    flash(_("The role has been removed."), "success")
    return redirect(url_for("competitions.people", code=code))
