"""The incidents page's charts across incidents (ui/incident_charts.py)."""

import pandas as pd

from incidents.incident_metrics import SUMMARY_COLUMNS
from ui.incident_charts import count_chart, duration_chart


def test_months_run_in_time_order_whichever_playbook_names_them_first():
    """A playbook seen only in August comes after one seen in September in the traces; the axis still starts in
    August (plotly orders a category axis by first appearance unless told otherwise)."""
    rows = [{"playbook_id": "a-first", "month": "2026-09", "incidents": 2, "ended": 2},
            {"playbook_id": "b-later", "month": "2026-08", "incidents": 1, "ended": 1}]
    summary = pd.DataFrame([{column: row.get(column, 5.0) for column in SUMMARY_COLUMNS} for row in rows])
    for figure in (count_chart(summary, {}), duration_chart(summary, "resolve", {})):
        assert list(figure.data[0].x) == ["2026-09"]  # the first trace names September first
        assert figure.layout.xaxis.categoryorder == "category ascending"
