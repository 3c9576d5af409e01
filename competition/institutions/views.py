"""Admins add and edit institutions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from competition.accounts.policies import can_view_admin
from competition.core.permissions import require
from competition.core.web import commit_or_show
from competition.extensions import db
from competition.institutions import services
from competition.institutions.forms import SIDE_CHOICE_LABELS, InstitutionForm, SideFilterForm
from competition.institutions.models import Institution

bp = Blueprint("institutions", __name__, url_prefix="/admin/institutions")
PER_PAGE = 50


@bp.before_request
@login_required
def require_admin():
    require(can_view_admin(current_user))


@bp.get("/")
def index():
    form = SideFilterForm(formdata=request.args)
    side = form.side.data if form.validate() and form.side.data else None
    statement = select(Institution).order_by(Institution.side.desc(), Institution.code)
    if side:
        statement = statement.where(Institution.side == side)
    page = db.paginate(statement, per_page=PER_PAGE, error_out=False)
    return render_template(
        "institutions/index.html", page=page, form=form, side=side or "", side_labels=SIDE_CHOICE_LABELS
    )


def _details(form: InstitutionForm) -> services.InstitutionDetails:
    return services.InstitutionDetails(
        code=form.code.data or "",
        name_zh=form.name_zh.data or "",
        name_en=form.name_en.data or "",
        city_zh=form.city_zh.data or "",
        city_en=form.city_en.data or "",
        side=form.side.data or "",
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = InstitutionForm()
    if form.validate_on_submit() and (
        created := commit_or_show(form, lambda: services.create_institution(actor=current_user, details=_details(form)))
    ):
        flash(_("The institution %(name)s has been added.", name=created.value.name), "success")
        return redirect(url_for("institutions.index"))
    return render_template("institutions/form.html", form=form, institution=None)


@bp.route("/<int:institution_id>/edit", methods=["GET", "POST"])
def edit(institution_id: int):
    institution = db.get_or_404(Institution, institution_id)
    form = InstitutionForm(obj=institution) if request.method == "GET" else InstitutionForm()
    if form.validate_on_submit() and commit_or_show(
        form, lambda: services.update_institution(institution, actor=current_user, details=_details(form))
    ):
        flash(_("The institution %(name)s has been saved.", name=institution.name), "success")
        return redirect(url_for("institutions.index", side=institution.side))
    return render_template("institutions/form.html", form=form, institution=institution)
