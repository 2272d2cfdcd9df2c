"""Log insights: what a support engineer learns from a packet's logs, on small crafted logs."""

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from collectors.packet_archive import PacketError
from packet import log_insights
from packet.log_insights import analyse_packet, fold_message

CONFIG = b"{}"
DIAGNOSTICS = b"version: 2\nserver:\n  version: 11.6.1\n"


def entry(stamp: str, level: str, msg: str, **fields: object) -> str:
    return json.dumps({"timestamp": f"2026-11-23 {stamp} Z", "level": level, "msg": msg, "caller": "app/x.go:1",
                       **fields}, separators=(",", ":"))


def packet(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.yaml", "version: 1\n")
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def standalone(*lines: str, extra: dict[str, bytes | str] | None = None) -> bytes:
    return packet({"diagnostics.yaml": DIAGNOSTICS, "sanitized_config.json": CONFIG,
                   "mattermost.log": "\n".join(lines) + "\n", **(extra or {})})


def ha(logs: dict[str, list[str]]) -> bytes:
    members: dict[str, bytes | str] = {}
    for node, lines in logs.items():
        members |= {f"{node}/diagnostics.yaml": DIAGNOSTICS, f"{node}/sanitized_config.json": CONFIG,
                    f"{node}/mattermost.log": "\n".join(lines) + "\n"}
    return packet(members)


@pytest.mark.parametrize(("msg", "template"), [
    ("Failed to get user id=ybndrfg8ejkmcpqxot1uwisza3", "Failed to get user id=<id>"),
    ("Job 1f0e2b6c-3c1d-4a8e-9f3b-2a6c8d9e0f11 failed after 3 retries", "Job <uuid> failed after <n> retries"),
    ('Unable to find channel "town-square" for user jane@example.com', 'Unable to find channel "<name>" for user '
                                                                       '<email>'),
    ("dial tcp 10.0.3.17:5432: connect: connection refused", "dial tcp <ip>: connect: connection refused"),
    ("open /var/lib/mattermost/data/file.png: no such file", "open <path>: no such file"),
    ("checksum deadbeefcafe1234 mismatch, deadline exceeded", "checksum <hex> mismatch, deadline exceeded"),
    ("POST https://hooks.example.com/abc?x=1 took 1234ms", "POST <url> took <n>ms"),
])
def test_folding_rules(msg, template):
    assert fold_message(msg) == template


def test_errors_and_warnings_per_minute_and_templates():
    data = standalone(
        entry("09:14:02.123", "info", "Server is initializing..."),
        entry("09:14:05.000", "error", "Failed to get user id=ybndrfg8ejkmcpqxot1uwisza3",
              url="postgres://mmuser:hunter2@db:5432/mm"),
        entry("09:14:59.999", "error", "Failed to get user id=ctnbc4qa5pfkbjj9y8qzs8rgfh"),
        entry("09:15:00.000", "warn", "Rate limit exceeded for 10.0.0.1"),
        entry("09:17:30.000", "error", "Failed to get user id=kbnbxs7o6iycidg6jxbk6mb7oy"),
    )
    result = analyse_packet(data)
    minute = datetime(2026, 11, 23, 9, 14, tzinfo=UTC)
    assert result.per_minute[""] == {minute: (2, 0), minute.replace(minute=15): (0, 1),
                                     minute.replace(minute=17): (1, 0)}
    top = result.templates[0]
    assert (top.level, top.template, top.count) == ("error", "Failed to get user id=<id>", 3)
    assert top.first_seen == datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC)
    assert top.last_seen == datetime(2026, 11, 23, 9, 17, 30, tzinfo=UTC)
    assert "ybndrfg8ejkmcpqxot1uwisza3" in top.example
    assert "hunter2" not in top.example and "****:****@db" in top.example
    assert result.templates[1].template == "Rate limit exceeded for <ip>"
    stats = result.members[0]
    assert (stats.lines, stats.errors, stats.warnings) == (5, 3, 1)
    assert {row["level"] for row in result.per_minute_rows()} == {"error", "warn"}


def test_plain_text_lines_and_stack_trace_continuations():
    data = standalone(
        "info  [2026-11-23 09:14:02.123 Z] Server is initializing... caller=\"app/server.go:274\"",
        "error [2026-11-23 09:14:03.000 Z] Failed to start job 42 caller=\"jobs/x.go:3\" job_id=abc",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/build/server/main.go:12 +0x1d",
        "warn  [2026-11-23 09:15:00.000 Z] Slow query took 5000ms caller=\"sqlstore/y.go:9\"",
    )
    result = analyse_packet(data)
    stats = result.members[0]
    assert (stats.lines, stats.entries, stats.continuation_lines) == (6, 3, 3)
    error = next(t for t in result.templates if t.level == "error")
    assert error.template == "Failed to start job <n>"
    assert "goroutine 1 [running]:" in error.example and "main.go:12" in error.example
    assert result.per_minute[""][datetime(2026, 11, 23, 9, 14, tzinfo=UTC)] == (1, 0)
    assert next(t for t in result.templates if t.level == "warn").template == "Slow query took <n>ms"


def test_plugin_panics_and_restarts_grouped_by_plugin():
    data = standalone(
        entry("09:14:00.000", "info", "Plugin activated", plugin_id="com.mattermost.calls"),
        entry("09:14:01.000", "error", "panic: runtime error: invalid memory address", plugin_id="com.mattermost.calls",
              source="plugin_stderr"),
        "goroutine 42 [running]:",
        "github.com/mattermost/calls/server.(*Plugin).OnWebSocketConnect(...)",
        entry("09:14:30.000", "error", "Health check failed for plugin", id="com.mattermost.calls",
              error="plugin RPC connection is closed"),
        entry("09:14:31.000", "debug", "Restarting plugin due to failed health check", id="com.mattermost.calls"),
        entry("09:20:00.000", "error", "Unable to activate plugin", plugin_id="jira", error="bad manifest"),
        entry("09:21:00.000", "info", "Mechanics of the crash course"),  # no plugin: not an event
    )
    result = analyse_packet(data)
    calls = result.plugin_events["com.mattermost.calls"]
    assert [e.kind for e in calls] == ["panic", "health check failed", "restart"]
    assert calls[0].at == datetime(2026, 11, 23, 9, 14, 1, tzinfo=UTC)
    assert calls[0].detail[0] == "goroutine 42 [running]:"
    assert [e.kind for e in result.plugin_events["jira"]] == ["activation failed"]
    assert set(result.plugin_events) == {"com.mattermost.calls", "jira"}


def test_a_server_panic_in_raw_lines_is_an_event():
    data = standalone(entry("09:14:00.000", "info", "Handling request"), "panic: assignment to entry in nil map",
                      "goroutine 7 [running]:")
    events = analyse_packet(data).plugin_events["(server)"]
    assert events[0].message == "panic: assignment to entry in nil map"
    assert events[0].detail == ("goroutine 7 [running]:",)


def test_lines_around_the_problem_time_per_node():
    logs = {node: [entry(f"09:{minute:02d}:00.000", "info", f"{node} line {minute}") for minute in range(60)]
            for node in ("mm-app-1", "mm-app-2")}
    result = analyse_packet(ha(logs), problem_time=datetime(2026, 11, 23, 9, 30, 0, tzinfo=UTC), around_lines=3)
    assert result.nodes == ("mm-app-1", "mm-app-2")
    assert result.problem_time_source == "given"
    for around in result.around:
        assert len(around.lines) == 6 and around.at_index == 3
        assert f"{around.node} line 30" in around.lines[3]
        assert f"{around.node} line 27" in around.lines[0] and f"{around.node} line 32" in around.lines[5]


def test_around_window_spans_many_chunks(monkeypatch):
    monkeypatch.setattr(log_insights, "CHUNK_BYTES", 512)
    lines = [entry(f"{9 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000", "info", f"line {i}")
             for i in range(2000)]
    result = analyse_packet(standalone(*lines), problem_time=datetime(2026, 11, 23, 9, 16, 40, tzinfo=UTC),
                            around_lines=5)
    around = result.around[0]
    assert ['line 995' in around.lines[0], 'line 1000' in around.lines[5], 'line 1004' in around.lines[9]] == [True] * 3
    assert result.members[0].lines == 2000


def test_problem_time_from_our_packets_form():
    summary = json.dumps({"form": {"issue": "Uploads fail", "started_at": "2026-11-23T09:15:00+00:00"}})
    data = standalone(*[entry(f"09:{m:02d}:00.000", "info", f"line {m}") for m in range(10, 20)],
                      extra={"summary.json": summary})
    result = analyse_packet(data, around_lines=2)
    assert result.problem_time == datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    assert result.problem_time_source == "summary.json form.started_at"
    assert ["line 13" in result.around[0].lines[0], "line 15" in result.around[0].lines[2]] == [True, True]


@pytest.mark.parametrize("summary", [b'{"form":' * 100_000 + b"1" + b"}" * 100_000,
                                     b'{"form": {"started_at": ' + b"9" * 5_000 + b"}}"])
def test_a_form_nested_too_deep_or_with_a_huge_number_names_no_problem_time(summary):
    data = standalone(entry("09:10:00.000", "info", "line"), extra={"summary.json": summary})
    assert log_insights.problem_time_of(data) == (None, "")
    assert analyse_packet(data).problem_time is None


def test_a_message_with_a_lone_surrogate_escape_is_shown_with_a_replacement_character():
    line = entry("09:14:00.000", "error", "x").replace('"msg":"x"', '"msg":"bad \\ud800 text \\u00e9"')
    [template] = analyse_packet(standalone(line)).templates
    assert template.template == "bad \N{REPLACEMENT CHARACTER} text \u00e9"
    template.template.encode("utf-8")


def test_ha_packet_counts_each_node_apart():
    data = ha({"mm-app-1": [entry("09:14:00.000", "error", "Boom")],
               "mm-app-2": [entry("09:14:00.000", "warn", "Careful"), entry("09:14:10.000", "warn", "Careful")]})
    result = analyse_packet(data)
    minute = datetime(2026, 11, 23, 9, 14, tzinfo=UTC)
    assert result.per_minute == {"mm-app-1": {minute: (1, 0)}, "mm-app-2": {minute: (0, 2)}}
    assert result.templates[0].nodes == ("mm-app-2",) and result.templates[0].count == 2
    assert not result.around and result.problem_time is None


def test_non_utf8_and_overlong_lines_are_counted_not_fatal():
    overlong = entry("09:14:01.000", "error", "Huge payload " + "x" * (70 * 1024))
    log = "\n".join([entry("09:14:00.000", "error", "Bad bytes"), overlong, entry("09:14:02.000", "info", "after")])
    log_bytes = log.encode().replace(b"after", b"af\xff\xfeter") + b"\n"
    result = analyse_packet(packet({"diagnostics.yaml": DIAGNOSTICS, "sanitized_config.json": CONFIG,
                                    "mattermost.log": log_bytes}))
    stats = result.members[0]
    assert stats.invalid_utf8_lines == 1
    assert stats.truncated_lines == 1
    assert stats.lines == 3
    assert stats.errors == 2
    assert any(t.template.startswith("Huge payload") for t in result.templates)
    assert all(len(t.example) <= log_insights.MAX_EXAMPLE_CHARS for t in result.templates)


def test_template_cap_folds_the_rest_into_other(monkeypatch):
    monkeypatch.setattr(log_insights, "MAX_TEMPLATES", 3)
    lines = [entry("09:14:00.000", "error", f"Problem {word}") for word in ("alpha", "beta", "gamma", "delta",
                                                                             "epsilon", "delta")]
    result = analyse_packet(standalone(*lines))
    assert len(result.templates) == 3
    assert (result.other_lines, result.other_templates) == (3, 2)


def test_not_a_zip_raises_packet_error():
    with pytest.raises(PacketError):
        analyse_packet(b"<html>proxy error</html>")


def test_a_zip_cut_off_inside_a_log_reads_what_came_before():
    data = standalone(*[entry(f"09:{m:02d}:{s:02d}.000", "error", f"Boom {m}") for m in range(50)
                        for s in range(0, 60, 3)])
    result = analyse_packet(data[: int(len(data) * 0.7)])
    assert "cut off" in result.unreadable["(zip)"]
    assert "mattermost.log is cut off after line" in result.unreadable["mattermost.log"]
    stats = result.members[0]
    assert not stats.complete and 0 < stats.errors < 1000
