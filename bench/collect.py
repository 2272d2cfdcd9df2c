"""Benchmark: collect_all's wall time against its slowest source (target: ratio_to_slowest <= 1.3).

Eight Mattermost sources, each a simulator answering every request after 300 ms. Each source is first
timed alone (serially), then all eight are collected concurrently under one deadline.
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr

from collectors import mattermost
from collectors.runner import PlannedSource, collect_sources
from settings import MattermostSettings
from simulator import start_simulator

SOURCES = 8
LATENCY_MS = 300
ROUNDS = 5


async def timed(planned: list[PlannedSource]) -> float:
    started = time.perf_counter()
    results = await collect_sources(planned, deadline_s=30)
    elapsed = time.perf_counter() - started
    failed = [r.error for r in results.values() if r.status.value != "ok"]
    if failed:
        raise SystemExit(f"a source failed during the benchmark: {failed[0]}")
    return elapsed


async def main() -> dict[str, float]:
    simulators = [start_simulator(scenario="healthy", latency_ms=LATENCY_MS) for _ in range(SOURCES)]
    try:
        planned = [
            PlannedSource(f"mattermost-{i}", mattermost.collect,
                          MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token)))
            for i, sim in enumerate(simulators)
        ]
        await timed(planned[:1])  # warm-up: imports, first connections
        walls, slowest, serial = [], [], []
        for round_no in range(ROUNDS):
            alone = [await timed([p]) for p in planned]
            wall = await timed(planned)
            walls.append(wall)
            slowest.append(max(alone))
            serial.append(sum(alone))
            print(f"round {round_no + 1}: wall {wall:.3f} s, slowest alone {max(alone):.3f} s, "
                  f"serial sum {sum(alone):.3f} s", flush=True)
    finally:
        for sim in simulators:
            sim.stop()
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
    print(json.dumps(asyncio.run(main())))
