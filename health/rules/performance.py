"""Performance over time, from Prometheus (ours): latency, errors, pools, leaks, cluster health, logins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, rule

if TYPE_CHECKING:
    import pandas as pd

AREA = "Performance"
LEAK_MIN_HOURS = 6


def _result(inputs: RuleInputs, name: str):
    facts = need(inputs.metrics)
    if not facts.has_mattermost_metrics:
        raise MissingInput("Prometheus has no Mattermost metrics (license or MetricsSettings.Enable)")
    if name in facts.skipped:
        raise MissingInput(f"this Mattermost exports none of {', '.join(facts.skipped[name])}")
    if name in facts.missing:
        raise MissingInput(facts.missing[name])
    result = facts.results.get(name)
    if result is None or not result.latest:
        raise MissingInput(f"Prometheus returned no data for {name}")
    return result


def _recent(frame: pd.DataFrame) -> dict[str, float]:
    """Per instance, the median of the newest tenth of the window (at least 3 points): a sustained level, not the
    one spike that happened to be the latest sample."""
    recent = {}
    for instance, series in frame.dropna().groupby("instance"):
        values = series.sort_values("timestamp")["value"]
        recent[str(instance)] = float(values.iloc[-max(3, len(values) // 10):].median())
    return recent


def _per_instance(inputs: RuleInputs, name: str, firing, describe, threshold: str) -> list[Check]:
    result = _result(inputs, name)
    levels = _recent(result.frame) or result.latest
    return [check(firing(value), describe(value) + " (recent median)", threshold, subject=instance)
            for instance, value in sorted(levels.items())]


def _growth(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per instance: mean of the first and of the last tenth of the window (robust to single spikes)."""
    growth = {}
    for instance, series in frame.dropna().groupby("instance"):
        values = series.sort_values("timestamp")["value"]
        span = series["timestamp"].max() - series["timestamp"].min()
        if len(values) < 20 or span.total_seconds() < LEAK_MIN_HOURS * 3600:
            continue
        tenth = max(len(values) // 10, 1)
        growth[str(instance)] = (float(values.iloc[:tenth].mean()), float(values.iloc[-tenth:].mean()))
    return growth


def _climb(inputs: RuleInputs, name: str, minimum: float, unit: str) -> list[Check]:
    growth = _growth(_result(inputs, name).frame)
    if not growth:
        raise MissingInput(f"less than {LEAK_MIN_HOURS} hours of {name} history")
    checks = []
    for instance, (first, last) in sorted(growth.items()):
        rising = last > first * 1.5 and last - first > minimum
        checks.append(check(rising, f"{first:,.0f} → {last:,.0f} {unit} over the window", "no sustained rise of "
                            f"50% and {minimum:,.0f} {unit}", subject=instance))
    return checks


@rule("PERF_API_LATENCY_P99", area=AREA, severity=Severity.WARNING, title="API responses are slow (p99 over 1 s)",
      remediation="Look at the slowest handlers (mattermost_api_time by handler in Grafana), the database pool "
                  "and plugin hooks; scale out if every node is busy.", docs=docs.MONITORING)
def api_latency(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "api_latency_p99", lambda v: v > 1.0, lambda v: f"p99 {v:.2f} s", "under 1 s")


@rule("PERF_HTTP_ERROR_RATE", area=AREA, severity=Severity.WARNING, title="Many HTTP requests fail",
      remediation="Check the server log for the failing endpoints; 5xx bursts often follow database or plugin "
                  "trouble.", docs=docs.MONITORING)
def error_rate(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "http_error_percent", lambda v: v > 5.0, lambda v: f"{v:.1f}% of requests",
                         "at most 5%")


@rule("PERF_DB_POOL_SATURATED", area=AREA, severity=Severity.CRITICAL,
      title="A node's database connection pool is nearly exhausted",
      remediation="Raise SqlSettings.MaxOpenConns if the database has room, otherwise find what holds connections "
                  "(slow queries, lock waits).", docs=docs.SCALING)
def pool_saturated(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "db_pool_in_use_percent", lambda v: v >= 90, lambda v: f"{v:.0f}% of the pool in use",
                         "below 90%")


@rule("PERF_DB_POOL_WAITS", area=AREA, severity=Severity.WARNING, title="Requests wait for database connections",
      remediation="Waiting for a pooled connection adds latency to every request: raise MaxOpenConns or reduce "
                  "query time.", docs=docs.SCALING)
def pool_waits(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "db_pool_waits_per_second", lambda v: v > 1.0, lambda v: f"{v:.2f} waits/s",
                         "at most 1 wait/s")


@rule("PERF_GOROUTINE_CLIMB", area=AREA, severity=Severity.WARNING, title="Goroutines keep climbing on a node",
      remediation="A steady climb is a leak (often a plugin or stuck websocket handling): take a goroutine dump "
                  "from /debug/pprof on that node and restart it in a quiet hour.", docs=docs.MONITORING)
def goroutine_climb(inputs: RuleInputs) -> list[Check]:
    return _climb(inputs, "goroutines", 1000, "goroutines")


@rule("PERF_MEMORY_CLIMB", area=AREA, severity=Severity.WARNING, title="Memory keeps climbing on a node",
      remediation="Compare heap profiles (/debug/pprof/heap) over time to find the leak; plan a restart before the "
                  "node runs out of memory.", docs=docs.MONITORING)
def memory_climb(inputs: RuleInputs) -> list[Check]:
    return _climb(inputs, "memory_resident_bytes", 256 * 1024 * 1024, "bytes")


@rule("PERF_FD_USAGE_HIGH", area=AREA, severity=Severity.WARNING, title="A node uses most of its file descriptors",
      remediation="Raise LimitNOFILE for the service and look for connection leaks before the limit is hit.",
      docs=docs.REQUIREMENTS)
def fd_usage(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "open_fds_percent", lambda v: v >= 75, lambda v: f"{v:.0f}% of the limit",
                         "below 75%")


@rule("PERF_CLUSTER_HEALTH", area=AREA, severity=Severity.WARNING, title="A node reports poor cluster health",
      remediation="A health score above 0 means the node misses gossip: check network latency and packet loss "
                  "between nodes, and the node's CPU.", docs=docs.HIGH_AVAILABILITY)
def cluster_health(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "cluster_health_score", lambda v: v > 0, lambda v: f"health score {v:.0f}",
                         "0 (healthy)")


@rule("PERF_PLUGIN_HOOKS_SLOW", area=AREA, severity=Severity.INFO, title="Plugin hooks are slow",
      remediation="Find the plugin with slow hooks (mattermost_plugin_hook_time by plugin_id) and update or "
                  "disable it: hooks run inside message handling.", docs=docs.PLUGINS)
def plugin_hooks(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "plugin_hook_latency_p99", lambda v: v > 0.5, lambda v: f"p99 {v:.2f} s",
                         "under 0.5 s")


@rule("PERF_SEARCH_SLOW", area=AREA, severity=Severity.WARNING, title="Post search is slow (p99 over 2 s)",
      remediation="Move search to Elasticsearch/OpenSearch, or give the search cluster (or search replica) more "
                  "resources.", docs=docs.ELASTICSEARCH)
def search_slow(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "search_latency_p99", lambda v: v > 2.0, lambda v: f"p99 {v:.2f} s", "under 2 s")


@rule("PERF_LOGIN_FAILURES", area=AREA, severity=Severity.WARNING, title="Many logins fail",
      remediation="Check the server log for the failing login type: an LDAP/SAML outage, an expired IdP certificate "
                  "or a password-guessing attack.", docs=docs.SECURITY)
def login_failures(inputs: RuleInputs) -> list[Check]:
    return _per_instance(inputs, "login_success_percent", lambda v: v < 80, lambda v: f"{v:.0f}% of logins succeed",
                         "at least 80% succeed")
