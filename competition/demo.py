"""Demonstration data: the alliance's 2026 competition with one log-in per role.

Built from the alliance's institution list: four tracks; two institution-level school rounds (one
per pair of tracks, with different quotas) feeding the alliance's online review, then the final
roadshow; teams from both sides in every state, with members, advisors and recommendations. Every
account shares one password so that a new user can try each role at once. Never load this into
production.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from competition.accounts.models import CompetitionRole, Role, User
from competition.accounts.services import hash_password
from competition.competitions.models import Competition, CompetitionState, Track
from competition.core import audit
from competition.core.jobs import Job
from competition.core.mail import MailState, OutboxMessage
from competition.core.time import SHANGHAI, utcnow
from competition.extensions import db
from competition.institutions.models import Institution
from competition.institutions.services import load_institutions
from competition.rounds.models import EntrySource, QuotaKind, Round, RoundEntry, RoundEntryRule, RoundLevel
from competition.teams.models import Advisor, MemberRole, Team, TeamMember, TeamState

DEMO_PASSWORD = "Demo2026!"  # noqa: S105 - printed on purpose: demo data only  # nosec B105
DEMO_DOMAIN = "demo.cy-alliance.cn"

#: (e-mail local part, real name, institution code, role, is_admin) — the first of each role is
#: the one printed for trying the app.
DEMO_PEOPLE = [
    ("admin", "平台管理员", "SCU", None, True),
    ("organizer", "联盟秘书处 王敏", "CQU", Role.ORGANIZER, False),
    ("scu-office", "四川大学创新创业学院 李静", "SCU", Role.INSTITUTION_ORGANIZER, False),
    ("cqu-office", "重庆大学就业指导中心 陈刚", "CQU", Role.INSTITUTION_ORGANIZER, False),
    ("sisu-office", "四川外国语大学 周琳", "SISU", Role.INSTITUTION_ORGANIZER, False),
    ("uestc-office", "电子科技大学 何平", "UESTC", Role.INSTITUTION_ORGANIZER, False),
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

TRACKS = [
    ("idea", "创意组", "Idea"),
    ("startup", "初创组", "Start-up"),
    ("growth", "成长组", "Growth"),
    ("public", "公益组", "Public benefit"),
]

#: (leader's e-mail local part or None, institution, track, state, team name, project title)
DEMO_TEAMS = [
    ("student", "UESTC", "idea", TeamState.APPROVED, "芯火团队", "面向县域医院的低成本超声辅助诊断"),
    ("student2", "SCU", "startup", TeamState.SUBMITTED, "蜀锦新生", "非遗蜀锦的数字化设计与电商运营"),
    ("student3", "CQU", "growth", TeamState.APPROVED, "山城智运", "山地城市无人机末端配送"),
    ("student4", "SISU", "public", TeamState.RETURNED, "译路同行", "面向外籍来渝务工人员的语言服务平台"),
    ("student5", "SWU", "idea", TeamState.DRAFT, "桑梓农创", "柑橘园病虫害识别小程序"),
    ("student6", "SICAU", "public", TeamState.WITHDRAWN, "雅安茶语", "藏茶产业助农直播"),
    (None, "SCU", "idea", TeamState.APPROVED, "华西智护", "社区老人跌倒风险智能监测"),
    (None, "SCU", "idea", TeamState.APPROVED, "锦江数据", "川菜标准化配方数据平台"),
    (None, "SCU", "startup", TeamState.APPROVED, "望江储能", "退役动力电池梯次利用"),
    (None, "SCU", "growth", TeamState.DRAFT, "川大熊猫", "大熊猫文创 IP 授权"),
    (None, "UESTC", "idea", TeamState.APPROVED, "清水河光电", "可穿戴柔性光电传感器"),
    (None, "UESTC", "startup", TeamState.SUBMITTED, "电波科技", "低空通信感知一体化基站"),
    (None, "UESTC", "growth", TeamState.APPROVED, "成电芯片", "车规级 MCU 国产替代"),
    (None, "SWJTU", "growth", TeamState.RETURNED, "九里轨道", "轨道交通钢轨智能巡检"),
    (None, "SWUFE", "public", TeamState.APPROVED, "光华普惠", "乡村小微企业普惠金融咨询"),
    (None, "CQU", "idea", TeamState.APPROVED, "缙云新材", "建筑垃圾再生骨料"),
    (None, "CQU", "startup", TeamState.SUBMITTED, "渝见未来", "智慧停车共享平台"),
    (None, "CQU", "growth", TeamState.APPROVED, "嘉陵电驱", "摩托车电驱动系统"),
    (None, "CQU", "public", TeamState.APPROVED, "山城守护", "山区留守儿童心理陪伴"),
    (None, "SISU", "idea", TeamState.APPROVED, "歌乐山语", "AI 多语种导游讲解"),
    (None, "SISU", "startup", TeamState.DRAFT, "川外出海", "跨境电商本地化服务"),
    (None, "CQUPT", "growth", TeamState.APPROVED, "南山物联", "工业设备预测性维护"),
    (None, "CQUPT", "idea", TeamState.RETURNED, "邮电云枢", "中小企业私有云一体机"),
    (None, "SWU", "public", TeamState.SUBMITTED, "北碚蚕桑", "蚕桑产业乡村振兴"),
    (None, "SCFAI", "startup", TeamState.APPROVED, "黄桷坪设计", "城市更新公共艺术设计"),
    (None, "CQMU", "growth", TeamState.WITHDRAWN, "医渝康", "基层慢病管理平台"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN_NAMES = [
    "子涵",
    "浩然",
    "雨桐",
    "思远",
    "欣怡",
    "宇航",
    "梓萱",
    "俊杰",
    "诗琪",
    "博文",
    "佳怡",
    "嘉懿",
    "明轩",
    "一诺",
]
DEPARTMENTS = [("计算机学院", "软件工程"), ("经济学院", "金融学"), ("机械工程学院", "机械设计"), ("外国语学院", "英语"),
               ("公共管理学院", "社会工作"), ("材料学院", "材料科学与工程")]  # fmt: skip
ADVISORS = [("刘建华", "教授"), ("陈红", "副教授"), ("杨帆", "讲师"), ("周立群", "研究员")]


def demo_email(local_part: str) -> str:
    return f"{local_part}@{DEMO_DOMAIN}"


def _day(offset: int, hour: int = 17) -> datetime:
    """`offset` days from the day the demo is loaded, at `hour` o'clock Beijing time: the demo
    competition is always in the middle of its registration, whenever it is loaded."""
    today = utcnow().astimezone(SHANGHAI).date()
    return datetime(today.year, today.month, today.day, hour, tzinfo=SHANGHAI) + timedelta(days=offset)


def load() -> Competition:
    load_institutions()
    institutions = {inst.code: inst for inst in db.session.scalars(select(Institution))}
    competition = _competition()
    tracks = {code: Track(competition=competition, code=code, name_zh=zh, name_en=en, position=index)
              for index, (code, zh, en) in enumerate(TRACKS)}  # fmt: skip
    db.session.add_all(tracks.values())
    password_hash = hash_password(DEMO_PASSWORD)
    people = _people(competition, institutions, password_hash)
    db.session.flush()
    teams = _teams(competition, institutions, tracks, people, password_hash)
    rounds = _rounds(competition, tracks)
    db.session.flush()
    _recommend(rounds, teams, people["organizer"])
    _submissions(rounds, teams, people)
    _previous_edition(institutions, people, password_hash)
    _announcements(competition, people["organizer"])
    audit.record(None, "demo.load", competition)
    _settle_mail()
    db.session.flush()
    return competition


def _announcements(competition: Competition, organizer: User) -> None:
    from competition.communications.models import Announcement

    db.session.add_all([
        Announcement(
            competition=competition, pinned=True, published_at=_day(-80, 9), author_id=organizer.id,
            title_zh="报名通道已开放", title_en="Registration is open",
            body_zh="各校学生团队请在**报名截止前**完成组队、填写成员信息并提交审核。校赛名额见各赛段页面。",
            body_en="Student teams: form your team, complete every member's details and submit it for review "
                    "**before registration closes**. Each school round's quota is on its round page.",
        ),
        Announcement(
            competition=competition, published_at=_day(-20, 15), author_id=organizer.id,
            title_zh="商业计划书模板与评审细则已发布", title_en="Business plan template and rubric published",
            body_zh="网络评审采用联盟统一评分细则（创新性、商业模式、团队、市场、财务、社会价值）。",
            body_en="The online review uses the alliance's rubric: innovation, business model, team, market, "
                    "finance and social value.",
        ),
    ])  # fmt: skip


def _settle_mail() -> None:
    """The e-mails of the demo's story (receipts, review outcomes, results) were sent in that story:
    they stay in the outbox as sent and in each person's notifications, instead of being printed to
    the console on the first start."""
    db.session.flush()
    db.session.execute(delete(Job).where(Job.name == "mail.deliver", Job.state == "queued"))
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == MailState.QUEUED.value)
        .values(state=MailState.SENT.value, sent_at=utcnow())
    )


def _competition() -> Competition:
    competition = Competition(
        code="CY2026",
        year=2026,
        name_zh="2026年成渝地区双城经济圈高校就业创业联盟创新创业大赛",
        name_en="2026 Chengdu–Chongqing Twin-City University Employment and Entrepreneurship Alliance Competition",
        description_zh=(
            "由**成渝地区双城经济圈高校就业创业协同发展联盟**主办，川渝两地高校联合承办。\n\n"
            "- 各校举办校赛并按名额推荐优秀团队；\n- 联盟组织网络评审；\n- 决赛以现场路演形式进行。"
        ),
        description_en=(
            "Hosted by the **University Employment and Entrepreneurship Cooperative Development Alliance** "
            "of the Chengdu–Chongqing Twin-City Economic Circle.\n\n"
            "- Each university runs its school round and recommends teams within its quota;\n"
            "- the alliance runs the online review;\n- the final is a live roadshow."
        ),
        host_zh="成渝地区双城经济圈高校就业创业协同发展联盟",
        host_en="Chengdu–Chongqing University Employment and Entrepreneurship Alliance",
        co_hosts_zh="四川大学\n重庆大学",
        co_hosts_en="Sichuan University\nChongqing University",
        state=CompetitionState.REGISTRATION.value,
        max_teams_per_student=2,
        min_graduation_year=2021,
        max_graduation_year=2031,
        registration_opens_at=_day(-80, 9),
        registration_closes_at=_day(45),
        submission_deadline=_day(55),
        publication_at=_day(140, 10),
    )
    db.session.add(competition)
    return competition


def _people(competition, institutions, password_hash) -> dict[str, User]:
    now = utcnow()
    people = {}
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
        people[local_part] = user
        if role is not None:
            db.session.add(
                CompetitionRole(
                    user=user,
                    competition=competition,
                    role=role.value,
                    institution=institutions[institution_code] if role == Role.INSTITUTION_ORGANIZER else None,
                )
            )
    return people


def _teams(competition, institutions, tracks, people, password_hash, specs=DEMO_TEAMS, first_number: int = 1,
           submitted_at: datetime | None = None) -> list[Team]:  # fmt: skip
    names = (f"{surname}{given}" for surname, given in itertools.product(SURNAMES, GIVEN_NAMES))
    numbers = itertools.count(first_number)
    teams = []
    now = utcnow()
    for index, (leader_key, code, track_code, state, team_name, title) in enumerate(specs):
        institution = institutions[code]
        leader = people.get(leader_key) if leader_key else None
        size = 3 + index % 3
        members: list[User] = [leader] if leader else []
        while len(members) < size:
            number = next(numbers)
            student = User(
                email=demo_email(f"s{number:03d}"),
                password_hash=password_hash,
                real_name=next(names),
                institution=institution,
                email_verified_at=now,
            )
            db.session.add(student)
            members.append(student)
        team = Team(
            competition=competition,
            track=tracks[track_code],
            institution=institution,
            name=team_name,
            project_title=title,
            leader=members[0],
            state=state.value,
            member_count=len(members),
            submitted_at=(submitted_at or now) if state != TeamState.DRAFT else None,
            return_reason="请补充每位成员的学籍信息，并说明项目与成渝协同的关系。"
            if state == TeamState.RETURNED
            else None,
        )
        db.session.add(team)
        for position, person in enumerate(members):
            department, major = DEPARTMENTS[(index + position) % len(DEPARTMENTS)]
            enrolled = 2022 + (index + position) % 3
            team.members.append(
                TeamMember(
                    user=person,
                    role=(MemberRole.LEADER if position == 0 else MemberRole.MEMBER).value,
                    real_name=person.real_name,
                    student_number=f"{enrolled}{institution.id:03d}{index:02d}{position:02d}",
                    institution=institution,
                    department=department,
                    major=major,
                    degree_level="master" if position == 1 and index % 4 == 0 else "bachelor",
                    enrollment_year=enrolled,
                    graduation_year=enrolled + 4,
                )
            )
            if not (leader is not None and person is leader):
                db.session.add(CompetitionRole(user=person, competition=competition, role=Role.STUDENT.value))
        for advisor_name, title in ADVISORS[: 1 + index % 2]:
            team.advisors.append(Advisor(name=advisor_name, title=title, institution=institution))
        teams.append(team)
    return teams


def _rounds(competition, tracks) -> dict[str, Round]:
    online = Round(competition=competition, position=2, name_zh="联盟网络评审", name_en="Alliance online review",
                   level=RoundLevel.ALLIANCE.value, entry_rule=RoundEntryRule.ADVANCED.value, blind=True,
                   submission_deadline=_day(80),
                   judging_opens_at=_day(85, 9), judging_closes_at=_day(105))  # fmt: skip
    final = Round(competition=competition, position=3, name_zh="联盟决赛路演", name_en="Alliance final roadshow",
                  level=RoundLevel.ALLIANCE.value, entry_rule=RoundEntryRule.ADVANCED.value,
                  judging_opens_at=_day(130, 9), judging_closes_at=_day(130, 18))  # fmt: skip
    school_a = Round(competition=competition, position=1, name_zh="校赛（创意组·初创组）",
                     name_en="School round (idea and start-up)", level=RoundLevel.INSTITUTION.value,
                     entry_rule=RoundEntryRule.ALL_APPROVED.value, next_round=online,
                     quota_kind=QuotaKind.COUNT.value, quota_value=2,
                     submission_deadline=_day(25),
                     judging_opens_at=_day(-5, 9), judging_closes_at=_day(60))  # fmt: skip
    school_a.tracks = [tracks["idea"], tracks["startup"]]
    school_b = Round(competition=competition, position=1, name_zh="校赛（成长组·公益组）",
                     name_en="School round (growth and public benefit)", level=RoundLevel.INSTITUTION.value,
                     entry_rule=RoundEntryRule.ALL_APPROVED.value, next_round=online,
                     quota_kind=QuotaKind.PERCENT.value, quota_value=50,
                     submission_deadline=_day(50),
                     judging_opens_at=_day(52, 9), judging_closes_at=_day(70))  # fmt: skip
    school_b.tracks = [tracks["growth"], tracks["public"]]
    db.session.add_all([school_a, school_b, online, final])
    return {"school_a": school_a, "school_b": school_b, "online": online, "final": final}


def _demo_pdf(title: str) -> bytes:
    """A small one-page PDF standing in for a business plan."""
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Title"] = title
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def _submissions(rounds, teams, people) -> None:
    """Materials for the rounds; in school round A (judging open now) a few plans handed in and a
    draft; the round's judges and an applied assignment (two judges per submission)."""
    import io

    from competition.submissions import services as submissions

    organizer = people["organizer"]
    for key in ("school_a", "school_b", "online"):
        submissions.add_standard_slots(rounds[key], actor=organizer)
    db.session.flush()
    now = utcnow()
    by_name = {team.name: team for team in teams}
    school_a = rounds["school_a"]
    plan = next(slot for slot in school_a.material_slots if slot.code == "plan")
    abstract = "项目面向川渝两地的真实需求，团队已完成原型开发并在合作单位试用，计划在一年内实现规模化推广。"
    for name, hand_in in (("芯火团队", True), ("华西智护", True), ("锦江数据", True), ("清水河光电", False)):
        team = by_name[name]
        member = team.leader
        submissions.upload(school_a, team, plan, actor=member, stream=io.BytesIO(_demo_pdf(team.project_title)),
                           filename=f"{team.name}-商业计划书.pdf", started_at=now, now=now)  # fmt: skip
        submissions.save_details(school_a, team, actor=member, abstract=abstract, keywords="乡村振兴, 人工智能",
                                 industry="信息技术", stage="prototype", now=now)  # fmt: skip
        if hand_in:
            submissions.submit(school_a, team, actor=member, now=now)
    _judging(school_a, people, teams)


#: (e-mail local part, name, title, employer, institution code or None, city, side, kind, expertise, mentors)
DEMO_EXPERTS = [
    ("judge", "张建国 教授", "教授", "重庆邮电大学", "CQUPT", "重庆", "chongqing", "academic", ["idea", "信息技术", "人工智能"], True),
    ("judge2", "刘晓燕 教授", "教授", "西南交通大学", "SWJTU", "成都", "sichuan", "academic", ["startup", "growth", "轨道交通"], True),
    ("judge3", "赵磊 投资人", "合伙人", "天府创新投资", None, "成都", "sichuan", "investor", ["idea", "startup", "信息技术"], False),
    ("judge4", "孙婷 创业者", "创始人", "两江智造科技", None, "重庆", "chongqing", "entrepreneur", ["growth", "智能制造"], True),
    ("judge5", "吴强 研究员", "研究员", "四川省科技厅", None, "成都", "sichuan", "official", ["public", "乡村振兴"], False),
]  # fmt: skip


def _judging(school_a, people, teams) -> None:
    """The alliance's experts, the school round's judges and an applied assignment; one mentorship."""
    from competition.experts.models import Expert, Mentorship, MentorshipState
    from competition.judging import assignment, conflicts
    from competition.judging.models import RoundJudge

    institutions = {inst.code: inst for inst in db.session.scalars(select(Institution))}
    password_hash = people["admin"].password_hash
    organizer = people["organizer"]
    experts = {}
    for key, name, title, employer, code, city, side, kind, expertise, mentors in DEMO_EXPERTS:
        user = people.get(key)
        if user is None:
            user = User(email=demo_email(key), password_hash=password_hash, real_name=name, locale="zh_Hans_CN",
                        institution=institutions.get(code), email_verified_at=utcnow())  # fmt: skip
            db.session.add(user)
            people[key] = user
            db.session.add(CompetitionRole(user=user, competition=school_a.competition, role=Role.JUDGE.value))
        experts[key] = Expert(user=user, title=title, employer=employer, institution=institutions.get(code), city=city,
                              side=side, kind=kind, expertise=expertise, mentors=mentors)  # fmt: skip
        db.session.add(experts[key])
        db.session.add(RoundJudge(round_id=school_a.id, user=user, added_by_id=organizer.id))
    by_name = {team.name: team for team in teams}
    db.session.add(Mentorship(team=by_name["山城智运"], expert=experts["judge4"], state=MentorshipState.ACCEPTED.value,
                              message="希望在智能制造方向得到指导", answered_at=utcnow()))  # fmt: skip
    db.session.flush()
    conflicts.refresh_automatic_conflicts(school_a.competition, actor=organizer)
    settings = assignment.Settings(judges_per_submission=2)
    assignment.apply(assignment.propose(school_a, actor=organizer, settings=settings), actor=organizer)
    _scoring(school_a, organizer)


def _scoring(school_a, organizer) -> None:
    """The round's rubric (from the alliance preset) and some scorecards: every judge but the demo
    judge has submitted theirs; the demo judge has one draft and the rest still to do."""
    from competition.judging.models import Assignment
    from competition.scoring import services as scoring

    rubric = scoring.create_rubric(school_a, actor=organizer, preset_code="alliance-online-review")
    rubric.min_comment_chars = 20
    db.session.flush()
    now = utcnow()
    comment = "项目切入点清晰，团队执行力强；建议补充市场规模测算和成渝两地的推广计划。"
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.round_id == school_a.id).order_by(Assignment.id)
    )
    demo_judge = db.session.scalar(select(User.id).where(User.email == demo_email("judge")))
    drafted = False
    for index, item in enumerate(assignments):
        points = {c.id: str(int(c.max_points) - (index + position) % 5) for position, c in enumerate(rubric.criteria)}
        judge = db.session.get(User, item.judge_id)
        if item.judge_id == demo_judge:
            if not drafted:
                scoring.save(item, judge=judge, data=scoring.ScoreInput(points, {}, "", 0), submit=False, now=now)
                drafted = True
            continue
        scoring.save(item, judge=judge, data=scoring.ScoreInput(points, {}, comment, 0), submit=True, now=now)


def _recommend(rounds, teams, organizer) -> None:
    """四川大学 has used both of its places in school round A; others have started recommending."""
    by_name = {team.name: team for team in teams}
    for round_key, team_name in (("school_a", "华西智护"), ("school_a", "锦江数据"), ("school_b", "山城智运"),
                                 ("school_a", "芯火团队")):  # fmt: skip
        team = by_name[team_name]
        db.session.add(
            RoundEntry(
                round_id=rounds["online"].id,
                team=team,
                institution_id=team.institution_id,
                from_round_id=rounds[round_key].id,
                source=EntrySource.RECOMMENDED.value,
                created_by_id=organizer.id,
            )
        )


#: last year's finalists: (leader or None, institution, track, team name, project title)
PREVIOUS_TEAMS = [
    ("student", "UESTC", "idea", "星河视觉", "基于机器视觉的茶叶分级系统"),
    ("student2", "SCU", "idea", "锦城康养", "社区老人智能陪护机器人"),
    ("student3", "CQU", "startup", "渝新材料", "废旧锂电池正极材料回收"),
    (None, "SWU", "idea", "柑橘数智", "柑橘全产业链溯源平台"),
    (None, "SISU", "idea", "语联川渝", "小语种跨境电商直播服务"),
    (None, "CTBU", "startup", "山城味道", "重庆小面预制菜品牌出海"),
    (None, "CDUT", "startup", "普惠小贷", "面向个体工商户的信用评估模型"),
    (None, "SICAU", "idea", "天府农芯", "丘陵地区小型智能农机"),
    (None, "SCU", "startup", "蜀道云游", "川西文旅数字导览"),
    (None, "CQMU", "startup", "渝医通", "基层医院远程影像诊断平台"),
    (None, "UESTC", "startup", "芯链科技", "国产工业物联网网关"),
    (None, "CQU", "idea", "绿色工地", "建筑垃圾就地再生利用"),
]  # fmt: skip


def _previous_edition(institutions, people, password_hash) -> None:
    """Last year's competition, finished: its final scored by five judges, the provisional list
    under public notice for a week (one appeal, answered), then the results published — so the
    results pages, the statistics, the export and a team's feedback (the demo student led 星河视觉)
    have something to show."""
    import io

    from competition.judging import assignment
    from competition.judging.models import Assignment, RoundJudge
    from competition.results import appeals
    from competition.results import services as results
    from competition.scoring import services as scoring
    from competition.submissions import services as submissions

    organizer = people["organizer"]
    competition = Competition(
        code="CY2025", year=2025,
        name_zh="2025年成渝地区双城经济圈高校就业创业联盟创新创业大赛",
        name_en="2025 Chengdu–Chongqing Twin-City University Employment and Entrepreneurship Alliance Competition",
        description_zh="上一届大赛：决赛结果已公示并发布。", description_en="Last year's competition: the results are published.",
        host_zh="成渝地区双城经济圈高校就业创业协同发展联盟",
        host_en="Chengdu–Chongqing University Employment and Entrepreneurship Alliance",
        state=CompetitionState.PUBLISHED.value, max_teams_per_student=2, min_graduation_year=2020,
        max_graduation_year=2030, registration_opens_at=_day(-420, 9), registration_closes_at=_day(-400),
        submission_deadline=_day(-390), publication_at=_day(-360, 10),
    )  # fmt: skip
    db.session.add(competition)
    tracks = {code: Track(competition=competition, code=code, name_zh=zh, name_en=en, position=index)
              for index, (code, zh, en) in enumerate(TRACKS[:2])}  # fmt: skip
    db.session.add_all(tracks.values())
    for key in ("organizer",):
        db.session.add(CompetitionRole(user=people[key], competition=competition, role=Role.ORGANIZER.value))
    specs = [
        (leader, code, track, TeamState.APPROVED, name, title) for leader, code, track, name, title in PREVIOUS_TEAMS
    ]
    teams = _teams(competition, institutions, tracks, people, password_hash, specs=specs, first_number=501,
                   submitted_at=_day(-401))  # fmt: skip
    for team in teams:
        if team.leader in people.values():
            db.session.add(CompetitionRole(user=team.leader, competition=competition, role=Role.STUDENT.value))
    final = Round(competition=competition, position=1, name_zh="联盟决赛", name_en="Alliance final",
                  level=RoundLevel.ALLIANCE.value, entry_rule=RoundEntryRule.ALL_APPROVED.value,
                  submission_deadline=_day(-390), judging_opens_at=_day(-388, 9), judging_closes_at=_day(-375))  # fmt: skip
    final.tracks = list(tracks.values())
    db.session.add(final)
    db.session.flush()
    submissions.add_standard_slots(final, actor=organizer)
    db.session.flush()
    plan = next(slot for slot in final.material_slots if slot.code == "plan")
    handed_in = _day(-392)
    for team in teams:
        submissions.upload(final, team, plan, actor=team.leader, stream=io.BytesIO(_demo_pdf(team.project_title)),
                           filename=f"{team.name}-商业计划书.pdf", started_at=handed_in, now=handed_in)  # fmt: skip
        submissions.save_details(final, team, actor=team.leader, abstract=f"{team.project_title}：已完成试点。",
                                 keywords="成渝协同", industry="信息技术", stage="revenue", now=handed_in)  # fmt: skip
        submissions.submit(final, team, actor=team.leader, now=handed_in)
    judges = [people[key] for key in ("judge", "judge2", "judge3", "judge4", "judge5")]
    for judge in judges:
        db.session.add(RoundJudge(round_id=final.id, user=judge, added_by_id=organizer.id))
        db.session.add(CompetitionRole(user=judge, competition=competition, role=Role.JUDGE.value))
    db.session.flush()
    settings = assignment.Settings(judges_per_submission=5)
    assignment.apply(assignment.propose(final, actor=organizer, settings=settings), actor=organizer)
    rubric = scoring.create_rubric(final, actor=organizer, preset_code="alliance-online-review")
    db.session.flush()
    scored_at = _day(-380)
    comments = ["商业模式清晰，市场调研扎实，建议进一步说明盈利周期。", "技术路线可行，团队分工合理；融资计划略显乐观。",
                "社会价值突出，成渝两地的推广路径需要更具体。"]  # fmt: skip
    # judge3 is harsh and judge5 lenient (the statistics show it); judge3 also loves one project,
    # which the disagreement flag catches
    bias = {judge.id: shift for judge, shift in zip(judges, (0, 0.02, -0.07, 0, 0.04), strict=True)}
    for item in db.session.scalars(select(Assignment).where(Assignment.round_id == final.id).order_by(Assignment.id)):
        strength = [team.id for team in teams].index(item.submission.team_id)
        share = 0.93 - 0.021 * strength + bias[item.judge_id]
        if item.judge_id == judges[2].id and strength == 9:
            share += 0.35
        points = {}
        for position, criterion in enumerate(rubric.criteria):
            noise = ((item.submission_id * 3 + item.judge_id * 5 + position) % 5 - 2) * 0.02
            points[criterion.id] = str(round(float(criterion.max_points) * min(1.0, max(0.3, share + noise))))
        comment = comments[(item.submission_id + item.judge_id) % len(comments)]
        scoring.save(item, judge=db.session.get(User, item.judge_id),
                     data=scoring.ScoreInput(points, {}, comment, 0), submit=True, now=scored_at)  # fmt: skip
    db.session.flush()
    results.save_settings(final, actor=organizer, settings=results.ResultSettings(notice_days=7, max_range=20))
    notice_at = _day(-370, 10)
    results.start_notice(final, actor=organizer, now=notice_at)
    appeal = appeals.file_appeal(final, teams[1], actor=teams[1].leader, now=notice_at + timedelta(days=2),
                                 text="我们认为“市场分析”一项的评分未考虑我们补充的调研数据，恳请复核。")  # fmt: skip
    appeals.answer_appeal(appeal, actor=organizer, now=notice_at + timedelta(days=4),
                          answer="经复核，五位评委的评分均依据评审细则给出，维持原结果。感谢你们的参与。")  # fmt: skip
    results.publish(final, actor=organizer, now=_day(-362, 10))
    _certificates(final, organizer, people["student"])


def _certificates(final, organizer, student) -> None:
    """Every certificate of last year's final planned (serials and verification codes), and the demo
    student's rendered — the organizer issues the rest from the certificates page in one click."""
    from competition.certificates import issuing
    from competition.certificates.models import Certificate, CertificateCounter

    # made here rather than by plan (which adds it in a savepoint): SQLite reports "database is
    # locked" for that savepoint inside this long demo transaction
    db.session.add(CertificateCounter(competition_id=final.competition_id, last_sequence=0))
    issuing.plan(final, issuing.IssueSettings(issued_on=_day(-360).date()), actor=organizer)
    db.session.flush()
    mine = db.session.scalars(select(Certificate).where(Certificate.recipient_user_id == student.id)).all()
    issuing.render_certificates(mine)


def print_logins(echo: Callable[[str], None]) -> None:
    echo(f"Demo log-ins (password for all: {DEMO_PASSWORD}):")
    for local_part, label in PRINTED_ROLES.items():
        echo(f"  {label:<48} {demo_email(local_part)}")
