"""Figures across incidents in a real store: medians and p90s on known durations, months, acknowledgement."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from incidents import incident_metrics, repository
from incidents.mattermost_api import MattermostApi
from incidents.models import Actor, ChecklistItem, EventType, Incident, Stage
from incidents.playbooks import Playbook
from incidents.service import IncidentService
from store import open_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ENVIRONMENT = "production"
PERSON = "u" * 26
STAGES = ("Triage", "Mitigate", "Resolve")


class Clock:
    """The store's clock (event times) and the service's clock (start, end, check times) in one."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    chosen = Clock(T0)
    monkeypatch.setattr("store.store.utc_now", chosen)
    return chosen


@pytest.fixture
def sqlite_store(tmp_path):
    opened = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    yield opened
    opened.close()


def record_incident(store, clock: Clock, start: datetime, stage_minutes: Sequence[float], *,
                    playbook_id: str = "outage", ended: bool = True, by: str = PERSON, name: str = "",
                    environment: str = ENVIRONMENT, team_id: str = "t" * 26, commander_id: str = PERSON) -> Incident:
    """An incident saved through the repository: it spends stage_minutes[k] in stage k, the stage changes made
    by `by`; it ends after the last one when `ended`. Returns the incident as stored last."""
    clock.now = start
    incident = Incident(
        id=uuid.uuid4().hex, environment=environment, playbook_id=playbook_id, name=name or f"Incident at {start}",
        team_id=team_id, channel_id="c" * 26, channel_name="incident-x", commander_id=commander_id,
        stages=(Stage("Triage", (ChecklistItem("i1", "Page on-call"), ChecklistItem("i2", "Open a bridge"))),
                Stage("Mitigate", (ChecklistItem("i3", "Roll back"),)), Stage("Resolve")),
        stage_index=0, started_at=start, started_by=PERSON)
    incident = repository.save(store, incident, event=EventType.STARTED, summary="started", user_id=PERSON,
                               actor="dana")
    for index, minutes in enumerate(stage_minutes[:-1], start=1):
        clock.advance(minutes)
        incident = repository.save(store, replace(incident, stage_index=index), event=EventType.STAGE_CHANGED,
                                   summary=f"moved to {STAGES[index]}",
                                   details={"from": STAGES[index - 1], "to": STAGES[index]}, user_id=by,
                                   actor="dana")
    if ended:
        end = clock.advance(stage_minutes[-1])
        incident = repository.save(store, replace(incident, ended_at=end, ended_by=PERSON), event=EventType.ENDED,
                                   summary="ended", user_id=PERSON, actor="dana")
    return incident


def test_median_and_p90_of_ten_known_incidents(sqlite_store, clock):
    # Acknowledged after 1..10 min, resolved after 10..100 min (the rest of the time in stages 2 and 3).
    for k in range(1, 11):
        record_incident(sqlite_store, clock, T0 + timedelta(hours=k), [k, 5 * k - k, 5 * k])
    figures = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT)
    row = figures.summary.iloc[0]
    assert len(figures.summary) == 1
    assert (row["playbook_id"], row["month"], row["incidents"], row["ended"]) == ("outage", "2026-03", 10, 10)
    assert row["acknowledge_median_min"] == pytest.approx(5.5)
    assert row["acknowledge_p90_min"] == pytest.approx(9.1)  # linear between the 9th and 10th: 9 + 0.1
    assert row["resolve_median_min"] == pytest.approx(55)
    assert row["resolve_p90_min"] == pytest.approx(91)
    stages = figures.stage_summary.set_index("stage")
    assert list(figures.stage_summary["stage"]) == ["Triage", "Mitigate", "Resolve"]  # in playbook order
    assert stages.loc["Triage", "median_min"] == pytest.approx(5.5)
    assert stages.loc["Mitigate", "median_min"] == pytest.approx(22)  # 4k: 4..40
    assert stages.loc["Resolve", "p90_min"] == pytest.approx(45.5)  # 5k: 5..50
    assert stages.loc["Resolve", "incidents"] == 10


def test_incidents_fall_into_the_utc_month_they_started_in_per_playbook(sqlite_store, clock):
    late_march = datetime(2026, 3, 31, 23, 50, tzinfo=UTC)
    record_incident(sqlite_store, clock, late_march, [5, 5, 50])  # ends in April, counts for March
    # 01:10 on 1 April in Berlin is still 31 March in UTC.
    record_incident(sqlite_store, clock, datetime(2026, 4, 1, 1, 10, tzinfo=UTC) - timedelta(hours=2), [1, 1, 1])
    record_incident(sqlite_store, clock, datetime(2026, 4, 1, 0, 10, tzinfo=UTC), [2, 2, 2])
    record_incident(sqlite_store, clock, datetime(2026, 4, 3, tzinfo=UTC), [3, 3, 3], playbook_id="security")
    figures = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT)
    summary = figures.summary
    counts = {(r.playbook_id, r.month): r.incidents for r in summary.itertuples()}
    assert counts == {("outage", "2026-03"): 2, ("outage", "2026-04"): 1, ("security", "2026-04"): 1}
    march = summary[(summary.playbook_id == "outage") & (summary.month == "2026-03")].iloc[0]
    assert march["resolve_median_min"] == pytest.approx((60 + 3) / 2)
    overall = incident_metrics.stage_summary(figures.stages, per_month=False)
    triage = overall[(overall.playbook_id == "outage") & (overall.stage == "Triage")].iloc[0]
    assert (triage["month"], triage["incidents"], triage["median_min"]) == ("all months", 3, pytest.approx(2))


def test_time_to_acknowledge_is_the_first_change_by_a_person_after_the_start(sqlite_store, clock):
    untouched = record_incident(sqlite_store, clock, T0, [30])  # ended without any change in between
    by_automation = record_incident(sqlite_store, clock, T0 + timedelta(days=1), [4, 6, 10], by="automation")
    checked = record_incident(sqlite_store, clock, T0 + timedelta(days=2), [20, 1, 1])
    # A person checks an item 3 minutes after the start, before the first stage change at 20 minutes.
    clock.now = checked.started_at + timedelta(minutes=3)
    repository.save(sqlite_store, replace(checked, name="checked early"), event=EventType.ITEM_CHECKED,
                    summary="checked Page on-call", details={"item_id": "i1"}, user_id=PERSON, actor="dana")
    still_open = record_incident(sqlite_store, clock, T0 + timedelta(days=3), [7, 1], ended=False)
    frame = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT).incidents.set_index("incident_id")
    assert math.isnan(frame.loc[untouched.id, "acknowledge_min"])
    assert math.isnan(frame.loc[by_automation.id, "acknowledge_min"])
    assert frame.loc[checked.id, "acknowledge_min"] == pytest.approx(3)
    assert frame.loc[still_open.id, "acknowledge_min"] == pytest.approx(7)
    assert math.isnan(frame.loc[still_open.id, "resolve_min"])  # not resolved yet
    summary = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT).summary.iloc[0]
    assert (summary["incidents"], summary["ended"]) == (4, 3)
    assert summary["acknowledge_median_min"] == pytest.approx(5)  # of 3 and 7; the untouched have none


def test_an_active_incident_adds_no_stage_durations(sqlite_store, clock):
    record_incident(sqlite_store, clock, T0, [7, 1], ended=False)
    figures = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT)
    assert figures.stages.empty and figures.stage_summary.empty
    assert list(figures.stage_summary.columns) == incident_metrics.STAGE_SUMMARY_COLUMNS


def test_no_incidents_give_empty_frames_with_their_columns(sqlite_store):
    figures = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT)
    assert figures.incidents.empty and figures.summary.empty
    assert list(figures.summary.columns) == incident_metrics.SUMMARY_COLUMNS


def test_one_query_reads_the_same_timelines_as_the_repository(sqlite_store, clock):
    first = record_incident(sqlite_store, clock, T0, [1, 2, 3])
    second = record_incident(sqlite_store, clock, T0 + timedelta(hours=1), [4, 5])
    record_incident(sqlite_store, clock, T0, [1], environment="staging")
    repository.queue_message(sqlite_store, ENVIRONMENT, first.id, message="hello", actor="dana")
    found = incident_metrics.timelines(sqlite_store, ENVIRONMENT)
    assert set(found) == {first.id, second.id}
    for incident in (first, second):
        assert found[incident.id] == repository.timeline(sqlite_store, ENVIRONMENT, incident.id)


OUTAGE = Playbook.model_validate({
    "version": 1, "id": "outage", "name": "Outage", "channel_name_template": "m-{slug}",
    "stages": [{"name": "Triage", "items": ["Page on-call"]}, {"name": "Mitigate"}],
})


async def test_incidents_run_through_the_service_give_their_figures(simulator, sqlite_store, clock):
    admin = Actor(simulator.model.admin.id, simulator.model.admin.username)
    async with MattermostApi(simulator.url, simulator.admin_token, timeout=2) as api:
        service = IncidentService(sqlite_store, api, {"outage": OUTAGE}, ENVIRONMENT, clock=clock)
        started = await service.start(admin, team_id=simulator.model.teams[0].id, playbook_id="outage",
                                      name=f"Checkout down {uuid.uuid4().hex[:6]}")
        clock.advance(4)
        await service.set_item(started.id, admin, "Page on-call", True)
        clock.advance(6)
        await service.change_stage(started.id, admin, "Mitigate")
        clock.advance(20)
        await service.end(started.id, admin)
    row = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT).incidents.iloc[0]
    assert row["acknowledge_min"] == pytest.approx(4)
    assert row["resolve_min"] == pytest.approx(30)
    stages = incident_metrics.figures_from_store(sqlite_store, ENVIRONMENT).stages.set_index("stage")
    assert stages.loc["Triage", "minutes"] == pytest.approx(10)
    assert stages.loc["Mitigate", "minutes"] == pytest.approx(20)
