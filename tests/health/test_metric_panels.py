"""Metric panels: every panel names a catalogue query, and figures draw one line per node."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from collectors import mm_queries
from collectors.prometheus_models import PrometheusFacts, QueryResult
from health import metric_panels


def result(name: str) -> QueryResult:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    frame = pd.DataFrame({"timestamp": [start + timedelta(minutes=i) for i in range(4)],
                          "instance": ["a:8067", "a:8067", "b:8067", "b:8067"], "value": [1.0, 2.0, 3.0, 4.0]})
    return QueryResult(name, "q", mm_queries.get(name).unit, frame, {"a:8067": 2.0, "b:8067": 4.0})


def test_every_panel_is_a_catalogue_query():
    assert all(name in mm_queries.BY_NAME for name in metric_panels.all_names())


def test_one_line_per_node_and_a_node_filter():
    figure = metric_panels.figure(result("goroutines"))
    assert [trace.name for trace in figure.data] == ["a:8067", "b:8067"]
    assert figure.layout.title.text == "Goroutines"
    assert [t.name for t in metric_panels.figure(result("goroutines"), ["b:8067"]).data] == ["b:8067"]


def test_empty_panels_say_why():
    now = datetime.now(UTC)
    lacking = ("mattermost_search_posts_searches_duration_seconds_bucket",)
    facts = PrometheusFacts("http://p", now, now, 60, 240, 15, "targets", (), (),
                            skipped={"search_latency_p99": lacking})
    assert "exports none of" in metric_panels.why_empty(facts, "search_latency_p99")
    assert "no data in this range" in metric_panels.why_empty(facts, "cpu_percent")
