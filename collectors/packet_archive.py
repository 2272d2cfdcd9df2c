"""The zip layer of a Mattermost support packet: members read safely, text decoded, logs scanned as streams.

A packet is evidence from a sick system, so bad content never raises here: a damaged member becomes an
`Unreadable` sentence for the caller, and a zip cut short is recovered from its local headers. Only bytes that
are not a zip at all raise PacketError.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml

from collectors import support_packet_models as models

MAX_MEMBER_BYTES = 32 * 1024 * 1024  # YAML, JSON and text members; logs are streamed instead
LOG_EXCERPT_LINES = 10
MAX_EXCERPT_LINE = 2000
MAX_LOG_LINE_READ = 64 * 1024
ZIP_KEY = "(zip)"  # the unreadable key for the archive itself

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"
_ENCRYPTED, _DATA_DESCRIPTOR, _UTF8_NAME = 0x1, 0x8, 0x800
_JSON_LEVEL = re.compile(rb'"level"\s*:\s*"([A-Za-z]+)"')
_TEXT_LEVEL = re.compile(rb"^\s*\[?(debug|info|warn|warning|error|fatal|critical|panic|dpanic)\b|\blevel=(\w+)",
                         re.IGNORECASE)
_ERROR_LEVELS = {b"error", b"fatal", b"critical", b"panic", b"dpanic"}
_WARN_LEVELS = {b"warn", b"warning"}
# Credentials inside URLs (ElasticsearchSettings.ConnectionURL, logging targets): Mattermost leaves them in.
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/]+@")
_MASKED_CREDENTIALS = r"\1****:****@"

class PacketError(Exception):
    """The bytes are not a zip file, so there is no packet to read."""


# ---------------------------------------------------------------------------------------------- the zip

class Unreadable(Exception):
    """One member could not be read; the message is the sentence for PacketFacts.unreadable."""


class Archive:
    """The members of a zip. An intact zip is read through its central directory; a zip cut short (an
    interrupted download) has lost that directory, so its members are recovered from their local headers."""

    def __init__(self, zf: zipfile.ZipFile | None, recovered: dict[str, tuple[bytes, bool]] | None = None):
        self._zf = zf
        self._recovered = recovered or {}
        if zf is not None:
            self.names = [i.filename for i in zf.infolist() if not i.is_dir()]
        else:
            self.names = [n for n in self._recovered if not n.endswith("/")]

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()

    def read(self, name: str) -> bytes:
        if self._zf is None:
            data, complete = self._recovered[name]
            if not complete:
                raise Unreadable(f"{name} is cut off: the zip ends inside it")
            if len(data) > MAX_MEMBER_BYTES:
                raise Unreadable(f"{name} is larger than {MAX_MEMBER_BYTES // 2**20} MB, so it was not read")
            return data
        info = self._zf.getinfo(name)
        if info.flag_bits & _ENCRYPTED:
            raise Unreadable(f"{name} is encrypted")
        if info.file_size > MAX_MEMBER_BYTES:
            raise Unreadable(f"{name} is larger than {MAX_MEMBER_BYTES // 2**20} MB, so it was not read")
        try:
            with self._zf.open(info) as fh:
                data = fh.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise Unreadable(f"{name} is damaged in the zip ({exc})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise Unreadable(f"{name} is larger than {MAX_MEMBER_BYTES // 2**20} MB, so it was not read")
        return data

    @contextlib.contextmanager
    def stream(self, name: str) -> Iterator[tuple[IO[bytes], bool]]:
        """A member as a byte stream, and whether it is whole."""
        if self._zf is None:
            data, complete = self._recovered[name]
            yield io.BytesIO(data), complete
            return
        info = self._zf.getinfo(name)
        if info.flag_bits & _ENCRYPTED:
            raise Unreadable(f"{name} is encrypted")
        try:
            fh = self._zf.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise Unreadable(f"{name} is damaged in the zip ({exc})") from None
        with fh:
            yield fh, True

    def modified(self, name: str) -> datetime | None:
        if self._zf is None or name not in self.names:
            return None
        stamp = self._zf.getinfo(name).date_time
        if stamp[0] <= 1980:  # writers that set no time leave the DOS epoch
            return None
        # Zip times carry no zone; Mattermost servers run in UTC in the usual images.
        return datetime(*stamp, tzinfo=UTC)


def open_archive(source: Path | bytes, label: str) -> tuple[Archive, str | None]:
    """The archive, and a sentence when it had to be recovered from a cut-off zip."""
    try:
        if isinstance(source, bytes):
            head = source[:4]
        else:
            with open(source, "rb") as fh:
                head = fh.read(4)
    except OSError as exc:
        raise PacketError(f"Could not open {source}: {exc.strerror or exc}.") from exc
    if head not in (_LOCAL_SIGNATURE, _EMPTY_ZIP_SIGNATURE):
        raise PacketError(_not_a_zip(label, head))
    try:
        return Archive(zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)), None
    except (zipfile.BadZipFile, ValueError, struct.error, EOFError, OSError):
        pass  # no usable directory at the end: recover what the local headers still describe
    recovered = _recover_members(source if isinstance(source, bytes) else source.read_bytes())
    if not recovered:
        raise PacketError(f"{label} starts like a zip but no member could be read from it: the file is damaged.")
    whole = sum(1 for _, complete in recovered.values() if complete)
    return Archive(None, recovered), (
        f"The zip is cut off (its directory at the end is missing, as after an interrupted download): "
        f"{whole} of the {len(recovered)} members found were read whole, and whatever came after is lost; "
        "download the packet again.")


def _not_a_zip(label: str, head: bytes) -> str:
    if not head:
        return f"{label} is empty, not a zip file."
    if head.lstrip()[:1] in (b"<", b"{", b"["):
        return (f"{label} is not a zip file but text (it starts with {head!r}): an error page or a proxy answered "
                "instead of Mattermost.")
    return f"{label} is not a zip file (it starts with {head!r})."


def _recover_members(data: bytes) -> dict[str, tuple[bytes, bool]]:
    """Walk the local file headers from the start: name -> (content, whether it was read whole)."""
    members: dict[str, tuple[bytes, bool]] = {}
    pos = 0
    while data.startswith(_LOCAL_SIGNATURE, pos) and pos + _LOCAL_HEADER.size <= len(data):
        _, _, flags, method, _, _, _, size, _, name_len, extra_len = _LOCAL_HEADER.unpack_from(data, pos)
        name_at = pos + _LOCAL_HEADER.size
        name = data[name_at:name_at + name_len].decode("utf-8" if flags & _UTF8_NAME else "cp437", "replace")
        start = name_at + name_len + extra_len
        # Streaming writers (Go's archive/zip among them) put the sizes after the data, not in the header.
        sized = not flags & _DATA_DESCRIPTOR and size != 0xFFFFFFFF
        if start > len(data) or flags & _ENCRYPTED or method not in (0, 8) or (method == 0 and not sized):
            members[name] = (b"", False)
            if not sized or start > len(data):
                break
            pos = start + size
            continue
        body = data[start:start + size] if sized else data[start:]
        if method == 0:
            members[name] = (body, len(body) == size)
            pos = start + size
            continue
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            content = inflater.decompress(body, MAX_MEMBER_BYTES * 8)
        except zlib.error:
            members[name] = (b"", False)
            break
        members[name] = (content, inflater.eof)
        if not inflater.eof:
            break
        used = len(body) - len(inflater.unused_data)
        if sized:
            pos = start + size
        else:
            found = data.find(_LOCAL_SIGNATURE, start + used, start + used + 28)
            if found < 0:
                break
            pos = found
    return members


# ------------------------------------------------------------------------------------------- member text

def decode(name: str, data: bytes, unreadable: dict[str, str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        unreadable.setdefault(name, f"{name} has bytes that are not UTF-8 (the first at byte {exc.start}); "
                                    "they were read as \N{REPLACEMENT CHARACTER}, so some values may be garbled.")
        return data.decode("utf-8-sig", "replace")


def load_yaml(archive: Archive, name: str, unreadable: dict[str, str]) -> dict[str, Any] | None:
    raw = read_member(archive, name, unreadable)
    if raw is None:
        return None
    try:
        # The base loader keeps every scalar a string: "15.10" stays a version instead of becoming 15.1.
        value = yaml.load(decode(name, raw, unreadable), Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        unreadable[name] = f"{name} is not valid YAML ({problem}{where}), so its facts are missing."
        return None
    if not isinstance(value, dict):
        unreadable[name] = f"{name} does not hold a YAML mapping, so its facts are missing."
        return None
    return value


def load_json(archive: Archive, name: str, unreadable: dict[str, str]) -> dict[str, Any] | None:
    raw = read_member(archive, name, unreadable)
    if raw is None:
        return None
    try:
        value = json.loads(decode(name, raw, unreadable))
    except ValueError as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        unreadable[name] = f"{name} is not valid JSON ({reason}{where}), so its facts are missing."
        return None
    if not isinstance(value, dict):
        unreadable[name] = f"{name} does not hold a JSON object, so its facts are missing."
        return None
    return value


def read_member(archive: Archive, name: str, unreadable: dict[str, str]) -> bytes | None:
    try:
        return archive.read(name)
    except Unreadable as exc:
        unreadable[name] = f"{exc}, so its facts are missing."
        return None


def mask_url_credentials(value: Any) -> Any:
    """Replace user:password@ in every URL inside `value` (strings, lists and mappings)."""
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(_MASKED_CREDENTIALS, value)
    if isinstance(value, dict):
        return {k: mask_url_credentials(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_url_credentials(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------- logs

def scan_log(archive: Archive, name: str, unreadable: dict[str, str]) -> models.LogExcerpt | None:
    """Counts and the first and last lines of a log, read as a stream: logs are the one member that can be
    hundreds of megabytes."""
    head: list[str] = []
    tail: deque[str] = deque(maxlen=LOG_EXCERPT_LINES)
    lines = errors = warnings = invalid = 0
    try:
        with archive.stream(name) as (fh, complete):
            continuation = False
            try:
                while raw := fh.readline(MAX_LOG_LINE_READ):
                    # A line longer than the read limit arrives in pieces; only its first piece counts.
                    first_piece, continuation = not continuation, not raw.endswith(b"\n")
                    if not first_piece or not raw.strip():
                        continue
                    lines += 1
                    level = _log_level(raw)
                    errors += level in _ERROR_LEVELS
                    warnings += level in _WARN_LEVELS
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        invalid += 1
                        line = raw.decode("utf-8", "replace")
                    line = mask_url_credentials(line.rstrip("\r\n"))[:MAX_EXCERPT_LINE]
                    if len(head) < LOG_EXCERPT_LINES:
                        head.append(line)
                    else:
                        tail.append(line)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                complete = False
                unreadable[name] = f"{name} is damaged after line {lines} ({exc}); the lines before it were read."
    except Unreadable as exc:
        unreadable[name] = f"{exc}, so it was not read."
        return None
    if not complete:
        unreadable.setdefault(name, f"{name} is cut off after line {lines}; the lines before it were read.")
    return models.LogExcerpt(path=name, line_count=lines, error_lines=errors, warn_lines=warnings,
                             first_lines=tuple(head), last_lines=tuple(tail), invalid_utf8_lines=invalid,
                             complete=complete)


def _log_level(line: bytes) -> bytes | None:
    """Mattermost's JSON lines carry "level"; plain-text targets start with the level or write level=."""
    match = _JSON_LEVEL.search(line) if line.lstrip().startswith(b"{") else _TEXT_LEVEL.search(line)
    if match is None:
        return None
    return next(group for group in match.groups() if group).lower()


def read_warnings(archive: Archive, unreadable: dict[str, str]) -> tuple[str, ...]:
    """warning.txt is go-multierror text: a count line, then one "* problem" line per failed generator."""
    raw = read_member(archive, "warning.txt", unreadable) if "warning.txt" in archive else None
    if raw is None:
        return ()
    lines = [ln.strip() for ln in decode("warning.txt", raw, unreadable).splitlines() if ln.strip()]
    bullets = [ln[2:].strip() for ln in lines if ln.startswith("* ")]
    return tuple(bullets or lines)
