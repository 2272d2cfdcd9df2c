"""The implementation plan's schedule: default dates over working days, the real store (SQLite and PostgreSQL),
checks a person can act on, and edits from the page's table."""

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest

from checklists import schedule
from checklists.loader import ImplementationPlan, load_plan
from checklists.schedule import ScheduleError, TaskSchedule, TaskStatus
from store import ConflictError

PLAN = load_plan()
MONDAY = date(2026, 3, 2)
TITLES = {task.id: task.title for task in PLAN.tasks}


def _working_days(start: date, end: date) -> int:
    return sum((start + timedelta(days=n)).weekday() < 5 for n in range((end - start).days + 1))


def test_default_schedule_waits_for_every_dependency_and_skips_weekends():
    estimated = schedule.default_schedule(PLAN, MONDAY, "production")
    assert list(estimated) == [task.id for task in PLAN.tasks]
    for task in PLAN.tasks:
        scheduled = estimated[task.id]
        assert scheduled.estimated and scheduled.version is None and scheduled.title == task.title
        assert scheduled.start.weekday() < 5 and scheduled.end.weekday() < 5
        assert _working_days(scheduled.start, scheduled.end) == task.typical_days
        latest_dependency_end = max((estimated[d].end for d in task.depends_on), default=MONDAY - timedelta(days=1))
        assert _working_days(latest_dependency_end + timedelta(days=1), scheduled.start) == 1  # the next working day
    # Five working days from Monday 2 March end on Friday 6 March; the next task starts the Monday after.
    assert (estimated["architecture-document"].end, estimated["gather-software"].start) == (
        date(2026, 3, 6), date(2026, 3, 9))
    # Onboarding waits for the slowest of its five dependencies (bulk load, ending Monday 30 March).
    assert estimated["onboard-users"].start == date(2026, 3, 31)


def test_a_project_starting_on_a_weekend_starts_on_monday():
    estimated = schedule.default_schedule(PLAN, date(2026, 2, 28), "production")  # a Saturday
    assert estimated["architecture-document"].start == MONDAY


def test_tasks_waiting_for_each_other_in_a_circle_are_refused_by_name():
    data = PLAN.model_dump()
    data["tasks"][0]["depends_on"] = ["onboard-users"]
    circular = ImplementationPlan.model_validate(data)
    with pytest.raises(ValueError, match=r"'architecture-document'.*circle.*depends_on"):
        schedule.default_schedule(circular, MONDAY, "production")


def test_save_load_and_conflict(store):
    first = schedule.load(store, PLAN, "production", MONDAY).get("architecture-document")
    planned = replace(first, start=date(2026, 3, 9), end=date(2026, 3, 13), owner=" dana ",
                      status=TaskStatus.IN_PROGRESS)
    saved = schedule.save(store, planned, actor="dana")
    assert (saved.version, saved.owner, saved.estimated) == (1, "dana", False)

    loaded = schedule.load(store, PLAN, "production", MONDAY)
    mine = loaded.get("architecture-document")
    assert (mine.start, mine.end, mine.status, mine.updated_by, mine.estimated) == (
        date(2026, 3, 9), date(2026, 3, 13), TaskStatus.IN_PROGRESS, "dana", False)
    # Estimates of the tasks waiting for it move with it.
    assert loaded.get("gather-software").start == date(2026, 3, 16) and loaded.get("gather-software").estimated
    assert schedule.load(store, PLAN, "staging", MONDAY).get("architecture-document").estimated  # per environment

    schedule.save(store, replace(mine, owner="lee"), actor="lee")
    with pytest.raises(ConflictError):
        schedule.save(store, replace(mine, owner="kim"), actor="kim")
    assert schedule.load(store, PLAN, "production", MONDAY).get("architecture-document").owner == "lee"

    [latest, *_] = store.audit(environment="production")
    assert (latest.actor, latest.details["start"], latest.details["end"], latest.details["status"]) == (
        "lee", "2026-03-09", "2026-03-13", "in progress")


def test_a_task_ending_before_it_starts_is_refused_with_what_to_change(store):
    task = TaskSchedule("install-software", "production", start=date(2026, 3, 4), end=date(2026, 3, 1),
                        title="Install the software")
    with pytest.raises(ScheduleError) as raised:
        schedule.save(store, task, actor="dana")
    assert str(raised.value) == ("'Install the software' ends 2026-03-01, before it starts 2026-03-04; "
                                 "move the end date or the start date")
    assert isinstance(raised.value, ValueError)
    assert store.list(schedule.KIND, "production") == []


def test_saved_dates_that_are_missing_are_estimated_from_the_typical_length(store):
    schedule.save(store, TaskSchedule("install-software", "production", start=date(2026, 4, 1)), actor="dana")
    install = schedule.load(store, PLAN, "production", MONDAY).get("install-software")
    assert (install.start, install.end, install.estimated, install.version) == (
        date(2026, 4, 1), date(2026, 4, 3), True, 1)


def test_schedules_of_tasks_the_plan_dropped_are_kept_as_orphaned(store):
    schedule.save(store, TaskSchedule("retired-task", "production", MONDAY, MONDAY, status=TaskStatus.DONE),
                  actor="dana")
    loaded = schedule.load(store, PLAN, "production", MONDAY)
    assert [orphan.task_id for orphan in loaded.orphaned] == ["retired-task"]
    assert "retired-task" not in loaded.tasks and len(loaded.tasks) == len(PLAN.tasks)


def _schedule_with(**tasks: TaskSchedule) -> schedule.PlanSchedule:
    return schedule.PlanSchedule("production", PLAN, schedule.default_schedule(PLAN, MONDAY, "production", tasks))


def test_validate_errors_on_reversed_dates_and_warns_on_starting_before_a_dependency_ends():
    assert schedule.validate(_schedule_with()) == []
    early = TaskSchedule("gather-software", "production", start=date(2026, 3, 4), end=date(2026, 3, 5))
    reversed_dates = TaskSchedule("install-software", "production", start=date(2026, 3, 20), end=date(2026, 3, 18))
    problems = schedule.validate(_schedule_with(**{"gather-software": early, "install-software": reversed_dates}))
    by_task = {(problem.task_id, problem.severity): problem.message for problem in problems}
    assert by_task[("install-software", "error")].startswith(f"'{TITLES['install-software']}' ends 2026-03-18")
    warning = by_task[("gather-software", "warning")]
    assert f"before '{TITLES['architecture-document']}' has ended (it ends 2026-03-06)" in warning
    assert "start it later" in warning
    # Installing starts 20 March, after preparing the environments is estimated to end (13 March): no warning.
    assert ("install-software", "warning") not in by_task


def test_overdue_is_late_and_not_done():
    done = TaskSchedule("architecture-document", "production", MONDAY, date(2026, 3, 6), status=TaskStatus.DONE)
    late = TaskSchedule("gather-software", "production", date(2026, 3, 9), date(2026, 3, 10),
                        status=TaskStatus.IN_PROGRESS)
    planned = _schedule_with(**{"architecture-document": done, "gather-software": late})
    assert [task.task_id for task in schedule.overdue(planned, today=date(2026, 3, 11))] == ["gather-software"]
    assert schedule.overdue(planned, today=date(2026, 3, 10)) == []  # due today is not late yet


def test_rows_show_the_plan_in_order_with_dependencies_and_flags():
    planned = _schedule_with()
    table = schedule.rows(PLAN, planned, today=date(2026, 3, 10))
    assert list(table.columns) == schedule.COLUMNS and list(table["id"]) == [task.id for task in PLAN.tasks]
    first, second = table.iloc[0], table.iloc[1]
    assert (first["Task"], first["Start"], first["Overdue"], first["Estimated"]) == (
        TITLES["architecture-document"], MONDAY, True, True)
    assert second["Depends on"] == TITLES["architecture-document"] and not second["Overdue"]


def test_only_changed_rows_become_edits_with_their_version():
    saved = TaskSchedule("gather-software", "production", date(2026, 3, 9), date(2026, 3, 10), version=4)
    planned = _schedule_with(**{"gather-software": saved})
    before = schedule.rows(PLAN, planned, today=MONDAY)
    assert schedule.edits(before, before.copy(), planned) == []

    after = before.copy()
    after.loc[1, "End"] = pd.Timestamp("2026-03-12")
    after.loc[1, "Owner"] = " lee "
    after.loc[1, "Status"] = "in progress"
    after.loc[2, "Status"] = "done"  # an estimated task: editing it accepts the dates it was shown with
    gather, prepare = schedule.edits(before, after, planned)
    assert (gather.task_id, gather.end, gather.owner, gather.status, gather.version) == (
        "gather-software", date(2026, 3, 12), "lee", TaskStatus.IN_PROGRESS, 4)
    assert (prepare.task_id, prepare.status, prepare.start, prepare.version, prepare.estimated) == (
        "prepare-environments", TaskStatus.DONE, date(2026, 3, 11), None, False)


def test_clearing_a_date_in_the_table_is_an_edit_to_none():
    planned = _schedule_with()
    before = schedule.rows(PLAN, planned, today=MONDAY)
    after = before.copy()
    after["End"] = after["End"].astype(object)
    after.loc[0, "End"] = None
    [edit] = schedule.edits(before, after, planned)
    assert (edit.task_id, edit.start, edit.end) == ("architecture-document", MONDAY, None)


def test_the_project_start_is_stored_per_environment(store):
    assert schedule.project_start(store, "production", date(2026, 11, 21)) == (date(2026, 11, 23), None)
    schedule.save_project_start(store, "production", date(2027, 1, 4), None, actor="dana")
    assert schedule.project_start(store, "production", date(2026, 11, 21)) == (date(2027, 1, 4), 1)
    assert schedule.project_start(store, "staging", date(2026, 11, 23))[1] is None
