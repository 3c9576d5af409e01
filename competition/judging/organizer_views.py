"""Organizers' judging pages of a round: its judges, and the assignment of judges to submissions
(settings → proposal with statistics → apply or discard; manual additions and removals).

Every form that changes the assignments carries the round's assignment version as the page showed
it; a change made meanwhile by someone else is refused with "someone else changed…" instead of
being overwritten.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from competition.accounts.models import Role, User
from competition.accounts.views import SIDE_LABELS
from competition.competitions.models import Competition
from competition.competitions.policies import can_view_competition
from competition.core.permissions import require
from competition.core.web import commit_or_flash, commit_or_show, flash_form_errors
from competition.experts.models import Expert
from competition.extensions import db
from competition.institutions.models import Institution
from competition.judging import assignment, conflicts, services
from competition.judging.forms import (
    AddJudgeForm,
    RemoveJudgeForm,
    RoundJudgeEditForm,
    RoundJudgeForm,
    SettingsForm,
    VersionForm,
)
from competition.judging.models import Assignment, AssignmentRun, Conflict, RoundJudge, RunState
from competition.judging.policies import can_manage_judging
from competition.rounds.models import Round
from competition.submissions.models import Submission, SubmissionState
from competition.teams.models import Team

bp = Blueprint("judging_admin", __name__, url_prefix="/competitions/<code>/rounds/<int:round_id>")
PER_PAGE = 30
RECENT_RUNS = 5


def _round(code: str, round_id: int) -> Round:
    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    # A draft competition is invisible to outsiders: 404, not 403.
    require(competition is not None and can_view_competition(current_user, competition), hide=True)
    round_ = db.session.get(Round, round_id)
    require(round_ is not None and round_.competition_id == competition.id, hide=True)
    require(can_manage_judging(current_user, competition))
    return round_


def _round_judge(round_: Round, round_judge_id: int) -> RoundJudge:
    row = db.session.get(RoundJudge, round_judge_id)
    require(row is not None and row.round_id == round_.id, hide=True)
    return row


def _institution_names(profiles) -> dict[int, str]:
    """The judges' place of work in the reader's language: an alliance institution's name, else the
    employer from the expert profile."""
    ids = {profile.institution_id for profile in profiles.values() if profile.institution_id}
    names = {row.id: row.name for row in db.session.scalars(select(Institution).where(Institution.id.in_(ids)))}
    return {
        user_id: names.get(profile.institution_id, profile.institution_name) if profile.institution_id else profile.institution_name
        for user_id, profile in profiles.items()
    }  # fmt: skip


def _track_choices(round_: Round) -> list[SelectChoice]:
    return [SelectChoice(track.id, track.name) for track in services.round_tracks(round_)]


# --- the round's judges ---------------------------------------------------------------------------


def _judge_rows(round_: Round) -> list[dict]:
    judges = assignment.round_judges(round_)
    ids = [judge.user_id for judge in judges]
    profiles = conflicts.judge_profiles(ids)
    experts = {expert.user_id: expert for expert in db.session.scalars(select(Expert).where(Expert.user_id.in_(ids)))}
    loads = dict(
        db.session.execute(
            select(Assignment.judge_id, func.count(Assignment.id))
            .where(Assignment.round_id == round_.id)
            .group_by(Assignment.judge_id)
        ).all()
    )
    tracks = {track.id: track.name for track in services.round_tracks(round_)}
    workplaces = _institution_names(profiles)
    rows = [
        {
            "judge": judge,
            "user": judge.user,
            "profile": profiles[judge.user_id],
            "workplace": workplaces[judge.user_id],
            "expert": experts.get(judge.user_id),
            "tracks": [tracks[track_id] for track_id in judge.track_ids or [] if track_id in tracks],
            "load": loads.get(judge.user_id, 0),
            # without the role (revoked on the people page) they cannot open what they are given
            "has_role": Role.JUDGE in judge.user.roles_in(round_.competition),
        }
        for judge in judges
    ]
    rows.sort(key=lambda row: (row["profile"].side, row["profile"].institution_name, row["profile"].name))
    return rows


@bp.route("/judges", methods=["GET", "POST"])
@login_required
def judges(code: str, round_id: int):
    round_ = _round(code, round_id)
    form = RoundJudgeForm()
    form.tracks.choices = _track_choices(round_)
    if form.validate_on_submit() and (
        added := commit_or_show(
            form,
            lambda: services.add_round_judge(
                round_,
                actor=current_user,
                email=form.email.data,
                track_ids=form.tracks.data,
                min_load=form.min_load.data,
                max_load=form.max_load.data,
            ),
        )
    ):
        flash(_("%(name)s now judges %(round)s.", name=added.value.user.real_name, round=round_.name), "success")
        return redirect(url_for("judging_admin.judges", code=code, round_id=round_id))
    return render_template(
        "judging/organizer/judges.html",
        competition=round_.competition,
        round_=round_,
        form=form,
        rows=_judge_rows(round_),
        side_labels=SIDE_LABELS,
        tab="judges",
    )


@bp.route("/judges/<int:round_judge_id>", methods=["GET", "POST"])
@login_required
def edit_judge(code: str, round_id: int, round_judge_id: int):
    round_ = _round(code, round_id)
    row = _round_judge(round_, round_judge_id)
    if request.method == "GET":
        form = RoundJudgeEditForm(
            data={"tracks": list(row.track_ids or []), "min_load": row.min_load, "max_load": row.max_load}
        )
    else:
        form = RoundJudgeEditForm()
    form.tracks.choices = _track_choices(round_)
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: services.update_round_judge(
            row,
            actor=current_user,
            track_ids=form.tracks.data,
            min_load=form.min_load.data,
            max_load=form.max_load.data,
        ),
    ):
        flash(_("The settings of %(name)s have been saved.", name=row.user.real_name), "success")
        return redirect(url_for("judging_admin.judges", code=code, round_id=round_id))
    return render_template(
        "judging/organizer/judge_form.html", competition=round_.competition, round_=round_, row=row, form=form
    )


@bp.post("/judges/<int:round_judge_id>/remove")
@login_required
def remove_round_judge(code: str, round_id: int, round_judge_id: int):
    round_ = _round(code, round_id)
    row = _round_judge(round_, round_judge_id)
    form = VersionForm()
    back = redirect(url_for("judging_admin.judges", code=code, round_id=round_id))
    if not form.validate_on_submit():
        flash_form_errors(form)
        return back
    name = row.user.real_name
    outcome = commit_or_show(
        None, lambda: services.remove_round_judge(row, actor=current_user, expected_version=form.version.data)
    )
    if outcome:
        if outcome.value:
            flash(
                _(
                    "%(name)s no longer judges this round; %(count)s assignment(s) went with them. Compute the assignment again to fill the gaps.",
                    name=name,
                    count=outcome.value,
                ),
                "warning",
            )
        else:
            flash(_("%(name)s no longer judges this round.", name=name), "success")
    return back


# --- the assignment -------------------------------------------------------------------------------


def _settings_form(round_: Round, *, bound: bool = True) -> SettingsForm:
    """The settings as posted, or (on a GET, or a page shown after another form) the round's last."""
    if bound and request.method == "POST":
        return SettingsForm()
    return SettingsForm(formdata=None, data=asdict(assignment.Settings.for_round(round_)))


def _pending_runs(round_: Round) -> list[AssignmentRun]:
    return list(
        db.session.scalars(
            select(AssignmentRun)
            .where(AssignmentRun.round_id == round_.id)
            .order_by(AssignmentRun.id.desc())
            .limit(RECENT_RUNS)
        )
    )


def _conflict_checker(round_: Round, judge_ids):
    """(judge id, team) → the reasons the judge must not judge the team (stored and rules)."""
    competition = round_.competition
    in_force = defaultdict(list)
    for judge_id, team_id, reason in db.session.execute(
        select(Conflict.judge_id, Conflict.team_id, Conflict.reason).where(
            Conflict.competition_id == competition.id, Conflict.dismissed_at.is_(None)
        )
    ):
        in_force[(judge_id, team_id)].append(reason)
    profiles = conflicts.judge_profiles(judge_ids)

    def reasons(judge_id: int, team: Team) -> list[str]:
        found = list(in_force.get((judge_id, team.id), ()))
        if judge_id in profiles and (rule := conflicts.rule_conflict(competition, profiles[judge_id], team)):
            found.append(rule)
        return found

    return reasons, profiles


def _assignment_page(round_: Round, form: SettingsForm, *, pending: dict | None = None, status: int = 200):
    competition = round_.competition
    assigned_ids = select(Assignment.submission_id).where(Assignment.round_id == round_.id)
    statement = (
        select(Submission)
        .join(Team, Team.id == Submission.team_id)
        .where(
            Submission.round_id == round_.id,
            or_(Submission.state == SubmissionState.SUBMITTED.value, Submission.id.in_(assigned_ids)),
        )
        .options(
            selectinload(Submission.team).selectinload(Team.track),
            selectinload(Submission.team).selectinload(Team.institution),
        )
        .order_by(Team.project_title, Submission.id)
    )
    page = db.paginate(statement, per_page=PER_PAGE, error_out=False)
    judges = assignment.round_judges(round_)
    ids = [submission.id for submission in page.items]
    current = defaultdict(list)
    for row in db.session.scalars(
        select(Assignment)
        .where(Assignment.submission_id.in_(ids))
        .options(selectinload(Assignment.judge))
        .order_by(Assignment.id)
    ):
        current[row.submission_id].append(row)
    reasons, profiles = _conflict_checker(
        round_, {judge.user_id for judge in judges} | {a.judge_id for rows in current.values() for a in rows}
    )
    workplaces = _institution_names(profiles)
    loads = Counter(
        dict(
            db.session.execute(
                select(Assignment.judge_id, func.count(Assignment.id))
                .where(Assignment.round_id == round_.id)
                .group_by(Assignment.judge_id)
            ).all()
        )
    )
    handed_in = db.session.scalar(
        select(func.count(Submission.id)).where(
            Submission.round_id == round_.id, Submission.state == SubmissionState.SUBMITTED.value
        )
    )
    rows = []
    for submission in page.items:
        team = submission.team
        taken = {a.judge_id for a in current[submission.id]}
        options = []
        for judge in judges:
            if judge.user_id in taken or not judge.covers(team.track_id):
                continue
            label = _("%(name)s · %(institution)s · %(count)s assigned", name=profiles[judge.user_id].name,
                      institution=workplaces[judge.user_id] or "—", count=loads[judge.user_id])  # fmt: skip
            if reasons(judge.user_id, team):
                label += " · " + _("conflict of interest")
            options.append(SelectChoice(judge.user_id, label))
        rows.append(
            {
                "submission": submission,
                "team": team,
                "assignments": [(a, reasons(a.judge_id, team)) for a in current[submission.id]],
                "options": options,
                "handed_in": submission.state == SubmissionState.SUBMITTED.value,
            }
        )
    return render_template(
        "judging/organizer/assignment.html",
        competition=competition,
        round_=round_,
        form=form,
        page=page,
        rows=rows,
        judges_count=len(judges),
        handed_in=handed_in,
        runs=_pending_runs(round_),
        pending=pending,
        tab="assignment",
    ), status


@bp.get("/assignment")
@login_required
def assignment_page(code: str, round_id: int):
    round_ = _round(code, round_id)
    return _assignment_page(round_, _settings_form(round_))


@bp.post("/assignment/propose")
@login_required
def propose(code: str, round_id: int):
    round_ = _round(code, round_id)
    form = _settings_form(round_)
    if form.validate_on_submit():
        settings = assignment.Settings(
            judges_per_submission=form.judges_per_submission.data,
            min_load=form.min_load.data,
            max_load=form.max_load.data,
            weight_expertise=form.weight_expertise.data,
            weight_side=form.weight_side.data,
            weight_industry=form.weight_industry.data,
            weight_spread=form.weight_spread.data,
            seed=form.seed.data,
            keep_existing=bool(form.keep_existing.data),
        )
        outcome = commit_or_show(form, lambda: assignment.propose(round_, actor=current_user, settings=settings))
        if outcome:
            return redirect(url_for("judging_admin.run", code=code, round_id=round_id, run_id=outcome.value.id))
    # refused (infeasible: the service's message is flashed above) or invalid: the form as typed
    return _assignment_page(round_, form)


def _run(round_: Round, run_id: int) -> AssignmentRun:
    run = db.session.get(AssignmentRun, run_id)
    require(run is not None and run.round_id == round_.id, hide=True)
    return run


def _statements(stats: dict) -> list[tuple[str, str]]:
    """The statistics of a proposal as sentences a newcomer understands, with a test id each."""
    if not stats:
        return []
    lines = []
    k = stats.get("judges_per_submission", 0)
    low, high = stats.get("load_min", 0), stats.get("load_max", 0)
    mean = "{:.1f}".format(stats.get("load_mean", 0))
    if low == high:
        lines.append(("load", _("Every judge gets %(count)s submission(s).", count=low)))
    else:
        lines.append(
            ("load", _("Each judge gets %(min)s–%(max)s submissions (%(mean)s on average).", min=low, max=high,
                       mean=mean))
        )  # fmt: skip
    lines.append(
        ("coverage", _("%(share)s of the submissions have %(k)s judges.", share=format_percent(stats.get("coverage", 0)), k=k))
    )  # fmt: skip
    lines.append(
        ("sides", _("%(share)s of the panels have judges from both Sichuan and Chongqing.",
                    share=format_percent(stats.get("both_sides", 0))))
    )  # fmt: skip
    lines.append(
        ("industry", _("%(share)s of the panels include an investor or entrepreneur.",
                       share=format_percent(stats.get("industry", 0))))
    )  # fmt: skip
    if stats.get("expertise_match") is not None:
        lines.append(
            ("expertise", _("%(share)s of the judge places go to a judge whose expertise fits the project (track, industry or keywords).",
                            share=format_percent(stats["expertise_match"])))
        )  # fmt: skip
    if stats.get("expertise_panels") is not None:
        lines.append(
            ("expertise-panels", _("%(share)s of the panels have at least one such judge.",
                                   share=format_percent(stats["expertise_panels"])))
        )  # fmt: skip
    if stats.get("distinct_pairs") is not None:
        lines.append(
            ("spread", _("%(count)s different pairs of judges sit on panels together; no two judges share more than %(max)s panel(s).",
                         count=stats["distinct_pairs"], max=stats.get("max_pair_repeats", 0)))
        )  # fmt: skip
    lines.append(
        ("changes", _("Compared with the current assignments: %(kept)s kept, %(added)s added, %(removed)s removed.",
                      kept=stats.get("kept", 0), added=stats.get("added", 0), removed=stats.get("removed", 0)))
    )  # fmt: skip
    return lines


@bp.get("/assignment/runs/<int:run_id>")
@login_required
def run(code: str, round_id: int, run_id: int):
    round_ = _round(code, round_id)
    row = _run(round_, run_id)
    proposed = row.state == RunState.PROPOSED
    wanted = defaultdict(set)
    for submission_id, judge_id in row.pairs or []:
        wanted[submission_id].add(judge_id)
    current = defaultdict(dict)
    if proposed:
        for a in assignment.current_assignments(round_):
            current[a.submission_id][a.judge_id] = a
    submission_ids = set(wanted) | set(current)
    submissions = {
        submission.id: submission
        for submission in db.session.scalars(
            select(Submission)
            .where(Submission.id.in_(submission_ids))
            .options(selectinload(Submission.team).selectinload(Team.track))
        )
    }
    people = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(
                User.id.in_({j for ids in wanted.values() for j in ids} | {j for d in current.values() for j in d})
            )
        )
    }
    order = {"": 0, "kept": 0, "added": 1, "removed": 2}
    panels = []
    # a proposal is kept as ids: a submission or an account deleted since is left out
    shown = sorted(set(submissions) & submission_ids, key=lambda s: (submissions[s].team.project_title, s))
    for submission_id in shown:
        want = wanted[submission_id] & set(people)
        now = {j: a for j, a in current[submission_id].items() if j in people}
        if proposed:
            # applying keeps protected assignments (scoring has begun) even outside the proposal
            entries = [(j, "kept") for j in want & set(now)] + [(j, "added") for j in want - set(now)]
            entries += [(j, "kept" if now[j].protected else "removed") for j in set(now) - want]
        else:
            entries = [(j, "") for j in want]
        entries.sort(key=lambda entry: (order[entry[1]], people[entry[0]].real_name))
        panels.append(
            {
                "submission": submissions[submission_id],
                "entries": [(people[j], change) for j, change in entries],
                "changed": any(change in ("added", "removed") for _j, change in entries),
            }
        )
    return render_template(
        "judging/organizer/run.html",
        competition=round_.competition,
        round_=round_,
        run=row,
        statements=_statements(row.statistics or {}),
        settings=row.settings or {},
        panels=panels,
        stale=proposed and row.base_version != round_.assignment_version,
        tab="assignment",
    )


@bp.post("/assignment/runs/<int:run_id>/apply")
@login_required
def apply_run(code: str, round_id: int, run_id: int):
    round_ = _round(code, round_id)
    row = _run(round_, run_id)
    outcome = commit_or_show(None, lambda: assignment.apply(row, actor=current_user))
    if not outcome:
        return redirect(url_for("judging_admin.run", code=code, round_id=round_id, run_id=run_id))
    flash(
        _(
            "The assignment has been applied: %(kept)s kept, %(added)s added, %(removed)s removed. The judges with new submissions get an e-mail.",
            **outcome.value,
        ),
        "success",
    )
    return redirect(url_for("judging_admin.assignment_page", code=code, round_id=round_id))


@bp.post("/assignment/runs/<int:run_id>/discard")
@login_required
def discard_run(code: str, round_id: int, run_id: int):
    round_ = _round(code, round_id)
    row = _run(round_, run_id)
    if commit_or_flash(lambda: assignment.discard(row, actor=current_user), _("The proposal has been discarded.")):
        return redirect(url_for("judging_admin.assignment_page", code=code, round_id=round_id))
    return redirect(url_for("judging_admin.run", code=code, round_id=round_id, run_id=run_id))


def _submission(round_: Round, submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    require(submission is not None and submission.round_id == round_.id, hide=True)
    return submission


def _back_to_assignment(round_: Round):
    page = request.args.get("page", type=int)
    return redirect(
        url_for("judging_admin.assignment_page", code=round_.competition.code, round_id=round_.id, page=page)
        + "#current"
    )


@bp.post("/assignment/submissions/<int:submission_id>/add")
@login_required
def add_assignment(code: str, round_id: int, submission_id: int):
    round_ = _round(code, round_id)
    submission = _submission(round_, submission_id)
    form = AddJudgeForm()
    form.judge.choices = [SelectChoice(judge.user_id, str(judge.user_id)) for judge in assignment.round_judges(round_)]
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back_to_assignment(round_)
    judge = db.session.get(User, form.judge.data)
    name, project = judge.real_name, submission.team.project_title
    outcome = commit_or_show(
        form,
        lambda: assignment.add_judge(
            round_,
            submission,
            judge,
            actor=current_user,
            expected_version=form.version.data,
            override_reason=form.override_reason.data,
        ),
    )
    if outcome:
        message = _("%(name)s now judges “%(project)s”.", name=name, project=project)
        if outcome.value.override_reason:
            message += " " + _("The conflict of interest was overridden; the reason has been recorded.")
        flash(message, "success")
    elif form.override_reason.errors:
        # a conflict: the message says why, and a form asks for the reason to place the judge anyway
        pending = {"submission": submission, "judge": judge, "message": form.override_reason.errors[-1]}
        return _assignment_page(round_, _settings_form(round_, bound=False), pending=pending)
    else:
        flash_form_errors(form)
    return _back_to_assignment(round_)


@bp.post("/assignment/<int:assignment_id>/remove")
@login_required
def remove_assignment(code: str, round_id: int, assignment_id: int):
    round_ = _round(code, round_id)
    row = db.session.get(Assignment, assignment_id)
    require(row is not None and row.round_id == round_.id, hide=True)
    form = RemoveJudgeForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back_to_assignment(round_)
    name, project = row.judge.real_name, row.submission.team.project_title
    commit_or_flash(
        lambda: assignment.remove_judge(
            row, actor=current_user, expected_version=form.version.data, reason=form.reason.data
        ),
        _("%(name)s no longer judges “%(project)s”.", name=name, project=project),
    )
    return _back_to_assignment(round_)
