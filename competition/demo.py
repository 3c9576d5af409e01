"""Demonstration data: the alliance's 2026 competition with one log-in per role.

Built from the alliance's institution list; every account shares one password so that a new user
can try each role at once. Never load this into production.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from competition.accounts.models import CompetitionRole, Role, User
from competition.accounts.services import hash_password
from competition.competitions.models import Competition, CompetitionState
from competition.core import audit
from competition.core.time import utcnow
from competition.extensions import db
from competition.institutions.models import Institution
from competition.institutions.services import load_institutions

DEMO_PASSWORD = "Demo2026!"  # noqa: S105 - printed on purpose: demo data only
DEMO_DOMAIN = "demo.cy-alliance.cn"

#: (e-mail local part, real name, institution code, role, is_admin) — the first of each role is
#: the one printed for trying the app.
DEMO_PEOPLE = [
    ("admin", "平台管理员", "SCU", None, True),
    ("organizer", "联盟秘书处 王敏", "CQU", Role.ORGANIZER, False),
    ("scu-office", "四川大学创新创业学院 李静", "SCU", Role.INSTITUTION_ORGANIZER, False),
    ("cqu-office", "重庆大学就业指导中心 陈刚", "CQU", Role.INSTITUTION_ORGANIZER, False),
    ("sisu-office", "四川外国语大学 周琳", "SISU", Role.INSTITUTION_ORGANIZER, False),
    ("judge", "张建国 教授", "CQUPT", Role.JUDGE, False),
    ("judge2", "刘晓燕 教授", "SWJTU", Role.JUDGE, False),
    ("judge3", "赵磊 投资人", "SWUFE", Role.JUDGE, False),
    ("student", "李明", "UESTC", Role.STUDENT, False),
    ("student2", "王芳", "SCU", Role.STUDENT, False),
    ("student3", "陈思远", "CQU", Role.STUDENT, False),
    ("student4", "杨雪", "SISU", Role.STUDENT, False),
    ("student5", "黄子涵", "SWU", Role.STUDENT, False),
    ("student6", "周博文", "SICAU", Role.STUDENT, False),
]

PRINTED_ROLES = {
    "admin": "platform admin / 平台管理员",
    "organizer": "organizer / 联盟组织者",
    "scu-office": "institution organizer (四川大学) / 院校组织者",
    "judge": "judge / 评委",
    "student": "student / 学生",
}


def demo_email(local_part: str) -> str:
    return f"{local_part}@{DEMO_DOMAIN}"


def load() -> Competition:
    load_institutions()
    institutions = {inst.code: inst for inst in db.session.scalars(select(Institution))}
    competition = Competition(
        code="CY2026",
        year=2026,
        name_zh="2026年成渝地区双城经济圈高校就业创业联盟创新创业大赛",
        name_en="2026 Chengdu–Chongqing Twin-City University Employment and Entrepreneurship Alliance Competition",
        description_zh=(
            "由成渝地区双城经济圈高校就业创业协同发展联盟主办，川渝两地高校联合承办。"
            "各校先举办校赛并推荐优秀团队，联盟组织网络评审与决赛路演。"
        ),
        description_en=(
            "Hosted by the alliance of universities of the Chengdu–Chongqing Twin-City Economic Circle. "
            "Each university runs its own round and recommends its best teams; the alliance runs the "
            "online review and the final roadshow."
        ),
        state=CompetitionState.REGISTRATION.value,
    )
    db.session.add(competition)
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    for local_part, real_name, institution_code, role, is_admin in DEMO_PEOPLE:
        user = User(
            email=demo_email(local_part),
            password_hash=password_hash,
            real_name=real_name,
            institution=institutions[institution_code],
            is_admin=is_admin,
            email_verified_at=now,
            locale="zh_Hans_CN",
        )
        db.session.add(user)
        if role is not None:
            db.session.add(
                CompetitionRole(
                    user=user,
                    competition=competition,
                    role=role.value,
                    institution=institutions[institution_code] if role == Role.INSTITUTION_ORGANIZER else None,
                )
            )
    db.session.flush()
    audit.record(None, "demo.load", competition)
    return competition


def print_logins(echo: Callable[[str], None]) -> None:
    echo(f"Demo log-ins (password for all: {DEMO_PASSWORD}):")
    for local_part, label in PRINTED_ROLES.items():
        echo(f"  {label:<48} {demo_email(local_part)}")
