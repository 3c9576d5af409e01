"""The expert pool and mentoring: profiles, invitations, the pool's queries, mentoring requests.

Every function takes its actor explicitly, flushes but never commits, and raises `DomainError` with
a message for the user before anything is written. Every write is audited.

An expert's name is their account's (`User.real_name`). A new expert gets an unverified account
with an unusable password; the invitation's link sets a password, which also confirms the address.
An accepted mentorship is a conflict of interest for judging (competition.judging.conflicts decides
which mentorships count; an ended one still does): answering and ending one refresh the
competition's automatic conflicts at once.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.accounts.services import hash_password, make_reset_token, normalize_email
from competition.core import audit
from competition.core.errors import DomainError
from competition.core.mail import OutboxMessage, external_url, internal_path, queue_mail
from competition.core.time import utcnow
from competition.experts.models import Expert, ExpertKind, Mentorship, MentorshipState
from competition.extensions import db
from competition.institutions.models import Institution, Side
from competition.judging.conflicts import refresh_automatic_conflicts
from competition.teams.models import Team, TeamState
from competition.teams.rules import clean_text

NAME_MAX = 50
TITLE_MAX = 100
EMPLOYER_MAX = 200
CITY_MAX = 50
BIO_MAX = 2000
TAGS_MAX = 30
TAG_MAX = 30
MESSAGE_MAX = 1000
#: requests of one team waiting for an answer at once (a team cannot write to the whole pool)
OPEN_REQUESTS_MAX = 5
LOCALES = ("zh_Hans_CN", "en")

#: what separates tags: commas (also full-width, folded by NFKC), 、, semicolons and white space
_TAG_SEPARATORS = re.compile(r"[,、;\s]+")


def _fold(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value or "").casefold().split())


SIDE_WORDS = {Side.SICHUAN.value: "四川", Side.CHONGQING.value: "重庆"}
_SIDES = {
    _fold(alias): side
    for side, aliases in {
        Side.SICHUAN.value: ("四川", "四川省", "sichuan"),
        Side.CHONGQING.value: ("重庆", "重庆市", "chongqing"),
    }.items()
    for alias in aliases
}
KIND_WORDS = {
    ExpertKind.ACADEMIC.value: "学术专家",
    ExpertKind.INVESTOR.value: "投资人",
    ExpertKind.ENTREPRENEUR.value: "创业者",
    ExpertKind.OFFICIAL.value: "政府官员",
}
_KINDS = {
    _fold(alias): kind
    for kind, aliases in {
        ExpertKind.ACADEMIC.value: ("学术专家", "academic"),
        ExpertKind.INVESTOR.value: ("投资人", "investor"),
        ExpertKind.ENTREPRENEUR.value: ("创业者", "entrepreneur"),
        ExpertKind.OFFICIAL.value: ("政府官员", "official"),
    }.items()
    for alias in aliases
}


# --- the profile ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertProfile:
    """What a form or a row of the import says about an expert (checked by check_profile)."""

    real_name: str
    employer: str
    city: str
    side: str | None
    kind: str
    expertise: str | list[str] = ""
    title: str = ""
    institution: Institution | None = None
    mentors: bool = False
    bio: str = ""


def _limited(value: str, maximum: int, field: str) -> str:
    if len(value) > maximum:
        raise DomainError(
            _l("At most %(max)s characters; this has %(count)s.", max=maximum, count=len(value)), field=field
        )
    return value


def clean_name(value: str | None) -> str:
    name = clean_text(value)
    if not name:
        raise DomainError(_l("Please enter the expert's name."), field="real_name")
    return _limited(name, NAME_MAX, "real_name")


def clean_title(value: str | None) -> str:
    return _limited(clean_text(value), TITLE_MAX, "title")


def clean_employer(value: str | None, institution: Institution | None) -> str:
    """The university or company; the institution's name when it is left empty."""
    employer = clean_text(value) or (institution.name_zh if institution else "")
    if not employer:
        raise DomainError(_l("Please enter the employer (a university or a company)."), field="employer")
    return _limited(employer, EMPLOYER_MAX, "employer")


def clean_city(value: str | None, institution: Institution | None) -> str:
    city = clean_text(value) or (institution.city_zh if institution else "")
    if not city:
        raise DomainError(_l("Please enter the city."), field="city")
    return _limited(city, CITY_MAX, "city")


def parse_side(value: str | None, institution: Institution | None) -> str:
    """Sichuan or Chongqing as given, else the institution's; never guessed from a name or a city."""
    text = clean_text(value)
    if not text:
        if institution is not None:
            return institution.side
        raise DomainError(_l("Please choose the side: Sichuan or Chongqing."), field="side")
    side = _SIDES.get(_fold(text))
    if side is None:
        raise DomainError(
            _l("Unknown side “%(value)s”; use 四川 (Sichuan) or 重庆 (Chongqing).", value=text), field="side"
        )
    return side


def parse_kind(value: str | None) -> str:
    text = clean_text(value)
    if not text:
        raise DomainError(_l("Please choose the kind: academic, investor, entrepreneur or official."), field="kind")
    kind = _KINDS.get(_fold(text))
    if kind is None:
        raise DomainError(
            _l(
                "Unknown kind “%(value)s”; use 学术专家 (academic), 投资人 (investor), 创业者 (entrepreneur) "
                "or 政府官员 (official).",
                value=text,
            ),
            field="kind",
        )
    return kind


def parse_tags(value: str | list[str] | None) -> list[str]:
    """Lower-case tags, each once, in the order given; split on commas (also ，), 、 and spaces."""
    if isinstance(value, list | tuple):
        value = ",".join(value)
    tags: list[str] = []
    for part in _TAG_SEPARATORS.split(unicodedata.normalize("NFKC", value or "")):
        tag = clean_text(part).lower()
        if not tag or tag in tags:
            continue
        if len(tag) > TAG_MAX:
            raise DomainError(
                _l("A tag has at most %(max)s characters; “%(tag)s” has %(count)s.", max=TAG_MAX, tag=tag,
                   count=len(tag)),
                field="expertise",
            )  # fmt: skip
        tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise DomainError(
            _l("At most %(max)s tags; this has %(count)s.", max=TAGS_MAX, count=len(tags)), field="expertise"
        )
    return tags


def clean_bio(value: str | None) -> str:
    text = unicodedata.normalize("NFC", value or "").strip()
    return _limited(text, BIO_MAX, "bio")


def check_profile(profile: ExpertProfile) -> ExpertProfile:
    """The profile cleaned, or a DomainError naming the first field in the way."""
    institution = profile.institution
    return replace(
        profile,
        real_name=clean_name(profile.real_name),
        title=clean_title(profile.title),
        employer=clean_employer(profile.employer, institution),
        city=clean_city(profile.city, institution),
        side=parse_side(profile.side, institution),
        kind=parse_kind(profile.kind),
        expertise=parse_tags(profile.expertise),
        mentors=bool(profile.mentors),
        bio=clean_bio(profile.bio),
    )


def _profile_columns(profile: ExpertProfile) -> dict:
    return {
        "title": profile.title,
        "employer": profile.employer,
        "institution_id": profile.institution.id if profile.institution else None,
        "city": profile.city,
        "side": profile.side,
        "kind": profile.kind,
        "expertise": list(profile.expertise),
        "mentors": profile.mentors,
        "bio": profile.bio,
    }


def unusable_password_hash() -> str:
    """A real argon2 hash of a random secret nobody keeps: no password matches it. The owner sets a
    password through the invitation's link (or "forgot password")."""
    return hash_password(secrets.token_urlsafe(48))


def _flush_unique(message) -> None:
    """Flush; a row taken at the same moment by another request becomes a DomainError."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise DomainError(message, field="email") from error


def expert_for_user(user: User | None) -> Expert | None:
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(select(Expert).where(Expert.user_id == user.id))


def add_expert(
    *, email: str, profile: ExpertProfile, account: User | None, locale: str, password_hash: str | None
) -> tuple[Expert, bool]:
    """Add a checked profile (create_expert and the import check first) to the pool: the expert, and
    whether an account was created. `account` is the existing account of `email`, or None: then one
    is created, unverified, with `password_hash` (an unusable one when None)."""
    new_account = account is None
    if account is None:
        account = User(
            email=email,
            password_hash=password_hash or unusable_password_hash(),
            real_name=profile.real_name,
            institution_id=profile.institution.id if profile.institution else None,
            locale=locale,
        )
        db.session.add(account)
    expert = Expert(user=account, **_profile_columns(profile))
    db.session.add(expert)
    return expert, new_account


def create_expert(
    *, actor: User, email: str, profile: ExpertProfile, locale: str = "zh_Hans_CN", invite: bool = False
) -> Expert:
    """Add someone to the pool, with the account of their address or a new unverified one (whose
    name is the profile's; an existing account keeps its own). `invite` also mails the invitation."""
    email = normalize_email(email)
    profile = check_profile(profile)
    if locale not in LOCALES:
        raise DomainError(_l("Please choose a language."), field="locale")
    account = db.session.scalar(select(User).where(User.email == email))
    if account is not None and expert_for_user(account) is not None:
        raise DomainError(_l("%(email)s is already in the expert pool.", email=email), field="email")
    expert, new_account = add_expert(email=email, profile=profile, account=account, locale=locale, password_hash=None)
    _flush_unique(_l("%(email)s is already in the expert pool.", email=email))
    audit.record(actor, "expert.create", expert, email=email, new_account=new_account, **_audit_values(expert))
    if invite:
        invite_expert(expert, actor=actor)
    return expert


def _audit_values(expert: Expert) -> dict:
    return {
        "name": expert.user.real_name,
        "title": expert.title,
        "employer": expert.employer,
        "institution_id": expert.institution_id,
        "city": expert.city,
        "side": expert.side,
        "kind": expert.kind,
        "expertise": list(expert.expertise),
        "mentors": expert.mentors,
    }


def update_expert(expert: Expert, *, actor: User, profile: ExpertProfile) -> None:
    """Change a profile. The name belongs to the account: it changes here only while the account
    has not been taken up (the expert changes it in their own profile afterwards)."""
    profile = check_profile(profile)
    user = expert.user
    changes: dict[str, list] = {}
    if profile.real_name != user.real_name:
        if user.is_verified:
            raise DomainError(
                _l("This expert uses their account: they change their name in their own profile."), field="real_name"
            )
        changes["name"] = [user.real_name, profile.real_name]
        user.real_name = profile.real_name
    for field, value in _profile_columns(profile).items():
        if getattr(expert, field) != value:
            changes[field] = [getattr(expert, field), value]
            setattr(expert, field, value)
    if "institution_id" in changes and not user.is_verified:
        user.institution_id = expert.institution_id
    if changes:
        db.session.flush()
        audit.record(actor, "expert.update", expert, changes=changes)


def invite_expert(expert: Expert, *, actor: User) -> OutboxMessage:
    """Mail the expert, in their language, a link that sets their password (and so confirms their
    address); someone who already uses their account is asked to log in instead."""
    user = expert.user
    if user.is_disabled:
        raise DomainError(_l("This expert's account has been disabled; it cannot be invited."))
    active = user.is_verified
    message = queue_mail(
        to=user.email,
        template="experts/emails/invitation",
        locale=user.locale,
        user=user,
        expert_name=user.real_name,
        inviter_name=actor.real_name,
        active=active,
        mentors=expert.mentors,
        set_password_url=None if active else external_url("accounts.reset_password", token=make_reset_token(user)),
        forgot_url=external_url("accounts.forgot_password"),
        login_url=external_url("accounts.login"),
        mentoring_url=external_url("experts.mentoring"),
        valid_minutes=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60,
    )
    audit.record(actor, "expert.invite", expert, email=user.email, active_account=active)
    return message


def last_invitation(expert: Expert):
    """When the expert was last invited, or None."""
    return db.session.scalar(
        select(func.max(audit.AuditEntry.created_at)).where(
            audit.AuditEntry.action == "expert.invite",
            audit.AuditEntry.object_type == Expert.__tablename__,
            audit.AuditEntry.object_id == str(expert.id),
        )
    )


# --- the pool's queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolFilters:
    q: str | None = None
    side: str | None = None
    kind: str | None = None
    tag: str | None = None
    mentors: bool | None = None


def _like_escape(value: str) -> str:
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def has_tag(tag: str):
    """A condition: the expert's tags include `tag` (portable: the JSON text holds the quoted tag)."""
    patterns = {json.dumps(tag), json.dumps(tag, ensure_ascii=False)}
    text = cast(Expert.expertise, Text)
    return or_(*(text.like(f"%{_like_escape(pattern)}%", escape="!") for pattern in sorted(patterns)))


def pool_query(filters: PoolFilters):
    statement = (
        select(Expert)
        .join(User, User.id == Expert.user_id)
        .options(selectinload(Expert.user), selectinload(Expert.institution))
    )
    if filters.q:
        pattern = f"%{_like_escape(filters.q)}%"
        statement = statement.where(
            or_(
                User.real_name.ilike(pattern, escape="!"),
                Expert.employer.ilike(pattern, escape="!"),
                User.email.ilike(pattern, escape="!"),
            )
        )
    if filters.side:
        statement = statement.where(Expert.side == filters.side)
    if filters.kind:
        statement = statement.where(Expert.kind == filters.kind)
    if filters.tag:
        statement = statement.where(has_tag(filters.tag))
    if filters.mentors is not None:
        statement = statement.where(Expert.mentors.is_(filters.mentors))
    return statement.order_by(User.real_name, Expert.id)


def known_tags(*, mentors_only: bool = False) -> list[str]:
    """Every tag in use in the pool (or among its mentors), sorted."""
    statement = select(Expert.expertise)
    if mentors_only:
        statement = statement.where(Expert.mentors.is_(True))
    return sorted({tag for tags in db.session.scalars(statement) for tag in tags or ()})


# --- mentoring ------------------------------------------------------------------------------------


def _message(value: str | None) -> str:
    text = unicodedata.normalize("NFC", value or "").strip()
    if len(text) > MESSAGE_MAX:
        raise DomainError(_l("A message has at most %(max)s characters.", max=MESSAGE_MAX), field="message")
    return text


def mentorships_of_team(team: Team) -> list[Mentorship]:
    return list(
        db.session.scalars(
            select(Mentorship)
            .where(Mentorship.team_id == team.id)
            .options(selectinload(Mentorship.expert).selectinload(Expert.user))
            .order_by(Mentorship.created_at, Mentorship.id)
        )
    )


def mentorships_of_expert(expert: Expert) -> list[Mentorship]:
    return list(
        db.session.scalars(
            select(Mentorship)
            .where(Mentorship.expert_id == expert.id)
            .options(selectinload(Mentorship.team).selectinload(Team.leader))
            .order_by(Mentorship.created_at.desc(), Mentorship.id.desc())
        )
    )


def mentor_candidates(team: Team, tag: str | None = None) -> list[Expert]:
    """The pool's mentors a team may ask: not asked already (unless a mentorship ended), not in the team."""
    taken = select(Mentorship.expert_id).where(
        Mentorship.team_id == team.id, Mentorship.state != MentorshipState.ENDED.value
    )
    members = {member.user_id for member in team.members}
    statement = (
        select(Expert)
        .join(User, User.id == Expert.user_id)
        .where(Expert.mentors.is_(True), Expert.id.not_in(taken), User.is_disabled.is_(False))
        .options(selectinload(Expert.user))
        .order_by(User.real_name, Expert.id)
    )
    if tag:
        statement = statement.where(has_tag(tag))
    return [expert for expert in db.session.scalars(statement) if expert.user_id not in members]


def request_mentor(team: Team, expert: Expert, *, actor: User, message: str | None = None) -> Mentorship:
    """The team's leader asks an expert of the pool to mentor the team; the expert gets an e-mail."""
    if team.leader_id != actor.id:
        raise DomainError(_l("Only the team's leader can ask for a mentor."))
    if team.state == TeamState.WITHDRAWN:
        raise DomainError(_l("The team has withdrawn; it cannot ask for a mentor."))
    if not expert.mentors or expert.user.is_disabled:
        raise DomainError(_l("This expert does not take mentoring requests."), field="expert")
    if team.member_for(expert.user) is not None:
        raise DomainError(_l("A member of the team cannot mentor it."), field="expert")
    text = _message(message)
    mentorship = db.session.scalar(
        select(Mentorship).where(Mentorship.team_id == team.id, Mentorship.expert_id == expert.id)
    )
    if mentorship is not None and mentorship.state == MentorshipState.REQUESTED:
        raise DomainError(_l("You have already asked this expert; the request is waiting for an answer."),
                          field="expert")  # fmt: skip
    if mentorship is not None and mentorship.state == MentorshipState.ACCEPTED:
        raise DomainError(_l("This expert already mentors the team."), field="expert")
    if mentorship is not None and mentorship.state == MentorshipState.DECLINED:
        # an expert who said no is not asked again and again
        raise DomainError(_l("This expert has declined the team's request."), field="expert")
    waiting = db.session.scalar(
        select(func.count(Mentorship.id)).where(
            Mentorship.team_id == team.id, Mentorship.state == MentorshipState.REQUESTED.value
        )
    )
    if waiting >= OPEN_REQUESTS_MAX:
        raise DomainError(
            _l(
                "The team has %(max)s requests waiting for an answer; wait for one, or withdraw one, "
                "before asking another expert.",
                max=OPEN_REQUESTS_MAX,
            )
        )
    now = utcnow()
    if mentorship is None:  # an ended one is asked again in its own row (one row per pair)
        mentorship = Mentorship(team=team, expert=expert)
        db.session.add(mentorship)
    mentorship.state = MentorshipState.REQUESTED.value
    mentorship.message = text
    mentorship.requested_by_id = actor.id
    mentorship.created_at = now
    mentorship.answered_at = None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:  # the same request sent twice at once
        raise DomainError(_l("You have already asked this expert; the request is waiting for an answer."),
                          field="expert") from error  # fmt: skip
    audit.record(actor, "mentorship.request", mentorship, team_id=team.id, expert_id=expert.id, message=text)
    mentor = expert.user
    competition = team.competition
    queue_mail(
        to=mentor.email,
        template="experts/emails/mentor_request",
        locale=mentor.locale,
        user=mentor,
        link=internal_path("experts.mentoring"),
        expert_name=mentor.real_name,
        leader_name=actor.real_name,
        team_name=team.name,
        project_title=team.project_title,
        institution_name=team.institution.name_en if mentor.locale == "en" else team.institution.name_zh,
        competition_name=competition.name_en if mentor.locale == "en" else competition.name_zh,
        message=text,
        mentoring_url=external_url("experts.mentoring"),
    )
    return mentorship


def answer_mentorship(mentorship: Mentorship, *, actor: User, accept: bool) -> None:
    """The expert accepts or declines a request; the leader gets an e-mail. Accepting makes the
    expert a conflict of interest for judging the team, at once."""
    expert = mentorship.expert
    if expert.user_id != actor.id:
        raise DomainError(_l("Only the expert asked can answer this request."))
    team = mentorship.team
    if accept and team.state == TeamState.WITHDRAWN:
        raise DomainError(_l("The team has withdrawn; the request can only be declined."))
    state = MentorshipState.ACCEPTED if accept else MentorshipState.DECLINED
    # conditional: of two answers sent at once (two tabs), only the first counts
    changed = db.session.execute(
        update(Mentorship)
        .where(Mentorship.id == mentorship.id, Mentorship.state == MentorshipState.REQUESTED.value)
        .values(state=state.value, answered_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise DomainError(_l("This request is no longer waiting for an answer."))
    db.session.refresh(mentorship)
    audit.record(actor, "mentorship.answer", mentorship, team_id=team.id, expert_id=expert.id, state=state.value)
    leader = team.leader
    queue_mail(
        to=leader.email,
        template="experts/emails/mentor_answer",
        locale=leader.locale,
        user=leader,
        link=internal_path("teams.detail", team_id=team.id),
        accepted=accept,
        expert_name=actor.real_name,
        expert_title=expert.title,
        expert_employer=expert.employer,
        expert_email=actor.email if accept else None,
        team_name=team.name,
        team_url=external_url("teams.detail", team_id=team.id),
    )
    if accept:
        _refresh_conflicts(team, actor)


def end_mentorship(mentorship: Mentorship, *, actor: User) -> None:
    """The leader withdraws a request waiting for an answer; the leader or the expert ends an
    accepted mentorship. The conflicts are refreshed: judging.conflicts decides whether an ended
    mentorship still keeps the mentor off the team (it does: they coached it)."""
    team = mentorship.team
    is_leader = team.leader_id == actor.id
    is_expert = mentorship.expert.user_id == actor.id
    if not (is_leader or is_expert):
        raise DomainError(_l("Only the team's leader or the expert can end this mentorship."))
    state = mentorship.state
    if state == MentorshipState.REQUESTED and not is_leader:
        raise DomainError(_l("Please accept or decline the request."))
    if state not in (MentorshipState.REQUESTED, MentorshipState.ACCEPTED):
        raise DomainError(_l("This mentorship is not in force."))
    changed = db.session.execute(
        update(Mentorship)
        .where(Mentorship.id == mentorship.id, Mentorship.state == state)
        # answered_at stays: None for a request withdrawn, which was never mentoring
        .values(state=MentorshipState.ENDED.value)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise DomainError(_l("This mentorship has changed in the meantime; please look again."))
    db.session.refresh(mentorship)
    audit.record(actor, "mentorship.end", mentorship, team_id=team.id, expert_id=mentorship.expert_id,
                 previous_state=state)  # fmt: skip
    if state == MentorshipState.ACCEPTED:
        _refresh_conflicts(team, actor)


def _refresh_conflicts(team: Team, actor: User) -> None:
    refresh_automatic_conflicts(team.competition, actor=actor)
