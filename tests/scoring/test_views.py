"""The judges' scorecard pages: who may open them (the assigned judge, while judging is open; 404
for everyone else, as for a missing id), independence (never another judge's scores), the form's
refusals with the input kept, the stale tab, autosave as JSON (200, 409, 422, 401, 404), submitting
through a confirmation (idempotent), read-only after submit, the request to reopen, a conflict, and
the judge's home with states, counts and time left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from competition.core.time import SHANGHAI, utcnow
from competition.extensions import db
from competition.judging.models import Assignment
from competition.scoring import services
from competition.scoring.models import Scorecard, ScoreHistory, ScoreValue
from competition.scoring.services import ScoreInput
from tests import factories
from tests.scoring.world import full_points, scoring_world

EN = {"Accept-Language": "en"}


def _world(**fields):
    now = utcnow()
    world = scoring_world(opens=now - timedelta(days=1), closes=now + timedelta(days=7), **fields)
    for person in [*world.judges, world.organizer]:
        person.locale = "en"
    db.session.commit()
    return world


def _sign_in(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def _url(assignment, suffix: str = "") -> str:
    return f"/scoring/assignments/{assignment.id}{suffix}"


def _criteria(world):
    return list(world.rubric.criteria)


def _form(world, points: dict | None = None, *, comments: dict | None = None, overall: str = "", version: int = 0):
    """The scorecard form as the browser posts it: every field, empty when not given."""
    points = points or {}
    comments = comments or {}
    data = {"version": str(version), "overall_comment": overall}
    for criterion in _criteria(world):
        data[f"points-{criterion.id}"] = points.get(criterion.id, "")
        data[f"comment-{criterion.id}"] = comments.get(criterion.id, "")
    return data


def _scorecard(assignment) -> Scorecard | None:
    db.session.expire_all()
    return db.session.scalar(select(Scorecard).where(Scorecard.assignment_id == assignment.id))


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def _save(world, assignment, judge, points, *, overall="", submit=False, comments=None, version=None):
    card = _scorecard(assignment)
    version = version if version is not None else (card.version if card else 0)
    result = services.save(assignment, judge=judge, data=ScoreInput(points, comments or {}, overall, version),
                           submit=submit, now=utcnow())  # fmt: skip
    db.session.commit()
    return result


# --- access -------------------------------------------------------------------------------------


def test_the_assigned_judge_opens_their_scorecard_with_the_project_and_the_rubric(client):
    world = _world()
    assignment = world.assignments[0]
    _sign_in(client, world.judges[0])
    response = client.get(_url(assignment))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    team = assignment.submission.team
    assert team.project_title in page and team.name in page  # not a blind round: the team is named
    for criterion in _criteria(world):
        assert f'name="points-{criterion.id}"' in page and f'name="comment-{criterion.id}"' in page
        assert f'max="{services._plain(criterion.max_points)}"' in page
    assert 'inputmode="decimal"' in page and 'name="version" value="0"' in page
    assert 'data-char-limit="5000"' in page and "js/scorecard.js" in page and "js/char-counter.js" in page
    assert "Judging closes in 6 days" in page and "Save draft" in page


def test_another_judges_scorecard_an_unassigned_one_and_a_missing_id_are_all_404(client):
    world = _world()
    mine = world.assignments[0]  # judge 0, submission 0
    theirs = next(a for a in world.assignments if a.judge_id == world.judges[1].id)
    _sign_in(client, world.judges[0])
    assert client.get(_url(mine)).status_code == 200
    assert client.get(_url(theirs)).status_code == 404
    assert client.get("/scoring/assignments/99999").status_code == 404
    for suffix in ("", "/submit", "/confirm", "/reopen-request"):
        assert client.post(_url(theirs, suffix), data=_form(world, full_points(world.rubric))).status_code == 404
    assert client.post(_url(theirs, "/autosave"), json={"version": 0}).status_code == 404
    assert _count(Scorecard) == 0


@pytest.mark.parametrize("role", ["student", "organizer", "judge"])
def test_people_without_the_assignment_get_404(client, role):
    world = _world()
    person = factories.user(locale="en")
    factories.grant(person, world.contest, role)
    db.session.commit()
    _sign_in(client, person)
    assert client.get(_url(world.assignments[0])).status_code == 404
    assert client.get(_url(world.assignments[0], "/confirm")).status_code == 404
    assert client.post(_url(world.assignments[0]), data=_form(world, full_points(world.rubric))).status_code == 404
    assert _count(Scorecard) == 0


def test_an_admin_without_the_assignment_gets_404(client):
    world = _world()
    _sign_in(client, factories.user(is_admin=True))
    db.session.commit()
    assert client.get(_url(world.assignments[0])).status_code == 404


def test_a_judge_who_lost_the_judge_role_gets_404(client):
    world = _world()
    judge = world.judges[0]
    for grant in list(judge.roles):
        db.session.delete(grant)
    db.session.commit()
    _sign_in(client, judge)
    assert client.get(_url(world.assignments[0])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in_and_come_back_to_the_scorecard(client):
    world = _world()
    response = client.get(_url(world.assignments[0]))
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert f"next=/scoring/assignments/{world.assignments[0].id}" in response.headers["Location"].replace("%2F", "/")
    # a form posted after the session expired: to the log-in page, back to the scorecard (not to a POST-only URL)
    response = client.post(_url(world.assignments[0], "/submit"), data=_form(world))
    assert response.status_code == 302
    location = response.headers["Location"].replace("%2F", "/")
    assert "/account/login" in location and location.endswith(f"next=/scoring/assignments/{world.assignments[0].id}")


def test_before_the_round_opens_and_after_it_closes_nothing_opens_and_nothing_is_stored(client):
    world = _world()
    assignment = world.assignments[0]
    judge = world.judges[0]
    _save(world, assignment, judge, {_criteria(world)[0].id: "5"})
    before = (_count(Scorecard), _count(ScoreValue), _count(ScoreHistory))
    world.round.judging_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    _sign_in(client, judge)
    assert client.get(_url(assignment)).status_code == 404
    assert client.get(_url(assignment, "/confirm")).status_code == 404
    assert client.post(_url(assignment), data=_form(world, full_points(world.rubric), version=1)).status_code == 404
    submit = _form(world, full_points(world.rubric), overall="good", version=1)
    assert client.post(_url(assignment, "/submit"), data=submit).status_code == 404
    assert client.post(_url(assignment, "/confirm"), data=submit).status_code == 404
    response = client.post(
        _url(assignment, "/autosave"), json={"version": 1, "points": {}, "comments": {}, "overall": ""}
    )
    assert response.status_code == 404 and response.get_json()["ok"] is False
    assert (_count(Scorecard), _count(ScoreValue), _count(ScoreHistory)) == before
    assert _scorecard(assignment).state == "draft"
    # not open yet: the same
    world.round.judging_opens_at = utcnow() + timedelta(days=1)
    world.round.judging_closes_at = utcnow() + timedelta(days=3)
    db.session.commit()
    assert client.get(_url(assignment)).status_code == 404


# --- independence -------------------------------------------------------------------------------


def test_a_judge_never_sees_another_judges_points_or_comments(client):
    world = _world()
    submission = world.submissions[0]
    mine = next(a for a in world.assignments if a.submission_id == submission.id and a.judge_id == world.judges[0].id)
    theirs = next(a for a in world.assignments if a.submission_id == submission.id and a.judge_id == world.judges[1].id)
    criteria = _criteria(world)
    # the other judge's scorecard of the same project: odd points and sentinel comments
    _save(world, theirs, world.judges[1], {criteria[0].id: "17", criteria[1].id: "3"},
          comments={criteria[0].id: "SENTINEL-POINT-COMMENT"}, overall="SENTINEL-OVERALL-COMMENT",
          submit=False)  # fmt: skip
    _sign_in(client, world.judges[0])
    page = client.get(_url(mine)).get_data(as_text=True)
    assert "SENTINEL" not in page and 'value="17"' not in page and 'value="3"' not in page
    response = client.post(_url(mine, "/autosave"), json={"version": 0, "points": {str(criteria[0].id): "4"},
                                                          "comments": {}, "overall": ""})  # fmt: skip
    assert response.status_code == 200
    assert "SENTINEL" not in response.get_data(as_text=True) and response.get_json()["total"] == "4"
    home = client.get("/judging/").get_data(as_text=True)
    assert "SENTINEL" not in home
    # the other judge submits: still nothing of theirs, and my home counts only my own work
    _save(world, theirs, world.judges[1], full_points(world.rubric), overall="SENTINEL-OVERALL-COMMENT", submit=True)
    page = client.get(_url(mine)).get_data(as_text=True)
    assert "SENTINEL" not in page
    home = client.get("/judging/").get_data(as_text=True)
    assert "0 of 2 done" in home and "SENTINEL" not in home
    confirm = client.post(
        _url(mine, "/submit"), data=_form(world, full_points(world.rubric, 0.5), overall="ok", version=1)
    )
    assert "SENTINEL" not in confirm.get_data(as_text=True)


def test_in_a_blind_round_the_scorecard_never_names_the_team(client):
    world = _world()
    world.round.blind = True
    db.session.commit()
    team = world.submissions[0].team
    _sign_in(client, world.judges[0])
    page = client.get(_url(world.assignments[0])).get_data(as_text=True)
    assert team.project_title in page and 'data-testid="blind-notice"' in page
    assert team.name not in page and team.institution.name_en not in page and team.institution.name_zh not in page
    assert all(member.real_name not in page for member in team.members)


# --- saving a draft with the form ---------------------------------------------------------------


def test_a_draft_is_saved_and_shown_again(client):
    world = _world()
    assignment = world.assignments[0]
    criteria = _criteria(world)
    _sign_in(client, world.judges[0])
    data = _form(world, {criteria[0].id: "12", criteria[1].id: "７"}, comments={criteria[0].id: "清晰\r\n有力"},
                 overall="第一行\r\n第二行")  # fmt: skip
    response = client.post(_url(assignment), data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(_url(assignment))
    card = _scorecard(assignment)
    assert card.version == 1 and card.state == "draft" and card.total == 19
    assert card.overall_comment == "第一行\n第二行"  # one line break, as the counter counts it
    assert card.value_for(criteria[0]).comment == "清晰\n有力"
    page = client.get(_url(assignment)).get_data(as_text=True)
    assert "Your draft has been saved." in page
    assert f'name="points-{criteria[0].id}" value="12"' in page and f'name="points-{criteria[1].id}" value="7"' in page
    assert "清晰\n有力" in page and 'name="version" value="1"' in page and "第一行\n第二行" in page
    assert 'data-testid="total">19<' in page


@pytest.mark.parametrize(
    "raw", ["nan", "inf", "1e309", "-0", "26", "7,5", "0x5", "7.5", "-1", "1e1", "２６", "12.25", "Infinity", " "]
)
def test_invalid_points_are_refused_with_the_range_and_the_input_kept(client, raw):
    world = _world()
    assignment = world.assignments[0]
    innovation = _criteria(world)[0]  # 0 to 25 in steps of 1
    _sign_in(client, world.judges[0])
    data = _form(world, {innovation.id: raw}, overall="我的评语")
    response = client.post(_url(assignment), data=data)
    if raw == " ":  # blank is "not scored yet" in a draft
        assert response.status_code == 302
        return
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Innovation takes 0 to 25 points in steps of 1." in page
    assert f'id="points-{innovation.id}"' in page and "is-invalid" in page and 'aria-invalid="true"' in page
    assert f'value="{raw}"' in page and "我的评语" in page  # the input is kept
    assert _count(Scorecard) == 0 and _count(ScoreHistory) == 0


def test_a_half_point_step_takes_halves(client):
    world = _world()
    criterion = _criteria(world)[0]
    criterion.step = services.Decimal("0.5")
    db.session.commit()
    _sign_in(client, world.judges[0])
    assert client.post(_url(world.assignments[0]), data=_form(world, {criterion.id: "7.5"})).status_code == 302
    assert _scorecard(world.assignments[0]).total == services.Decimal("7.5")
    response = client.post(_url(world.assignments[0]), data=_form(world, {criterion.id: "7.3"}, version=1))
    assert "takes 0 to 25 points in steps of 0.5" in response.get_data(as_text=True)


def test_a_100k_character_comment_is_refused_and_kept(client):
    world = _world()
    criterion = _criteria(world)[0]
    _sign_in(client, world.judges[0])
    long = "评" * 10 + "x" * 100_000
    response = client.post(
        _url(world.assignments[0]), data=_form(world, {criterion.id: "3"}, comments={criterion.id: long})
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "A comment has at most 2000 characters." in page and long in page
    response = client.post(_url(world.assignments[0]), data=_form(world, {criterion.id: "3"}, overall=long))
    page = response.get_data(as_text=True)
    assert "The overall comment has at most 5000 characters." in page and long in page
    assert _count(Scorecard) == 0


def test_a_comment_without_points_is_refused_rather_than_lost(client):
    world = _world()
    first, second = _criteria(world)[:2]
    _sign_in(client, world.judges[0])
    data = _form(world, {first.id: "3"}, comments={second.id: "需要更多数据"})
    page = client.post(_url(world.assignments[0]), data=data).get_data(as_text=True)
    assert "Please give Business viability its points first" in page and "需要更多数据" in page
    assert _count(Scorecard) == 0


def test_an_unknown_criterion_and_a_field_sent_twice_are_refused_naming_the_field(client):
    world = _world()
    criteria = _criteria(world)
    assignment = world.assignments[0]
    _sign_in(client, world.judges[0])
    # a criterion of another rubric (or none at all)
    data = _form(world, {criteria[0].id: "3"})
    data["points-99999"] = "3"
    page = client.post(_url(assignment), data=data).get_data(as_text=True)
    assert "not in this rubric (points-99999)" in page
    data = _form(world, {criteria[0].id: "3"})
    data["comment-abc"] = "x"
    assert "not in this rubric (comment-abc)" in client.post(_url(assignment), data=data).get_data(as_text=True)
    # two values for one field name
    data = MultiDict(_form(world, {criteria[0].id: "3"}))
    data.add(f"points-{criteria[0].id}", "20")
    page = client.post(_url(assignment), data=data).get_data(as_text=True)
    assert f"Innovation was sent more than once (points-{criteria[0].id})" in page
    assert f'id="points-{criteria[0].id}-error" data-error-for="points-{criteria[0].id}">Innovation' in page
    data = MultiDict(_form(world))
    data.add("overall_comment", "again")
    assert "The overall comment was sent more than once" in client.post(_url(assignment), data=data).get_data(
        as_text=True
    )
    assert _count(Scorecard) == 0
    # the same through autosave
    response = client.post(_url(assignment, "/autosave"), json={"version": 0, "points": {"99999": "3"}})
    assert response.status_code == 422 and "points-99999" in response.get_json()["error"]


def test_submitting_with_a_criterion_missing_names_it_and_keeps_the_draft(client):
    world = _world()
    criteria = _criteria(world)
    assignment = world.assignments[0]
    points = full_points(world.rubric)
    del points[criteria[2].id]
    _sign_in(client, world.judges[0])
    response = client.post(_url(assignment, "/submit"), data=_form(world, points, overall="不错"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Please score every criterion before submitting: Team capability." in page
    assert (
        f'id="points-{criteria[2].id}-error" data-error-for="points-{criteria[2].id}">Please give points here' in page
    )
    card = _scorecard(assignment)
    assert card.state == "draft" and card.version == 1  # the draft is kept
    assert 'name="version" value="1"' in page and "Confirm and submit" not in page


def test_the_overall_comment_needs_its_minimum_to_submit(client):
    world = _world()
    world.rubric.min_comment_chars = 10
    db.session.commit()
    _sign_in(client, world.judges[0])
    page = client.get(_url(world.assignments[0])).get_data(as_text=True)
    assert "At least 10 characters are needed to submit." in page
    # CR LF counts once: nine characters
    data = _form(world, full_points(world.rubric), overall="一二三四\r\n五六七八")
    page = client.post(_url(world.assignments[0], "/submit"), data=data).get_data(as_text=True)
    assert "The overall comment needs at least 10 characters (it has 9)." in page
    assert 'id="overall_comment-error" data-error-for="overall_comment">The overall comment needs' in page
    assert _scorecard(world.assignments[0]).state == "draft"


# --- the stale tab ------------------------------------------------------------------------------


def test_a_stale_tab_cannot_overwrite_a_newer_save_and_keeps_its_input(app):
    world = _world()
    assignment = world.assignments[0]
    criterion = _criteria(world)[0]
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        _sign_in(client, world.judges[0])
    # both tabs open the empty scorecard (version 0); the first saves
    assert 'name="version" value="0"' in second.get(_url(assignment)).get_data(as_text=True)
    assert first.post(_url(assignment), data=_form(world, {criterion.id: "20"})).status_code == 302
    response = second.post(_url(assignment), data=_form(world, {criterion.id: "11"}, overall="第二个标签页"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="version-conflict"' in page
    assert "changed elsewhere" in page and "Reload the scorecard" in page
    assert 'value="11"' in page and "第二个标签页" in page and "data-stale" in page
    assert 'name="version" value="0"' in page  # still stale: saving again is refused again
    card = _scorecard(assignment)
    assert card.version == 1 and card.value_for(criterion).points == 20 and card.overall_comment == ""
    # the same through submit and through autosave
    page = second.post(_url(assignment, "/submit"), data=_form(world, full_points(world.rubric), overall="x")).get_data(
        as_text=True
    )
    assert 'data-testid="version-conflict"' in page and "Confirm and submit" not in page
    response = second.post(_url(assignment, "/autosave"), json={"version": 0, "points": {str(criterion.id): "11"}})
    assert response.status_code == 409 and response.get_json() == {
        "ok": False,
        "field": "version",
        "error": response.get_json()["error"],
    }
    assert "changed elsewhere" in response.get_json()["error"]
    assert _scorecard(assignment).version == 1


# --- autosave -----------------------------------------------------------------------------------


def test_autosave_saves_a_draft_and_answers_the_new_version_and_the_time(client):
    world = _world()
    assignment = world.assignments[0]
    criteria = _criteria(world)
    _sign_in(client, world.judges[0])
    body = {"version": 0, "points": {str(criteria[0].id): "9", str(criteria[1].id): ""},
            "comments": {str(criteria[0].id): "好"}, "overall": "写到一半"}  # fmt: skip
    response = client.post(_url(assignment, "/autosave"), json=body, headers={"Accept": "application/json"})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["ok"] is True and answer["version"] == 1 and answer["total"] == "9"
    assert answer["saved_at"] == utcnow().astimezone(SHANGHAI).strftime("%H:%M")  # Beijing time
    assert answer["message"] == f"Saved at {answer['saved_at']}"
    card = _scorecard(assignment)
    assert card.version == 1 and card.overall_comment == "写到一半" and card.value_for(criteria[0]).comment == "好"
    # the next save carries the new version
    body["version"] = 1
    body["points"][str(criteria[1].id)] = "5"
    assert client.post(_url(assignment, "/autosave"), json=body).get_json()["version"] == 2


def test_autosave_answers_beijing_time(client, monkeypatch):
    from datetime import UTC, datetime

    world = _world()
    fixed = datetime(2026, 11, 30, 6, 5, tzinfo=UTC)  # 14:05 in Beijing
    world.round.judging_opens_at = fixed - timedelta(days=1)
    world.round.judging_closes_at = fixed + timedelta(days=1)
    db.session.commit()
    monkeypatch.setattr("competition.scoring.views.utcnow", lambda: fixed)
    monkeypatch.setattr("competition.scoring.policies.utcnow", lambda: fixed)
    _sign_in(client, world.judges[0])
    response = client.post(_url(world.assignments[0], "/autosave"), json={"version": 0, "points": {}, "overall": "x"})
    assert response.get_json()["saved_at"] == "14:05" and response.get_json()["message"] == "Saved at 14:05"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 0, "points": {"CID": "nan"}}, "points-CID"),
        ({"version": 0, "points": {"CID": "1e309"}}, "points-CID"),
        ({"version": 0, "points": {"CID": 7}}, "points-CID"),  # a JSON number, not the typed text
        ({"version": 0, "points": {"CID": "26"}}, "points-CID"),
        ({"version": 0, "comments": {"CID": "x" * 2001}, "points": {"CID": "1"}}, "comment-CID"),
        ({"version": 0, "overall": "x" * 5001}, "overall_comment"),
        ({"version": "0"}, "version"),
        ({"version": True}, "version"),
        ({"points": {}}, "version"),
        ({"version": 0, "overall": ["a"]}, "overall_comment"),
    ],
)
def test_autosave_refuses_invalid_values_with_422_naming_the_field(client, body, field):
    world = _world()
    cid = str(_criteria(world)[0].id)
    body = {
        key: ({k.replace("CID", cid): v for k, v in value.items()} if isinstance(value, dict) else value)
        for key, value in body.items()
    }
    _sign_in(client, world.judges[0])
    response = client.post(_url(world.assignments[0], "/autosave"), json=body)
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["ok"] is False and answer["field"] == field.replace("CID", cid) and answer["error"]
    assert _count(Scorecard) == 0


def test_autosave_of_a_body_that_is_not_json_is_refused(client):
    world = _world()
    _sign_in(client, world.judges[0])
    response = client.post(_url(world.assignments[0], "/autosave"), data="points=1", content_type="text/plain")
    assert response.status_code == 422 and response.get_json()["ok"] is False


def test_autosave_with_an_expired_session_answers_401_json_not_a_redirect(app, client):
    world = _world()
    judge = world.judges[0]
    body = {"version": 0, "points": {}, "comments": {}, "overall": "x"}
    # never signed in (the session cookie expired)
    response = client.post(_url(world.assignments[0], "/autosave"), json=body, headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.is_json
    assert response.get_json()["ok"] is False and response.get_json()["field"] == "session"
    # signed in, then the password was changed on another device: this session ends
    _sign_in(client, judge)
    judge.session_token = "replaced"
    db.session.commit()
    response = client.post(_url(world.assignments[0], "/autosave"), json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 401 and "session has expired" in response.get_json()["error"]
    assert _count(Scorecard) == 0


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_autosave_checks_the_csrf_header_after_the_session(app):
    client = app.test_client()
    world = _world()
    body = {"version": 0, "points": {}, "comments": {}, "overall": "x"}
    # no session at all: 401 (not a CSRF 400), so the page can say "log in again"
    assert client.post(_url(world.assignments[0], "/autosave"), json=body).status_code == 401
    _sign_in(client, world.judges[0])
    response = client.post(_url(world.assignments[0], "/autosave"), json=body)
    assert response.status_code == 400 and response.get_json()["field"] == "csrf"
    page = client.get(_url(world.assignments[0])).get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(_url(world.assignments[0], "/autosave"), json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["version"] == 1
    # the form without its token is refused too
    assert client.post(_url(world.assignments[0]), data=_form(world, version=1)).status_code == 400
    assert (
        client.post(_url(world.assignments[0]), data={**_form(world, version=1), "csrf_token": token}).status_code
        == 302
    )


def test_autosave_of_a_submitted_scorecard_is_409(client):
    world = _world()
    assignment = world.assignments[0]
    _save(world, assignment, world.judges[0], full_points(world.rubric), overall="好", submit=True)
    _sign_in(client, world.judges[0])
    response = client.post(_url(assignment, "/autosave"), json={"version": 1, "points": {}, "overall": "改"})
    assert response.status_code == 409 and response.get_json()["field"] == "state"
    assert _scorecard(assignment).overall_comment == "好"


# --- submitting ---------------------------------------------------------------------------------


def test_submit_shows_a_confirmation_then_confirming_submits_once(client):
    world = _world()
    assignment = world.assignments[0]
    points = full_points(world.rubric)
    _sign_in(client, world.judges[0])
    response = client.post(_url(assignment, "/submit"), data=_form(world, points, overall="很有潜力的项目"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Confirm your scores" in page and "Confirm and submit" in page
    assert 'data-testid="total">80 / 100<' in page and "很有潜力的项目" in page
    assert "<script" not in page.split("</main>")[0]  # a real second step: no script decides it
    card = _scorecard(assignment)
    assert card.state == "draft" and card.version == 1  # saved as a draft meanwhile
    assert 'name="version" value="1"' in page
    confirm = _form(world, points, overall="很有潜力的项目", version=1)
    response = client.post(_url(assignment, "/confirm"), data=confirm)
    assert response.status_code == 302 and response.headers["Location"].endswith(_url(assignment))
    card = _scorecard(assignment)
    assert card.is_submitted and card.total == 80 and card.version == 2
    histories = _count(ScoreHistory)
    # the same confirmation again (a double click, a resent form): nothing changes
    response = client.post(_url(assignment, "/confirm"), data=confirm)
    assert response.status_code == 302
    card = _scorecard(assignment)
    assert card.version == 2 and _count(ScoreHistory) == histories and _count(Scorecard) == 1
    page = client.get(_url(assignment)).get_data(as_text=True)
    assert "have been submitted" in page


def test_the_confirmation_of_the_stored_draft(client):
    world = _world()
    assignment = world.assignments[0]
    _sign_in(client, world.judges[0])
    # nothing stored yet: back to the scorecard
    assert client.get(_url(assignment, "/confirm")).status_code == 302
    _save(world, assignment, world.judges[0], {_criteria(world)[0].id: "5"})
    response = client.get(_url(assignment, "/confirm"))
    assert response.status_code == 302
    assert "Please score every criterion" in client.get(_url(assignment)).get_data(as_text=True)
    _save(world, assignment, world.judges[0], full_points(world.rubric), overall="可以")
    page = client.get(_url(assignment, "/confirm")).get_data(as_text=True)
    assert "Confirm and submit" in page and 'name="version" value="2"' in page and "80 / 100" in page


def test_after_submit_the_scorecard_is_read_only_and_changes_are_refused(client):
    world = _world()
    assignment = world.assignments[0]
    criteria = _criteria(world)
    _save(world, assignment, world.judges[0], full_points(world.rubric), overall="总体不错",
          comments={criteria[0].id: "创新点突出"}, submit=True)  # fmt: skip
    _sign_in(client, world.judges[0])
    page = client.get(_url(assignment)).get_data(as_text=True)
    assert 'data-testid="submitted"' in page and "创新点突出" in page and "总体不错" in page
    assert f'name="points-{criteria[0].id}"' not in page and "Save draft" not in page
    assert "Ask to reopen" in page and "data-scorecard-done" in page
    response = client.post(_url(assignment), data=_form(world, full_points(world.rubric, 0.5), version=2))
    page = response.get_data(as_text=True)
    assert "ask the organizers to reopen it" in page and 'data-testid="submitted"' in page
    response = client.post(_url(assignment, "/submit"), data=_form(world, full_points(world.rubric, 0.5), version=2))
    assert "ask the organizers to reopen it" in response.get_data(as_text=True)
    assert _scorecard(assignment).total == 80


def test_the_judge_asks_to_reopen_and_an_organizer_reopens(client):
    world = _world()
    assignment = world.assignments[0]
    _save(world, assignment, world.judges[0], full_points(world.rubric), overall="好", submit=True)
    _sign_in(client, world.judges[0])
    response = client.post(_url(assignment, "/reopen-request"), data={"reason": "  "})
    assert response.status_code == 302
    assert "Please give a reason." in client.get(_url(assignment)).get_data(as_text=True)
    response = client.post(_url(assignment, "/reopen-request"), data={"reason": "第三项打错了分"})
    assert response.status_code == 302
    page = client.get(_url(assignment)).get_data(as_text=True)
    assert (
        "Your request has been recorded" in page
        and 'data-testid="reopen-requested"' in page
        and "第三项打错了分" in page
    )
    card = _scorecard(assignment)
    assert card.reopen_request == "第三项打错了分" and card.is_submitted
    services.reopen(card, actor=world.organizer, reason="评委申请", now=utcnow())
    db.session.commit()
    page = client.get(_url(assignment)).get_data(as_text=True)
    assert 'data-testid="reopened"' in page and 'name="version" value="2"' in page and "Save draft" in page


def test_asking_to_reopen_a_draft_is_refused(client):
    world = _world()
    assignment = world.assignments[0]
    _sign_in(client, world.judges[0])
    client.post(_url(assignment, "/reopen-request"), data={"reason": "x"})
    assert "still a draft" in client.get(_url(assignment)).get_data(as_text=True)
    _save(world, assignment, world.judges[0], {_criteria(world)[0].id: "1"})
    client.post(_url(assignment, "/reopen-request"), data={"reason": "x"})
    assert "still a draft" in client.get(_url(assignment)).get_data(as_text=True)
    assert _scorecard(assignment).reopen_request is None


def test_i_have_a_conflict_takes_the_judge_off_and_tells_the_organizers(client, outbox):
    world = _world()
    assignment_id = world.assignments[0].id
    _sign_in(client, world.judges[0])
    page = client.get(f"/scoring/assignments/{assignment_id}").get_data(as_text=True)
    assert f'action="/judging/assignments/{assignment_id}/conflict"' in page and "I have a conflict" in page
    response = client.post(f"/judging/assignments/{assignment_id}/conflict", data={"reason": "我指导过这个团队"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Assignment.id)).where(Assignment.id == assignment_id)) == 0
    assert client.get(f"/scoring/assignments/{assignment_id}").status_code == 404
    assert any(message["To"] == world.organizer.email for message in outbox)


# --- the judge's home ---------------------------------------------------------------------------


def test_the_home_shows_each_state_the_count_done_and_the_time_left(client):
    world = _world(teams=3, judges=1)
    judge = world.judges[0]
    first, second, _third = world.assignments
    _save(world, first, judge, full_points(world.rubric), overall="好", submit=True)
    _save(world, second, judge, {_criteria(world)[0].id: "3"})
    _sign_in(client, judge)
    page = client.get("/judging/").get_data(as_text=True)
    assert "1 of 3 done" in page and 'value="1"' in page
    assert page.count('data-state="submitted"') == 1 and page.count('data-state="draft"') == 1
    assert page.count('data-state="not_started"') == 1
    assert ">Submitted<" in page and ">Draft<" in page and ">Not started<" in page
    assert "6 days 23 hours left." in page
    for assignment in world.assignments:
        assert f'href="/scoring/assignments/{assignment.id}"' in page
    assert "View scores" in page and "Continue scoring" in page and ">Start scoring<" in page


def test_the_home_links_no_scorecard_once_the_round_has_closed(client):
    world = _world(teams=1, judges=1)
    world.round.judging_closes_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    _sign_in(client, world.judges[0])
    page = client.get("/judging/").get_data(as_text=True)
    assert "0 of 1 done" in page and "/scoring/assignments/" not in page and "left." not in page


def test_a_score_posted_on_someone_elses_scorecard_is_refused_and_audited(client, db):
    from competition.core.audit import AuditEntry

    world = _world()
    other_judge = world.judges[1]
    _sign_in(client, other_judge)
    mine_not = world.assignments[0]  # judge 0's assignment
    assert mine_not.judge_id != other_judge.id
    response = client.post(
        _url(mine_not, "/autosave"), json={"version": 0, "points": {}, "comments": {}, "overall": "x"}
    )
    assert response.status_code == 404 and _count(Scorecard) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scoring.refused_not_assigned"))
    assert entry is not None and entry.actor_id == other_judge.id
