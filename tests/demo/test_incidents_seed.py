"""The demo's past incidents (demo/incidents_seed.py), read back through the code the Incidents page uses.

They follow the store's incident format in incidents/repository.py (one "incident" document per incident, its
timeline in the audit log) and the event types and details incidents/service.py writes, so the page's list,
retrospectives and metrics take them as they take incidents run through the service.
"""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from demo.incidents_seed import seed_demo_incidents
from incidents import incident_metrics, repository, retrospective
from incidents.models import EventType
from incidents.playbooks import load_playbooks_lenient
from simulator.scenarios import build_scenario
from store import open_store
from ui.incidents_view import ListFilter, filter_incidents, incident_list

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DEMO = {"production": "healthy", "staging": "degraded", "dev": "development"}


@pytest.fixture
def store(tmp_path):
    opened = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def seeded(store):
    written = seed_demo_incidents(store, DEMO, NOW)
    return store, written


def test_every_environment_gets_a_few_months_of_ended_incidents_once(seeded):
    store, written = seeded
    per_environment = {name: repository.list_incidents(store, name) for name in DEMO}
    assert written == sum(len(found) for found in per_environment.values())
    for name, found in per_environment.items():
        assert 12 <= len(found) <= 20, name
        assert all(not incident.active for incident in found)
        assert all(NOW - timedelta(days=130) < i.started_at < i.ended_at < NOW for i in found)
        assert len({i.playbook_id for i in found}) >= 2  # metrics per playbook have something to compare
        assert len({i.channel_name for i in found}) == len(found)
    assert seed_demo_incidents(store, DEMO, NOW) == 0  # a second start writes nothing


def test_an_environment_with_incidents_of_its_own_is_left_alone(store):
    seed_demo_incidents(store, {"production": "healthy"}, NOW)
    before = store.count_audit(environment="production")
    assert seed_demo_incidents(store, {"production": "healthy", "dev": "development"}, NOW) > 0
    assert store.count_audit(environment="production") == before
    assert repository.list_incidents(store, "dev")


def test_timelines_run_in_order_from_start_to_end_with_the_people_of_the_scenario(seeded):
    store, _ = seeded
    people = {account.id for account in build_scenario("healthy").accounts}
    playbooks, _ = load_playbooks_lenient()
    for incident in repository.list_incidents(store, "production"):
        events = repository.timeline(store, "production", incident.id)
        assert events[0].type == EventType.STARTED and events[-1].type == EventType.ENDED
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert events[0].at == incident.started_at and events[-1].at == incident.ended_at
        assert {e.actor for e in events} <= people
        assert incident.commander_id in people
        stages = [stage.name for stage in playbooks[incident.playbook_id].stages]
        moves = [(e.details["from"], e.details["to"]) for e in events if e.type == EventType.STAGE_CHANGED]
        assert moves == list(pairwise(stages))  # through every stage, in the playbook's order
        assert incident.stage_index == len(stages) - 1
        assert incident.version == len([e for e in events if e.type != EventType.STATUS_UPDATE])


def test_metrics_per_playbook_and_month_have_acknowledge_resolve_and_stage_times(seeded):
    store, _ = seeded
    figures = incident_metrics.figures_from_store(store, "staging")
    assert len(figures.summary) >= 3
    assert figures.summary["ended"].sum() == len(figures.incidents)
    assert figures.incidents["acknowledge_min"].notna().all()
    assert (figures.summary["acknowledge_median_min"] > 0).all()
    assert (figures.summary["resolve_median_min"] > figures.summary["acknowledge_median_min"]).all()
    assert not figures.stage_summary.empty and (figures.stage_summary["median_min"] > 0).all()


def test_about_half_have_a_retrospective_that_exports(seeded):
    store, _ = seeded
    playbooks, _ = load_playbooks_lenient()
    incidents = repository.list_incidents(store, "production")
    written = [i for i in incidents if store.get(retrospective.RETROSPECTIVE_KIND, i.id, "production")]
    assert len(incidents) // 4 <= len(written) < len(incidents)
    retro = retrospective.build(store, written[0], repository.timeline(store, "production", written[0].id),
                                playbooks.get(written[0].playbook_id))
    assert all(section.text.strip() for section in retro.sections)
    markdown = retrospective.to_markdown(retro)
    assert written[0].name in markdown and retro.sections[0].text.splitlines()[0] in markdown
    assert "<h1" in retrospective.to_html(retro)


def test_the_pages_list_filters_them(seeded):
    store, _ = seeded
    incidents = repository.list_incidents(store, "dev")
    playbooks, _ = load_playbooks_lenient()
    frame = incident_list(incidents, {}, {}, playbooks, NOW)
    assert len(frame) == len(incidents)
    one_playbook = incidents[0].playbook_id
    chosen = filter_incidents(incidents, ListFilter(playbooks=(one_playbook,)))
    assert chosen and all(i.playbook_id == one_playbook for i in chosen)
