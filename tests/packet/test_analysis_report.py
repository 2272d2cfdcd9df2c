"""The packet analysis' tables and figures, on the degraded demo's 3-node packet (the simulator's v12 shape)."""

import json
from pathlib import Path

import pytest

from packet import analysis_report as report
from tests.pages.test_packet_analysis import write_degraded_packet


@pytest.fixture(scope="module")
def degraded_packet(tmp_path_factory) -> Path:
    return write_degraded_packet(tmp_path_factory.mktemp("packets") / "mm_support_packet_degraded.zip")


def test_nodes_table_has_a_column_per_node(degraded_packet):
    from collectors.support_packet import parse_packet

    table = report.nodes_table(parse_packet(degraded_packet))
    assert list(table.columns) == ["Fact", "mm-1", "mm-2", "mm-3"]
    assert (table.set_index("Fact").loc["Version"] != "").all()


def test_log_lines_are_shown_readable():
    line = json.dumps({"timestamp": "2026-11-23 09:14:02.123 Z", "level": "error", "msg": "Unable to upload file",
                       "caller": "app/file.go:1012", "error": "connection refused"})
    assert report.readable(line) == ("2026-11-23 09:14:02.123 Z error Unable to upload file  caller=app/file.go:1012 "
                                   'error="connection refused"')
    assert report.readable("goroutine 1 [running]:") == "goroutine 1 [running]:"


def test_a_log_line_too_deep_to_parse_is_shown_as_it_is_and_a_lone_surrogate_as_a_replacement():
    deep = '{"msg": "x", "d": ' + "[" * 60_000 + "]" * 60_000 + "}"
    assert report.readable(deep) == deep
    line = '{"timestamp": "t", "level": "error", "msg": "bad \\ud800 text"}'
    assert report.readable(line) == "t error bad \N{REPLACEMENT CHARACTER} text"


def test_long_logs_are_charted_in_wider_bars(degraded_packet):
    from packet.log_insights import analyse_packet

    insights = analyse_packet(degraded_packet)
    size = report.bucket_minutes(insights)
    assert size > 1  # the demo's logs cover days
    figure = report.per_minute_figure(insights, {n: n for n in insights.nodes})
    assert figure.layout.annotations[0].text == f"Errors per {size} minutes"
    errors = sum(sum(trace.y) for trace in figure.data if trace.yaxis in (None, "y"))
    assert errors == sum(m.errors for m in insights.members)
