"""Every environment on one line, read from the store only (it never collects): version, worst severity firing,
open findings (muted ones apart), when it was last collected and which sources failed then.

Three reads cover every environment (newest snapshots, tracked findings); then one small read per environment
for its mutes and one per distinct deployment make-up for the version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from health import finding_states, history, mutes
from health.findings import SEVERITY_ORDER, Severity
from health.history import StoredSnapshot
from health.lifecycle import Status
from health.mutes import Mute, silenced
from health.stored_view import STALE_INTERVALS, collector_phrase, describe_age, errors_of
from settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from store import Store

NEVER = "never collected"
COLUMNS = ["Environment", "Health page", "Version", "Worst firing", "Open", "Muted", "Last collected", "Age",
           "Stale", "Collected by", "Errors", "Collection errors"]


@dataclass(frozen=True)
class FleetRow:
    environment: str
    label: str
    version: str | None
    worst: str  # critical | warning | info | none | never collected
    open_findings: int  # open tracked findings that are not muted (acknowledged ones still count)
    muted: int
    collected_at: datetime | None
    age: str
    stale: bool
    collected_by: str
    errors: dict[str, str]  # source -> why, in the last run

    @property
    def link(self) -> str:
        return health_link(self.environment)


def health_link(environment: str) -> str:
    return f"/health?env={quote(environment)}"


def worst_severity(stored: StoredSnapshot, in_force: Mapping[str, Mute]) -> str:
    """The most severe finding firing in the last run, leaving out muted ones (they are handled)."""
    severities = [Severity(item["severity"]) for item in stored.firing()
                  if not silenced(in_force, item.get("fingerprint", ""))]
    if not severities:
        return "none"
    return min(severities, key=SEVERITY_ORDER.__getitem__).value


def rows(settings: Settings, latest: Mapping[str, StoredSnapshot],
         states: Mapping[str, finding_states.EnvironmentState], in_force: Mapping[str, Mapping[str, Mute]],
         versions: Mapping[str, str | None], now: datetime) -> list[FleetRow]:
    """One row per configured environment, in the settings' order; `versions` by details hash."""
    result = []
    for name, env in settings.environments.items():
        stored = latest.get(name)
        mutes_here = in_force.get(name, {})
        tracked = states[name].findings if name in states else {}
        opened = [key for key, t in tracked.items() if t.status is Status.OPEN]
        muted = sum(silenced(mutes_here, key) for key in opened)
        if stored is None:
            result.append(FleetRow(name, env.label, None, NEVER, len(opened) - muted, muted, None, NEVER, False,
                                   "", {}))
            continue
        age = now - stored.collected_at
        stale = age.total_seconds() > STALE_INTERVALS * settings.watch_interval(env)
        result.append(FleetRow(name, env.label, versions.get(stored.details_hash or ""),
                               worst_severity(stored, mutes_here), len(opened) - muted, muted, stored.collected_at,
                               describe_age(age), stale, collector_phrase(stored.collected_by), errors_of(stored)))
    return result


def read(store: Store, settings: Settings, now: datetime) -> list[FleetRow]:
    """The fleet from the store: newest snapshots, tracked findings and mutes of every environment."""
    latest = history.latest_all(store)
    states = {state.environment: state for state in finding_states.load_all(store)}
    in_force = {name: mutes.active(store, name, now) for name in settings.environments}
    versions = {}
    for key in {s.details_hash for s in latest.values() if s.details_hash}:
        made_of = history.details_of(store, key) or {}
        versions[key] = made_of.get("version")
    return rows(settings, latest, states, in_force, versions, now)


def frame(fleet: list[FleetRow]) -> pd.DataFrame:
    import pandas as pd

    order = {"critical": 0, "warning": 1, "info": 2, "none": 3, NEVER: 4}
    table = pd.DataFrame([{
        "Environment": row.label, "Version": row.version or "", "Worst firing": row.worst,
        "Open": row.open_findings, "Muted": row.muted, "Last collected": row.collected_at, "Age": row.age,
        "Stale": row.stale, "Collected by": row.collected_by, "Errors": len(row.errors),
        "Collection errors": "; ".join(f"{source}: {why}" for source, why in row.errors.items()),
        "Health page": row.link} for row in fleet], columns=COLUMNS)
    # Worst first: the table opens on what needs attention; people can sort by any column from there.
    ranks = table["Worst firing"].map(order)
    return table.assign(_rank=ranks).sort_values(["_rank", "Open"], ascending=[True, False],
                                                 kind="stable").drop(columns="_rank").reset_index(drop=True)
