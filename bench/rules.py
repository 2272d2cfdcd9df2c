"""Benchmark: every health rule over one snapshot (target: <= 50 ms).

Collects one real snapshot from each simulator scenario, then times building the rule inputs and running
the whole catalogue over them, many times. Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from pydantic import SecretStr  # noqa: E402

from collectors import collect_all  # noqa: E402
from collectors.runner import run_async  # noqa: E402
from health.engine import evaluate  # noqa: E402
from health.inputs import from_snapshot  # noqa: E402
from health.rules import RULES  # noqa: E402
from settings import EnvironmentSettings, MattermostSettings  # noqa: E402
from simulator import SCENARIOS, start_simulator  # noqa: E402

RUNS = 200


def main() -> dict[str, object]:
    figures: dict[str, float] = {}
    findings_count = 0
    for scenario in SCENARIOS:
        with start_simulator(scenario) as sim:
            env = EnvironmentSettings(name=scenario, label=scenario, mattermost=MattermostSettings(
                url=sim.url, token=SecretStr(sim.admin_token)))
            snapshot = run_async(collect_all(env))
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            findings = evaluate(from_snapshot(snapshot))
            timings.append(time.perf_counter() - started)
        findings_count = max(findings_count, len(findings))
        figures[scenario] = statistics.median(timings) * 1000
        print(f"{scenario}: {len(findings)} findings, median {figures[scenario]:.2f} ms, "
              f"max {max(timings) * 1000:.2f} ms", flush=True)
    return {"rules": len(RULES), "findings": findings_count, "runs": RUNS,
            "median_ms": {k: round(v, 2) for k, v in figures.items()},
            "worst_median_ms": round(max(figures.values()), 2), "target_ms": 50}


if __name__ == "__main__":
    print(json.dumps(main()))
