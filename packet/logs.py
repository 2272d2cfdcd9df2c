"""Choose the part of a Mattermost server log that a support packet carries, without reading the whole file.

A log can be gigabytes while support needs the hours around the problem. Mattermost writes one entry per line,
timestamp first, in time order, so the edges of a time window are found by binary search over byte offsets: each
probe reads a few KiB forward from a guessed offset to the next line that carries a timestamp. Lines without one
(stack traces, junk) belong to the entry above them and travel with it.

Timestamps are read from the front of a line in every layout Mattermost has written: JSON with
``"timestamp":"2026-11-23 05:57:45.942 Z"`` (logr, v6+; no zone means UTC, as with ``use_utc``), RFC 3339
``2026-11-23T05:57:45.942Z``, plain console lines that start with (or bracket) such a stamp, and the epoch seconds
``"ts":1530127864.34`` of the 4.10–5.x JSON logs. Bytes are never decoded, so nothing is lost or altered.

A run of NUL bytes ends a line like a newline does: a log truncated under a writer that kept its offset
(copytruncate), or preallocated, starts with a hole of NULs (sparse, maybe gigabytes) before its real lines; the
hole is jumped over (SEEK_DATA), never read or selected.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEAD = 80  # every layout puts the timestamp within the first few dozen bytes of a line
BLOCK = 16 * 1024  # one probe read: a few dozen lines
PROBE_BUDGET = 1 << 20  # bytes a probe scans for a timestamp before it calls the region timeless
MAX_LINE = 16 * 1024**2  # a longer line (no real entry is) is streamed in pieces so memory stays bounded

_STAMP = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))? ?(Z|[+-]\d\d:?\d\d)?(?![\d:])")
_EPOCH = re.compile(rb'"ts": ?(\d{9,11}(?:\.\d+)?)[,}]')
_SEPARATOR = re.compile(rb"[\n\x00]")  # what ends a line: a newline, or the NULs of a hole in the file
_SEPARATOR_RUN = re.compile(rb"\n|\x00+")
_NOT_NUL = re.compile(rb"[^\x00]")


class LogError(Exception):
    """The log file cannot be read at all; the message is one sentence a person can act on."""


@dataclass(frozen=True)
class LogSelection:
    path: Path
    member: str  # name of the file inside the packet
    start_offset: int  # first byte selected; always a line start
    end_offset: int  # one past the last byte selected
    file_size: int
    since: datetime | None  # the window searched, margin included; None when open on that side or no window
    until: datetime | None
    truncated: bool  # True when part of the window (or of the file, without a window) was left out
    reason: str
    first_timestamp: datetime | None = None  # first and last entry in the selected bytes, when any carries one
    last_timestamp: datetime | None = None

    @property
    def selected_bytes(self) -> int:
        return self.end_offset - self.start_offset


def select(path: Path, *, since: datetime | None, until: datetime | None, margin: timedelta = timedelta(minutes=30),
           max_bytes: int = 50 * 1024**2, member: str | None = None) -> LogSelection:
    """Pick the bytes of `path` that cover [since - margin, until + margin], at most `max_bytes` of them.

    Naive datetimes are taken as UTC, as Mattermost logs in UTC. Without since and until, the newest `max_bytes`.
    Raises LogError when the file is missing or unreadable; every other situation (empty file, no timestamps, a
    window outside the log) gives a selection whose `reason` says what happened.
    """
    if margin < timedelta(0):
        raise ValueError("The margin around the time window cannot be negative.")
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive.")
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since > until:
        raise ValueError(f"The time window starts ({_when(since)}) after it ends ({_when(until)}).")
    lo = since - margin if since is not None else None
    hi = until + margin if until is not None else None
    with _Log(path) as log:
        found = _Found(log, path, member or path.name, max_bytes)
        if log.size == 0:
            return found.selection(0, 0, lo, hi, truncated=False, reason=f"{path.name} is empty")
        if since is None and until is None:
            return found.newest("no time window given")
        return found.window(lo, hi, _describe_window(since, until, margin))


def iter_lines(selection: LogSelection, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Stream the selected bytes line by line, each with its b"\\n" when it has one, exactly as in the file.

    Reads `chunk_size` bytes at a time, so memory stays bounded whatever the size of the selection. Raises
    LogError when the file has gone, or shrank (rotated) since it was selected.
    """
    remaining = selection.selected_bytes
    if remaining <= 0:
        return
    fd = _open(selection.path)
    with open(fd, "rb", buffering=chunk_size) as handle:
        if os.fstat(fd).st_size < selection.end_offset:
            raise LogError(f"{selection.path} is shorter than when it was selected; it was probably rotated, "
                           "so build the packet again.")
        handle.seek(selection.start_offset)
        while remaining > 0:
            line = handle.readline(min(remaining, MAX_LINE))
            if not line:
                return
            remaining -= len(line)
            yield line


def iter_chunks(selection: LogSelection, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Stream the selected bytes in chunks of `chunk_size` (the last one shorter), boundaries anywhere.

    Positioned reads with no buffering layer of their own, so memory stays at one chunk. Raises LogError when
    the file has gone, or shrank (rotated) since it was selected."""
    remaining = selection.selected_bytes
    if remaining <= 0:
        return
    fd = _open(selection.path)
    try:
        if os.fstat(fd).st_size < selection.end_offset:
            raise LogError(f"{selection.path} is shorter than when it was selected; it was probably rotated, "
                           "so build the packet again.")
        offset = selection.start_offset
        while remaining > 0:
            try:
                chunk = os.pread(fd, min(remaining, chunk_size), offset)
            except OSError as exc:
                raise LogError(f"{selection.path} could not be read: {exc.strerror or exc}.") from exc
            if not chunk:
                return
            remaining -= len(chunk)
            offset += len(chunk)
            yield chunk
    finally:
        os.close(fd)


def _timestamp(head: bytes) -> datetime | None:
    """The time at the front of a line, or None when it carries none (continuation lines, junk)."""
    match = _STAMP.search(head)
    if match is not None:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            at = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          int((fraction or b"0").ljust(6, b"0")[:6]), UTC)
        except ValueError:
            return None
        if zone and zone != b"Z":
            sign = -1 if zone[:1] == b"-" else 1
            digits = zone[1:].replace(b":", b"")
            at -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return at
    match = _EPOCH.search(head)
    if match is not None:
        return datetime.fromtimestamp(float(match.group(1)), UTC)
    return None


@dataclass(frozen=True)
class _Stamp:
    offset: int  # start of the line carrying `at`; when `at` is None, where the scan stopped (file size at EOF)
    at: datetime | None


class _Log:
    """Positioned reads of one open log file; every method reads a bounded number of bytes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1
        self.size = 0

    def __enter__(self) -> _Log:
        self._fd = _open(self._path)
        self.size = os.fstat(self._fd).st_size
        return self

    def __exit__(self, *_: object) -> None:
        os.close(self._fd)

    def _read(self, size: int, offset: int) -> bytes:
        # Never past the size seen at open: a live log keeps growing while it is searched.
        size = min(size, self.size - offset)
        if size <= 0:
            return b""
        try:
            return os.pread(self._fd, size, offset)
        except OSError as exc:
            raise LogError(f"{self._path} could not be read: {exc.strerror or exc}.") from exc

    def line_start(self, offset: int) -> int:
        """The first line start at or after `offset` (the file size when there is none).

        A line starts after a newline or after a run of NUL bytes, and never inside such a run: a log that was
        truncated while the writer kept its offset (copytruncate) or preallocated has holes of NULs, possibly
        gigabytes of them, before its real lines."""
        if offset > 0:
            pos = offset - 1  # a line starts at `offset` exactly when the byte before it ends a line
            while True:
                block = self._read(BLOCK, pos)
                if not block:
                    return self.size
                separator = _SEPARATOR.search(block)
                if separator is not None:
                    offset = pos + separator.start() + 1
                    break
                pos += len(block)
        return self.skip_nul(offset)

    def skip_nul(self, pos: int) -> int:
        """The first byte at or after `pos` that is not NUL (the file size when there is none); the holes of a
        sparse file are jumped over, not read."""
        size = BLOCK
        while pos < self.size:
            block = self._read(size, pos)
            if not block:
                break
            other = _NOT_NUL.search(block)
            if other is not None:
                return pos + other.start()
            pos = self._data_at(pos + len(block))
            size = min(size * 2, PROBE_BUDGET)  # a long run of real zeros: read it in larger pieces
        return self.size

    def _data_at(self, pos: int) -> int:
        """`pos`, or the start of the next data region when `pos` is in a hole of a sparse file."""
        try:
            return max(pos, os.lseek(self._fd, pos, os.SEEK_DATA))
        except OSError:  # ENXIO: nothing but a hole up to the end; EINVAL: the file system cannot tell
            return pos if pos < self.size else self.size

    def next_stamp(self, offset: int, stop: int | None = None) -> _Stamp:
        """The first line starting at or after `offset` (and before `stop`) that carries a timestamp. At most
        PROBE_BUDGET bytes of lines are scanned; runs of NUL bytes are skipped and do not count."""
        end = self.size if stop is None else min(stop, self.size)
        pos, block = self._aligned(offset)
        limit = min(end, pos + PROBE_BUDGET)
        while pos < limit:
            block = block or self._read(BLOCK, pos)  # `pos` is always a line start here
            if not block:
                break
            j = 0
            while True:
                if pos + j >= limit:
                    return _Stamp(pos + j, None)
                separator = _SEPARATOR.search(block, j)
                if separator is None:
                    if j > 0 or (len(block) < BLOCK and pos + len(block) < self.size):
                        pos += j  # the line at j runs past this block: read again from its start
                        block = b""
                        break
                    at = _timestamp(block[:HEAD])  # a line longer than a block: only its head matters
                    if at is not None:
                        return _Stamp(pos, at)
                    pos, block = self.line_start(pos + len(block)), b""
                    break
                line_end = separator.start()
                at = _timestamp(block[j:min(line_end, j + HEAD)])
                if at is not None:
                    return _Stamp(pos + j, at)
                if block[line_end] == 0:  # a run of NULs: skipped, not counted against the budget
                    after = self.skip_nul(pos + line_end)
                    limit = min(end, limit + after - (pos + line_end))
                    pos, block = after, b""
                    break
                j = line_end + 1
                if j >= len(block):
                    pos, block = pos + j, b""
                    break
        return _Stamp(self.size if pos >= self.size else pos, None)

    def _aligned(self, offset: int) -> tuple[int, bytes]:
        """line_start(offset), and the bytes from there on that were read to find it (maybe none)."""
        if offset <= 0:
            block = self._read(BLOCK, 0)
            return (0, block) if block[:1] != b"\0" else (self.skip_nul(0), b"")
        block = self._read(BLOCK, offset - 1)
        separator = _SEPARATOR.search(block)
        if separator is None or block[separator.start()] == 0 or block[separator.end():][:1] in (b"", b"\0"):
            return self.line_start(offset), b""  # NULs to skip, or the line start is past this block
        return offset - 1 + separator.end(), block[separator.end():]

    def last_stamp(self, start: int, end: int) -> datetime | None:
        """The time of the last line starting in [start, end) that carries one; `start` must be a line start.
        Runs of NUL bytes end lines like newlines do (a log with holes), and do not count against the budget."""
        floor = max(start, end - PROBE_BUDGET)
        while end > floor:
            low = max(floor, end - BLOCK)
            base = low - 1 if low > start else low  # one byte more tells whether `low` starts a line
            data = self._read(end - base + HEAD, base)
            starts = [0] if base == low else []
            starts += [m.end() for m in _SEPARATOR_RUN.finditer(data, 0, end - base) if base + m.end() < end]
            for rel in reversed(starts):
                line_end = _SEPARATOR.search(data, rel, rel + HEAD)
                at = _timestamp(data[rel:line_end.start() if line_end else rel + HEAD])
                if at is not None:
                    return at
            if data[:end - low].strip(b"\0") == b"" and low > start:  # all NULs: skip the run from its start
                floor = max(start, floor - (end - low))
            end = low
        return None

    def search(self, after: Callable[[datetime], bool], *, timeless_after: bool) -> int:
        """The start of the first entry for which `after(timestamp)` holds, by binary search over offsets.

        A region with no timestamp within the probe budget counts as after when `timeless_after`, so that such
        a region near a window edge ends up inside the selection rather than outside it.
        """
        low, high = 0, self.size
        while low < high:
            mid = (low + high) // 2
            stamp = self.next_stamp(mid)
            if stamp.at is None:
                if stamp.offset >= self.size or timeless_after:
                    high = mid
                else:
                    low = mid + 1
            elif after(stamp.at):
                high = mid
            else:
                low = stamp.offset + 1  # every offset up to this line finds the same entry
        if low == 0:
            return self.skip_nul(0)  # lines before the first timestamp belong to the start (NULs do not)
        stamp = self.next_stamp(low)
        if stamp.at is not None or stamp.offset >= self.size:
            return stamp.offset
        return self.line_start(low)


@dataclass(frozen=True)
class _Found:
    """Builds selections of one open log, with the facts every reason mentions."""

    log: _Log
    path: Path
    member: str
    max_bytes: int

    def selection(self, start: int, end: int, lo: datetime | None, hi: datetime | None, *, truncated: bool,
                  reason: str) -> LogSelection:
        first = self.log.next_stamp(start, stop=end).at if end > start else None
        return LogSelection(path=self.path, member=self.member, start_offset=start, end_offset=end,
                            file_size=self.log.size, since=lo, until=hi, truncated=truncated, reason=reason,
                            first_timestamp=first, last_timestamp=self.log.last_stamp(start, end))

    def newest(self, why: str) -> LogSelection:
        size = self.log.size
        if size <= self.max_bytes:
            return self.selection(0, size, None, None, truncated=False, reason=f"{why}: the whole log, {_bytes(size)}")
        start = self.entry_start(size - self.max_bytes, size)
        return self.selection(start, size, None, None, truncated=True,
                              reason=f"{why}: newest {_bytes(size - start)} of {_bytes(size)}")

    def entry_start(self, cut: int, end: int) -> int:
        """The first entry start at or after `cut`, so a kept range does not open inside a stack trace."""
        stamp = self.log.next_stamp(cut, stop=end)
        return stamp.offset if stamp.at is not None else min(self.log.line_start(cut), end)

    def window(self, lo: datetime | None, hi: datetime | None, window: str) -> LogSelection:
        log, size = self.log, self.log.size
        first = log.next_stamp(0)
        last = log.last_stamp(0, size)
        if first.at is None and last is None:
            return self.newest(f"no timestamps found at the start or end of {self.path.name}, "
                               "so the time window cannot be applied")
        if lo is not None and last is not None and last < lo:
            return self.selection(size, size, lo, hi, truncated=False,
                                  reason=f"the log ends at {_when(last)}, before the {window} began: "
                                         f"nothing selected of {_bytes(size)}")
        if hi is not None and first.at is not None and first.at > hi:
            return self.selection(0, 0, lo, hi, truncated=False,
                                  reason=f"the log starts at {_when(first.at)}, after the {window} ended: "
                                         f"nothing selected of {_bytes(size)}")
        start = 0 if lo is None else log.search(lambda at: at >= lo, timeless_after=True)
        end = size if hi is None else log.search(lambda at: at > hi, timeless_after=False)
        if end <= start:
            before = log.last_stamp(0, start)
            after = log.next_stamp(start)
            gap = (f"from {_when(before) if before is not None else 'its start'} "
                   f"to {_when(after.at) if after.at else 'its end'}")
            return self.selection(start, start, lo, hi, truncated=False,
                                  reason=f"{window}: no log entries in it; the log has nothing {gap}")
        notes = ""
        if start == 0 and lo is not None and first.at is not None and first.at > lo:
            notes += f"; the log only starts at {_when(first.at)}"
        if end == size and hi is not None and last is not None and last < hi:
            notes += f"; the log ends at {_when(last)}"
        if end - start <= self.max_bytes:
            return self.selection(start, end, lo, hi, truncated=False,
                                  reason=f"{window}: {_bytes(end - start)} of {_bytes(size)}{notes}")
        # Support needs how the problem ended more than how the hours before it looked: keep the window's end.
        kept = self.entry_start(end - self.max_bytes, end)
        chosen = self.selection(kept, end, lo, hi, truncated=True, reason="")
        since_text = f" (from {_when(chosen.first_timestamp)})" if chosen.first_timestamp else ""
        return replace(chosen, reason=f"{window} is {_bytes(end - start)}, over the {_bytes(self.max_bytes)} "
                                      f"limit: kept its last {_bytes(end - kept)}{since_text} of {_bytes(size)}{notes}")


def _open(path: Path) -> int:
    try:
        # O_NONBLOCK: a FIFO given by mistake must fail below instead of blocking the packet forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise LogError(f"The log file {path} does not exist; check LogSettings.FileLocation and that the "
                       "directory is mounted where the dashboard runs.") from exc
    except PermissionError as exc:
        raise LogError(f"The log file {path} cannot be read: permission denied for the user running the "
                       "dashboard; give it read access to the log directory.") from exc
    except OSError as exc:
        raise LogError(f"The log file {path} cannot be opened: {exc.strerror or exc}.") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise LogError(f"{path} is {kind}, not a log file; point the packet at mattermost.log itself.")
    return fd


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M:%S}" if moment.second or moment.microsecond else f"{moment:%H:%M}"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d} {_clock(moment)} UTC"


def _describe_window(since: datetime | None, until: datetime | None, margin: timedelta) -> str:
    if since is not None and until is not None:
        if since.date() == until.date():
            text = f"window {since:%Y-%m-%d} {_clock(since)}–{_clock(until)} UTC"
        else:
            text = f"window {since:%Y-%m-%d} {_clock(since)} – {until:%Y-%m-%d} {_clock(until)} UTC"
        side = "either side"
    elif since is not None:
        text, side = f"window from {_when(since)}", "before it"
    else:
        text, side = f"window until {_when(until)}", "after it"
    return f"{text} plus {_duration(margin)} {side}" if margin else text


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def _bytes(count: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= size:
            return f"{count / size:.1f} {unit}".replace(".0 ", " ")
    return f"{count} bytes"
