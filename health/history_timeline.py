"""When each finding fired, was muted or acknowledged, and healed: events and spans from the audit log (the
lifecycle's and the mutes' entries), for the findings timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, or_, select

from health import finding_states, mutes
from health.history_trends import TREND_DAYS
from health.rules import RULES
from store import Document, Store
from store.tables import audit_log
from store.utc import utc_now

RULE_TITLES = {rule.code: rule.title for rule in RULES}
LIFECYCLE_TARGET = f"{finding_states.KIND}/{finding_states.KEY}"
MUTE_TARGET_PREFIX = f"{mutes.KIND}/"
LIFECYCLE_EVENTS = {"new": "fired", "reopened": "reopened", "resolved": "resolved"}
# The lifecycle audit's lists, and mute audit's "change" values, as timeline events.
MUTE_EVENTS = {mutes.MuteKind.MUTE.value: "muted", mutes.MuteKind.ACKNOWLEDGE.value: "acknowledged",
               "lifted": "unmuted"}


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    fingerprint: str
    code: str
    subject: str | None
    title: str
    kind: str  # fired | reopened | resolved | muted | acknowledged | unmuted
    who: str
    why: str | None = None


@dataclass(frozen=True)
class TimelineSpan:
    fingerprint: str
    code: str
    subject: str | None
    title: str
    kind: str  # open | muted | acknowledged
    start: datetime
    end: datetime
    ongoing: bool  # still open (or muted) at the end of the window


@dataclass(frozen=True)
class FindingsTimeline:
    start: datetime
    end: datetime
    events: list[TimelineEvent]  # oldest first
    spans: list[TimelineSpan]

    def events_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"At (UTC)": e.at, "Finding": finding_label(e.title, e.subject), "Code": e.code,
                              "Event": e.kind, "Who": e.who, "Why": e.why or ""} for e in self.events],
                            columns=["At (UTC)", "Finding", "Code", "Event", "Who", "Why"])


def finding_label(title: str, subject: str | None) -> str:
    return f"{title} ({subject})" if subject else title


def findings_timeline(store: Store, environment: str, days: int = TREND_DAYS,
                      now: datetime | None = None) -> FindingsTimeline:
    """When each finding fired, reopened and resolved (the lifecycle's audit) and was muted, acknowledged or
    unmuted (the mutes' audit) in the last `days`, with the spans it was open and muted for a Gantt chart."""
    end = now or utc_now()
    start = end - timedelta(days=days)
    tracked = finding_states.load(store, environment)
    mute_documents = {d.key: d for d in store.list(mutes.KIND, environment)}
    query = (select(audit_log.c.at, audit_log.c.actor, audit_log.c.target, audit_log.c.details)
             .where(and_(audit_log.c.environment == environment, audit_log.c.at >= start, audit_log.c.at <= end,
                         or_(audit_log.c.target == LIFECYCLE_TARGET,
                             audit_log.c.target.startswith(MUTE_TARGET_PREFIX, autoescape=True))))
             .order_by(audit_log.c.at, audit_log.c.id))
    with store.reading() as conn:
        entries = conn.execute(query).all()
    events: list[TimelineEvent] = []
    for entry in entries:
        if entry.target == LIFECYCLE_TARGET:
            events.extend(_lifecycle_events(entry, tracked))
        else:
            events.append(_mute_event(entry, mute_documents))
    events = _with_current_reasons(_without_refires(events), mute_documents)
    spans = _open_spans(events, tracked, start, end) + _mute_spans(events, mute_documents, start, end)
    return FindingsTimeline(start, end, events, spans)


def rule_title(code: str, fallback: str = "") -> str:
    return RULE_TITLES.get(code) or fallback or code


def _lifecycle_events(entry: Any, tracked: Mapping[str, finding_states.Tracked]) -> list[TimelineEvent]:
    events = []
    for listed, kind in LIFECYCLE_EVENTS.items():
        for key in entry.details.get(listed) or []:
            finding = tracked.get(key)
            code = finding.code if finding else "?"
            events.append(TimelineEvent(entry.at, key, code, finding.subject if finding else None,
                                        rule_title(code, finding.title if finding else key), kind, entry.actor))
    return events


def _without_refires(events: list[TimelineEvent]) -> list[TimelineEvent]:
    """A finding that fires again while still open is one episode, not two: the watcher's first run took for new
    what the demo's seeded past, written after it, shows open already (the lifecycle itself never fires twice)."""
    open_now: set[str] = set()
    kept = []
    for event in events:
        if event.kind in ("fired", "reopened"):
            if event.fingerprint in open_now:
                continue
            open_now.add(event.fingerprint)
        elif event.kind == "resolved":
            open_now.discard(event.fingerprint)
        kept.append(event)
    return kept


def _mute_event(entry: Any, documents: Mapping[str, Document]) -> TimelineEvent:
    key = entry.target.removeprefix(MUTE_TARGET_PREFIX)
    details = entry.details
    body = documents[key].body if key in documents else {}
    code = str(details.get("code") or body.get("code") or "?")
    change = str(details.get("change"))
    return TimelineEvent(entry.at, key, code, details.get("subject", body.get("subject")), rule_title(code),
                         MUTE_EVENTS.get(change, change), entry.actor, details.get("reason"))


def _with_current_reasons(events: list[TimelineEvent], documents: Mapping[str, Document]) -> list[TimelineEvent]:
    """The mute audit names no reason, but the document keeps the newest mute's: it belongs to that mute's
    entry and to the lift after it (a lift keeps the reason). Older mutes' reasons are not kept anywhere."""
    last_set = {e.fingerprint: i for i, e in enumerate(events) if e.kind in ("muted", "acknowledged")}
    reasons = {key: documents[key].body.get("reason") for key in last_set if key in documents}
    return [replace(e, why=reasons[e.fingerprint]) if e.why is None and e.kind in MUTE_EVENTS.values()
            and e.fingerprint in reasons and i >= last_set[e.fingerprint] else e for i, e in enumerate(events)]


def _span(event: TimelineEvent, kind: str, start: datetime, end: datetime, *, ongoing: bool) -> TimelineSpan:
    return TimelineSpan(event.fingerprint, event.code, event.subject, event.title, kind, start, end, ongoing)


def _open_spans(events: list[TimelineEvent], tracked: Mapping[str, finding_states.Tracked], start: datetime,
                end: datetime) -> list[TimelineSpan]:
    spans: list[TimelineSpan] = []
    opened: dict[str, TimelineEvent] = {}
    seen: set[str] = set()
    for event in events:
        if event.kind not in LIFECYCLE_EVENTS.values():
            continue
        seen.add(event.fingerprint)
        if event.kind == "resolved":
            began = opened.pop(event.fingerprint, None)
            # Resolved without opening in the window: it was already open when the window began.
            spans.append(_span(event, "open", began.at if began else start, event.at, ongoing=False))
        else:
            opened[event.fingerprint] = event
    spans += [_span(event, "open", event.at, end, ongoing=True) for event in opened.values()]
    for key, finding in tracked.items():  # open all along the window: no event of its own in it
        if key not in seen and finding.status is finding_states.Status.OPEN and finding.opened_at < end:
            spans.append(TimelineSpan(key, finding.code, finding.subject, rule_title(finding.code, finding.title),
                                      "open", max(start, finding.opened_at), end, ongoing=True))
    return spans


def _mute_spans(events: list[TimelineEvent], documents: Mapping[str, Document], start: datetime,
                end: datetime) -> list[TimelineSpan]:
    spans: list[TimelineSpan] = []
    in_force: dict[str, TimelineEvent] = {}

    def close(key: str, at: datetime) -> None:
        began = in_force.pop(key, None)
        if began is not None:
            spans.append(_span(began, began.kind, began.at, min(at, end), ongoing=at >= end))

    mute_events = [e for e in events if e.kind in MUTE_EVENTS.values()]
    for event in mute_events:
        # A new mute replaces the one before it; the audit keeps no "until" of older ones, so they end here.
        close(event.fingerprint, event.at)
        if event.kind != "unmuted":
            in_force[event.fingerprint] = event
    for key in list(in_force):  # the newest mute: the document says until when
        until = _until(documents[key].body) if key in documents else None
        close(key, until or end)
    seen = {e.fingerprint for e in mute_events}
    for key, document in documents.items():  # set before the window and still in force in it
        body = document.body
        until = _until(body)
        if key not in seen and datetime.fromisoformat(body["at"]) < start and (until is None or until > start):
            code = str(body.get("code"))
            spans.append(TimelineSpan(key, code, body.get("subject"), rule_title(code), MUTE_EVENTS[body["kind"]],
                                      start, min(until or end, end), ongoing=until is None or until >= end))
    return spans


def _until(body: Mapping[str, Any]) -> datetime | None:
    return datetime.fromisoformat(body["until"]) if body.get("until") else None


# -- what changed between two snapshots -------------------------------------------------------------------------
