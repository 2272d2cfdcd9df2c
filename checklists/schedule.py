"""The implementation plan's schedule per environment, in the store: who does each task, from when to when.

Each task's schedule is one versioned document (kind "plan_schedule", key = task id); the store refuses a save
made against an older version (ConflictError) and audits every change. Tasks nobody has scheduled yet get an
estimate: they start the working day after their dependencies end and last the plan's typical_days, so the
chart is useful from day one and the page can say which dates are only estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import pandas as pd

from checklists.board import cell_value
from checklists.loader import ImplementationPlan, Task
from store import Store

KIND = "plan_schedule"
COLUMNS = ["id", "Task", "Owner", "Start", "End", "Status", "Depends on", "Overdue", "Estimated"]
EDITABLE = ("Owner", "Start", "End", "Status")
SATURDAY = 5  # date.weekday(): Monday is 0, so 5 and 6 are the weekend


class TaskStatus(StrEnum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    DONE = "done"


@dataclass(frozen=True)
class TaskSchedule:
    task_id: str
    environment: str
    start: date | None = None
    end: date | None = None  # the last working day of the task, inclusive
    owner: str = ""
    status: TaskStatus = TaskStatus.NOT_STARTED
    version: int | None = None  # None: never saved
    updated_by: str | None = None
    updated_at: datetime | None = None
    title: str = ""  # from the plan, for messages; not stored (the plan owns it)
    estimated: bool = False  # the dates (or some of them) are the default estimate, not a person's decision

    @property
    def name(self) -> str:
        return self.title or self.task_id

    def body(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "owner": self.owner, "status": self.status.value}


@dataclass
class PlanSchedule:
    environment: str
    plan: ImplementationPlan
    tasks: dict[str, TaskSchedule] = field(default_factory=dict)  # every plan task, in plan order
    orphaned: list[TaskSchedule] = field(default_factory=list)  # saved for ids the plan no longer has

    def get(self, task_id: str) -> TaskSchedule:
        return self.tasks[task_id]


@dataclass(frozen=True)
class ScheduleProblem:
    task_id: str
    severity: Literal["error", "warning"]
    message: str


class ScheduleError(ValueError):
    """A schedule that cannot be saved; the message says which task and what to change."""


# -- working days ------------------------------------------------------------------------------------------------

def is_working_day(day: date) -> bool:
    return day.weekday() < SATURDAY


def first_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the Monday after."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    """The working day `count` working days after `day` (before it when negative); weekends are skipped."""
    step = timedelta(days=1 if count >= 0 else -1)
    for _ in range(abs(count)):
        day += step
        while not is_working_day(day):
            day += step
    return day


# -- the default schedule ----------------------------------------------------------------------------------------

def _in_dependency_order(plan: ImplementationPlan) -> list[Task]:
    """Tasks with every dependency before its dependants, otherwise in plan order; a cycle is refused."""
    remaining = list(plan.tasks)
    ordered: list[Task] = []
    placed: set[str] = set()
    while remaining:
        ready = [task for task in remaining if placed.issuperset(task.depends_on)]
        if not ready:
            names = ", ".join(repr(task.id) for task in remaining)
            raise ValueError(f"the tasks {names} wait for each other in a circle (or for tasks the plan does not "
                             "have), so none of them can start; fix their depends_on in the implementation plan")
        ordered.extend(ready)
        placed.update(task.id for task in ready)
        remaining = [task for task in remaining if task.id not in placed]
    return ordered


def _fill_dates(task: Task, scheduled: TaskSchedule, earliest: date) -> TaskSchedule:
    """Complete whichever dates are missing from the task's typical length; mark the result estimated if any were."""
    last_day = task.typical_days - 1
    if scheduled.start is not None and scheduled.end is not None:
        return scheduled
    if scheduled.start is None and scheduled.end is None:
        start, end = earliest, add_working_days(earliest, last_day)
    elif scheduled.start is None:
        start, end = add_working_days(scheduled.end, -last_day), scheduled.end
    else:
        start, end = scheduled.start, add_working_days(scheduled.start, last_day)
    return replace(scheduled, start=start, end=end, estimated=True)


def default_schedule(plan: ImplementationPlan, project_start: date, environment: str,
                     saved: Mapping[str, TaskSchedule] | None = None) -> dict[str, TaskSchedule]:
    """Every task of the plan, in plan order, scheduled after its dependencies over working days (Mon–Fri).

    Tasks in `saved` keep their dates; the others are estimated from the dates around them, so moving a saved
    task moves the estimates of everything that waits for it.
    """
    saved = saved or {}
    scheduled: dict[str, TaskSchedule] = {}
    for task in _in_dependency_order(plan):
        ends = [scheduled[dependency].end for dependency in task.depends_on]
        earliest = add_working_days(max(ends), 1) if ends else first_working_day(project_start)
        own = saved.get(task.id) or TaskSchedule(task.id, environment)
        scheduled[task.id] = _fill_dates(task, replace(own, title=task.title), earliest)
    return {task.id: scheduled[task.id] for task in plan.tasks}


# -- the store ---------------------------------------------------------------------------------------------------

def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def load(store: Store, plan: ImplementationPlan, environment: str, project_start: date) -> PlanSchedule:
    """The saved schedule of `environment`, estimates for the rest; schedules of tasks the plan dropped are kept,
    as orphaned."""
    titles = {task.id: task.title for task in plan.tasks}
    saved: dict[str, TaskSchedule] = {}
    orphaned: list[TaskSchedule] = []
    for document in store.list(KIND, environment):
        body = document.body
        scheduled = TaskSchedule(
            task_id=document.key, environment=environment, start=_day(body.get("start")), end=_day(body.get("end")),
            owner=body.get("owner") or "", status=TaskStatus(body.get("status", TaskStatus.NOT_STARTED.value)),
            version=document.version, updated_by=document.updated_by, updated_at=document.updated_at,
            title=titles.get(document.key, ""))
        if document.key in titles:
            saved[document.key] = scheduled
        else:
            orphaned.append(scheduled)
    return PlanSchedule(environment, plan, default_schedule(plan, project_start, environment, saved), orphaned)


START_KIND = "plan_start"


def project_start(store: Store, environment: str, default: date) -> tuple[date, int | None]:
    """The day the project starts in `environment` (estimates count from it) and the stored version, if saved."""
    document = store.get(START_KIND, "project", environment)
    if document is None:
        return first_working_day(default), None
    return date.fromisoformat(document.body["start"]), document.version


def save_project_start(store: Store, environment: str, start: date, version: int | None, *, actor: str) -> None:
    store.put(START_KIND, "project", environment, {"start": start.isoformat()}, actor=actor,
              expected_version=version, audit_details={"start": start.isoformat()})


def _ends_before_it_starts(task: TaskSchedule) -> str | None:
    if task.start is None or task.end is None or task.end >= task.start:
        return None
    return (f"{task.name!r} ends {task.end.isoformat()}, before it starts {task.start.isoformat()}; "
            "move the end date or the start date")


def save(store: Store, task: TaskSchedule, *, actor: str) -> TaskSchedule:
    """Save one task's schedule; raises ScheduleError when it ends before it starts and store.ConflictError when
    someone saved it since `task.version` was read."""
    problem = _ends_before_it_starts(task)
    if problem:
        raise ScheduleError(problem)
    task = replace(task, owner=task.owner.strip())
    document = store.put(KIND, task.task_id, task.environment, task.body(), actor=actor,
                         expected_version=task.version,
                         audit_details={"start": _iso(task.start), "end": _iso(task.end), "status": task.status.value})
    return replace(task, version=document.version, updated_by=document.updated_by, updated_at=document.updated_at,
                   estimated=False)


# -- checks ------------------------------------------------------------------------------------------------------

def validate(schedule: PlanSchedule) -> list[ScheduleProblem]:
    """Errors for tasks that end before they start; warnings for tasks that start before a dependency has ended."""
    problems = []
    for task in schedule.plan.tasks:
        scheduled = schedule.get(task.id)
        reversed_dates = _ends_before_it_starts(scheduled)
        if reversed_dates:
            problems.append(ScheduleProblem(task.id, "error", reversed_dates))
        for dependency_id in task.depends_on:
            dependency = schedule.get(dependency_id)
            if scheduled.start and dependency.end and scheduled.start <= dependency.end:
                problems.append(ScheduleProblem(task.id, "warning", (
                    f"{scheduled.name!r} starts {scheduled.start.isoformat()}, before {dependency.name!r} has ended "
                    f"(it ends {dependency.end.isoformat()}); start it later or finish {dependency.name!r} sooner")))
    return problems


def is_overdue(task: TaskSchedule, today: date) -> bool:
    return task.status is not TaskStatus.DONE and task.end is not None and task.end < today


def overdue(schedule: PlanSchedule, today: date) -> list[TaskSchedule]:
    """Plan tasks, in plan order, that should have ended before `today` and are not done."""
    return [scheduled for scheduled in schedule.tasks.values() if is_overdue(scheduled, today)]


# -- the page's table --------------------------------------------------------------------------------------------

def rows(plan: ImplementationPlan, schedule: PlanSchedule, today: date) -> pd.DataFrame:
    titles = {task.id: task.title for task in plan.tasks}
    table = []
    for task in plan.tasks:
        scheduled = schedule.get(task.id)
        table.append({"id": task.id, "Task": task.title, "Owner": scheduled.owner, "Start": scheduled.start,
                      "End": scheduled.end, "Status": scheduled.status.value,
                      "Depends on": ", ".join(titles[dependency] for dependency in task.depends_on),
                      "Overdue": is_overdue(scheduled, today), "Estimated": scheduled.estimated})
    return pd.DataFrame(table, columns=COLUMNS)


def edits(before: pd.DataFrame, after: pd.DataFrame, schedule: PlanSchedule) -> list[TaskSchedule]:
    """The tasks whose editable fields changed, as schedules to save (carrying the version they were read at).

    An edited task keeps the estimated dates it was shown with: editing a row accepts what the row says.
    """
    changed = []
    for (_, old), (_, new) in zip(before.iterrows(), after.iterrows(), strict=True):
        if all(cell_value(old[column]) == cell_value(new[column]) for column in EDITABLE):
            continue
        current = schedule.get(new["id"])
        changed.append(replace(current, owner=str(cell_value(new["Owner"]) or "").strip(),
                               start=cell_value(new["Start"]), end=cell_value(new["End"]),
                               status=TaskStatus(new["Status"]), estimated=False))
    return changed
