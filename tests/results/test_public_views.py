"""The public results page, the competition page's list of results and a team's feedback page,
through HTTP: only snapshots are shown, never a live computation, and nothing before publication."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from competition.core.time import utcnow
from competition.extensions import db
from competition.results import services
from competition.results.public_views import PAGE_CACHE
from competition.scoring.models import Scorecard
from tests import factories
from tests.results.public_world import COMMENT, EN, OVERALL, ZH, count_queries, scored_round, synthetic_snapshot
from tests.scoring.world import NOW


@pytest.fixture(autouse=True)
def _empty_page_cache():
    """Each test starts from empty tables, so snapshot ids repeat from one test to the next."""
    PAGE_CACHE.clear()
    yield
    PAGE_CACHE.clear()


def _scores(html: str) -> list[str]:
    return re.findall(r'data-testid="result-score">([^<]*)<', html)


# --- the public page ------------------------------------------------------------------------------


def test_no_snapshot_no_page(app, client):
    world = scored_round()
    assert client.get(world.url(), headers=EN).status_code == 404
    assert client.get(f"/results/{world.contest.code}/{world.round.id + 99}").status_code == 404
    assert client.get(f"/results/NOPE/{world.round.id}").status_code == 404
    other = factories.competition(code="OTHER")
    db.session.commit()
    services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    assert client.get(f"/results/{other.code}/{world.round.id}").status_code == 404  # the round is not OTHER's


def test_a_draft_competitions_results_stay_hidden(app, client):
    world = scored_round()
    services.publish(world.round, actor=world.organizer, now=NOW)
    world.contest.state = "draft"
    db.session.commit()
    assert client.get(world.url()).status_code == 404


def test_provisional_list_under_notice(app, client):
    world = scored_round()
    notice = services.start_notice(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    response = client.get(world.url(), headers=EN)
    assert response.status_code == 200
    html = response.text
    assert 'data-testid="results-notice"' in html and "results-final" not in html
    assert "Provisional results under public notice until" in html
    assert "teams may appeal" in html
    assert len(re.findall('data-testid="result-row"', html)) == 3
    assert [row["team_name"] for row in notice.rows] == [team.name for team in world.teams]
    for team in world.teams:
        assert team.name in html and team.project_title in html


def test_notice_over_but_not_yet_published(app, client):
    world = scored_round()
    services.start_notice(world.round, actor=world.organizer, now=utcnow() - timedelta(days=30))
    db.session.commit()
    html = client.get(world.url(), headers=EN).text
    assert 'data-testid="results-notice-ended"' in html and "teams may appeal" not in html


def test_final_results_after_publication(app, client):
    world = scored_round()
    services.start_notice(world.round, actor=world.organizer, now=NOW - timedelta(days=8))
    services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    html = client.get(world.url(), headers=EN).text
    assert 'data-testid="results-final"' in html and "results-notice" not in html
    assert "Final results." in html
    # the method and the rounding rule are explained
    assert "How the results were computed" in html
    assert "rounded to 2 decimals" in html and "rounded to the nearest whole number (halves up)" in html
    # ranks in order, awards by the default shares: 3 teams → silver, bronze, none
    assert re.findall(r'data-award="(\w+)"', html) == ["silver", "bronze"]
    assert "Silver award" in html and "Bronze award" in html
    assert _scores(html) == sorted(_scores(html), reverse=True)


def test_scores_shown_or_hidden_as_configured(app, client):
    world = scored_round()
    snapshot = services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    values = [f"{row['score']:.2f}" for row in snapshot.rows]
    html = client.get(world.url(), headers=EN).text
    assert _scores(html) == values
    assert all(value in html for value in values)

    world.round.result_settings = {**(world.round.result_settings or {}), "show_scores": False}
    snapshot = services.publish(world.round, actor=world.organizer, now=NOW, reason="分数不再公开")
    db.session.commit()
    html = client.get(world.url(), headers=EN).text
    assert _scores(html) == []
    for row in snapshot.rows:
        assert f"{row['score']:.2f}" not in html and str(row["score"]) not in html
    assert "The scores themselves are not published for this round." in html
    assert re.findall(r'data-award="(\w+)"', html) == ["silver", "bronze"]  # ranks and awards stay


def test_names_follow_the_language(app, client):
    world = scored_round()
    services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    english = client.get(world.url(), headers=EN).text
    chinese = client.get(world.url(), headers=ZH).text
    assert "Sichuan University" in english and "Idea track" in english
    assert "四川大学" not in english and "创意组" not in english
    assert "四川大学" in chinese and "创意组" in chinese
    assert "Sichuan University" not in chinese
    assert 'lang="en"' in english and 'lang="zh-CN"' in chinese
    # the team and the project keep their one name in both
    team = world.teams[0]
    assert team.name in english and team.name in chinese


def _main(page: str) -> str:
    """The page's content without its header (whose CSRF token changes every second)."""
    return page[page.index("<main") : page.index("</main>")]


def test_the_page_is_the_snapshot_until_a_new_publication(app, client):
    world = scored_round()
    first = services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    before = _main(client.get(world.url(), headers=EN).text)
    top = first.rows[0]
    # a score changes after publication (e.g. a reopened scorecard): the public page does not
    db.session.execute(
        update(Scorecard).where(Scorecard.submission_id == top["submission_id"]).values(total=Scorecard.total - 30)
    )
    db.session.commit()
    assert services.compute_round(world.round).rows[0]["submission_id"] != top["submission_id"]
    assert _main(client.get(world.url(), headers=EN).text) == before
    PAGE_CACHE.clear()  # not the cache's doing: the snapshot itself is unchanged
    assert _main(client.get(world.url(), headers=EN).text) == before
    # a new, audited publication changes it
    second = services.publish(world.round, actor=world.organizer, now=NOW, reason="复核后更正分数")
    db.session.commit()
    after = client.get(world.url(), headers=EN).text
    assert after != before
    assert _scores(after) == [f"{row['score']:.2f}" for row in second.rows]
    assert f"{top['score'] - 30:.2f}" in _scores(after)  # each judge's total 30 lower
    assert "This publication replaces an earlier one." in after
    assert "复核后更正分数" not in after  # the reason is in the audit log, not on the public page


def test_each_snapshot_and_language_is_rendered_once(app, client, monkeypatch):
    from competition.results import public_views

    world = scored_round()
    services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    rendered = []
    original = public_views._render_tables
    monkeypatch.setattr(
        public_views, "_render_tables", lambda snapshot: rendered.append(snapshot.id) or original(snapshot)
    )
    for _ in range(3):
        client.get(world.url(), headers=EN)
        client.get(world.url(), headers=ZH)
    assert len(rendered) == 2
    assert len(PAGE_CACHE) == 2


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "student"])
def test_query_count_is_small_and_does_not_grow_with_the_rows(app, client, login_as, signed_in):
    contest = factories.competition(code="QC", state="judging")
    small = factories.round_(contest, position=1)
    large = factories.round_(contest, position=2, name_en="Final")
    synthetic_snapshot(small, 3)
    synthetic_snapshot(large, 100)
    if signed_in:
        login_as("student", competition=contest, locale="en")
    counts = {}
    for round_, rows in ((small, 3), (large, 100)):
        url = f"/results/{contest.code}/{round_.id}"
        with count_queries() as first:
            response = client.get(url, headers=EN)
        assert response.status_code == 200
        assert len(re.findall('data-testid="result-row"', response.text)) == rows
        with count_queries() as cached:
            client.get(url, headers=EN)
        counts[rows] = (len(first), len(cached))
    assert counts[3] == counts[100], counts
    assert max(counts[100]) <= 12, counts
    if not signed_in:
        assert counts[100] == (4, 3)  # competition, round, snapshot (+ its rows when not cached)


def test_the_page_is_fast_with_many_rows(app, client):
    contest = factories.competition(code="FAST", state="judging")
    round_ = factories.round_(contest)
    synthetic_snapshot(round_, 1000)
    url = f"/results/{contest.code}/{round_.id}"
    started = time.perf_counter()
    assert client.get(url, headers=EN).status_code == 200
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert client.get(url, headers=EN).status_code == 200
    cached = time.perf_counter() - started
    assert cached < 0.3, cached
    assert first < 1.5, first  # 1,000 teams rendered once; every later visit is the cached one


def test_competition_page_lists_public_results(app, client):
    world = scored_round()
    detail = f"/competitions/{world.contest.code}"
    assert 'data-testid="published-results"' not in client.get(detail, headers=EN).text
    services.start_notice(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    html = client.get(detail, headers=EN).text
    assert 'data-testid="published-results"' in html and world.url() in html
    assert "Provisional: under public notice" in html
    services.publish(world.round, actor=world.organizer, now=utcnow() + timedelta(days=8))
    db.session.commit()
    html = client.get(detail, headers=EN).text
    assert "Final results" in html and "Provisional: under public notice" not in html


# --- a team's feedback ------------------------------------------------------------------------------


def _member(world, index: int = 0):
    return world.teams[index].members[1].user


def test_feedback_only_after_publication_and_only_for_members(app, client, login_as):
    world = scored_round()
    team, other = world.teams[0], world.teams[1]
    url = f"/teams/{team.id}/results"
    member = _member(world)
    member.locale = "en"
    db.session.commit()
    login_as(user=member)
    assert client.get(url).status_code == 404  # nothing yet
    services.start_notice(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    assert client.get(url).status_code == 404  # a provisional list is no publication
    detail = client.get(f"/teams/{team.id}").text
    assert "Results and feedback" not in detail
    services.publish(world.round, actor=world.organizer, now=utcnow() + timedelta(days=8))
    db.session.commit()
    response = client.get(url)
    assert response.status_code == 200
    assert 'data-testid="team-result"' in response.text
    assert f"/teams/{team.id}/results" in client.get(f"/teams/{team.id}").text
    # another team's feedback is not found, for its members as for anyone else
    assert client.get(f"/teams/{other.id}/results").status_code == 404
    for role in ("student", "judge", "organizer"):
        login_as(role, competition=world.contest)
        assert client.get(url).status_code == 404, role
    login_as(user=world.judges[0])
    assert client.get(url).status_code == 404


def test_feedback_shows_criteria_and_anonymized_comments(app, client, login_as):
    world = scored_round()
    team = world.teams[0]
    snapshot = services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    member = _member(world)
    member.locale = "en"
    db.session.commit()
    login_as(user=member)
    html = client.get(f"/teams/{team.id}/results").text
    row = next(row for row in snapshot.rows if row["team_id"] == team.id)
    assert 'data-testid="team-rank"' in html and "1 of 3" in html
    assert f"{row['score']:.2f}" in html
    criteria = world.scoring.rubric.criteria
    assert len(re.findall('data-testid="criterion-row"', html)) == len(criteria)
    for criterion in criteria:
        assert (criterion.name_en or criterion.name_zh) in html
    assert "<meter" in html
    assert html.count(COMMENT) == 2 and html.count(OVERALL) == 2
    assert "Judge A" in html and "Judge B" in html
    for judge in world.judges:
        assert judge.real_name not in html and judge.email not in html
        assert f"judge-{judge.id}" not in html and f"judge_id={judge.id}" not in html
    assert "judge_id" not in html
    assert {comment["judge"] for comment in snapshot.feedback[str(row["submission_id"])]["comments"]} == {"A", "B"}
    assert 'data-testid="judge-comments"' in html and html.count('data-testid="judge-comments"') == 2


def test_feedback_without_scores_when_hidden(app, client, login_as):
    world = scored_round(settings={"show_scores": False})
    team = world.teams[0]
    snapshot = services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    member = _member(world)
    member.locale = "en"
    db.session.commit()
    login_as(user=member)
    html = client.get(f"/teams/{team.id}/results").text
    row = next(row for row in snapshot.rows if row["team_id"] == team.id)
    assert 'data-testid="team-score"' not in html and f"{row['score']:.2f}" not in html
    assert 'data-testid="team-rank"' in html


def test_a_team_page_without_results_shows_no_section(app, client, login_as):
    world = scored_round()
    team = world.teams[0]
    member = _member(world)
    login_as(user=member)
    assert 'data-testid="team-results-links"' not in client.get(f"/teams/{team.id}").text
    assert db.session.scalar(select(Scorecard.id).limit(1)) is not None
