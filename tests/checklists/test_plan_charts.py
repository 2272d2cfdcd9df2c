"""Plan charts: the Gantt chart shows every task, flags the late ones and marks today; the burn-up tracks scope."""

from datetime import date

import plotly.graph_objects as go

from checklists import plan_charts, schedule
from checklists.loader import load_plan
from checklists.schedule import PlanSchedule, TaskSchedule, TaskStatus

PLAN = load_plan()
MONDAY = date(2026, 3, 2)
TODAY = date(2026, 3, 11)


def _schedule() -> PlanSchedule:
    saved = {
        "architecture-document": TaskSchedule("architecture-document", "production", MONDAY, date(2026, 3, 6),
                                              status=TaskStatus.DONE, owner="dana", version=2),
        "gather-software": TaskSchedule("gather-software", "production", date(2026, 3, 9), date(2026, 3, 10),
                                        status=TaskStatus.IN_PROGRESS, owner="lee", version=1),
    }
    return PlanSchedule("production", PLAN, schedule.default_schedule(PLAN, MONDAY, "production", saved))


def _bars(figure: go.Figure) -> dict[str, tuple[go.Bar, int]]:
    """Each task id -> (its trace, its index in that trace)."""
    return {task_id: (trace, index) for trace in figure.data for index, task_id in enumerate(trace.y)}


def test_one_bar_per_task_in_plan_order():
    figure = plan_charts.gantt(PLAN, _schedule(), TODAY)
    bars = _bars(figure)
    assert sum(len(trace.y) for trace in figure.data) == len(PLAN.tasks) == len(bars)
    assert list(figure.layout.yaxis.categoryarray) == [task.id for task in PLAN.tasks]
    assert list(figure.layout.yaxis.ticktext) == [task.title for task in PLAN.tasks]
    trace, index = bars["architecture-document"]
    assert trace.base[index] == "2026-03-02" and trace.x[index] == 5 * plan_charts.MS_PER_DAY  # Mon to Fri


def test_overdue_tasks_are_red_and_say_so_and_done_ones_are_not():
    bars = _bars(plan_charts.gantt(PLAN, _schedule(), TODAY))
    late, index = bars["gather-software"]  # ended 10 March, still in progress
    assert late.name == "overdue" and late.marker.color == plan_charts.OVERDUE_COLOUR
    assert "overdue" in late.hovertext[index]
    done, index = bars["architecture-document"]
    assert done.name == "done" and done.marker.color != plan_charts.OVERDUE_COLOUR
    assert "overdue" not in done.hovertext[index]


def test_estimated_tasks_are_drawn_fainter_than_saved_ones():
    bars = _bars(plan_charts.gantt(PLAN, _schedule(), TODAY))
    saved, saved_index = bars["architecture-document"]
    estimated, index = bars["onboard-users"]
    assert saved.marker.opacity[saved_index] == 1.0 and saved.marker.pattern.shape[saved_index] == ""
    assert estimated.marker.opacity[index] < 1.0 and estimated.marker.pattern.shape[index] != ""
    assert "estimated" in estimated.hovertext[index]


def test_a_today_line_is_drawn_at_today():
    figure = plan_charts.gantt(PLAN, _schedule(), TODAY)
    [line] = [shape for shape in figure.layout.shapes if shape.name == "today"]
    assert line.x0 == line.x1 == "2026-03-11"
    assert any(annotation.text == "today" for annotation in figure.layout.annotations)


def test_burn_up_draws_done_against_scope_in_date_order():
    figure = plan_charts.burn_up([(date(2026, 3, 9), 3, 14), (date(2026, 3, 2), 0, 12), (date(2026, 3, 16), 9, 14)])
    lines = {trace.name: trace for trace in figure.data}
    assert list(lines["Done"].y) == [0, 3, 9] and list(lines["Total scope"].y) == [12, 14, 14]
    assert list(lines["Done"].x) == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
