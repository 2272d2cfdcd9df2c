"""Benchmark: the database collector against a Mattermost-shaped database with 5,000,000 posts (target: <= 0.5 s).

Starts its own PostgreSQL (the test suite's throwaway-cluster helper, on 127.0.0.1), loads the schema with a year
of posts, then VACUUM ANALYZE so the statistics are current and autovacuum does not wake up halfway through the
timings. Times the whole collector (connect, session settings, every query) and, for scale, a plain
`SELECT COUNT(*) FROM posts` on an open connection; each the median of 5 runs after one warm-up.
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
import psycopg  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from collectors.base import SourceStatus  # noqa: E402
from collectors.database import collect  # noqa: E402
from collectors.runner import run_async  # noqa: E402
from settings import DatabaseSettings  # noqa: E402
from tests.servers.mattermost_schema import DAY_MS, build_mattermost_database  # noqa: E402
from tests.servers.postgres import INSTALL_HINT, PostgresServer, find_bindir  # noqa: E402

ROWS = 5_000_000
SPAN_DAYS = 365
ROUNDS = 5
TARGET_S = 0.5


def timed_collector(settings: DatabaseSettings) -> float:
    started = time.perf_counter()
    result = run_async(collect(settings, None))
    elapsed = time.perf_counter() - started
    if result.status is not SourceStatus.OK:
        raise SystemExit(f"the collector did not read every fact: {result.error}")
    return elapsed


def timed_count(conn: psycopg.Connection, rows: int) -> float:
    started = time.perf_counter()
    counted = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    elapsed = time.perf_counter() - started
    if counted != rows:
        raise SystemExit(f"COUNT(*) found {counted} posts, expected {rows}")
    return elapsed


def main(rows: int) -> dict[str, float]:
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(INSTALL_HINT)
    server = PostgresServer(bindir)
    try:
        print("starting PostgreSQL", flush=True)
        server.start()
        name = server.create_database("mattermost_bench")
        dsn = server.dsn.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            print(f"loading {rows:,} posts over {SPAN_DAYS} days", flush=True)
            started = time.perf_counter()
            build_mattermost_database(conn, posts=rows, post_interval_ms=SPAN_DAYS * DAY_MS // rows)
            conn.execute("VACUUM ANALYZE")
            print(f"loaded and analyzed in {time.perf_counter() - started:.1f} s", flush=True)

            settings = DatabaseSettings(dsn=SecretStr(dsn), timeout_seconds=30)
            print(f"warm-up: collector {timed_collector(settings):.3f} s, COUNT(*) {timed_count(conn, rows):.3f} s",
                  flush=True)
            collector, count_star = [], []
            for round_no in range(1, ROUNDS + 1):
                collector.append(timed_collector(settings))
                count_star.append(timed_count(conn, rows))
                print(f"round {round_no}: collector {collector[-1]:.3f} s, COUNT(*) {count_star[-1]:.3f} s",
                      flush=True)
    finally:
        server.stop()
    collector_s, count_star_s = statistics.median(collector), statistics.median(count_star)
    return {
        "rows": rows,
        "collector_s": round(collector_s, 3),
        "count_star_s": round(count_star_s, 3),
        "ratio_to_count_star": round(collector_s / count_star_s, 3),
        "target_s": TARGET_S,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="posts to load (default: %(default)s)")
    print(json.dumps(main(parser.parse_args().rows)))
