"""Benchmark: the health page's 30-day history for one environment collected every minute, on SQLite and (when
its binaries are installed) a real PostgreSQL: what retention leaves of 30 days, 7 days raw (10,080 rows) plus
23 daily rows, each with every key figure, the compact findings and the sources of a real run.

    .venv/bin/python bench/history.py [--interval 60] [--rounds 5]

Prints one line per engine, then one JSON object on the last line (medians in seconds; target: trend ≤ 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from sqlalchemy import insert  # noqa: E402

from health import history, history_diff, history_timeline, history_trends  # noqa: E402
from health.engine import evaluate  # noqa: E402
from health.findings import verdict  # noqa: E402
from health.key_figures import KEY_FIGURES  # noqa: E402
from store import Store, open_store  # noqa: E402
from store.tables import health_snapshots  # noqa: E402
from tests.health.conftest import make_inputs  # noqa: E402
from tests.servers.postgres import PostgresServer, find_bindir  # noqa: E402

ENVIRONMENT = "production"
TARGET_S = 0.5
RAW_DAYS, DAYS = 7, 30
SOURCES = {name: {"status": "ok", "elapsed_ms": 120, "error": None}
           for name in ("mattermost", "database", "prometheus", "ldap")}


def seed(store: Store, interval_s: int, now: datetime) -> int:
    """A month as retention leaves it: one row a day for days 30..8, then one every `interval_s` for 7 days."""
    findings = evaluate(make_inputs(config_changes={"LogSettings.FileLevel": "DEBUG"}))
    compact = history.compact_findings(findings, verdict(findings))
    # Daily rows a few minutes inside their day, so the oldest one is still in the window when it is read.
    moments = [(now - timedelta(days=d, minutes=-5), history.DAILY) for d in range(DAYS, RAW_DAYS, -1)]
    moments += [(now - timedelta(seconds=s), history.RAW) for s in range(RAW_DAYS * 86400, 0, -interval_s)]
    rows = [{"environment": ENVIRONMENT, "collected_at": at, "slot": at, "tier": tier, "collected_by": "bench",
             "figures": {f.name: float(1000 + i % 300) for f in KEY_FIGURES}, "findings": compact,
             "sources": SOURCES, "details_hash": "bench"} for i, (at, tier) in enumerate(moments)]
    with store.writing() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(insert(health_snapshots), rows[start:start + 1000])
    return len(rows)


def median_seconds(call: Callable[[], object], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return round(sorted(timings)[len(timings) // 2], 4)


def time_history_query(store: Store, environment: str = ENVIRONMENT, rounds: int = 5) -> float:
    """Median seconds of the 30-day trend query the History section runs."""
    return median_seconds(lambda: history_trends.trend_frame(store, environment, days=DAYS), rounds)


def measure(store: Store, interval_s: int, rounds: int) -> dict[str, float | int]:
    now = datetime.now(UTC)
    rows = seed(store, interval_s, now)
    frame = history_trends.trend_frame(store, ENVIRONMENT, days=DAYS)
    if len(frame) != rows:
        raise SystemExit(f"the trend read {len(frame)} of {rows} snapshots")
    return {"rows": rows, "trend_s": time_history_query(store, rounds=rounds),
            "choices_s": median_seconds(lambda: history_diff.snapshot_choices(store, ENVIRONMENT, DAYS), rounds),
            "timeline_s": median_seconds(lambda: history_timeline.findings_timeline(store, ENVIRONMENT, DAYS),
                                         rounds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=int, default=60, help="seconds between collections")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, object] = {"interval_s": args.interval, "target_s": TARGET_S}
    with tempfile.TemporaryDirectory() as folder, open_store(None, sqlite_path=Path(folder) / "store.sqlite3") as s:
        figures["sqlite"] = measure(s, args.interval, args.rounds)
    print(f"sqlite: {figures['sqlite']}", flush=True)
    bindir = find_bindir()
    if bindir is None:
        figures["postgresql"] = None
        print("postgresql: not measured (no PostgreSQL server binaries)", flush=True)
    else:
        server = PostgresServer(bindir)
        try:
            server.start()
            with open_store(server.url(server.create_database())) as store:
                figures["postgresql"] = measure(store, args.interval, args.rounds)
        finally:
            server.stop()
        print(f"postgresql: {figures['postgresql']}", flush=True)
    measured = [f for f in (figures["sqlite"], figures["postgresql"]) if isinstance(f, dict)]
    figures["within_target"] = all(f["trend_s"] <= TARGET_S for f in measured)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
