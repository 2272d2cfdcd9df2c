"""Streamlit panels of the packet analysis page (offline: a support packet someone uploaded), and the tables and
figures they show, built without Streamlit so the notebook and the tests use them directly."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from collectors.support_packet import MAX_PACKET_BYTES, PacketError, parse_packet
from collectors.support_packet_models import NodeFacts, PacketFacts
from health.engine import evaluate
from health.findings import State, verdict
from health.packet_inputs import from_packet
from packet.log_insights import AROUND_LINES, LogInsights, analyse_packet, problem_time_of
from ui import health_view

UPLOAD_STATE = "packet_analysis_upload"  # (file id, temp path) of the packet being looked at
MAX_UPLOAD_MB = MAX_PACKET_BYTES // 2**20  # as large as the packets the dashboard downloads itself
STANDALONE_LABEL = "server"
BUCKET_MINUTES = (1, 5, 15, 30, 60, 180, 360, 1440)  # bar widths the errors-over-time chart may use
MAX_BARS = 240
NODE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
HOW_TO_GET_ONE = (
    "Upload a Mattermost support packet (a .zip) to read it here, offline: its health findings, the nodes side by "
    "side and what their logs say. Get one in **System Console > Commercial Support > Download Support Packet**, "
    "or with `mmctl system supportpacket`; the Support packet page of this dashboard makes one too. Nothing is "
    "sent anywhere: the packet is read on this server and its temporary copy is deleted when you upload another.")
# (row label, how to read it from a node) for the nodes table.
NODE_ROWS: tuple[tuple[str, Any], ...] = (
    ("Host name", lambda n: n.server.hostname or n.name),
    ("Leader", lambda n: {True: "yes", False: "no"}.get(getattr(n, "is_leader", None))),
    ("Version", lambda n: n.server.version),
    ("Build hash", lambda n: n.server.build_hash),
    ("OS", lambda n: " ".join(p for p in (n.server.os, n.server.architecture) if p) or None),
    ("Go version", lambda n: n.server.go_version),
    ("CPU cores", lambda n: n.server.cpu_cores),
    ("Memory (MB)", lambda n: n.server.total_memory_mb),
    ("Database", lambda n: " ".join(p for p in (n.database.type, n.database.version) if p) or None),
    ("Schema version", lambda n: n.database.schema_version),
    ("Open file descriptors", lambda n: getattr(n.server, "open_file_descriptors", None)),
    ("Max file descriptors", lambda n: getattr(n.server, "max_file_descriptors", None)),
    ("Goroutines", lambda n: getattr(n.server, "goroutines", None)),
    ("WebSocket connections", lambda n: n.websocket_connections),
    ("DB connections (master)", lambda n: n.database.master_connections),
    ("File store", lambda n: n.file_store.status),
    ("Config differs from leader", lambda n: ", ".join(getattr(n, "config_differs", ())) or None),
)


# ------------------------------------------------------------------------------------- tables, figures

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
    except ValueError:
        return line
    if not isinstance(entry, dict):
        return line
    head = [str(entry.pop(key, "")) for key in ("timestamp", "level", "msg")]
    rest = " ".join(f"{key}={json.dumps(value) if not isinstance(value, str) or ' ' in value else value}"
                    for key, value in entry.items())
    return f"{head[0]} {head[1]:<5} {head[2]}" + (f"  {rest}" if rest else "")


def log_files_table(insights: LogInsights, labels: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"File": m.path, "Node": labels.get(m.node, m.node), "Lines": m.lines,
                          "Errors": m.errors, "Warnings": m.warnings, "Stack-trace lines": m.continuation_lines,
                          "Not UTF-8": m.invalid_utf8_lines, "Cut at 64 KiB": m.truncated_lines,
                          "From": m.first_at, "To": m.last_at, "Whole": m.complete} for m in insights.members])


# --------------------------------------------------------------------------------------------- upload

def saved_upload(upload: Any) -> Path:
    """The uploaded packet as a temp file, written once per upload; the previous upload's file is deleted."""
    saved = st.session_state.get(UPLOAD_STATE)
    if saved is not None and saved[0] == upload.file_id and Path(saved[1]).exists():
        return Path(saved[1])
    if saved is not None:
        Path(saved[1]).unlink(missing_ok=True)
    handle, name = tempfile.mkstemp(prefix="mm_packet_analysis_", suffix=".zip")
    with os.fdopen(handle, "wb") as target:
        upload.seek(0)
        shutil.copyfileobj(upload, target, 1024 * 1024)
    st.session_state[UPLOAD_STATE] = (upload.file_id, name)
    return Path(name)


def _remembered(slot: str, key: tuple[Any, ...], spinner: str, compute: Any) -> Any:
    """The last result of `compute` for this session, recomputed only when `key` changes (another upload, another
    problem time): reruns for a widget change stay instant, and one session holds one packet's results."""
    saved = st.session_state.get(slot)
    if saved is not None and saved[0] == key:
        return saved[1]
    with st.spinner(spinner):
        value = compute()
    st.session_state[slot] = (key, value)
    return value


def _parse(path: Path) -> PacketFacts:
    return _remembered(f"{UPLOAD_STATE}_facts", _stamp(path), "Reading the packet", lambda: parse_packet(path))


def _insights(path: Path, problem_time: datetime | None, around: int) -> LogInsights:
    return _remembered(f"{UPLOAD_STATE}_logs", (*_stamp(path), problem_time, around), "Reading every node's logs",
                       lambda: analyse_packet(path, problem_time=problem_time, around_lines=around))


def _stamp(path: Path) -> tuple[str, int, float]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime


# ------------------------------------------------------------------------------------------- sections

def render_analysis(path: Path, name: str) -> None:
    """Everything the page shows about one packet; one st.error sentence when it is not a support packet."""
    try:
        facts = _parse(path)
    except PacketError as exc:
        st.error(str(exc))
        return
    render_summary(facts, name)
    findings = evaluate(from_packet(facts, name))
    st.header("Health")
    health_view.render_verdict(verdict(findings))
    st.header("Nodes side by side")
    render_nodes(facts)
    firing = sum(f.state is State.FIRING for f in findings)
    # The findings table is long (every check, also those a packet cannot judge): a tab of its own, after the logs.
    logs_tab, findings_tab = st.tabs(["Logs", f"Health findings ({firing} firing)"])
    with logs_tab:
        render_logs(path, facts)
    with findings_tab:
        health_view.render_findings(findings)


def render_summary(facts: PacketFacts, name: str) -> None:
    with st.container(horizontal=True):
        st.metric("Server version", facts.server.version or "unknown", border=True)
        st.metric("Nodes", len(facts.cluster.nodes), border=True)
        st.metric("Generated at (UTC)", f"{facts.generated_at:%Y-%m-%d %H:%M}" if facts.generated_at else "unknown",
                  border=True)
        st.metric("Members", len(facts.members), border=True)
    st.caption(f"{name} · layout {facts.layout or facts.format}"
               + (f" · server id {facts.server_id}" if facts.server_id else ""))
    with st.expander("Packet facts"):
        st.dataframe(summary_table(facts, name), hide_index=True, width="stretch")
    if facts.unreadable:
        with st.expander(f"{len(facts.unreadable)} parts of the packet could not be read",
                         icon=":material/warning:"):
            for member, why in facts.unreadable.items():
                st.markdown(f"- **{member}**: {why}")
    for warning in facts.warnings:
        st.warning(f"Mattermost could not put everything in the packet: {warning}")


def render_nodes(facts: PacketFacts) -> None:
    if not facts.cluster.nodes:
        st.info("The packet describes no node (no diagnostics.yaml), so there is nothing to compare.")
        return
    if facts.cluster.leader_reason and len(facts.cluster.nodes) > 1:
        st.caption(f"Leader: {facts.cluster.leader}, because {facts.cluster.leader_reason}.")
    st.dataframe(nodes_table(facts), hide_index=True, width="stretch", height="content")


def _default_time(path: Path, facts: PacketFacts) -> tuple[datetime, str]:
    form_time, _ = problem_time_of(path)
    if form_time is not None:
        return form_time.astimezone(UTC), "the time the packet's form gives for the problem"
    if facts.generated_at is not None:
        return facts.generated_at.astimezone(UTC) - timedelta(minutes=5), (
            "five minutes before the packet was made (its form names no problem time)")
    return datetime.now(UTC).replace(microsecond=0), "now (the packet names no time)"


def render_logs(path: Path, facts: PacketFacts) -> None:
    default, why = _default_time(path, facts)
    when_col, lines_col = st.columns([3, 1])
    chosen = when_col.datetime_input("Problem time (UTC)", value=default.replace(tzinfo=None, microsecond=0),
                                     key="packet_problem_time", step=timedelta(minutes=1),
                                     format="YYYY-MM-DD", help=f"Defaults to {why}.")
    around = lines_col.number_input("Lines before and after", min_value=1, max_value=500, value=AROUND_LINES,
                                    key="packet_around_lines")
    problem_time = chosen.replace(tzinfo=UTC) if chosen else None
    insights = _insights(path, problem_time, int(around))
    if not insights.members:
        st.info("The packet has no log file (*.log): Mattermost leaves it out when LogSettings.EnableFile is off.")
        return
    labels = {node: node_label(node, facts) for node in insights.nodes}
    for member, why_not in insights.unreadable.items():
        st.warning(f"{member}: {why_not}")
    with st.expander(f"{len(insights.members)} log files read"):
        st.dataframe(log_files_table(insights, labels), hide_index=True, width="stretch")
    st.subheader("Errors and warnings over time")
    if any(insights.per_minute.values()):
        st.plotly_chart(per_minute_figure(insights, labels), width="stretch")
    else:
        st.success("No warning or error in any node's log.")
    render_templates(insights, labels)
    render_plugins(insights, labels)
    render_around(insights, labels)


def render_templates(insights: LogInsights, labels: dict[str, str]) -> None:
    st.subheader("Top warning and error messages")
    if not insights.templates:
        st.success("No warning or error messages.")
        return
    st.caption("Messages with their ids, numbers, names, addresses and paths folded to placeholders, so one problem "
               "counts once however many users or channels it hit.")
    st.dataframe(templates_table(insights, labels), hide_index=True, width="stretch", column_config={
        "Template": st.column_config.TextColumn(width="large"),
        "Count": st.column_config.NumberColumn(format="%d"),
        "First seen": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        "Last seen": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        "Example": st.column_config.TextColumn(width="large")})
    if insights.other_lines:
        st.caption(f"{insights.other_lines:,} more lines in {insights.other_templates:,} further templates were "
                   "counted as other (only the first templates are kept, to bound memory).")


def render_plugins(insights: LogInsights, labels: dict[str, str]) -> None:
    st.subheader("Plugin panics and restarts")
    if not insights.plugin_events:
        st.success("No plugin panicked, crashed, failed a health check or was restarted in these logs.")
        return
    st.dataframe(plugin_summary(insights), hide_index=True, width="stretch", column_config={
        "First": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        "Last": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
    with st.expander("Every event"):
        st.dataframe(plugin_events_table(insights, labels), hide_index=True, width="stretch", column_config={
            "At": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "Message": st.column_config.TextColumn(width="large")})


def render_around(insights: LogInsights, labels: dict[str, str]) -> None:
    st.subheader("Lines around the problem time")
    if insights.problem_time is None or not insights.around:
        st.info("Choose a problem time above to see the lines around it.")
        return
    windows = [w for w in insights.around if w.lines]
    if not windows:
        st.info("No log line is near that time.")
        return
    tabs = st.tabs([f"{labels.get(w.node, w.node)} · {Path(w.path).name}" for w in windows])
    for tab, window in zip(tabs, windows, strict=True):
        with tab:
            if window.at_index == len(window.lines):
                st.caption(f"The log ends before {insights.problem_time:%Y-%m-%d %H:%M:%S}: its last lines.")
            elif window.at_index == 0:
                st.caption(f"The log starts after {insights.problem_time:%Y-%m-%d %H:%M:%S}: its first lines.")
            marked = [("▶ " if i == window.at_index else "  ") + readable(line) for i, line in enumerate(window.lines)]
            st.code("\n".join(marked), language=None, wrap_lines=True)
