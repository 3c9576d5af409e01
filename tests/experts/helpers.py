"""Shared builders for the expert pool's tests."""

from __future__ import annotations

from sqlalchemy import func, select

from competition.accounts.models import User
from competition.core.audit import AuditEntry
from competition.core.mail import OutboxMessage
from competition.experts import services
from competition.experts.models import Expert, Mentorship
from competition.extensions import db
from competition.judging.models import Conflict
from tests import factories


def profile(**fields) -> services.ExpertProfile:
    values = {
        "real_name": "张建国",
        "title": "教授",
        "employer": "天府创新投资",
        "city": "成都",
        "side": "sichuan",
        "kind": "investor",
        "expertise": "idea, 人工智能",
        "mentors": True,
    }
    values.update(fields)
    return services.ExpertProfile(**values)


def expert(user=None, **fields) -> Expert:
    """An expert row with an account (verified by default), mentoring teams."""
    values = {
        "employer": "两江智造科技",
        "city": "重庆",
        "side": "chongqing",
        "kind": "entrepreneur",
        "expertise": ["growth", "智能制造"],
        "mentors": True,
    }
    values.update(fields)
    row = Expert(user=user or factories.user(), **values)
    db.session.add(row)
    db.session.flush()
    return row


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Expert, Mentorship, AuditEntry, OutboxMessage, Conflict)
    }


def mails(template: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template).order_by(OutboxMessage.id))
    )
