"""The leak gate: proves that no known secret value survives in a finished packet.

Pattern rules miss things (an encoding nobody thought of, a plugin setting nobody declared secret), but the
dashboard knows the actual secret values. The gate searches every member name and every byte of every
member for each value in every spelling it takes on the way into a file: as is, URL-encoded, JSON-escaped
(once, and twice for JSON inside a JSON string), hex, its sha256 fingerprint, and base64 at each of the three
alignments it can have inside a larger base64 blob. A hit names the member, the line and offset, the spelling and
the setting the secret came from, never the value.

packet.value_mask masks the same spellings (secret_forms) before the gate runs, so the gate blocks only on what
masking could not reach: the inside of a gzip member or nested zip, a term masking was not given.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import types
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote, quote_plus

import ahocorasick_rs

MIN_SECRET_LENGTH = 6  # shorter values turn up in any large file by chance
_CHUNK = 1 << 20
_MAX_NESTING = 3
# Characters dropped from each end of a base64 fragment: those that also encode the unknown neighbours.
_B64_HEAD = {0: 0, 1: 2, 2: 3}


@dataclass(frozen=True)
class Leak:
    """A known secret found in the packet: `label` names the setting it came from, never its value."""

    member: str
    offset: int
    form: str
    label: str
    in_name: bool = False
    line: int | None = None  # 1-based line of the member where the hit starts

    def where(self) -> str:
        """Where the hit is, for a person: the file name, or the file, line and byte offset."""
        if self.in_name:
            return f"{self.member} (in the file name)"
        if self.line is None:
            return f"{self.member} byte {self.offset}"
        return f"{self.member} line {self.line} (byte {self.offset})"


def secret_forms(value: str, *, min_length: int = MIN_SECRET_LENGTH) -> dict[str, bytes]:
    """The spellings of `value` worth searching for, by name; duplicates and forms under `min_length` bytes left
    out. packet.value_mask masks exactly these spellings, so what is masked and what is checked cannot drift."""
    raw = value.encode("utf-8", "surrogateescape")
    json_once = json.dumps(value)[1:-1]
    candidates: list[tuple[str, bytes]] = [
        ("plain", raw),
        ("url", quote(value, safe="").encode()),
        ("url-lower", re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe="")).encode()),
        ("url-path", quote(value).encode()),
        ("url-plus", quote_plus(value, safe="").encode()),
        ("json", json.dumps(value, ensure_ascii=False)[1:-1].encode()),
        ("json-ascii", json.dumps(value)[1:-1].encode()),
        ("json-html", _go_json(value).encode()),
        # JSON inside a JSON string (a logged request body): a quote or backslash is escaped twice.
        ("json-in-json", json.dumps(json_once)[1:-1].encode()),
        ("hex", raw.hex().encode()),
        # The hashed form the dashboard itself derives from a token: the first 16 hex digits of its sha256 (the
        # fingerprint the pages key their caches by); the full digest starts with it, so it is found too.
        ("sha256-16", hashlib.sha256(raw).hexdigest()[:16].encode()),
    ]
    for alphabet, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for align in range(3):
            candidates.append((f"{alphabet}@{align}", _b64_fragment(raw, align, encode)))
    forms: dict[str, bytes] = {}
    seen: set[bytes] = set()
    for name, form in candidates:
        if len(form) >= min_length and form not in seen:
            seen.add(form)
            forms[name] = form
    return forms


def _go_json(value: str) -> str:
    """Go's encoding/json escapes <, > and & (and U+2028/9) too; Mattermost's logs are written by Go."""
    escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                       ("\u2029", "\\u2029")):
        escaped = escaped.replace(char, code)
    return escaped


def _b64_fragment(raw: bytes, align: int, encode: Callable[[bytes], bytes]) -> bytes:
    """The part of a larger base64 blob that is fixed by `raw` alone when `raw` starts at offset ≡ align
    (mod 3): the characters that also carry bits of the bytes around it are trimmed off."""
    encoded = encode(b"\0" * align + raw).rstrip(b"=")
    tail = 1 if (align + len(raw)) % 3 else 0
    return encoded[_B64_HEAD[align]:len(encoded) - tail]


class LeakGate:
    """Searches packet bytes for known secrets; build it once per packet from label -> secret value."""

    def __init__(self, secrets: Mapping[str, str], *, max_leaks_per_member: int = 100):
        self.notes: list[str] = []
        self._max = max_leaks_per_member
        owners: dict[bytes, list[tuple[str, str]]] = {}
        for label, value in secrets.items():
            if len(value) < MIN_SECRET_LENGTH:
                self.notes.append(f"{label}: shorter than {MIN_SECRET_LENGTH} characters, so it is not searched "
                                  "for (it would match by chance)")
                continue
            if set(value) <= {"*"}:
                self.notes.append(f"{label}: already a mask, not a secret")
                continue
            for form, pattern in secret_forms(value).items():
                owners.setdefault(pattern, []).append((label, form))
        self._patterns = list(owners)
        self._owners = [owners[p] for p in self._patterns]
        self._matcher = ahocorasick_rs.BytesAhoCorasick(self._patterns) if self._patterns else None
        self._overlap = max((len(p) for p in self._patterns), default=1) - 1

    def scan(self, member: str, chunks: Iterable[bytes]) -> list[Leak]:
        """Every known secret in a stream of bytes; a secret split across two chunks is still found."""
        leaks: list[Leak] = []
        if self._matcher is None:
            return leaks
        tail = b""
        base = 0  # offset in the stream of the first byte of `tail`
        lines = 0  # newlines before `tail`
        for chunk in chunks:
            if not chunk:
                continue
            buffer = tail + bytes(chunk)
            for index, start, end in self._matcher.find_matches_as_indexes(buffer, overlapping=True):
                if end > len(tail):  # else it was found with the previous chunk already
                    line = lines + buffer.count(b"\n", 0, start) + 1
                    leaks += [Leak(member, base + start, form, label, line=line) for label, form in self._owners[index]]
            if len(leaks) >= self._max:
                return leaks[:self._max]  # enough to block the packet and show where
            tail = buffer[max(0, len(buffer) - self._overlap):] if self._overlap else b""
            lines += buffer.count(b"\n", 0, len(buffer) - len(tail))
            base += len(buffer) - len(tail)
        return leaks

    def stream(self, member: str) -> StreamScan:
        """An incremental scan of one member, fed block by block as it is written (see StreamScan)."""
        return StreamScan(self, member)

    def scan_name(self, member: str) -> list[Leak]:
        """Known secrets in a member's name (a file named after a token leaks it too)."""
        return [Leak(leak.member, leak.offset, leak.form, leak.label, in_name=True)
                for leak in self.scan(member, [member.encode("utf-8", "surrogateescape")])]

    def scan_zip(self, path: Path, scanned: Mapping[str, list[Leak]] | None = None) -> list[Leak]:
        """Every member name and every byte of every member of the zip at `path`, streamed; gzip members
        and nested zips are also searched decompressed, where their contents are readable. `scanned` holds
        the result of a StreamScan of members whose bytes were searched as they were written: their leaks
        are taken from there instead of reading those bytes back (names and nested archives still are)."""
        with zipfile.ZipFile(path) as archive:
            return self._scan_archive(archive, "", 0, scanned or {})

    def _scan_archive(self, archive: zipfile.ZipFile, prefix: str, depth: int,
                      scanned: Mapping[str, list[Leak]] = types.MappingProxyType({})) -> list[Leak]:
        leaks: list[Leak] = []
        for info in archive.infolist():
            name = prefix + info.filename
            leaks += self.scan_name(name)
            if info.is_dir():
                continue
            if name in scanned:
                leaks += scanned[name]
            else:
                with archive.open(info) as member:
                    leaks += self.scan(name, _read(member))
            lower = info.filename.lower()
            if lower.endswith(".gz"):
                with archive.open(info) as member, gzip.GzipFile(fileobj=member) as unzipped:
                    try:
                        leaks += self.scan(f"{name}!gunzip", _read(unzipped))
                    except (OSError, EOFError, zlib.error) as exc:
                        raise ValueError(f"{name}: not a readable gzip stream ({exc}), so it cannot be checked "
                                         "for secrets") from None
            elif lower.endswith(".zip"):
                if depth >= _MAX_NESTING:
                    raise ValueError(f"{name}: zips nested more than {_MAX_NESTING} deep cannot be checked for "
                                     "secrets")
                with archive.open(info) as member:
                    try:
                        nested = zipfile.ZipFile(member)
                    except zipfile.BadZipFile:
                        raise ValueError(f"{name}: not a readable zip, so it cannot be checked for secrets") from None
                    with nested:
                        leaks += self._scan_archive(nested, f"{name}!", depth + 1)
        return leaks


def _read(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


class StreamScan:
    """The gate's search of one member fed block by block, as the builder writes it.

    A block fed as `verified` is byte for byte what the value masker searched (packet.value_mask: the same
    spellings, from the same function, down to shorter lengths) and found nothing in, with the block before it
    verified too: no spelling can start in it, so it is not searched again, only kept as context for the next
    block. Every other block is searched together with the end of the block before it, so a secret that runs
    across a boundary is found whichever side changed."""

    def __init__(self, gate: LeakGate, member: str):
        self._gate = gate
        self._member = member
        self._tail = b""
        self._base = 0  # offset in the member of the first byte of `_tail`
        self._lines = 0  # newlines before `_tail`
        self._previous_verified = False
        self.leaks: list[Leak] = []
        self.searched = 0  # bytes searched, for tests and benchmarks

    def feed(self, data: bytes, *, verified: bool = False) -> None:
        gate = self._gate
        if not data or gate._matcher is None:
            return
        buffer = self._tail + data if self._tail else data
        if not (verified and self._previous_verified) and len(self.leaks) < gate._max:
            self.searched += len(data)
            for index, start, end in gate._matcher.find_matches_as_indexes(buffer, overlapping=True):
                if end > len(self._tail):  # else it was found with the block before
                    line = self._lines + buffer.count(b"\n", 0, start) + 1
                    self.leaks += [Leak(self._member, self._base + start, form, label, line=line)
                                   for label, form in gate._owners[index]]
            del self.leaks[gate._max:]
        self._previous_verified = verified
        keep = min(gate._overlap, len(buffer))
        self._lines += buffer.count(b"\n", 0, len(buffer) - keep)
        self._base += len(buffer) - keep
        self._tail = buffer[len(buffer) - keep:] if keep else b""
