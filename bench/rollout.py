"""Benchmark: the Rollout page with 300 items in 3 environments renders <= 1 s after its data is loaded.

Writes a 300-item checklist (3 phases × 10 sections × 10 items, some with system checks) and a SQLite store with
weeks of progress saves for every item in production, staging and dev, then starts the real app on the demo with
both. In Debian's Chromium (Playwright) it opens the Rollout page, shows each view once so the caches are warm
(live snapshots, checklist file), then times switching to the "Checklist" and "Environments" views: from the click
to the view's last element on screen with the script finished. For context, the same two views are also timed
in-process with Streamlit's AppTest (server-side script time only, caches warm). Each figure is the median of 5.
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
import streamlit as st  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from checklists import progress  # noqa: E402
from checklists.loader import VERIFY_RULES, Rollout, load_rollout  # noqa: E402
from checklists.progress import ItemProgress, Status  # noqa: E402
from settings import DEMO_ENVIRONMENTS  # noqa: E402
from store import Store, open_store  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers.streamlit_app import StreamlitApp  # noqa: E402

PHASES, SECTIONS, ITEMS = 3, 10, 10
ENVIRONMENTS = list(DEMO_ENVIRONMENTS)  # production, staging, dev: the demo's, so every one has a live system
VERIFY_EVERY = 7  # one item in seven names a system check, about the shipped checklist's share
HISTORY_DAYS = 60
OWNERS = ["", "alice", "bob", "carol", "dave", "erin", "frank"]
SEED = 20_241_105
TRIES = 5
TIMEOUT_MS = 60_000
TARGET_S = 1.0
# The last element each view draws: when it is on screen and the script has finished, the view is complete.
LAST_SECTION_TITLE = f"Phase {PHASES} section {SECTIONS}"
VIEWS = ("Checklist", "Environments")


# ------------------------------------------------------------------------------------------------- the data

def checklist_yaml() -> dict:
    rules = sorted(VERIFY_RULES)
    phases = []
    counter = 0
    for p in range(1, PHASES + 1):
        sections = []
        for s in range(1, SECTIONS + 1):
            items = []
            for i in range(1, ITEMS + 1):
                item = {"id": f"phase-{p}.section-{s:02d}.item-{i:02d}",
                        "text": f"Item {i} of phase {p}, section {s}: agree, carry out and record the step with "
                                f"the people who own it."}
                if counter % VERIFY_EVERY == 0:
                    item["verify"] = rules[(counter // VERIFY_EVERY) % len(rules)]
                items.append(item)
                counter += 1
            sections.append({"id": f"phase-{p}.section-{s:02d}", "number": s,
                             "title": f"Phase {p} section {s}", "items": items})
        phases.append({"id": f"phase-{p}", "title": f"Phase {p}", "summary": f"The work of phase {p}.",
                       "sections": sections})
    return {"version": 1, "title": "Benchmark roll-out checklist", "phases": phases}


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Saves stamped at `moment`: the store reads the time from store.store.utc_now, so history spans weeks."""
    module = importlib.import_module("store.store")
    original = module.utc_now
    module.utc_now = lambda: moment
    try:
        yield
    finally:
        module.utc_now = original


def fill_store(store: Store, rollout: Rollout, rng: random.Random) -> int:
    """Every item in every environment saved 1 to 4 times over HISTORY_DAYS, moving forward towards its status."""
    now = datetime.now(UTC)
    steps = [Status.TODO, Status.IN_PROGRESS, Status.DONE]
    saves = []
    for environment in ENVIRONMENTS:
        for _, _, item in rollout.items():
            final = rng.choices([*steps, Status.NOT_APPLICABLE], weights=[3, 3, 5, 1])[0]
            path = steps[:steps.index(final) + 1] if final in steps else [Status.TODO, final]
            days = sorted(rng.sample(range(HISTORY_DAYS), len(path) + rng.randint(0, 1)))
            statuses = path + path[-1:] * (len(days) - len(path))
            owner = rng.choice(OWNERS)
            due = (now + timedelta(days=rng.randint(-30, 45))).date()
            for day, status in zip(days, statuses, strict=True):
                at = now - timedelta(days=HISTORY_DAYS - day, minutes=rng.randint(0, 600))
                saves.append((at, ItemProgress(item.id, environment, status, owner, due, notes=f"saved {day}")))
    saves.sort(key=lambda save: save[0])
    versions: dict[tuple[str, str], int] = {}
    for at, item in saves:
        with clock_at(at):
            saved = progress.save(store, ItemProgress(**{**item.__dict__, "version": versions.get(
                (item.environment, item.item_id))}), actor="bench")
        versions[(item.environment, item.item_id)] = saved.version
    return len(saves)


# ------------------------------------------------------------------------------------------------- the browser

def view_done(page: Page, view: str) -> None:
    if view == "Checklist":
        page.locator('[data-testid="stExpander"]').filter(has_text=LAST_SECTION_TITLE).wait_for(
            state="visible", timeout=TIMEOUT_MS)
    else:
        page.locator('[data-testid="stPlotlyChart"]').last.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)


def show_view(page: Page, view: str) -> float:
    started = time.perf_counter()
    # A segmented control is a radio group: its options are radios.
    page.get_by_role("radiogroup", name="View").get_by_role("radio", name=view, exact=True).click()
    view_done(page, view)
    return time.perf_counter() - started


def browser_times(url: str) -> dict[str, list[float]]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 1200}).new_page()
            page.goto(url)
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Rollout", exact=True).click()
            view_done(page, "Checklist")
            # Another view between two timed ones, so every click really switches (and runs the script again).
            warm = show_view(page, "Environments")
            warm += show_view(page, "Checklist")
            print(f"browser: warm-up of both views {warm:.2f} s", flush=True)
            times: dict[str, list[float]] = {view: [] for view in VIEWS}
            for _ in range(TRIES):
                for view in ("Environments", "Checklist"):
                    times[view].append(show_view(page, view))
            return times
        finally:
            browser.close()


# ------------------------------------------------------------------------------------------------- AppTest

def apptest_times(checklist: Path, sqlite: Path, workdir: Path) -> dict[str, list[float]]:
    """Server-side script time, in this process: the app with the same files, views switched as in the browser."""
    for name in [n for n in os.environ if n.startswith("MMDASH_")]:
        del os.environ[name]
    os.environ.update({"MMDASH_SECRETS_FILE": str(workdir / "no-secrets.toml"),
                       "MMDASH_ROLLOUT_CHECKLIST": str(checklist), "MMDASH_SQLITE_PATH": str(sqlite)})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/rollout.py").run()

    def show(view: str) -> float:
        started = time.perf_counter()
        at.segmented_control(key="rollout_view").set_value(view).run()
        elapsed = time.perf_counter() - started
        if at.exception or at.error:
            raise SystemExit(f"the {view} view failed in AppTest: {at.exception or [e.value for e in at.error]}")
        return elapsed

    try:
        show("Environments")
        show("Checklist")
        times: dict[str, list[float]] = {view: [] for view in VIEWS}
        for _ in range(TRIES):
            for view in ("Environments", "Checklist"):
                times[view].append(show(view))
    finally:
        st.cache_resource.clear()  # releases (stops) the demo deployments this process started
    return times


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main() -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        checklist = workdir / "rollout.yaml"
        checklist.write_text(yaml.safe_dump(checklist_yaml(), sort_keys=False), encoding="utf-8")
        rollout = load_rollout(checklist)
        items = sum(1 for _ in rollout.items())
        sqlite = workdir / "store.sqlite3"
        store = open_store(None, sqlite_path=sqlite)
        started = time.perf_counter()
        saves = fill_store(store, rollout, random.Random(SEED))
        store.close()
        print(f"{items} items, {saves} progress saves in {len(ENVIRONMENTS)} environments over {HISTORY_DAYS} days "
              f"({time.perf_counter() - started:.1f} s)", flush=True)

        app = StreamlitApp({"MMDASH_ROLLOUT_CHECKLIST": str(checklist), "MMDASH_SQLITE_PATH": str(sqlite)}, workdir)
        try:
            browser = browser_times(app.url)
        finally:
            app.stop()
        for view in VIEWS:
            print(f"browser, {view}: " + ", ".join(f"{t:.2f}" for t in browser[view]) + " s", flush=True)
        server = apptest_times(checklist, sqlite, workdir)
        for view in VIEWS:
            print(f"AppTest, {view}: " + ", ".join(f"{t:.2f}" for t in server[view]) + " s", flush=True)
    return {
        "items": items,
        "environments": len(ENVIRONMENTS),
        "checklist_view_s": median(browser["Checklist"]),
        "environments_view_s": median(browser["Environments"]),
        "apptest_checklist_s": median(server["Checklist"]),
        "apptest_environments_s": median(server["Environments"]),
        "target_s": TARGET_S,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
