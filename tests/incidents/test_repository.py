"""Incidents in the real store (SQLite and PostgreSQL): round trips, timelines, outbox and the feature toggle."""

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidents import repository
from incidents.models import ChecklistItem, EventType, Incident, Stage
from store import ConflictError, open_store

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _incident(incident_id: str = "a" * 32, environment: str = "production") -> Incident:
    return Incident(
        id=incident_id, environment=environment, playbook_id="outage", name="Checkout is down", team_id="t" * 26,
        channel_id="c" * 26, channel_name="incident-checkout", commander_id="u" * 26,
        stages=(Stage("Triage", (ChecklistItem("i1", "Page on-call", "u" * 26, T0),
                                 ChecklistItem("i2", "Open a bridge"))), Stage("Mitigate")),
        stage_index=0, started_at=T0, started_by="u" * 26,
    )


def _event(kind: EventType, summary: str = "something happened", **details) -> dict:
    return {"event": kind, "summary": summary, "details": details, "user_id": "u" * 26}


def test_an_incident_round_trips_with_its_version(store):
    saved = repository.save(store, _incident(), **_event(EventType.STARTED), actor="dana")
    assert saved.version == 1
    assert repository.load(store, "production", saved.id) == saved
    assert saved.stages[0].items[0].checked and not saved.stages[0].items[1].checked
    ended = repository.save(store, Incident(**{**saved.__dict__, "ended_at": T0 + timedelta(hours=2),
                                               "ended_by": "u" * 26}), **_event(EventType.ENDED), actor="dana")
    assert ended.version == 2 and not repository.load(store, "production", saved.id).active
    assert repository.load(store, "staging", saved.id) is None  # per environment


def test_a_stale_save_is_refused_and_writes_no_event(store):
    saved = repository.save(store, _incident(), **_event(EventType.STARTED), actor="dana")
    repository.save(store, Incident(**{**saved.__dict__, "stage_index": 1}), **_event(EventType.STAGE_CHANGED),
                    actor="lee")
    with pytest.raises(ConflictError):
        repository.save(store, Incident(**{**saved.__dict__, "commander_id": "v" * 26}),
                        **_event(EventType.COMMANDER_CHANGED), actor="kim")
    assert [e.type for e in repository.timeline(store, "production", saved.id)] == ["incident_started",
                                                                                    "stage_changed"]


def test_timeline_is_oldest_first_and_only_this_incidents(store):
    mine = repository.save(store, _incident(), **_event(EventType.STARTED, "started"), actor="dana")
    longer_id = repository.save(store, _incident("a" * 33), **_event(EventType.STARTED), actor="dana")
    repository.save(store, _incident(environment="staging"), **_event(EventType.STARTED), actor="dana")
    repository.record_event(store, "production", mine.id,
                            **_event(EventType.WEBHOOK_SENT, "webhook answered 200", status=200), actor="dana")
    store.record("dana", "note", environment="production", target=f"incident/{mine.id}")  # no event: not shown
    repository.save(store, Incident(**{**mine.__dict__, "stage_index": 1}),
                    **_event(EventType.STAGE_CHANGED, "moved", to="Mitigate"), actor="lee")

    events = repository.timeline(store, "production", mine.id)
    assert [(e.type, e.summary) for e in events] == [("incident_started", "started"),
                                                     ("webhook_sent", "webhook answered 200"),
                                                     ("stage_changed", "moved")]
    assert events[0].actor == "u" * 26 and events[0].at <= events[1].at <= events[2].at
    assert events[1].details == {"status": 200} and events[2].details == {"to": "Mitigate"}
    assert len(repository.timeline(store, "production", longer_id.id)) == 1


def test_outbox_keeps_order_past_nine_and_settles(store):
    for n in range(1, 12):
        repository.queue_message(store, "production", "inc", channel_id="c" * 26, message=f"m{n}", actor="dana")
    repository.queue_message(store, "production", "inc", channel="ops/ops-alerts", message="broadcast",
                             actor="dana", status=repository.FAILED, error="Channel does not exist.")
    pending = repository.outbox(store, "production", status=repository.PENDING)
    assert [m.message for m in pending] == [f"m{n}" for n in range(1, 12)]
    repository.settle_message(store, pending[0], status=repository.SENT, actor="system")
    assert repository.outbox(store, "production", status=repository.PENDING)[0].message == "m2"
    failed = repository.outbox(store, "production", status=repository.FAILED)
    assert [(m.channel, m.error) for m in failed] == [("ops/ops-alerts", "Channel does not exist.")]


def test_refused_messages_are_the_failed_ones_with_mattermosts_answer(store):
    repository.queue_message(store, "production", "inc", channel_id="c" * 26, message="waiting", actor="dana")
    repository.queue_message(store, "production", "inc", channel_id="c" * 26, message="too long", actor="dana",
                             status=repository.FAILED, error="Mattermost answered HTTP 400 (Invalid message).")
    repository.queue_message(store, "staging", "inc", channel_id="c" * 26, message="elsewhere", actor="dana",
                             status=repository.FAILED)
    refused = repository.refused_messages(store, "production")
    assert [(m.message, m.error) for m in refused] == [("too long", "Mattermost answered HTTP 400 (Invalid message).")]


def test_feature_toggle_defaults_on_and_keeps_data(store):
    assert repository.incidents_enabled(store)
    saved = repository.save(store, _incident(), **_event(EventType.STARTED), actor="dana")
    repository.set_incidents_enabled(store, False, actor="dana")
    assert not repository.incidents_enabled(store)
    repository.set_incidents_enabled(store, True, actor="lee")
    assert repository.incidents_enabled(store)
    assert repository.load(store, "production", saved.id) == saved
    assert len(repository.timeline(store, "production", saved.id)) == 1


@pytest.fixture
def ram_folder(tmp_path):
    """RAM-backed when there is one: writing 11,000 events one transaction each takes ~4 s there, ~7 s on disk."""
    if not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir="/dev/shm") as folder:
        yield Path(folder)


def test_ten_thousand_events_read_back_fast(ram_folder):
    with open_store(None, sqlite_path=ram_folder / "store.sqlite3") as store:
        incident = repository.save(store, _incident(), **_event(EventType.STARTED), actor="dana")
        for n in range(1, 10_000):
            kind = EventType.MESSAGE_FORWARDED if n % 2 else EventType.WEBHOOK_SENT
            repository.record_event(store, "production", incident.id, **_event(kind, f"event {n}"), actor="dana")
            if n % 5 == 0:  # other incidents' events in between, as in a busy store
                repository.record_event(store, "production", "b" * 32, **_event(kind), actor="dana")
        started = time.perf_counter()
        events = repository.timeline(store, "production", incident.id)
        elapsed = time.perf_counter() - started
    assert len(events) == 10_000 and events[-1].summary == "event 9999"
    assert elapsed < 1.0, f"reading 10,000 events took {elapsed:.2f} s"
