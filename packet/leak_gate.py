"""The leak gate: proves that no known secret value survives in a finished packet.

Pattern rules miss things (an encoding nobody thought of, a plugin setting nobody declared secret), but the
dashboard knows the actual secret values. The gate searches every member name and every byte of every
member for each value in every spelling it takes on the way into a file: as is, URL-encoded, JSON-escaped,
hex, and base64 at each of the three alignments it can have inside a larger base64 blob. A hit names the
member, the offset, the spelling and the setting the secret came from, never the value.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
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


def secret_forms(value: str) -> dict[str, bytes]:
    """The spellings of `value` worth searching for, by name; duplicates and forms under 6 bytes left out."""
    raw = value.encode()
    candidates: list[tuple[str, bytes]] = [
        ("plain", raw),
        ("url", quote(value, safe="").encode()),
        ("url-lower", re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe="")).encode()),
        ("url-path", quote(value).encode()),
        ("url-plus", quote_plus(value, safe="").encode()),
        ("json", json.dumps(value, ensure_ascii=False)[1:-1].encode()),
        ("json-ascii", json.dumps(value)[1:-1].encode()),
        ("json-html", _go_json(value).encode()),
        ("hex", raw.hex().encode()),
    ]
    for alphabet, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for align in range(3):
            candidates.append((f"{alphabet}@{align}", _b64_fragment(raw, align, encode)))
    forms: dict[str, bytes] = {}
    seen: set[bytes] = set()
    for name, form in candidates:
        if len(form) >= MIN_SECRET_LENGTH and form not in seen:
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
        for chunk in chunks:
            if not chunk:
                continue
            buffer = tail + bytes(chunk)
            for index, start, end in self._matcher.find_matches_as_indexes(buffer, overlapping=True):
                if end > len(tail):  # else it was found with the previous chunk already
                    leaks += [Leak(member, base + start, form, label) for label, form in self._owners[index]]
            if len(leaks) >= self._max:
                return leaks[:self._max]  # enough to block the packet and show where
            tail = buffer[max(0, len(buffer) - self._overlap):] if self._overlap else b""
            base += len(buffer) - len(tail)
        return leaks

    def scan_name(self, member: str) -> list[Leak]:
        """Known secrets in a member's name (a file named after a token leaks it too)."""
        return [Leak(leak.member, leak.offset, leak.form, leak.label, in_name=True)
                for leak in self.scan(member, [member.encode("utf-8", "surrogateescape")])]

    def scan_zip(self, path: Path) -> list[Leak]:
        """Every member name and every byte of every member of the zip at `path`, streamed; gzip members
        and nested zips are also searched decompressed, where their contents are readable."""
        with zipfile.ZipFile(path) as archive:
            return self._scan_archive(archive, "", 0)

    def _scan_archive(self, archive: zipfile.ZipFile, prefix: str, depth: int) -> list[Leak]:
        leaks: list[Leak] = []
        for info in archive.infolist():
            name = prefix + info.filename
            leaks += self.scan_name(name)
            if info.is_dir():
                continue
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
