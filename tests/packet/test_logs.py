"""Choosing the part of mattermost.log a packet carries: the right entries, the bytes untouched, big files cheap."""

from __future__ import annotations

import bisect
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from packet.logs import LogError, LogSelection, iter_lines, select
from simulator.scenarios import build_scenario
from simulator.server_config import build_config
from simulator.server_log import node_log

T0 = datetime(2026, 11, 23, tzinfo=UTC)
HOURS = 12
STEP_MS = 2000
DOWN = (T0 + timedelta(hours=7), T0 + timedelta(hours=7, minutes=40))  # the server was stopped
TRACE_AFTER = T0 + timedelta(hours=6)
HEAD_JUNK = b"nohup: ignoring input\n"
JUNK = b"\x1b[0m\x00 garbled console output \xc3\x28 \xff\n"
NOT_UTF8 = b'"file_name":"caf\xe9 \xff\xfe.png",'
TRACE = (b"goroutine 1 [running]:\n"
         b"github.com/mattermost/mattermost/server/v8/channels/app.(*App).UploadFile(0xc0001, {0x2})\n"
         b"\t/mattermost/server/channels/app/file.go:1012 +0x1a5\n"
         b"created by net/http.(*Server).Serve in goroutine 33\n"
         b"\t/usr/local/go/src/net/http/server.go:3285 +0x4b4\n")
MESSAGES = (("debug", "websocket.NextReader: client side closed socket", "platform/web_conn.go:830"),
            ("info", "Worker: Job is complete", "jobs/base_workers.go:117"),
            ("debug", "Sending push notification", "app/notification_push.go:151"),
            ("warn", "Failed to fetch OpenGraph data for a link preview", "app/opengraph.go:96"),
            ("error", "Unable to upload file", "app/file.go:1012"))


@dataclass(frozen=True)
class Written:
    path: Path
    data: bytes
    offsets: list[int]  # where each entry (a line with a timestamp) starts
    times: list[datetime]
    trace_entry: int  # index of the entry followed by a stack trace

    def start_for(self, lo: datetime) -> int:
        index = bisect.bisect_left(self.times, lo)
        if index == 0:
            return 0
        return self.offsets[index] if index < len(self.offsets) else len(self.data)

    def end_for(self, hi: datetime) -> int:
        index = bisect.bisect_right(self.times, hi)
        return self.offsets[index] if index < len(self.offsets) else len(self.data)


def _render(at: datetime, level: str, msg: str, caller: str, user: str) -> bytes:
    """One entry in the layout the hour calls for: Mattermost's versions and console outputs over the years."""
    stamp = f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d}"
    fields = f'"level":"{level}","msg":"{msg}","caller":"{caller}","user_id":"{user}"'
    if at.hour == 2:  # RFC 3339
        return f'{{"timestamp":"{stamp.replace(" ", "T")}Z",{fields}}}'.encode()
    if at.hour == 3:  # plain text starting with the stamp
        return f'{stamp.replace(" ", "T")}Z {level:<5} {msg} caller="{caller}" user_id={user}'.encode()
    if at.hour == 4:  # 4.10–5.x: zap's epoch seconds, level first
        return f'{{"level":"{level}","ts":{at.timestamp():.3f},"caller":"{caller}","msg":"{msg}"}}'.encode()
    if at.hour == 5:  # logr plain console: level, then the stamp in brackets
        return f'{level:<5} [{stamp} Z] {msg} caller="{caller}" user_id={user}'.encode()
    if at.hour == 8:  # local time with its offset
        local = at.astimezone(timezone(timedelta(hours=2)))
        return (f'{{"timestamp":"{local:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d} +02:00",'
                f"{fields}}}").encode()
    if at.hour == 9:  # logr with use_utc: no zone at all
        return f'{{"timestamp":"{stamp}",{fields}}}'.encode()
    return f'{{"timestamp":"{stamp} Z",{fields}}}'.encode()


def _write_log(path: Path) -> Written:
    rng = random.Random("packet-logs")
    parts, offsets, times = [HEAD_JUNK], [], []
    size, trace_entry = len(HEAD_JUNK), -1
    for i in range(HOURS * 3600 * 1000 // STEP_MS):
        at = T0 + timedelta(milliseconds=i * STEP_MS + rng.randrange(1000))
        if DOWN[0] <= at < DOWN[1]:
            continue
        level, msg, caller = rng.choice(MESSAGES)
        line = _render(at, level, msg, caller, "".join(rng.choices("abcdefghkmnpqrstuwxyz13456789", k=26)))
        if i % 997 == 0:
            line = line.replace(b'"caller"', NOT_UTF8 + b'"caller"', 1)
        line += b"\n"
        if trace_entry < 0 and at >= TRACE_AFTER:
            trace_entry = len(times)
            line += TRACE
        if i % 1231 == 0:
            line += JUNK
        offsets.append(size)
        times.append(at)
        parts.append(line)
        size += len(line)
    data = b"".join(parts)[:-1]  # the last line has no newline yet: the server is still writing it
    path.write_bytes(data)
    return Written(path, data, offsets, times, trace_entry)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return _write_log(tmp_path_factory.mktemp("logs") / "mattermost.log")


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _text(selection: LogSelection, chunk_size: int = 1 << 20) -> bytes:
    return b"".join(iter_lines(selection, chunk_size=chunk_size))


def test_a_window_inside_the_log_selects_its_entries_plus_the_margin(log: Written):
    chosen = select(log.path, since=_at(9), until=_at(10.5))
    assert (chosen.start_offset, chosen.end_offset) == (log.start_for(_at(8.5)), log.end_for(_at(11)))
    assert (chosen.since, chosen.until) == (_at(8.5), _at(11))
    assert _at(8.5) <= chosen.first_timestamp < _at(8.5) + timedelta(seconds=3)
    assert _at(11) - timedelta(seconds=3) < chosen.last_timestamp <= _at(11)
    assert not chosen.truncated
    assert chosen.reason == (f"window 2026-11-23 09:00–10:30 UTC plus 30 minutes either side: "
                             f"{chosen.selected_bytes / 1024:.1f} KB of 3.1 MB")
    assert chosen.member == "mattermost.log" and chosen.file_size == len(log.data)
    assert _text(chosen) == log.data[chosen.start_offset:chosen.end_offset]


@pytest.mark.parametrize("margin", [timedelta(0), timedelta(minutes=5), timedelta(hours=2)])
def test_the_margin_widens_the_window_on_both_sides(log: Written, margin: timedelta):
    chosen = select(log.path, since=_at(6.5), until=_at(6.75), margin=margin, member="node1/mattermost.log")
    assert (chosen.start_offset, chosen.end_offset) == (log.start_for(_at(6.5) - margin),
                                                         log.end_for(_at(6.75) + margin))
    assert chosen.member == "node1/mattermost.log"
    assert ("either side" in chosen.reason) == bool(margin)


@pytest.mark.parametrize("hour", [0, 2, 3, 4, 5, 8, 9])
def test_every_timestamp_layout_mattermost_writes_is_understood(log: Written, hour: int):
    chosen = select(log.path, since=_at(hour + 1 / 6), until=_at(hour + 1 / 3), margin=timedelta(0))
    assert (chosen.start_offset, chosen.end_offset) == (log.start_for(_at(hour + 1 / 6)),
                                                         log.end_for(_at(hour + 1 / 3)))
    assert chosen.first_timestamp == log.times[bisect.bisect_left(log.times, _at(hour + 1 / 6))]


def test_a_stack_trace_stays_with_the_entry_it_belongs_to(log: Written):
    entry_at = log.times[log.trace_entry]
    ending_there = select(log.path, since=entry_at - timedelta(minutes=1), until=entry_at, margin=timedelta(0))
    assert _text(ending_there).endswith(TRACE)
    starting_after = select(log.path, since=entry_at + timedelta(milliseconds=1), until=_at(6.5),
                            margin=timedelta(0))
    assert starting_after.start_offset == log.offsets[log.trace_entry + 1]
    assert not _text(starting_after).startswith(TRACE[:9])


def test_a_window_overlapping_the_start_takes_the_log_from_its_first_byte(log: Written):
    chosen = select(log.path, since=_at(-3), until=_at(0.5))
    assert chosen.start_offset == 0 and chosen.end_offset == log.end_for(_at(1))
    assert _text(chosen).startswith(HEAD_JUNK)
    assert "the log only starts at 2026-11-23 00:00:00" in chosen.reason


def test_a_window_overlapping_the_end_takes_the_log_to_its_last_byte(log: Written):
    chosen = select(log.path, since=_at(11.5), until=_at(15))
    assert chosen.start_offset == log.start_for(_at(11)) and chosen.end_offset == len(log.data)
    assert "the log ends at 2026-11-23 11:59:5" in chosen.reason
    assert not _text(chosen).endswith(b"\n")  # the line being written is kept as it is


def test_a_window_before_the_log_selects_nothing_and_says_so(log: Written):
    chosen = select(log.path, since=_at(-30), until=_at(-26))
    assert chosen.selected_bytes == 0 and chosen.start_offset == 0
    assert chosen.reason.startswith("the log starts at 2026-11-23 00:00:00")
    assert "after the window 2026-11-21 18:00–22:00 UTC plus 30 minutes either side ended" in chosen.reason
    assert list(iter_lines(chosen)) == []


def test_a_window_after_the_log_selects_nothing_and_says_so(log: Written):
    chosen = select(log.path, since=_at(13), until=_at(14))
    assert chosen.selected_bytes == 0 and chosen.start_offset == len(log.data)
    assert chosen.reason.startswith("the log ends at 2026-11-23 11:59:5")
    assert "before the window 2026-11-23 13:00–14:00 UTC plus 30 minutes either side began" in chosen.reason


def test_a_window_while_the_server_was_down_finds_no_entries(log: Written):
    chosen = select(log.path, since=DOWN[0] + timedelta(minutes=10), until=DOWN[1] - timedelta(minutes=10),
                    margin=timedelta(minutes=5))
    assert chosen.selected_bytes == 0
    assert "no log entries in it; the log has nothing from 2026-11-23 06:59:5" in chosen.reason
    assert "to 2026-11-23 07:40:0" in chosen.reason


def test_a_goroutine_dump_bigger_than_a_probe_is_kept_whole_at_the_window_edge(tmp_path: Path):
    path = tmp_path / "mattermost.log"
    entries = [b'{"timestamp":"%s.000 Z","level":"info","msg":"tick"}\n' % (T0 + timedelta(seconds=2 * i)).strftime(
        "%Y-%m-%d %H:%M:%S").encode() for i in range(2000)]
    dump = b"goroutine 12 [select]:\n\tnet/http.(*conn).serve(0xc000a2)\n" * 40_000  # 2.4 MB, no timestamps
    path.write_bytes(b"".join(entries[:1000]) + dump + b"".join(entries[1000:]))
    dump_at = len(b"".join(entries[:1000]))
    after = select(path, since=T0 + timedelta(seconds=1999), until=T0 + timedelta(minutes=50), margin=timedelta(0))
    assert after.start_offset == dump_at
    assert after.end_offset == dump_at + len(dump) + len(b"".join(entries[1000:1501]))  # 00:50:00 included
    assert _text(after).startswith(dump)


def test_a_window_larger_than_the_limit_keeps_its_end(log: Written):
    limit = 300_000
    chosen = select(log.path, since=_at(2), until=_at(10), max_bytes=limit)
    assert chosen.truncated
    assert chosen.end_offset == log.end_for(_at(10.5))
    assert limit - 2000 < chosen.selected_bytes <= limit
    assert chosen.start_offset in log.offsets  # an entry start, not the middle of one
    assert chosen.since == _at(1.5)  # the window searched; first_timestamp tells where the kept part starts
    assert chosen.first_timestamp > _at(9)
    assert " is 2.2 MB, over the 293 KB limit: kept its last 29" in chosen.reason
    assert f"(from {chosen.first_timestamp:%Y-%m-%d %H:%M:%S} UTC)" in chosen.reason


def test_without_a_window_the_newest_bytes_are_kept_from_a_line_start(log: Written):
    chosen = select(log.path, since=None, until=None, max_bytes=1_000_000)
    assert chosen.end_offset == len(log.data) and chosen.selected_bytes <= 1_000_000
    assert log.data[chosen.start_offset - 1:chosen.start_offset] == b"\n"
    assert chosen.truncated and chosen.since is None and chosen.until is None
    assert chosen.reason.startswith("no time window given: newest 976.") and chosen.reason.endswith(" KB of 3.1 MB")
    whole = select(log.path, since=None, until=None)
    assert (whole.start_offset, whole.end_offset, whole.truncated) == (0, len(log.data), False)
    assert whole.reason == "no time window given: the whole log, 3.1 MB"
    assert (whole.first_timestamp, whole.last_timestamp) == (log.times[0], log.times[-1])


def test_half_open_windows_run_to_the_edge_of_the_log(log: Written):
    since_only = select(log.path, since=_at(11), until=None)
    assert (since_only.start_offset, since_only.end_offset) == (log.start_for(_at(10.5)), len(log.data))
    assert since_only.reason.startswith("window from 2026-11-23 11:00 UTC plus 30 minutes before it: ")
    until_only = select(log.path, since=None, until=_at(0.25), margin=timedelta(minutes=15))
    assert (until_only.start_offset, until_only.end_offset) == (0, log.end_for(_at(0.5)))


def test_times_without_a_zone_are_utc_and_other_zones_are_converted(log: Written):
    naive = select(log.path, since=datetime(2026, 11, 23, 10), until=datetime(2026, 11, 23, 11))
    paris = timezone(timedelta(hours=1))
    zoned = select(log.path, since=datetime(2026, 11, 23, 11, tzinfo=paris),
                   until=datetime(2026, 11, 23, 12, tzinfo=paris))
    assert (naive.start_offset, naive.end_offset) == (zoned.start_offset, zoned.end_offset)
    assert zoned.since == _at(9.5)


def test_bytes_that_are_not_utf8_come_out_unchanged(log: Written):
    everything = select(log.path, since=None, until=None)
    streamed = list(iter_lines(everything, chunk_size=4096))
    assert b"".join(streamed) == log.data
    assert all(line.endswith(b"\n") for line in streamed[:-1]) and not streamed[-1].endswith(b"\n")
    assert sum(NOT_UTF8 in line for line in streamed) > 10 and sum(line == JUNK for line in streamed) > 10


def test_iter_lines_handles_lines_longer_than_its_chunk(tmp_path: Path):
    path = tmp_path / "mattermost.log"
    long_line = b'{"timestamp":"2026-11-23 05:57:45.942 Z","msg":"' + b"\xe9x" * 50_000 + b'"}\n'
    path.write_bytes(long_line * 3)
    chosen = select(path, since=None, until=None)
    assert list(iter_lines(chosen, chunk_size=1024)) == [long_line] * 3


def test_a_log_rotated_after_selection_is_refused_rather_than_misread(log: Written, tmp_path: Path):
    path = tmp_path / "mattermost.log"
    path.write_bytes(log.data)
    chosen = select(path, since=_at(10), until=_at(11))
    path.write_bytes(log.data[:1000])
    with pytest.raises(LogError, match="rotated"):
        list(iter_lines(chosen))


def test_missing_or_unusable_files_raise_a_sentence(tmp_path: Path):
    with pytest.raises(LogError, match=r"mattermost\.log does not exist; check LogSettings\.FileLocation"):
        select(tmp_path / "mattermost.log", since=None, until=None)
    with pytest.raises(LogError, match="is a directory, not a log file"):
        select(tmp_path, since=None, until=None)


def test_an_empty_log_or_one_without_timestamps_still_gives_a_selection(tmp_path: Path):
    empty = tmp_path / "empty.log"
    empty.touch()
    chosen = select(empty, since=_at(1), until=_at(2))
    assert chosen.selected_bytes == 0 and chosen.reason == "empty.log is empty"
    timeless = tmp_path / "console.log"
    timeless.write_bytes(b"panic: runtime error\n\tgoroutine 1\n" * 2000)
    chosen = select(timeless, since=_at(1), until=_at(2), max_bytes=1000)
    assert chosen.truncated and chosen.end_offset == timeless.stat().st_size and chosen.selected_bytes <= 1000
    assert chosen.since is None and chosen.first_timestamp is None
    assert chosen.reason.startswith("no timestamps found at the start or end of console.log, so the time window "
                                    "cannot be applied: newest ")


def test_a_window_that_ends_before_it_starts_is_refused(log: Written):
    with pytest.raises(ValueError, match="starts"):
        select(log.path, since=_at(2), until=_at(1))


def test_the_simulators_log_is_read_like_a_real_one(tmp_path: Path):
    scenario = build_scenario("degraded", now_ms=int(_at(12).timestamp() * 1000))
    data = node_log(scenario, build_config(scenario), scenario.nodes[0], cpu_cores=4)
    path = tmp_path / "mattermost.log"
    path.write_bytes(data)
    stamps = [datetime.strptime(json.loads(line)["timestamp"], "%Y-%m-%d %H:%M:%S.%f Z").replace(tzinfo=UTC)
              for line in data.splitlines()]
    middle = stamps[len(stamps) // 2]
    chosen = select(path, since=middle, until=middle, margin=timedelta(0))
    assert chosen.first_timestamp == chosen.last_timestamp == middle
    assert [json.loads(line)["timestamp"] for line in iter_lines(chosen)] == [
        f"{middle:%Y-%m-%d %H:%M:%S}.{middle.microsecond // 1000:03d} Z"] * stamps.count(middle)


def _bytes_read() -> int:
    """Bytes this process has read through system calls so far (the kernel's count, no hook needed)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar line")


def _write_big_log(path: Path, size: int) -> int:
    """At least `size` bytes, about 1 MiB of entries a minute, written by stamping one block with each minute."""
    seconds = [f"{s * 60 / 4000:06.3f}".encode() for s in range(4000)]  # 00.000 … 59.985 within the minute
    line = b'{"timestamp":"@@@@@@@@@@@@@@@@:%s Z","level":"debug","msg":"websocket.NextReader: client side ' \
           b'closed socket","caller":"platform/web_conn.go:830","user_id":"u7cpqhfzjjf3mx1ab8o9g5ewyr","conn_id":' \
           b'"c4o6tdqhxbbwxnyd5pm9de1cwa","padding":"' + b"." * 40 + b'"}\n'
    block = b"".join(line.replace(b"%s", s) for s in seconds)
    with path.open("wb") as handle:
        for minute in range(-(-size // len(block))):
            stamp = (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M").encode()
            handle.write(block.replace(b"@@@@@@@@@@@@@@@@", stamp))
    return len(block)


def test_a_300_mb_log_costs_a_few_small_reads(tmp_path: Path):
    path = tmp_path / "mattermost.log"
    try:
        block = _write_big_log(path, 300 * 1024**2)
        before, started = _bytes_read(), time.perf_counter()
        chosen = select(path, since=_at(2), until=_at(2 + 1 / 3), margin=timedelta(minutes=10))
        newest = select(path, since=None, until=None)
        cut = select(path, since=_at(2), until=_at(2.5))  # 96 MB with the margin: more than the 50 MB limit
        elapsed, read = time.perf_counter() - started, _bytes_read() - before
        assert elapsed < 0.5 and read < 2 * 1024**2, (elapsed, read)
        # Entries on a minute boundary are at second 00.000: the window's edges are found to the line.
        assert chosen.start_offset == 110 * block
        assert chosen.end_offset == 150 * block + block // 4000
        assert chosen.first_timestamp == _at(1 + 5 / 6) and chosen.truncated is False
        assert next(iter_lines(chosen)).startswith(b'{"timestamp":"2026-11-23 01:50:00.000 Z"')
        assert newest.end_offset == path.stat().st_size and newest.truncated
        assert cut.truncated and cut.end_offset == 180 * block + block // 4000
        assert cut.selected_bytes <= 50 * 1024**2 and cut.last_timestamp == _at(3)
    finally:
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------- holes of NULs

LAST = b'{"timestamp":"2026-11-23 10:00:00.000 Z","level":"error","msg":"the real last line"}\n'


def _sparse(path: Path, hole: int, before: bytes = b"", after: bytes = LAST) -> Path:
    """`before`, then a hole of `hole` NUL bytes (sparse: nothing written), then `after` (truncate -s, append)."""
    with path.open("wb") as handle:
        handle.write(before)
        handle.truncate(len(before) + hole)
    with path.open("ab") as handle:
        handle.write(after)
    return path


def test_a_2_gb_sparse_log_gives_its_real_last_line(tmp_path: Path):
    path = _sparse(tmp_path / "mattermost.log", 2 * 1024**3)
    started = time.perf_counter()
    newest = select(path, since=None, until=None)
    window = select(path, since=datetime(2026, 11, 23, 9, tzinfo=UTC), until=datetime(2026, 11, 23, 11, tzinfo=UTC))
    assert time.perf_counter() - started < 1  # the hole is jumped over, not read
    for chosen in (newest, window):
        assert list(iter_lines(chosen)) == [LAST], chosen.reason
        assert chosen.last_timestamp == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert "newest 85 bytes" in newest.reason


def test_a_hole_between_real_lines_is_skipped_by_the_window(tmp_path: Path):
    early = b"".join(b'{"timestamp":"2026-11-23 0%d:00:00.000 Z","msg":"early"}\n' % h for h in range(1, 6))
    late = b"".join(b'{"timestamp":"2026-11-23 1%d:00:00.000 Z","msg":"late"}\n' % h for h in range(0, 6))
    path = _sparse(tmp_path / "mattermost.log", 64 * 1024**2, before=early, after=late)
    chosen = select(path, since=datetime(2026, 11, 23, 11, tzinfo=UTC), until=datetime(2026, 11, 23, 13, tzinfo=UTC),
                    margin=timedelta(0))
    assert list(iter_lines(chosen)) == late.splitlines(keepends=True)[1:4]
    early_window = select(path, since=datetime(2026, 11, 23, 2, tzinfo=UTC),
                          until=datetime(2026, 11, 23, 3, tzinfo=UTC), margin=timedelta(0))
    assert list(iter_lines(early_window)) == early.splitlines(keepends=True)[1:3]
    newest = select(path, since=None, until=None, max_bytes=1024)
    assert list(iter_lines(newest)) == late.splitlines(keepends=True)


def test_a_log_of_nothing_but_nuls(tmp_path: Path):
    path = _sparse(tmp_path / "mattermost.log", 256 * 1024**2, after=b"")
    chosen = select(path, since=None, until=None)
    assert list(iter_lines(chosen)) == [] and "newest 0 bytes" in chosen.reason


def test_the_packet_of_a_sparse_log_holds_the_real_line(tmp_path: Path):
    import zipfile

    from packet.builder import PacketRequest, build_packet
    from packet.form import PacketForm

    path = _sparse(tmp_path / "mattermost.log", 2 * 1024**3)
    out = tmp_path / "p.zip"
    result = build_packet(PacketRequest(environment="t", generated_by="t", generated_by_email=None,
                                        form=PacketForm(issue="x"), log_files=(path,)), out)
    assert result.ok
    with zipfile.ZipFile(out) as archive:
        assert archive.read("mattermost.log") == LAST
