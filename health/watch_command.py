"""`python -m health watch`: collect every environment on its schedule until stopped (SIGTERM or Ctrl-C).

    python -m health watch [--env NAME ...] [--once] [--format text|json]

Each run prints one line (JSON with --format json, for log shippers). Several watchers may share one PostgreSQL
store: each environment is still collected once per interval. Exit status: 0 stopped, 2 unusable settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence

from health.watcher import RunOutcome, Watcher
from settings import EnvironmentSettings, Settings, SettingsError, load_settings

STORE_RETRY_S = 10.0
log = logging.getLogger("mmdash.watcher")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m health watch",
                                     description="Collect and judge every environment on its own schedule.")
    parser.add_argument("--env", action="append", help="only this environment (repeat for more; default: all)")
    parser.add_argument("--once", action="store_true", help="one run of each environment, then exit")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser.parse_args(argv)


def _line(outcome: RunOutcome, fmt: str, *, once: bool) -> str | None:
    if outcome.status == "claimed_elsewhere" and not once:
        return None  # another watcher has this interval: nothing happened here worth a line
    if fmt == "json":
        return json.dumps(outcome.as_json())
    text = f"{outcome.slot:%Y-%m-%d %H:%M} {outcome.environment}: {outcome.status} ({outcome.elapsed_ms:,.0f} ms)"
    if outcome.record is not None:
        text += f", {outcome.record.verdict}"
        text += "".join(f"; {c.kind.value} {c.finding.code}" + (f" [{c.finding.subject}]" if c.finding.subject else "")
                        for c in outcome.record.changes)
    return text + (f": {outcome.error}" if outcome.error else "")


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the runs
    try:
        settings = load_settings()
        names = args.env or list(settings.environments)
        for name in names:
            settings.environment(name)
    except SettingsError as exc:
        print(f"error: settings are not usable: {exc}", file=sys.stderr)
        return 2
    from demo.deployment import demo_environments  # only demo environments need the simulator

    with demo_environments(settings, names) as effective:
        return asyncio.run(_watch(settings, names, effective, args))


def _open_store_until_stopped(settings: Settings, stop: asyncio.Event):
    from health.check import open_settings_store
    from store import StoreError

    while not stop.is_set():
        try:
            return open_settings_store(settings)
        except StoreError as exc:
            log.error("the store cannot be opened, trying again in %.0f s: %s", STORE_RETRY_S, exc)
            time.sleep(STORE_RETRY_S)
    return None


async def _watch(settings: Settings, names: list[str], effective: dict[str, EnvironmentSettings],
                 args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    store = await asyncio.to_thread(_open_store_until_stopped, settings, stop)
    if store is None:
        return 0

    def printed(outcome: RunOutcome) -> None:
        line = _line(outcome, args.format, once=args.once)
        if line is not None:
            print(line, flush=True)

    watcher = Watcher(settings, store, environments=names, resolve=lambda env: effective[env.name],
                      on_run=printed)
    try:
        if args.once:
            await watcher.tick()
            await watcher.drain()
        else:
            await watcher.run(stop)
    finally:
        store.close()
    return 0
