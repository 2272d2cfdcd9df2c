"""How incidents go, across many of them: per playbook and per month, how fast people react and resolve.

Figures, each in minutes, with its median and 90th percentile (pandas' linear interpolation between ranks):

- **time to acknowledge**: from the incident's start to the first change a person made after it: a stage change,
  a checklist item checked, unchecked, added or removed, or a new commander (the Playbooks plugin's task and owner
  changes count too). Starting the incident is not acknowledging it, and changes by "system" or "automation" do
  not count. An incident nobody touched has none.
- **time to resolve**: from the start to the end; only ended incidents have one.
- **stage durations**: the time each ended incident spent in each stage, cut at its stage_changed events' times
  (a stage entered twice adds up).

An incident belongs to the month (UTC) it started in. Every timeline is read in one store query, so the figures
for hundreds of incidents cost one round trip, not one per incident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from incidents import repository
from incidents.models import EventType, Incident, TimelineEvent
from incidents.timeline import COMMANDER_CHANGE_TYPES, PLUGIN_TASK_EVENT, stage_spans
from store import Store

ACKNOWLEDGING_TYPES = frozenset({
    EventType.STAGE_CHANGED.value, EventType.ITEM_CHECKED.value, EventType.ITEM_UNCHECKED.value,
    EventType.ITEM_ADDED.value, EventType.ITEM_REMOVED.value, PLUGIN_TASK_EVENT, *COMMANDER_CHANGE_TYPES,
})
NOT_A_PERSON = frozenset({"system", "automation"})
P90 = 0.9
ALL_MONTHS = "all months"
# What the store and repository.save add to an event's audit details besides the event's own details.
_BOOKKEEPING = frozenset({"event", "summary", "kind", "key", "version", "user_id"})

INCIDENT_COLUMNS = ["incident_id", "playbook_id", "month", "started_at", "ended_at", "acknowledge_min",
                    "resolve_min"]
STAGE_COLUMNS = ["incident_id", "playbook_id", "month", "stage", "stage_order", "minutes"]
SUMMARY_COLUMNS = ["playbook_id", "month", "incidents", "ended", "acknowledge_median_min", "acknowledge_p90_min",
                   "resolve_median_min", "resolve_p90_min"]
STAGE_SUMMARY_COLUMNS = ["playbook_id", "month", "stage", "stage_order", "incidents", "median_min", "p90_min"]


@dataclass(frozen=True)
class IncidentFigures:
    incidents: pd.DataFrame  # one row per incident (INCIDENT_COLUMNS)
    stages: pd.DataFrame  # one row per ended incident and stage (STAGE_COLUMNS)
    summary: pd.DataFrame  # one row per playbook and month (SUMMARY_COLUMNS)
    stage_summary: pd.DataFrame  # one row per playbook, month and stage (STAGE_SUMMARY_COLUMNS)


def timelines(store: Store, environment: str) -> dict[str, list[TimelineEvent]]:
    """Every incident's timeline (incident id -> events, oldest first), read in one query.

    The same events as repository.timeline per incident; kept here so a page of 500 incidents is one query.
    """
    prefix = repository.target("")
    entries = store.audit(repository.TIMELINE_LIMIT, environment=environment, target_prefix=prefix)
    found: dict[str, list[TimelineEvent]] = {}
    for entry in reversed(entries):
        details = entry.details
        if "event" not in details or not entry.target:
            continue
        found.setdefault(entry.target.removeprefix(prefix), []).append(TimelineEvent(
            at=entry.at, type=details["event"], actor=details.get("user_id") or entry.actor,
            summary=details.get("summary", ""),
            details={k: v for k, v in details.items() if k not in _BOOKKEEPING},
        ))
    return found


def time_to_acknowledge_min(incident: Incident, events: Iterable[TimelineEvent]) -> float | None:
    """Minutes from the start to the first change by a person (see the module's docstring), or None."""
    moments = [e.at for e in events
               if e.type in ACKNOWLEDGING_TYPES and e.actor not in NOT_A_PERSON and e.at >= incident.started_at]
    return _minutes(min(moments) - incident.started_at) if moments else None


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def month(moment: datetime) -> str:
    """The UTC month an incident belongs to, as "2026-03"."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def incident_frame(incidents: Sequence[Incident], events: Mapping[str, Sequence[TimelineEvent]]) -> pd.DataFrame:
    """One row per incident: its playbook, month, start, end, time to acknowledge and to resolve (minutes)."""
    rows = [{
        "incident_id": i.id, "playbook_id": i.playbook_id, "month": month(i.started_at),
        "started_at": i.started_at, "ended_at": i.ended_at,
        "acknowledge_min": time_to_acknowledge_min(i, events.get(i.id, ())),
        "resolve_min": _minutes(i.ended_at - i.started_at) if i.ended_at else None,
    } for i in incidents]
    frame = pd.DataFrame(rows, columns=INCIDENT_COLUMNS)
    return frame.astype({"acknowledge_min": "float64", "resolve_min": "float64"})


def stage_frame(incidents: Sequence[Incident], events: Mapping[str, Sequence[TimelineEvent]]) -> pd.DataFrame:
    """One row per ended incident and stage it went through: minutes spent there (a stage entered twice adds up)."""
    rows = []
    for incident in incidents:
        if incident.active:
            continue  # the current stage of an active incident is still running: not a duration yet
        order = {stage.name: n for n, stage in enumerate(incident.stages)}
        spent: dict[str, float] = {}
        for span in stage_spans(incident, events.get(incident.id, ())):
            spent[span.name] = spent.get(span.name, 0.0) + _minutes(span.end - span.start)
        rows += [{"incident_id": incident.id, "playbook_id": incident.playbook_id, "month": month(incident.started_at),
                  "stage": name, "stage_order": order.get(name, len(order)), "minutes": minutes}
                 for name, minutes in spent.items()]
    return pd.DataFrame(rows, columns=STAGE_COLUMNS).astype({"minutes": "float64"})


def summary(incidents: pd.DataFrame) -> pd.DataFrame:
    """Per playbook and month: how many incidents started, how many ended, and the median and p90 of time to
    acknowledge and time to resolve (NaN where no incident has the figure)."""
    if incidents.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    grouped = incidents.groupby(["playbook_id", "month"], sort=True)
    result = pd.DataFrame({
        "incidents": grouped.size(),
        "ended": grouped["resolve_min"].count(),
        "acknowledge_median_min": grouped["acknowledge_min"].median(),
        "acknowledge_p90_min": grouped["acknowledge_min"].quantile(P90),
        "resolve_median_min": grouped["resolve_min"].median(),
        "resolve_p90_min": grouped["resolve_min"].quantile(P90),
    }).reset_index()
    return result[SUMMARY_COLUMNS]


def stage_summary(stages: pd.DataFrame, *, per_month: bool = True) -> pd.DataFrame:
    """Per playbook, month and stage: how many incidents went through it, and the median and p90 minutes there.

    ``per_month=False`` puts every month together (month ALL_MONTHS).
    """
    if stages.empty:
        return pd.DataFrame(columns=STAGE_SUMMARY_COLUMNS)
    if not per_month:
        stages = stages.assign(month=ALL_MONTHS)
    grouped = stages.groupby(["playbook_id", "month", "stage"], sort=False)
    result = pd.DataFrame({
        "stage_order": grouped["stage_order"].min(),
        "incidents": grouped["incident_id"].nunique(),
        "median_min": grouped["minutes"].median(),
        "p90_min": grouped["minutes"].quantile(P90),
    }).reset_index()
    return result.sort_values(["playbook_id", "month", "stage_order"], ignore_index=True)[STAGE_SUMMARY_COLUMNS]


def figures(incidents: Sequence[Incident], events: Mapping[str, Sequence[TimelineEvent]]) -> IncidentFigures:
    """All four frames for these incidents and their timelines."""
    per_incident = incident_frame(incidents, events)
    per_stage = stage_frame(incidents, events)
    return IncidentFigures(per_incident, per_stage, summary(per_incident), stage_summary(per_stage))


def figures_from_store(store: Store, environment: str) -> IncidentFigures:
    """The figures of every incident of the environment: two store queries in all."""
    return figures(repository.list_incidents(store, environment), timelines(store, environment))
