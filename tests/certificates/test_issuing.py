"""Issuing from published results: who receives what, serials, idempotent plans, rendering with
the coverage stop, a crash part-way and the rerun, e-mails once."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, update

from competition.certificates import issuing, services
from competition.certificates import jobs as certificate_jobs
from competition.certificates.models import Certificate, CertificateCounter, CertificateState, CertificateTemplate
from competition.competitions.models import Competition
from competition.core import storage
from competition.core.errors import DomainError
from competition.core.mail import OutboxMessage
from competition.extensions import db
from competition.rounds.models import Round
from competition.teams.models import TeamMember
from tests import factories
from tests.certificates.world import EXPECTED_TOTAL, KilledError, published_round

pytestmark = pytest.mark.usefixtures("english")

ALL = issuing.IssueSettings()


def _rows(round_) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.round_id == round_.id)
                                   .order_by(Certificate.sequence)))  # fmt: skip


def _members(team) -> list[TeamMember]:
    return sorted(team.members, key=lambda member: member.id)


# --- recipients ---------------------------------------------------------------------------------


def test_recipients_follow_the_published_results_and_the_choices(app):
    world = published_round()
    t1, t2, t3 = world.teams
    found = issuing.recipients(world.round, ALL)
    summary = [(r.kind, r.recipient_type, r.name, r.award) for r in found]
    m1, m2, m3 = (_members(team) for team in (t1, t2, t3))
    assert summary == [
        ("award", "team", t1.name, "gold"),
        *[("award", "member", member.real_name, "gold") for member in m1],
        ("advisor", "advisor", "王建国", "gold"),
        ("advisor", "advisor", "刘芳", "gold"),
        ("award", "team", t2.name, "silver"),
        *[("award", "member", member.real_name, "silver") for member in m2],
        ("advisor", "advisor", "陈静", "silver"),
        *[("participation", "member", member.real_name, None) for member in m3],
        ("judge", "judge", world.judges[0].real_name, None),
        ("judge", "judge", world.judges[1].real_name, None),
    ]
    assert len(found) == EXPECTED_TOTAL
    assert len({r.key for r in found}) == EXPECTED_TOTAL
    # e-mail and account: members and judges have both; the advisor 王建国 has an account, 刘芳 only
    # an address, 陈静 neither
    by_name = {r.name: r for r in found}
    assert by_name["王建国"].user_id == world.advisor_user.id
    assert by_name["王建国"].email == world.advisor_user.email
    assert (by_name["刘芳"].user_id, by_name["刘芳"].email) == (None, "liufang@example.edu.cn")
    assert (by_name["陈静"].user_id, by_name["陈静"].email) == (None, None)

    only = issuing.IssueSettings(choices=frozenset({"award_team", "judge"}))
    assert [r.recipient_type for r in issuing.recipients(world.round, only)] == ["team", "team", "judge", "judge"]
    gold_advisors = issuing.IssueSettings(choices=frozenset({"advisor"}), advisor_awards=("gold",))
    assert [r.name for r in issuing.recipients(world.round, gold_advisors)] == ["王建国", "刘芳"]


def test_a_round_without_published_results_is_refused(app, fake_renderer):
    world = published_round(publish=False)
    with pytest.raises(DomainError, match="not published yet"):
        issuing.plan(world.round, ALL)
    with pytest.raises(DomainError, match="not published yet"):
        certificate_jobs.start(world.round, ALL, actor=world.organizer)
    assert db.session.scalar(select(func.count(Certificate.id))) == 0


def test_settings_are_checked():
    with pytest.raises(DomainError):
        issuing.IssueSettings(choices=frozenset()).check()
    with pytest.raises(DomainError):
        issuing.IssueSettings(choices=frozenset({"diploma"})).check()
    settings = issuing.IssueSettings(choices=frozenset({"judge", "award_team"}), issued_on=date(2026, 12, 20))
    assert issuing.IssueSettings.from_dict(settings.as_dict()) == settings
    assert settings.as_dict()["choices"] == ["award_team", "judge"]


# --- plan: serials, codes, idempotence ----------------------------------------------------------


def test_plan_makes_rows_with_serials_and_codes_before_rendering(app, fake_renderer):
    world = published_round()
    outcome = issuing.plan(world.round, ALL, actor=world.organizer)
    db.session.commit()
    assert (outcome.created, outcome.updated, outcome.removed, outcome.total) == (EXPECTED_TOTAL, 0, 0, EXPECTED_TOTAL)
    rows = _rows(world.round)
    assert [row.serial for row in rows] == [f"SC1-2026-{n:06d}" for n in range(1, EXPECTED_TOTAL + 1)]
    assert all(row.state == CertificateState.PENDING and row.file_key is None for row in rows)
    assert fake_renderer.rendered == []
    codes = [row.verification_code for row in rows]
    assert len(set(codes)) == EXPECTED_TOTAL
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", code) for code in codes)
    first = rows[0]
    assert first.values["serial"] == first.serial
    assert first.values["verify_url"] == f"http://localhost/verify/{first.verification_code}"
    assert first.values["award_zh"] == "金奖" and first.values["award_en"] == "Gold Award"
    assert first.values["recipient_name"] == world.teams[0].name
    assert first.values["track_zh"] == "创意组" and first.values["institution_zh"] == "四川大学"
    assert all(isinstance(value, str) for row in rows for value in row.values.values())
    counter = db.session.get(CertificateCounter, world.contest.id)
    assert counter.last_sequence == EXPECTED_TOTAL


def test_plan_twice_adds_nothing_and_keeps_serials_and_codes(app, fake_renderer):
    world = published_round()
    issuing.plan(world.round, ALL)
    db.session.commit()
    before = {(row.recipient_key, row.serial, row.verification_code) for row in _rows(world.round)}
    again = issuing.plan(world.round, ALL)
    db.session.commit()
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert {(row.recipient_key, row.serial, row.verification_code) for row in _rows(world.round)} == before
    assert db.session.get(CertificateCounter, world.contest.id).last_sequence == EXPECTED_TOTAL


def test_plan_adds_a_kind_chosen_later_and_drops_unrendered_rows_no_longer_wanted(app, fake_renderer):
    world = published_round()
    issuing.plan(world.round, issuing.IssueSettings(choices=frozenset({"award_team", "participation"})))
    db.session.commit()
    issuing.render_pending(world.round, limit=1)  # team 1's certificate is issued
    assert [row.state for row in _rows(world.round)] == ["issued"] + ["pending"] * 4
    outcome = issuing.plan(world.round, issuing.IssueSettings(choices=frozenset({"award_team", "judge"})))
    db.session.commit()
    # participation rows (never rendered) go; the judges come with new numbers; nothing is reused
    assert (outcome.created, outcome.removed) == (2, 3)
    rows = _rows(world.round)
    assert [(row.recipient_type, row.serial[-3:]) for row in rows] == [
        ("team", "001"), ("team", "002"), ("judge", "006"), ("judge", "007")
    ]  # fmt: skip


def test_sequences_run_per_competition_and_are_never_reused(app, fake_renderer):
    world = published_round()
    issuing.plan(world.round, issuing.IssueSettings(choices=frozenset({"judge"})))
    db.session.commit()
    other = factories.competition(code="CY2026", year=2026)
    assert services.allocate_sequences(other, 3) == [1, 2, 3]
    assert services.allocate_sequences(world.contest, 2) == [3, 4]
    assert services.allocate_sequences(other, 1) == [4]
    assert services.format_serial(other, 123) == "CY2026-2026-000123"
    assert services.format_serial(other, 1_234_567) == "CY2026-2026-1234567"
    db.session.rollback()  # numbers nobody saw go back with the transaction
    assert services.allocate_sequences(world.contest, 1) == [3]


# --- rendering ----------------------------------------------------------------------------------


def test_render_pending_issues_every_certificate_with_its_file_and_hash(app, fake_renderer):
    world = published_round()
    issuing.plan(world.round, ALL)
    outcome = issuing.render_pending(world.round)
    assert (outcome.issued, outcome.failed, outcome.skipped) == (EXPECTED_TOTAL, 0, 0)
    rows = _rows(world.round)
    assert all(row.state == CertificateState.ISSUED and row.issued_at is not None for row in rows)
    for row in rows:
        data = storage.path_for(row.file_key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256 and len(data) == row.size
        assert row.serial.encode() in data
    assert fake_renderer.serials == [row.serial for row in rows]
    # a second run has nothing to do
    assert issuing.render_pending(world.round).issued == 0
    assert len(fake_renderer.rendered) == EXPECTED_TOTAL


def test_an_uncovered_character_stops_that_certificate_only(app, fake_renderer):
    world = published_round()
    member = _members(world.teams[0])[1]
    member.real_name = "张\ue000三"  # a Private Use Area character: no font has it
    db.session.commit()
    issuing.plan(world.round, ALL)
    outcome = issuing.render_pending(world.round)
    assert (outcome.issued, outcome.failed) == (EXPECTED_TOTAL - 1, 1)
    failed = db.session.scalar(select(Certificate).where(Certificate.state == CertificateState.FAILED))
    assert failed.recipient_name == "张\ue000三"
    assert (failed.failure_reason, failed.uncovered_characters) == ("uncovered_characters", ["\ue000"])
    assert failed.file_key is None
    assert outcome.failures == [(failed.serial, "uncovered_characters", "\ue000")]
    assert "张\ue000三" not in [values["recipient_name"] for values in fake_renderer.rendered]

    # the organizer corrects the name; the next run updates the row (same serial) and issues it
    member.real_name = "张三"
    db.session.commit()
    again = issuing.plan(world.round, ALL)
    assert (again.created, again.updated) == (0, 1)
    assert issuing.render_pending(world.round).issued == 1
    db.session.refresh(failed)
    assert (failed.state, failed.recipient_name, failed.failure_reason) == ("issued", "张三", None)
    assert failed.values["recipient_name"] == "张三"


def test_a_crash_part_way_then_a_rerun_yields_exactly_the_expected_set(app, fake_renderer, monkeypatch):
    world = published_round()
    monkeypatch.setattr(issuing, "RENDER_CHUNK", 3)
    fake_renderer.die_after = 5  # in the second chunk of three: two of its PDFs made, never kept
    with pytest.raises(KilledError):
        certificate_jobs.run(world.round, ALL)
    db.session.rollback()
    rows = _rows(world.round)
    assert len(rows) == EXPECTED_TOTAL  # every row, serial and code was committed before rendering
    assert [row.state for row in rows] == ["issued"] * 3 + ["pending"] * (EXPECTED_TOTAL - 3)
    first_serials = {row.recipient_key: row.serial for row in rows}

    fake_renderer.die_after = None
    planned, rendered = certificate_jobs.run(world.round, ALL)
    assert (planned.created, rendered.issued, rendered.failed) == (0, EXPECTED_TOTAL - 3, 0)
    # the three issued before the crash were not rendered again; the two lost ones were
    assert len(fake_renderer.rendered) == EXPECTED_TOTAL + 2
    assert len(set(fake_renderer.serials)) == EXPECTED_TOTAL
    rows = _rows(world.round)
    expected_keys = {recipient.key for recipient in issuing.recipients(world.round, ALL)}
    assert {row.recipient_key for row in rows} == expected_keys
    assert {row.recipient_key: row.serial for row in rows} == first_serials
    assert [row.serial for row in rows] == [f"SC1-2026-{n:06d}" for n in range(1, EXPECTED_TOTAL + 1)]
    assert all(row.state == "issued" and storage.path_for(row.file_key).is_file() for row in rows)
    assert db.session.get(CertificateCounter, world.contest.id).last_sequence == EXPECTED_TOTAL


def test_a_certificate_changed_by_someone_else_while_rendering_is_left_alone(app, fake_renderer):
    """Revoked (or issued by another run) between loading and storing: not marked issued, its new
    file removed, no e-mail."""
    world = published_round()
    issuing.plan(world.round, issuing.IssueSettings(choices=frozenset({"judge"})))
    db.session.commit()
    first, second = issuing.pending_ids(world.round)

    def meanwhile(values):
        if values["serial"].endswith("000001"):
            db.session.execute(update(Certificate).where(Certificate.id == first).values(state="revoked"))

    fake_renderer.on_render = meanwhile
    folder = storage.upload_root() / "certificates" / str(world.contest.id)
    before = set(folder.glob("*.pdf"))
    outcome = issuing.render_ids([first, second])
    assert (outcome.issued, outcome.skipped) == (1, 1)
    row = db.session.get(Certificate, first)
    assert (row.state, row.file_key, row.emailed_at) == ("revoked", None, None)
    other = db.session.get(Certificate, second)
    assert set(folder.glob("*.pdf")) - before == {storage.path_for(other.file_key)}
    assert issuing.render_ids([first, second]).skipped == 2  # neither is pending any more


def test_recipients_with_an_account_get_one_email_per_certificate(app, fake_renderer):
    world = published_round()
    certificate_jobs.run(world.round, ALL)
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "certificates/emails/issued")
    ).all()
    users = [member.user for team in world.teams for member in _members(team)] + [world.advisor_user, *world.judges]
    assert sorted(message.to_address for message in messages) == sorted(user.email for user in users)
    assert all(row.emailed_at is not None for row in _rows(world.round) if row.recipient_user_id)
    assert all(row.emailed_at is None for row in _rows(world.round) if not row.recipient_user_id)
    certificate_jobs.run(world.round, ALL)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == len(messages)
    leader = world.teams[0].leader
    mail = next(message for message in messages if message.to_address == leader.email)
    row = next(row for row in _rows(world.round) if row.recipient_user_id == leader.id)
    assert mail.locale == "zh_Hans_CN"
    assert row.serial in mail.body_text and f"/verify/{row.verification_code}" in mail.body_text
    assert "金奖" in mail.body_text and world.teams[0].name in mail.body_text


def test_the_email_speaks_the_recipients_language(app, fake_renderer):
    world = published_round()
    judge = world.judges[0]
    judge.locale = "en"
    db.session.commit()
    certificate_jobs.run(world.round, issuing.IssueSettings(choices=frozenset({"judge"})))
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == judge.email))
    assert mail.subject.startswith("Your certificate from")
    assert "Certificate of Appreciation" in mail.body_text
    assert "Test competition" in mail.body_text  # the competition's English name
    other = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == world.judges[1].email))
    assert "评审专家感谢状" in other.body_text


# --- templates that cannot be used, and the real renderer ---------------------------------------


def test_a_broken_template_fails_its_kind_only_with_the_problem(app, fake_renderer):
    world = published_round()
    # saved without the check (an older template, say): it names a value that does not exist
    db.session.add(CertificateTemplate(competition_id=world.contest.id, kind="judge", html="<p>{{ salary }}</p>"))
    db.session.commit()
    issuing.plan(world.round, ALL)
    outcome = issuing.render_pending(world.round)
    assert (outcome.issued, outcome.failed) == (EXPECTED_TOTAL - 2, 2)
    failed = db.session.scalars(select(Certificate).where(Certificate.state == "failed")).all()
    assert {row.kind for row in failed} == {"judge"}
    assert all(row.failure_reason == "template" and "salary" in row.failure_detail for row in failed)


def test_every_default_template_takes_the_values_issuing_gives(app, fake_renderer):
    world = published_round()
    issuing.plan(world.round, ALL)
    issuing.render_pending(world.round)
    assert len(fake_renderer.html) == EXPECTED_TOTAL
    for values, html in zip(fake_renderer.rendered, fake_renderer.html, strict=True):
        assert values["recipient_name"] in html and values["serial"] in html
        assert "<svg" in html  # the QR code of verify_url


def test_real_pdfs_carry_the_name_the_serial_and_the_metadata(app):
    from pypdf import PdfReader

    world = published_round()
    leader = world.teams[0].leader
    member = next(m for m in world.teams[0].members if m.user_id == leader.id)
    member.real_name = "欧阳娜娜"
    world.contest.host_zh = "成渝地区双城经济圈高校就业创业协同发展联盟"
    db.session.commit()
    issuing.plan(world.round, issuing.IssueSettings(choices=frozenset({"award_member"})))
    issuing.render_pending(world.round, limit=1)
    row = db.session.scalar(select(Certificate).where(Certificate.state == "issued"))
    assert row.recipient_user_id == leader.id
    reader = PdfReader(storage.path_for(row.file_key))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "欧阳娜娜" in text and row.serial in text
    assert "金奖" in re.sub(r"\s", "", text)  # the award is letter-spaced
    assert reader.metadata.title == f"获奖证书 {row.serial}"
    assert reader.metadata.author == "成渝地区双城经济圈高校就业创业协同发展联盟"
    assert reader.metadata.subject == world.contest.name_zh

    batch = services.print_batch(services.issued_certificates(world.round))
    assert len(PdfReader(io.BytesIO(batch)).pages) == 1


# --- at once (SQLite locally, PostgreSQL with TEST_DATABASE_URL) --------------------------------

BIG_POOL = pytest.mark.app_config(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 0, "pool_timeout": 60})


def _at_once(app, jobs: list) -> list:
    """Run every `job()` in its own thread and app context, all starting together; returns what
    each returned (or the exception it raised)."""
    barrier = threading.Barrier(len(jobs), timeout=60)
    outcomes: list = [None] * len(jobs)

    def run(index: int, job) -> None:
        with app.app_context(), force_locale("en"):
            try:
                barrier.wait()
                outcomes[index] = job()
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported to the test
                db.session.rollback()
                outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    db.session.expire_all()
    return outcomes


@BIG_POOL
def test_sequences_allocated_at_once_never_collide(app):
    contest = factories.competition(code="RACE")
    db.session.commit()
    contest_id = contest.id

    def allocate():
        return services.allocate_sequences(db.session.get(Competition, contest_id), 5)

    outcomes = _at_once(app, [allocate for _ in range(8)])
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert sorted(number for numbers in outcomes for number in numbers) == list(range(1, 41))
    assert db.session.get(CertificateCounter, contest_id).last_sequence == 40


@BIG_POOL
def test_plans_and_renders_at_once_issue_each_certificate_once(app, fake_renderer):
    world = published_round()
    round_id = world.round.id

    def plan():
        return issuing.plan(db.session.get(Round, round_id), ALL).created

    created = _at_once(app, [plan for _ in range(6)])
    assert sorted(created) == [0] * 5 + [EXPECTED_TOTAL], created
    assert [row.serial for row in _rows(world.round)] == [f"SC1-2026-{n:06d}" for n in range(1, EXPECTED_TOTAL + 1)]

    def render():
        return issuing.render_pending(db.session.get(Round, round_id)).issued

    issued = _at_once(app, [render for _ in range(3)])
    assert sum(issued) == EXPECTED_TOTAL, issued
    assert [row.state for row in _rows(world.round)] == ["issued"] * EXPECTED_TOTAL
    mails = db.session.scalars(select(OutboxMessage.to_address).where(OutboxMessage.template.contains("certificates")))
    assert len(list(mails)) == 12  # one per certificate of a recipient with an account, never two
