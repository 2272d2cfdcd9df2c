"""Benchmark: choosing and streaming a 2-hour window of a 1 GiB mattermost.log.

Writes a 1 GiB log with rising timestamps (one generated block per minute, stamped with that minute), times
select() for a 2-hour window (plus its 30-minute margin, limit raised so the whole window is streamed), streams
iter_lines over the selection, and compares that throughput with `gzip -6` over the same bytes, which is what
the packet's zip costs on top. Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so this import comes after it.
from packet.logs import iter_chunks, iter_lines, select  # noqa: E402

LOG_BYTES = 1024**3
START = datetime(2026, 11, 23, tzinfo=UTC)
PLACEHOLDER = b"@@@@@@@@@@@@@@@@"  # "YYYY-MM-DD HH:MM", replaced per minute
MESSAGES = (("debug", "websocket.NextReader: client side closed socket", "platform/web_conn.go:830"),
            ("debug", "Sending push notification", "app/notification_push.go:151"),
            ("info", "Worker: Job is complete", "jobs/base_workers.go:117"),
            ("warn", "Failed to fetch OpenGraph data for a link preview", "app/opengraph.go:96"),
            ("error", "Unable to upload file", "app/file.go:1012"))


def _minute_block(rng: random.Random, lines: int) -> bytes:
    """One minute of varied entries, the minute itself left as PLACEHOLDER."""
    ids = "ybndrfg8ejkmcpqxot1uwisza345h769"
    out = []
    for i in range(lines):
        level, msg, caller = rng.choice(MESSAGES)
        second = f"{i * 60 / lines:06.3f}"
        out.append(f'{{"timestamp":"{PLACEHOLDER.decode()}:{second} Z","level":"{level}","msg":"{msg}",'
                   f'"caller":"{caller}","user_id":"{"".join(rng.choices(ids, k=26))}",'
                   f'"request_id":"{"".join(rng.choices(ids, k=26))}"}}\n')
    return "".join(out).encode()


def write_log(path: Path) -> tuple[int, int]:
    """Write LOG_BYTES of log; returns (bytes written, minutes covered)."""
    with path.open("wb") as handle:
        return write_minutes(handle, "bench-packet-logs", variants=8, total=LOG_BYTES)


def write_minutes(handle: IO[bytes], seed: str, *, variants: int, total: int) -> tuple[int, int]:
    """Write `total` bytes of log, a minute a block, from a few variants so the data does not repeat exactly;
    returns (bytes written, minutes covered)."""
    rng = random.Random(seed)
    blocks = [_minute_block(rng, 4500) for _ in range(variants)]
    written = minute = 0
    while written < total:
        stamp = (START + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M").encode()
        block = blocks[minute % len(blocks)].replace(PLACEHOLDER, stamp)
        handle.write(block)
        written += len(block)
        minute += 1
    return written, minute


def _reads() -> tuple[int, int]:
    """(bytes, read calls) this process has read so far, as the kernel counts them."""
    counters = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(counters["rchar"]), int(counters["syscr"])


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-packet-logs-") as tmp:
        path = Path(tmp) / "mattermost.log"
        started = time.perf_counter()
        size, minutes = write_log(path)
        print(f"wrote {size / 1024**2:.0f} MiB covering {minutes / 60:.1f} h in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        since = START + timedelta(minutes=minutes // 2)
        reads_before, started = _reads(), time.perf_counter()
        chosen = select(path, since=since, until=since + timedelta(hours=2), max_bytes=LOG_BYTES)
        select_s = time.perf_counter() - started
        read_bytes, read_calls = (after - before for after, before in zip(_reads(), reads_before, strict=True))
        print(f"select: {select_s * 1000:.2f} ms, {read_calls} reads, {read_bytes / 1024:.0f} KiB; {chosen.reason}",
              flush=True)
        started = time.perf_counter()
        streamed = lines = 0
        for line in iter_lines(chosen):
            streamed += len(line)
            lines += 1
        stream_s = time.perf_counter() - started
        assert streamed == chosen.selected_bytes
        print(f"iter_lines: {lines} lines, {streamed / 1024**2:.0f} MiB in {stream_s:.2f} s", flush=True)
        started = time.perf_counter()
        chunked = sum(len(chunk) for chunk in iter_chunks(chosen))  # what the packet builder streams
        chunks_s = time.perf_counter() - started
        assert chunked == chosen.selected_bytes
        print(f"iter_chunks: {chunked / 1024**2:.0f} MiB in {chunks_s:.2f} s", flush=True)
        # dd hands gzip exactly the selected range; dd itself runs at disk-cache speed, gzip is the cost.
        command = (f"dd if='{path}' iflag=skip_bytes,count_bytes skip={chosen.start_offset} "
                   f"count={chosen.selected_bytes} bs=1M status=none | gzip -6 -c > /dev/null")
        started = time.perf_counter()
        subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True)
        gzip_s = time.perf_counter() - started
        print(f"gzip -6: {gzip_s:.2f} s", flush=True)
    mib = chosen.selected_bytes / 1024**2
    return {"log_bytes": size, "selected_bytes": chosen.selected_bytes, "select_s": round(select_s, 4),
            "stream_mb_s": round(mib / stream_s, 1), "chunks_mb_s": round(mib / chunks_s, 1),
            "gzip6_mb_s": round(mib / gzip_s, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    print(json.dumps(main()))
