"""Rubrics: presets, criteria (checked by form and service, nothing saved when refused), shares of the
total, freezing at the first submit, the audited unfreeze, per-track rubrics and deleting a rubric."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.core.time import utcnow
from competition.extensions import db
from competition.scoring import services
from competition.scoring.models import Criterion, Rubric, Scorecard
from tests import factories
from tests.scoring.world import NOW, full_points, scoring_world

pytestmark = pytest.mark.usefixtures("english")


def sign_in(client, user) -> None:
    user.locale = "en"
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def base(world) -> str:
    return f"/competitions/{world.contest.code}/rounds/{world.round.id}/scoring"


def live_world(**fields):
    """A world whose judging is open now (the views use the real clock)."""
    return scoring_world(opens=utcnow() - timedelta(days=1), closes=utcnow() + timedelta(days=7), **fields)


def settings(**fields) -> services.CriterionSettings:
    values = {"code": "pitch", "name_zh": "路演", "name_en": "Pitch", "guidance_zh": "", "guidance_en": "",
              "max_points": Decimal(10), "step": Decimal(1)}  # fmt: skip
    values.update(fields)
    return services.CriterionSettings(**values)


def criteria_count() -> int:
    return db.session.scalar(select(func.count(Criterion.id)))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def submit(world, index: int = 0, *, now=NOW):
    assignment = world.assignments[index]
    judge = next(judge for judge in world.judges if judge.id == assignment.judge_id)
    existing = services.scorecard_for(assignment)
    data = services.ScoreInput(full_points(world.rubric), {}, "很好的项目", existing.version if existing else 0)
    card = services.save(assignment, judge=judge, data=data, submit=True, now=now)
    db.session.commit()
    return card


def criterion_form(**fields) -> dict:
    form = {"code": "pitch", "name_zh": "路演", "name_en": "Pitch", "max_points": "10", "step": "1",
            "guidance_zh": "逻辑清晰得高分", "guidance_en": "Clear logic earns high marks"}  # fmt: skip
    form.update(fields)
    return form


# --- presets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", [preset["code"] for preset in services.presets()])
def test_each_preset_creates_its_criteria_and_a_total_of_100(app, preset):
    contest = factories.competition()
    organizer = factories.user()
    round_ = factories.round_(contest)
    rubric = services.create_rubric(round_, actor=organizer, preset_code=preset)
    db.session.commit()
    expected = next(item for item in services.presets() if item["code"] == preset)["criteria"]
    assert [(c.code, c.name_zh, c.name_en, c.max_points, c.step) for c in rubric.criteria] == [
        (item["code"], item["name_zh"], item["name_en"], Decimal(item["max_points"]), Decimal(1)) for item in expected
    ]
    assert [c.position for c in rubric.criteria] == list(range(len(expected)))
    assert rubric.total == 100 and rubric.preset_code == preset and rubric.track_id is None
    assert audit_actions() == ["rubric.create"]


def test_an_unknown_preset_is_refused_and_nothing_is_created(app):
    round_ = factories.round_(factories.competition())
    with pytest.raises(DomainError, match="Unknown preset"):
        services.create_rubric(round_, actor=factories.user(), preset_code="no-such-preset")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Rubric.id))) == 0


def test_the_page_shows_criteria_shares_and_the_total(app, client):
    world = live_world()
    sign_in(client, world.organizer)
    page = client.get(f"{base(world)}/rubrics")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('data-testid="criterion"') == 5
    assert 'data-testid="total">100<' in html
    # the online-review preset: 25, 25, 20, 20, 10 points of 100
    shares = [chunk.split("<")[0] for chunk in html.split('data-testid="share">')[1:]]
    assert shares == ["25%", "25%", "20%", "20%", "10%"]
    assert "Alliance entrepreneurship competition, online review" in html  # the preset it started from


def test_an_organizer_creates_a_track_rubric_from_a_preset_on_the_page(app, client):
    world = live_world()
    startup = factories.track(world.contest, "startup", position=1)
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/rubrics").get_data(as_text=True)
    assert "The whole round" not in html  # the round has its rubric: only the tracks are offered
    assert "China International College Students&#39; Innovation Competition 2026" in html
    response = client.post(
        f"{base(world)}/rubrics", data={"preset": "alliance-final-roadshow", "track": str(startup.id)}
    )
    assert response.status_code == 302
    rubric = db.session.scalar(select(Rubric).where(Rubric.track_id == startup.id))
    assert [c.code for c in rubric.criteria] == ["pitch", "qa", "business", "team"] and rubric.total == 100
    assert response.headers["Location"].endswith(f"#rubric-{rubric.id}")
    assert services.rubric_for(world.round, startup.id) is rubric
    assert services.rubric_for(world.round, world.submissions[0].team.track_id) is world.rubric
    html = client.get(f"{base(world)}/rubrics").get_data(as_text=True)
    assert "Rubric of the track Startup track" in html and html.count('data-testid="rubric"') == 2
    # the same track again (a stale page): refused, nothing created
    again = client.post(f"{base(world)}/rubrics", data={"preset": "", "track": str(startup.id)})
    assert again.status_code == 200 and "Please choose one of the options." in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Rubric.id))) == 2


def test_an_empty_rubric_gets_its_criteria_on_the_page(app, client):
    contest = factories.competition(code="EMPTY")
    round_ = factories.round_(contest)
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    db.session.commit()
    sign_in(client, organizer)
    url = f"/competitions/EMPTY/rounds/{round_.id}/scoring"
    assert 'data-testid="no-rubric"' in client.get(f"{url}/rubrics").get_data(as_text=True)
    assert client.post(f"{url}/rubrics", data={"preset": "", "track": ""}).status_code == 302
    rubric = db.session.scalar(select(Rubric).where(Rubric.round_id == round_.id))
    assert rubric.criteria == [] and rubric.track_id is None
    added = client.post(f"{url}/rubrics/{rubric.id}/criteria/new", data=criterion_form(max_points="7.5", step="0.5"))
    assert added.status_code == 302
    client.post(f"{url}/rubrics/{rubric.id}/criteria/new", data=criterion_form(code="qa", name_zh="答辩", max_points="2.5", step="0.5"))  # fmt: skip
    db.session.expire_all()
    pitch, qa = rubric.criteria
    assert (pitch.code, pitch.max_points, pitch.step, pitch.guidance_en) == ("pitch", Decimal("7.5"), Decimal("0.5"),
                                                                             "Clear logic earns high marks")  # fmt: skip
    assert (pitch.position, qa.position) == (0, 1) and rubric.total == 10
    html = client.get(f"{url}/rubrics").get_data(as_text=True)
    assert 'data-testid="total">10<' in html and ">75%<" in html and ">25%<" in html
    # editing keeps the criterion's place
    edit_url = f"{url}/rubrics/{rubric.id}/criteria/{pitch.id}"
    assert 'value="7.5"' in client.get(edit_url).get_data(as_text=True)
    assert client.post(edit_url, data=criterion_form(name_en="Roadshow", max_points="8")).status_code == 302
    db.session.expire_all()
    assert (pitch.name_en, pitch.max_points, pitch.position) == ("Roadshow", Decimal(8), 0)
    # the minimum length of the overall comment
    assert client.post(f"{url}/rubrics/{rubric.id}/min-comment", data={"min_comment_chars": "30"}).status_code == 302
    db.session.expire_all()
    assert rubric.min_comment_chars == 30
    # deleting a criterion nobody has scored
    assert client.post(f"{edit_url}/delete").status_code == 302
    db.session.expire_all()
    assert [c.code for c in rubric.criteria] == ["qa"]
    assert audit_actions()[-5:] == ["rubric.criterion_create", "rubric.criterion_create", "rubric.criterion_update",
                                    "rubric.min_comment", "rubric.criterion_delete"]  # fmt: skip


# --- criterion rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"step": Decimal("0.3")}, "step", "Points go in steps of 1 or 0.5."),
        ({"max_points": Decimal(0)}, "max_points", "The maximum is between 0.5 and 999 and a multiple of the step."),
        (
            {"max_points": Decimal("7.5")},
            "max_points",
            "The maximum is between 0.5 and 999 and a multiple of the step.",
        ),
        ({"max_points": Decimal(1000)}, "max_points", "The maximum is between 0.5 and 999 and a multiple of the step."),
        (
            {"max_points": Decimal("NaN")},
            "max_points",
            "The maximum is between 0.5 and 999 and a multiple of the step.",
        ),
        ({"step": Decimal("Infinity")}, "step", "Points go in steps of 1 or 0.5."),
        ({"code": "innovation"}, "code", "Another criterion of this rubric already uses this code."),
        ({"code": "Has Space"}, "code", "A code has 1 to 32 lower-case letters, digits, - or _, e.g. innovation."),
        ({"name_zh": "  "}, "name_zh", "Please enter the Chinese name."),
        ({"name_zh": "长" * 101}, "name_zh", "At most 100 characters."),
    ],
)
def test_a_criterion_breaking_a_rule_is_refused_and_nothing_is_saved(app, fields, field, message):
    world = scoring_world()
    before, actions = criteria_count(), audit_actions()
    with pytest.raises(DomainError) as caught:
        services.save_criterion(world.rubric, actor=world.organizer, criterion=None, settings=settings(**fields))
    db.session.rollback()
    assert (str(caught.value.message), caught.value.field) == (message, field)
    assert criteria_count() == before and audit_actions() == actions


def test_editing_a_criterion_to_another_ones_code_is_refused(app):
    world = scoring_world()
    business = next(c for c in world.rubric.criteria if c.code == "business")
    with pytest.raises(DomainError, match="already uses this code"):
        services.save_criterion(world.rubric, actor=world.organizer, criterion=business,
                                settings=settings(code="innovation", max_points=Decimal(25)))  # fmt: skip
    db.session.rollback()
    db.session.expire_all()
    assert business.code == "business"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"step": "0.3"}, "step", "Please choose one of the options."),
        ({"max_points": "0"}, "max_points", "The maximum is between 0.5 and 999 and a multiple of the step."),
        (
            {"max_points": "7.5", "step": "1"},
            "max_points",
            "The maximum is between 0.5 and 999 and a multiple of the step.",
        ),
        ({"max_points": "NaN"}, "max_points", "Please enter a number such as 20 or 7.5."),
        ({"max_points": "1e3"}, "max_points", "Please enter a number such as 20 or 7.5."),
        ({"code": "innovation"}, "code", "Another criterion of this rubric already uses this code."),
        ({"code": ""}, "code", "Please enter a code."),
    ],
)
def test_the_criterion_form_shows_the_refusal_on_its_field_and_saves_nothing(app, client, fields, field, message):
    world = live_world()
    sign_in(client, world.organizer)
    before = criteria_count()
    response = client.post(f"{base(world)}/rubrics/{world.rubric.id}/criteria/new", data=criterion_form(**fields))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert criteria_count() == before


def test_full_width_digits_are_read_as_a_maximum(app, client):
    world = live_world()
    sign_in(client, world.organizer)
    response = client.post(
        f"{base(world)}/rubrics/{world.rubric.id}/criteria/new", data=criterion_form(max_points="１５")
    )
    assert response.status_code == 302
    assert next(c for c in world.rubric.criteria if c.code == "pitch").max_points == 15


# --- freezing -------------------------------------------------------------------------------------------


def test_the_first_submit_freezes_the_rubric_and_every_edit_is_refused(app):
    world = scoring_world()
    services.save(world.assignments[0], judge=world.judges[0],
                  data=services.ScoreInput(full_points(world.rubric), {}, "", 0), submit=False, now=NOW)  # fmt: skip
    db.session.commit()
    assert world.rubric.frozen_at is None  # a draft does not freeze it
    submit(world, 0, now=NOW + timedelta(minutes=5))
    assert world.rubric.frozen_at == NOW + timedelta(minutes=5)
    innovation = world.rubric.criteria[0]
    actions = audit_actions()
    for action in (
        lambda: services.save_criterion(world.rubric, actor=world.organizer, criterion=None, settings=settings()),
        lambda: services.save_criterion(world.rubric, actor=world.organizer, criterion=innovation,
                                        settings=settings(code="innovation", max_points=Decimal(30))),
        lambda: services.delete_criterion(world.rubric.criteria[-1], actor=world.organizer),
        lambda: services.set_min_comment(world.rubric, actor=world.organizer, characters=50),
    ):  # fmt: skip
        with pytest.raises(DomainError, match="it is frozen"):
            action()
        db.session.rollback()
    db.session.expire_all()
    assert criteria_count() == 5 and innovation.max_points == 25 and world.rubric.min_comment_chars == 0
    assert audit_actions() == actions


def test_a_frozen_rubric_on_the_pages_edits_are_refused_with_the_services_message(app, client):
    world = live_world()
    submit(world, 0, now=utcnow())
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/rubrics").get_data(as_text=True)
    assert 'data-testid="frozen-state"' in html and world.judges[0].real_name in html
    assert 'data-testid="add-criterion"' not in html and 'data-testid="unfreeze"' in html
    innovation = world.rubric.criteria[0]
    url = f"{base(world)}/rubrics/{world.rubric.id}/criteria/{innovation.id}"
    assert 'data-testid="frozen-warning"' in client.get(url).get_data(as_text=True)
    response = client.post(url, data=criterion_form(code="innovation", max_points="30"))
    assert response.status_code == 200 and "it is frozen" in response.get_data(as_text=True)
    refused_delete = client.post(f"{url}/delete", follow_redirects=True).get_data(as_text=True)
    assert "it is frozen" in refused_delete
    client.post(f"{base(world)}/rubrics/{world.rubric.id}/min-comment", data={"min_comment_chars": "40"})
    db.session.expire_all()
    assert innovation.max_points == 25 and criteria_count() == 5 and world.rubric.min_comment_chars == 0


def test_unfreezing_needs_a_reason_is_audited_and_then_edits_work(app, client):
    world = live_world()
    submit(world, 0, now=utcnow())
    sign_in(client, world.organizer)
    url = f"{base(world)}/rubrics/{world.rubric.id}/unfreeze"
    without = client.post(url, data={"reason": "   "}, follow_redirects=True)
    assert "Please give a reason." in without.get_data(as_text=True)
    db.session.expire_all()
    assert world.rubric.frozen_at is not None and "rubric.unfreeze" not in audit_actions()
    with pytest.raises(DomainError, match="Please give a reason"):
        services.unfreeze(world.rubric, actor=world.organizer, reason="")
    db.session.rollback()

    done = client.post(url, data={"reason": "创新性满分应为30分，评审规则更正"}, follow_redirects=True)
    assert "The rubric has been unfrozen" in done.get_data(as_text=True)
    db.session.expire_all()
    assert world.rubric.frozen_at is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "rubric.unfreeze"))
    assert entry.actor_id == world.organizer.id and entry.object_id == str(world.rubric.id)
    assert entry.details == {"reason": "创新性满分应为30分，评审规则更正"}
    html = done.get_data(as_text=True)
    assert 'data-testid="last-unfreeze"' in html and "创新性满分应为30分" in html
    # unfrozen: edits work again, and the page offers them
    innovation = world.rubric.criteria[0]
    response = client.post(f"{base(world)}/rubrics/{world.rubric.id}/criteria/{innovation.id}",
                           data=criterion_form(code="innovation", name_zh="创新性", max_points="30"))  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    assert innovation.max_points == 30
    # a second unfreeze of a rubric that is not frozen is refused
    again = client.post(url, data={"reason": "再次"}, follow_redirects=True)
    assert "This rubric is not frozen." in again.get_data(as_text=True)
    # the next submit freezes it again
    submit(world, 1, now=utcnow())
    assert world.rubric.frozen_at is not None


def test_a_score_after_the_maximum_was_raised_is_stored(app):
    """The copy of the maximum on a score follows the criterion (the database checks against it)."""
    world = scoring_world()
    assignment, judge = world.assignments[0], world.judges[0]
    innovation = world.rubric.criteria[0]
    card = services.save(assignment, judge=judge, data=services.ScoreInput(full_points(world.rubric), {}, "", 0),
                         submit=False, now=NOW)  # fmt: skip
    db.session.commit()
    submit(world, 1)  # another judge freezes the rubric
    services.unfreeze(world.rubric, actor=world.organizer, reason="更正满分")
    services.save_criterion(world.rubric, actor=world.organizer, criterion=innovation,
                            settings=settings(code="innovation", name_zh="创新性", max_points=Decimal(30)))  # fmt: skip
    db.session.commit()
    points = full_points(world.rubric) | {innovation.id: "30"}
    saved = services.save(assignment, judge=judge, data=services.ScoreInput(points, {}, "", card.version),
                          submit=False, now=NOW)  # fmt: skip
    db.session.commit()
    value = saved.value_for(innovation)
    assert (value.points, value.max_points) == (Decimal(30), Decimal(30))


# --- track rubrics, deleting --------------------------------------------------------------------------


def test_a_track_rubric_is_refused_once_the_track_was_scored_with_the_rounds(app):
    world = scoring_world()
    track = world.submissions[0].team.track
    services.save(world.assignments[0], judge=world.judges[0],
                  data=services.ScoreInput(full_points(world.rubric), {}, "", 0), submit=False, now=NOW)  # fmt: skip
    db.session.commit()
    with pytest.raises(DomainError, match="already scored this track"):
        services.create_rubric(world.round, actor=world.organizer, track=track)
    db.session.rollback()
    other = factories.track(world.contest, "growth")
    assert services.create_rubric(world.round, actor=world.organizer, track=other).track_id == other.id


def test_a_track_outside_the_round_or_competition_is_refused(app):
    world = scoring_world()
    startup, growth = factories.track(world.contest, "startup"), factories.track(world.contest, "growth")
    world.round.tracks = [world.submissions[0].team.track, startup]
    foreign = factories.track(factories.competition(), "idea")
    db.session.commit()
    for track, message in ((growth, "does not include that track"), (foreign, "this competition's tracks")):
        with pytest.raises(DomainError, match=message):
            services.create_rubric(world.round, actor=world.organizer, track=track)
        db.session.rollback()
    assert services.create_rubric(world.round, actor=world.organizer, track=startup).track_id == startup.id


def test_a_rubric_is_deleted_only_while_nobody_has_scored_with_it(app, client):
    world = live_world()
    startup = factories.track(world.contest, "startup")
    spare = services.create_rubric(
        world.round, actor=world.organizer, track=startup, preset_code="alliance-final-roadshow"
    )
    db.session.commit()
    services.save(world.assignments[0], judge=world.judges[0],
                  data=services.ScoreInput(full_points(world.rubric), {}, "", 0), submit=False, now=utcnow())  # fmt: skip
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/rubrics").get_data(as_text=True)
    assert html.count('data-testid="delete-rubric"') == 1  # the spare one only
    refused = client.post(f"{base(world)}/rubrics/{world.rubric.id}/delete", follow_redirects=True)
    assert "Judges have scored with this rubric; it cannot be deleted." in refused.get_data(as_text=True)
    assert client.post(f"{base(world)}/rubrics/{spare.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(Rubric.id))) == 1
    assert db.session.scalar(select(func.count(Scorecard.id))) == 1
    assert "rubric.delete" in audit_actions()


def test_rubric_ids_of_another_round_are_not_found(app, client):
    world = live_world()
    other_round = factories.round_(world.contest, position=2, name_zh="决赛")
    other = services.create_rubric(other_round, actor=world.organizer, preset_code="alliance-final-roadshow")
    db.session.commit()
    sign_in(client, world.organizer)
    assert client.get(f"{base(world)}/rubrics/{other.id}/criteria/new").status_code == 404
    assert client.get(f"{base(world)}/rubrics/{world.rubric.id}/criteria/{other.criteria[0].id}").status_code == 404
    assert client.post(f"{base(world)}/rubrics/{other.id}/unfreeze", data={"reason": "x"}).status_code == 404
    assert client.post(f"{base(world)}/rubrics/{other.id}/delete").status_code == 404
