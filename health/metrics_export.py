"""The dashboard's own Prometheus metrics: open findings and collection health per environment, read from the
store at each scrape (never a collection of its own), so an existing Prometheus and Alertmanager can alert on them.

Metric names and labels (all gauges):
- `mmdash_finding_open{environment, code, subject, severity, muted}`: 1 for each open finding;
- `mmdash_findings_open{environment, severity}`: open findings that are not muted;
- `mmdash_last_run_timestamp_seconds{environment}`: when the environment was last judged;
- `mmdash_source_up{environment, source}`: 1 when the source answered (ok or degraded) in the last run;
- `mmdash_source_duration_seconds{environment, source}`: how long it took;
- `mmdash_alerts_waiting{environment}`: alerts in the outbox not yet posted (Mattermost down or refusing);
- `mmdash_alert_oldest_waiting_seconds{environment}`: how long the oldest of them has waited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from health import alert_outbox, finding_states, mutes
from health.lifecycle import Status
from store import Store

SEVERITIES = ("critical", "warning", "info")
UP_STATUSES = {"ok", "degraded"}


class StoreCollector(Collector):
    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        finding = GaugeMetricFamily("mmdash_finding_open", "An open finding (1), by rule code and subject.",
                                    labels=["environment", "code", "subject", "severity", "muted"])
        totals = GaugeMetricFamily("mmdash_findings_open", "Open findings that are not muted, by severity.",
                                   labels=["environment", "severity"])
        last_run = GaugeMetricFamily("mmdash_last_run_timestamp_seconds", "When the environment was last judged.",
                                     labels=["environment"])
        up = GaugeMetricFamily("mmdash_source_up", "1 when the source answered in the last run.",
                               labels=["environment", "source"])
        duration = GaugeMetricFamily("mmdash_source_duration_seconds", "How long the source took in the last run.",
                                     labels=["environment", "source"])
        now = self._now()
        for state in finding_states.load_all(self._store):
            env = state.environment
            in_force = mutes.active(self._store, env, now)
            counts = dict.fromkeys(SEVERITIES, 0)
            for key, tracked in sorted(state.findings.items()):
                if tracked.status is not Status.OPEN:
                    continue
                is_muted = mutes.silenced(in_force, key)
                finding.add_metric([env, tracked.code, tracked.subject or "", tracked.severity,
                                    "true" if is_muted else "false"], 1)
                if not is_muted and tracked.severity in counts:
                    counts[tracked.severity] += 1
            for severity, count in counts.items():
                totals.add_metric([env, severity], count)
            if state.last_run_at is not None:
                last_run.add_metric([env], state.last_run_at.timestamp())
            for source, result in sorted(state.sources.items()):
                up.add_metric([env, source], 1 if result.get("status") in UP_STATUSES else 0)
                duration.add_metric([env, source], float(result.get("elapsed_ms") or 0) / 1000)
        waiting = GaugeMetricFamily("mmdash_alerts_waiting", "Alerts queued but not yet posted to Mattermost.",
                                    labels=["environment"])
        oldest = GaugeMetricFamily("mmdash_alert_oldest_waiting_seconds", "How long the oldest waiting alert has "
                                   "waited.", labels=["environment"])
        for env, (count, since) in sorted(alert_outbox.waiting_by_environment(self._store).items()):
            waiting.add_metric([env], count)
            oldest.add_metric([env], max((now - since).total_seconds(), 0.0))
        yield from (finding, totals, last_run, up, duration, waiting, oldest)


def exposition(store: Store, now: Callable[[], datetime]) -> bytes:
    """The metrics in Prometheus' text format, read from the store now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, now))
    return generate_latest(registry)
