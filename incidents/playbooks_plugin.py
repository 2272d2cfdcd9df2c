"""Runs of the Mattermost Playbooks plugin, read through its REST API and shown as incidents.

GET {url}/plugins/playbooks/api/v0/runs returns each run with its checklists and timeline events, so one paged
listing is enough (reference playbooks.md §1.2, §6). A run becomes an `Incident` whose stages are its checklists;
each timeline event keeps the plugin's type name and gets a sentence a person can read, built from the event's
details when the plugin leaves the summary empty. Older Incident Collaboration fields (`commander_user_id`,
`is_active`, `incident_id`, `commander_changed`) are understood too.

Reading never raises: a missing plugin, a refused token or an unreachable server comes back as `problem`.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from collectors.http_errors import describe_transport_error
from incidents.models import ChecklistItem, Incident, Stage, TimelineEvent

RUNS_PATH = "/plugins/playbooks/api/v0/runs"
PER_PAGE = 200
SOURCE = "playbooks plugin"
DONE_STATES = frozenset({"closed", "skipped"})  # the plugin counts skipped items as completed
OPEN_STATES = frozenset({"", "in_progress"})
# A server that keeps answering has_more would otherwise page forever.
MAX_PAGES = 500


@dataclass(frozen=True)
class PluginRuns:
    incidents: list[Incident] = field(default_factory=list)
    events: dict[str, list[TimelineEvent]] = field(default_factory=dict)  # incident id -> events, oldest first
    problem: str | None = None  # a sentence for the page when the runs could not be read (or only partly)


class _ReadError(Exception):
    """A sentence explaining why the listing could not be read."""


async def read_runs(base_url: str, token: str | None, verify: bool | ssl.SSLContext = True, timeout: float = 10,
                    since_ms: int | None = None, *, environment: str = "") -> PluginRuns:
    """Every run the token may see, newest first; with `since_ms`, only runs updated since then."""
    if not base_url:
        return PluginRuns(problem="No Mattermost URL is configured for this environment, so Playbooks runs "
                                  "cannot be read.")
    if not token:
        return PluginRuns(problem="No Mattermost token is configured for this environment: Playbooks runs need a "
                                  "system admin's personal access token to be read.")
    url = base_url.rstrip("/") + RUNS_PATH
    try:
        raw_runs = await _list_runs(url, token, verify, timeout, since_ms)
    except _ReadError as error:
        return PluginRuns(problem=str(error))
    incidents: list[Incident] = []
    events: dict[str, list[TimelineEvent]] = {}
    unreadable = 0
    for raw in raw_runs:
        try:
            run_events = map_events(raw)
            incident = map_run(raw, run_events, environment)
        except (KeyError, TypeError, ValueError, AttributeError):
            unreadable += 1
            continue
        incidents.append(incident)
        events[incident.id] = run_events
    problem = None
    if unreadable:
        problem = (f"{unreadable} of {len(raw_runs)} Playbooks runs had an unexpected shape and are left out; "
                   "the plugin may be newer or older than this dashboard knows.")
    return PluginRuns(incidents, events, problem)


async def _list_runs(url: str, token: str, verify: bool | ssl.SSLContext, timeout: float,
                     since_ms: int | None) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    params: dict[str, Any] = {"per_page": PER_PAGE, "sort": "create_at", "direction": "desc"}
    if since_ms:
        params["since"] = since_ms
    async with httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
        for page in range(MAX_PAGES):
            try:
                response = await client.get(url, params={**params, "page": page}, headers=headers)
            except httpx.HTTPError as exc:
                raise _ReadError(describe_transport_error(exc, "Mattermost", url, timeout)) from None
            if response.status_code != 200:
                raise _ReadError(_status_sentence(response, url))
            body = _json(response)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise _ReadError(f"{url} did not answer with a list of runs: is this a Mattermost server with the "
                                 "Playbooks plugin?")
            runs.extend(item for item in items if isinstance(item, dict))
            if not body.get("has_more") or not items:
                return runs
    return runs


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _status_sentence(response: httpx.Response, url: str) -> str:
    status = response.status_code
    body = _json(response)
    message = ""
    if isinstance(body, dict):
        message = str(body.get("error") or body.get("message") or "")
    if status == 404:
        return (f"The Playbooks plugin is not installed or not enabled on this server (HTTP 404 from {url}): "
                "enable it under System Console > Plugins, or ignore this if you do not use Playbooks.")
    if status == 501:
        return ("Plugins are switched off on this server (HTTP 501), so Playbooks runs cannot be read: "
                "set PluginSettings > Enable to true if you use Playbooks.")
    if status == 401:
        return ("Mattermost did not accept the token when reading Playbooks runs (HTTP 401): it may be expired "
                "or revoked; set a valid personal access token for this environment.")
    if status == 403:
        return ("The token may not read Playbooks runs (HTTP 403" + (f": {message}" if message else "") + "): "
                "use a system admin's token, and check that the licence includes Playbooks.")
    detail = f": {message}" if message else ""
    return f"Reading Playbooks runs failed with HTTP {status}{detail}."


# ------------------------------------------------------------------------------------------------- mapping

def _moment(ms: Any) -> datetime | None:
    """The plugin's millisecond timestamps; 0 (or missing) means "never"."""
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None


def map_run(run: dict[str, Any], events: list[TimelineEvent], environment: str) -> Incident:
    """One PlaybookRun (or legacy incident) as an Incident whose stages are the run's checklists."""
    checked_by = _checkers(events)
    stages = tuple(_stage(checklist, checked_by) for checklist in run.get("checklists") or ())
    # A run without checklists still needs one stage for the views that show "the current stage".
    stages = stages or (Stage("Checklist"),)
    commander = run.get("owner_user_id") or run.get("commander_user_id") or ""
    ended_at = _moment(run.get("end_at"))
    if ended_at is None and run.get("is_active") is False:
        ended_at = _moment(run.get("update_at"))  # legacy incidents that ended without an end time
    finished = [e for e in events if e.type == "run_finished"]
    return Incident(
        id=run["id"],
        environment=environment,
        playbook_id=run.get("playbook_id") or "",
        name=run.get("name") or run["id"],
        team_id=run.get("team_id") or "",
        channel_id=run.get("channel_id") or "",
        channel_name="",  # not in the run; the page can look it up by channel_id if it needs a link
        commander_id=commander,
        stages=stages,
        stage_index=_current_stage(run, stages),
        started_at=_moment(run["create_at"]) or datetime.fromtimestamp(0, UTC),
        started_by=run.get("reporter_user_id") or commander,
        ended_at=ended_at,
        ended_by=finished[-1].actor if ended_at and finished else None,
        source=SOURCE,
    )


def _stage(checklist: dict[str, Any], checked_by: dict[str, str]) -> Stage:
    items = []
    for item in checklist.get("items") or ():
        if item.get("condition_action") == "hidden":
            continue  # conditional tasks hidden by the run's properties are not part of the checklist
        done = item.get("state") in DONE_STATES
        items.append(ChecklistItem(
            id=item.get("id") or item["title"],
            title=item["title"],
            checked_by=checked_by.get(item["title"]) if done else None,
            checked_at=(_moment(item.get("state_modified")) or _moment(item.get("update_at"))) if done else None,
        ))
    return Stage(name=checklist.get("title") or "Checklist", items=tuple(items))


def _checkers(events: list[TimelineEvent]) -> dict[str, str]:
    """Item title -> who last checked or skipped it; items do not record that themselves, the timeline does."""
    found: dict[str, str] = {}
    for event in events:
        if event.type == "task_state_modified" and event.details.get("action") in ("check", "skip"):
            found[str(event.details.get("task"))] = event.actor
    return found


def _current_stage(run: dict[str, Any], stages: tuple[Stage, ...]) -> int:
    """The first checklist with open items, else the last. Legacy incidents (v1.0–v1.2) still had a real
    active_stage; current runs serialise it without maintaining it, so it is trusted only on legacy runs."""
    legacy = "commander_user_id" in run or "is_active" in run
    active = run.get("active_stage")
    if legacy and isinstance(active, int) and 0 <= active < len(stages):
        return active
    for index, checklist in enumerate(run.get("checklists") or ()):
        if any(i.get("state", "") in OPEN_STATES and i.get("condition_action") != "hidden"
               for i in checklist.get("items") or ()):
            return index
    return len(stages) - 1


def map_events(run: dict[str, Any]) -> list[TimelineEvent]:
    """The run's visible timeline, oldest first, with the plugin's type names and readable summaries."""
    events = []
    for raw in run.get("timeline_events") or ():
        if raw.get("delete_at"):
            continue  # events people removed from the timeline stay hidden, as in the plugin
        events.append(map_event(raw, run))
    return sorted(events, key=lambda e: e.at)


def map_event(raw: dict[str, Any], run: dict[str, Any]) -> TimelineEvent:
    event_type = raw["event_type"]
    if event_type == "commander_changed":  # the plugin itself reads the old name as owner_changed
        event_type = "owner_changed"
    parsed = _details(raw.get("details"))
    details: dict[str, Any] = {
        "event_id": raw.get("id", ""),
        "run_id": raw.get("playbook_run_id") or raw.get("incident_id") or run.get("id", ""),
        "post_id": raw.get("post_id", ""),
        "subject_user_id": raw.get("subject_user_id", ""),
        "creator_user_id": raw.get("creator_user_id", ""),
        **parsed,
    }
    at = _moment(raw.get("event_at")) or _moment(raw.get("create_at")) or datetime.fromtimestamp(0, UTC)
    # The creator acted (changed the owner, added a post); the subject is who it is about, or the only one named.
    actor = raw.get("creator_user_id") or raw.get("subject_user_id") or "system"
    return TimelineEvent(at=at, type=event_type, actor=actor, summary=readable_summary(event_type,
                         raw.get("summary") or "", parsed, run), details=details)


def _details(raw: Any) -> dict[str, Any]:
    """The plugin sends details as a JSON string (often empty); keep what does not parse as text."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return {"text": str(raw)}
    return parsed if isinstance(parsed, dict) else {"text": str(raw)}


_BOLD_OR_CODE = re.compile(r"\*\*|`")


def _plain(summary: str) -> str:
    """The plugin writes Markdown (**item**, `/command`); the timeline shows plain sentences."""
    text = _BOLD_OR_CODE.sub("", summary).strip()
    text = text[:1].upper() + text[1:] if text[:1].islower() else text
    return text if text.endswith((".", "!", "?")) else text + "."


def _people(names: Any) -> str:
    handles = [f"@{n}" for n in names or () if n]
    if len(handles) <= 1:
        return handles[0] if handles else "someone"
    return ", ".join(handles[:-1]) + " and " + handles[-1]


def _task_sentence(d: dict[str, Any]) -> str:
    verb = {"check": "Checked off", "uncheck": "Unchecked", "skip": "Skipped", "restore": "Restored"}
    return f"{verb.get(d.get('action', ''), 'Changed')} checklist item {d.get('task', '')}".rstrip() + "."


def _joined_left(d: dict[str, Any]) -> str:
    return f"{_people(d.get('users'))} {'left' if d.get('action') == 'left' else 'joined'} the run."


def _participants(d: dict[str, Any]) -> str:
    who = f"@{d['requester']}" if d.get("requester") else "Someone"
    if d.get("action") == "left":
        return f"{who} removed {_people(d.get('users'))} from the run."
    return f"{who} added {_people(d.get('users'))} to the run."


def _property(d: dict[str, Any]) -> str:
    name = d.get("property_field_name") or "A property"
    old = d.get("old_value_display") or d.get("old_value") or ""
    new = d.get("new_value_display") or d.get("new_value") or ""
    if not new:
        return f"{name} cleared (was {old})." if old else f"{name} cleared."
    return f"{name} changed from {old} to {new}." if old else f"{name} set to {new}."


# Sentences for events the plugin leaves without a summary (or whose summary is not a sentence): fixed ones,
# and those built from the event's details.
_FIXED = {
    "status_updated": "Status update posted.",
    "status_update_requested": "A status update was requested.",
    "status_update_snoozed": "The status update reminder was snoozed.",
    "owner_changed": "Owner changed.",
    "assignee_changed": "Checklist item assignee changed.",
    "ran_slash_command": "Ran a checklist item's slash command.",
    "event_from_post": "A post was added to the timeline.",
    "published_retrospective": "Retrospective published.",
    "canceled_retrospective": "Retrospective canceled.",
    "run_finished": "Run finished.",
    "run_restored": "Run restored.",
    "channel_archived": "Run channel archived.",
    "channel_unarchived": "Run channel unarchived.",
    "status_updates_enabled": "Status updates enabled.",
    "status_updates_disabled": "Status updates disabled.",
    "retrospective_enabled": "Retrospective enabled.",
    "retrospective_disabled": "Retrospective disabled.",
}
_FROM_DETAILS: dict[str, Callable[[dict[str, Any]], str]] = {
    "task_state_modified": _task_sentence,
    "user_joined_left": _joined_left,
    "participants_changed": _participants,
    "property_changed": _property,
}


def readable_summary(event_type: str, summary: str, details: dict[str, Any], run: dict[str, Any]) -> str:
    if event_type == "owner_changed" and summary:
        return f"Owner changed from {_plain(summary)}"  # the plugin's summary is just "@old to @new"
    if summary:
        return _plain(summary)
    if event_type == "incident_created":
        return f"Run {run['name']} started." if run.get("name") else "Run started."
    if event_type in _FIXED:
        return _FIXED[event_type]
    build = _FROM_DETAILS.get(event_type)
    if build is not None:
        return build(details)
    return event_type.replace("_", " ").capitalize() + "."  # a type newer than this dashboard
