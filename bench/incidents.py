"""Benchmark: incidents (targets: a 10,000-event timeline renders <= 1 s after its data is loaded; forwarding
keeps up with 1,000 posts per minute).

Timeline part: builds 10,000 timeline events for one incident, then measures computing its metrics, building the
plotly figure and serialising it (fig.to_json), and rendering it in Debian's Chromium through Playwright from a
static HTML page with plotly.js inline. The render time runs from the moment the figure's JSON is in the page
(parsing it included) until Plotly has drawn it and the browser has painted. Each figure is a median of tries.
The forwarding part lives in bench/incidents_forwarding.py (`measure_forwarding()`).
Prints progress lines, then one JSON object on the last line.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from playwright.sync_api import Browser, sync_playwright  # noqa: E402
from plotly.offline import get_plotlyjs  # noqa: E402

from bench.incidents_forwarding import measure_forwarding  # noqa: E402
from incidents import timeline  # noqa: E402
from incidents.models import ChecklistItem, EventType, Incident, Stage, TimelineEvent  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

EVENTS = 10_000
TRIES = 5
TARGET_S = 1.0
TIMEOUT_MS = 30_000
STAGES = ("Triage", "Investigate", "Mitigate", "Resolve", "Review")
# A long, busy incident: mostly forwarded messages and checklist work, a few stage and commander changes.
EVENT_MIX = {
    EventType.MESSAGE_FORWARDED: 50, EventType.ITEM_CHECKED: 15, EventType.ITEM_UNCHECKED: 5,
    EventType.ITEM_ADDED: 8, EventType.ITEM_REMOVED: 2, EventType.WEBHOOK_SENT: 15, EventType.WEBHOOK_FAILED: 5,
}

# Draws the figure whose JSON sits in the page, and answers how long that took, until the browser painted it.
RENDER_JS = """async () => {
  const started = performance.now();
  const figure = JSON.parse(document.getElementById('figure').textContent);
  const plot = document.getElementById('plot');
  await Plotly.newPlot(plot, figure.data, figure.layout);
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const elapsed = performance.now() - started;
  const points = plot._fullData.reduce((sum, trace) => sum + trace.x.length, 0);
  return {elapsed_ms: elapsed, points: points, webgl_canvases: plot.querySelectorAll('canvas').length};
}"""


def busy_incident(count: int = EVENTS) -> tuple[Incident, list[TimelineEvent]]:
    rng = random.Random(6)
    started = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    actors = [f"user{n:02d}" for n in range(25)]
    stages = tuple(Stage(name, tuple(ChecklistItem(f"{name}-{i}", f"{name} step {i}") for i in range(10)))
                   for name in STAGES)
    span = timedelta(hours=8)
    moments = sorted(started + span * rng.random() for _ in range(count - 2 - (len(STAGES) - 1) - 3))
    events = [TimelineEvent(started, EventType.STARTED, "alice", "@alice started the incident")]
    kinds = rng.choices(list(EVENT_MIX), weights=list(EVENT_MIX.values()), k=len(moments))
    for moment, kind in zip(moments, kinds, strict=True):
        events.append(TimelineEvent(moment, kind, rng.choice(actors), f"{kind.replace('_', ' ')} at {moment:%H:%M:%S}",
                                    {"n": len(events)}))
    for n, (source, target) in enumerate(itertools.pairwise(STAGES), start=1):
        events.append(TimelineEvent(started + span * n / len(STAGES), EventType.STAGE_CHANGED, "alice",
                                    f"@alice moved the incident to stage {target}", {"from": source, "to": target}))
    for n in range(3):
        events.append(TimelineEvent(started + timedelta(minutes=20 + 90 * n), EventType.COMMANDER_CHANGED, "alice",
                                    f"@alice made @{actors[n]} commander", {"to": actors[n]}))
    ended = started + span
    events.append(TimelineEvent(ended, EventType.ENDED, "alice", "@alice ended the incident"))
    incident = Incident(id="bench", environment="bench", playbook_id="outage", name="Benchmark outage",
                        team_id="team", channel_id="channel", channel_name="incident-benchmark",
                        commander_id="alice", stages=stages, stage_index=len(STAGES) - 1, started_at=started,
                        started_by="alice", ended_at=ended, ended_by="alice")
    return incident, sorted(events, key=lambda e: e.at)


def median_seconds(action: Callable[[], object], tries: int = TRIES) -> float:
    times = []
    for _ in range(tries):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def page_html(figure_json: str) -> str:
    # "</" cannot appear inside the script element's JSON: a summary could otherwise end the element early.
    data = figure_json.replace("</", "<\\/")
    return (f"<!doctype html><html><head><meta charset='utf-8'><script>{get_plotlyjs()}</script></head>"
            f"<body><div id='plot' style='width:1400px;height:600px'></div>"
            f"<script id='figure' type='application/json'>{data}</script></body></html>")


def render_in_browser(browser: Browser, page_url: str, expected_points: int) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(page_url, wait_until="load")
    result = page.evaluate(RENDER_JS)
    context.close()
    if result["points"] != expected_points or not result["webgl_canvases"]:
        raise RuntimeError(f"the browser drew {result['points']} of {expected_points} points on "
                           f"{result['webgl_canvases']} canvases: the timeline did not render")
    return result["elapsed_ms"] / 1000


def timeline_figures() -> dict[str, float | int]:
    incident, events = busy_incident()
    print(f"built {len(events)} timeline events", flush=True)
    metrics_s = median_seconds(lambda: timeline.metrics(incident, events))
    print(f"metrics: {metrics_s:.3f} s", flush=True)
    figure_s = median_seconds(lambda: timeline.figure(events).to_json())
    figure_json = timeline.figure(events).to_json()
    print(f"figure + to_json: {figure_s:.3f} s ({len(figure_json) / 1e6:.1f} MB of JSON)", flush=True)
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
        html_file = Path(workdir) / "timeline.html"
        html_file.write_text(page_html(figure_json), encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            renders = [render_in_browser(browser, html_file.as_uri(), len(events)) for _ in range(TRIES)]
        finally:
            browser.close()
    print("browser render after data loaded: " + ", ".join(f"{t:.2f}" for t in renders) + " s", flush=True)
    return {
        "timeline_events": len(events),
        "metrics_s": round(metrics_s, 3),
        "figure_s": round(figure_s, 3),
        "browser_render_s": round(statistics.median(renders), 3),
        "target_s": TARGET_S,
    }


def main() -> dict[str, object]:
    return {**timeline_figures(), **measure_forwarding()}


if __name__ == "__main__":
    print(json.dumps(main()))
