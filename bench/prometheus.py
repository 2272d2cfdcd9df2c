"""Benchmark: the whole PromQL catalogue over 7 days, end to end (discovery included), against a real Prometheus.

The Prometheus holds a week of the large scenario's five nodes, backfilled with promtool, and scrapes the
simulator live (the test fixture's server). Each round is one collector call, on the event loop the app uses;
the figure is the median of ROUNDS. Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from collectors.base import SourceStatus  # noqa: E402
from collectors.mm_queries import CATALOGUE  # noqa: E402
from collectors.prometheus import run_queries  # noqa: E402
from collectors.runner import run_async  # noqa: E402
from simulator import start_simulator  # noqa: E402
from tests.servers.prometheus import PrometheusServer  # noqa: E402

SCENARIO = "large"
RANGE_DAYS = 7
ROUNDS = 5
TARGET_S = 2.0


def main() -> int:
    with start_simulator(SCENARIO) as sim:
        server = PrometheusServer(simulator=sim)
        try:
            started = time.perf_counter()
            server.start()
            print(f"Prometheus ready with {server.samples:,} backfilled samples of {len(sim.model.nodes)} nodes "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)
            settings = server.settings()
            walls: list[float] = []
            points = 0
            for round_ in range(1, ROUNDS + 1):
                end = datetime.now(UTC)
                began = time.perf_counter()
                result = run_async(run_queries(settings, CATALOGUE, end - timedelta(days=RANGE_DAYS), end))
                walls.append(time.perf_counter() - began)
                if result.status is not SourceStatus.OK:
                    raise SystemExit(f"the collection failed: {result.error}")
                points = result.data.points
                print(f"round {round_}: {walls[-1]:.3f} s, {len(result.data.results)} queries, {points:,} points, "
                      f"step {result.data.step_s} s", flush=True)
        finally:
            server.stop()
    wall = statistics.median(walls)
    print(json.dumps({"queries": len(CATALOGUE), "range_days": RANGE_DAYS, "wall_s": round(wall, 3),
                      "target_s": TARGET_S, "points": points}))
    return 0 if wall <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
