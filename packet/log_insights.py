"""Log insights from a Mattermost support packet: what every node's logs say, read in one streaming pass.

For the support engineer who receives the packet: errors and warnings per minute per node, the top warning and
error message templates (ids, numbers, names folded away), plugin panics and restarts, and the lines around the
problem time the packet's form names.

Logs can be gigabytes, so each member is read in chunks of `CHUNK_BYTES` and never held whole. Most lines are
info or debug and are only counted: a chunk whose lines are all JSON is searched with byte-level finds for the
few lines that matter (warn and worse, plugin trouble, the problem time), and only those are decoded. Chunks with
plain-text (console format) lines or stack-trace continuation lines are read line by line.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from collectors.packet_archive import (
    Archive,
    Unreadable,
    is_utf8,
    mask_url_credentials,
    open_archive,
    valid_unicode,
)

MAX_LINE_BYTES = 64 * 1024  # a longer line is cut here and counted
CHUNK_BYTES = MAX_LINE_BYTES  # so a line longer than the limit is always one that crosses a chunk boundary
MAX_TEMPLATES = 5000  # distinct templates counted; the rest are folded into "other"
MAX_OTHER_TRACKED = 100_000  # distinct "other" templates counted exactly up to here
MAX_EXAMPLE_CHARS = 2000
MAX_TEMPLATE_CHARS = 500
MAX_CONTINUATION_LINES = 20  # stack-trace lines kept with an example or a plugin event
MAX_EVENTS_PER_PLUGIN = 200
AROUND_LINES = 20
SERVER_PACKET_PREFIX = "server_packet/"  # where our own packets keep Mattermost's packet
FORM_MEMBER = "summary.json"  # our packets: {"form": {"started_at": ISO time, ...}}
STANDALONE = ""  # the node name of logs at the root of a standalone packet

_ERROR_LEVELS = frozenset({"error", "fatal", "panic", "dpanic", "critical"})
_WARN_LEVELS = frozenset({"warn", "warning"})
_FAST_LEVEL = re.compile(rb'"level":"(warn|warning|error|fatal|panic|dpanic|critical)"')
_ANY_LEVEL = re.compile(rb'"level"\s*:\s*"([A-Za-z]+)"')
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"([^"]*)"')
_MSG = re.compile(rb'"msg"\s*:\s*"((?:[^"\\]|\\.)*)"?')  # no closing quote when the line was cut
_PLUGIN_ID = re.compile(rb'"plugin_id"\s*:\s*"([^"]+)"|\bplugin_id=(?:"([^"]+)"|(\S+))')
_ID_FIELD = re.compile(rb'"id"\s*:\s*"([^"]+)"|\bid=(?:"([^"]+)"|(\S+))')
_CONSOLE = re.compile(rb"^(debug|info|warn|warning|error|fatal|panic|dpanic|critical)\s+\[([^\]]{10,40})\]\s?(.*)$",
                      re.IGNORECASE)
_CONSOLE_FIELDS = re.compile(rb"\s+caller=|\s+[A-Za-z_]+=")
# Byte needles for plugin trouble: cheap to find in a whole chunk; each hit's line is then read properly.
_TROUBLE_NEEDLES = (b"anic", b"rash", b"ealth check fail", b"estarting plugin", b"process exited", b"ctivate plugin")
_TROUBLE = re.compile(r"(panic)|(crash)|(health check fail)|(restarting plugin)|(plugin process exited)|"
                      r"((?:unable|failed) to activate plugin)", re.IGNORECASE)
_TROUBLE_KINDS = ("panic", "crash", "health check failed", "restart", "process exited", "activation failed")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z")

# Folding rules, applied in order: what varies between two occurrences of the same message becomes a placeholder.
FOLDING_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\[[0-9a-fA-F:]*:[0-9a-fA-F:]+\](?::\d+)?"), "<ip>"),
    (re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`"), "\"<name>\""),
    (re.compile(r"(?<![\w/.-])[\w.-]*(?:/[\w.@-]+){2,}/?"), "<path>"),
    (re.compile(r"\b[a-z0-9]{26}\b"), "<id>"),
    (re.compile(r"\b(?:0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b(?:0x)?[0-9a-fA-F]*[a-fA-F]"
                r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*\b"), "<hex>"),
    (re.compile(r"(?<![A-Za-z<])[-+]?\d+(?:[.,]\d+)*"), "<n>"),
)
_HEX_MIN = 8  # shorter hex-looking words ("deadline", "cafe") are words, not hashes


@dataclass(frozen=True)
class Template:
    level: str
    template: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    nodes: tuple[str, ...]
    example: str  # the first occurrence, URL credentials masked, with its stack-trace lines


@dataclass(frozen=True)
class PluginEvent:
    plugin_id: str
    node: str
    at: datetime | None
    kind: str  # panic | crash | health check failed | restart | process exited | activation failed
    level: str
    message: str
    detail: tuple[str, ...] = ()  # the stack-trace lines that followed


@dataclass(frozen=True)
class MemberStats:
    path: str
    node: str
    lines: int
    entries: int  # lines that start a log entry (not continuation lines)
    errors: int
    warnings: int
    continuation_lines: int
    invalid_utf8_lines: int
    truncated_lines: int
    first_at: datetime | None
    last_at: datetime | None
    complete: bool


@dataclass(frozen=True)
class Around:
    node: str
    path: str
    lines: tuple[str, ...]
    at_index: int  # the index in `lines` of the first line at or after the problem time (len(lines) if none)


@dataclass(frozen=True)
class LogInsights:
    members: tuple[MemberStats, ...]
    per_minute: dict[str, dict[datetime, tuple[int, int]]]  # node -> minute (UTC) -> (errors, warnings)
    templates: tuple[Template, ...]  # warnings and errors, most frequent first
    other_lines: int  # warn/error lines whose template came after MAX_TEMPLATES others
    other_templates: int  # distinct templates among them (a lower bound past MAX_OTHER_TRACKED)
    plugin_events: dict[str, tuple[PluginEvent, ...]]  # plugin id -> events in log order
    plugin_event_counts: dict[str, int]  # plugin id -> all events, also those past MAX_EVENTS_PER_PLUGIN
    problem_time: datetime | None
    problem_time_source: str  # "" when no time was given or found
    around: tuple[Around, ...]
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.node for m in self.members))

    def per_minute_rows(self) -> list[dict[str, object]]:
        """Long-form rows (node, minute, level, lines) for a chart."""
        rows: list[dict[str, object]] = []
        for node, minutes in self.per_minute.items():
            for minute, (errors, warnings) in sorted(minutes.items()):
                rows.append({"node": node, "minute": minute, "level": "error", "lines": errors})
                rows.append({"node": node, "minute": minute, "level": "warn", "lines": warnings})
        return rows


# ------------------------------------------------------------------------------------------------ entry

def analyse_packet(source: Path | bytes, *, problem_time: datetime | None = None,
                   around_lines: int = AROUND_LINES) -> LogInsights:
    """Log insights for every log member of a packet. `problem_time` wins over the time the packet's form names.

    Raises PacketError when `source` is not a zip; a damaged member becomes a sentence in `unreadable`."""
    archive, cut_off = open_archive(source, _label(source))
    unreadable: dict[str, str] = {}
    if cut_off:
        unreadable["(zip)"] = cut_off
    try:
        source_note = "given" if problem_time is not None else ""
        if problem_time is None:
            problem_time, source_note = form_problem_time(archive)
        state = _State(problem_time, around_lines)
        for name in log_members(archive.names):
            _scan_member(archive, name, node_of(name, archive.names), state, unreadable)
    finally:
        archive.close()
    return state.result(problem_time, source_note, unreadable)


def _label(source: Path | bytes) -> str:
    return source.name if isinstance(source, Path) else "The packet"


def log_members(names: list[str]) -> list[str]:
    return [n for n in names if n.endswith(".log") and not n.endswith("/")]


def node_of(member: str, names: list[str]) -> str:
    """The host folder a log sits in (HA packets), or STANDALONE for logs at the root."""
    path = member.removeprefix(SERVER_PACKET_PREFIX)
    prefix = member[:len(member) - len(path)]
    directory = path.partition("/")[0] if "/" in path else ""
    if directory and f"{prefix}{directory}/diagnostics.yaml" in names:
        return directory
    return STANDALONE


def problem_time_of(source: Path | bytes) -> tuple[datetime | None, str]:
    """The problem time the packet's form names, and where it was read; (None, "") when it names none."""
    archive, _ = open_archive(source, _label(source))
    try:
        return form_problem_time(archive)
    finally:
        archive.close()


def form_problem_time(archive: Archive) -> tuple[datetime | None, str]:
    """When the problem started, as our packets' form says (summary.json form.started_at)."""
    if FORM_MEMBER not in archive:
        return None, ""
    try:
        form = json.loads(archive.read(FORM_MEMBER)).get("form") or {}
        started = form.get("started_at")
        if not started:
            return None, ""
        moment = datetime.fromisoformat(str(started))
    except (Unreadable, ValueError, AttributeError, TypeError, RecursionError):
        return None, ""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), f"{FORM_MEMBER} form.started_at"


# ----------------------------------------------------------------------------------------------- state

class _TemplateCount:
    __slots__ = ("count", "example", "first", "last", "level", "nodes", "template", "trace")

    def __init__(self, level: str, template: str, at: float | None, node: str, example: str):
        self.level, self.template, self.count = level, template, 0
        self.first = self.last = at
        self.nodes = {node}
        self.example = example
        self.trace = 0


class _Event:
    __slots__ = ("at", "detail", "kind", "level", "message", "node", "plugin_id")

    def __init__(self, plugin_id: str, node: str, at: float | None, kind: str, level: str, message: str):
        self.plugin_id, self.node, self.at, self.kind, self.level, self.message = (
            plugin_id, node, at, kind, level, message)
        self.detail: list[str] = []


class _State:
    """Everything gathered across members; bounded whatever the size of the logs."""

    def __init__(self, problem_time: datetime | None, around_lines: int):
        self.target = problem_time.astimezone(UTC).timestamp() if problem_time else None
        self.around_lines = around_lines
        self.minutes: dict[str, dict[tuple[bytes, bytes], list[int]]] = {}
        self.templates: dict[tuple[str, str], _TemplateCount] = {}
        self.other_lines = 0
        self.other_seen: set[int] = set()
        self.events: dict[str, list[_Event]] = {}
        self.event_counts: dict[str, int] = {}
        self.fold_cache: dict[str, str] = {}
        self.minute_epochs: dict[tuple[bytes, bytes], float | None] = {}
        self.members: list[MemberStats] = []
        self.around: list[Around] = []

    # -- time
    def epoch(self, stamp: bytes) -> float | None:
        """Seconds since the epoch of a Mattermost timestamp ("2006-01-02 15:04:05.000 Z07:00"); parsed once per
        minute and cached, since one minute holds thousands of lines."""
        if len(stamp) < 19 or stamp[10:11] != b" ":
            return _parse_time(stamp)
        seconds, _, zone = stamp[17:].partition(b" ")
        key = (stamp[:16], zone)
        minute = self.minute_epochs.get(key, -1.0)
        if minute == -1.0:
            if len(self.minute_epochs) > 100_000:
                self.minute_epochs.clear()
            minute = self.minute_epochs[key] = _parse_time(stamp[:16] + b":00 " + (zone or b"Z"))
        if minute is None:
            return None
        try:
            return minute + float(seconds)
        except ValueError:
            return minute

    def count_minute(self, node: str, stamp: bytes, is_error: bool) -> None:
        key = (stamp[:16], stamp.rpartition(b" ")[2] if b" " in stamp[16:] else b"Z")
        counts = self.minutes.setdefault(node, {}).get(key)
        if counts is None:
            counts = self.minutes[node][key] = [0, 0]
        counts[0 if is_error else 1] += 1

    # -- templates
    def fold(self, msg: str) -> str:
        template = self.fold_cache.get(msg)
        if template is None:
            template = fold_message(msg)
            if len(self.fold_cache) > 20_000:
                self.fold_cache.clear()
            self.fold_cache[msg] = template
        return template

    def add_template(self, level: str, msg: str, at: float | None, node: str, line: bytes
                     ) -> _TemplateCount | None:
        """Count one warn/error entry; returns its template when this line became its example."""
        key = (level, self.fold(msg))
        entry = self.templates.get(key)
        if entry is None:
            if len(self.templates) >= MAX_TEMPLATES:
                self.other_lines += 1
                if len(self.other_seen) < MAX_OTHER_TRACKED:
                    self.other_seen.add(hash(key))
                return None
            entry = self.templates[key] = _TemplateCount(level, key[1], at, node, _example(line))
            entry.count = 1
            return entry
        entry.count += 1
        entry.nodes.add(node)
        if at is not None:
            if entry.first is None or at < entry.first:
                entry.first = at
            if entry.last is None or at > entry.last:
                entry.last = at
        return None

    # -- plugins
    def add_event(self, plugin_id: str, node: str, at: float | None, kind: str, level: str, message: str
                  ) -> _Event | None:
        self.event_counts[plugin_id] = self.event_counts.get(plugin_id, 0) + 1
        events = self.events.setdefault(plugin_id, [])
        if len(events) >= MAX_EVENTS_PER_PLUGIN:
            return None
        event = _Event(plugin_id, node, at, kind, level, message)
        events.append(event)
        return event

    # -- result
    def result(self, problem_time: datetime | None, source: str, unreadable: dict[str, str]) -> LogInsights:
        per_minute: dict[str, dict[datetime, tuple[int, int]]] = {}
        for node, minutes in self.minutes.items():
            folded: dict[datetime, list[int]] = {}
            for (head, zone), (errors, warnings) in minutes.items():
                epoch = _parse_time(head + b":00 " + zone)
                if epoch is None:
                    continue
                slot = folded.setdefault(datetime.fromtimestamp(epoch, UTC), [0, 0])
                slot[0] += errors
                slot[1] += warnings
            per_minute[node] = {minute: (c[0], c[1]) for minute, c in sorted(folded.items())}
        templates = sorted(self.templates.values(), key=lambda t: (-t.count, t.template))
        return LogInsights(
            members=tuple(self.members),
            per_minute=per_minute,
            templates=tuple(Template(t.level, t.template, t.count, _when(t.first), _when(t.last),
                                     tuple(sorted(t.nodes)), t.example) for t in templates),
            other_lines=self.other_lines,
            other_templates=len(self.other_seen),
            plugin_events={pid: tuple(PluginEvent(e.plugin_id, e.node, _when(e.at), e.kind, e.level, e.message,
                                                  tuple(e.detail)) for e in events)
                           for pid, events in sorted(self.events.items())},
            plugin_event_counts=dict(sorted(self.event_counts.items())),
            problem_time=problem_time,
            problem_time_source=source,
            around=tuple(self.around),
            unreadable=unreadable,
        )


# ---------------------------------------------------------------------------------------------- member

class _Member:
    """The per-member part of a scan: counters, the open entry stack-trace lines attach to, the time window."""

    def __init__(self, state: _State, path: str, node: str):
        self.state, self.path, self.node = state, path, node
        self.lines = self.entries = self.errors = self.warnings = 0
        self.continuation = self.invalid = self.truncated = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.open_example: _TemplateCount | None = None  # the entry stack-trace lines are attached to
        self.open_event: _Event | None = None
        self.last_plugin: str | None = None
        self.last_stamp: float | None = None
        self.last_level = "info"
        # The window around the problem time: lines before it, then lines after.
        self.before: deque[bytes] = deque(maxlen=state.around_lines)
        self.after: list[bytes] | None = None
        self.trouble_possible = True  # False while reading lines of a block none of the trouble needles is in

    # -- one entry or continuation line, the slow and exact path
    def line(self, raw: bytes) -> None:
        self.lines += 1
        if raw[:1] == b"{":
            self._entry(raw, *_json_fields(raw))
            self._window(raw, self.last_stamp)
            return
        console = _CONSOLE.match(raw)
        if console is not None:
            level_bytes, stamp, rest = console.groups()
            level = level_bytes.lower().decode()
            counted = level in _ERROR_LEVELS or level in _WARN_LEVELS
            self._entry(raw, level, stamp, _CONSOLE_FIELDS.split(rest, maxsplit=1)[0] if counted else None)
            self._window(raw, self.last_stamp)
            return
        self._continued(raw)
        self._window(raw, self.last_stamp)

    def _entry(self, raw: bytes, level: str, stamp: bytes | None, msg: bytes | None) -> None:
        state = self.state
        self.entries += 1
        at = state.epoch(stamp) if stamp else None
        if at is not None:
            self.first_at = at if self.first_at is None else self.first_at
            self.last_at = at
        self.last_stamp = at if at is not None else self.last_stamp
        self.last_level = level
        self.open_example = self.open_event = None
        self.last_plugin = _plugin_id(raw)
        is_error = level in _ERROR_LEVELS
        if is_error or level in _WARN_LEVELS:
            self.errors += is_error
            self.warnings += not is_error
            if stamp:
                state.count_minute(self.node, stamp, is_error)
            text = _decode_msg(msg) if msg is not None else _text(raw)[:200]
            self.open_example = state.add_template("error" if is_error else "warn", text, at, self.node, raw)
        self._trouble(raw, at, level, msg)

    def _trouble(self, raw: bytes, at: float | None, level: str, msg: bytes | None) -> None:
        """A plugin panic, crash, failed health check or restart (and any panic at all) becomes an event."""
        if not self.trouble_possible or not any(needle in raw for needle in _TROUBLE_NEEDLES):
            return
        text = _text(raw)
        match = _TROUBLE.search(text)
        if match is None:
            return
        kind = _TROUBLE_KINDS[match.lastindex - 1 if match.lastindex else 0]
        plugin = self.last_plugin or (_field_id(raw) if "plugin" in text.lower() else None)
        if plugin is None and kind != "panic":
            if "plugin" not in text.lower():
                return
            plugin = "(plugin not named)"
        message = _decode_msg(msg) if msg is not None else text
        self.open_event = self.state.add_event(plugin or "(server)", self.node, at, kind, level,
                                               mask_url_credentials(message)[:MAX_EXAMPLE_CHARS])

    def _continued(self, raw: bytes) -> None:
        """A line that starts no entry (a panic's stack trace): it belongs to the entry before it."""
        self.continuation += 1
        if not raw.strip():
            return
        text = None
        if self.open_example is not None and self.open_example.trace < MAX_CONTINUATION_LINES:
            text = _text(raw)
            self.open_example.example = (self.open_example.example + "\n" + mask_url_credentials(text))[
                :MAX_EXAMPLE_CHARS * 4]
            self.open_example.trace += 1
        if self.open_event is not None:
            if len(self.open_event.detail) < MAX_CONTINUATION_LINES:
                self.open_event.detail.append(mask_url_credentials(text or _text(raw))[:MAX_EXAMPLE_CHARS])
        elif b"panic" in raw:
            # A raw "panic:" line opens its own event: the plugin of the entry before it, or the server's.
            self.open_event = self.state.add_event(self.last_plugin or "(server)", self.node, self.last_stamp,
                                                   "panic", "panic", mask_url_credentials(text or _text(raw)))

    def _window(self, raw: bytes, at: float | None) -> None:
        target = self.state.target
        if target is None:
            return
        if self.after is None:
            if at is not None and at >= target:
                self.after = [raw]
            else:
                self.before.append(raw)
        elif len(self.after) < self.state.around_lines:
            self.after.append(raw)

    @property
    def window_open(self) -> bool:
        return self.state.target is not None and (self.after is None or len(self.after) < self.state.around_lines)

    # -- a run of complete lines, every one of them JSON: find the few that matter
    def json_block(self, body: bytes, count: int) -> None:
        state = self.state
        last_start = body.rfind(b"\n", 0, len(body) - 1) + 1
        if self.first_at is None and (first := _TIMESTAMP.search(body, 0, 200)) is not None:
            self.first_at = state.epoch(first.group(1))
        starts = {body.rfind(b"\n", 0, match.start()) + 1 for match in _FAST_LEVEL.finditer(body)}
        for needle in _TROUBLE_NEEDLES:
            at = body.find(needle)
            while at >= 0:
                starts.add(body.rfind(b"\n", 0, at) + 1)
                at = body.find(needle, body.find(b"\n", at))
        self.lines += count
        self.entries += count - len(starts)
        for start in sorted(starts):
            raw = body[start:body.find(b"\n", start)]
            self._entry(raw, *_json_fields(raw))
        if last_start not in starts:
            # The block's last line closes any stack trace the next block might continue.
            self.open_example = self.open_event = None
            self.last_plugin = _plugin_id(body[last_start:-1])
            if (last := _TIMESTAMP.search(body, last_start)) is not None:
                self.last_at = self.last_stamp = state.epoch(last.group(1))
        if self.window_open:
            self._window_block(body, self.last_stamp)

    def _window_block(self, body: bytes, last_at: float | None) -> None:
        target = self.state.target
        keep = self.state.around_lines
        if self.after is None and last_at is not None and target is not None and last_at < target:
            self.before.extend(body.rsplit(b"\n", keep + 1)[-keep - 1:-1] if keep else [])
            return
        if self.after is not None:
            need = keep - len(self.after)
            self.after.extend(body.split(b"\n", need)[:need])
            del self.after[keep:]
            return
        for raw in body[:-1].split(b"\n"):
            stamp = _TIMESTAMP.search(raw, 0, 200)
            self._window(raw, self.state.epoch(stamp.group(1)) if stamp else None)
            if not self.window_open:
                return

    def finish(self, complete: bool) -> None:
        state = self.state
        state.members.append(MemberStats(self.path, self.node, self.lines, self.entries, self.errors, self.warnings,
                                         self.continuation, self.invalid, self.truncated, _when(self.first_at),
                                         _when(self.last_at), complete))
        if state.target is not None:
            lines = [mask_url_credentials(_text(raw))[:MAX_EXAMPLE_CHARS] for raw in self.before]
            at_index = len(lines)
            lines += [mask_url_credentials(_text(raw))[:MAX_EXAMPLE_CHARS] for raw in self.after or ()]
            state.around.append(Around(self.node, self.path, tuple(lines), at_index))


def _scan_member(archive: Archive, name: str, node: str, state: _State, unreadable: dict[str, str]) -> None:
    member = _Member(state, name, node)
    complete = True
    try:
        with archive.stream(name) as (fh, whole):
            complete = whole
            try:
                _scan_stream(fh, member)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                complete = False
                unreadable[name] = f"{name} is damaged after line {member.lines} ({exc}); the lines before it " \
                                   "were read."
    except Unreadable as exc:
        unreadable[name] = f"{exc}, so its log insights are missing."
        return
    if not complete:
        unreadable.setdefault(name, f"{name} is cut off after line {member.lines}; the lines before it were read.")
    member.finish(complete)


def _scan_stream(fh: IO[bytes], member: _Member) -> None:
    for body, first_long in _bodies(fh, member):
        if first_long is not None:
            member.line(first_long)
        if not body:
            continue
        count = body.count(b"\n")
        if not body.isascii():
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                member.invalid += sum(1 for raw in body.split(b"\n") if not is_utf8(raw))
        if body[:1] == b"{" and body.count(b"\n{") == count - 1:
            member.json_block(body, count)
        else:
            member.trouble_possible = any(needle in body for needle in _TROUBLE_NEEDLES)
            for raw in body[:-1].split(b"\n"):
                member.line(raw.rstrip(b"\r"))
            member.trouble_possible = True


def _bodies(fh: IO[bytes], member: _Member) -> Iterator[tuple[bytes, bytes | None]]:
    """Runs of complete lines (each ending in a newline), and before a run the one line that was too long, cut.

    With chunks of MAX_LINE_BYTES, only a line carried across chunks can be longer than the limit."""
    carry = b""
    skipping = False  # inside a line already cut: drop bytes up to its end
    while chunk := fh.read(CHUNK_BYTES):
        if skipping:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            chunk, skipping = chunk[end + 1:], False
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > MAX_LINE_BYTES:
                member.truncated += 1
                yield b"", _cut(data)
                carry, skipping = b"", True
            else:
                carry = data
            continue
        first = data.find(b"\n")
        long_line = None
        start = 0
        if first > MAX_LINE_BYTES:
            member.truncated += 1
            long_line, start = _cut(data[:first]), first + 1
        carry = data[cut + 1:]
        yield data[start:cut + 1], long_line
    if carry and not skipping:
        if len(carry) > MAX_LINE_BYTES:
            member.truncated += 1
            carry = _cut(carry)
        yield carry + b"\n", None


def _cut(raw: bytes) -> bytes:
    """A line cut at the limit, without splitting a UTF-8 character."""
    piece = raw[:MAX_LINE_BYTES]
    return piece.decode("utf-8", "ignore").encode() if not piece.isascii() else piece


# ------------------------------------------------------------------------------------------------ fields

def _json_fields(raw: bytes) -> tuple[str, bytes | None, bytes | None]:
    level = _ANY_LEVEL.search(raw)
    stamp = _TIMESTAMP.search(raw)
    msg = _MSG.search(raw)
    return (level.group(1).lower().decode() if level else "info", stamp.group(1) if stamp else None,
            msg.group(1) if msg else None)


def _plugin_id(raw: bytes) -> str | None:
    if b"plugin_id" not in raw:
        return None
    match = _PLUGIN_ID.search(raw)
    if match is None:
        return None
    value = next(g for g in match.groups() if g is not None).decode("utf-8", "replace")
    return value or None


def _field_id(raw: bytes) -> str | None:
    match = _ID_FIELD.search(raw)
    return next(g for g in match.groups() if g is not None).decode("utf-8", "replace") if match else None


def _decode_msg(msg: bytes) -> str:
    if b"\\" in msg:
        try:
            return valid_unicode(json.loads(b'"' + msg + b'"'))
        except ValueError:
            pass
    return msg.decode("utf-8", "replace")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _example(raw: bytes) -> str:
    return mask_url_credentials(_text(raw))[:MAX_EXAMPLE_CHARS]


def _parse_time(stamp: bytes) -> float | None:
    text = stamp.decode("ascii", "replace").strip().replace("Z", "+00:00")
    if text[10:11] == "T":  # RFC 3339, as other log shippers write it
        text = f"{text[:10]} {text[11:]}"
    for form in _TIME_FORMATS:
        try:
            return datetime.strptime(text, form).timestamp()
        except ValueError:
            continue
    return None


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def fold_message(msg: str) -> str:
    """The template of a log message: what varies between occurrences becomes a placeholder."""
    text = msg.strip()[:MAX_TEMPLATE_CHARS * 2]
    for pattern, placeholder in FOLDING_RULES:
        if placeholder == "<hex>":
            text = pattern.sub(lambda m: "<hex>" if len(m.group(0).removeprefix("0x")) >= _HEX_MIN
                               else m.group(0), text)
        else:
            text = pattern.sub(placeholder, text)
    return text[:MAX_TEMPLATE_CHARS]
