"""GET /metrics: Mattermost's Prometheus exposition, one metrics listener per cluster node, plus the same numbers
as OpenMetrics history for `promtool tsdb create-blocks-from openmetrics`.

A real cluster serves /metrics on every node's MetricsSettings.ListenAddress (:8067), without authentication.
The simulator serves all its nodes from its one port: `/metrics?node=<hostname>` answers as that node's listener
(no `node`: the first node). Prometheus scrapes each node as its own target by setting the `node` URL parameter
(`__param_node`) and an `instance` label per target; `scrape_config()` builds exactly that, and the history
carries the same `instance` and `job` labels, so backfilled and scraped samples form one series per node.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, TextIO

import numpy as np
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from simulator.api.common import state
from simulator.metrics_model import Family, Series, node_families
from simulator.model import ClusterNode, Scenario

METRICS_PORT = 8067  # MetricsSettings.ListenAddress default; only used to name instances as a real setup would
JOB = "mattermost"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def node_instance(node: ClusterNode) -> str:
    """The `instance` label Prometheus would give this node's metrics listener."""
    return f"{node.hostname}:{METRICS_PORT}"


def find_node(scenario: Scenario, name: str | None) -> int | None:
    """Index of the node called `name` (hostname or node id); the first node when no name is given."""
    if not name:
        return 0
    return next((i for i, n in enumerate(scenario.nodes) if name in (n.hostname, n.id)), None)


def scrape_config(scenario: Scenario, address: str, interval_s: float, job: str = JOB) -> dict[str, Any]:
    """A Prometheus scrape_configs entry scraping every node of a simulator listening on `address` (host:port)."""
    return {
        "job_name": job,
        "scrape_interval": f"{interval_s:g}s",
        "metrics_path": "/metrics",
        "static_configs": [
            {"targets": [address], "labels": {"__param_node": n.hostname, "instance": node_instance(n)}}
            for n in scenario.nodes
        ],
    }


# ---------------------------------------------------------------------------------------------- text format

def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _series_prefix(series: Series, extra: tuple[tuple[str, str], ...] = ()) -> str:
    labels = (*extra, *series.labels)
    if not labels:
        return series.name
    inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
    return f"{series.name}{{{inner}}}"


def _format_values(series: Series) -> list[str]:
    if series.integer:
        return [str(v) for v in series.values.astype(np.int64).tolist()]
    return [repr(v) for v in series.values.tolist()]


def render_exposition(scenario: Scenario, node_index: int, at: float) -> str:
    """Node `node_index`'s /metrics page at Unix time `at`, in the Prometheus text format 0.0.4."""
    lines: list[str] = []
    for family in node_families(scenario, node_index, np.array([at])):
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        lines.extend(f"{_series_prefix(s)} {_format_values(s)[0]}" for s in family.series)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- history

def _openmetrics_name(family: Family) -> str:
    # OpenMetrics names a counter family without its _total suffix; gauges keep theirs.
    return family.name.removesuffix("_total") if family.kind == "counter" else family.name


def history_timestamps(end: float, days: float, step_s: float) -> np.ndarray:
    """Whole-second timestamps `step_s` apart, ending at `end` and reaching back `days` days."""
    count = int(days * 86_400 // step_s)
    return int(end) - np.arange(count, -1, -1, dtype=np.int64) * int(step_s)


def write_openmetrics_history(scenario: Scenario, out: TextIO, *, end: float, days: float, step_s: float,
                              job: str = JOB) -> int:
    """Every node's series over `days` days up to `end`, one sample each `step_s` seconds, as OpenMetrics with
    `instance` and `job` labels; returns the number of samples written."""
    return write_openmetrics_samples(scenario, out, history_timestamps(end, days, step_s), job=job)


def write_openmetrics_samples(scenario: Scenario, out: TextIO, stamps: np.ndarray, *, job: str = JOB) -> int:
    """Every node's series at the increasing whole-second timestamps `stamps`, as OpenMetrics (see above)."""
    stamps = np.asarray(stamps, dtype=np.int64)
    stamp_text = [str(s) for s in stamps.tolist()]
    per_node = [(node_instance(n), node_families(scenario, i, stamps.astype(float)))
                for i, n in enumerate(scenario.nodes)]
    written = 0
    # A family's samples must stay together, so families are the outer loop and nodes the inner one.
    for position, family in enumerate(per_node[0][1]):
        out.write(f"# HELP {_openmetrics_name(family)} {_escape_help(family.help)}\n")
        out.write(f"# TYPE {_openmetrics_name(family)} {family.kind}\n")
        for instance, families in per_node:
            for series in families[position].series:
                prefix = _series_prefix(series, (("instance", instance), ("job", job)))
                out.write("".join(f"{prefix} {v} {ts}\n"
                                  for v, ts in zip(_format_values(series), stamp_text, strict=True)))
                written += len(stamp_text)
    out.write("# EOF\n")
    return written


def family_names(scenario: Scenario) -> Iterable[str]:
    """Every sample name the simulator exposes (histograms as _bucket, _sum and _count)."""
    names: dict[str, None] = {}
    for family in node_families(scenario, 0, np.array([time.time()])):
        names.update((s.name, None) for s in family.series)
    return names.keys()


# ---------------------------------------------------------------------------------------------- route

async def metrics_endpoint(request: Request) -> Response:
    scenario = state(request).scenario
    node = request.query_params.get("node")
    index = find_node(scenario, node)
    if index is None:
        known = ", ".join(n.hostname for n in scenario.nodes)
        return PlainTextResponse(f"unknown node {node!r}; this cluster has {known}\n", status_code=404)
    return Response(render_exposition(scenario, index, time.time()), media_type=CONTENT_TYPE)


ROUTES = [Route("/metrics", metrics_endpoint, methods=["GET"])]
