"""A round with published results for the certificate tests, and a fast stand-in for the PDF
layout (the real renderer is tested in test_rendering.py; test_issuing.py uses it once too).

The round (tests/results/public_world.py): three teams of one track, scored 90 %, 70 % and 50 %
by two judges; awards by rank: 1st gold, 2nd silver, 3rd none. Each team has a leader and two
members. Team 1 has two advisors (one with an account), team 2 one, team 3 one.

With every kind chosen, the certificates in serial order are:
 1 team 1 (gold)          2–4 its members        5–6 its advisors
 7 team 2 (silver)        8–10 its members       11 its advisor
 12–14 team 3's members (participation)
 15–16 the two judges
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from competition.certificates import rendering
from competition.core.jobs import Job
from competition.core.mail import OutboxMessage
from competition.extensions import db
from competition.notifications.models import Notification
from competition.results import services as results
from competition.teams.models import Advisor
from tests import factories
from tests.results.public_world import scored_round
from tests.scoring.world import NOW

PUBLISHED_AT = NOW + timedelta(days=8)
AWARD_SETTINGS = {"award_mode": "rank", "award_tiers": [["gold", 1], ["silver", 2]], "notice_days": 0}
EXPECTED_TOTAL = 16


@dataclass
class CertificateWorld:
    results: object
    advisor_user: object
    advisors: list = field(default_factory=list)

    @property
    def round(self):
        return self.results.round

    @property
    def contest(self):
        return self.results.contest

    @property
    def organizer(self):
        return self.results.organizer

    @property
    def judges(self):
        return self.results.judges

    @property
    def teams(self):
        return self.results.teams


def published_round(*, publish: bool = True) -> CertificateWorld:
    world = scored_round(teams=3, settings=AWARD_SETTINGS)
    teams = world.teams
    advisor_user = factories.user(real_name="王建国", institution=factories.institution("SCU"))
    advisors = [
        Advisor(team=teams[0], name="王建国", title="教授", user_id=advisor_user.id, institution=teams[0].institution),
        Advisor(team=teams[0], name="刘芳", title="副教授", email="liufang@example.edu.cn",
                institution=teams[0].institution),
        Advisor(team=teams[1], name="陈静", title="讲师", institution=teams[1].institution),
        Advisor(team=teams[2], name="赵磊", title="讲师", institution=teams[2].institution),
    ]  # fmt: skip
    db.session.add_all(advisors)
    db.session.flush()
    if publish:
        results.publish(world.round, actor=world.organizer, now=PUBLISHED_AT)
        _drop_publication_mails()
    db.session.commit()
    return CertificateWorld(world, advisor_user, advisors)


def _drop_publication_mails() -> None:
    """Publishing e-mails every member (tests/notifications covers it); these tests count the
    certificates' own e-mails and jobs, so the publication's are dropped before they are sent."""
    published = "results/emails/published"
    ids = set(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.template == published)))
    for job in db.session.scalars(select(Job).where(Job.name == "mail.deliver")):
        if job.args.get("message_id") in ids:
            db.session.delete(job)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.template == published))
    db.session.execute(delete(Notification).where(Notification.kind == published))
    db.session.flush()


# --- a stand-in renderer ------------------------------------------------------------------------


class KilledError(RuntimeError):
    """What a test raises to stand for a worker killed part-way."""


class FakeRenderer:
    """Fills the templates with the real (sandboxed, strict) Jinja of the renderer, so a missing or
    wrong value fails as it would, but makes a tiny stand-in PDF instead of laying one out.
    Records what it renders; `die_after` raises KilledError once that many PDFs were made."""

    def __init__(self, real):
        self.real = real
        self.rendered: list[dict] = []
        self.html: list[str] = []
        self.batches: list[list] = []
        self.die_after: int | None = None
        #: called with the values before each PDF is made
        self.on_render = None

    def render(self, template_html, values, *, metadata=None, css=""):
        if self.die_after is not None and len(self.rendered) >= self.die_after:
            raise KilledError("worker killed")
        if self.on_render is not None:
            self.on_render(values)
        self.html.append(self.real.fill(rendering.with_css(template_html, css), values))
        self.rendered.append(dict(values))
        return f"%PDF-1.7 fake {values['serial']} {values['recipient_name']}".encode()

    def render_many(self, items, metadata):
        """As the real one: a PDF or the TemplateProblem per item (a kill stops the whole chunk)."""
        results = []
        for item, meta in zip(items, metadata, strict=True):
            try:
                results.append(self.render(item[0], item[1], metadata=meta, css=item[2] if len(item) > 2 else ""))
            except rendering.TemplateProblem as problem:
                results.append(problem)
        return results

    def render_batch(self, items, metadata=None):
        self.batches.append(list(items))
        return b"%PDF-1.7 batch " + b" ".join(item[1]["serial"].encode() for item in items)

    def validate(self, template_html, css="", *, kind="award"):
        self.real.validate(template_html, css, kind=kind)

    def qr_svg(self, url):
        return self.real.qr_svg(url)

    @property
    def serials(self) -> list[str]:
        return [values["serial"] for values in self.rendered]


@pytest.fixture
def fake_renderer(monkeypatch) -> FakeRenderer:
    """The real rendering module (coverage check, templates, sandbox) with a recording stand-in
    for WeasyPrint's layout."""
    fake = FakeRenderer(rendering.renderer())
    monkeypatch.setattr(rendering, "renderer", lambda: fake)
    return fake
