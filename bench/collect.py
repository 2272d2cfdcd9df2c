"""Benchmark: collect_all's wall time against its slowest source (target: ratio_to_slowest <= 1.3).

Eight Mattermost sources, each a simulator in its own process (as real servers are: their CPU is not ours)
answering every request after 300 ms. Each source is first timed alone (serially), then all eight are
collected concurrently under one deadline, on the same event loop the app uses.
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from pydantic import SecretStr  # noqa: E402

from collectors import mattermost  # noqa: E402
from collectors.runner import PlannedSource, collect_sources, run_async  # noqa: E402
from settings import MattermostSettings  # noqa: E402

SOURCES = 8
LATENCY_MS = 300
ROUNDS = 5


def start_simulator_process(stack: ExitStack) -> MattermostSettings:
    """`python -m simulator` on a free port; returns settings for it once it prints its URL and token."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--latency-ms", str(LATENCY_MS)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    stack.callback(lambda: (os.killpg(process.pid, signal.SIGTERM), process.wait(timeout=10)))
    printed: dict[str, str] = {}
    for line in process.stdout:
        key, _, value = line.partition(": ")
        printed[key] = value.strip()
        if "admin token" in printed:
            return MattermostSettings(url=printed["url"], token=SecretStr(printed["admin token"]))
    raise SystemExit("the simulator exited before printing its URL and token")


def timed(planned: list[PlannedSource]) -> float:
    started = time.perf_counter()
    results = run_async(collect_sources(planned, deadline_s=30))
    elapsed = time.perf_counter() - started
    failed = [r.error for r in results.values() if r.status.value != "ok"]
    if failed:
        raise SystemExit(f"a source failed during the benchmark: {failed[0]}")
    return elapsed


def main() -> dict[str, float]:
    with ExitStack() as stack:
        planned = [PlannedSource(f"mattermost-{i}", mattermost.collect, start_simulator_process(stack))
                   for i in range(SOURCES)]
        timed(planned[:1])  # warm-up: imports, first connections
        walls, slowest, serial = [], [], []
        for round_no in range(ROUNDS):
            alone = [timed([p]) for p in planned]
            wall = timed(planned)
            walls.append(wall)
            slowest.append(max(alone))
            serial.append(sum(alone))
            print(f"round {round_no + 1}: wall {wall:.3f} s, slowest alone {max(alone):.3f} s, "
                  f"serial sum {sum(alone):.3f} s", flush=True)
    wall_s, slowest_s = statistics.median(walls), statistics.median(slowest)
    return {
        "sources": SOURCES,
        "latency_ms": LATENCY_MS,
        "rounds": ROUNDS,
        "wall_s": round(wall_s, 3),
        "slowest_source_s": round(slowest_s, 3),
        "serial_sum_s": round(statistics.median(serial), 3),
        "ratio_to_slowest": round(wall_s / slowest_s, 3),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
