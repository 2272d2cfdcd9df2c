"""Benchmark: a newcomer's `make run`, from a fresh clone to a populated health page (targets: <= 3 minutes the
first time on this machine, <= 20 s after).

Clones this checkout into a temporary folder beside it, runs `make run` there (which makes the venv, installs
requirements.txt and starts the demo: simulators, PostgreSQL loaded from them, Prometheus with a week backfilled,
slapd), and polls the page in Debian's Chromium until the health page shows its stored run and its score with
every demo server running; then stops it and does it again on the same clone (venv and .demo/ kept). Prints
progress lines, then one JSON object on the last line.

    .venv/bin/python bench/first_run.py [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.streamlit_app import free_port  # noqa: E402

LIMIT_S = 15 * 60
STORED_AGE = re.compile(r"Collected \d+ (s|min) ago .* by ")
EVERY_SERVER = re.compile(r"What the demo started \((\d+) of \1 servers run")


def populated(browser, url: str) -> bool:
    """The health page with its stored run, its score and every demo server running."""
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    try:
        page = context.new_page()
        page.goto(url, timeout=10_000)
        page.get_by_text(STORED_AGE).first.wait_for(state="visible", timeout=10_000)
        page.locator('[data-testid="stMetric"]').filter(has_text="Score").wait_for(timeout=5_000)
        return page.get_by_text(EVERY_SERVER).count() > 0
    except PlaywrightError:
        return False
    finally:
        context.close()


def make_run(clone: Path, browser) -> float:
    port = free_port()
    started = time.perf_counter()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MMDASH_", "VIRTUAL_ENV"))}
    process = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=clone, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.perf_counter() - started < LIMIT_S:
            if process.poll() is not None:
                raise SystemExit(f"make run exited with {process.returncode}")
            if populated(browser, f"http://127.0.0.1:{port}"):
                return time.perf_counter() - started
            time.sleep(1)
        raise SystemExit(f"no populated health page after {LIMIT_S} s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args()
    clone = Path(tempfile.mkdtemp(prefix="mmdash-first-run-", dir=ROOT.parent)) / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    print(f"cloned into {clone}", flush=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            first = make_run(clone, browser)
            print(f"first make run to a populated health page: {first:.1f} s", flush=True)
            later = make_run(clone, browser)
            print(f"later make run: {later:.1f} s", flush=True)
            browser.close()
    finally:
        if not args.keep:
            shutil.rmtree(clone.parent, ignore_errors=True)
    return {"first_run_s": round(first, 1), "later_run_s": round(later, 1), "target_first_s": 180,
            "target_later_s": 20}


if __name__ == "__main__":
    print(json.dumps(main()))
