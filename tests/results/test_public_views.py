"""The public results page, the competition page's list of results and a team's feedback page,
through HTTP: only snapshots are shown, never a live computation, and nothing before publication."""

from __future__ import annotations

import gzip
import re
import time
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from competition.core.time import utcnow
from competition.extensions import db
from competition.results import public_views, services
from competition.results.public_views import FULL_PAGES, PAGE_CACHE, SplicedPage
from competition.scoring.models import Scorecard
from tests import factories
from tests.results.public_world import COMMENT, EN, OVERALL, ZH, count_queries, scored_round, synthetic_snapshot
from tests.scoring.world import NOW


@pytest.fixture(autouse=True)
def _empty_page_cache():
    """Each test starts from empty tables, so snapshot ids repeat from one test to the next."""
    PAGE_CACHE.clear()
    FULL_PAGES.clear()
    yield
    PAGE_CACHE.clear()
    FULL_PAGES.clear()


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
        client.get(f"/competitions/{contest.code}", headers=EN)  # once-per-session checks (privacy consent)
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
        # the first visit: the page's facts, then competition, round, snapshot, its rows; then the whole
        # page comes from FULL_PAGES, and within a second without asking the database at all
        assert counts[100] == (5, 0)


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


# --- the whole page for anonymous visitors (FULL_PAGES) -----------------------------------------------


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _published(teams: int = 3):
    world = scored_round(teams=teams)
    services.publish(world.round, actor=world.organizer, now=NOW)
    db.session.commit()
    return world


def test_anonymous_visitors_get_the_whole_page_from_the_cache(app, client):
    world = _published()
    url = world.url()
    first = client.get(url, headers=EN)
    with count_queries() as queries:
        again = client.get(url, headers=EN)
    assert len(queries) == 0  # the facts of the page are a second old at most
    public_views._page_facts_memo.clear()  # a second later: one query says which snapshot is current
    with count_queries() as queries:
        client.get(url, headers=EN)
    assert len(queries) == 1
    assert len(FULL_PAGES) == 1
    assert again.status_code == 200 and again.mimetype == "text/html"
    assert _main(again.text) == _main(first.text)
    assert again.text.replace(_token(again.text), "") == first.text.replace(_token(first.text), "")
    assert again.headers["Cache-Control"] == "private, no-cache"  # the page holds the visitor's token
    assert {"Accept-Encoding", "Accept-Language", "Cookie"} <= {v.strip() for v in again.headers["Vary"].split(",")}
    assert again.headers["Content-Security-Policy"] and again.headers["X-Frame-Options"] == "DENY"
    # the other language is a page of its own
    chinese = client.get(world.url(), headers=ZH).text
    assert 'lang="zh-CN"' in chinese and "创意组" in chinese and "Idea track" not in chinese


def test_each_visitor_gets_a_working_token_of_their_own(app):
    app.config["WTF_CSRF_ENABLED"] = True
    world = _published()
    first, second = app.test_client(), app.test_client()
    page_first = first.get(world.url(), headers=EN).text  # rendered, and kept
    page_second = second.get(world.url(), headers=EN).text  # from the cache
    assert _main(page_first) == _main(page_second)
    form = {"locale": "zh_Hans_CN", "next": world.url()}
    assert second.post("/account/language", data={**form, "csrf_token": _token(page_first)}).status_code == 400
    switched = second.post("/account/language", data={**form, "csrf_token": _token(page_second)})
    assert switched.status_code == 302
    assert 'lang="zh-CN"' in second.get(world.url(), headers=EN).text  # the choice in the session wins
    assert 'lang="en"' in first.get(world.url(), headers=EN).text


def test_gzip_answer_is_the_same_page(app, client):
    world = _published(teams=12)
    plain = client.get(world.url(), headers=EN)
    assert "Content-Encoding" not in plain.headers
    packed = client.get(world.url(), headers={**EN, "Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(packed.data).decode()  # checks the CRC and the length
    assert html.replace(_token(html), "") == plain.text.replace(_token(plain.text), "")
    assert len(re.findall('data-testid="result-row"', html)) == 12
    assert len(packed.data) * 3 < len(plain.data)
    refused = client.get(world.url(), headers={**EN, "Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.text.lstrip().startswith("<!doctype html>")


@pytest.mark.parametrize("pieces", [1, 2, 3])
@pytest.mark.parametrize("token", [b"", b"IjQ2ZjE.aBc-DeF_123", b"x" * 70_000], ids=["empty", "token", "long"])
def test_spliced_page_is_valid_gzip_for_any_token(pieces, token):
    html = "\n".join(f"<p>第{n}段 part {n} {'重复的内容 ' * (n % 20)}</p>" for n in range(3000))
    cut = [html[i * len(html) // pieces : (i + 1) * len(html) // pieces] for i in range(pieces)]
    page = SplicedPage("@@TOKEN@@".join(cut), "@@TOKEN@@")
    expected = token.join(part.encode() for part in cut)
    assert page.plain(token) == expected
    assert gzip.decompress(page.gzip(token)) == expected
    assert zlib.decompress(page.gzip(token), wbits=47) == expected  # what browsers' zlib does


def test_a_conditional_request_gets_304_only_for_the_same_page_and_session(app, client):
    world = _published()
    tag = client.get(world.url(), headers=EN).headers["ETag"]
    assert tag.startswith('W/"')
    assert client.get(world.url(), headers={**EN, "If-None-Match": tag}).status_code == 304
    assert client.get(world.url(), headers={**ZH, "If-None-Match": tag}).status_code == 200  # another language
    assert (
        app.test_client().get(world.url(), headers={**EN, "If-None-Match": tag}).status_code == 200
    )  # another session
    services.publish(world.round, actor=world.organizer, now=NOW, reason="更正")
    db.session.commit()
    changed = client.get(world.url(), headers={**EN, "If-None-Match": tag})
    assert changed.status_code == 200 and "This publication replaces an earlier one." in changed.text


def test_what_the_page_shows_outside_the_tables_changes_at_once(app, client):
    world = _published()
    assert "Results of School round" in client.get(world.url(), headers=EN).text
    world.contest.name_en = "The renamed competition"
    world.round.name_en = "Renamed round"
    db.session.commit()
    html = client.get(world.url(), headers=EN).text
    assert "The renamed competition" in html and "Results of Renamed round" in html
    world.contest.state = "draft"
    db.session.commit()
    assert client.get(world.url(), headers=EN).status_code == 404


def test_the_notice_ends_on_the_cached_page_too(app, client):
    from freezegun import freeze_time

    world = scored_round()
    notice = services.start_notice(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    assert 'data-testid="results-notice"' in client.get(world.url(), headers=EN).text
    assert 'data-testid="results-notice"' in client.get(world.url(), headers=EN).text
    with freeze_time(notice.notice_until + timedelta(minutes=1)):
        html = client.get(world.url(), headers=EN).text
    assert 'data-testid="results-notice-ended"' in html and "teams may appeal" not in html


def test_signed_in_visitors_and_messages_take_the_ordinary_path(app, client, login_as):
    world = _published()
    anonymous = client.get(world.url(), headers=EN).text
    assert 'data-testid="user-menu"' not in anonymous and "/account/login" in anonymous
    student = login_as("student", competition=world.contest, locale="en", real_name="Visiting Student")
    url = world.url()
    with count_queries() as queries:
        html = client.get(url, headers=EN).text
    assert 'data-testid="user-menu"' in html and student.real_name in html
    assert len(queries) > 1
    assert client.get(world.url(), headers=EN).headers["Cache-Control"] == "no-store"
    other = app.test_client()
    with other.session_transaction() as session:
        session["_flashes"] = [("info", "A message waiting for the next page")]
    assert "A message waiting for the next page" in other.get(world.url(), headers=EN).text


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


def test_the_facts_of_a_page_are_asked_for_again_after_a_second(app, client, monkeypatch):
    """Another process's publication is seen when the remembered facts expire (a change in this
    process forgets them at once: the tests above)."""
    world = _published()
    url = world.url()
    clock = [1000.0]
    monkeypatch.setattr(public_views, "_clock", lambda: clock[0])
    client.get(url, headers=EN)
    for step, queries_expected in ((public_views.PAGE_FACTS_SECONDS / 2, 0), (public_views.PAGE_FACTS_SECONDS, 1)):
        clock[0] += step
        with count_queries() as queries:
            assert client.get(url, headers=EN).status_code == 200
        assert len(queries) == queries_expected
