"""The zip layer of a Mattermost support packet: members read safely, text decoded, logs scanned as streams.

A packet is evidence from a sick system, so bad content never raises here: a damaged member becomes an
`Unreadable` sentence for the caller, and a zip cut short is recovered from its local headers. Only bytes that
are not a zip at all raise PacketError.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import struct
import zipfile
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from collectors import support_packet_models as models

MAX_MEMBER_BYTES = 32 * 1024 * 1024  # YAML, JSON and text members; logs are streamed instead
MAX_MEMBERS = 20_000  # zip entries read from the directory; Python's zipfile holds ~700 bytes for each
MAX_COMPRESSION_RATIO = 200  # expanded : compressed, for members above RATIO_FLOOR_BYTES (deflate gives ~1000:1)
RATIO_FLOOR_BYTES = 4 * 1024 * 1024
# Expanded log bytes read from one packet, all logs together: the scan runs at 170-260 MB/s on 2 cores, so this
# keeps the worst packet near 10 s while a 3-node packet of 300 MB logs is read whole.
MAX_STREAMED_BYTES = 2 * 1024**3
LOG_CHUNK_BYTES = 4 * 1024 * 1024
LOG_EXCERPT_LINES = 10
MAX_EXCERPT_LINE = 2000
MAX_LOG_LINE_READ = 64 * 1024  # of a longer line only this much is judged and kept
ZIP_KEY = "(zip)"  # the unreadable key for the archive itself

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"
_ENCRYPTED, _DATA_DESCRIPTOR, _UTF8_NAME = 0x1, 0x8, 0x800
_JSON_LEVEL = re.compile(rb'"level"\s*:\s*"([A-Za-z]+)"')
_TEXT_LEVEL = re.compile(rb"^\s*\[?(debug|info|warn|warning|error|fatal|critical|panic|dpanic)\b|\blevel=(\w+)",
                         re.IGNORECASE)
# The two above applied to every line of a chunk at once: each match starts at the newline before its line, so
# [^\S\n] stands for \s and no match crosses a line end.
# Its first branch is the shape Mattermost writes (timestamp first, then level), found without the lazy scan.
_LINE_LEVEL = re.compile(
    rb'\n(?:\{"timestamp":"[^"\n]*","level":"([A-Za-z]+)"'
    rb'|[^\S\n]*\{[^\n]*?"level"[^\S\n]*:[^\S\n]*"([A-Za-z]+)"'
    rb"|(?i:(?![^\S\n]*\{)(?:[^\S\n]*\[?(debug|info|warn|warning|error|fatal|critical|panic|dpanic)\b"
    rb"|[^\n]*?\blevel=(\w+))))")
_BLANK_LINE = re.compile(rb"\n[ \t\r\x0b\x0c]*(?=\n)")
_NONBLANK_LINE = re.compile(rb"\n([ \t\r\x0b\x0c]*[^ \t\r\n\x0b\x0c][^\n]*)")
_NONBLANK_REVERSED = re.compile(rb"\n([^\n]*[^ \t\r\n\x0b\x0c][^\n]*)")
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


class ExpansionCapped(OSError):
    """The logs of one packet expanded past MAX_STREAMED_BYTES: reading stops like at a damaged spot."""


class _CappedZipFile(zipfile.ZipFile):
    """A ZipFile that reads at most MAX_MEMBERS entries of the central directory: the standard one reads all of
    them, and a directory of a million tiny members would cost hundreds of megabytes before anything is read."""

    entries_total = 0

    def _RealGetContents(self) -> None:
        fp = self.fp
        try:
            endrec = zipfile._EndRecData(fp)  # type: ignore[attr-defined]
        except OSError:
            raise zipfile.BadZipFile("File is not a zip file") from None
        if not endrec:
            raise zipfile.BadZipFile("File is not a zip file")
        self.entries_total = endrec[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
        if self.entries_total <= MAX_MEMBERS:
            super()._RealGetContents()  # type: ignore[misc]
            return
        size_cd, offset_cd = endrec[zipfile._ECD_SIZE], endrec[zipfile._ECD_OFFSET]  # type: ignore[attr-defined]
        self._comment = endrec[zipfile._ECD_COMMENT]  # type: ignore[attr-defined]
        concat = endrec[zipfile._ECD_LOCATION] - size_cd - offset_cd  # type: ignore[attr-defined]
        if endrec[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:  # type: ignore[attr-defined]
            concat -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator  # type: ignore[attr-defined]
        self.start_dir = offset_cd + concat
        if self.start_dir < 0:
            raise zipfile.BadZipFile("Bad offset for central directory")
        fp.seek(self.start_dir, 0)
        for _ in range(MAX_MEMBERS):
            header = fp.read(_CENTRAL.size)
            if len(header) != _CENTRAL.size:
                raise zipfile.BadZipFile("Truncated central directory")
            fields = _CENTRAL.unpack(header)
            if fields[0] != _CENTRAL_SIGNATURE:
                raise zipfile.BadZipFile("Bad magic number for central directory")
            raw_name = fp.read(fields[12])
            flags = fields[5]
            x = zipfile.ZipInfo(raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437", "replace"))
            x.extra, x.comment = fp.read(fields[13]), fp.read(fields[14])
            (x.create_version, x.create_system, x.extract_version, x.reserved, x.flag_bits, x.compress_type,
             raw_time, raw_date, x.CRC, x.compress_size, x.file_size) = fields[1:12]
            x.volume, x.internal_attr, x.external_attr = fields[15:18]
            x._raw_time = raw_time  # type: ignore[attr-defined]
            x.date_time = ((raw_date >> 9) + 1980, (raw_date >> 5) & 0xF, raw_date & 0x1F,
                           raw_time >> 11, (raw_time >> 5) & 0x3F, (raw_time & 0x1F) * 2)
            x.header_offset = fields[18]
            try:
                x._decodeExtra()  # type: ignore[attr-defined]
            except TypeError:  # Python 3.13 and later want the name's CRC
                x._decodeExtra(zlib.crc32(raw_name))  # type: ignore[attr-defined]
            x.header_offset += concat
            self.filelist.append(x)
            self.NameToInfo[x.filename] = x


_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_CENTRAL_SIGNATURE = b"PK\x01\x02"


def unsafe_name(name: str) -> bool:
    """An absolute name, a drive letter or a `..` part: a name that would land outside a folder it is unpacked in."""
    parts = name.replace("\\", "/").split("/")
    return (name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) is not None or ".." in parts
            or "\x00" in name)


class Archive:
    """The members of a zip. An intact zip is read through its central directory; a zip cut short (an
    interrupted download) has lost that directory, so its members are recovered from their local headers.

    `names` holds files only: no directory entries, no unsafe names (those are in `problems`, name -> sentence),
    at most MAX_MEMBERS of them. `notes` are sentences about the archive as a whole."""

    def __init__(self, zf: zipfile.ZipFile | None, recovered: dict[str, tuple[bytes, bool]] | None = None,
                 refused: dict[str, str] | None = None):
        self._zf = zf
        self._recovered = recovered or {}
        self._refused = refused or {}
        self.problems: dict[str, str] = {}
        self.notes: list[str] = []
        self.streamed = 0  # expanded log bytes read so far, against MAX_STREAMED_BYTES
        listed = [i.filename for i in zf.infolist()] if zf is not None else list(self._recovered)
        names: dict[str, None] = {}
        for name in listed:
            if name.endswith("/"):
                continue
            if unsafe_name(name):
                self.problems[name] = f"{name} has an unsafe member name (absolute or with ..), so it was not read."
            else:
                names[name] = None
        self.names = list(names)
        self._name_set = set(names)
        if self.problems:
            shown = ", ".join(repr(n) for n in list(self.problems)[:3])
            more = f" and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
            self.notes.append(f"{len(self.problems)} members have an unsafe member name (absolute or with ..): "
                              f"{shown}{more}; they were not read.")
        total = getattr(zf, "entries_total", 0) if zf is not None else 0
        if total > MAX_MEMBERS or (zf is None and len(listed) >= MAX_MEMBERS):
            count = f"{total:,}" if total > MAX_MEMBERS else "more than that"
            self.notes.append(f"The zip holds {count} members; only the first {MAX_MEMBERS:,} were read, the rest "
                              "is not analysed.")

    def __contains__(self, name: str) -> bool:
        return name in self._name_set

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()

    def _check_sizes(self, name: str, expanded: int, compressed: int, limit: int | None) -> None:
        if limit is not None and expanded > limit:
            raise Unreadable(_too_large(name, limit))
        if expanded > RATIO_FLOOR_BYTES and expanded > MAX_COMPRESSION_RATIO * max(compressed, 1):
            raise Unreadable(f"{name} would expand {expanded // max(compressed, 1):,} times "
                             f"({compressed:,} bytes to {expanded:,}), more than the {MAX_COMPRESSION_RATIO}:1 "
                             "a real member reaches (a zip bomb)")

    def _info(self, name: str) -> zipfile.ZipInfo:
        if name not in self:
            raise Unreadable(self.problems.get(name, f"{name} is not in the packet").removesuffix(
                ", so it was not read."))
        assert self._zf is not None
        info = self._zf.getinfo(name)
        if info.flag_bits & _ENCRYPTED:
            raise Unreadable(f"{name} is encrypted")
        return info

    def _recovered_member(self, name: str) -> tuple[bytes, bool]:
        """A member recovered from a cut-off zip, and whether it is whole."""
        if name not in self:
            raise Unreadable(f"{name} is not in the packet")
        if name in self._refused:
            raise Unreadable(self._refused[name])
        return self._recovered[name]

    def read(self, name: str) -> bytes:
        if self._zf is None:
            data, complete = self._recovered_member(name)
            if not complete:
                raise Unreadable(f"{name} is cut off: the zip ends inside it")
            if len(data) > MAX_MEMBER_BYTES:
                raise Unreadable(_too_large(name))
            return data
        info = self._info(name)
        self._check_sizes(name, info.file_size, info.compress_size, MAX_MEMBER_BYTES)
        try:
            with self._zf.open(info) as fh:
                data = fh.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise Unreadable(f"{name} is damaged in the zip ({exc})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise Unreadable(_too_large(name))
        return data

    @contextlib.contextmanager
    def stream(self, name: str) -> Iterator[tuple[IO[bytes], bool]]:
        """A member as a byte stream, and whether it is whole. All streams of one archive together stop after
        MAX_STREAMED_BYTES with ExpansionCapped (an OSError, so readers treat it like a damaged spot)."""
        if self._zf is None:
            data, complete = self._recovered_member(name)
            yield _Metered(io.BytesIO(data), self), complete  # type: ignore[misc]
            return
        info = self._info(name)
        self._check_sizes(name, info.file_size, info.compress_size, None)
        try:
            fh = self._zf.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise Unreadable(f"{name} is damaged in the zip ({exc})") from None
        with fh:
            yield _Metered(fh, self), True  # type: ignore[misc]

    def modified(self, name: str) -> datetime | None:
        if self._zf is None or name not in self:
            return None
        stamp = self._zf.getinfo(name).date_time
        if stamp[0] <= 1980:  # writers that set no time leave the DOS epoch
            return None
        # Zip times carry no zone; Mattermost servers run in UTC in the usual images.
        return datetime(*stamp, tzinfo=UTC)


def _too_large(name: str, limit: int = MAX_MEMBER_BYTES) -> str:
    return f"{name} is larger than {limit // 2**20} MB, so it was not read"


class _Metered:
    """A member stream that counts its expanded bytes against the archive's MAX_STREAMED_BYTES."""

    def __init__(self, fh: IO[bytes], archive: Archive) -> None:
        self._fh, self._archive = fh, archive

    def _count(self, data: bytes) -> bytes:
        self._archive.streamed += len(data)
        if self._archive.streamed > MAX_STREAMED_BYTES:
            raise ExpansionCapped(f"the packet's logs expand to more than {MAX_STREAMED_BYTES // 2**30} GiB in "
                                  "total, so reading stopped there")
        return data

    def read(self, n: int = -1) -> bytes:
        left = MAX_STREAMED_BYTES - self._archive.streamed + 1
        return self._count(self._fh.read(left if n is None or n < 0 else min(n, max(left, 1))))

    def readline(self, limit: int = -1) -> bytes:
        return self._count(self._fh.readline(limit))

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()


def open_archive(source: Path | bytes, label: str) -> tuple[Archive, str | None]:
    """The archive, and a sentence about the archive as a whole (ZIP_KEY's): it had to be recovered from a
    cut-off zip, it has more than MAX_MEMBERS members, or members with unsafe names."""
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
        archive = Archive(_CappedZipFile(io.BytesIO(source) if isinstance(source, bytes) else source))
        return archive, " ".join(archive.notes) or None
    except (zipfile.BadZipFile, ValueError, struct.error, EOFError, OSError, NotImplementedError):
        pass  # no usable directory at the end: recover what the local headers still describe
    refused: dict[str, str] = {}
    recovered = _recover_members(source if isinstance(source, bytes) else source.read_bytes(), refused)
    if not recovered:
        raise PacketError(f"{label} starts like a zip but no member could be read from it: the file is damaged.")
    whole = sum(1 for _, complete in recovered.values() if complete)
    archive = Archive(None, recovered, refused)
    return archive, " ".join([
        f"The zip is cut off (its directory at the end is missing, as after an interrupted download): "
        f"{whole} of the {len(recovered)} members found were read whole, and whatever came after is lost; "
        "download the packet again.", *archive.notes])


def _not_a_zip(label: str, head: bytes) -> str:
    if not head:
        return f"{label} is empty, not a zip file."
    if head.lstrip()[:1] in (b"<", b"{", b"["):
        return (f"{label} is not a zip file but text (it starts with {head!r}): an error page or a proxy answered "
                "instead of Mattermost.")
    return f"{label} is not a zip file (it starts with {head!r})."


def _recover_members(data: bytes, refused: dict[str, str]) -> dict[str, tuple[bytes, bool]]:
    """Walk the local file headers from the start: name -> (content, whether it was read whole); a member that
    expands like a zip bomb goes to `refused` with the reason instead."""
    members: dict[str, tuple[bytes, bool]] = {}
    pos = 0
    while (data.startswith(_LOCAL_SIGNATURE, pos) and pos + _LOCAL_HEADER.size <= len(data)
           and len(members) < MAX_MEMBERS):
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
        if method == 0:
            body = data[start:start + size]
            members[name] = (body, len(body) == size)
            pos = start + size
            continue
        try:
            content, eof, used = _inflate(memoryview(data)[start:start + size] if sized else memoryview(data)[start:])
        except zlib.error:
            members[name] = (b"", False)
            break
        except Unreadable as exc:
            members[name], refused[name] = (b"", False), str(exc).replace("the member", name)
            if not sized:
                break
            pos = start + size
            continue
        members[name] = (content, eof)
        if not eof:
            break
        if sized:
            pos = start + size
        else:
            found = data.find(_LOCAL_SIGNATURE, start + used, start + used + 28)
            if found < 0:
                break
            pos = found
    return members


def _inflate(body: memoryview) -> tuple[bytes, bool, int]:
    """A raw deflate stream expanded piece by piece: (content, whether it ended, compressed bytes it used). Raises
    Unreadable as soon as it expands past MAX_COMPRESSION_RATIO; stops at MAX_MEMBER_BYTES * 8."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pieces: list[bytes] = []
    size = fed = 0
    while fed < len(body) and not inflater.eof and size <= MAX_MEMBER_BYTES * 8:
        pending: bytes | memoryview = body[fed:fed + 2**20]
        fed += len(pending)
        while pending and not inflater.eof and size <= MAX_MEMBER_BYTES * 8:
            piece = inflater.decompress(pending, LOG_CHUNK_BYTES)
            pending = inflater.unconsumed_tail
            pieces.append(piece)
            size += len(piece)
            used = fed - len(pending) - len(inflater.unused_data)
            if size > RATIO_FLOOR_BYTES and size > MAX_COMPRESSION_RATIO * max(used, 1):
                raise Unreadable(f"the member would expand more than {MAX_COMPRESSION_RATIO} times, more than a real "
                                 "member does (a zip bomb)")
    return b"".join(pieces), inflater.eof, fed - len(inflater.unused_data)


# ------------------------------------------------------------------------------------------- member text

def decode(name: str, data: bytes, unreadable: dict[str, str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        unreadable.setdefault(name, f"{name} has bytes that are not UTF-8 (the first at byte {exc.start}); "
                                    "they were read as \N{REPLACEMENT CHARACTER}, so some values may be garbled.")
        return data.decode("utf-8-sig", "replace")


def valid_unicode(text: str) -> str:
    """`text` with each lone surrogate (what a JSON or YAML escape such as \\ud800 gives: never valid Unicode, and
    no page, table or download can encode one) replaced by \N{REPLACEMENT CHARACTER}."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


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
    """Counts and the first and last lines of a log, read as a stream in LOG_CHUNK_BYTES pieces: logs are the
    one member that can be hundreds of megabytes, so the per-line work happens inside bytes methods and regexes
    applied to whole chunks, and memory stays at a few chunks whatever the log's size."""
    scan = _LogScan()
    try:
        with archive.stream(name) as (fh, complete):
            try:
                while chunk := fh.read(LOG_CHUNK_BYTES):
                    scan.feed(chunk)
                scan.finish()
            except ExpansionCapped as exc:
                complete = False
                unreadable[name] = f"{name} was read up to line {scan.lines} only: {exc}."
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                complete = False
                unreadable[name] = f"{name} is damaged after line {scan.lines} ({exc}); the lines before it were read."
    except Unreadable as exc:
        unreadable[name] = f"{exc}, so it was not read."
        return None
    if not complete:
        unreadable.setdefault(name, f"{name} is cut off after line {scan.lines}; the lines before it were read.")
    return models.LogExcerpt(path=name, line_count=scan.lines, error_lines=scan.errors, warn_lines=scan.warnings,
                             first_lines=tuple(map(_excerpt_line, scan.head)),
                             last_lines=tuple(map(_excerpt_line, scan.tail)), invalid_utf8_lines=scan.invalid,
                             complete=complete)


class _LogScan:
    """The line counts of a log fed chunk by chunk. Lines whose text is only white space are not counted; a line
    longer than MAX_LOG_LINE_READ is judged and kept by its first MAX_LOG_LINE_READ bytes."""

    def __init__(self) -> None:
        self.lines = self.errors = self.warnings = self.invalid = 0
        self.head: list[bytes] = []
        self.tail: deque[bytes] = deque(maxlen=LOG_EXCERPT_LINES)
        self._carry = b"\n"  # the newline that ended the last whole line, then the line begun since
        self._long = False  # the line in _carry was cut at MAX_LOG_LINE_READ; drop the rest up to its newline

    def feed(self, chunk: bytes) -> None:
        end = chunk.rfind(b"\n")
        if end < 0:
            if not self._long:
                self._carry += chunk
                self._cut_carry()
            return
        start = chunk.find(b"\n") if self._long else 0
        view = memoryview(chunk)
        self._lines(self._carry + view[start:end + 1])
        self._carry, self._long = chunk[end:], False
        self._cut_carry()

    def finish(self) -> None:
        if len(self._carry) > 1:
            self._lines(self._carry + b"\n")
        self._carry = b"\n"

    def _cut_carry(self) -> None:
        if len(self._carry) > MAX_LOG_LINE_READ + 1:
            self._carry, self._long = self._carry[:MAX_LOG_LINE_READ + 1], True

    def _lines(self, buf: bytes) -> None:
        """Whole lines: `buf` starts with the newline before its first line and ends with its last line's."""
        self.lines += buf.count(b"\n") - 1 - len(_BLANK_LINE.findall(buf))
        for groups, count in Counter(_LINE_LEVEL.findall(buf)).items():
            level = next(group for group in groups if group).lower()
            if level in _ERROR_LEVELS:
                self.errors += count
            elif level in _WARN_LEVELS:
                self.warnings += count
        if not buf.isascii():
            try:
                buf.decode("utf-8")
            except UnicodeDecodeError:
                self.invalid += sum(1 for raw in buf.split(b"\n") if not is_utf8(raw))
        after_head = 0
        if len(self.head) < LOG_EXCERPT_LINES:
            for match in itertools.islice(_NONBLANK_LINE.finditer(buf), LOG_EXCERPT_LINES - len(self.head)):
                self.head.append(match.group(1)[:MAX_LOG_LINE_READ])
                after_head = match.end()
            if len(self.head) < LOG_EXCERPT_LINES:
                return
        self._keep_tail(buf, after_head)

    def _keep_tail(self, buf: bytes, start: int) -> None:
        """The last LOG_EXCERPT_LINES lines that are not blank, of the lines from the newline at `start` on."""
        found: list[bytes] = []
        end = len(buf) - 1
        for _ in range(4 * LOG_EXCERPT_LINES):
            at = buf.rfind(b"\n", start, end)
            if at < 0:
                break
            if buf[at + 1:end].strip():
                found.append(buf[at + 1:min(end, at + 1 + MAX_LOG_LINE_READ)])
                if len(found) == LOG_EXCERPT_LINES:
                    break
            end = at
        else:  # mostly blank lines: let the regex skip them, over the bytes reversed
            backwards = buf[start:][::-1]
            found = [m.group(1)[::-1][:MAX_LOG_LINE_READ]
                     for m in itertools.islice(_NONBLANK_REVERSED.finditer(backwards), LOG_EXCERPT_LINES)]
        self.tail.extend(reversed(found))


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _excerpt_line(raw: bytes) -> str:
    return mask_url_credentials(raw.decode("utf-8", "replace").rstrip("\r"))[:MAX_EXCERPT_LINE]


def _log_level(line: bytes) -> bytes | None:
    """Mattermost's JSON lines carry "level"; plain-text targets start with the level or write level=.

    The definition for one line; scan_log applies the same rule to whole chunks through _LINE_LEVEL, and the
    tests hold the two equal."""
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
