"""Streamlit panels of the rollout page for the implementation plan: schedule (Gantt), team and sizing."""

from __future__ import annotations

from datetime import date

import streamlit as st

from checklists import plan_charts, schedule, sizing, team
from checklists.loader import ImplementationPlan
from store import ConflictError, StoreError
from ui.context import PageContext
from ui.rollout_view import save_each

TASK_STATUSES = [status.value for status in schedule.TaskStatus]


def _project_start(context: PageContext, today: date) -> date:
    start, version = schedule.project_start(context.store, context.env.name, today)
    chosen = st.date_input("Project start", value=start, key=f"project-start-{context.env.name}",
                           help="Dates not set by hand are estimated from here, task by task, over working days.")
    if chosen != start:
        try:
            schedule.save_project_start(context.store, context.env.name, chosen, version, actor=context.actor)
        except ConflictError:
            st.error("Someone changed the project start at the same time; reload to see theirs.")
            return start
        return chosen
    return start


def render_schedule(context: PageContext, plan: ImplementationPlan, today: date) -> None:
    if context.store is None:
        st.error("The store is unavailable, so the schedule cannot be read or changed; try again shortly.")
        return
    try:
        start = _project_start(context, today)
        current = schedule.load(context.store, plan, context.env.name, start)
    except StoreError as exc:
        st.error(f"The schedule could not be read from the store ({exc}).")
        return
    late = schedule.overdue(current, today)
    with st.container(horizontal=True):
        st.metric("Tasks", len(current.tasks), border=True)
        st.metric("Done", sum(t.status is schedule.TaskStatus.DONE for t in current.tasks.values()), border=True)
        st.metric("Overdue", len(late), border=True)
        finish = max((t.end for t in current.tasks.values() if t.end), default=None)
        st.metric("Planned finish", f"{finish:%Y-%m-%d}" if finish else "–", border=True)
    st.plotly_chart(plan_charts.gantt(plan, current, today), width="stretch", key="gantt")
    for problem in schedule.validate(current):
        (st.error if problem.severity == "error" else st.warning)(problem.message)
    st.caption("Change owners, dates and status here; rows marked estimated are not saved yet.")
    before = schedule.rows(plan, current, today)
    config = {"id": None, "Task": st.column_config.TextColumn(disabled=True, width="large"),
              "Start": st.column_config.DateColumn(), "End": st.column_config.DateColumn(),
              "Status": st.column_config.SelectboxColumn(options=TASK_STATUSES, required=True),
              "Depends on": st.column_config.TextColumn(disabled=True),
              "Overdue": st.column_config.CheckboxColumn(disabled=True),
              "Estimated": st.column_config.CheckboxColumn(disabled=True)}
    with st.form(f"schedule-{context.env.name}"):
        after = st.data_editor(before, hide_index=True, width="stretch", height="content", column_config=config,
                               key=f"schedule-editor-{context.env.name}")
        submitted = st.form_submit_button("Save schedule")
    if submitted:
        _save_tasks(context, schedule.edits(before, after, current))
    if current.orphaned:
        st.caption(f"{len(current.orphaned)} saved task(s) are no longer in the plan (kept): "
                   + ", ".join(t.task_id for t in current.orphaned))


def _save_tasks(context: PageContext, changes: list[schedule.TaskSchedule]) -> None:
    saved = save_each(changes, lambda task: schedule.save(context.store, task, actor=context.actor),
                      lambda task: task.name, refused=schedule.ScheduleError)
    if saved:
        st.toast(f"Saved {saved} task(s).")
        if saved == len(changes):
            st.rerun()


def render_team(context: PageContext, plan: ImplementationPlan) -> None:
    st.subheader("Team")
    if context.store is None:
        st.error("The store is unavailable, so the team cannot be read or changed; try again shortly.")
        return
    try:
        current = team.load(context.store, plan)
    except StoreError as exc:
        st.error(f"The team could not be read from the store ({exc}).")
        return
    before = team.rows(plan, current)
    config = {"key": None, "Role": st.column_config.TextColumn(disabled=True),
              "Responsibilities": st.column_config.TextColumn(disabled=True, width="large"),
              "Updated": st.column_config.TextColumn(disabled=True)}
    with st.form("team"):
        after = st.data_editor(before, hide_index=True, width="stretch", height="content", column_config=config,
                               key="team-editor")
        submitted = st.form_submit_button("Save team")
    if submitted:
        changes = team.edits(before, after, current)
        if save_each(changes, lambda member: team.save(context.store, member, actor=context.actor),
                     lambda member: member.role) == len(changes):
            st.rerun()


def render_sizing(plan: ImplementationPlan) -> None:
    st.subheader("Hardware sizing")
    users = st.number_input("Expected concurrent users", min_value=1, max_value=1_000_000, value=1000, step=100)
    result = sizing.size(plan, int(users))
    st.caption(result.basis)
    st.dataframe(result.table(), hide_index=True, width="stretch", height="content")
    if result.note:
        st.warning(result.note)
