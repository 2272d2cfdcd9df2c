"""The health page's History section: key figures over 30 days, the findings timeline, and what changed between
two stored snapshots. The reading is in health.history_trends, history_timeline and history_diff; this module
only draws it."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from health import history_diff, history_timeline, history_trends
from health.history_diff import FindingChange, SnapshotChoice, SnapshotDiff, ValueChange
from health.history_timeline import FindingsTimeline
from health.key_figures import KEY_FIGURES, KeyFigure
from store import Store, StoreError
from ui.context import PageContext

CACHE_S = 60  # the watcher adds a snapshot a minute at most; re-reading 10,000 rows on every click buys nothing
TREND_HEIGHT = 230
_MARGIN = {"l": 10, "r": 10, "t": 36, "b": 10}
AXIS_FORMAT = {"count": {"separatethousands": True}, "percent": {"ticksuffix": " %"},
               "bytes": {"tickformat": ".3~s", "ticksuffix": "B"}, "seconds": {"ticksuffix": " s"}}
HOVER_FORMAT = {"count": "%{y:,.0f}", "percent": "%{y:.1f} %", "bytes": "%{y:.3~s}B", "seconds": "%{y:.3f} s"}
MARKERS_UP_TO = 400  # points; beyond this markers hide the line, below it a lone point between gaps still shows
# Span kind -> colour, bar thickness (a mute drawn thinner over the open bar, so both show) and legend name.
SPAN_STYLE = {"open": ("#c0392b", 0.7, "while open"), "muted": ("#7f8c8d", 0.3, "while muted"),
              "acknowledged": ("#2471a3", 0.3, "while acknowledged")}
EVENT_SYMBOLS = {"fired": "triangle-up", "reopened": "triangle-up-open", "resolved": "circle", "muted": "x",
                 "acknowledged": "diamond", "unmuted": "x-open"}


def render_history(context: PageContext) -> None:
    if context.store is None:
        st.info("History is unavailable: the dashboard's store cannot be used (the sidebar says why). The watcher "
                "(`python -m health watch`) keeps each collection there, and this section reads it back.",
                icon=":material/database_off:")
        return
    environment = context.env.name
    try:
        frame = _trend_frame(repr(context.store), environment, context.store)
        timeline = _timeline(repr(context.store), environment, context.store)
        choices = _choices(repr(context.store), environment, context.store)
    except StoreError as exc:
        st.error(f"History could not be read: {exc}")
        return
    st.subheader(f"Key figures, last {history_trends.TREND_DAYS} days")
    render_trends(frame)
    st.subheader("Findings timeline")
    render_timeline(timeline)
    st.subheader("What changed between two snapshots")
    render_comparison(context.store, environment, choices)


@st.cache_data(ttl=CACHE_S, max_entries=16, show_spinner=False)
def _trend_frame(location: str, environment: str, _store: Store) -> pd.DataFrame:
    return history_trends.trend_frame(_store, environment)


@st.cache_data(ttl=CACHE_S, max_entries=16, show_spinner=False)
def _timeline(location: str, environment: str, _store: Store) -> FindingsTimeline:
    return history_timeline.findings_timeline(_store, environment)


@st.cache_data(ttl=CACHE_S, max_entries=16, show_spinner=False)
def _choices(location: str, environment: str, _store: Store) -> list[SnapshotChoice]:
    return history_diff.snapshot_choices(_store, environment)


# -- key figures --------------------------------------------------------------------------------------------------

def render_trends(frame: pd.DataFrame) -> None:
    if frame.empty:
        st.info("No snapshot stored in the last 30 days yet: start the watcher (`python -m health watch`) and "
                "history fills in at each collection.")
        return
    st.caption(f"{len(frame):,} snapshots from {frame.index[0]:%Y-%m-%d %H:%M} to {frame.index[-1]:%Y-%m-%d %H:%M} "
               "UTC: every collection of the last days, one a day before that. A gap is a pause in collection or "
               "a source that did not answer.")
    columns = st.columns(2)
    for index, figure in enumerate(KEY_FIGURES):
        with columns[index % 2]:
            series = frame[figure.name]
            if series.isna().all():
                st.info(f"**{figure.label}**: no data yet ({figure.source} did not answer in any stored snapshot).")
            else:
                st.plotly_chart(trend_chart(series, frame[history_trends.TIER], figure), width="stretch",
                                key=f"history-trend-{figure.name}")
            st.caption(f"Unit: {figure.unit} · source: {figure.source}")


def trend_chart(series: pd.Series, tiers: pd.Series, figure: KeyFigure) -> go.Figure:
    shown = history_trends.with_gap_breaks(series, tiers)
    points = int(series.notna().sum())
    # Naive UTC datetime64, not the tz-aware index: plotly converts 10,000 Timestamps one by one (~0.25 s a chart).
    times = shown.index.tz_convert(None).to_numpy()
    chart = go.Figure(go.Scatter(x=times, y=shown.to_numpy(), mode="lines+markers" if points <= MARKERS_UP_TO
                                 else "lines", marker={"size": 4}, connectgaps=False, name=figure.label,
                                 hovertemplate=f"{HOVER_FORMAT[figure.unit]}<extra></extra>"))
    chart.update_layout(title=figure.label, height=TREND_HEIGHT, margin=_MARGIN, hovermode="x unified",
                        showlegend=False, yaxis=AXIS_FORMAT[figure.unit])
    return chart


# -- findings timeline ----------------------------------------------------------------------------------------

def render_timeline(timeline: FindingsTimeline) -> None:
    if not timeline.events and not timeline.spans:
        st.success(f"No finding fired, was muted or resolved in the last {history_trends.TREND_DAYS} days.")
        return
    st.plotly_chart(timeline_chart(timeline), width="stretch", key="history-timeline")
    st.caption("Bars: open (red) and muted or acknowledged (grey, blue) spans. Marks: each event, when the watcher "
               "or a person recorded it.")
    st.dataframe(timeline.events_frame().iloc[::-1], hide_index=True, width="stretch", column_config={
        "At (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Why": st.column_config.TextColumn(width="large")})


def timeline_chart(timeline: FindingsTimeline) -> go.Figure:
    chart = go.Figure()
    for kind, (colour, width, legend) in SPAN_STYLE.items():
        spans = [s for s in timeline.spans if s.kind == kind]
        if spans:
            chart.add_trace(go.Bar(
                base=[s.start for s in spans], x=[_milliseconds(s.start, s.end) for s in spans],
                y=[history_timeline.finding_label(s.title, s.subject) for s in spans], orientation="h", width=width,
                marker_color=colour, name=legend, customdata=[[s.start, s.end, "still" if s.ongoing else ""]
                                                            for s in spans],
                hovertemplate=f"{kind} %{{customdata[0]|%Y-%m-%d %H:%M}} to %{{customdata[1]|%Y-%m-%d %H:%M}} "
                              "%{customdata[2]}<extra></extra>"))
    for kind, symbol in EVENT_SYMBOLS.items():
        events = [e for e in timeline.events if e.kind == kind]
        if events:
            chart.add_trace(go.Scatter(
                x=[e.at for e in events], y=[history_timeline.finding_label(e.title, e.subject) for e in events],
                mode="markers", marker={"symbol": symbol, "size": 10, "color": "#1c2833"}, name=kind,
                customdata=[[e.who, e.why or ""] for e in events],
                hovertemplate=f"{kind} by %{{customdata[0]}} at %{{x|%Y-%m-%d %H:%M}}<br>%{{customdata[1]}}"
                              "<extra></extra>"))
    rows = len({history_timeline.finding_label(s.title, s.subject) for s in timeline.spans}
               | {history_timeline.finding_label(e.title, e.subject) for e in timeline.events})
    chart.update_layout(barmode="overlay", height=140 + 34 * rows, margin=_MARGIN, xaxis={"type": "date",
                        "range": [timeline.start, timeline.end]}, yaxis={"autorange": "reversed"},
                        legend={"orientation": "h", "y": -0.15})
    return chart


def _milliseconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


# -- what changed -------------------------------------------------------------------------------------------------

def render_comparison(store: Store, environment: str, choices: list[SnapshotChoice]) -> None:
    pair = history_diff.default_pair(choices)
    if pair is None:
        st.info("Comparing needs two stored snapshots of this environment; the watcher stores one per collection.")
        return
    labels = {choice.id: choice.label() for choice in choices}
    ids = list(labels)
    older_column, newer_column = st.columns(2)
    older_id = older_column.selectbox("Older snapshot", ids, index=ids.index(pair[0].id), format_func=labels.get,
                                      key="history-older")
    newer_id = newer_column.selectbox("Newer snapshot", ids, index=ids.index(pair[1].id), format_func=labels.get,
                                      key="history-newer")
    try:
        diff = history_diff.compare(store, environment, older_id, newer_id)
    except history_diff.HistoryError as exc:
        st.warning(str(exc))
        return
    except StoreError as exc:
        st.error(f"The snapshots could not be read: {exc}")
        return
    render_diff(diff)


def render_diff(diff: SnapshotDiff) -> None:
    st.caption(f"From {diff.older.collected_at:%Y-%m-%d %H:%M} to {diff.newer.collected_at:%Y-%m-%d %H:%M} UTC.")
    for side in diff.makeup_missing:
        st.warning(f"The {side} snapshot has no make-up (the Mattermost API did not answer then): version, "
                   "settings, plugins and licence cannot be compared.")
    if diff.unchanged:
        st.success("Nothing changed between these two snapshots.")
    verdict, findings = st.columns(2)
    with verdict:
        st.markdown("**Verdict**")
        st.dataframe(history_diff.changes_frame(diff.verdict, "What"), hide_index=True, width="stretch")
    with findings:
        _findings_table("Started firing", diff.findings_started)
        _findings_table("Stopped firing", diff.findings_stopped)
    if diff.makeup_missing:
        return
    _changes_table("Version and build", diff.server, "What", "Same version and build.")
    _changes_table(f"Settings ({len(diff.settings)} changed)", diff.settings, "Setting", "No setting changed.")
    st.caption("Secrets are compared by a keyed hash (or Mattermost's mask) and shown only as changed."
               + (f" {len(diff.secrets_not_comparable)} secret settings were masked by Mattermost, so whether they "
                  "changed cannot be told (collect from a config.json with health.history_key set for that)."
                  if diff.secrets_not_comparable else ""))
    _changes_table("Plugins", diff.plugins, "Plugin", "No plugin was added, removed, upgraded or switched.")
    _changes_table("Licence", diff.license, "What", "The licence did not change.")


def _changes_table(title: str, changes: list[ValueChange], name: str, when_empty: str) -> None:
    st.markdown(f"**{title}**")
    if changes:
        st.dataframe(history_diff.changes_frame(changes, name), hide_index=True, width="stretch")
    else:
        st.caption(when_empty)


def _findings_table(title: str, findings: list[FindingChange]) -> None:
    st.markdown(f"**{title}**")
    if findings:
        st.dataframe(history_diff.findings_frame(findings), hide_index=True, width="stretch",
                     column_config={"Observed": st.column_config.TextColumn(width="medium")})
    else:
        st.caption("None.")
