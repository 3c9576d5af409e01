"""The organizers' results pages through HTTP: the settings (a bad input is shown next to its field
and what was typed is kept), the preview (the rules in words, flags, shared ranks, awards), award
overrides with a reason, advancement and repechage into the next round, the public notice and
publication (a second publication needs a reason), the "differs from published" marker, and access:
only those who manage the round's scoring reach any of these pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from competition.core.audit import AuditEntry
from competition.core.time import utcnow
from competition.extensions import db
from competition.results.models import AwardOverride, ResultSnapshot
from competition.rounds.models import RoundEntry
from competition.scoring import services as scoring
from tests import factories
from tests.results.public_world import scored_round
from tests.scoring.world import NOW, scoring_world

pytestmark = pytest.mark.usefixtures("english")

EN = {"Accept-Language": "en"}


def sign_in(client, user) -> None:
    user.locale = "en"
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def base(world) -> str:
    return f"/competitions/{world.contest.code}/rounds/{world.round.id}/results"


def settings_of(world) -> dict:
    db.session.refresh(world.round)
    return world.round.result_settings or {}


def audit(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def valid_settings(**changes) -> dict:
    """Everything the settings form posts, as a browser sends it (show_scores ticked)."""
    data = {
        "method": "trimmed",
        "trim_min_judges": "5",
        "max_range": "",
        "max_sd": "",
        "judge_deviation": "1.5",
        "tie_break_1": "untrimmed_total",
        "tie_break_2": "submitted_at",
        "tie_break_3": "",
        "tie_break_4": "",
        "award_mode": "proportion",
        "awarded_percent": "30",
        "proportion_gold": "10",
        "proportion_silver": "20",
        "proportion_bronze": "30",
        "proportion_honourable": "",
        "ratio_gold": "1",
        "ratio_silver": "2",
        "ratio_bronze": "6",
        "ratio_honourable": "",
        "rank_gold": "",
        "rank_silver": "",
        "rank_bronze": "",
        "rank_honourable": "",
        "score_gold": "",
        "score_silver": "",
        "score_bronze": "",
        "score_honourable": "",
        "rounding": "half_up",
        "advancement_mode": "none",
        "advancement_value": "",
        "notice_days": "7",
        "show_scores": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def scored_by(fractions: list[list[float]], *, judges: int | None = None, unscored: set[tuple[int, int]] = frozenset()):
    """A round whose submission i is scored by judge j at fractions[i][j] of every criterion's maximum
    (as whole points); (i, j) in `unscored` leaves that scorecard missing."""
    judges = judges or len(fractions[0])
    world = scoring_world(teams=len(fractions), judges=judges)
    for assignment in world.assignments:
        i = next(index for index, s in enumerate(world.submissions) if s.id == assignment.submission_id)
        j = next(index for index, person in enumerate(world.judges) if person.id == assignment.judge_id)
        if (i, j) in unscored:
            continue
        points = {c.id: str(int(float(c.max_points) * fractions[i][j])) for c in world.rubric.criteria}
        data = scoring.ScoreInput(points, {}, "整体不错，建议补充财务预测。", 0)
        scoring.save(assignment, judge=world.judges[j], data=data, submit=True, now=NOW)
    db.session.commit()
    return world


def with_next_round(world):
    final = factories.round_(world.contest, position=2, name_zh="决赛", name_en="Final", level="alliance",
                             entry_rule="advanced")  # fmt: skip
    db.session.commit()
    return final


def rows(html: str, testid: str) -> list[str]:
    """The text of every cell with this test id, in page order (tags removed)."""
    found = []
    for chunk in html.split(f'data-testid="{testid}"')[1:]:
        inner = chunk.split(">", 1)[1]
        text = re.sub(r"<[^>]+>", " ", re.split(r"</t[dh]>", inner, maxsplit=1)[0])
        found.append(" ".join(text.split()))
    return found


# --- settings -----------------------------------------------------------------------------------------


def test_settings_page_shows_the_current_settings(app, client):
    world = scored_round()
    sign_in(client, world.organizer)
    response = client.get(f"{base(world)}/settings", headers=EN)
    assert response.status_code == 200
    html = response.text
    assert "Result settings" in html
    assert re.search(r'<input[^>]*checked[^>]*value="trimmed"|<input[^>]*value="trimmed"[^>]*checked', html)
    assert 'value="proportion"' in html and "Half up (1.5 → 2, 1.4 → 1)" in html
    # every method is explained, with the N the round uses
    assert "when at least 5 judges scored a submission" in html
    assert "Z-score normalization" in html and "The median" in html
    # the tie-break chain offers the rubric's criteria
    first = world.scoring.rubric.criteria[0]
    assert f'value="criterion:{first.code}"' in html
    # the preset shares
    assert re.search(r'id="proportion_gold"[^>]*value="10"|value="10"[^>]*id="proportion_gold"', html)
    assert "No later round takes teams from this round" in html
    # labels on every input, no inline style or script
    for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id
    assert "style=" not in html and "<script>" not in html


def test_settings_are_saved_and_audited(app, client):
    world = scored_round()
    sign_in(client, world.organizer)
    first = world.scoring.rubric.criteria[0]
    data = valid_settings(method="median", max_range="12.5", tie_break_1=f"criterion:{first.code}", tie_break_2="",
                          tie_break_3="submitted_at", award_mode="rank", rank_gold="1", rank_silver="2",
                          rank_bronze="3", advancement_mode="top_n", advancement_value="2", notice_days="3")  # fmt: skip
    del data["show_scores"]  # unticked
    response = client.post(f"{base(world)}/settings", data=data, headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith(base(world) + "/")
    saved = settings_of(world)
    assert saved["method"] == "median" and saved["max_range"] == 12.5 and saved["max_sd"] is None
    assert saved["tie_breaks"] == [f"criterion:{first.code}", "submitted_at"]
    assert saved["award_mode"] == "rank" and saved["award_tiers"] == [["gold", 1], ["silver", 2], ["bronze", 3]]
    assert saved["advancement_mode"] == "top_n" and saved["advancement_value"] == 2
    assert saved["notice_days"] == 3 and saved["show_scores"] is False
    assert len(audit("results.settings")) == 1
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "The result settings have been saved." in html
    assert "The median" in html and "ranks up to 1" in html
    # the page shows them again
    html = client.get(f"{base(world)}/settings", headers=EN).text
    assert re.search(r'<input[^>]*value="median"[^>]*checked|<input[^>]*checked[^>]*value="median"', html)
    assert re.search(r'id="rank_silver"[^>]*value="2"|value="2"[^>]*id="rank_silver"', html)
    assert re.search(
        rf'<option selected value="criterion:{first.code}"|<option value="criterion:{first.code}" selected', html
    )


@pytest.mark.parametrize(
    ("changes", "field", "message", "kept"),
    [
        ({"tie_break_1": "criterion:nope"}, "tie_break_1", "Please choose one of the options.", None),
        ({"tie_break_2": "untrimmed_total"}, "tie_break_2", "This tie-break is already in the chain.", None),
        ({"method": "magic"}, "method", "Please choose one of the options.", None),
        ({"max_range": "-3"}, "max_range", "Please enter a number between 0 and 10000.", "-3"),
        ({"max_sd": "lots"}, "max_sd", "Please enter a number such as 20 or 7.5.", "lots"),
        ({"max_range": "nan"}, "max_range", "Please enter a number between 0 and 10000.", None),
        ({"awarded_percent": "inf"}, "awarded_percent", "Please enter a number between 0.01 and 100.", None),
        (
            {"advancement_mode": "top_n", "advancement_value": "nan"},
            "advancement_value",
            "Please enter a number between 0 and 100000.",
            None,
        ),
        ({"judge_deviation": ""}, "judge_deviation", "Please enter a number between 0.1 and 10.", None),
        ({"trim_min_judges": "abc"}, "trim_min_judges", "Please enter a whole number.", "abc"),
        ({"trim_min_judges": "2"}, "trim_min_judges", "Please enter a number between 3 and 50.", "2"),
        ({"proportion_gold": "150"}, "proportion_gold", "Please enter a number between 0 and 100.", "150"),
        (
            {"proportion_gold": "60", "proportion_silver": "30", "proportion_bronze": "20"},
            "award_mode",
            "The award shares add up to more than 100 %.",
            "60",
        ),
        (
            {"proportion_gold": "", "proportion_silver": "", "proportion_bronze": ""},
            "award_mode",
            "Please give at least one award tier.",
            None,
        ),
        (
            {"award_mode": "ratio", "awarded_percent": "101"},
            "awarded_percent",
            "Please enter a number between 0.01 and 100.",
            "101",
        ),
        ({"award_mode": "ratio", "ratio_gold": "1.5"}, "ratio_gold", "Please enter a whole number.", "1.5"),
        (
            {"award_mode": "rank", "rank_gold": "10", "rank_silver": "5"},
            "award_mode",
            "Give the best award first, with the strictest number.",
            "10",
        ),
        (
            {"award_mode": "score", "score_gold": "-1"},
            "score_gold",
            "Please enter a number between 0 and 100000.",
            "-1",
        ),
        ({"award_mode": "nope"}, "award_mode", "Please choose one of the options.", None),
        ({"rounding": "banker"}, "rounding", "Please choose one of the options.", None),
        (
            {"advancement_mode": "top_n", "advancement_value": ""},
            "advancement_value",
            "Please enter how many advance.",
            None,
        ),
        (
            {"advancement_mode": "top_n", "advancement_value": "2.5"},
            "advancement_value",
            "At least one team advances.",
            "2.5",
        ),
        (
            {"advancement_mode": "top_percent", "advancement_value": "150"},
            "advancement_value",
            "A percentage is between 0 and 100.",
            "150",
        ),
        ({"notice_days": "31"}, "notice_days", "Please enter a number between 0 and 30.", "31"),
        ({"notice_days": "-1"}, "notice_days", "Please enter a number between 0 and 30.", "-1"),
    ],
)
def test_a_bad_setting_is_shown_next_to_its_field_and_what_was_typed_is_kept(
    app, client, changes, field, message, kept
):
    world = scored_round()
    sign_in(client, world.organizer)
    before = dict(settings_of(world))
    response = client.post(
        f"{base(world)}/settings", data=valid_settings(**{"notice_days": "4", **changes}), headers=EN
    )
    assert response.status_code == 200
    html = response.text
    assert "Please correct the fields marked below." in html
    error = re.search(rf'<div id="{field}-error" class="invalid-feedback d-block">([^<]*)</div>', html)
    assert error is not None, html
    assert message in error.group(1)
    if kept is not None:
        assert re.search(rf'<input[^>]*value="{re.escape(kept)}"', html), kept
    if "notice_days" not in changes:
        assert re.search(r'id="notice_days"[^>]*value="4"|value="4"[^>]*id="notice_days"', html)  # the rest is kept too
    assert settings_of(world) == before
    assert audit("results.settings") == []


# --- preview ------------------------------------------------------------------------------------------


def test_preview_shows_ranks_awards_and_the_rules(app, client):
    world = scored_round()
    sign_in(client, world.organizer)
    response = client.get(f"{base(world)}/", headers=EN)
    assert response.status_code == 200
    html = response.text
    # the rules in words
    assert "Scores are combined as follows." in html and "The trimmed mean" in html
    assert "Equal scores are ordered by the higher untrimmed total" in html
    assert "Gold award 10 %" in html and "rounded half up" in html
    assert "Idea track, 3 ranked teams: Gold award 0, Silver award 1, Bronze award 1." in html
    assert "No later round takes teams from this round." in html
    # ranks and awards: 90 %, 70 %, 50 % → silver, bronze, none
    assert rows(html, "rank") == ["1", "2", "3"]
    assert re.findall(r'data-award="(\w+)"', html) == ["silver", "bronze"]
    for team in world.teams:
        assert team.name in html and team.project_title in html
    assert "Preview: computed from the scores submitted so far." in html
    assert 'data-testid="no-flags"' in html
    assert 'href="' + base(world) + '/results.xlsx"' in html and 'href="' + base(world) + '/statistics"' in html
    assert "style=" not in html and "<script>" not in html
    for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id
    assert len(re.findall(r'id="award-reason-\d+"', html)) == 3
    assert html.count("<table") == html.count('class="table-responsive" tabindex="0"') == 1  # scrolls on a phone


def test_preview_shows_shared_ranks(app, client):
    world = scored_by([[0.8, 0.8], [0.8, 0.8], [0.5, 0.5]])
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/", headers=EN).text
    assert rows(html, "rank") == ["1 shared", "1 shared", "3"]
    assert rows(html, "rank-overall") == ["1 shared", "1 shared", "3"]


def test_preview_flags_missing_scores_disagreement_and_harsh_judges(app, client):
    # judge 3 gives 40 points of a hundred less than the others; submission 3 misses judge 2's score
    world = scored_by([[0.9, 0.9, 0.5], [0.8, 0.8, 0.4], [0.7, 0.7, 0.3]], unscored={(2, 1)})
    world.round.result_settings = {"max_range": 30}
    db.session.commit()
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/", headers=EN).text
    missing = html.split('data-testid="flag-missing"')[1].split("</ul>")[0]
    assert world.submissions[2].team.project_title in missing and "1 of 3 scores missing" in missing
    disagreement = html.split('data-testid="flag-disagreement"')[1].split("</ul>")[0]
    assert disagreement.count("Needs re-review") == 3
    assert "points apart (more than 30)" in disagreement
    assert f"/competitions/{world.contest.code}/rounds/{world.round.id}/assignment#current" in disagreement
    outlying = html.split('data-testid="flag-outlying"')[1].split("</ul>")[0]
    assert world.judges[2].real_name in outlying and "harsh" in outlying
    assert world.judges[0].real_name not in outlying


def test_a_round_without_submissions_has_an_empty_preview(app, client):
    contest = factories.competition(code="EMPTY", state="judging")
    round_ = factories.round_(contest)
    organizer = factories.user()
    factories.grant(organizer, contest, "organizer")
    db.session.commit()
    sign_in(client, organizer)
    url = f"/competitions/EMPTY/rounds/{round_.id}/results"
    html = client.get(f"{url}/", headers=EN).text
    assert 'data-testid="no-rows"' in html
    assert client.get(f"{url}/settings", headers=EN).status_code == 200
    response = client.post(f"{url}/publish", headers=EN, follow_redirects=True)
    assert "No submission of this round has been scored yet." in response.text
    assert db.session.scalars(select(ResultSnapshot)).all() == []


def test_the_export_is_reached_from_the_preview(app, client):
    world = scored_round()
    sign_in(client, world.organizer)
    response = client.get(f"{base(world)}/results.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "no-store"


# --- overrides ------------------------------------------------------------------------------------------


def test_an_award_is_overridden_only_with_a_reason_and_audited(app, client):
    world = scored_round()
    sign_in(client, world.organizer)
    third = world.scoring.submissions[2]
    url = f"{base(world)}/submissions/{third.id}/award"

    response = client.post(url, data={"award": "bronze", "reason": "  "}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#row-{third.id}")
    assert "Please give a reason." in client.get(f"{base(world)}/", headers=EN).text
    assert db.session.scalars(select(AwardOverride)).all() == []

    response = client.post(url, data={"award": "platinum", "reason": "好"}, headers=EN)
    assert "Please choose one of the options." in client.get(f"{base(world)}/", headers=EN).text
    assert db.session.scalars(select(AwardOverride)).all() == []

    client.post(url, data={"award": "bronze", "reason": "路演表现突出"}, headers=EN)
    override = db.session.scalars(select(AwardOverride)).one()
    assert (override.submission_id, override.award, override.reason) == (third.id, "bronze", "路演表现突出")
    [entry] = audit("results.override_award")
    assert entry.actor_id == world.organizer.id and entry.details["reason"] == "路演表现突出"
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "has been changed; the reason has been recorded." in html
    assert re.findall(r'data-award="(\w+)"', html) == ["silver", "bronze", "bronze"]
    override_html = html.split('data-testid="override"')[1].split("</form>")[0]
    assert "Changed by an organizer" in override_html and "By the rule: No award." in override_html
    assert "路演表现突出" in override_html

    # taking an award away is an override too
    second = world.scoring.submissions[1]
    client.post(f"{base(world)}/submissions/{second.id}/award", data={"award": "", "reason": "材料不实"}, headers=EN)
    html = client.get(f"{base(world)}/", headers=EN).text
    assert re.findall(r'data-award="(\w+)"', html) == ["silver", "bronze"]

    response = client.post(f"{url}/remove", headers=EN)
    assert response.status_code == 302
    assert [row.submission_id for row in db.session.scalars(select(AwardOverride))] == [second.id]
    assert len(audit("results.remove_override")) == 1
    assert "the rule applies again" in client.get(f"{base(world)}/", headers=EN).text


def test_a_submission_of_another_round_cannot_be_overridden(app, client):
    world = scored_round()
    other = factories.round_(world.contest, position=3)
    db.session.commit()
    sign_in(client, world.organizer)
    submission = world.scoring.submissions[0]
    response = client.post(f"/competitions/{world.contest.code}/rounds/{other.id}/results/submissions/{submission.id}/award",
                           data={"award": "gold", "reason": "x"})  # fmt: skip
    assert response.status_code == 404
    assert db.session.scalars(select(AwardOverride)).all() == []


# --- advancement and repechage --------------------------------------------------------------------------


def test_apply_advancement_enters_the_best_teams_into_the_next_round(app, client):
    world = scored_round(settings={"advancement_mode": "top_n", "advancement_value": 2})
    final = with_next_round(world)
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "The best 2 teams of each track advance to Final" in html
    assert "By the rule, 2 team(s) advance to Final." in html
    assert rows(html, "advances") == ["Advances", "Advances", "—"]

    response = client.post(f"{base(world)}/advance", headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith("#advancement")
    entries = db.session.scalars(select(RoundEntry).where(RoundEntry.round_id == final.id)).all()
    assert {entry.team_id for entry in entries} == {team.id for team in world.teams[:2]}
    assert {entry.source for entry in entries} == {"advanced"}
    assert all(entry.from_round_id == world.round.id for entry in entries)
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "2 team(s) entered Final." in html
    assert rows(html, "advances") == ["Advances In Final", "Advances In Final", "—"]
    entries_html = html.split('data-testid="entries"')[1].split("</ul>")[0]
    assert all(team.name in entries_html for team in world.teams[:2])

    client.post(f"{base(world)}/advance", headers=EN)  # idempotent
    assert len(db.session.scalars(select(RoundEntry).where(RoundEntry.round_id == final.id)).all()) == 2
    assert "No new team entered Final" in client.get(f"{base(world)}/", headers=EN).text
    assert len(audit("results.advance")) == 2


def test_advancement_without_a_next_round_is_refused_with_a_message(app, client):
    world = scored_round(settings={"advancement_mode": "top_n", "advancement_value": 2})
    sign_in(client, world.organizer)
    client.post(f"{base(world)}/advance", headers=EN)
    assert "There is no later round for teams to advance to." in client.get(f"{base(world)}/", headers=EN).text
    assert db.session.scalars(select(RoundEntry)).all() == []


def test_repechage_needs_a_reason(app, client):
    world = scored_round(settings={"advancement_mode": "top_n", "advancement_value": 2})
    final = with_next_round(world)
    sign_in(client, world.organizer)
    third = world.teams[2]
    html = client.get(f"{base(world)}/", headers=EN).text
    form = html.split('data-testid="repechage-form"')[1].split("</form>")[0]
    assert f'value="{third.id}"' in form and '<label class="form-label" for="reason">Reason</label>' in form

    client.post(f"{base(world)}/repechage", data={"team": third.id, "reason": ""}, headers=EN)
    assert "Please give a reason." in client.get(f"{base(world)}/", headers=EN).text
    client.post(f"{base(world)}/repechage", data={"team": "999999", "reason": "x"}, headers=EN)
    assert "Please choose one of the options." in client.get(f"{base(world)}/", headers=EN).text
    client.post(f"{base(world)}/repechage", data={"team": "abc", "reason": "x"}, headers=EN)
    assert db.session.scalars(select(RoundEntry)).all() == []

    response = client.post(
        f"{base(world)}/repechage", data={"team": third.id, "reason": "评委一致推荐复活"}, headers=EN
    )
    assert response.status_code == 302
    entry = db.session.scalars(select(RoundEntry)).one()
    assert (entry.round_id, entry.team_id, entry.source, entry.reason) == (
        final.id,
        third.id,
        "repechage",
        "评委一致推荐复活",
    )
    [record] = audit("results.repechage")
    assert record.details["reason"] == "评委一致推荐复活"
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "entered Final by repechage" in html
    assert "评委一致推荐复活" in html.split('data-testid="entries"')[1]
    assert rows(html, "advances") == ["Advances", "Advances", "Repechage In Final"]
    assert f'value="{third.id}"' not in html.split('data-testid="repechage-form"')[1].split("</form>")[0]

    client.post(f"{base(world)}/repechage", data={"team": third.id, "reason": "again"}, headers=EN)
    assert "is already in Final" in client.get(f"{base(world)}/", headers=EN).text
    assert len(db.session.scalars(select(RoundEntry)).all()) == 1


# --- notice and publication -----------------------------------------------------------------------------


def test_start_notice_then_publish_then_publish_again_with_a_reason(app, client):
    world = scored_round()
    sign_in(client, world.organizer)

    response = client.post(f"{base(world)}/notice", headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith("#publication")
    [notice] = db.session.scalars(select(ResultSnapshot)).all()
    assert notice.kind == "notice" and notice.notice_until > utcnow() + timedelta(days=6)
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "The provisional results are under public notice until" in html
    assert 'data-testid="state-notice"' in html and 'data-testid="start-notice"' not in html
    assert re.search(r'data-testid="publish" disabled', html)
    assert client.get(world.url(), headers=EN).status_code == 200  # shown publicly

    # publishing during the notice is refused
    client.post(f"{base(world)}/publish", headers=EN)
    assert "publish after it ends" in client.get(f"{base(world)}/", headers=EN).text
    assert db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.kind == "published")) is None

    db.session.execute(update(ResultSnapshot).values(notice_until=utcnow() - timedelta(hours=1)))
    db.session.commit()
    html = client.get(f"{base(world)}/", headers=EN).text
    assert 'data-testid="state-notice-ended"' in html
    client.post(f"{base(world)}/publish", headers=EN)
    published = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.kind == "published"))
    assert published is not None and published.reason is None
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "have been published; judging is closed." in html
    assert 'data-testid="state-published"' in html and 'data-testid="differs"' not in html
    assert "Reason for publishing again" in html and 'data-testid="start-notice"' not in html

    # again: only with a reason
    client.post(f"{base(world)}/publish", data={"reason": ""}, headers=EN)
    assert "Please give a reason." in client.get(f"{base(world)}/", headers=EN).text
    assert len(db.session.scalars(select(ResultSnapshot).where(ResultSnapshot.kind == "published")).all()) == 1
    client.post(f"{base(world)}/publish", data={"reason": "更正一处计分错误"}, headers=EN)
    snapshots = db.session.scalars(
        select(ResultSnapshot).where(ResultSnapshot.kind == "published").order_by(ResultSnapshot.id)
    ).all()
    assert len(snapshots) == 2 and snapshots[0].superseded_at is not None and snapshots[1].reason == "更正一处计分错误"
    assert [entry.details["reason"] for entry in audit("results.published")] == [None, "更正一处计分错误"]
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "The results have been published again; the reason has been recorded." in html
    history = html.split('data-testid="history"')[1]
    assert history.count('data-testid="snapshot"') == 3 and "更正一处计分错误" in history


def test_a_round_without_notice_publishes_directly(app, client):
    world = scored_round(settings={"notice_days": 0})
    sign_in(client, world.organizer)
    html = client.get(f"{base(world)}/", headers=EN).text
    assert 'data-testid="start-notice"' not in html
    client.post(f"{base(world)}/notice", headers=EN)
    assert "This round has no public-notice period" in client.get(f"{base(world)}/", headers=EN).text
    client.post(f"{base(world)}/publish", data={"reason": ""}, headers=EN)
    assert db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.kind == "published")) is not None


def test_changes_after_publication_are_marked(app, client):
    world = scored_round()
    sign_in(client, world.organizer)
    client.post(f"{base(world)}/publish", headers=EN)
    html = client.get(f"{base(world)}/", headers=EN).text
    assert 'data-testid="differs"' not in html and 'data-testid="row-differs"' not in html
    third = world.scoring.submissions[2]
    client.post(
        f"{base(world)}/submissions/{third.id}/award", data={"award": "gold", "reason": "复核后调整"}, headers=EN
    )
    html = client.get(f"{base(world)}/", headers=EN).text
    assert "1 team(s) differ from the published results" in html
    row = html.split(f'id="row-{third.id}"')[1].split("</tr>")[0]
    assert 'data-testid="row-differs"' in row and "Differs from the published results" in row
    assert html.count('data-testid="row-differs"') == 1
    # the public page still shows the publication
    assert 'data-award="gold"' not in client.get(world.url(), headers=EN).text


# --- access -----------------------------------------------------------------------------------------------


def _organizer_routes(world) -> list[tuple[str, str]]:
    sid = world.scoring.submissions[0].id
    url = base(world)
    return [
        ("GET", f"{url}/"),
        ("GET", f"{url}/settings"),
        ("POST", f"{url}/settings"),
        ("GET", f"{url}/statistics"),
        ("GET", f"{url}/results.xlsx"),
        ("POST", f"{url}/submissions/{sid}/award"),
        ("POST", f"{url}/submissions/{sid}/award/remove"),
        ("POST", f"{url}/advance"),
        ("POST", f"{url}/repechage"),
        ("POST", f"{url}/notice"),
        ("POST", f"{url}/publish"),
    ]


@pytest.mark.parametrize("visitor", ["student", "judge", "other_organizer"])
def test_only_managers_reach_the_organizer_pages(app, client, visitor):
    world = scored_round(settings={"advancement_mode": "top_n", "advancement_value": 2})
    with_next_round(world)
    person = factories.user()
    if visitor == "other_organizer":
        factories.grant(person, factories.competition(code="ELSE"), "organizer")
    else:
        factories.grant(person, world.contest, visitor)
    db.session.commit()
    sign_in(client, person)
    data = {"reason": "x", "award": "gold", "team": world.teams[2].id, **valid_settings()}
    for method, url in _organizer_routes(world):
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code in (403, 404), (method, url, response.status_code)
    assert db.session.scalars(select(ResultSnapshot)).all() == []
    assert db.session.scalars(select(AwardOverride)).all() == []
    assert db.session.scalars(select(RoundEntry)).all() == []
    assert settings_of(world) == {"advancement_mode": "top_n", "advancement_value": 2}


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    world = scored_round()
    for method, url in _organizer_routes(world):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], url


def test_a_round_of_another_competition_is_not_found(app, client):
    world = scored_round()
    other = factories.competition(code="ELSE")
    factories.grant(world.organizer, other, "organizer")
    db.session.commit()
    sign_in(client, world.organizer)
    assert client.get(f"/competitions/ELSE/rounds/{world.round.id}/results/").status_code == 404
    assert client.get(f"/competitions/NOPE/rounds/{world.round.id}/results/").status_code == 404
    assert client.get(f"{base(world)}/submissions/999999/award/remove").status_code == 405
    assert client.post(f"{base(world)}/submissions/999999/award/remove").status_code == 404


def test_an_admin_reaches_the_pages(app, client):
    world = scored_round()
    admin = factories.user(is_admin=True)
    db.session.commit()
    sign_in(client, admin)
    assert client.get(f"{base(world)}/", headers=EN).status_code == 200
    assert client.get(f"{base(world)}/settings", headers=EN).status_code == 200


# --- links into the results pages --------------------------------------------------------------------------


def test_the_round_page_and_the_scoring_progress_link_to_the_results(app, client):
    world = scored_round()
    sign_in(client, world.organizer)
    round_page = client.get(f"/competitions/{world.contest.code}/rounds/{world.round.id}", headers=EN).text
    assert f'href="{base(world)}/"' in round_page and 'data-testid="round-results"' in round_page
    progress = client.get(
        f"/competitions/{world.contest.code}/rounds/{world.round.id}/scoring/progress", headers=EN
    ).text
    assert f'href="{base(world)}/"' in progress


def test_the_pages_render_in_chinese(app, client):
    world = scored_round(settings={"advancement_mode": "top_n", "advancement_value": 2})
    with_next_round(world)
    sign_in(client, world.organizer)
    world.organizer.locale = "zh_Hans_CN"
    db.session.commit()
    client.post(f"{base(world)}/publish")
    for page in ("/", "/settings"):
        response = client.get(f"{base(world)}{page}", headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 200
        assert '<html lang="zh-CN">' in response.text
    response = client.post(
        f"{base(world)}/settings", data=valid_settings(max_range="-1"), headers={"Accept-Language": "zh-CN"}
    )
    assert response.status_code == 200 and 'id="max_range-error"' in response.text
