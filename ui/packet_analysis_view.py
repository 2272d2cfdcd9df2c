"""Streamlit panels of the packet analysis page (offline: a support packet someone uploaded); the tables and
figures they show are built in packet/analysis_report.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from collectors.support_packet import MAX_PACKET_BYTES, PacketError, parse_packet
from collectors.support_packet_models import PacketFacts
from health.engine import evaluate
from health.findings import State, verdict
from health.packet_inputs import from_packet
from packet import analysis_report as report
from packet.log_insights import AROUND_LINES, LogInsights, analyse_packet, problem_time_of
from ui import health_view

UPLOAD_STATE = "packet_analysis_upload"  # (file id, temp path) of the packet being looked at
MAX_UPLOAD_MB = MAX_PACKET_BYTES // 2**20  # as large as the packets the dashboard downloads itself
HOW_TO_GET_ONE = (
    "Upload a Mattermost support packet (a .zip) to read it here, offline: its health findings, the nodes side by "
    "side and what their logs say. Get one in **System Console > Commercial Support > Download Support Packet**, "
    "or with `mmctl system supportpacket`; the Support packet page of this dashboard makes one too. Nothing is "
    "sent anywhere: the packet is read on this server and its temporary copy is deleted when you upload another.")
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
        st.dataframe(report.summary_table(facts, name), hide_index=True, width="stretch")
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
    st.dataframe(report.nodes_table(facts), hide_index=True, width="stretch", height="content")


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
    labels = {node: report.node_label(node, facts) for node in insights.nodes}
    for member, why_not in insights.unreadable.items():
        st.warning(f"{member}: {why_not}")
    with st.expander(f"{len(insights.members)} log files read"):
        st.dataframe(report.log_files_table(insights, labels), hide_index=True, width="stretch")
    st.subheader("Errors and warnings over time")
    if any(insights.per_minute.values()):
        st.plotly_chart(report.per_minute_figure(insights, labels), width="stretch")
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
    st.dataframe(report.templates_table(insights, labels), hide_index=True, width="stretch", column_config={
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
    st.dataframe(report.plugin_summary(insights), hide_index=True, width="stretch", column_config={
        "First": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        "Last": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
    with st.expander("Every event"):
        st.dataframe(report.plugin_events_table(insights, labels), hide_index=True, width="stretch", column_config={
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
            marked = [("▶ " if i == window.at_index else "  ") + report.readable(line)
                      for i, line in enumerate(window.lines)]
            st.code("\n".join(marked), language=None, wrap_lines=True)
