"""The health page's reading of a stored snapshot: findings, verdict, how old it is and who collected it, the source
lines, the server line and the key figures, and what the page says about one finding (its lifecycle, its mute,
the incident started from it). Plain data, no UI library: the page only draws it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from collectors.base import Snapshot, SourceResult, SourceStatus
from health.findings import Finding, Severity, State, Verdict, verdict
from health.history import StoredSnapshot
from health.key_figures import KEY_FIGURES
from health.lifecycle import Status, Tracked
from health.mutes import Mute, MuteKind

STALE_INTERVALS = 3  # older than this many watch intervals: the watcher has probably stopped
PAGE_HOLDER_PREFIX = "page "  # what the page records as the collector: "page @ana"
_FINDING_FIELDS = {f.name for f in fields(Finding)}


def page_holder(username: str) -> str:
    return f"{PAGE_HOLDER_PREFIX}@{username}"


def findings_of(stored: StoredSnapshot) -> list[Finding]:
    """Every finding of the run, rebuilt from the full report (the newest snapshot carries it)."""
    return [finding_from_dict(item) for item in (stored.report or {}).get("findings", [])]


def finding_from_dict(item: Mapping[str, Any]) -> Finding:
    values = {name: value for name, value in item.items() if name in _FINDING_FIELDS}
    return Finding(**{**values, "severity": Severity(item["severity"]), "state": State(item["state"])})


def verdict_of(stored: StoredSnapshot, findings: list[Finding] | None = None) -> Verdict:
    """The run's verdict: recomputed from its findings when the report has them, else as it was stored."""
    findings = findings_of(stored) if findings is None else findings
    if findings:
        return verdict(findings)
    saved = stored.verdict
    firing = saved.get("firing") or {}
    return Verdict(label=saved.get("label", "not enough data"), score=saved.get("score"),
                   firing={sev: int(firing.get(sev.value, 0)) for sev in Severity},
                   unknown=int(saved.get("unknown", 0)), evaluated=int(saved.get("evaluated", 0)))


def verdict_sentence(result: Verdict) -> str:
    """The line above the tiles (Markdown)."""
    return (f"**{result.headline}**. {result.evaluated} checks ran; {result.unknown} could not be judged for lack "
            "of data.")


def source_results(stored: StoredSnapshot, order: Iterable[str] = ()) -> dict[str, SourceResult]:
    """How each source answered in that run, in `order` first (the sidebar's order), without its data."""
    ranked = {name: index for index, name in enumerate(order)}
    results = {}
    for name in sorted(stored.sources, key=lambda n: (ranked.get(n, len(ranked)), n)):
        entry = stored.sources[name]
        try:
            status = SourceStatus(entry.get("status"))
        except ValueError:
            status = SourceStatus.ERROR
        results[name] = SourceResult(name, status, error=entry.get("error"),
                                     elapsed_ms=float(entry.get("elapsed_ms") or 0.0),
                                     collected_at=stored.collected_at)
    return results


def sources_snapshot(stored: StoredSnapshot, order: Iterable[str] = ()) -> Snapshot:
    """A snapshot with the stored source statuses and no data, for the panels that summarise sources."""
    elapsed = float((stored.report or {}).get("elapsed_ms") or 0.0)
    return Snapshot(stored.environment, stored.collected_at, elapsed, source_results(stored, order))


def errors_of(stored: StoredSnapshot) -> dict[str, str]:
    """Sources that failed in that run, with why."""
    return {name: str(entry.get("error") or "no reason given") for name, entry in sorted(stored.sources.items())
            if entry.get("status") == SourceStatus.ERROR.value}


# -- age --------------------------------------------------------------------------------------------------


def describe_age(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // 86400} days"


def collector_phrase(collected_by: str) -> str:
    """The page records itself as "page @ana"; everything else that records is a watcher, named host:pid."""
    return collected_by if collected_by.startswith(PAGE_HOLDER_PREFIX) else f"watcher {collected_by}"


@dataclass(frozen=True)
class Freshness:
    sentence: str
    stale: bool
    warning: str | None  # what to do about it, when stale


def freshness(stored: StoredSnapshot, now: datetime, interval_s: int) -> Freshness:
    age = now - stored.collected_at
    sentence = (f"Collected {describe_age(age)} ago ({stored.collected_at:%Y-%m-%d %H:%M:%S} UTC) by "
                f"{collector_phrase(stored.collected_by)}")
    elapsed = (stored.report or {}).get("elapsed_ms")
    if elapsed is not None:
        sentence += f" in {float(elapsed):,.0f} ms"
    limit = timedelta(seconds=STALE_INTERVALS * interval_s)
    if age <= limit:
        return Freshness(sentence + f"; the watcher collects every {describe_age(timedelta(seconds=interval_s))}.",
                         False, None)
    return Freshness(sentence + ".", True,
                     f"This snapshot is older than {STALE_INTERVALS} watch intervals "
                     f"({describe_age(limit)}): the watcher may be stopped or failing. Collect now, and check "
                     "`python -m health watch` (or the dashboard's log).")


# -- server line and key figures ----------------------------------------------------------------------------


def server_caption(server: Mapping[str, Any]) -> str | None:
    if not server:
        return None
    site = f"{server.get('site_name') or 'Mattermost'} at {server.get('site_url') or 'an unknown URL'}"
    parts = [site]
    if server.get("version"):
        parts.append(f"version {server['version']}")
    if server.get("edition"):
        parts.append(str(server["edition"]))
    if server.get("nodes"):
        parts.append(f"{server['nodes']} cluster nodes")
    return " · ".join(parts)


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    help: str


def format_figure(value: float, unit: str) -> str:
    if unit == "percent":
        return f"{value:,.1f} %"
    if unit == "seconds":
        return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.2f} s"
    if unit == "bytes":
        size = float(value)
        for prefix in ("B", "KB", "MB", "GB", "TB"):
            if size < 1000 or prefix == "TB":
                return f"{size:,.1f} {prefix}" if prefix != "B" else f"{size:,.0f} B"
            size /= 1000
    return f"{value:,.0f}"


def server_tiles(server: Mapping[str, Any]) -> list[Tile]:
    tiles = [Tile("Version", str(server.get("version") or "unknown"), "Mattermost's X-Version-ID, as stored."),
             Tile("Edition", str(server.get("edition") or "unknown").split(" (")[0], str(server.get("edition") or ""))]
    if server.get("nodes"):
        tiles.append(Tile("Nodes", str(server["nodes"]), "Cluster nodes Mattermost reported."))
    return tiles


def figure_tiles(figures: Mapping[str, float | None]) -> tuple[list[Tile], list[str]]:
    """Tiles for the key figures that were collected, and the labels of those that were not."""
    shown, missing = [], []
    for figure in KEY_FIGURES:
        value = figures.get(figure.name)
        if value is None:
            missing.append(figure.label)
        else:
            shown.append(Tile(figure.label, format_figure(float(value), figure.unit), f"From {figure.source}."))
    return shown, missing


# -- one finding: lifecycle, mute, incident ---------------------------------------------------------------


def _moment(at: datetime, now: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC ({describe_age(now - at)} ago)"


def lifecycle_sentence(tracked: Tracked | None, now: datetime) -> str:
    if tracked is None:
        return "Not tracked yet: it opens with the next recorded run."
    parts = [f"First seen {_moment(tracked.first_seen, now)}"]
    if tracked.status is Status.OPEN:
        parts.append(f"open since {_moment(tracked.opened_at, now)}")
    elif tracked.resolved_at is not None:
        parts.append(f"resolved {_moment(tracked.resolved_at, now)}")
    times = "once" if tracked.reopened == 1 else f"{tracked.reopened} times"
    parts.append(f"reopened {times}" if tracked.reopened else "never reopened")
    return " · ".join(parts)


def mute_sentence(mute: Mute) -> str:
    verb = "Muted" if mute.kind is MuteKind.MUTE else "Acknowledged"
    until = f" until {mute.until:%Y-%m-%d %H:%M} UTC" if mute.until else " until someone lifts it"
    return f"{verb} by @{mute.by.removeprefix('@')} on {mute.at:%Y-%m-%d %H:%M} UTC{until}: {mute.reason}"


def conflict_sentence(changed_by: str | None, changed_at: datetime | None, now_in_force: Mute | None,
                      outcome: str) -> str:
    """Someone changed the finding's mute after the admin looked: who, when, what holds now, and that nothing the
    admin typed is lost (`outcome`: "yours was not saved", "it was not lifted")."""
    who = f"@{changed_by.removeprefix('@')}" if changed_by else "someone"
    when = f" at {changed_at:%H:%M:%S} UTC" if changed_at else ""
    state = mute_sentence(now_in_force) if now_in_force else "nothing is in force now"
    return (f"{who} changed this finding's mute{when} after you opened it, so {outcome}. Now: {state}. "
            "Your entry is still in the form: look again, then save or lift once more.")


def incident_name(finding: Finding, environment_label: str) -> str:
    subject = f" ({finding.subject})" if finding.subject else ""
    return f"{environment_label}: {finding.title}{subject}"


def incident_message(finding: Finding, environment_label: str, health_url: str | None) -> str:
    """The incident channel's message about the finding it was started from: what, evidence, what to do."""
    subject = f" on **{finding.subject}**" if finding.subject else ""
    lines = [f"#### Started from a {finding.severity.value} health finding in {environment_label}",
             f"**{finding.title}**{subject} (`{finding.code}`, area {finding.area})", "",
             f"- **Observed**: {finding.observed}"]
    if finding.threshold:
        lines.append(f"- **Expected**: {finding.threshold}")
    lines += [f"- **Evidence**: {finding.evidence}", f"- **Remediation**: {finding.remediation}"]
    if finding.docs_url:
        lines.append(f"- **Docs**: {finding.docs_url}")
    if health_url:
        lines.append(f"- **Health page**: {health_url}")
    return "\n".join(lines)


def firing(findings: Iterable[Finding]) -> list[Finding]:
    """Firing findings, most urgent first."""
    return sorted((f for f in findings if f.state is State.FIRING), key=lambda f: f.sort_key)


# -- the overview -----------------------------------------------------------------------------------------

VIEWS = ("Overview", "Findings", "History", "Usage", "Metrics", "Server, plugins and jobs", "Database",
         "Directory, sign-on and search")
MOST_URGENT = 5
LIVE_VIEWS_NOTE = ("Usage charts, licence, metrics, database and directory details need the full live facts: pick "
                   "their view above to collect them now.")
NO_SERVER_LINE = ("Nothing to show until the Mattermost API answers: it did not in this run, so there is no server "
                  "line; see the sources above.")


def most_urgent(findings: Iterable[Finding]) -> tuple[list[Finding], str | None]:
    """The firing findings the overview lists, and the sentence about the rest."""
    shown = firing(findings)
    more = len(shown) - MOST_URGENT
    return shown[:MOST_URGENT], (f"{more} more firing: the Findings view lists them all, with mute, acknowledge "
                                 "and incident actions." if more > 0 else None)
