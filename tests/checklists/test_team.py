"""The implementation team in the real store (SQLite and PostgreSQL): who fills each role, conflicts, orphans."""

import pytest

from checklists import team
from checklists.loader import load_plan
from store import ConflictError

PLAN = load_plan()


def test_every_role_of_the_plan_is_listed_even_before_anyone_is_named(store):
    frame = team.rows(PLAN, team.load(store, PLAN))
    assert list(frame["Role"]) == [role.role for role in PLAN.team]
    assert set(frame["Person"]) == {""}


def test_naming_a_person_is_stored_with_who_did_it_and_edits_become_members(store):
    loaded = team.load(store, PLAN)
    before = team.rows(PLAN, loaded)
    after = before.copy()
    after.loc[0, "Person"] = "  Dana Scully "
    after.loc[0, "Contact"] = "dana@example.com"
    (change,) = team.edits(before, after, loaded)
    team.save(store, change, actor="lee")
    member = team.load(store, PLAN).members[team.role_key(PLAN.team[0].role)]
    assert (member.person, member.contact, member.updated_by, member.version) == ("Dana Scully", "dana@example.com",
                                                                                "lee", 1)


def test_two_people_naming_owners_at_once_get_a_conflict(store):
    stale = team.load(store, PLAN).members[team.role_key(PLAN.team[1].role)]
    team.save(store, stale.__class__(**{**stale.__dict__, "person": "first"}), actor="a")
    with pytest.raises(ConflictError):
        team.save(store, stale.__class__(**{**stale.__dict__, "person": "second"}), actor="b")


def test_roles_dropped_from_the_plan_are_kept_as_orphaned(store):
    store.put(team.KIND, "chief-morale-officer", team.SCOPE, {"role": "Chief morale officer", "person": "Kim"},
              actor="a", expected_version=None)
    loaded = team.load(store, PLAN)
    assert [(m.role, m.person) for m in loaded.orphaned] == [("Chief morale officer", "Kim")]
