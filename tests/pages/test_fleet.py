"""AppTest of the fleet page: every environment from the store, never collected ones too, links to health pages."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from collectors.runner import run_async
from health import watch_run
from health.watcher import collect_environment
from settings import load_settings
from store import open_store
from store.utc import utc_now
from tests.pages.conftest import APP


def configure(monkeypatch, healthy, degraded) -> None:
    monkeypatch.setenv("MMDASH_DEFAULT_ENVIRONMENT", "production")  # signing in opens its health page, not dev's
    for name, sim in (("PRODUCTION", healthy), ("STAGING", degraded), ("DEV", healthy)):
        monkeypatch.setenv(f"MMDASH_{name}__MATTERMOST__URL", sim.url)
        monkeypatch.setenv(f"MMDASH_{name}__MATTERMOST__TOKEN", sim.admin_token)


def record(store_path: Path, name: str, age: timedelta) -> None:
    settings = load_settings()
    env = settings.environment(name)
    at = utc_now() - age
    snapshot = dataclasses.replace(run_async(collect_environment(env, 10)), collected_at=at)
    with open_store(None, sqlite_path=store_path) as store:
        watch_run.record(store, settings, env, snapshot, slot=at, holder="host-1:4242")


def fleet_page(sim, *down) -> AppTest:
    """Signed in, then to the fleet page with every simulator in `down` answering 502 from then on."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input[0].set_value(sim.admin_token)
    at.button[0].click().run()
    for other in down:
        other.faults.set("*", status=502)  # a collection would fail from here on: the page must not need one
    at.switch_page("pages/fleet.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Fleet"
    return at


def test_every_environment_in_one_table_from_the_store_alone(monkeypatch, tmp_path, simulator, simulator_factory):
    degraded = simulator_factory("degraded")
    configure(monkeypatch, simulator, degraded)
    record(tmp_path / "store.sqlite3", "production", timedelta(minutes=3))
    record(tmp_path / "store.sqlite3", "staging", timedelta(minutes=1))
    at = fleet_page(simulator, simulator, degraded)

    table = at.dataframe[0].value
    assert list(table["Environment"]) == ["Staging", "Production", "Dev"], table.to_string()
    rows = table.set_index("Environment")
    assert rows.loc["Staging", "Worst firing"] == "critical" and rows.loc["Staging", "Open"] > 0
    assert rows.loc["Production", "Age"] == "3 min" and rows.loc["Production", "Version"]
    assert rows.loc["Dev", "Worst firing"] == "never collected" and rows.loc["Dev", "Age"] == "never collected"
    assert list(rows["Health page"]) == ["/health?env=staging", "/health?env=production", "/health?env=dev"]
    assert rows.loc["Production", "Collected by"] == "watcher host-1:4242"
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Environments"], metrics["Never collected"], metrics["With a critical finding"]) == (
        "3", "1", "1")
    assert "Never collected yet: Dev" in " ".join(c.value for c in at.caption)
    assert not any("HTTP 502" in e.value for e in at.error)


def test_without_a_store_the_fleet_says_why(monkeypatch, simulator):
    from tests.servers.streamlit_app import free_port

    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", simulator.url)
    monkeypatch.setenv("MMDASH_STORE_URL", f"postgresql+psycopg://mmdash:x@127.0.0.1:{free_port()}/mmdash")
    at = fleet_page(simulator)
    assert "The store is unavailable" in at.error[0].value
