"""The zip layer of the support packet reader: hostile members end as a sentence instead of a crash, and the
chunked log scan counts exactly what a line-by-line reading counts."""

from __future__ import annotations

import io
import random
import zipfile
from collections import deque

import pytest

from collectors import packet_archive as pa
from collectors import support_packet_models as models
from collectors.packet_archive import ZIP_KEY
from collectors.support_packet import parse_packet


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, content in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), content, compress_type=method)
    return out.getvalue()


def archive_of(members: dict[str, bytes]) -> pa.Archive:
    archive, _ = pa.open_archive(make_zip(members), "test.zip")
    return archive


def naive_scan(data: bytes) -> tuple[int, int, int, int, list[str], list[str]]:
    """The reference: every line on its own, as the reader did before it read in chunks."""
    lines = errors = warnings = invalid = 0
    head: list[str] = []
    tail: deque[str] = deque(maxlen=pa.LOG_EXCERPT_LINES)
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        lines += 1
        level = pa._log_level(raw)
        errors += level in pa._ERROR_LEVELS
        warnings += level in pa._WARN_LEVELS
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            invalid += 1
        line = pa.mask_url_credentials(raw.decode("utf-8", "replace").rstrip("\r"))[:pa.MAX_EXCERPT_LINE]
        (head if len(head) < pa.LOG_EXCERPT_LINES else tail).append(line)
    return lines, errors, warnings, invalid, head, list(tail)


def scan(data: bytes, name: str = "app-1/mattermost.log") -> tuple[models.LogExcerpt | None, dict[str, str]]:
    unreadable: dict[str, str] = {}
    archive = archive_of({name: data})
    try:
        return pa.scan_log(archive, name, unreadable), unreadable
    finally:
        archive.close()


def as_tuple(log: models.LogExcerpt | None) -> tuple[int, int, int, int, list[str], list[str]]:
    assert log is not None
    return (log.line_count, log.error_lines, log.warn_lines, log.invalid_utf8_lines, list(log.first_lines),
            list(log.last_lines))


def random_log(seed: int, lines: int) -> bytes:
    rng = random.Random(seed)
    shapes = [
        lambda: b'{"timestamp":"2026-01-01 10:00:00.000 Z","level":"%s","msg":"m","caller":"a.go:1"}'
        % rng.choice([b"error", b"warn", b"info", b"debug", b"fatal", b"ERROR", b"panic", b"dpanic"]),
        lambda: b'  {"msg":"no level here","caller":"b.go:2"}',
        lambda: b'{"level":"info","msg":"then \\"level\\":\\"error\\" inside"}',
        lambda: b"%s [2026-01-01 10:00:01.000 Z] plain text target" % rng.choice([b"error", b"WARN", b"info"]),
        lambda: b"ts=2026-01-01 level=%s msg=x" % rng.choice([b"error", b"warning", b"debug"]),
        lambda: b"[warn] bracketed level",
        lambda: b"  \t ",
        lambda: b"",
        lambda: b"caf\xe9 not utf-8 \xff",
        lambda: "naïve ✓ utf-8 line level=error".encode(),
        lambda: b"connecting to https://admin:hunter2@es.example.com:9200/ failed",
        lambda: b"x" * rng.randint(1, 300),
    ]
    out = []
    for _ in range(lines):
        line = rng.choice(shapes)()
        out.append(line + rng.choice([b"\n", b"\r\n"]))
    if rng.random() < 0.5:
        out.append(b"last line without a newline level=error")
    return b"".join(out)


# ------------------------------------------------------------------------------------------- log scan

@pytest.mark.parametrize("chunk", [1, 7, 64, 1000, 4 * 1024 * 1024])
def test_chunked_scan_counts_what_a_line_by_line_read_counts(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """The error, warning and line counts and the excerpts an admin sees do not depend on where the reader's
    chunks happen to fall."""
    monkeypatch.setattr(pa, "LOG_CHUNK_BYTES", chunk)
    for seed in range(3 if chunk > 1 else 1):
        data = random_log(seed, 400)
        assert as_tuple(scan(data)[0]) == naive_scan(data)


def test_line_split_across_a_chunk_boundary_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error line that straddles two reads is counted once, as an error, and shown whole."""
    line = b'{"timestamp":"2026-01-01 10:00:00.000 Z","level":"error","msg":"split here"}'
    data = b"info first\n" + line + b"\nwarn after\n"
    monkeypatch.setattr(pa, "LOG_CHUNK_BYTES", len(b"info first\n") + 30)
    log, unreadable = scan(data)
    assert log is not None and unreadable == {}
    assert (log.line_count, log.error_lines, log.warn_lines) == (3, 1, 1)
    assert log.first_lines[1] == line.decode()


def test_line_longer_than_the_chunk_is_counted_once_and_kept_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """A runaway log line (a huge stack or payload) counts as one line, is judged by its start, and its excerpt
    stays bounded instead of holding the whole line in memory."""
    monkeypatch.setattr(pa, "LOG_CHUNK_BYTES", 1024)
    monkeypatch.setattr(pa, "MAX_LOG_LINE_READ", 4096)
    data = b"error huge " + b"y" * 50_000 + b"\nwarn next\n" + b"error last " + b"z" * 9000
    log, _ = scan(data)
    assert log is not None
    assert (log.line_count, log.error_lines, log.warn_lines) == (3, 2, 1)
    assert log.first_lines[0].startswith("error huge") and len(log.first_lines[0]) <= pa.MAX_EXCERPT_LINE
    assert log.first_lines[1] == "warn next"


def test_crlf_lines_and_blank_crlf_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs written on Windows (CRLF) count the same lines, blank CRLF lines are not lines, and excerpts carry
    no stray carriage return."""
    monkeypatch.setattr(pa, "LOG_CHUNK_BYTES", 5)
    log, _ = scan(b"error one\r\n\r\n \r\nwarn two\r\ninfo three\r\n")
    assert log is not None
    assert (log.line_count, log.error_lines, log.warn_lines) == (3, 1, 1)
    assert log.first_lines == ("error one", "warn two", "info three")


def test_non_utf8_bytes_are_counted_and_shown_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes that are not UTF-8 never stop the scan: the lines are counted, shown with U+FFFD, and the count of
    such lines is reported; a multi-byte character split by a chunk boundary is not mistaken for one."""
    monkeypatch.setattr(pa, "LOG_CHUNK_BYTES", 3)
    log, unreadable = scan("naïve ✓ level=warn\n".encode() + b"caf\xe9 level=error\n\xff\xfe\n")
    assert log is not None and unreadable == {}
    assert (log.line_count, log.error_lines, log.warn_lines, log.invalid_utf8_lines) == (3, 1, 1, 2)
    assert log.first_lines[0] == "naïve ✓ level=warn" and "\N{REPLACEMENT CHARACTER}" in log.first_lines[1]


def test_mostly_blank_log_keeps_the_last_real_lines() -> None:
    """A log padded with blank lines still shows its last real lines."""
    data = b"".join(b"line %d\n" % i for i in range(15)) + b"\n" * 5000 + b"tail a\n" + b"   \n" * 3000 + b"tail b\n"
    log, _ = scan(data)
    assert log is not None and log.line_count == 17
    assert log.last_lines[-2:] == ("tail a", "tail b") and log.last_lines[0] == "line 10"


def test_credentials_in_log_excerpts_are_masked() -> None:
    """A URL's user:password in a log line never reaches the excerpt shown to people."""
    log, _ = scan(b"error dial https://admin:hunter2@es.example.com:9200/ refused\n")
    assert log is not None and "hunter2" not in log.first_lines[0] and "****:****@" in log.first_lines[0]


def test_truncated_zip_log_is_still_scanned() -> None:
    """A packet cut off inside its log (an interrupted download) still gives the lines before the cut."""
    data = make_zip({"metadata.yaml": b"version: 1\n", "app-1/mattermost.log": random_log(7, 3000)})
    cut = data[: len(data) // 2]
    facts = parse_packet(cut)
    assert "cut off" in facts.unreadable[ZIP_KEY]
    assert facts.logs and facts.logs[0].line_count > 0 and not facts.logs[0].complete


def test_streamed_total_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs that expand past the packet's total cap stop being read, with a sentence saying so; the lines read
    before the cap still count."""
    monkeypatch.setattr(pa, "MAX_STREAMED_BYTES", 3000)
    monkeypatch.setattr(pa, "LOG_CHUNK_BYTES", 512)
    log_data = b"error x\n" * 300  # 2400 bytes each
    archive = archive_of({"a/mattermost.log": log_data, "b/mattermost.log": log_data})
    unreadable: dict[str, str] = {}
    first = pa.scan_log(archive, "a/mattermost.log", unreadable)
    second = pa.scan_log(archive, "b/mattermost.log", unreadable)
    assert first is not None and first.complete and first.line_count == 300
    assert second is not None and not second.complete and 0 < second.line_count < 300
    assert "GiB in total" in unreadable["b/mattermost.log"] and "a/mattermost.log" not in unreadable


# ------------------------------------------------------------------------------------------- caps

def test_member_count_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip with more members than the cap reads the first ones and says how many there were."""
    monkeypatch.setattr(pa, "MAX_MEMBERS", 50)
    archive, note = pa.open_archive(make_zip({f"junk/{i}.txt": b"x" for i in range(80)}), "test.zip")
    assert len(archive.names) == 50 and archive.names[0] == "junk/0.txt"
    assert note is not None and "80 members" in note and "first 50" in note
    assert archive.read("junk/49.txt") == b"x" and "junk/50.txt" not in archive


def test_unsafe_and_directory_names_are_not_members() -> None:
    """Absolute names and names with .. parts are reported, never listed as members; directories are skipped."""
    data = make_zip({"../../etc/passwd": b"x", "/abs.yaml": b"x", "a/../b.log": b"x", "ok/": b"", "ok/f.txt": b"x"})
    archive, note = pa.open_archive(data, "test.zip")
    assert archive.names == ["ok/f.txt"] and "../../etc/passwd" not in archive
    assert note is not None and "3 members have an unsafe member name" in note
    assert set(archive.problems) == {"../../etc/passwd", "/abs.yaml", "a/../b.log"}
    facts = parse_packet(make_zip({"metadata.yaml": b"server_id: abc\n", "../diagnostics.yaml": b"server: {}\n"}))
    assert "unsafe member name" in facts.unreadable[ZIP_KEY] and facts.members == ("metadata.yaml",)


def test_zip_bomb_member_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A member that would expand thousands of times is unreadable with the reason, and the rest is read."""
    monkeypatch.setattr(pa, "RATIO_FLOOR_BYTES", 1024)
    facts = parse_packet(make_zip({"metadata.yaml": b"server_id: abc\n", "stats.yaml": b"a: " + b"0" * 500_000,
                                   "app-1/mattermost.log": b" " * 500_000}))
    assert "zip bomb" in facts.unreadable["stats.yaml"] and "zip bomb" in facts.unreadable["app-1/mattermost.log"]
    assert facts.server_id == "abc"


def test_member_larger_than_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A member declared larger than the cap is not read into memory."""
    monkeypatch.setattr(pa, "MAX_MEMBER_BYTES", 1000)
    archive = archive_of({"sanitized_config.json": b'{"a": "' + random.Random(1).randbytes(3000).hex().encode()
                          + b'"}'})
    unreadable: dict[str, str] = {}
    assert pa.read_member(archive, "sanitized_config.json", unreadable) is None
    assert "larger than" in unreadable["sanitized_config.json"]


def test_zip_bomb_in_a_cut_off_zip_is_refused_while_expanding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip bomb in a packet whose directory is lost is stopped as it expands, not held in memory, and the
    members before it are still read."""
    monkeypatch.setattr(pa, "RATIO_FLOOR_BYTES", 1024)
    data = make_zip({"metadata.yaml": b"server_id: abc\n", "stats.yaml": b"0" * 2_000_000, "jobs.yaml": b"a: 1\n"})
    facts = parse_packet(data[:-30])  # the end of the central directory is gone
    assert "cut off" in facts.unreadable[ZIP_KEY] and facts.server_id == "abc"
    assert "zip bomb" in facts.unreadable["stats.yaml"]
