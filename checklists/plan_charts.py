"""Charts of the implementation plan for review meetings: the schedule as a Gantt chart, and scope against done."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import plotly.graph_objects as go

from checklists.loader import ImplementationPlan
from checklists.schedule import PlanSchedule, TaskSchedule, TaskStatus, is_overdue

STATUS_COLOURS = {TaskStatus.NOT_STARTED: "#8d99a6", TaskStatus.IN_PROGRESS: "#1c58d9", TaskStatus.DONE: "#3db887"}
OVERDUE = "overdue"
OVERDUE_COLOUR = "#d24b4e"
TODAY_COLOUR = "#3f4350"
# Estimated dates are nobody's decision yet: drawn faint and hatched so they do not pass for a commitment.
ESTIMATED_OPACITY = 0.45
ESTIMATED_PATTERN = "/"
MS_PER_DAY = 24 * 60 * 60 * 1000  # a bar's length on a date axis is in milliseconds


def _category(task: TaskSchedule, today: date) -> str:
    return OVERDUE if is_overdue(task, today) else task.status.value


def _hover(title: str, task: TaskSchedule, today: date) -> str:
    lines = [f"<b>{title}</b>", f"{task.start:%a %d %b %Y} – {task.end:%a %d %b %Y}",
             f"{task.status.value} · {task.owner or 'no owner'}"]
    if is_overdue(task, today):
        lines.append(f"overdue: should have ended {(today - task.end).days} day(s) ago")
    if task.estimated:
        lines.append("estimated dates (not saved yet)")
    return "<br>".join(lines)


def _bar(category: str, members: list[tuple[str, TaskSchedule]], today: date) -> go.Bar:
    tasks = [scheduled for _, scheduled in members]
    return go.Bar(
        name=category, orientation="h", y=[task.task_id for task in tasks],
        base=[task.start.isoformat() for task in tasks],
        # The end date is the task's last day, so the bar runs to the end of it.
        x=[((task.end - task.start).days + 1) * MS_PER_DAY for task in tasks],
        marker={"color": OVERDUE_COLOUR if category == OVERDUE else STATUS_COLOURS[TaskStatus(category)],
                "opacity": [ESTIMATED_OPACITY if task.estimated else 1.0 for task in tasks],
                "pattern": {"shape": [ESTIMATED_PATTERN if task.estimated else "" for task in tasks]}},
        hovertext=[_hover(title, task, today) for title, task in members], hoverinfo="text")


def gantt(plan: ImplementationPlan, schedule: PlanSchedule, today: date) -> go.Figure:
    """One bar per scheduled task, in plan order top to bottom, coloured by status; overdue tasks in red."""
    bars: dict[str, list[tuple[str, TaskSchedule]]] = {}
    for task in plan.tasks:
        scheduled = schedule.get(task.id)
        if scheduled.start is not None and scheduled.end is not None:
            bars.setdefault(_category(scheduled, today), []).append((task.title, scheduled))
    figure = go.Figure()
    for category in [*(status.value for status in TaskStatus), OVERDUE]:
        members = bars.get(category, [])
        if members:
            figure.add_trace(_bar(category, members, today))
    task_ids = [task.id for task in plan.tasks]
    figure.update_layout(
        barmode="overlay", legend_title_text="Status", xaxis={"type": "date", "title": None},
        yaxis={"type": "category", "categoryorder": "array", "categoryarray": task_ids, "autorange": "reversed",
               "tickvals": task_ids, "ticktext": [task.title for task in plan.tasks], "title": None},
        margin={"l": 10, "r": 10, "t": 30, "b": 10})
    # An ISO string: plotly cannot place the line's label at a datetime.date.
    figure.add_vline(x=today.isoformat(), name="today", line={"color": TODAY_COLOUR, "width": 2, "dash": "dash"},
                     annotation_text="today", annotation_position="top")
    return figure


def burn_up(points: Iterable[tuple[date, int, int]]) -> go.Figure:
    """Done items against total scope over time: the gap between the lines is the work left."""
    ordered = sorted(points)
    days = [day for day, _, _ in ordered]
    figure = go.Figure([
        go.Scatter(name="Total scope", x=days, y=[total for _, _, total in ordered], mode="lines",
                   line={"color": STATUS_COLOURS[TaskStatus.NOT_STARTED], "dash": "dash", "shape": "hv"}),
        go.Scatter(name="Done", x=days, y=[done for _, done, _ in ordered], mode="lines+markers",
                   line={"color": STATUS_COLOURS[TaskStatus.DONE], "shape": "hv"}),
    ])
    figure.update_layout(xaxis={"type": "date", "title": None}, yaxis={"title": "items", "rangemode": "tozero"},
                         hovermode="x unified", margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure
