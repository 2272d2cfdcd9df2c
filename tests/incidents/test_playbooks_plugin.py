"""Playbooks plugin runs as incidents: the mapping on runs shaped like the plugin's JSON (reference playbooks.md
§1.5–1.6, and the legacy fields of §0/§6), then reading through the simulator's plugin API, failures included."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from incidents import playbooks_plugin, timeline
from incidents.playbooks_plugin import map_events, map_run, read_runs
from simulator import build_scenario

# Every event type of reference §1.6, written down here independently of the simulator's own list.
ALL_EVENT_TYPES = (
    "incident_created", "task_state_modified", "status_updated", "status_update_requested", "status_update_snoozed",
    "owner_changed", "assignee_changed", "ran_slash_command", "event_from_post", "user_joined_left",
    "participants_changed", "published_retrospective", "canceled_retrospective", "run_finished", "run_restored",
    "channel_archived", "channel_unarchived", "status_updates_enabled", "status_updates_disabled",
    "retrospective_enabled", "retrospective_disabled", "property_changed",
)
T0 = 1_741_943_525_000  # 2025-03-14 09:12:05 UTC
OWNER, REPORTER, HELPER = "o" * 26, "r" * 26, "h" * 26


def item(title: str, state: str = "", at: int = 0, **extra) -> dict:
    return {"id": f"id-{title}", "title": title, "state": state, "state_modified": at, "assignee_id": "",
            "assignee_modified": 0, "assignee_type": "", "assignee_property_field_id": "", "command": "",
            "command_last_run": 0, "description": "", "delete_at": at if state == "skipped" else 0, "due_date": 0,
            "task_actions": [], "update_at": at, "condition_id": "", "condition_action": "", "condition_reason": "",
            **extra}


def event(offset_s: int, event_type: str, summary: str = "", details: dict | str = "", subject: str = OWNER,
          creator: str = "", **extra) -> dict:
    return {"id": f"ev-{offset_s}-{event_type}", "playbook_run_id": "run1", "create_at": T0 + offset_s * 1000,
            "delete_at": 0, "event_at": T0 + offset_s * 1000, "event_type": event_type, "summary": summary,
            "details": json.dumps(details) if isinstance(details, dict) else details, "post_id": "",
            "subject_user_id": subject, "creator_user_id": creator, **extra}


def plugin_run(**changes) -> dict:
    """A finished run with three checklists and one event of every type, as GET /runs returns it."""
    events = [
        event(0, "incident_created", subject=REPORTER),
        event(2, "participants_changed", details={"action": "joined", "requester": "alice", "users": ["bob", "carol"]},
              creator=REPORTER),
        event(3, "participants_changed", details={"action": "left", "requester": "alice", "users": ["carol"]}),
        event(20, "user_joined_left", details={"action": "joined", "requester": "dave", "users": ["dave"]}),
        event(21, "user_joined_left", details={"action": "left", "requester": "dave", "users": ["dave"]}),
        event(30, "owner_changed", summary="@alice to @bob", subject=OWNER, creator=REPORTER),
        event(40, "task_state_modified", summary="checked off checklist item **Page on-call**",
              details={"action": "check", "task": "Page on-call"}, subject=HELPER),
        event(41, "task_state_modified", details={"action": "skip", "task": "Notify VIPs"}),
        event(50, "assignee_changed",
              summary="changed assignee of checklist item **Fix** from **No Assignee** to **@carol**"),
        event(60, "ran_slash_command", summary="ran the slash command: `/zoom start`"),
        event(90, "event_from_post", summary="Error rate jumped to 18%", post_id="p" * 26, subject=HELPER,
              creator=OWNER, create_at=T0 + 300_000),
        event(100, "status_updated", post_id="s" * 26),
        event(110, "status_update_requested", summary="@erin requested a status update"),
        event(120, "status_update_snoozed", subject=REPORTER),
        event(130, "property_changed", details={"property_field_id": "f1", "property_field_name": "Severity",
                                                "old_value": "s3", "new_value": "s2", "old_value_display": "Sev 3",
                                                "new_value_display": "Sev 2"}),
        event(140, "status_updates_disabled"), event(141, "status_updates_enabled"),
        event(150, "retrospective_disabled"), event(151, "retrospective_enabled"),
        event(200, "run_finished"), event(201, "channel_archived"),
        event(300, "run_restored"), event(301, "channel_unarchived"),
        event(302, "task_state_modified", summary="", details={"action": "check", "task": "Fix"}, subject=HELPER),
        event(400, "run_finished", subject=HELPER),
        event(500, "canceled_retrospective"), event(600, "published_retrospective"),
        event(700, "event_from_post", summary="removed from the timeline", delete_at=T0 + 800_000),
    ]
    run = {
        "id": "run1", "name": "Checkout API 5xx errors", "summary": "", "owner_user_id": OWNER,
        "reporter_user_id": REPORTER, "team_id": "t" * 26, "channel_id": "c" * 26, "create_at": T0,
        "update_at": T0 + 600_000, "end_at": T0 + 400_000, "delete_at": 0, "active_stage": 0,
        "active_stage_title": "", "playbook_id": "pb1", "current_status": "Finished",
        "checklists": [
            {"id": "cl1", "title": "Triage", "items": [item("Page on-call", "closed", T0 + 40_000),
                                                        item("Notify VIPs", "skipped", T0 + 41_000)]},
            {"id": "cl2", "title": "Resolve", "items": [item("Fix", "closed", T0 + 302_000),
                                                         item("Hidden task", "", 0, condition_action="hidden")]},
            {"id": "cl3", "title": "Follow up", "items": [item("Write the review", "in_progress")]},
        ],
        "timeline_events": events,
    }
    return {**run, **changes}


def test_every_event_type_keeps_its_name_and_reads_as_a_sentence():
    events = map_events(plugin_run())
    assert {e.type for e in events} == set(ALL_EVENT_TYPES)
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert "Removed from the timeline." not in [e.summary for e in events]  # deleted events stay hidden
    for e in events:
        assert e.summary and "**" not in e.summary and "`" not in e.summary, (e.type, e.summary)
        assert e.summary[0].isupper() or e.summary[0] == "@", e.summary
        assert e.summary.endswith("."), e.summary


def test_summaries_built_from_details_and_from_the_plugins_markdown():
    by_id = {e.details["event_id"]: e.summary for e in map_events(plugin_run())}
    assert by_id["ev-0-incident_created"] == "Run Checkout API 5xx errors started."
    assert by_id["ev-2-participants_changed"] == "@alice added @bob and @carol to the run."
    assert by_id["ev-3-participants_changed"] == "@alice removed @carol from the run."
    assert by_id["ev-20-user_joined_left"] == "@dave joined the run."
    assert by_id["ev-21-user_joined_left"] == "@dave left the run."
    assert by_id["ev-30-owner_changed"] == "Owner changed from @alice to @bob."
    assert by_id["ev-40-task_state_modified"] == "Checked off checklist item Page on-call."
    assert by_id["ev-41-task_state_modified"] == "Skipped checklist item Notify VIPs."
    assert by_id["ev-50-assignee_changed"] == "Changed assignee of checklist item Fix from No Assignee to @carol."
    assert by_id["ev-60-ran_slash_command"] == "Ran the slash command: /zoom start."
    assert by_id["ev-100-status_updated"] == "Status update posted."
    assert by_id["ev-130-property_changed"] == "Severity changed from Sev 3 to Sev 2."
    assert by_id["ev-400-run_finished"] == "Run finished."


def test_event_time_actor_and_details():
    events = {e.details["event_id"]: e for e in map_events(plugin_run())}
    from_post = events["ev-90-event_from_post"]
    # event_at (when the post was written) counts, not create_at (when it was added to the timeline).
    assert from_post.at == datetime(2025, 3, 14, 9, 13, 35, tzinfo=UTC)
    assert from_post.actor == OWNER  # who added it; the post's author is the subject
    assert from_post.details["subject_user_id"] == HELPER and from_post.details["post_id"] == "p" * 26
    assert events["ev-40-task_state_modified"].actor == HELPER
    assert events["ev-40-task_state_modified"].details["action"] == "check"
    assert events["ev-130-property_changed"].details["new_value"] == "s2"
    assert events["ev-0-incident_created"].details["run_id"] == "run1"


def test_a_run_becomes_an_incident_with_its_checklists_as_stages():
    run = plugin_run()
    events = map_events(run)
    incident = map_run(run, events, "production")
    assert (incident.id, incident.environment, incident.source) == ("run1", "production", "playbooks plugin")
    assert (incident.commander_id, incident.started_by, incident.playbook_id) == (OWNER, REPORTER, "pb1")
    assert incident.started_at == datetime(2025, 3, 14, 9, 12, 5, tzinfo=UTC)
    assert incident.ended_at == datetime(2025, 3, 14, 9, 18, 45, tzinfo=UTC) and not incident.active
    assert incident.ended_by == HELPER  # whoever finished it last
    assert [s.name for s in incident.stages] == ["Triage", "Resolve", "Follow up"]
    triage, resolve, follow_up = incident.stages
    assert [i.checked for i in triage.items] == [True, True]  # closed and skipped both count as done
    assert triage.items[0].checked_by == HELPER
    assert triage.items[0].checked_at == datetime(2025, 3, 14, 9, 12, 45, tzinfo=UTC)
    assert [i.title for i in resolve.items] == ["Fix"]  # the hidden conditional task is left out
    assert not follow_up.items[0].checked  # in progress is still open
    assert incident.stage_index == 2  # the first checklist with open items


def test_current_stage_is_the_last_when_everything_is_done_and_active_without_end():
    run = plugin_run(end_at=0, current_status="InProgress")
    run["checklists"][2]["items"][0]["state"] = "closed"
    incident = map_run(run, map_events(run), "production")
    assert incident.stage_index == 2 and incident.active and incident.ended_by is None


def test_a_run_without_checklists_still_has_one_stage():
    run = plugin_run(checklists=[], timeline_events=[])
    incident = map_run(run, map_events(run), "production")
    assert incident.stage.name == "Checklist" and incident.stage.items == ()


def test_legacy_incident_fields():
    """Incident Response v1.0–v1.2: commander_user_id, is_active, a real active_stage, incident_id in events."""
    legacy_event = event(30, "commander_changed", summary="@alice to @bob", creator=REPORTER)
    legacy_event["incident_id"] = legacy_event.pop("playbook_run_id")
    run = plugin_run(timeline_events=[legacy_event], active_stage=0, is_active=False, end_at=0)
    run["commander_user_id"] = run.pop("owner_user_id")
    events = map_events(run)
    incident = map_run(run, events, "staging")
    assert events[0].type == "owner_changed" and events[0].details["run_id"] == "run1"
    assert incident.commander_id == OWNER
    assert incident.stage_index == 0  # trusted on legacy incidents, although Follow up has open items
    assert incident.ended_at == datetime(2025, 3, 14, 9, 22, 5, tzinfo=UTC)  # update_at, lacking end_at


def test_details_that_are_not_json_are_kept_as_text():
    run = plugin_run(timeline_events=[event(5, "something_new", details="not json")])
    (only,) = map_events(run)
    assert only.details["text"] == "not json"
    assert only.summary == "Something new."  # an event type newer than this code still reads


# ----------------------------------------------------------------------------------------- the simulator

async def test_reads_every_run_through_the_api_page_by_page(simulator, monkeypatch):
    monkeypatch.setattr(playbooks_plugin, "PER_PAGE", 1)  # four seeded runs: four pages
    result = await read_runs(simulator.url, simulator.admin_token, environment="demo")
    assert result.problem is None
    assert len(result.incidents) == 4
    assert [i.started_at for i in result.incidents] == sorted((i.started_at for i in result.incidents),
                                                              reverse=True)
    active = [i for i in result.incidents if i.active]
    assert [i.name for i in active] == ["Checkout API latency"]
    assert {i.source for i in result.incidents} == {"playbooks plugin"}
    assert set(result.events) == {i.id for i in result.incidents}
    seen = {e.type for events in result.events.values() for e in events}
    assert seen == set(ALL_EVENT_TYPES)
    for events in result.events.values():
        assert all(e.summary and "**" not in e.summary for e in events)
    latency = active[0]
    assert latency.stages[0].name == "Triage" and latency.stage_index == 0
    assert [i.checked for i in latency.stages[0].items] == [True, True, True, False]


async def test_since_keeps_recently_updated_runs(simulator):
    two_days_ago = simulator.model.now_ms - 2 * 24 * 3600 * 1000
    result = await read_runs(simulator.url, simulator.admin_token, since_ms=two_days_ago)
    names = {i.name for i in result.incidents}
    assert "Checkout API latency" in names and "SSO login failures" not in names


async def test_wrong_token(simulator):
    result = await read_runs(simulator.url, "not-a-valid-token")
    assert result.incidents == [] and result.events == {}
    assert "HTTP 401" in result.problem and "token" in result.problem


async def test_forbidden(simulator):
    simulator.faults.set("/plugins/playbooks/api/v0/runs", status=403)
    result = await read_runs(simulator.url, simulator.admin_token)
    assert result.incidents == [] and "HTTP 403" in result.problem and "system admin" in result.problem


async def test_timeout(simulator):
    simulator.faults.set("/plugins/playbooks/api/v0/runs", latency_ms=1500)
    result = await read_runs(simulator.url, simulator.admin_token, timeout=0.3)
    assert result.incidents == [] and "did not answer within 0.3 s" in result.problem


async def test_answer_that_is_not_a_runs_list(simulator):
    simulator.faults.set("/plugins/playbooks/api/v0/runs", malformed_json=True)
    result = await read_runs(simulator.url, simulator.admin_token)
    assert result.incidents == [] and "did not answer with a list of runs" in result.problem


async def test_nothing_listening():
    result = await read_runs("http://127.0.0.1:9", "token", timeout=2)
    assert result.incidents == [] and "Nothing is listening" in result.problem


@pytest.mark.parametrize(("base_url", "token", "expected"), [
    ("", "token", "No Mattermost URL"), ("http://127.0.0.1:9", None, "No Mattermost token"),
])
async def test_not_configured(base_url, token, expected):
    result = await read_runs(base_url, token)
    assert result.incidents == [] and expected in result.problem


async def test_plugin_absent_or_plugins_off(simulator_factory):
    scenario = build_scenario("healthy")
    without = replace(scenario, plugins=tuple(replace(p, enabled=False) if p.id == "playbooks" else p
                                              for p in scenario.plugins))
    sim = simulator_factory(without)
    result = await read_runs(sim.url, sim.admin_token)
    assert result.incidents == [] and "not installed or not enabled" in result.problem and "404" in result.problem

    plugins_off = replace(scenario, settings=replace(scenario.settings, plugins_enabled=False))
    sim = simulator_factory(plugins_off)
    result = await read_runs(sim.url, sim.admin_token)
    assert result.incidents == [] and "Plugins are switched off" in result.problem


async def test_simulator_runs_feed_the_timeline_views(simulator):
    result = await read_runs(simulator.url, simulator.admin_token, environment="demo")
    for incident in result.incidents:
        events = result.events[incident.id]
        metrics = timeline.metrics(incident, events)
        assert metrics.time_in_stage == {} and metrics.total_duration > timedelta()
        figure = timeline.figure(events)
        assert sum(len(trace.x) for trace in figure.data) == len(events)
        text = timeline.postmortem_markdown(incident, events, metrics)
        assert text.count("\n| 20") == len(events)  # one timeline row per event
