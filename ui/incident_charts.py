"""Plotly figures of the figures across incidents (incidents/incident_metrics.py): per month, per playbook."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from incidents.timeline import STAGE_COLOURS

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"orientation": "h", "y": -0.2},
           "hovermode": "x unified", "height": 320}


# Months in time order: a category axis otherwise orders them as the traces first name them, so a playbook seen
# only in a later month would push an earlier month of another playbook after it.
MONTH_AXIS = {"type": "category", "title": None, "categoryorder": "category ascending"}


def _colour(n: int) -> str:
    return STAGE_COLOURS[n % len(STAGE_COLOURS)]


def _name(playbook_id: str, names: Mapping[str, str]) -> str:
    # Plotly reads trace names and category labels as HTML; names come from playbook files people edit.
    return html.escape(names.get(playbook_id, playbook_id))


def count_chart(summary: pd.DataFrame, names: Mapping[str, str]) -> go.Figure:
    """Incidents started per month, one stacked bar colour per playbook."""
    fig = go.Figure()
    for n, (playbook_id, rows) in enumerate(summary.groupby("playbook_id", sort=True)):
        fig.add_trace(go.Bar(x=rows["month"], y=rows["incidents"], name=_name(playbook_id, names),
                             marker_color=_colour(n), hovertemplate="%{y} incidents<extra>%{fullData.name}</extra>"))
    fig.update_layout(title="Incidents per month", barmode="stack", xaxis=MONTH_AXIS,
                      yaxis={"title": "incidents", "rangemode": "tozero"}, **_LAYOUT)
    return fig


def duration_chart(summary: pd.DataFrame, figure: str, names: Mapping[str, str]) -> go.Figure:
    """Median (bars) and p90 (markers) of ``figure`` ("acknowledge" or "resolve") per month and playbook."""
    title = {"acknowledge": "Time to acknowledge", "resolve": "Time to resolve"}[figure]
    fig = go.Figure()
    for n, (playbook_id, rows) in enumerate(summary.groupby("playbook_id", sort=True)):
        name = _name(playbook_id, names)
        fig.add_trace(go.Bar(x=rows["month"], y=rows[f"{figure}_median_min"], name=f"{name} · median",
                             marker_color=_colour(n), offsetgroup=str(n),
                             hovertemplate="median %{y:.1f} min<extra>%{fullData.name}</extra>"))
        fig.add_trace(go.Scatter(x=rows["month"], y=rows[f"{figure}_p90_min"], name=f"{name} · p90",
                                 mode="markers", offsetgroup=str(n),
                                 marker={"color": _colour(n), "symbol": "line-ew-open", "size": 18,
                                         "line": {"width": 3}},
                                 hovertemplate="p90 %{y:.1f} min<extra>%{fullData.name}</extra>"))
    # scattermode "group" puts each p90 marker on its own playbook's bar, not between the bars.
    fig.update_layout(title=f"{title} (minutes): median and p90", barmode="group", scattermode="group",
                      xaxis=MONTH_AXIS, yaxis={"title": "minutes", "rangemode": "tozero"},
                      **_LAYOUT)
    return fig


def stage_chart(stage_summary: pd.DataFrame, names: Mapping[str, str]) -> go.Figure:
    """Median minutes in each stage (bars, p90 in the hover), one group per playbook, stages in playbook order."""
    fig = go.Figure()
    for n, (playbook_id, rows) in enumerate(stage_summary.groupby("playbook_id", sort=True)):
        rows = rows.sort_values("stage_order")
        fig.add_trace(go.Bar(
            x=rows["median_min"], y=rows["stage"].map(html.escape), orientation="h", name=_name(playbook_id, names),
            marker_color=_colour(n), customdata=rows[["p90_min", "incidents"]].to_numpy(),
            hovertemplate="%{y}: median %{x:.1f} min, p90 %{customdata[0]:.1f} min "
                          "(%{customdata[1]} incidents)<extra>%{fullData.name}</extra>"))
    fig.update_layout(title="Time in each stage (median minutes)", barmode="group",
                      xaxis={"title": "minutes", "rangemode": "tozero"},
                      yaxis={"type": "category", "title": None, "autorange": "reversed", "automargin": True},
                      **{**_LAYOUT, "hovermode": "closest"})
    return fig
