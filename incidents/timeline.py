"""An incident's timeline as people review it: metrics, an interactive figure, a table, search and a postmortem.

Works on dashboard incidents and on runs read from the Playbooks plugin alike (see incidents/playbooks_plugin.py):
both arrive as `Incident` plus `TimelineEvent`s. Plugin events keep the plugin's type names, so the metrics
recognise both vocabularies.

Stage changes are `stage_changed` events whose details carry {"from": <stage name>, "to": <stage name>}.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.graph_objects as go

from incidents.models import EventType, Incident, TimelineEvent

# The Playbooks plugin's names for the same happenings (reference playbooks.md §1.6).
COMMANDER_CHANGE_TYPES = frozenset({EventType.COMMANDER_CHANGED.value, "owner_changed"})
PLUGIN_TASK_EVENT = "task_state_modified"

# Stage bands cycle through these; light enough that markers stay readable on top.
STAGE_COLOURS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class StageSpan:
    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class IncidentMetrics:
    time_in_stage: dict[str, timedelta]  # stage name -> total time; a stage entered twice adds up
    time_to_commander_change: timedelta | None
    time_to_first_check: timedelta | None
    time_to_last_check: timedelta | None
    total_duration: timedelta
    ongoing: bool  # the incident is still active: total duration and the current stage run to "now"
    notes: tuple[str, ...] = field(default=())  # why a figure is missing or provisional, in sentences


def is_check(event: TimelineEvent) -> bool:
    """A checklist item was completed: our `item_checked`, or the plugin's task state change to checked."""
    if event.type == EventType.ITEM_CHECKED:
        return True
    return event.type == PLUGIN_TASK_EVENT and event.details.get("action") == "check"


def stage_spans(incident: Incident, events: Sequence[TimelineEvent], now: datetime | None = None) -> list[StageSpan]:
    """The stages the incident went through, in order, from its start to its end (or now)."""
    end = incident.ended_at or now or datetime.now(UTC)
    changes = sorted((e for e in events if e.type == EventType.STAGE_CHANGED), key=lambda e: e.at)
    current = changes[0].details.get("from") if changes else None
    current = current or incident.stages[0].name
    spans: list[StageSpan] = []
    start = incident.started_at
    for change in changes:
        spans.append(StageSpan(current, start, max(start, change.at)))
        current = change.details.get("to") or current
        start = max(start, change.at)
    spans.append(StageSpan(current, start, max(start, end)))
    return spans


def metrics(incident: Incident, events: Sequence[TimelineEvent], now: datetime | None = None) -> IncidentMetrics:
    now = now or datetime.now(UTC)
    notes: list[str] = []
    ongoing = incident.active
    if ongoing:
        notes.append("The incident is still active: total duration and time in the current stage run to now.")
    has_stage_changes = any(e.type == EventType.STAGE_CHANGED for e in events)
    time_in_stage: dict[str, timedelta] = {}
    if incident.source == "dashboard" or has_stage_changes:
        for span in stage_spans(incident, events, now):
            time_in_stage[span.name] = time_in_stage.get(span.name, timedelta()) + (span.end - span.start)
    else:
        notes.append("The Playbooks plugin does not record stage changes, so time per stage is not available.")

    commander_changes = sorted(e.at for e in events if e.type in COMMANDER_CHANGE_TYPES)
    checks = sorted(e.at for e in events if is_check(e))
    end = incident.ended_at or now
    return IncidentMetrics(
        time_in_stage=time_in_stage,
        time_to_commander_change=commander_changes[0] - incident.started_at if commander_changes else None,
        time_to_first_check=checks[0] - incident.started_at if checks else None,
        time_to_last_check=checks[-1] - incident.started_at if checks else None,
        total_duration=max(timedelta(), end - incident.started_at),
        ongoing=ongoing,
        notes=tuple(notes),
    )


def format_duration(value: timedelta | None) -> str:
    """"2 d 03 h 04 min", "1 h 02 min", "4 min 05 s", or "–" when not applicable."""
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours:02d} h {minutes:02d} min"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


# ------------------------------------------------------------------------------------------ filter and table

def filter_events(events: Sequence[TimelineEvent], types: Iterable[str] | None = None,
                  actors: Iterable[str] | None = None, text: str | None = None) -> list[TimelineEvent]:
    """Events of the given types, by the given actors, whose summary contains every word of `text`.

    None (or empty) means no filter on that field; matching text is case-insensitive.
    """
    wanted_types = set(types) if types else None
    wanted_actors = set(actors) if actors else None
    words = (text or "").lower().split()
    return [
        e for e in events
        if (wanted_types is None or e.type in wanted_types)
        and (wanted_actors is None or e.actor in wanted_actors)
        and all(word in e.summary.lower() for word in words)
    ]


def event_frame(events: Sequence[TimelineEvent]) -> pd.DataFrame:
    """One row per event, oldest first: time (UTC), type, actor, summary."""
    ordered = sorted(events, key=lambda e: e.at)
    return pd.DataFrame({
        "time": pd.to_datetime([e.at for e in ordered], utc=True),
        "type": [e.type for e in ordered],
        "actor": [e.actor for e in ordered],
        "summary": [e.summary for e in ordered],
    }, columns=["time", "type", "actor", "summary"])


# --------------------------------------------------------------------------------------------------- figure

def _bands_from_events(events: Sequence[TimelineEvent]) -> list[StageSpan]:
    """Stage bands from the events alone: from the first event to the last, cut at each stage change."""
    ordered = sorted(events, key=lambda e: e.at)
    changes = [e for e in ordered if e.type == EventType.STAGE_CHANGED]
    if not changes:
        return []
    start, last = ordered[0].at, ordered[-1].at
    current = changes[0].details.get("from")
    spans: list[StageSpan] = []
    for change in changes:
        if current and change.at > start:
            spans.append(StageSpan(current, start, change.at))
        current, start = change.details.get("to"), change.at
    if current and last > start:
        spans.append(StageSpan(current, start, last))
    return spans


def _stage_shapes(spans: Sequence[StageSpan]) -> tuple[list[dict], list[dict]]:
    colours: dict[str, str] = {}
    shapes, labels = [], []
    for span in spans:
        colour = colours.setdefault(span.name, STAGE_COLOURS[len(colours) % len(STAGE_COLOURS)])
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": span.start, "x1": span.end,
                       "y0": 0, "y1": 1, "fillcolor": colour, "opacity": 0.12, "line": {"width": 0},
                       "layer": "below"})
        labels.append({"x": span.start, "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom",
                       "xanchor": "left", "text": html.escape(span.name), "showarrow": False,
                       "font": {"size": 11, "color": colour}})
    return shapes, labels


def figure(events: Sequence[TimelineEvent], types: Iterable[str] | None = None,
           actors: Iterable[str] | None = None, stage_spans: bool = True) -> go.Figure:
    """One marker per event, one lane (and one WebGL trace) per event type; stages as coloured bands.

    Hover shows the summary, the actor and the time. WebGL traces keep 10,000 events interactive.
    """
    shown = filter_events(events, types, actors)
    by_type: dict[str, list[TimelineEvent]] = {}
    for event in sorted(shown, key=lambda e: e.at):
        by_type.setdefault(event.type, []).append(event)
    fig = go.Figure()
    for event_type in sorted(by_type):
        lane = by_type[event_type]
        fig.add_trace(go.Scattergl(
            x=[e.at.strftime("%Y-%m-%d %H:%M:%S.%f") for e in lane],
            y=[event_type] * len(lane),
            mode="markers",
            name=event_type,
            marker={"size": 9},
            # Summaries are people's text: escape it, plotly reads hover text as HTML.
            customdata=[(html.escape(e.summary), html.escape(e.actor)) for e in lane],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]} · %{x|%Y-%m-%d %H:%M:%S} UTC<extra>%{y}</extra>",
        ))
    shapes, labels = _stage_shapes(_bands_from_events(events)) if stage_spans else ([], [])
    if not shown:
        labels.append({"text": "No events match the filters.", "xref": "paper", "yref": "paper", "x": 0.5,
                       "y": 0.5, "showarrow": False, "font": {"size": 14}})
    fig.update_layout(
        shapes=shapes, annotations=labels, showlegend=False, hovermode="closest",
        height=max(260, 60 + 36 * len(by_type)), margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"type": "date", "title": None}, yaxis={"type": "category", "title": None, "automargin": True},
    )
    return fig


# --------------------------------------------------------------------------------------------------- search

def search(incidents: Iterable[Incident], text: str, usernames: Mapping[str, str] | None = None) -> list[Incident]:
    """Incidents whose name, channel, commander or playbook contain every word of `text`; newest first.

    `usernames` (user id -> username) lets people find a commander by name rather than by id.
    """
    words = text.lower().split()
    names = usernames or {}

    def haystack(incident: Incident) -> str:
        commander = names.get(incident.commander_id, "")
        return " ".join((incident.name, incident.channel_name, incident.commander_id, commander,
                         incident.playbook_id)).lower()

    found = [i for i in incidents if all(word in haystack(i) for word in words)]
    return sorted(found, key=lambda i: i.started_at, reverse=True)


# ----------------------------------------------------------------------------------------------- postmortem

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def escape_markdown(text: str) -> str:
    """Text that shows as typed in Markdown: special characters backslash-escaped, line breaks as spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT) + " UTC" if moment else "–"


def postmortem_markdown(incident: Incident, events: Sequence[TimelineEvent], metrics: IncidentMetrics) -> str:
    """A postmortem document: summary, metrics, stage durations, checklist status and the full timeline."""
    e = escape_markdown
    state = "active (figures run to now)" if incident.active else f"ended {_when(incident.ended_at)}"
    lines = [
        f"# Postmortem: {e(incident.name)}",
        "",
        "## Summary",
        "",
        f"- Playbook: {e(incident.playbook_id) or '–'} (source: {e(incident.source)})",
        f"- Channel: {e(incident.channel_name or incident.channel_id)}",
        f"- Commander: {e(incident.commander_id)}",
        f"- Started: {_when(incident.started_at)} by {e(incident.started_by)}",
        f"- State: {state}; current stage {e(incident.stage.name)}",
        "",
        "## Metrics",
        "",
        "| Metric | Value |",
        "| --- | --- |",
        f"| Total duration{' (so far)' if metrics.ongoing else ''} | {format_duration(metrics.total_duration)} |",
        f"| Time to commander change | {format_duration(metrics.time_to_commander_change)} |",
        f"| Time to first checklist completion | {format_duration(metrics.time_to_first_check)} |",
        f"| Time to last checklist completion | {format_duration(metrics.time_to_last_check)} |",
        "",
    ]
    lines += [f"_{e(note)}_" for note in metrics.notes]
    lines += ["", "## Time in each stage", ""]
    if metrics.time_in_stage:
        lines += ["| Stage | Time |", "| --- | --- |"]
        lines += [f"| {e(name)} | {format_duration(spent)} |" for name, spent in metrics.time_in_stage.items()]
    else:
        lines.append("Not available.")
    lines += ["", "## Checklists", ""]
    for stage in incident.stages:
        done = sum(1 for item in stage.items if item.checked)
        lines += [f"### {e(stage.name)} ({done}/{len(stage.items)} done)", ""]
        for item in stage.items:
            checked = f" (checked {_when(item.checked_at)} by {e(item.checked_by or '?')})" if item.checked else ""
            lines.append(f"- [{'x' if item.checked else ' '}] {e(item.title)}{checked}")
        if not stage.items:
            lines.append("No items.")
        lines.append("")
    lines += ["## Timeline", "", "| Time (UTC) | Type | Actor | Summary |", "| --- | --- | --- | --- |"]
    for event in sorted(events, key=lambda ev: ev.at):
        lines.append(f"| {event.at.astimezone(UTC).strftime(TIME_FORMAT)} | {e(event.type)} | {e(event.actor)} "
                     f"| {e(event.summary)} |")
    if not events:
        lines.append("| – | – | – | No events recorded. |")
    return "\n".join(lines) + "\n"
