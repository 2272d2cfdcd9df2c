"""What the packet analysis shows, as tables and figures built without Streamlit: the page, the notebook and the
tests use them alike."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from collectors.packet_archive import valid_unicode
from collectors.support_packet_models import NodeFacts, PacketFacts
from packet.log_insights import LogInsights

STANDALONE_LABEL = "server"
BUCKET_MINUTES = (1, 5, 15, 30, 60, 180, 360, 1440)  # bar widths the errors-over-time chart may use
MAX_BARS = 240
NODE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
# (row label, how to read it from a node) for the nodes table.
NODE_ROWS: tuple[tuple[str, Any], ...] = (
    ("Host name", lambda n: n.server.hostname or n.name),
    ("Leader", lambda n: {True: "yes", False: "no"}.get(n.is_leader)),
    ("Version", lambda n: n.server.version),
    ("Build hash", lambda n: n.server.build_hash),
    ("OS", lambda n: " ".join(p for p in (n.server.os, n.server.architecture) if p) or None),
    ("Go version", lambda n: n.server.go_version),
    ("CPU cores", lambda n: n.server.cpu_cores),
    ("Memory (MB)", lambda n: n.server.total_memory_mb),
    ("Database", lambda n: " ".join(p for p in (n.database.type, n.database.version) if p) or None),
    ("Schema version", lambda n: n.database.schema_version),
    ("Open file descriptors", lambda n: n.server.open_file_descriptors),
    ("Max file descriptors", lambda n: n.server.max_file_descriptors),
    ("Goroutines", lambda n: n.server.goroutines),
    ("WebSocket connections", lambda n: n.websocket_connections),
    ("DB connections (master)", lambda n: n.database.master_connections),
    ("File store", lambda n: n.file_store.status),
    ("Config differs from leader", lambda n: ", ".join(n.config_differs) or None),
)



def node_label(node: NodeFacts | str, facts: PacketFacts | None = None) -> str:
    """A node's column heading: its folder (HA packets), else its host name."""
    if isinstance(node, str):
        return node or (facts.server.hostname if facts and facts.server.hostname else STANDALONE_LABEL)
    return node.name or node.server.hostname or STANDALONE_LABEL


def nodes_table(facts: PacketFacts) -> pd.DataFrame:
    """One column per node, one row per fact; a row no node has a value for is left out."""
    nodes = facts.cluster.nodes
    columns = {node_label(n): [_shown(read(n)) for _, read in NODE_ROWS] for n in nodes}
    table = pd.DataFrame(columns, index=[label for label, _ in NODE_ROWS])
    table = table[(table != "").any(axis=1)] if len(table.columns) else table
    return table.rename_axis("Fact").reset_index()


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def summary_table(facts: PacketFacts, name: str) -> pd.DataFrame:
    rows = [("Packet", name), ("Layout", facts.layout or facts.format), ("Server version", facts.server.version),
            ("Generated at", f"{facts.generated_at:%Y-%m-%d %H:%M:%S} UTC" if facts.generated_at else None),
            ("Server id", facts.server_id), ("Nodes", len(facts.cluster.nodes)),
            ("Cluster leader", facts.cluster.leader), ("Members", len(facts.members)),
            ("Licensed to", facts.license.company if facts.license else None)]
    return pd.DataFrame([{"Fact": k, "Value": _shown(v) or "unknown"} for k, v in rows])


def bucket_minutes(insights: LogInsights, max_bars: int = MAX_BARS) -> int:
    """Minutes per bar: one when the logs cover a few hours, more for days, so bars stay readable."""
    minutes = [m for per_node in insights.per_minute.values() for m in per_node]
    if not minutes:
        return 1
    span = (max(minutes) - min(minutes)).total_seconds() / 60 + 1
    return next((size for size in BUCKET_MINUTES if span / size <= max_bars), BUCKET_MINUTES[-1])


def per_minute_figure(insights: LogInsights, labels: dict[str, str]) -> go.Figure:
    """Errors (top) and warnings (bottom) over time, one colour per node; minutes grouped when the logs are long."""
    size = bucket_minutes(insights)
    unit = "minute" if size == 1 else f"{size} minutes"
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                           subplot_titles=(f"Errors per {unit}", f"Warnings per {unit}"))
    for index, (node, minutes) in enumerate(insights.per_minute.items()):
        label = labels.get(node, node)
        buckets: dict[datetime, list[int]] = {}
        for minute, (errors, warnings) in minutes.items():
            start = minute - timedelta(minutes=(minute.hour * 60 + minute.minute) % size)
            slot = buckets.setdefault(start, [0, 0])
            slot[0] += errors
            slot[1] += warnings
        colour = NODE_COLOURS[index % len(NODE_COLOURS)]
        for row in (1, 2):
            figure.add_trace(go.Bar(x=list(buckets), y=[c[row - 1] for c in buckets.values()], name=label,
                                    legendgroup=label, showlegend=row == 1, marker_color=colour,
                                    hovertemplate=f"{label}: %{{y:,}}<extra></extra>"), row=row, col=1)
    if insights.problem_time is not None:
        for row in (1, 2):
            figure.add_vline(x=insights.problem_time, line_dash="dash", line_color="firebrick", row=row, col=1)
    figure.update_layout(height=460, barmode="stack", bargap=0.1, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         hovermode="x unified", legend_title_text="Node")
    figure.update_yaxes(rangemode="tozero")
    return figure


def templates_table(insights: LogInsights, labels: dict[str, str], limit: int = 50) -> pd.DataFrame:
    return pd.DataFrame([{"Level": t.level, "Count": t.count, "Template": t.template,
                          "Nodes": ", ".join(labels.get(n, n) for n in t.nodes), "First seen": t.first_seen,
                          "Last seen": t.last_seen, "Example": t.example} for t in insights.templates[:limit]],
                        columns=["Level", "Count", "Template", "Nodes", "First seen", "Last seen", "Example"])


def plugin_events_table(insights: LogInsights, labels: dict[str, str]) -> pd.DataFrame:
    rows = [{"Plugin": e.plugin_id, "What": e.kind, "Node": labels.get(e.node, e.node), "At": e.at,
             "Level": e.level, "Message": e.message, "Stack": "\n".join(e.detail)}
            for events in insights.plugin_events.values() for e in events]
    return pd.DataFrame(rows, columns=["Plugin", "What", "Node", "At", "Level", "Message", "Stack"])


def plugin_summary(insights: LogInsights) -> pd.DataFrame:
    rows = []
    for plugin, events in insights.plugin_events.items():
        kinds = pd.Series([e.kind for e in events]).value_counts()
        times = [e.at for e in events if e.at is not None]
        rows.append({"Plugin": plugin, "Events": insights.plugin_event_counts.get(plugin, len(events)),
                     "Panics": int(kinds.get("panic", 0)), "Restarts": int(kinds.get("restart", 0)),
                     "Failed health checks": int(kinds.get("health check failed", 0)),
                     "Failed to activate": int(kinds.get("activation failed", 0)),
                     "First": min(times) if times else None, "Last": max(times) if times else None})
    return pd.DataFrame(rows, columns=["Plugin", "Events", "Panics", "Restarts", "Failed health checks",
                                       "Failed to activate", "First", "Last"])


def readable(line: str) -> str:
    """A JSON log line as a person reads it: time, level, message, then the other fields as key=value."""
    if not line.startswith("{"):
        return line
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):  # a line nested deeper than the parser goes is shown as it is
        return line
    if not isinstance(entry, dict):
        return line
    head = [str(entry.pop(key, "")) for key in ("timestamp", "level", "msg")]
    rest = " ".join(f"{key}={json.dumps(value) if not isinstance(value, str) or ' ' in value else value}"
                    for key, value in entry.items())
    return valid_unicode(f"{head[0]} {head[1]:<5} {head[2]}" + (f"  {rest}" if rest else ""))


def log_files_table(insights: LogInsights, labels: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"File": m.path, "Node": labels.get(m.node, m.node), "Lines": m.lines,
                          "Errors": m.errors, "Warnings": m.warnings, "Stack-trace lines": m.continuation_lines,
                          "Not UTF-8": m.invalid_utf8_lines, "Cut at 64 KiB": m.truncated_lines,
                          "From": m.first_at, "To": m.last_at, "Whole": m.complete} for m in insights.members])
