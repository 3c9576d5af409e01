"""Teams to and from Excel: export (.xlsx, .csv), the import template, and the import."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from competition.competitions.models import Competition
from competition.competitions.policies import can_view_competition
from competition.core.permissions import require
from competition.core.web import accepts_uploads
from competition.extensions import csrf, db
from competition.institutions.models import Institution
from competition.teams import excel
from competition.teams.policies import can_import_teams, can_list_teams, reviewable_institution_ids

bp = Blueprint("team_excel", __name__, url_prefix="/competitions/<code>/teams")

#: room for the multipart envelope and the CSRF field around the file itself
_FORM_OVERHEAD = 64 * 1024
#: the memory the multipart parser may hold at once; must exceed its 64 KB read size
_FIELD_MEMORY = 256 * 1024


class ImportForm(FlaskForm):
    file = FileField(
        _l("Excel file (.xlsx, at most 5 MB, at most 5000 rows)"),
        validators=[FileRequired(message=_l("Please choose an .xlsx file."))],
        render_kw={"accept": ".xlsx," + excel.XLSX_MIMETYPE},
    )


def _load(code: str) -> Competition:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    return competition


def _download(data: bytes, name: str, mimetype: str):
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a cache
    return response


@bp.get("/export.xlsx")
@login_required
def export_xlsx(code: str):
    competition = _load(code)
    require(can_list_teams(current_user, competition))
    data = excel.export_xlsx(competition, reviewable_institution_ids(current_user, competition))
    return _download(data, f"{competition.code}-团队名单.xlsx", excel.XLSX_MIMETYPE)


@bp.get("/export.csv")
@login_required
def export_csv(code: str):
    competition = _load(code)
    require(can_list_teams(current_user, competition))
    data = excel.export_csv(competition, reviewable_institution_ids(current_user, competition))
    return _download(data, f"{competition.code}-团队名单.csv", "text/csv; charset=utf-8")


@bp.get("/import-template.xlsx")
@login_required
def import_template(code: str):
    competition = _load(code)
    require(can_import_teams(current_user, competition))
    return _download(excel.build_template(competition), f"{competition.code}-团队导入模板.xlsx", excel.XLSX_MIMETYPE)


def _render(competition: Competition, form: ImportForm, problems=(), status: int = 200):
    scope = reviewable_institution_ids(current_user, competition)
    institutions = (
        db.session.scalars(select(Institution).where(Institution.id.in_(scope)).order_by(Institution.code)).all()
        if scope is not None
        else None
    )
    return (
        render_template(
            "teams/import.html",
            competition=competition,
            form=form,
            problems=problems,
            columns=excel.COLUMNS,
            scope_institutions=institutions,
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
def import_teams(code: str):
    competition = _load(code)
    require(can_import_teams(current_user, competition))
    form = ImportForm(formdata=None)
    if request.method == "POST":
        # an oversized upload is refused from its declared length, before its body is read
        limit = excel.MAX_UPLOAD_BYTES + _FORM_OVERHEAD
        if (request.content_length or 0) > limit:
            return _render(competition, form, _too_large(), 413)
        request.max_content_length = limit
        # werkzeug reads the body in 64 KB chunks and holds a chunk plus a tail in memory at once
        request.max_form_memory_size = _FIELD_MEMORY
        try:
            if current_app.config["WTF_CSRF_ENABLED"]:
                csrf.protect()
            form = ImportForm()
        except RequestEntityTooLarge:  # a body without a declared length that turned out too large
            return _render(competition, form, _too_large(), 413)
    if not form.validate_on_submit():
        return _render(competition, form)
    upload = form.file.data
    scope = reviewable_institution_ids(current_user, competition)
    result = excel.validate_import(competition, upload.stream, current_user, scope)
    if isinstance(result, list):
        db.session.rollback()
        return _render(competition, form, result)
    try:
        summary = excel.apply_import(result, current_user, filename=(upload.filename or "")[:200] or None)
        db.session.commit()
    except IntegrityError:
        # someone registered a clashing team or account between the check and the import
        db.session.rollback()
        current_app.logger.info("team import lost a race", exc_info=True)
        problem = excel.Problem(
            None,
            None,
            _l(
                "Something changed while the file was imported (for example, a team name was taken at the same "
                "moment); nothing was imported. Please upload the file again."
            ),
        )
        return _render(competition, form, [problem], 409)
    flash(
        _(
            "Imported %(teams)s team(s) with %(people)s people; %(accounts)s new student account(s) were created.",
            teams=summary.teams,
            people=summary.people,
            accounts=summary.new_accounts,
        ),
        "success",
    )
    return redirect(url_for("team_excel.import_teams", code=competition.code))
