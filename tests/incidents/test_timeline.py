"""Timeline metrics, figure, filters, table, search and postmortem export on hand-built incidents."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from incidents.models import ChecklistItem, EventType, Incident, Stage, TimelineEvent
from incidents.timeline import (
    escape_markdown,
    event_frame,
    figure,
    filter_events,
    format_duration,
    metrics,
    postmortem_markdown,
    search,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(minutes: float, event_type: str, summary: str = "", actor: str = "alice", **details) -> TimelineEvent:
    return TimelineEvent(at(minutes), event_type, actor, summary or event_type, details)


def stage_change(minutes: float, source: str, target: str) -> TimelineEvent:
    return ev(minutes, EventType.STAGE_CHANGED, f"moved to {target}", **{"from": source, "to": target})


def incident(**changes) -> Incident:
    base = Incident(
        id="inc1", environment="production", playbook_id="outage", name="Checkout down", team_id="t1",
        channel_id="c1", channel_name="incident-checkout-down", commander_id="u-alice",
        stages=(Stage("Triage", (ChecklistItem("1", "Page on-call", "u-bob", at(5)),
                                 ChecklistItem("2", "Open bridge"))),
                Stage("Mitigate", (ChecklistItem("3", "Roll back", "u-alice", at(50)),)),
                Stage("Review")),
        stage_index=2, started_at=T0, started_by="u-alice", ended_at=at(60), ended_by="u-alice")
    return replace(base, **changes)


EVENTS = [
    ev(0, EventType.STARTED, "started the incident"),
    ev(3, EventType.COMMANDER_CHANGED, "made @bob commander", actor="bob"),
    ev(5, EventType.ITEM_CHECKED, "checked Page on-call", actor="bob"),
    stage_change(10, "Triage", "Mitigate"),
    stage_change(30, "Mitigate", "Triage"),
    stage_change(40, "Triage", "Mitigate"),
    ev(50, EventType.ITEM_CHECKED, "checked Roll back"),
    stage_change(55, "Mitigate", "Review"),
    ev(60, EventType.ENDED, "ended the incident"),
]


def test_metrics_of_an_ended_incident():
    m = metrics(incident(), EVENTS)
    # Triage 0-10 and 30-40, Mitigate 10-30 and 40-55, Review 55-60: a stage entered twice adds up.
    assert m.time_in_stage == {"Triage": timedelta(minutes=20), "Mitigate": timedelta(minutes=35),
                               "Review": timedelta(minutes=5)}
    assert m.time_to_commander_change == timedelta(minutes=3)
    assert (m.time_to_first_check, m.time_to_last_check) == (timedelta(minutes=5), timedelta(minutes=50))
    assert m.total_duration == timedelta(minutes=60) and not m.ongoing and m.notes == ()


def test_an_active_incident_runs_to_now_and_says_so():
    now = at(90)
    m = metrics(incident(ended_at=None, ended_by=None), EVENTS[:-1], now=now)
    assert m.total_duration == timedelta(minutes=90) and m.ongoing
    assert m.time_in_stage["Review"] == timedelta(minutes=35)
    assert any("still active" in note for note in m.notes)


def test_no_events_means_no_durations_but_the_whole_time_in_the_first_stage():
    m = metrics(incident(), [])
    assert m.time_to_commander_change is m.time_to_first_check is m.time_to_last_check is None
    assert m.time_in_stage == {"Triage": timedelta(minutes=60)}


def test_plugin_runs_count_owner_changes_and_checked_tasks_but_have_no_stage_times():
    run = incident(source="playbooks plugin")
    events = [
        ev(2, "task_state_modified", action="skip", task="Notify VIPs"),  # skipping is not completing
        ev(4, "owner_changed"),
        ev(7, "task_state_modified", action="check", task="Page on-call"),
        ev(20, "task_state_modified", action="check", task="Roll back"),
        ev(25, "task_state_modified", action="uncheck", task="Roll back"),
    ]
    m = metrics(run, events)
    assert m.time_to_commander_change == timedelta(minutes=4)
    assert (m.time_to_first_check, m.time_to_last_check) == (timedelta(minutes=7), timedelta(minutes=20))
    assert m.time_in_stage == {} and any("does not record stage changes" in note for note in m.notes)


def test_format_duration():
    assert format_duration(None) == "–"
    assert format_duration(timedelta(seconds=245)) == "4 min 05 s"
    assert format_duration(timedelta(hours=1, minutes=2)) == "1 h 02 min"
    assert format_duration(timedelta(days=2, hours=3, minutes=4)) == "2 d 03 h 04 min"


def test_filter_by_type_actor_and_words():
    assert [e.summary for e in filter_events(EVENTS, types=[EventType.ITEM_CHECKED])] == [
        "checked Page on-call", "checked Roll back"]
    assert [e.summary for e in filter_events(EVENTS, actors={"bob"}, text="PAGE")] == ["checked Page on-call"]
    assert filter_events(EVENTS, text="checked nothing-like-this") == []
    assert filter_events(EVENTS, types=None, actors=[], text="  ") == EVENTS


def test_figure_has_one_webgl_lane_per_type_and_stage_bands():
    fig = figure(EVENTS)
    assert {t.type for t in fig.data} == {"scattergl"}
    counts = {t.name: len(t.x) for t in fig.data}
    assert counts == {"incident_started": 1, "commander_changed": 1, "item_checked": 2, "stage_changed": 4,
                      "incident_ended": 1}
    assert [(s.x0, s.x1) for s in fig.layout.shapes] == [
        (at(0), at(10)), (at(10), at(30)), (at(30), at(40)), (at(40), at(55)), (at(55), at(60))]
    assert [a.text for a in fig.layout.annotations] == ["Triage", "Mitigate", "Triage", "Mitigate", "Review"]
    # One colour per stage name, so a stage entered twice looks the same both times.
    colours = [s.fillcolor for s in fig.layout.shapes]
    assert colours[0] == colours[2] and colours[1] == colours[3] and len(set(colours)) == 3
    json.loads(fig.to_json())


def test_figure_hover_is_escaped_and_filters_apply():
    events = [ev(1, "event_from_post", "<img src=x onerror=alert(1)> & more", actor="<b>eve</b>")]
    (trace,) = figure(events).data
    assert trace.customdata[0][0] == "&lt;img src=x onerror=alert(1)&gt; &amp; more"
    assert trace.customdata[0][1] == "&lt;b&gt;eve&lt;/b&gt;"
    assert "%{customdata[0]}" in trace.hovertemplate and "%{customdata[1]}" in trace.hovertemplate
    only_checks = figure(EVENTS, types=[EventType.ITEM_CHECKED], stage_spans=False)
    assert [t.name for t in only_checks.data] == ["item_checked"] and only_checks.layout.shapes == ()


def test_figure_without_events_says_so():
    for fig in (figure([]), figure(EVENTS, actors=["nobody"])):
        assert fig.data == ()
        assert any("No events match" in a.text for a in fig.layout.annotations)
        json.loads(fig.to_json())


def test_event_frame():
    frame = event_frame(list(reversed(EVENTS)))
    assert list(frame.columns) == ["time", "type", "actor", "summary"]
    assert frame["time"].is_monotonic_increasing and len(frame) == len(EVENTS)
    assert str(frame["time"].dt.tz) == "UTC"
    assert list(event_frame([]).columns) == ["time", "type", "actor", "summary"]


def test_search_past_incidents():
    older = incident(id="inc0", name="Login failures", channel_name="incident-sso", commander_id="u-bob",
                     playbook_id="security", started_at=T0 - timedelta(days=3))
    newer = incident()
    everything = [older, newer]
    assert search(everything, "") == [newer, older]
    assert search(everything, "checkout") == [newer]
    assert search(everything, "SSO") == [older]
    assert search(everything, "security login") == [older]
    assert search(everything, "security checkout") == []
    assert search(everything, "bobby", usernames={"u-bob": "bobby"}) == [older]


def test_escape_markdown():
    assert escape_markdown("a*b_c [x](y) | #1 <b>\nnext") == r"a\*b\_c \[x\]\(y\) \| \#1 \<b\> next"


def test_postmortem_markdown():
    tricky = incident(name="Checkout *down* | [EU]")
    events = [*EVENTS, ev(61, "event_from_post", "rollback `done`\n| not a column")]
    text = postmortem_markdown(tricky, events, metrics(tricky, events))
    lines = text.splitlines()
    assert lines[0] == r"# Postmortem: Checkout \*down\* \| \[EU\]"
    assert "| Total duration | 1 h 00 min |" in lines
    assert "| Time to commander change | 3 min 00 s |" in lines
    assert "| Time to first checklist completion | 5 min 00 s |" in lines
    assert "| Time to last checklist completion | 50 min 00 s |" in lines
    assert "| Mitigate | 35 min 00 s |" in lines
    assert "### Triage (1/2 done)" in lines and "### Review (0/0 done)" in lines
    assert "- [x] Page on\\-call (checked 2026-03-02 09:05:00 UTC by u\\-bob)" in lines
    assert "- [ ] Open bridge" in lines
    timeline = lines[lines.index("## Timeline"):]
    rows = [line for line in timeline if line.startswith("| 2026")]
    assert len(rows) == len(events)
    # Every row keeps exactly four cells: pipes and line breaks in summaries cannot break the table.
    assert all(line.replace("\\|", "").count("|") == 5 for line in rows)
    assert rows[-1].endswith(r"| rollback \`done\` \| not a column |")


def test_postmortem_of_an_active_incident_without_events():
    active = incident(ended_at=None, ended_by=None)
    text = postmortem_markdown(active, [], metrics(active, [], now=at(30)))
    assert "| Total duration (so far) | 30 min 00 s |" in text
    assert "still active" in text and "No events recorded." in text
