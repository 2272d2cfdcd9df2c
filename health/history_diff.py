"""What changed between two stored snapshots: version, every setting (secrets only as changed or not), plugins,
licence, findings and verdict; and the snapshots to pick from."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from health.history import OLDEST_FIRST, RAW, StoredSnapshot, collected_in, details_of, one
from health.history_timeline import finding_label, rule_title
from health.history_trends import TREND_DAYS
from health.snapshot_details import MASKED, is_secret_setting
from store import Store
from store.tables import health_snapshots
from store.utc import utc_now

SECRET = "(secret)"  # all a secret setting ever shows: its stored form is a mask or a keyed hash
_ABSENT = object()  # a setting missing on one side (None is a value settings have)
_SECRET_FORMS = re.compile(r"^\((secret, keyed hash [0-9a-f]+|set)\)$")


class HistoryError(ValueError):
    """History cannot answer as asked; the message says what to pick instead."""



@dataclass(frozen=True)
class SnapshotChoice:
    id: int
    collected_at: datetime
    tier: str
    verdict: str
    makeup_changed: bool  # its version, licence, plugins or settings differ from the snapshot before it

    def label(self) -> str:
        daily = " · daily" if self.tier != RAW else ""
        changed = " · make-up changed" if self.makeup_changed else ""
        return f"{self.collected_at:%Y-%m-%d %H:%M} UTC · {self.verdict or 'no verdict'}{daily}{changed}"


def snapshot_choices(store: Store, environment: str, days: int = TREND_DAYS,
                     now: datetime | None = None) -> list[SnapshotChoice]:
    """The snapshots of the last `days` worth comparing (see _milestones), newest first."""
    end = now or utc_now()
    label = health_snapshots.c.findings["verdict"]["label"].as_string()
    query = (select(health_snapshots.c.id, health_snapshots.c.collected_at, health_snapshots.c.tier,
                    health_snapshots.c.details_hash, label.label("verdict"))
             .where(collected_in(environment, end - timedelta(days=days), end)).order_by(*OLDEST_FIRST))
    with store.reading() as conn:
        rows = conn.execute(query).all()
    choices = []
    for index, row in enumerate(rows):
        changed = index > 0 and row.details_hash != rows[index - 1].details_hash
        choices.append(SnapshotChoice(row.id, row.collected_at, row.tier, row.verdict or "", changed))
    newest_first = choices[::-1]
    pair = default_pair(newest_first)  # the first comparison offered must stay pickable however the list thins
    wanted = {c.id for c in pair} if pair else set()
    wanted |= {c.id for c in _milestones(choices)}
    return [c for c in newest_first if c.id in wanted]


def _milestones(choices: list[SnapshotChoice]) -> list[SnapshotChoice]:
    """The snapshots worth picking, oldest first: every one whose make-up or verdict changed, the last of each hour,
    every daily one and the newest. A watcher collecting every minute keeps 10,000 a week; a list that long
    hides the few that matter."""
    kept = []
    for index, choice in enumerate(choices):
        following = choices[index + 1] if index + 1 < len(choices) else None
        previous = choices[index - 1] if index > 0 else None
        last_of_hour = following is None or (following.collected_at.replace(minute=0, second=0, microsecond=0)
                                             != choice.collected_at.replace(minute=0, second=0, microsecond=0))
        verdict_changed = previous is not None and previous.verdict != choice.verdict
        if choice.tier != RAW or choice.makeup_changed or verdict_changed or last_of_hour or previous is None:
            kept.append(choice)
    return kept


def default_pair(choices: list[SnapshotChoice]) -> tuple[SnapshotChoice, SnapshotChoice] | None:
    """The newest snapshot and the newest one at least a day older (else the oldest), as (older, newer)."""
    if len(choices) < 2:
        return None
    newest = choices[0]
    day_before = newest.collected_at - timedelta(days=1)
    older = next((c for c in choices[1:] if c.collected_at <= day_before), choices[-1])
    return older, newest


@dataclass(frozen=True)
class ValueChange:
    name: str
    old: str | None  # None: not there before
    new: str | None  # None: gone
    change: str  # added | removed | changed | upgraded | downgraded | enabled | disabled | unchanged


@dataclass(frozen=True)
class FindingChange:
    fingerprint: str
    code: str
    subject: str | None
    title: str
    severity: str
    observed: str


@dataclass(frozen=True)
class SnapshotDiff:
    older: StoredSnapshot
    newer: StoredSnapshot
    makeup_missing: list[str]  # "older" / "newer": the Mattermost API did not answer, so its make-up is unknown
    server: list[ValueChange]
    settings: list[ValueChange]
    secrets_not_comparable: list[str]  # masked by Mattermost on a side, so nobody can tell if they changed
    plugins: list[ValueChange]
    license: list[ValueChange]
    findings_started: list[FindingChange]
    findings_stopped: list[FindingChange]
    verdict: list[ValueChange] = field(default_factory=list)  # every row, changed or not, for context

    @property
    def unchanged(self) -> bool:
        return not (self.server or self.settings or self.plugins or self.license or self.findings_started
                    or self.findings_stopped or any(v.change != "unchanged" for v in self.verdict))


def compare(store: Store, environment: str, older_id: int, newer_id: int) -> SnapshotDiff:
    """What changed from snapshot `older_id` to `newer_id` of `environment` (swapped if given newest first)."""
    older, newer = _snapshot(store, environment, older_id), _snapshot(store, environment, newer_id)
    if older_id == newer_id:
        raise HistoryError(f"snapshot {older_id} was picked twice: pick two different snapshots to compare")
    if (older.collected_at, older.id) > (newer.collected_at, newer.id):
        older, newer = newer, older
    before, after = details_of(store, older.details_hash), details_of(store, newer.details_hash)
    missing = [side for side, made_of in (("older", before), ("newer", after)) if made_of is None]
    before, after = before or {}, after or {}
    settings, not_comparable = _setting_changes(before.get("config") or {}, after.get("config") or {}) \
        if before and after else ([], [])
    return SnapshotDiff(
        older=older, newer=newer, makeup_missing=missing,
        server=_server_changes(before, after) if before and after else [],
        settings=settings, secrets_not_comparable=not_comparable,
        plugins=_plugin_changes(before.get("plugins") or {}, after.get("plugins") or {}) if before and after else [],
        license=_license_changes(before.get("license"), after.get("license")) if before and after else [],
        findings_started=_firing_difference(newer, older), findings_stopped=_firing_difference(older, newer),
        verdict=_verdict_rows(older.verdict, newer.verdict))


def _snapshot(store: Store, environment: str, snapshot_id: int) -> StoredSnapshot:
    snapshot = one(store, snapshot_id)
    if snapshot is None:
        raise HistoryError(f"there is no snapshot {snapshot_id} in the store: pick one from the list of "
                           f"{environment}'s snapshots")
    if snapshot.environment != environment:
        raise HistoryError(f"snapshot {snapshot_id} belongs to {snapshot.environment}, not {environment}")
    return snapshot


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _paired(name: str, old: Any, new: Any) -> ValueChange | None:
    if old == new:
        return None
    if old is None:
        return ValueChange(name, None, _text(new), "added")
    if new is None:
        return ValueChange(name, _text(old), None, "removed")
    return ValueChange(name, _text(old), _text(new), "changed")


def _server_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ValueChange]:
    old_build, new_build = before.get("build") or {}, after.get("build") or {}
    pairs = [("Version", before.get("version"), after.get("version")),
             ("Edition", before.get("edition"), after.get("edition"))]
    pairs += [(f"Build {name.replace('_', ' ')}", old_build.get(name), new_build.get(name))
              for name in sorted(set(old_build) | set(new_build))]
    changes = [change for change in (_paired(*pair) for pair in pairs) if change is not None]
    return [_versioned(c) if c.name == "Version" else c for c in changes]


def _versioned(change: ValueChange) -> ValueChange:
    if change.change != "changed":
        return change
    old, new = _version_key(change.old), _version_key(change.new)
    if old is None or new is None or old == new:
        return change
    return ValueChange(change.name, change.old, change.new, "upgraded" if new > old else "downgraded")


def _version_key(version: str | None) -> tuple[int, ...] | None:
    parts = re.findall(r"\d+", version or "")
    return tuple(int(p) for p in parts[:4]) if parts else None


def _is_secret(path: str, *values: Any) -> bool:
    return is_secret_setting(path) or any(v == MASKED or (isinstance(v, str) and _SECRET_FORMS.match(v))
                                          for v in values)


def _setting_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[list[ValueChange], list[str]]:
    changes, not_comparable = [], []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path, _ABSENT), after.get(path, _ABSENT)
        if not _is_secret(path, old, new):
            if old != new:
                changes.append(ValueChange(path, None if old is _ABSENT else _text(old),
                                           None if new is _ABSENT else _text(new),
                                           "added" if old is _ABSENT else "removed" if new is _ABSENT else "changed"))
            continue
        # A secret is compared as stored (mask or keyed hash) and shown as SECRET only.
        if old is _ABSENT or new is _ABSENT:
            changes.append(ValueChange(path, None if old is _ABSENT else SECRET, None if new is _ABSENT else SECRET,
                                       "added" if old is _ABSENT else "removed"))
        elif MASKED in (old, new):
            not_comparable.append(path)
        elif old != new:
            changes.append(ValueChange(path, SECRET, SECRET, "changed"))
    return changes, not_comparable


def _plugin_changes(before: Mapping[str, Mapping[str, Any]],
                    after: Mapping[str, Mapping[str, Any]]) -> list[ValueChange]:
    changes = []
    for plugin in sorted(set(before) | set(after)):
        old, new = before.get(plugin), after.get(plugin)
        if old is None or new is None:
            changes.append(ValueChange(plugin, _plugin_text(old), _plugin_text(new),
                                       "added" if old is None else "removed"))
            continue
        if old.get("version") != new.get("version"):
            moved = _versioned(ValueChange(plugin, old.get("version"), new.get("version"), "changed"))
            changes.append(ValueChange(plugin, _plugin_text(old), _plugin_text(new), moved.change))
        if bool(old.get("enabled")) != bool(new.get("enabled")):
            changes.append(ValueChange(plugin, _plugin_text(old), _plugin_text(new),
                                       "enabled" if new.get("enabled") else "disabled"))
    return changes


def _plugin_text(plugin: Mapping[str, Any] | None) -> str | None:
    if plugin is None:
        return None
    return f"{plugin.get('version') or '?'} ({'enabled' if plugin.get('enabled') else 'disabled'})"


def _license_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[ValueChange]:
    if before is None or after is None:
        change = _paired("Licence", "none" if before is None else "present", "none" if after is None else "present")
        return [change] if change is not None else []
    names = sorted(set(before) | set(after))
    return [c for c in (_paired(name.replace("_", " ").capitalize(), before.get(name), after.get(name))
                        for name in names) if c is not None]


def _firing_difference(firing_in: StoredSnapshot, not_in: StoredSnapshot) -> list[FindingChange]:
    absent = {item["fingerprint"] for item in not_in.firing()}
    return [FindingChange(item["fingerprint"], item["code"], item.get("subject"), rule_title(item["code"]),
                          item.get("severity", ""), item.get("observed", ""))
            for item in firing_in.firing() if item["fingerprint"] not in absent]


def _verdict_rows(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ValueChange]:
    old_firing, new_firing = before.get("firing") or {}, after.get("firing") or {}
    rows = [("Verdict", before.get("label"), after.get("label")), ("Score", before.get("score"), after.get("score"))]
    rows += [(f"{severity.capitalize()} firing", old_firing.get(severity), new_firing.get(severity))
             for severity in ("critical", "warning", "info")]
    rows += [("Unknown", before.get("unknown"), after.get("unknown"))]
    return [ValueChange(name, _shown(old), _shown(new), "unchanged" if old == new else "changed")
            for name, old, new in rows]


def _shown(value: Any) -> str:
    return "n/a" if value is None else str(value)


def changes_frame(changes: Iterable[ValueChange], name: str = "Setting") -> pd.DataFrame:
    """A diff's rows as a table a person reads: what, before, after, how it changed."""
    return pd.DataFrame([{name: c.name, "Before": c.old if c.old is not None else "—",
                          "After": c.new if c.new is not None else "—", "Change": c.change} for c in changes],
                        columns=[name, "Before", "After", "Change"])


def findings_frame(findings: Iterable[FindingChange]) -> pd.DataFrame:
    return pd.DataFrame([{"Finding": finding_label(f.title, f.subject), "Code": f.code, "Severity": f.severity,
                          "Observed": f.observed} for f in findings],
                        columns=["Finding", "Code", "Severity", "Observed"])
