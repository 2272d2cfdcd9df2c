"""Masking by value: every secret the dashboard knows is replaced wherever it appears, before the leak gate runs.

The pattern rules of packet.redact catch secrets by their surroundings (password=..., Bearer ..., a URL's
userinfo); a password pasted into a free-form log line has none. But the dashboard knows the values themselves
(packet.secrets), so every spelling the leak gate checks (packet.leak_gate.secret_forms: plain, URL-encoded,
JSON-escaped, base64 at each alignment...) is searched with one Aho-Corasick automaton, one pass per block, and
replaced. The spellings come from the same function the gate uses, so masking and checking cannot drift apart.

Values shorter than MIN_MASK_LENGTH are not masked by value (they would hit at random); the packet's
redaction report lists them by label. The gate still checks what it can and stays the last defence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

import ahocorasick_rs

from packet.leak_gate import secret_forms

RULE = "known-secret"
REPLACEMENT = b"[REDACTED:known-secret]"
MIN_MASK_LENGTH = 4
_CONTEXT = 40


class ValueMasker:
    """Masks known secret values in bytes; build it once per packet from label -> secret value."""

    def __init__(self, secrets: Mapping[str, str]):
        self.too_short: list[str] = []  # labels whose value is too short to mask by value
        self.counts: Counter[str] = Counter()  # label -> occurrences masked, whole packet
        owners: dict[bytes, str] = {}
        for label, value in secrets.items():
            if not value or set(value) <= {"*"}:
                continue  # nothing, or already a mask
            if len(value) < MIN_MASK_LENGTH:
                self.too_short.append(label)
                continue
            for pattern in secret_forms(value, min_length=MIN_MASK_LENGTH).values():
                owners.setdefault(pattern, label)
        patterns = sorted(owners)
        self._labels = [owners[p] for p in patterns]
        self._matcher = (ahocorasick_rs.BytesAhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
                         if patterns else None)
        self.overlap = max((len(p) for p in patterns), default=1) - 1

    @property
    def active(self) -> bool:
        return self._matcher is not None

    def mask(self, data: bytes, counts: Counter[str] | None = None, *, quiet: bool = False) -> bytes:
        """`data` with every known secret (in every spelling) replaced; `counts` gets label -> hits. `quiet`
        leaves the packet's counts alone (text that is masked again, for the review screen)."""
        if self._matcher is None or not data:
            return data
        return self._replace(data, self._matcher.find_matches_as_indexes(data), len(data), counts, quiet=quiet)[0]

    def mask_text(self, text: str) -> str:
        """Text for the review screen with known secrets masked; not counted (it is not packet content)."""
        raw = text.encode("utf-8", "surrogateescape")
        masked = self.mask(raw, quiet=True)
        return text if masked == raw else masked.decode("utf-8", "surrogateescape")

    def _replace(self, data: bytes, matches: list[tuple[int, int, int]], cut: int, counts: Counter[str] | None,
                 hits: _Hits | None = None, *, quiet: bool = False) -> tuple[bytes, int]:
        """Replace the matches that start before `cut`; returns (masked data[:cut'], cut') where cut' >= cut
        is moved past a match that runs over `cut`."""
        pieces: list[bytes] = []
        pos = 0
        for index, start, end in matches:
            if start >= cut:
                break
            label = self._labels[index]
            if hits is not None:
                hits.add(label, data, pos, start, end, self)
            pieces += (data[pos:start], REPLACEMENT)
            pos = end
            if not quiet:
                self.counts[label] += 1
            if counts is not None:
                counts[label] += 1
        cut = max(cut, pos)
        if hits is not None:
            hits.advance(data, pos, cut)
        if not pieces:
            return data[:cut], cut
        pieces.append(data[pos:cut])
        return b"".join(pieces), cut

    def stream(self, chunks: Iterable[bytes], counts: Counter[str] | None = None,
               hits: list[tuple[str, int, str]] | None = None, max_hits: int = 100) -> Iterator[bytes]:
        """Mask a stream of chunks: a secret split across two chunks is masked too, because the last
        `overlap` bytes of each chunk wait for the next one. `hits` gets (label, line, context) for the
        first `max_hits` hits, the context masked."""
        for piece, _changed in self.stream_flagged(chunks, counts, hits, max_hits):
            yield piece

    def stream_flagged(self, chunks: Iterable[bytes], counts: Counter[str] | None = None,
                       hits: list[tuple[str, int, str]] | None = None, max_hits: int = 100
                       ) -> Iterator[tuple[bytes, bool]]:
        """stream(), each piece with whether it is verified: the input unchanged, searched for every spelling
        and nothing found (the leak gate need not search it again). With nothing to search for, no piece is
        verified: the gate may know spellings this masker was not given."""
        if self._matcher is None:
            for chunk in chunks:
                yield chunk, False
            return
        where = _Hits(hits, max_hits) if hits is not None else None
        tail = b""
        for chunk in chunks:
            if not chunk:
                continue
            buffer = tail + chunk if tail else bytes(chunk)
            cut = len(buffer) - self.overlap
            if cut <= 0:
                tail = buffer
                continue
            out, cut, replaced = self._replace_flagged(buffer, cut, counts, where)
            tail = buffer[cut:]
            if out:
                yield out, not replaced
        if tail:
            out, _cut, replaced = self._replace_flagged(tail, len(tail), counts, where)
            yield out, not replaced

    def _replace_flagged(self, buffer: bytes, cut: int, counts: Counter[str] | None,
                         where: _Hits | None) -> tuple[bytes, int, bool]:
        matches = self._matcher.find_matches_as_indexes(buffer)
        out, cut = self._replace(buffer, matches, cut, counts, where)
        return out, cut, bool(matches) and matches[0][1] < cut

    def mask_name(self, name: str, counts: Counter[str] | None = None) -> str:
        """A file name with known secrets masked (a file named after a token leaks it too)."""
        raw = name.encode("utf-8", "surrogateescape")
        masked = self.mask(raw, counts)
        return name if masked == raw else masked.decode("utf-8", "surrogateescape")


class _Hits:
    """Line numbers (and masked surroundings) of the first hits of a stream, for the review screen."""

    def __init__(self, out: list[tuple[str, int, str]], limit: int):
        self.out = out
        self.limit = limit
        self.line = 1  # line number at `data[pos]` of the buffer being replaced

    def add(self, label: str, data: bytes, pos: int, start: int, end: int, masker: ValueMasker) -> None:
        self.line += data.count(b"\n", pos, start)
        if len(self.out) < self.limit:
            context = (masker.mask(data[max(0, start - _CONTEXT):start], quiet=True) + REPLACEMENT
                       + masker.mask(data[end:end + _CONTEXT], quiet=True))
            self.out.append((label, self.line, context.decode("utf-8", "backslashreplace")))
        self.line += data.count(b"\n", start, end)

    def advance(self, data: bytes, pos: int, cut: int) -> None:
        self.line += data.count(b"\n", pos, cut)
