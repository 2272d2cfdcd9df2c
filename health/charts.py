"""Plotly figures for the health page (no Streamlit here, so they are tested directly)."""

from __future__ import annotations

import plotly.graph_objects as go

from collectors.database_models import Connections, PostActivity
from collectors.mattermost_models import DailyCount

CHART_HEIGHT = 300
_LAYOUT = {"height": CHART_HEIGHT, "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "hovermode": "x unified"}


def posts_per_day(days: tuple[DailyCount, ...]) -> go.Figure:
    figure = go.Figure(go.Bar(x=[d.day for d in days], y=[d.value for d in days], name="Posts",
                              hovertemplate="%{y:,} posts<extra></extra>"))
    figure.update_layout(title="Posts per day", yaxis_title="posts", **_LAYOUT)
    return figure


def active_users_per_day(days: tuple[DailyCount, ...]) -> go.Figure:
    figure = go.Figure(go.Scatter(x=[d.day for d in days], y=[d.value for d in days], mode="lines+markers",
                                  name="Users who posted", hovertemplate="%{y:,} users<extra></extra>"))
    figure.update_layout(title="Active users per day (users who posted)", yaxis_title="users",
                         yaxis_rangemode="tozero", **_LAYOUT)
    return figure


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def peak_usage(activity: PostActivity) -> go.Figure:
    """Posts per weekday and hour (UTC) over the last 7 days: when people actually use Mattermost."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    for cell in activity.cells:
        grid[cell.weekday - 1][cell.hour] = cell.posts
    figure = go.Figure(go.Heatmap(z=grid, x=[f"{h:02d}:00" for h in range(24)], y=list(WEEKDAYS),
                                  colorscale="Blues", hovertemplate="%{y} %{x} UTC: %{z:,} posts<extra></extra>"))
    figure.update_layout(title=f"Peak usage: posts by weekday and hour, last 7 days ({activity.total:,} posts, UTC)",
                         yaxis_autorange="reversed", **_LAYOUT)
    return figure


def connections_by_state(connections: Connections) -> go.Figure:
    states = sorted(connections.by_state.items(), key=lambda item: -item[1])
    figure = go.Figure(go.Bar(x=[count for _, count in states], y=[state for state, _ in states], orientation="h",
                              hovertemplate="%{y}: %{x} connections<extra></extra>"))
    figure.add_vline(x=connections.usable, line_dash="dash", line_color="#c0392b",
                     annotation_text=f"usable max {connections.usable}")
    figure.update_layout(title=f"Database connections by state ({connections.total} of {connections.usable})",
                         xaxis_title="connections", **{**_LAYOUT, "height": 240, "hovermode": "closest"})
    return figure
