"""Benchmark: log insights over a support packet holding 1 GiB of logs (two HA nodes, 512 MiB each).

Writes the packet into a temp dir (a zip, deflated, as Mattermost sends it): JSON lines as Mattermost's file target
writes them, mostly debug and info, a few percent warnings and errors with ids, paths and addresses in them, a
plugin that panics and is restarted now and then. Then runs `analyse_packet` in a fresh subprocess, with a problem
time in the middle, and measures its wall time and peak RSS there. Prints figures, then one JSON object on the
last line.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_BYTES = 1024**3
NODES = ("mm-app-1", "mm-app-2")
START = datetime(2026, 11, 23, tzinfo=UTC)
PLACEHOLDER = "@@@@@@@@@@@@@@@@"  # "YYYY-MM-DD HH:MM", replaced per minute
LINES_PER_MINUTE = 2500
IDS = "ybndrfg8ejkmcpqxot1uwisza345h769"
# (weight, level, msg, caller, extra fields maker)
MESSAGES = (
    (30, "debug", "websocket.NextReader: client side closed socket", "platform/web_conn.go:830", None),
    (25, "debug", "Sending push notification", "app/notification_push.go:151", None),
    (20, "info", "Worker: Job is complete", "jobs/base_workers.go:117", None),
    (10, "info", "Post created", "app/post.go:412", None),
    (4, "warn", "Failed to fetch OpenGraph data for a link preview", "app/opengraph.go:96",
     lambda r: {"request_url": f"https://example{r.randint(1, 40)}.com/page/{r.randint(1, 999)}",
                "error": "context deadline exceeded"}),
    (3, "warn", "Rate limit exceeded for user", "app/ratelimit.go:77", None),
    (2, "error", "Unable to upload file", "app/file.go:1012",
     lambda r: {"path": f"20261123/teams/noteam/channels/{_id(r)}/users/{_id(r)}/{_id(r)}/image.png",
                "error": "unable to write file: dial tcp 10.0.3.17:9000: connect: connection refused"}),
    (1, "error", "Failed to send email to user@example.com after 3 retries", "app/email.go:301", None),
    (1, "error", "pq: canceling statement due to statement timeout", "sqlstore/post_store.go:1550", None),
)


def _id(rng: random.Random) -> str:
    return "".join(rng.choices(IDS, k=26))


def _minute_block(rng: random.Random, node: str) -> str:
    weights = [m[0] for m in MESSAGES]
    out = []
    for i in range(LINES_PER_MINUTE):
        _, level, msg, caller, extra = rng.choices(MESSAGES, weights)[0]
        second = f"{i * 60 / LINES_PER_MINUTE:06.3f}"
        fields = {"timestamp": f"{PLACEHOLDER}:{second} Z", "level": level, "msg": msg, "caller": caller,
                  "user_id": _id(rng), "request_id": _id(rng), "node": node, **(extra(rng) if extra else {})}
        out.append(json.dumps(fields, separators=(",", ":")))
    if rng.random() < 0.3:  # a plugin in trouble now and then
        out.append(json.dumps({"timestamp": f"{PLACEHOLDER}:59.900 Z", "level": "error",
                               "msg": "panic: runtime error: invalid memory address or nil pointer dereference",
                               "caller": "plugin/hclog_adapter.go:79", "plugin_id": "com.mattermost.calls",
                               "source": "plugin_stderr"}, separators=(",", ":")))
        out.append(json.dumps({"timestamp": f"{PLACEHOLDER}:59.950 Z", "level": "debug",
                               "msg": "Restarting plugin due to failed health check", "caller":
                               "plugin/health_check.go:71", "id": "com.mattermost.calls"}, separators=(",", ":")))
    return "\n".join(out) + "\n"


def write_packet(path: Path) -> tuple[int, int]:
    """The packet with LOG_BYTES of logs over NODES; returns (log bytes, lines)."""
    rng = random.Random("bench-log-insights")
    written = lines = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("metadata.yaml", f"version: 1\ntype: support-packet\ngenerated_at: "
                                     f"{int(START.timestamp() * 1000)}\nserver_version: 11.6.1\n")
        for node in NODES:
            zf.writestr(f"{node}/diagnostics.yaml", f"version: 2\nserver:\n  version: 11.6.1\n  hostname: {node}\n")
            zf.writestr(f"{node}/sanitized_config.json", "{}")
            blocks = [_minute_block(rng, node) for _ in range(6)]
            node_bytes = minute = 0
            with zf.open(f"{node}/mattermost.log", "w", force_zip64=True) as member:
                while node_bytes < LOG_BYTES // len(NODES):
                    stamp = (START + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M")
                    block = blocks[minute % len(blocks)].replace(PLACEHOLDER, stamp).encode()
                    member.write(block)
                    node_bytes += len(block)
                    lines += block.count(b"\n")
                    minute += 1
            written += node_bytes
    return written, lines


CHILD = """
import json, resource, sys, time
from datetime import datetime
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from packet.log_insights import analyse_packet
started = time.perf_counter()
result = analyse_packet(Path(sys.argv[2]), problem_time=datetime.fromisoformat(sys.argv[3]))
elapsed = time.perf_counter() - started
print(json.dumps({"s": elapsed, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "lines": sum(m.lines for m in result.members), "templates": len(result.templates),
                  "errors": sum(m.errors for m in result.members), "warnings": sum(m.warnings for m in result.members),
                  "plugin_events": sum(result.plugin_event_counts.values()),
                  "around": [len(a.lines) for a in result.around]}))
"""


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-log-insights-") as tmp:
        path = Path(tmp) / "packet.zip"
        started = time.perf_counter()
        size, lines = write_packet(path)
        print(f"wrote {size / 1024**2:.0f} MiB of logs ({lines:,} lines, zip {path.stat().st_size / 1024**2:.0f} "
              f"MiB) in {time.perf_counter() - started:.1f} s", flush=True)
        minutes = lines // len(NODES) // LINES_PER_MINUTE
        problem = START + timedelta(minutes=minutes // 2, seconds=30)
        child = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(path), problem.isoformat()],
                               capture_output=True, text=True, check=True)
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    seconds, peak_mb = figures["s"], figures["peak_kb"] / 1024
    print(f"analysed {figures['lines']:,} lines in {seconds:.1f} s ({figures['lines'] / seconds:,.0f} lines/s, "
          f"{size / 1024**2 / seconds:.0f} MiB/s), peak RSS {peak_mb:.0f} MB", flush=True)
    print(f"{figures['errors']:,} errors, {figures['warnings']:,} warnings in {figures['templates']} templates; "
          f"{figures['plugin_events']:,} plugin events; lines around the problem time per node: {figures['around']}",
          flush=True)
    return {"log_bytes": size, "lines": figures["lines"], "log_insights_s": round(seconds, 2),
            "log_insights_peak_mb": round(peak_mb, 1), "lines_per_s": round(figures["lines"] / seconds)}


if __name__ == "__main__":
    print(json.dumps(main()))
