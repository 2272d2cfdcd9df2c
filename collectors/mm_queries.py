"""The PromQL catalogue: every Mattermost metric the dashboard charts, by name, with unit and provenance.

Pages refer to queries by name and never write PromQL. Each query is a template over `$instance` (a regular
expression of Prometheus `instance` labels) and `$window` (the range of rate() and histogram windows), and
answers one series per instance. `provenance` is the grafana.com id of the official Mattermost dashboard the
expression comes from (15582 Performance Monitoring v2, 2539 KPI, 2542 load-test, 2545 bonus metrics), or
"derived" when no official panel exists. Where a dashboard uses irate() or a fixed [1m] window, the catalogue uses
rate() over the computed window instead: irate() over a long step samples one random pair of points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from string import Template

UNITS = ("percent", "bytes", "count", "per_second", "seconds", "score")
_METRIC_NAME = re.compile(r"\b(?:mattermost|go)_[a-z0-9_]+\b")


@dataclass(frozen=True)
class MetricQuery:
    name: str
    title: str
    unit: str  # one of UNITS
    description: str
    provenance: str  # grafana.com dashboard id, or "derived"
    template: str  # PromQL with $instance and $window

    @property
    def metrics(self) -> tuple[str, ...]:
        """The sample names the query reads; when one does not exist in Prometheus the query is skipped."""
        return tuple(dict.fromkeys(_METRIC_NAME.findall(self.template)))

    def promql(self, instance_regex: str = ".+", window: str = "5m") -> str:
        return Template(self.template).substitute(instance=_promql_string(instance_regex), window=window)


def _promql_string(value: str) -> str:
    """Escape a value for a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _sel(extra: str = "") -> str:
    matchers = f'{extra},instance=~"$instance"' if extra else 'instance=~"$instance"'
    return "{" + matchers + "}"


def _by_instance(metric: str, extra: str = "", agg: str = "sum") -> str:
    return f"{agg} by (instance) ({metric}{_sel(extra)})"


def _rate(metric: str, extra: str = "") -> str:
    return f"sum by (instance) (rate({metric}{_sel(extra)}[$window]))"


def _quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (instance, le) (rate({histogram}_bucket{_sel()}[$window])))"


def _mean(histogram: str) -> str:
    return f"{_rate(histogram + '_sum')} / {_rate(histogram + '_count')}"


MASTER = 'db_name="master"'
REPLICAS = 'db_name=~"replica.*"'

CATALOGUE: tuple[MetricQuery, ...] = (
    # ---- system
    MetricQuery("cpu_percent", "CPU", "percent",
                "CPU time used by the Mattermost process; 100 % is one full core, so 4 busy cores show 400 %.",
                "15582", f"{_rate('mattermost_process_cpu_seconds_total')} * 100"),
    MetricQuery("memory_resident_bytes", "Resident memory", "bytes",
                "Memory the operating system holds for the Mattermost process.",
                "2545", _by_instance("mattermost_process_resident_memory_bytes")),
    MetricQuery("heap_inuse_bytes", "Go heap in use", "bytes",
                "Heap memory of the Go runtime in use; a steady climb across days suggests a leak.",
                "15582", _by_instance("go_memstats_heap_inuse_bytes")),
    MetricQuery("goroutines", "Goroutines", "count",
                "Concurrent goroutines; about two per WebSocket is normal, an uncontrolled climb is a leak.",
                "15582", _by_instance("go_goroutines")),
    MetricQuery("open_fds", "Open file descriptors", "count",
                "Files and sockets the process holds open.",
                "2545", _by_instance("mattermost_process_open_fds")),
    MetricQuery("open_fds_percent", "File descriptors used", "percent",
                "Open file descriptors as a share of the process limit (ulimit -n); at 100 % new connections fail.",
                "derived",
                f"100 * {_by_instance('mattermost_process_open_fds')}"
                f" / {_by_instance('mattermost_process_max_fds')}"),
    # ---- database
    MetricQuery("db_master_connections", "Master DB connections", "count",
                "Connections open to the master database.",
                "15582", _by_instance("mattermost_db_master_connections_total")),
    MetricQuery("db_replica_connections", "Replica DB connections", "count",
                "Connections open to the read replicas (0 without replicas).",
                "15582", _by_instance("mattermost_db_read_replica_connections_total")),
    MetricQuery("db_pool_open", "Master pool: open", "count",
                "Connections the master pool holds, in use and idle.",
                "15582", _by_instance("go_sql_open_connections", MASTER)),
    MetricQuery("db_pool_in_use", "Master pool: in use", "count",
                "Master connections running a query right now.",
                "15582", _by_instance("go_sql_in_use_connections", MASTER)),
    MetricQuery("db_pool_idle", "Master pool: idle", "count",
                "Master connections open but idle.",
                "derived", _by_instance("go_sql_idle_connections", MASTER)),
    MetricQuery("db_pool_in_use_percent", "Master pool used", "percent",
                "Master connections in use as a share of SqlSettings.MaxOpenConns; near 100 % requests queue.",
                "derived",
                f"100 * {_by_instance('go_sql_in_use_connections', MASTER)}"
                f" / {_by_instance('go_sql_max_open_connections', MASTER)}"),
    MetricQuery("db_pool_waits_per_second", "Master pool waits", "per_second",
                "Requests that had to wait for a free master connection; anything steady above 0 means the pool "
                "is too small or queries are too slow.",
                "15582", _rate("go_sql_wait_count_total", MASTER)),
    MetricQuery("db_pool_wait_seconds", "Master pool: mean wait", "seconds",
                "How long a request waited for a master connection, on average, when it had to wait.",
                "derived",
                f"{_rate('go_sql_wait_duration_seconds_total', MASTER)}"
                f" / {_rate('go_sql_wait_count_total', MASTER)}"),
    MetricQuery("db_replica_pool_in_use", "Replica pools: in use", "count",
                "Replica connections running a query right now, over all replicas.",
                "15582", _by_instance("go_sql_in_use_connections", REPLICAS)),
    MetricQuery("db_replica_pool_waits_per_second", "Replica pool waits", "per_second",
                "Requests that had to wait for a free replica connection.",
                "15582", _rate("go_sql_wait_count_total", REPLICAS)),
    # ---- API and HTTP
    MetricQuery("api_latency_p50", "API latency p50", "seconds",
                "Median time to run an API handler.",
                "15582", _quantile(0.5, "mattermost_api_time")),
    MetricQuery("api_latency_p99", "API latency p99", "seconds",
                "Time within which 99 % of API handlers finish; values at 10 s are clamped by the histogram.",
                "15582", _quantile(0.99, "mattermost_api_time")),
    MetricQuery("api_latency_mean", "API latency mean", "seconds",
                "Average time to run an API handler.",
                "2542", _mean("mattermost_api_time")),
    MetricQuery("http_requests_per_second", "HTTP requests", "per_second",
                "API requests served.",
                "15582", _rate("mattermost_http_requests_total")),
    MetricQuery("http_errors_per_second", "HTTP errors", "per_second",
                "API requests answered with a 4xx or 5xx status.",
                "2539", _rate("mattermost_http_errors_total")),
    MetricQuery("http_error_percent", "HTTP error rate", "percent",
                "Share of API requests answered with a 4xx or 5xx status.",
                "derived",
                f"100 * {_rate('mattermost_http_errors_total')} / {_rate('mattermost_http_requests_total')}"),
    MetricQuery("posts_per_second", "Posts", "per_second",
                "Messages posted.",
                "2539", _rate("mattermost_post_total")),
    # ---- real time, cluster, jobs
    MetricQuery("websockets", "WebSocket connections", "count",
                "Connected clients (web, desktop and mobile); Mattermost has no separate session gauge.",
                "15582", _by_instance("mattermost_http_websockets_total")),
    MetricQuery("cluster_health_score", "Cluster health score", "score",
                "Gossip health of each node: 0 is healthy, higher is worse.",
                "15582", _by_instance("mattermost_cluster_cluster_health_score", agg="max")),
    MetricQuery("jobs_active", "Active jobs", "count",
                "Jobs running now, all types together; pending and failed jobs are only in the REST API.",
                "15582", _by_instance("mattermost_jobs_active")),
    # ---- plugins, search, logins
    MetricQuery("plugin_hook_latency_p99", "Plugin hook latency p99", "seconds",
                "Time within which 99 % of plugin hook calls finish, over all plugins; a slow hook delays posts.",
                "derived", _quantile(0.99, "mattermost_plugin_hook_time")),
    MetricQuery("search_latency_p99", "Post search latency p99", "seconds",
                "Time within which 99 % of post searches finish.",
                "derived", _quantile(0.99, "mattermost_search_posts_searches_duration_seconds")),
    MetricQuery("search_latency_mean", "Post search latency mean", "seconds",
                "Average time to search posts.",
                "2545", _mean("mattermost_search_posts_searches_duration_seconds")),
    MetricQuery("searches_per_second", "Post searches", "per_second",
                "Post searches run.",
                "2545", _rate("mattermost_search_posts_searches_total")),
    MetricQuery("logins_per_second", "Logins", "per_second",
                "Successful logins.",
                "2545", _rate("mattermost_login_logins_total")),
    MetricQuery("login_failures_per_second", "Failed logins", "per_second",
                "Failed login attempts: wrong passwords, locked accounts, or an unreachable LDAP server.",
                "derived", _rate("mattermost_login_logins_fail_total")),
    MetricQuery("login_success_percent", "Login success rate", "percent",
                "Share of login attempts that succeeded.",
                "2545",
                f"100 * {_rate('mattermost_login_logins_total')} / ({_rate('mattermost_login_logins_total')}"
                f" + {_rate('mattermost_login_logins_fail_total')})"),
)

BY_NAME: dict[str, MetricQuery] = {q.name: q for q in CATALOGUE}


def get(name: str) -> MetricQuery:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no query named {name!r} in the catalogue; known: {', '.join(BY_NAME)}") from None
