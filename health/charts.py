"""Plotly figures for the health page (no Streamlit here, so they are tested directly)."""

from __future__ import annotations

import plotly.graph_objects as go

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
