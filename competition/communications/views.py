"""Announcements (public list, organizers' editing) and bulk e-mails (compose → preview → confirm,
history). Views load, authorize, call one service and commit once."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from competition.communications import policies, services
from competition.communications.forms import AnnouncementForm, MailingForm, optional_int
from competition.communications.models import Announcement, Mailing
from competition.communications.segments import JUDGE_AUDIENCES, Audience, Segment, describe
from competition.competitions.models import Competition
from competition.core.errors import DomainError
from competition.core.permissions import require
from competition.core.time import utcnow
from competition.core.web import commit_or_flash, commit_or_show, show_domain_error
from competition.extensions import db
from competition.institutions.models import Institution
from competition.rounds.models import Round

bp = Blueprint("communications", __name__, url_prefix="/competitions/<code>")
#: announcements on the competition's own page
DETAIL_LIMIT = 3


def _competition(code: str) -> Competition:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # a draft competition (and so its announcements) is invisible to outsiders: 404, not 403
    require(competition is not None and policies.can_view_announcements(current_user, competition), hide=True)
    return competition


def _managed(code: str) -> Competition:
    competition = _competition(code)
    require(policies.can_manage_announcements(current_user, competition))
    return competition


def _announcement(competition: Competition, announcement_id: int) -> Announcement:
    announcement = db.session.get(Announcement, announcement_id)
    require(announcement is not None and announcement.competition_id == competition.id, hide=True)
    return announcement


@bp.app_template_global("latest_announcements")
def latest_announcements(competition: Competition) -> list[Announcement]:
    """The competition page's few announcements: pinned first, then the newest (published only)."""
    return services.announcements_of(competition, limit=DETAIL_LIMIT)


# --- announcements --------------------------------------------------------------------------------


@bp.get("/announcements")
def announcements(code: str):
    competition = _competition(code)
    manager = policies.can_manage_announcements(current_user, competition)
    rows = services.announcements_of(competition, include_unpublished=manager)
    return render_template(
        "communications/announcements.html", competition=competition, announcements=rows, manager=manager
    )


def _after_save(competition: Competition, announcement: Announcement, form: AnnouncementForm):
    if form.email_it.data and announcement.is_published:
        return redirect(url_for("communications.new_mailing", code=competition.code, announcement=announcement.id))
    return redirect(url_for("communications.announcements", code=competition.code))


@bp.route("/announcements/new", methods=["GET", "POST"])
@login_required
def new_announcement(code: str):
    competition = _managed(code)
    form = AnnouncementForm()
    if form.validate_on_submit():
        outcome = commit_or_show(
            form,
            lambda: services.create_announcement(competition, actor=current_user, data=form.data_input(), now=utcnow()),
        )
        if outcome:
            flash(_("The announcement has been saved."), "success")
            return _after_save(competition, outcome.value, form)
    return render_template(
        "communications/announcement_form.html", competition=competition, form=form, announcement=None
    )


@bp.route("/announcements/<int:announcement_id>/edit", methods=["GET", "POST"])
@login_required
def edit_announcement(code: str, announcement_id: int):
    competition = _managed(code)
    announcement = _announcement(competition, announcement_id)
    form = AnnouncementForm(obj=announcement)
    if request.method == "GET":
        form.published.data = announcement.is_published
    if form.validate_on_submit():
        outcome = commit_or_show(
            form,
            lambda: services.update_announcement(
                announcement, actor=current_user, data=form.data_input(), now=utcnow()
            ),
        )
        if outcome:
            flash(_("The announcement has been saved."), "success")
            return _after_save(competition, announcement, form)
    return render_template(
        "communications/announcement_form.html", competition=competition, form=form, announcement=announcement
    )


def _toggle(code: str, announcement_id: int, action, message: str):
    competition = _managed(code)
    announcement = _announcement(competition, announcement_id)
    commit_or_flash(lambda: action(announcement), message)
    return redirect(url_for("communications.announcements", code=competition.code))


@bp.post("/announcements/<int:announcement_id>/pin")
@login_required
def pin_announcement(code: str, announcement_id: int):
    return _toggle(
        code,
        announcement_id,
        lambda a: services.set_pinned(a, actor=current_user, pinned=not a.pinned),
        _("The announcement's pin has been changed."),
    )


@bp.post("/announcements/<int:announcement_id>/publish")
@login_required
def publish_announcement(code: str, announcement_id: int):
    return _toggle(
        code,
        announcement_id,
        lambda a: services.set_published(a, actor=current_user, published=not a.is_published, now=utcnow()),
        _("The announcement's publication has been changed."),
    )


# --- bulk e-mails ---------------------------------------------------------------------------------


def _mailer(code: str) -> tuple[Competition, set[int] | None]:
    competition = _competition(code)
    require(policies.can_send_mailings(current_user, competition))
    return competition, policies.mailing_scope(current_user, competition)


def _mailing_form(competition: Competition, scope: set[int] | None) -> MailingForm:
    form = MailingForm()
    audiences = [a for a in Audience if scope is None or a not in JUDGE_AUDIENCES]
    institutions = db.session.scalars(
        select(Institution).where(Institution.id.in_(scope)) if scope is not None else select(Institution)
    ).all()
    rounds = (
        db.session.scalars(
            select(Round).where(Round.competition_id == competition.id).order_by(Round.position, Round.id)
        ).all()
        if scope is None
        else []
    )
    form.set_choices(
        audiences=audiences,
        tracks=competition.tracks,
        institutions=sorted(institutions, key=lambda inst: inst.code),
        rounds=rounds,
    )
    return form


def _segment(form: MailingForm, scope: set[int] | None) -> Segment:
    return Segment(
        audience=form.audience_value(),
        track_id=form.track.data,
        institution_id=form.institution.data,
        round_id=form.round.data,
        scope=frozenset(scope) if scope is not None else None,
    )


def _linked_announcement(competition: Competition, value) -> Announcement | None:
    announcement_id = optional_int(value)
    announcement = db.session.get(Announcement, announcement_id) if announcement_id else None
    if announcement is None or announcement.competition_id != competition.id:
        return None
    return announcement


def _compose(competition, form, announcement):
    return render_template(
        "communications/mailing_form.html", competition=competition, form=form, announcement=announcement
    )


def _preview(competition, form, segment, announcement):
    """The preview page, or the form again with the refusal shown."""
    try:
        result = services.preview(competition, segment=segment, draft=form.draft())
    except DomainError as error:
        show_domain_error(form, error)
        return _compose(competition, form, announcement)
    form.token.data = services.new_token()
    form.expected_count.data = str(result.count)
    return render_template(
        "communications/mailing_preview.html",
        competition=competition,
        form=form,
        preview=result,
        segment_label=describe(segment),
        announcement=announcement,
    )


@bp.route("/mailings/new", methods=["GET", "POST"])
@login_required
def new_mailing(code: str):
    competition, scope = _mailer(code)
    form = _mailing_form(competition, scope)
    if request.method == "GET":
        announcement = _linked_announcement(competition, request.args.get("announcement"))
        if announcement is not None:
            form.announcement.data = str(announcement.id)
            form.subject_zh.data, form.subject_en.data = announcement.title_zh, announcement.title_en
            form.body_zh.data, form.body_en.data = announcement.body_zh, announcement.body_en
        return _compose(competition, form, announcement)
    announcement = _linked_announcement(competition, form.announcement.data)
    if request.form.get("action") != "edit" and form.validate():  # "edit": back from the preview
        return _preview(competition, form, _segment(form, scope), announcement)
    return _compose(competition, form, announcement)


@bp.post("/mailings/send")
@login_required
def send_mailing(code: str):
    competition, scope = _mailer(code)
    form = _mailing_form(competition, scope)
    announcement = _linked_announcement(competition, form.announcement.data)
    if not form.validate():
        return _compose(competition, form, announcement)
    segment = _segment(form, scope)
    try:
        mailing, created = services.send(
            competition,
            actor=current_user,
            segment=segment,
            draft=form.draft(),
            token=form.token.data,
            expected_count=optional_int(form.expected_count.data),
            announcement=announcement,
        )
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return _preview(competition, form, segment, announcement)
    db.session.commit()
    if created:
        flash(_("The e-mail is being sent to %(count)s recipient(s).", count=mailing.recipient_count), "success")
    else:
        flash(_("This e-mail had already been sent; it was not sent again."), "info")
    return redirect(url_for("communications.mailings", code=competition.code))


@bp.get("/mailings/")
@login_required
def mailings(code: str):
    competition, scope = _mailer(code)
    query = (
        select(Mailing)
        .where(Mailing.competition_id == competition.id)
        .options(selectinload(Mailing.author), defer(Mailing.recipients))
        .order_by(Mailing.created_at.desc(), Mailing.id.desc())
    )
    if scope is not None:  # an institution organizer sees their own mailings
        query = query.where(Mailing.author_id == current_user.id)
    page = db.paginate(query, per_page=30, error_out=False)
    return render_template("communications/mailings.html", competition=competition, page=page)


# registered last: the route sweep posts every route in order, and this one removes the announcement
@bp.post("/announcements/<int:announcement_id>/delete")
@login_required
def delete_announcement(code: str, announcement_id: int):
    competition = _managed(code)
    announcement = _announcement(competition, announcement_id)
    commit_or_flash(
        lambda: services.delete_announcement(announcement, actor=current_user), _("The announcement has been deleted.")
    )
    return redirect(url_for("communications.announcements", code=competition.code))
