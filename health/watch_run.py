"""One watcher run of one environment, after its collection: judge it, advance the findings' lifecycle, keep the
snapshot in history and queue the alert. Synchronous (the store is), so the watcher runs it in a thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from collectors.base import Snapshot
from health import finding_states, history, mutes
from health.check import judge, source_summary
from health.findings import Finding, verdict
from health.key_figures import key_figures
from health.lifecycle import Change
from health.snapshot_details import details, details_hash
from settings import EnvironmentSettings, Settings
from store import Store


@dataclass(frozen=True)
class RunRecord:
    environment: str
    slot: datetime
    snapshot_id: int
    verdict: str
    changes: list[Change]  # muted ones left out: they raise no alert
    alert_queued: bool
    findings: list[Finding]


def server_line(snapshot: Snapshot) -> dict[str, object]:
    """What the page's header says about the server, kept with the newest snapshot."""
    facts = snapshot.data("mattermost")
    if facts is None:
        return {}
    return {"version": facts.server.version, "edition": facts.edition, "site_url": facts.server.site_url,
            "site_name": facts.server.site_name, "nodes": len(facts.cluster_nodes) or None}


def record(store: Store, settings: Settings, env: EnvironmentSettings, snapshot: Snapshot, *, slot: datetime,
           holder: str, scheduled: bool = True) -> RunRecord:
    """`scheduled`: the watcher's run of `slot` (its alert is keyed by the slot, so a replica that judged the same
    interval adds nothing); False for a run someone asked for (keyed by its own moment, so it never takes the
    place of the watcher's alert for that interval)."""
    findings = judge(snapshot)
    result = verdict(findings)
    now = snapshot.collected_at
    in_force = mutes.active(store, env.name, now)
    _, changes = finding_states.record_run(store, env.name, findings, now, actor=f"watcher {holder}",
                                           sources=source_summary(snapshot))
    announced = [c for c in changes if not mutes.silenced(in_force, c.finding.fingerprint)]
    key = settings.health.history_key
    made_of = details(snapshot, key.get_secret_value() if key else None)
    snapshot_id = history.save(
        store, env.name, collected_at=now, slot=slot, collected_by=holder, figures=key_figures(snapshot),
        findings=history.compact_findings(findings, result),
        sources=history.compact_sources(source_summary(snapshot)), details=made_of,
        details_key=details_hash(made_of) if made_of is not None else None,
        report=history.full_report(findings, server_line(snapshot), snapshot.elapsed_ms))
    queued = _queue_alert(store, settings, env, announced, findings, slot if scheduled else now, now)
    return RunRecord(env.name, slot, snapshot_id, result.label, announced, queued, findings)


def _queue_alert(store: Store, settings: Settings, env: EnvironmentSettings, changes: list[Change],
                 findings: list[Finding], key_at: datetime, now: datetime) -> bool:
    if not env.alerts.configured or not changes:
        return False
    from health import alert_outbox, alerts

    body = alerts.compose(environment=env.name, label=env.label, run_at=now, changes=changes, findings=findings,
                          min_severity=env.alerts.min_severity, dashboard_url=settings.health.dashboard_url)
    if body is None:  # nothing at the alert's severity
        return False
    return alert_outbox.enqueue(store, env.name, alerts.alert_key(env.name, key_at), body, now)
