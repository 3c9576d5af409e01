"""The organizers' scoring pages: access, progress per judge and per submission (one query per list,
whatever the size of the round), reopening with a reason, closing judging, the .xlsx of all scores
and the links to these pages."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select, update

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import Assignment, RoundJudge
from competition.scoring import services
from competition.scoring.models import Scorecard, ScoreHistory
from competition.submissions.models import Submission
from tests import factories
from tests.scoring.world import full_points, scoring_world

pytestmark = pytest.mark.usefixtures("english")

PAGES = ("/rubrics", "/progress", "/scores.xlsx")


def sign_in(client, user) -> None:
    user.locale = "en"
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def base(world) -> str:
    return f"/competitions/{world.contest.code}/rounds/{world.round.id}/scoring"


def live_world(**fields):
    return scoring_world(opens=utcnow() - timedelta(days=1), closes=utcnow() + timedelta(days=7), **fields)


def assignment_of(world, submission_index: int, judge_index: int):
    submission, judge = world.submissions[submission_index], world.judges[judge_index]
    return next(a for a in world.assignments if a.submission_id == submission.id and a.judge_id == judge.id)


def score(world, submission_index: int, judge_index: int, *, submit: bool, fraction: float = 0.8) -> Scorecard:
    assignment = assignment_of(world, submission_index, judge_index)
    existing = services.scorecard_for(assignment)
    data = services.ScoreInput(full_points(world.rubric, fraction), {}, "项目完整，市场分析清楚",
                               existing.version if existing else 0)  # fmt: skip
    card = services.save(assignment, judge=world.judges[judge_index], data=data, submit=submit, now=utcnow())
    db.session.commit()
    return card


def cells(html: str, testid: str) -> list[str]:
    """The text of every table cell with this test id, in page order (tags inside removed)."""
    found = []
    for chunk in html.split(f'data-testid="{testid}"')[1:]:
        inner = chunk.split(">", 1)[1]
        text = re.sub(r"<[^>]+>", " ", inner.split("</td>", 1)[0])
        found.append(" ".join(text.split()))
    return found


# --- access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visitor", "expected"),
    [
        ("anonymous", 302),
        ("student", 403),
        ("judge", 403),
        ("other_organizer", 403),
        ("organizer", 200),
        ("admin", 200),
    ],
)
def test_the_pages_answer_each_role(app, client, visitor, expected):
    world = live_world()
    people = {
        "student": factories.user(),
        "judge": world.judges[0],
        "other_organizer": factories.user(),
        "organizer": world.organizer,
        "admin": factories.user(is_admin=True),
    }
    factories.grant(people["student"], world.contest, "student")
    factories.grant(people["other_organizer"], factories.competition(code="OTHER"), "organizer")
    db.session.commit()
    if visitor != "anonymous":
        sign_in(client, people[visitor])
    for page in PAGES:
        response = client.get(base(world) + page)
        assert response.status_code == expected, page
        if visitor == "anonymous":
            assert "/account/login" in response.headers["Location"]
    for action in ("/reminders", "/close", f"/rubrics/{world.rubric.id}/unfreeze"):
        assert client.post(base(world) + action).status_code in ({302} if expected == 200 else {expected}), action


def test_a_draft_competition_and_foreign_ids_are_not_found(app, client):
    world = live_world()
    sign_in(client, world.organizer)
    assert client.get(f"/competitions/NOPE/rounds/{world.round.id}/scoring/progress").status_code == 404
    assert client.get(f"/competitions/{world.contest.code}/rounds/99999/scoring/progress").status_code == 404
    # a round of another competition under this competition's code
    foreign = factories.round_(factories.competition(code="ELSE"))
    db.session.commit()
    assert client.get(f"/competitions/{world.contest.code}/rounds/{foreign.id}/scoring/rubrics").status_code == 404
    assert client.post(f"{base(world)}/scorecards/99999/reopen", data={"reason": "x"}).status_code == 404
    # a draft competition is invisible to a stranger
    draft = factories.competition(code="DRAFT", state="draft")
    draft_round = factories.round_(draft)
    stranger = factories.user()
    db.session.commit()
    sign_in(client, stranger)
    assert client.get(f"/competitions/DRAFT/rounds/{draft_round.id}/scoring/progress").status_code == 404


def test_the_pages_are_linked_from_the_round_and_the_judging_tabs(app, client):
    world = live_world()
    sign_in(client, world.organizer)
    round_page = client.get(f"/competitions/{world.contest.code}/rounds/{world.round.id}").get_data(as_text=True)
    assert f'href="{base(world)}/rubrics"' in round_page and f'href="{base(world)}/progress"' in round_page
    judges_page = client.get(f"/competitions/{world.contest.code}/rounds/{world.round.id}/judges").get_data(
        as_text=True
    )
    assert 'data-testid="tab-rubrics"' in judges_page and 'data-testid="tab-progress"' in judges_page
    progress_page = client.get(f"{base(world)}/progress").get_data(as_text=True)
    assert (
        'data-testid="tab-progress"' in progress_page
        and 'aria-current="page" data-testid="tab-progress"' in progress_page
    )
    assert f'href="{base(world)}/scores.xlsx"' in progress_page


# --- progress ----------------------------------------------------------------------------------------


def test_progress_counts_each_state_and_the_last_activity(app, client):
    world = live_world(teams=3, judges=3)
    score(world, 0, 0, submit=True)
    score(world, 1, 0, submit=True, fraction=0.6)
    score(world, 2, 0, submit=False)
    score(world, 0, 1, submit=False)
    score(world, 0, 2, submit=True, fraction=1)
    first, second, third = world.judges
    # a fixed moment for the first judge's history: 2026-12-01 02:00 UTC is 10:00 in Beijing
    db.session.execute(update(ScoreHistory).where(ScoreHistory.actor_id == first.id)
                       .values(created_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC)))  # fmt: skip
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    rows = {}
    for chunk in html.split('data-testid="judge-row" data-judge="')[1:]:
        judge_id = int(chunk.split('"', 1)[0])
        row = chunk.split("</tr>", 1)[0]
        rows[judge_id] = {
            key: cells(row, key)[0] for key in ("assigned", "not-started", "drafts", "submitted", "pending")
        }
        rows[judge_id]["last"] = cells(row, "last-activity")[0]
    assert {key: rows[first.id][key] for key in ("assigned", "not-started", "drafts", "submitted", "pending")} == {
        "assigned": "3", "not-started": "0", "drafts": "1", "submitted": "2", "pending": "1"}  # fmt: skip
    assert [rows[second.id][key] for key in ("not-started", "drafts", "submitted", "pending")] == ["2", "1", "0", "3"]
    assert [rows[third.id][key] for key in ("not-started", "drafts", "submitted", "pending")] == ["2", "0", "1", "2"]
    assert "Dec 1, 2026" in rows[first.id]["last"] and "10:00" in rows[first.id]["last"]
    assert rows[third.id]["last"] != "—"
    assert "3 submitted, 2 drafts, 4 not started, of 9 assigned" in html
    # per submission: scores received of k, and the mean of the submitted totals (organizers only)
    received = dict(zip([s.id for s in sorted(world.submissions, key=lambda s: s.team.project_title)],
                        cells(html, "received"), strict=True))  # fmt: skip
    assert received[world.submissions[0].id].startswith("2 of 3")
    assert received[world.submissions[1].id].startswith("1 of 3")
    assert received[world.submissions[2].id].startswith("0 of 3")
    total_80 = sum(Decimal(v) for v in full_points(world.rubric, 0.8).values())
    assert f"{(total_80 + 100) / 2:.0f}" in " ".join(cells(html, "mean"))


def test_a_judge_of_the_round_without_assignments_is_listed(app, client):
    world = live_world(judges=1)
    spare = factories.user()
    factories.grant(spare, world.contest, "judge")
    db.session.add(RoundJudge(round_id=world.round.id, user_id=spare.id))
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    row = html.split(f'data-judge="{spare.id}"', 1)[1].split("</tr>", 1)[0]
    assert cells(row, "assigned") == ["0"] and cells(row, "last-activity") == ["—"]


def _count_queries(app, action) -> int:
    statements = []

    def listen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return len(statements)


def test_the_progress_page_needs_the_same_queries_for_a_small_and_a_large_round(app, client):
    small = live_world(teams=1, judges=1)
    score(small, 0, 0, submit=True)
    sign_in(client, small.organizer)
    client.get(f"{base(small)}/progress")  # the session's first request also checks the privacy consent
    few = _count_queries(app, lambda: client.get(f"{base(small)}/progress"))
    db.session.rollback()
    # a second, larger round of the same competition
    big = factories.round_(small.contest, position=2, name_zh="决赛", judging_opens_at=utcnow() - timedelta(days=1),
                           judging_closes_at=utcnow() + timedelta(days=1))  # fmt: skip
    services.create_rubric(big, actor=small.organizer, preset_code="alliance-online-review")
    judges = []
    for _ in range(4):
        judge = factories.user()
        factories.grant(judge, small.contest, "judge")
        db.session.add(RoundJudge(round_id=big.id, user_id=judge.id))
        judges.append(judge)
    for _ in range(6):
        submission = Submission(round=big, team=factories.team(small.contest, state="approved"), state="submitted")
        db.session.add(submission)
        db.session.flush()
        for judge in judges:
            db.session.add(Assignment(round_id=big.id, submission_id=submission.id, judge_id=judge.id))
    db.session.commit()
    for assignment in db.session.scalars(select(Assignment).where(Assignment.round_id == big.id)).all()[:10]:
        judge = db.session.get(type(small.organizer), assignment.judge_id)
        rubric = services.rubric_for(big, assignment.submission.team.track_id)
        data = services.ScoreInput(full_points(rubric), {}, "好", 0)
        services.save(assignment, judge=judge, data=data, submit=True, now=utcnow())
    db.session.commit()
    many = _count_queries(
        app, lambda: client.get(f"/competitions/{small.contest.code}/rounds/{big.id}/scoring/progress")
    )
    assert many == few


# --- reopening ----------------------------------------------------------------------------------------


def test_reopening_from_the_progress_page_needs_a_reason_and_is_recorded(app, client):
    world = live_world()
    card = score(world, 0, 0, submit=True)
    services.request_reopen(card, judge=world.judges[0], reason="创新性分数录入错误", now=utcnow())
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    assert 'data-testid="reopen-request"' in html and "创新性分数录入错误" in html
    url = f"{base(world)}/scorecards/{card.id}/reopen"

    without = client.post(url, data={"reason": "  "}, follow_redirects=True)
    assert "Please give a reason." in without.get_data(as_text=True)
    db.session.expire_all()
    assert card.is_submitted

    response = client.post(url, data={"reason": "评委申请更正"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#submission-{card.submission_id}")
    db.session.expire_all()
    assert card.state == "draft" and card.reopen_request is None and card.version == 2
    row = db.session.scalars(select(ScoreHistory).where(ScoreHistory.scorecard_id == card.id)
                             .order_by(ScoreHistory.id.desc())).first()  # fmt: skip
    assert (row.action, row.actor_id, row.changes["reason"]) == ("reopen", world.organizer.id, "评委申请更正")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scoring.reopen"))
    assert entry.actor_id == world.organizer.id and entry.details == {"reason": "评委申请更正"}
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    assert 'data-testid="reopen-request"' not in html
    # the judge can change it again
    again = score(world, 0, 0, submit=True, fraction=0.5)
    assert again.is_submitted and again.version == 3
    # a draft cannot be reopened
    draft = score(world, 1, 1, submit=False)
    refused = client.post(f"{base(world)}/scorecards/{draft.id}/reopen", data={"reason": "x"}, follow_redirects=True)
    assert "This scorecard has not been submitted." in refused.get_data(as_text=True)


def test_each_submitted_scorecard_has_a_reopen_form_on_the_page(app, client):
    world = live_world()
    score(world, 0, 0, submit=True)
    score(world, 0, 1, submit=False)
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/progress").get_data(as_text=True)
    assert html.count('data-testid="reopen-form"') == 1
    assert html.count('data-testid="seat"') == 4


# --- closing --------------------------------------------------------------------------------------------


def test_closing_judging_needs_the_confirmation_and_later_scores_are_refused(app, client):
    world = live_world()
    score(world, 0, 0, submit=False)
    sign_in(client, world.organizer)
    url = f"{base(world)}/close"
    unconfirmed = client.post(url, data={}, follow_redirects=True)
    assert "Please tick the box to confirm." in unconfirmed.get_data(as_text=True)
    db.session.expire_all()
    assert world.round.judging_is_open(utcnow())

    before = utcnow()
    closed = client.post(url, data={"confirm": "y"}, follow_redirects=True)
    html = closed.get_data(as_text=True)
    assert "later scores are refused" in html and 'data-testid="closed-at"' in html
    db.session.expire_all()
    assert before <= world.round.judging_closes_at <= utcnow()
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "scoring.close")) == "scoring.close"
    with pytest.raises(DomainError, match="is not open"):
        services.save(assignment_of(world, 0, 0), judge=world.judges[0],
                      data=services.ScoreInput(full_points(world.rubric), {}, "迟到", 1), submit=True,
                      now=utcnow() + timedelta(seconds=1))  # fmt: skip
    db.session.rollback()
    again = client.post(url, data={"confirm": "y"}, follow_redirects=True)
    assert "already closed" in again.get_data(as_text=True)


# --- the .xlsx ---------------------------------------------------------------------------------------------


def test_the_xlsx_has_a_row_per_judge_submission_and_criterion_and_a_pivot(app, client):
    world = live_world(teams=2, judges=2)
    world.submissions[0].team.name = "=1+1"
    db.session.commit()
    first = score(world, 0, 0, submit=True, fraction=0.8)
    second = score(world, 0, 1, submit=True, fraction=0.6)
    score(world, 1, 0, submit=False)
    sign_in(client, world.organizer)
    response = client.get(f"{base(world)}/scores.xlsx")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert quote(f"SC1-{world.round.name_zh}-评分.xlsx") in disposition
    workbook = load_workbook(io.BytesIO(response.data))
    scores, pivot = workbook.worksheets
    rows = list(scores.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:8] == ("Round", "Track", "Team", "Project", "Judge", "Criterion code", "Criterion", "Points")
    criteria = len(world.rubric.criteria)
    assert len(body) == len(world.assignments) * criteria == 2 * 2 * 5
    assert len({(row[3], row[4], row[5]) for row in body}) == len(body)  # judge × submission × criterion
    # the team named "=1+1" stays text, never a formula
    team_cells = [row[2] for row in scores.iter_rows(min_row=2) if row[2].value == "=1+1"]
    assert len(team_cells) == 2 * criteria and all(cell.data_type == "s" for cell in team_cells)
    project = world.submissions[0].team.project_title
    mine = [row for row in body if row[3] == project and row[4] == world.judges[0].real_name]
    assert [row[5] for row in mine] == [c.code for c in world.rubric.criteria]
    assert sum(Decimal(str(row[7])) for row in mine) == first.total
    assert all(row[10] == "Submitted" and isinstance(row[11], datetime) for row in mine)
    assert {row[10] for row in body if row[3] == world.submissions[1].team.project_title} == {"Draft", "Not started"}
    assert all(row[7] is None for row in body if row[10] == "Not started")
    # the pivot: submissions × judges, totals, mean and count
    pivot_rows = list(pivot.iter_rows(values_only=True))
    names = [judge.real_name for judge in sorted(world.judges, key=lambda j: (j.real_name, j.id))]
    assert pivot_rows[0] == ("Team", "Project", "Track", *names, "Mean of the submitted totals", "Submitted scorecards")
    by_project = {row[1]: row for row in pivot_rows[1:]}
    assert len(by_project) == 2
    scored = by_project[project]
    assert scored[0] == "=1+1" and pivot.cell(row=pivot_rows.index(scored) + 1, column=1).data_type == "s"
    totals = {names[i]: scored[3 + i] for i in range(2)}
    assert Decimal(str(totals[world.judges[0].real_name])) == first.total
    assert Decimal(str(totals[world.judges[1].real_name])) == second.total
    assert Decimal(str(scored[5])) == ((first.total + second.total) / 2).quantize(Decimal("0.01"))
    assert scored[6] == 2
    unscored = by_project[world.submissions[1].team.project_title]
    assert unscored[3:5] == (None, None) and unscored[5] is None and unscored[6] == 0


def test_the_xlsx_keeps_the_scores_of_a_judge_taken_off_the_round(app, client):
    world = live_world(teams=1, judges=2)
    card = score(world, 0, 0, submit=True)
    db.session.delete(assignment_of(world, 0, 0))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Scorecard, card.id).assignment_id is None
    sign_in(client, world.organizer)
    sheet = load_workbook(io.BytesIO(client.get(f"{base(world)}/scores.xlsx").data)).worksheets[0]
    judges = {row[4] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert judges == {world.judges[0].real_name, world.judges[1].real_name}
