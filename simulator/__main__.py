"""python -m simulator: serve a scenario until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from simulator.scenarios import SCENARIOS
from simulator.server import is_loopback, start_simulator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Serve a stand-in Mattermost server.")
    parser.add_argument("--port", type=int, default=8065, help="port to listen on (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only by default)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="healthy")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every API answer by this much")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (this is a test double with printed credentials)")
    args = parser.parse_args(argv)
    if not args.allow_remote and not is_loopback(args.host):
        parser.error(f"--host {args.host} is not a loopback address; add --allow-remote if you really mean it")
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    # Handlers go in before the server starts so an early SIGTERM still stops it cleanly.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        sim = start_simulator(args.scenario, args.host, args.port, latency_ms=args.latency_ms,
                              allow_remote=args.allow_remote)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        print(f"Mattermost simulator ({sim.scenario}) serving {sim.url}", flush=True)
        print(f"url: {sim.url}", flush=True)
        print(f"admin token: {sim.admin_token}", flush=True)
        print(f"user token: {sim.user_token}", flush=True)
        print(f"admin login: {sim.admin_username} / {sim.admin_password}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            if not sim.running:
                return 1
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
