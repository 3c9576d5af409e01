"""The pre-publication leak sweep: before the results are published nothing of the scores, ranks,
awards or the judges' comments reaches a student or the public, in any page, download, e-mail or
order of a list.

A round of three teams is scored by three judges with numbers that cannot occur by chance on a page
(means like 88.33 and 23.17, comments with a tag of their own). Then every GET route of the app
(app.url_map: a new route is swept without being listed here; one with an argument of a new name
fails until build_world gives it a value) is requested, its arguments filled from the round, by the
public and by students — the leader and a member of the best team, a member
of another team, and a student who is in all three teams (rows written directly: the platform allows
one team per competition, but this way lists of several teams appear in the pages) — and every
answer, downloads included (.xlsx unpacked), is searched. E-mails are searched as queued (the outbox
table) and as delivered (a real SMTP server).

After the notice starts the provisional list (ranks, awards and, as configured, scores) is public,
but criterion means and comments are not; after publication each team sees its own criterion means
and comments with the judges anonymized, and nothing of the judges. A score changed after
publication shows nowhere until a new publication. Every sweep has a positive control: what it
looks for, it finds where it is allowed.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from competition.accounts import services as accounts
from competition.core import storage
from competition.core.mail import OutboxMessage
from competition.core.time import utcnow
from competition.extensions import db
from competition.judging.models import Assignment, RoundJudge
from competition.results import appeals, services
from competition.results.models import AWARD_LABELS
from competition.results.public_views import PAGE_CACHE
from competition.scoring import services as scoring
from competition.scoring.models import Scorecard
from competition.submissions.models import MaterialSlot, Submission, SubmissionFile
from competition.teams.models import Advisor, TeamInvitation, TeamMember
from tests import factories

NOW = utcnow().replace(microsecond=0)
#: the round's rules: the mean of the judges' totals, awards by rank so that each team gets one
SETTINGS = {
    "method": "mean",
    "award_mode": "rank",
    "award_tiers": [["gold", 1], ["silver", 2], ["bronze", 3]],
    "notice_days": 7,
    "show_scores": True,
}
#: per team (in the order the teams are created): a tag, its name and the points of its first judge
#: per criterion of the preset alliance-online-review (25, 25, 20, 20, 10); the two other judges give
#: 0.5 less on every criterion. So totals are x.5 or whole, means of three judges end in .17, .33,
#: .67 or .83: numbers no page shows by chance.
TEAMS = (
    ("aurora", "Aurora 极光团队", (20, 19.5, 15, 14.5, 7)),  # 76, 73.5, 73.5: 74.33, the middle
    ("zenith", "Zenith 天顶团队", (23.5, 22, 18.5, 17, 9)),  # 90, 87.5, 87.5: 88.33, the best
    ("meteor", "Meteor 流星团队", (15.5, 14, 11, 10.5, 5.5)),  # 56.5, 54, 54: 54.83, the last
)
JUDGE_NAMES = ("郑审甲", "钱审乙", "孙审丙")
JUDGE_DELTA = (0, 0.5, 0.5)
#: rank and award wording, in both languages and however a template might put it
RANK_PATTERNS = (
    r"(?i)\brank(?:s|ed|ing)?\b",
    r"第\s*\d+\s*名",
    r"名次|排名|排行",
    r'data-testid="(?:team-rank|result-row|result-score|team-score|advances)"',
)
AWARD_WORDS = ("金奖", "银奖", "铜奖", "一等奖", "二等奖", "三等奖", "优秀奖", "荣誉奖", "特等奖")


def _number_pattern(value: float) -> str:
    """A number as a page could print it ("88.33", "87.5", "87.50"), not part of a longer one."""
    texts = {f"{value:.2f}", f"{value:g}"}
    body = "|".join(re.escape(text) for text in sorted(texts, key=len, reverse=True))
    return rf"(?<![\d.])(?:{body})(?![\d])"


def _fractional(value: float) -> bool:
    """Whole numbers (20, 90) are everywhere in a page: only numbers with decimals are searched."""
    return value != int(value)


@dataclass
class Team:
    tag: str
    row: object
    submission: object
    base: tuple
    score: float = 0.0
    criterion_means: list[float] = field(default_factory=list)
    judge_totals: list[float] = field(default_factory=list)
    points: set[float] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)


@dataclass
class World:
    contest: object
    round: object
    rubric: object
    organizer: object
    judges: list
    teams: dict[str, Team]
    visitors: dict[str, object]  # name → user (None: anonymous)
    values: dict[str, object]  # URL arguments
    assignments: dict[tuple[str, int], Assignment]

    @property
    def by_score(self) -> list[Team]:
        return sorted(self.teams.values(), key=lambda team: team.score, reverse=True)

    def public_url(self) -> str:
        return f"/results/{self.contest.code}/{self.round.id}"

    def team_results_url(self, tag: str) -> str:
        return f"/teams/{self.teams[tag].row.id}/results"


def _comment(tag: str, judge: int) -> str:
    return f"LEAK-{tag}-评委{judge}-分项意见：市场验证仍需加强"


def _overall(tag: str, judge: int) -> str:
    return f"LEAK-{tag}-评委{judge}-总体评价：完成度较高，建议补充财务预测"


def build_world(settings: dict | None = None) -> World:
    contest = factories.competition(code="LEAK", state="judging", name_zh="泄漏检查赛事", name_en="Leak check")
    track = factories.track(contest, "idea")
    round_ = factories.round_(contest, level="alliance", judging_opens_at=NOW - timedelta(days=1),
                              judging_closes_at=NOW + timedelta(days=7), result_settings={**SETTINGS, **(settings or {})})  # fmt: skip
    organizer = factories.user(real_name="组织者")
    factories.grant(organizer, contest, "organizer")
    rubric = scoring.create_rubric(round_, actor=organizer, preset_code="alliance-online-review")
    for criterion in rubric.criteria:
        criterion.step = Decimal("0.5")
    judges = []
    for index, name in enumerate(JUDGE_NAMES):
        judge = factories.user(real_name=name, email=f"leak-judge-{index}@judges.example.org",
                               institution=factories.institution("CQU"))  # fmt: skip
        factories.grant(judge, contest, "judge")
        db.session.add(RoundJudge(round_id=round_.id, user_id=judge.id))
        judges.append(judge)
    slot = MaterialSlot(round=round_, code="plan", label_zh="商业计划书", label_en="Business plan",
                        allowed_kinds=["pdf"], max_bytes=1024 * 1024, allow_link=True)  # fmt: skip
    db.session.add(slot)
    teams: dict[str, Team] = {}
    for number, (tag, name, base) in enumerate(TEAMS):
        row = factories.team(contest, state="approved", track_row=track, name=name)
        submission = Submission(round=round_, team=row, state="submitted", abstract="摘要",
                                submitted_at=NOW - timedelta(days=3, hours=number))  # fmt: skip
        db.session.add(submission)
        teams[tag] = Team(tag, row, submission, base)
    db.session.flush()
    best = teams["zenith"]
    stored = storage.save(io.BytesIO(b"%PDF-1.4\n%leak\n"), folder="submissions", suffix=".pdf")
    plan = SubmissionFile(submission=best.submission, slot=slot, original_name="计划书.pdf", kind="pdf",
                          storage_key=stored.key, size=stored.size, sha256=stored.sha256)  # fmt: skip
    advisor = Advisor(team=best.row, name="王老师", title="教授")
    invitation = TeamInvitation(team=best.row, email="invitee@example.edu.cn")
    db.session.add_all([plan, advisor, invitation])
    # a student in all three teams, so that the pages list several teams
    observer = factories.user(real_name="旁观学生", locale="en")
    for team in teams.values():
        team.row.members.append(
            TeamMember(user=observer, role="member", **factories.member_profile(observer).as_columns())
        )
        team.row.member_count += 1
    factories.grant_if_missing(observer, contest, "student")
    assignments = {}
    for team in teams.values():
        for index, judge in enumerate(judges):
            assignment = Assignment(round_id=round_.id, submission_id=team.submission.id, judge_id=judge.id)
            db.session.add(assignment)
            assignments[(team.tag, index)] = assignment
    db.session.commit()

    for team in teams.values():
        criteria = rubric.criteria
        for index, judge in enumerate(judges):
            given = [value - JUDGE_DELTA[index] for value in team.base]
            data = scoring.ScoreInput(
                {c.id: f"{points:g}" for c, points in zip(criteria, given, strict=True)},
                {criteria[0].id: _comment(team.tag, index)},
                _overall(team.tag, index),
                0,
            )
            scoring.save(assignments[(team.tag, index)], judge=judge, data=data, submit=True, now=NOW)
            team.judge_totals.append(sum(given))
            team.points.update(given)
            team.comments += [_comment(team.tag, index), _overall(team.tag, index)]
        team.score = round(sum(team.judge_totals) / len(judges), 2)
        team.criterion_means = [
            round(sum(base - delta for delta in JUDGE_DELTA) / len(judges), 2) for base in team.base
        ]  # fmt: skip
    db.session.commit()

    leader = best.row.leader
    best_member = next(member.user for member in best.row.members if member.role == "member")
    best_member.locale = "en"
    other_member = next(member.user for member in teams["aurora"].row.members if member.role == "member")
    db.session.commit()
    values = {
        "code": contest.code,
        "round_id": round_.id,
        "track_id": track.id,
        "submission_id": best.submission.id,
        "slot_id": slot.id,
        "file_id": plan.id,
        "advisor_id": advisor.id,
        "invitation_id": invitation.id,
        "member_id": best.row.members[1].id,
        "assignment_id": assignments[("zenith", 0)].id,
        "scorecard_id": db.session.scalar(select(Scorecard.id).where(Scorecard.submission_id == best.submission.id)),
        "rubric_id": rubric.id,
        "criterion_id": rubric.criteria[0].id,
        "user_id": judges[0].id,
        "grant_id": 1,
        "institution_id": best.row.institution_id,
        "round_judge_id": 1,
        "run_id": 1,
        "conflict_id": 1,
        "expert_id": 1,
        "mentorship_id": 1,
        "message_id": 1,
        "announcement_id": 1,
        "appeal_id": 1,
        "certificate_id": 1,
        "kind": "award",
        "verification_code": "no-such-code",
        "job_id": "1",
        "token": "no-such-token",
        "filename": "css/app.css",
    }
    visitors = {
        "anonymous": None,
        "anonymous, in English": None,
        "leader of the best team": leader,
        "member of the best team": best_member,
        "member of another team": other_member,
        "student in every team": observer,
    }
    return World(contest, round_, rubric, organizer, judges, teams, visitors, values, assignments)


# --- sweeping -------------------------------------------------------------------------------------


@dataclass
class Page:
    visitor: str
    url: str
    status: int
    text: str


def _text(response) -> str:
    """What a person gets: the page, or a download's content (an .xlsx unpacked)."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def _urls(app, world: World) -> list[str]:
    """Every GET route with its arguments from the world; team pages once per team."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        missing = set(rule.arguments) - set(world.values) - {"team_id"}
        assert not missing, f"{rule.rule}: give the leak sweep a value for {sorted(missing)}"
        team_ids = [team.row.id for team in world.teams.values()] if "team_id" in rule.arguments else [None]
        for team_id in team_ids:
            arguments = {name: world.values.get(name) for name in rule.arguments}
            if team_id is not None:
                arguments["team_id"] = team_id
            urls.append(rule.build(arguments, append_unknown=False)[1])
    return sorted(set(urls))


def sweep(app, world: World, visitors: tuple[str, ...] | None = None) -> list[Page]:
    pages = []
    urls = _urls(app, world)
    for name in visitors or tuple(world.visitors):
        user = world.visitors[name]
        client = app.test_client()
        headers = {"Accept-Language": "en" if name.endswith("English") else "zh-CN"}
        if user is not None:
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
        for url in urls:
            response = client.get(url, headers=headers)
            pages.append(Page(name, url, response.status_code, _text(response)))
    statuses = {page.status for page in pages}
    assert statuses <= {200, 302, 401, 403, 404, 405}, statuses
    return pages


def needles(world: World, *, teams=None, kinds=None) -> dict[str, list[str]]:
    """label → regular expressions of what must not show: per team its score, criterion means,
    judges' totals, points and comments; the judges; ranks; awards."""
    found: dict[str, list[str]] = {}
    for team in world.teams.values() if teams is None else teams:
        found[f"score of {team.tag}"] = [_number_pattern(team.score)]
        found[f"criterion means of {team.tag}"] = [_number_pattern(v) for v in team.criterion_means if _fractional(v)]
        found[f"judges' totals of {team.tag}"] = [_number_pattern(v) for v in team.judge_totals if _fractional(v)]
        found[f"points of {team.tag}"] = [_number_pattern(v) for v in sorted(team.points) if _fractional(v)]
        found[f"comments on {team.tag}"] = [re.escape(text) for text in team.comments] + [re.escape(f"LEAK-{team.tag}")]
    found["judges"] = [re.escape(judge.real_name) for judge in world.judges] + [
        re.escape(judge.email) for judge in world.judges
    ]  # fmt: skip
    found["ranks"] = list(RANK_PATTERNS)
    labels = set(AWARD_WORDS)
    for locale in ("en", "zh_Hans_CN"):
        with force_locale(locale):
            labels.update(str(label) for label in AWARD_LABELS.values())
    found["awards"] = [re.escape(label) for label in sorted(labels)] + [r"data-award="]
    if kinds is not None:
        found = {
            label: patterns for label, patterns in found.items() if label.split(" of ")[0].split(" on ")[0] in kinds
        }
    return found


def hits(pages: list[Page], patterns: dict[str, list[str]]) -> set[tuple[str, str, str]]:
    """(visitor, url, label) for every page showing one of the patterns."""
    compiled = {label: [re.compile(pattern) for pattern in items] for label, items in patterns.items()}
    return {
        (page.visitor, page.url, label)
        for page in pages
        for label, items in compiled.items()
        if any(pattern.search(page.text) for pattern in items)
    }


def score_ordered_lists(pages: list[Page], world: World) -> set[tuple[str, str]]:
    """(visitor, url) of pages listing several of the teams with the best-scored one first or in the
    order of the scores."""
    best_first = [team.row.name for team in world.by_score]
    flagged = set()
    for page in pages:
        shown = sorted((page.text.index(name), name) for name in best_first if name in page.text)
        order = [name for _position, name in shown]
        if len(order) < 2:
            continue
        by_scores = [name for name in best_first if name in order]
        if order[0] == best_first[0] or order == by_scores or (len(order) > 2 and order == by_scores[::-1]):
            flagged.add((page.visitor, page.url))
    return flagged


def mail_texts(outbox: list[EmailMessage]) -> list[Page]:
    """Every e-mail, as queued (subject, text and HTML in the outbox table) and as delivered."""
    texts = [
        Page(message.to_address, f"outbox #{message.id}", 0,
             "\n".join((message.subject, message.body_text, message.body_html)))
        for message in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]  # fmt: skip
    for message in outbox:
        parts = [str(message["Subject"])]
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts.append(part.get_content())
        texts.append(Page(", ".join(message.envelope_recipients), "smtp", 0, "\n".join(parts)))
    return texts


def mail_hits(mails: list[Page], world: World) -> set[tuple[str, str, str]]:
    """Nothing of the results in any e-mail; the judges' names only in their own (a reminder)."""
    judges = {judge.email for judge in world.judges}
    results = {label: patterns for label, patterns in needles(world).items() if label != "judges"}
    to_others = [page for page in mails if not set(page.visitor.split(", ")) & judges]
    return hits(mails, results) | hits(to_others, needles(world, kinds={"judges"}))


@pytest.fixture(autouse=True)
def _empty_page_cache():
    PAGE_CACHE.clear()
    yield
    PAGE_CACHE.clear()


@pytest.fixture
def world(app, outbox):
    return build_world()


def _labels(found: set[tuple[str, str, str]]) -> set[str]:
    return {label for _visitor, _url, label in found}


# --- before publication ---------------------------------------------------------------------------


def test_the_numbers_are_distinctive(app, world):
    """The sweep looks for numbers that only a leak can put on a page."""
    best, middle, last = world.by_score
    assert [best.tag, middle.tag, last.tag] == ["zenith", "aurora", "meteor"]
    assert (best.score, middle.score, last.score) == (88.33, 74.33, 54.83)
    assert best.criterion_means == [23.17, 21.67, 18.17, 16.67, 8.67]
    computed = services.compute_round(world.round)
    assert {row["team_id"]: row["score"] for row in computed.rows} == {
        team.row.id: team.score for team in world.teams.values()
    }
    by_team = {row["team_id"]: row for row in computed.rows}
    assert [by_team[team.row.id]["award"] for team in world.by_score] == ["gold", "silver", "bronze"]
    # the best team is last by name and not first by creation; none of the natural orders follows the scores
    names = [team.row.name for team in world.teams.values()]
    assert sorted(names)[-1] == best.row.name and names[0] != best.row.name


def test_before_publication_nothing_reaches_students_or_the_public(app, world, outbox):
    team = world.teams["zenith"]
    # e-mails that go out meanwhile: a scorecard given back to its judge, the reminder of the pending
    # work, a student's password reset; then the judge submits again
    card = db.session.scalar(select(Scorecard).where(Scorecard.assignment_id == world.assignments[("meteor", 2)].id))
    scoring.reopen(card, actor=world.organizer, reason="请复核", now=NOW)
    assert scoring.send_reminders(world.round, actor=world.organizer, now=NOW) == 1
    accounts.request_password_reset(team.row.leader.email)
    db.session.commit()
    points = {c.id: f"{v - 0.5:g}" for c, v in zip(world.rubric.criteria, world.teams["meteor"].base, strict=True)}
    data = scoring.ScoreInput(points, {}, _overall("meteor", 2), card.version)
    scoring.save(world.assignments[("meteor", 2)], judge=world.judges[2], data=data, submit=True, now=NOW)
    db.session.commit()

    pages = sweep(app, world)
    ok = [page for page in pages if page.status == 200]
    assert len({page.url for page in ok}) >= 15, "the sweep reached too few pages to mean anything"
    assert any(page.visitor == "member of the best team" and page.url == f"/teams/{team.row.id}" for page in ok)
    assert any(page.url == f"/teams/{team.row.id}/rounds/{world.round.id}/submission" for page in ok)
    assert hits(pages, needles(world)) == set()
    # the results pages exist for nobody yet
    for page in pages:
        if page.url == world.public_url() or page.url.endswith("/results"):
            sent_to_log_in = page.visitor.startswith("anonymous") and page.url != world.public_url()
            assert page.status == (302 if sent_to_log_in else 404), (page.visitor, page.url, page.status)
    # lists of several teams: "My teams" of the student in every team, at least
    assert score_ordered_lists(pages, world) == set()
    listing = [page for page in ok if sum(t.row.name in page.text for t in world.teams.values()) >= 2]
    assert listing, "no page lists several teams: the order check would check nothing"
    assert any(page.url == "/teams/" for page in listing)

    mails = mail_texts(outbox)
    assert {page.visitor for page in mails} >= {world.judges[2].email, team.row.leader.email}
    assert len([page for page in mails if page.url == "smtp"]) >= 2
    assert mail_hits(mails, world) == set()


def test_the_public_page_before_publication_is_not_found_in_either_language(app, world, client):
    for language in ("en", "zh-CN"):
        response = client.get(world.public_url(), headers={"Accept-Language": language})
        assert response.status_code == 404
        assert hits([Page("anonymous", world.public_url(), 404, response.text)], needles(world)) == set()


# --- the public notice ----------------------------------------------------------------------------


@pytest.mark.parametrize("show_scores", [True, False], ids=["scores shown", "scores hidden"])
def test_notice_shows_the_provisional_list_but_no_feedback(app, outbox, show_scores):
    world = build_world({"show_scores": show_scores})
    services.start_notice(world.round, actor=world.organizer, now=utcnow())
    db.session.commit()
    best = world.teams["zenith"]
    appeal = appeals.file_appeal(world.round, best.row, actor=best.row.leader, text="我们认为创新性评分偏低。",
                                 now=utcnow())  # fmt: skip
    db.session.commit()
    answer = "经复核，评分无误。ANSWER-CONTROL"
    appeals.answer_appeal(appeal, actor=world.organizer, answer=answer, now=utcnow())
    db.session.commit()
    world.values["appeal_id"] = appeal.id

    # with the scores hidden only the public, the best team and the student in every team (a shorter run)
    pages = sweep(
        app, world, None if show_scores else ("anonymous", "member of the best team", "student in every team")
    )
    public = {page.visitor: page for page in pages if page.url == world.public_url()}
    assert {page.status for page in public.values()} == {200}
    # positive control: the provisional list is public, with ranks and awards (and scores as configured)
    shown = _labels(hits(list(public.values()), needles(world)))
    assert {"ranks", "awards"} <= shown
    scores = {f"score of {tag}" for tag in world.teams}
    assert (scores <= shown) if show_scores else not (scores & shown)
    in_order = [team.row.name for team in world.by_score]
    text = public["anonymous"].text
    assert sorted(in_order, key=text.index) == in_order  # the list is in rank order
    # nothing else: no criterion means, no judges' totals or points, no comments, no judges
    private = {label for label in needles(world) if label not in scores | {"ranks", "awards"}}
    assert hits(pages, {label: needles(world)[label] for label in private}) == set()
    # ranks, awards and scores only on the public page
    elsewhere = [page for page in pages if page.url != world.public_url()]
    assert hits(elsewhere, needles(world, kinds={"score", "ranks", "awards"})) == set()
    for page in pages:
        if page.url.endswith("/results"):  # feedback only after publication (the public is sent to log in)
            assert page.status == (302 if page.visitor.startswith("anonymous") else 404), (page.visitor, page.url)
    assert score_ordered_lists(elsewhere, world) == set()
    # the appeal page works for the team, and the answer's e-mail says nothing of the scores
    appeal_page = [p for p in pages if p.url.endswith(f"/teams/{best.row.id}/rounds/{world.round.id}/appeal")]
    assert {p.status for p in appeal_page if p.visitor == "member of the best team"} == {200}
    mails = mail_texts(outbox)
    assert hits(mails, {"control": [re.escape("ANSWER-CONTROL")]}), "the mail search finds nothing at all"
    assert {page.url for page in mails} >= {"smtp"}
    assert mail_hits(mails, world) == set()


# --- after publication ----------------------------------------------------------------------------


def test_after_publication_each_team_sees_its_own_feedback_anonymized(app, world, outbox):
    services.start_notice(world.round, actor=world.organizer, now=utcnow())
    services.publish(world.round, actor=world.organizer, now=utcnow() + timedelta(days=8))
    db.session.commit()
    best, middle, last = world.by_score

    pages = sweep(app, world)
    feedback = needles(world, kinds={"criterion means", "comments"})
    found = hits(pages, feedback)
    # positive control: the sweep finds the feedback where it belongs
    own = world.team_results_url(best.tag)
    assert ("member of the best team", own, f"criterion means of {best.tag}") in found
    assert ("member of the best team", own, f"comments on {best.tag}") in found
    assert ("leader of the best team", own, f"comments on {best.tag}") in found
    assert ("member of another team", world.team_results_url(middle.tag), f"comments on {middle.tag}") in found
    # and nowhere else: a team's feedback is for its members, on its results page
    members = {
        tag: {name for name, user in world.visitors.items() if user is not None and team.row.member_for(user)}
        for tag, team in world.teams.items()
    }
    for visitor, url, label in found:
        tag = label.rsplit(" ", 1)[-1]
        assert url == world.team_results_url(tag) and visitor in members[tag], (visitor, url, label)
    # the judges are letters: no name, no e-mail, no judge's own total or points
    private = needles(world, kinds={"judges", "judges' totals", "points"})
    assert hits(pages, private) == set()
    own_page = next(p for p in pages if p.visitor == "member of the best team" and p.url == own)
    assert re.findall(r"Judge ([A-Z])\b", own_page.text) and set(re.findall(r"Judge ([A-Z])\b", own_page.text)) == {
        "A", "B", "C"
    }  # fmt: skip
    assert "judge_id" not in own_page.text and "leak-judge" not in own_page.text
    # the public page: every team's score, rank and award; the public gets no feedback
    public = [page for page in pages if page.url == world.public_url()]
    assert {page.status for page in public} == {200}
    shown = _labels(hits(public, needles(world)))
    assert {f"score of {tag}" for tag in world.teams} | {"ranks", "awards"} <= shown
    # the order check can fail: the published list is best first
    assert {(page.visitor, page.url) for page in public} <= score_ordered_lists(pages, world)
    results_pages = {world.public_url()} | {world.team_results_url(tag) for tag in world.teams}
    assert score_ordered_lists([page for page in pages if page.url not in results_pages], world) == set()
    assert mail_hits(mail_texts(outbox), world) == set()


def _main(response) -> str:
    """The page's own content: the header's forms carry a CSRF token that changes every second."""
    assert response.status_code == 200
    return re.search(r"<main.*</main>", response.text, re.S).group(0)


def test_a_score_changed_after_publication_waits_for_a_new_publication(app, world, client, login_as):
    first = services.publish(world.round, actor=world.organizer, now=utcnow() + timedelta(days=1))
    db.session.commit()
    best = world.teams["zenith"]
    member = next(member.user for member in best.row.members if member.role == "member")
    anonymous = app.test_client()
    public_before = _main(anonymous.get(world.public_url(), headers={"Accept-Language": "en"}))
    login_as(user=member)
    own_before = _main(client.get(world.team_results_url(best.tag)))

    # the organizers give the best team's first scorecard back and the judge lowers it a lot
    later = max(NOW, utcnow()) + timedelta(days=30)
    world.round.judging_opens_at, world.round.judging_closes_at = later - timedelta(hours=1), later + timedelta(days=1)
    assignment = world.assignments[(best.tag, 0)]
    card = db.session.scalar(select(Scorecard).where(Scorecard.assignment_id == assignment.id))
    scoring.reopen(card, actor=world.organizer, reason="评委申请修改", now=later)
    db.session.commit()
    lowered = (10.5, 10, 8.5, 7, 3.5)  # 39.5: the mean falls to 71.5, below the middle team's 74.33
    data = scoring.ScoreInput({c.id: f"{v:g}" for c, v in zip(world.rubric.criteria, lowered, strict=True)},
                              {}, "LEAK-CHANGED 复核后修改", card.version)  # fmt: skip
    scoring.save(assignment, judge=world.judges[0], data=data, submit=True, now=later)
    db.session.commit()
    new_score = round((sum(lowered) + sum(best.judge_totals[1:])) / 3, 2)
    new_means = [round((a + 2 * (b - 0.5)) / 3, 2) for a, b in zip(lowered, best.base, strict=True)]
    assert new_score == 71.5
    recomputed = services.compute_round(world.round)
    assert recomputed.rows[0]["team_id"] == world.teams["aurora"].row.id  # live, the order has changed
    changed = {
        "new score": [_number_pattern(new_score)],
        "new means": [_number_pattern(value) for value in new_means if value not in best.criterion_means],
        "new comment": [re.escape("LEAK-CHANGED")],
    }

    # nothing of it shows: not on the public page, not on the team's page, nowhere
    PAGE_CACHE.clear()  # the pages read the snapshot, not a cache kept from before
    assert _main(anonymous.get(world.public_url(), headers={"Accept-Language": "en"})) == public_before
    assert _main(client.get(world.team_results_url(best.tag))) == own_before
    assert hits(sweep(app, world), changed) == set()

    # a new, audited publication shows it
    second = services.publish(world.round, actor=world.organizer, now=later + timedelta(hours=2), reason="评分更正")
    db.session.commit()
    assert second.id != first.id
    pages = sweep(app, world, ("anonymous", "member of the best team"))
    found = hits(pages, changed)
    assert ("anonymous", world.public_url(), "new score") in found
    assert ("member of the best team", world.team_results_url(best.tag), "new means") in found
    assert ("member of the best team", world.team_results_url(best.tag), "new comment") in found
    assert {url for _visitor, url, _label in found} <= {world.public_url(), world.team_results_url(best.tag)}
