"""Round services: set-up rules, participants, quotas, recommendations and their withdrawal."""

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from competition.core.audit import AuditEntry
from competition.core.errors import DomainError
from competition.extensions import db
from competition.rounds import services
from competition.rounds.models import Round, RoundEntry
from competition.teams.models import Team
from tests import factories

pytestmark = pytest.mark.usefixtures("english")


def _settings(**fields) -> services.RoundSettings:
    values = {
        "name_zh": "校赛",
        "name_en": "School round",
        "position": 1,
        "level": "institution",
        "entry_rule": "all_approved",
        "tracks": [],
        "next_round": None,
        "quota_kind": None,
        "quota_value": None,
        "judging_opens_at": None,
        "judging_closes_at": None,
    }
    values.update(fields)
    return services.RoundSettings(**values)


def _school_and_final(contest, *, quota_kind="count", quota_value=2, **school_fields):
    final = factories.round_(
        contest, position=2, name_zh="决赛", name_en="Final", level="alliance", entry_rule="advanced"
    )
    school = factories.round_(
        contest, position=1, next_round=final, quota_kind=quota_kind, quota_value=quota_value, **school_fields
    )
    return school, final


def _teams(contest, count, institution_code="SCU", state="approved", **fields) -> list[Team]:
    institution = factories.institution(institution_code)
    return [
        factories.team(contest, state=state, institution_row=institution, members=0, **fields) for _ in range(count)
    ]


def _entries() -> int:
    return db.session.scalar(select(func.count(RoundEntry.id)))


# --- quotas ---------------------------------------------------------------------------------------


def test_a_count_quota_allows_that_many_teams_and_refuses_the_next(app):
    contest = factories.competition()
    school, final = _school_and_final(contest, quota_kind="count", quota_value=2)
    teams = _teams(contest, 4)
    actor = factories.user(is_admin=True)
    for team in teams[:2]:
        services.recommend(school, team, actor=actor)
    assert services.quota_status(school, teams[0].institution_id) == (2, 2)
    with force_locale("en"), pytest.raises(DomainError) as refused:
        services.recommend(school, teams[2], actor=actor)
    with force_locale("en"):
        message = str(refused.value.message)
    assert "may recommend 2 team(s)" in message and "has recommended 2" in message
    assert _entries() == 2


def test_a_percent_quota_is_rounded_up(app):
    contest = factories.competition()
    school, _final = _school_and_final(contest, quota_kind="percent", quota_value=30)
    teams = _teams(contest, 7)
    _teams(contest, 3, institution_code="CQU")  # another institution's teams are not part of SCU's base
    actor = factories.user(is_admin=True)
    assert services.quota_status(school, teams[0].institution_id) == (0, 3)  # 30 % of 7 = 2.1 -> 3
    for team in teams[:3]:
        services.recommend(school, team, actor=actor)
    with force_locale("en"), pytest.raises(DomainError) as refused:
        services.recommend(school, teams[3], actor=actor)
    with force_locale("en"):
        message = str(refused.value.message)
    assert "may recommend 3 team(s)" in message and "30% of its 7 teams, rounded up" in message
    assert _entries() == 3


def test_a_percent_quota_counts_only_teams_in_the_round(app):
    contest = factories.competition()
    idea = factories.track(contest, "idea")
    startup = factories.track(contest, "startup")
    school, _final = _school_and_final(contest, quota_kind="percent", quota_value=50)
    school.tracks = [idea]
    _teams(contest, 3, track_row=idea)
    _teams(contest, 4, track_row=startup)  # not in the school round
    _teams(contest, 2, track_row=idea, state="submitted")  # not approved
    institution = factories.institution("SCU")
    assert services.entries_from(school, institution.id) == 3
    assert services.quota_status(school, institution.id) == (0, 2)  # 50 % of 3 = 1.5 -> 2


def test_quota_statuses_lists_each_institution_with_teams(app):
    contest = factories.competition()
    school, _final = _school_and_final(contest, quota_kind="count", quota_value=1)
    scu = _teams(contest, 2)
    _teams(contest, 3, institution_code="CQU")
    services.recommend(school, scu[0], actor=factories.user(is_admin=True))
    statuses = {status.institution.code: status for status in services.quota_statuses(school)}
    assert {code: (s.entries, s.recommended, s.quota, s.full) for code, s in statuses.items()} == {
        "CQU": (3, 0, 1, False),
        "SCU": (2, 1, 1, True),
    }
    only = services.quota_statuses(school, {scu[0].institution_id})
    assert [status.institution.code for status in only] == ["SCU"]


# --- recommending ---------------------------------------------------------------------------------


def test_a_team_not_in_the_round_is_refused(app):
    contest = factories.competition()
    school, _final = _school_and_final(contest)
    draft = _teams(contest, 1, state="submitted")[0]
    elsewhere = _teams(factories.competition(), 1)[0]
    actor = factories.user(is_admin=True)
    for team in (draft, elsewhere):
        with pytest.raises(DomainError, match="does not take part"):
            services.recommend(school, team, actor=actor)
    assert _entries() == 0


def test_a_team_is_recommended_once(app):
    contest = factories.competition()
    school, _final = _school_and_final(contest, quota_value=5)
    team = _teams(contest, 1)[0]
    actor = factories.user(is_admin=True)
    services.recommend(school, team, actor=actor)
    with pytest.raises(DomainError, match="already in"):
        services.recommend(school, team, actor=actor)
    assert _entries() == 1


def test_recommending_needs_a_school_round_that_names_its_next_round(app):
    contest = factories.competition()
    alliance = factories.round_(contest, level="alliance")
    lonely_school = factories.round_(contest, position=2)
    team = _teams(contest, 1)[0]
    for round_ in (alliance, lonely_school):
        with pytest.raises(DomainError, match="school round"):
            services.recommend(round_, team, actor=factories.user(is_admin=True))
    assert _entries() == 0


def test_a_team_of_a_track_the_next_round_does_not_cover_is_refused(app):
    contest = factories.competition()
    idea = factories.track(contest, "idea")
    startup = factories.track(contest, "startup")
    school, final = _school_and_final(contest, quota_kind=None, quota_value=None)
    final.tracks = [idea]
    team = _teams(contest, 1, track_row=startup)[0]
    with pytest.raises(DomainError, match="does not include the track"):
        services.recommend(school, team, actor=factories.user(is_admin=True))
    assert _entries() == 0


def test_recommending_is_audited_and_without_a_quota_unlimited(app):
    contest = factories.competition()
    school, final = _school_and_final(contest, quota_kind=None, quota_value=None)
    teams = _teams(contest, 3)
    actor = factories.user(is_admin=True)
    for team in teams:
        services.recommend(school, team, actor=actor)
    assert services.quota_status(school, teams[0].institution_id) == (3, None)
    assert services.recommended_team_ids(school) == {team.id for team in teams}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "round.recommend").limit(1))
    assert entry.actor_id == actor.id and entry.details["to_round"] == final.id


def test_withdrawing_frees_the_place_and_is_audited(app):
    contest = factories.competition()
    school, _final = _school_and_final(contest, quota_value=1)
    first, second = _teams(contest, 2)
    actor = factories.user(is_admin=True)
    services.recommend(school, first, actor=actor)
    services.withdraw_recommendation_of(school, first, actor=actor)
    assert _entries() == 0
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "round.withdraw_recommendation"))
    assert audit is not None and audit.object_id == str(first.id) and audit.actor_id == actor.id
    services.recommend(school, second, actor=actor)  # the place is free again
    assert services.quota_status(school, second.institution_id) == (1, 1)
    with pytest.raises(DomainError, match="has not been recommended"):
        services.withdraw_recommendation_of(school, first, actor=actor)


def test_only_a_recommendation_is_withdrawn(app):
    contest = factories.competition()
    school, final = _school_and_final(contest)
    team = _teams(contest, 1)[0]
    entry = RoundEntry(round_id=final.id, team=team, source="repechage", reason="复活")
    db.session.add(entry)
    db.session.flush()
    with pytest.raises(DomainError):
        services.withdraw_recommendation(entry, actor=factories.user(is_admin=True))
    assert _entries() == 1


def test_participants_of_an_advanced_round_are_exactly_the_recommended_approved_teams(app):
    contest = factories.competition()
    school, final = _school_and_final(contest, quota_value=5)
    recommended = _teams(contest, 3)
    not_recommended = _teams(contest, 2)
    actor = factories.user(is_admin=True)
    for team in recommended:
        services.recommend(school, team, actor=actor)
    recommended[2].state = "withdrawn"  # withdrew from the competition afterwards
    db.session.flush()
    in_final = set(db.session.scalars(services.participants_query(final)))
    assert in_final == set(recommended[:2])
    in_school = set(db.session.scalars(services.participants_query(school)))
    assert in_school == set(recommended[:2] + not_recommended)


# --- set-up ---------------------------------------------------------------------------------------


def test_a_round_is_created_with_its_tracks_and_window_and_audited(app):
    contest = factories.competition()
    idea = factories.track(contest, "idea")
    final = factories.round_(contest, position=3, level="alliance", entry_rule="advanced")
    opens = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    closes = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
    actor = factories.user(is_admin=True)
    round_ = services.save_round(
        contest,
        actor=actor,
        round_=None,
        settings=_settings(
            name_zh=" 校赛 ",
            tracks=[idea],
            next_round=final,
            quota_kind="percent",
            quota_value=30,
            judging_opens_at=opens,
            judging_closes_at=closes,
        ),
    )
    db.session.commit()
    stored = db.session.get(Round, round_.id)
    assert (stored.name_zh, stored.tracks, stored.next_round_id, stored.quota_kind, stored.quota_value) == (
        "校赛",
        [idea],
        final.id,
        "percent",
        30,
    )
    assert (stored.judging_opens_at, stored.judging_closes_at) == (opens, closes)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_id == str(round_.id))) == "round.create"
    assert [r.id for r in services.rounds_of(contest)] == [round_.id, final.id]


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"next_round": "earlier"}, "next_round", "must come later"),
        (
            {"level": "alliance", "next_round": "later", "quota_kind": "count", "quota_value": 3},
            "quota_kind",
            "institution-level",
        ),
        ({"next_round": "later", "quota_kind": "percent", "quota_value": 101}, "quota_value", "between 0 and 100"),
        ({"next_round": "later", "quota_kind": "count", "quota_value": None}, "quota_value", "enter the quota"),
        ({"next_round": "later", "quota_kind": "share", "quota_value": 3}, "quota_kind", "kind of quota"),
        ({"quota_kind": "count", "quota_value": 3}, "next_round", "needs the round"),
        ({"next_round": "all_approved"}, "next_round", "must take teams recommended"),
        (
            {
                "judging_opens_at": datetime(2026, 5, 2, tzinfo=UTC),
                "judging_closes_at": datetime(2026, 5, 1, tzinfo=UTC),
            },
            "judging_closes_at",
            "close after it opens",
        ),
        ({"name_zh": "   "}, "name_zh", "Chinese name"),
        ({"name_zh": "长" * 101}, "name_zh", "At most 100"),
        ({"position": 0}, "position", "between 1 and"),
        ({"level": "province"}, "level", "level"),
        ({"entry_rule": "lottery"}, "entry_rule", "how teams enter"),
        ({"tracks": "foreign"}, "tracks", "tracks"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_is_saved(app, fields, field, text):
    contest = factories.competition()
    rounds = {
        "earlier": factories.round_(contest, position=1, level="alliance", entry_rule="advanced"),
        "later": factories.round_(contest, position=5, level="alliance", entry_rule="advanced"),
        "all_approved": factories.round_(contest, position=6, level="alliance", entry_rule="all_approved"),
    }
    if fields.get("next_round"):
        fields["next_round"] = rounds[fields["next_round"]]
    if fields.get("tracks") == "foreign":
        fields["tracks"] = [factories.track(factories.competition(), "idea")]
    before = db.session.scalar(select(func.count(Round.id)))
    with force_locale("en"), pytest.raises(DomainError) as refused:
        services.save_round(
            contest, actor=factories.user(is_admin=True), round_=None, settings=_settings(**{"position": 3, **fields})
        )
    assert refused.value.field == field
    with force_locale("en"):
        assert text in str(refused.value.message)
    assert db.session.scalar(select(func.count(Round.id))) == before


def test_a_round_cannot_name_itself_as_its_next_round(app):
    contest = factories.competition()
    round_ = factories.round_(contest, position=1, entry_rule="advanced")
    with pytest.raises(DomainError) as refused:
        services.save_round(
            contest, actor=factories.user(is_admin=True), round_=round_, settings=_settings(next_round=round_)
        )
    assert refused.value.field == "next_round"


def test_a_round_fed_by_another_stays_after_it_and_takes_recommended_teams(app):
    contest = factories.competition()
    school, final = _school_and_final(contest)
    actor = factories.user(is_admin=True)
    with pytest.raises(DomainError) as earlier:
        services.save_round(
            contest,
            actor=actor,
            round_=final,
            settings=_settings(name_zh="决赛", position=1, level="alliance", entry_rule="advanced"),
        )
    assert earlier.value.field == "position"
    with pytest.raises(DomainError) as all_approved:
        services.save_round(
            contest,
            actor=actor,
            round_=final,
            settings=_settings(name_zh="决赛", position=2, level="alliance", entry_rule="all_approved"),
        )
    assert all_approved.value.field == "entry_rule"
    db.session.rollback()
    assert (final.position, final.entry_rule) == (2, "advanced")


def test_the_next_round_stays_while_recommendations_exist(app):
    contest = factories.competition()
    school, final = _school_and_final(contest)
    other_final = factories.round_(contest, position=3, level="alliance", entry_rule="advanced")
    team = _teams(contest, 1)[0]
    actor = factories.user(is_admin=True)
    services.recommend(school, team, actor=actor)
    with pytest.raises(DomainError, match="already been recommended"):
        services.save_round(
            contest,
            actor=actor,
            round_=school,
            settings=_settings(next_round=other_final, quota_kind="count", quota_value=2),
        )
    # other changes are fine
    services.save_round(
        contest,
        actor=actor,
        round_=school,
        settings=_settings(name_zh="初赛", next_round=final, quota_kind="count", quota_value=4),
    )
    assert (school.name_zh, school.quota_value, school.next_round_id) == ("初赛", 4, final.id)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "round.update")) == "round.update"


def test_without_a_quota_kind_the_value_is_dropped(app):
    contest = factories.competition()
    round_ = services.save_round(
        contest, actor=factories.user(is_admin=True), round_=None, settings=_settings(quota_value=7)
    )
    assert (round_.quota_kind, round_.quota_value) == (None, None)


def test_deleting_a_round(app):
    contest = factories.competition()
    school, final = _school_and_final(contest)
    team = _teams(contest, 1)[0]
    actor = factories.user(is_admin=True)
    with pytest.raises(DomainError, match="recommends its teams to this round"):
        services.delete_round(final, actor=actor)
    services.recommend(school, team, actor=actor)
    with pytest.raises(DomainError, match="recommended from this round"):
        services.delete_round(school, actor=actor)
    services.withdraw_recommendation_of(school, team, actor=actor)
    services.delete_round(school, actor=actor)
    services.delete_round(final, actor=actor)
    db.session.commit()
    assert db.session.scalar(select(func.count(Round.id))) == 0
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert "round.delete" in actions


def test_a_round_teams_entered_cannot_be_deleted(app):
    contest = factories.competition()
    final = factories.round_(contest, level="alliance", entry_rule="advanced")
    team = _teams(contest, 1)[0]
    db.session.add(RoundEntry(round_id=final.id, team=team, source="advanced"))
    db.session.flush()
    with pytest.raises(DomainError, match="Teams have entered"):
        services.delete_round(final, actor=factories.user(is_admin=True))
