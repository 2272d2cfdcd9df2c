"""Time-series panels over the Prometheus catalogue: which queries sit together, and their figures."""

from __future__ import annotations

import plotly.graph_objects as go

from collectors import mm_queries
from collectors.prometheus_models import PrometheusFacts, QueryResult

# Grouped as the review section of the roll-out checklist reads them: resources, database, traffic, latency.
PANEL_GROUPS: dict[str, tuple[str, ...]] = {
    "Resources": ("cpu_percent", "memory_resident_bytes", "goroutines", "open_fds_percent"),
    "Database": ("db_pool_in_use_percent", "db_master_connections", "db_pool_waits_per_second",
                 "db_pool_wait_seconds"),
    "Traffic and sessions": ("http_requests_per_second", "http_error_percent", "websockets", "posts_per_second"),
    "Latency": ("api_latency_p50", "api_latency_p99", "plugin_hook_latency_p99", "search_latency_p99"),
    "Cluster and jobs": ("cluster_health_score", "jobs_active", "db_replica_pool_in_use", "searches_per_second"),
    "Logins": ("logins_per_second", "login_failures_per_second", "login_success_percent"),
}
RANGES_HOURS = {"1 hour": 1, "6 hours": 6, "24 hours": 24, "7 days": 168}
_TICK_FORMAT = {"percent": ".0f", "bytes": ".2s", "seconds": ".2s", "per_second": ".2f", "count": ",.0f",
                "score": ".0f"}
_SUFFIX = {"percent": "%", "bytes": "B", "seconds": "s", "per_second": "/s", "count": "", "score": ""}


def all_names() -> tuple[str, ...]:
    return tuple(name for names in PANEL_GROUPS.values() for name in names)


def figure(result: QueryResult, nodes: list[str] | None = None) -> go.Figure:
    """One line per node, so a node that behaves differently stands out."""
    query = mm_queries.get(result.name)
    frame = result.frame
    if nodes:
        frame = frame[frame["instance"].isin(nodes)]
    fig = go.Figure()
    for instance, series in frame.groupby("instance", sort=True):
        fig.add_trace(go.Scatter(x=series["timestamp"], y=series["value"], mode="lines", name=str(instance),
                                 hovertemplate=f"%{{y:{_TICK_FORMAT.get(result.unit, '.3g')}}}"
                                               f"{_SUFFIX.get(result.unit, '')}<extra>{instance}</extra>"))
    fig.update_layout(title=query.title, height=290, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      hovermode="x unified", legend={"orientation": "h", "yanchor": "bottom", "y": 1.0,
                                                     "xanchor": "right", "x": 1.0},
                      yaxis={"tickformat": _TICK_FORMAT.get(result.unit), "ticksuffix": _SUFFIX.get(result.unit),
                             "rangemode": "tozero"})
    return fig


def why_empty(facts: PrometheusFacts, name: str) -> str:
    if name in facts.skipped:
        return f"{mm_queries.get(name).title}: this Mattermost exports none of {', '.join(facts.skipped[name])}."
    if name in facts.missing:
        return facts.missing[name]
    return f"{mm_queries.get(name).title}: no data in this range."
