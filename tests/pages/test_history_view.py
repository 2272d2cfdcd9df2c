"""AppTest of the health page's History section over a SQLite store filled with a month of snapshots, a finding
that fired, was muted and resolved, and an upgrade between two days (a setting, a secret, a plugin)."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy
import pytest
from streamlit.testing.v1 import AppTest

from health import finding_states, history, lifecycle, mutes
from health.engine import evaluate
from health.findings import verdict
from health.mutes import Mute, MuteKind
from health.snapshot_details import details_hash, flatten_config
from store import Store, open_store
from tests.health.conftest import BASE_CONFIG, make_inputs

ENV = "production"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
UPGRADED_AT = NOW - timedelta(hours=12)
BROKEN = {"ServiceSettings.SiteURL": ""}  # fires SITE_URL_EMPTY
FIXED = {"ServiceSettings.SiteURL": "https://chat.example.com"}


def _config(changes: dict[str, object]) -> dict:
    config = copy.deepcopy(BASE_CONFIG)
    for path, value in changes.items():
        section, name = path.split(".")
        config[section][name] = value
    return config


def _make_up(upgraded: bool) -> dict:
    changes = {**FIXED, "SqlSettings.DataSource": f"postgres://mm:{'new' if upgraded else 'old'}-pw@db/mm",
               "TeamSettings.MaxUsersPerTeam": 250 if upgraded else 50}
    return {"version": "11.6.1" if upgraded else "11.5.2", "build": {"number": "16" if upgraded else "15"},
            "edition": "enterprise", "license": {"is_licensed": True, "seats": 2000, "sku": "enterprise"},
            "plugins": {"playbooks": {"version": "2.3.1" if upgraded else "2.1.0", "enabled": True}},
            "config": flatten_config(_config(changes), "history-key")}


def _record_lifecycle(store: Store, findings, at: datetime) -> None:
    # What finding_states.record_run stores, backdated with `at` so the timeline spreads over the month.
    document = store.get(finding_states.KIND, finding_states.KEY, ENV)
    previous = {k: lifecycle.Tracked.from_json(v) for k, v in document.body["findings"].items()} if document else {}
    tracked, changes = lifecycle.advance(previous, findings, at)
    store.put(finding_states.KIND, finding_states.KEY, ENV,
              {"findings": {k: v.to_json() for k, v in tracked.items()}, "last_run": {"at": at.isoformat()}},
              actor="watcher w1", expected_version=document.version if document else None, at=at,
              audit_details={kind.value: [c.finding.fingerprint for c in changes if c.kind is kind]
                             for kind in lifecycle.ChangeKind})


def _mute(store: Store, at: datetime, until: datetime) -> None:
    mute = Mute("SITE_URL_EMPTY", None, MuteKind.MUTE, "DNS move this week", "alice", at, until)
    store.put(mutes.KIND, mute.fingerprint, ENV, mute.body(), actor="alice", expected_version=None, at=at,
              audit_details={"change": "mute", "code": mute.code, "subject": None})


def fill(store: Store, now: datetime = NOW) -> None:
    """23 daily snapshots, then one every 15 minutes for 7 days, the database size missing for a few hours."""
    broken, fixed = evaluate(make_inputs(config_changes=BROKEN)), evaluate(make_inputs(config_changes=FIXED))
    moments = [now - timedelta(days=d) for d in range(30, 7, -1)]
    moments += [now - timedelta(minutes=m) for m in range(7 * 24 * 60, -1, -15)]
    for index, at in enumerate(moments):
        findings = broken if now - timedelta(days=5) <= at < now - timedelta(days=2) else fixed
        figures = {"registered_users": 1200.0 + index / 10, "daily_active_users": 400.0 + index % 96,
                   "monthly_active_users": 900.0, "dau_mau_percent": 44.4, "posts_per_day": 3000.0 + index % 50,
                   "database_bytes": None if now - timedelta(hours=30) <= at < now - timedelta(hours=26)
                   else 5e9 + index * 1e6, "api_p99_seconds": 0.35, "http_error_percent": 0.2}
        made_of = _make_up(at >= UPGRADED_AT)
        history.save(store, ENV, collected_at=at, slot=at, collected_by="test", figures=figures,
                     findings=history.compact_findings(findings, verdict(findings)), sources={},
                     details=made_of, details_key=details_hash(made_of), report={"findings": []})
    history.prune(store, now, raw_days=7, daily_days=60)
    for opened, resolved in ((21, 20), (5, 2)):  # days ago: fired, resolved, then back (reopened) and resolved
        _record_lifecycle(store, broken, now - timedelta(days=opened))
        _record_lifecycle(store, fixed, now - timedelta(days=resolved))
    _mute(store, now - timedelta(days=4), now - timedelta(days=3))


@pytest.fixture(scope="module")
def filled_store_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("history") / "store.sqlite3"
    with open_store(None, sqlite_path=path) as store:
        fill(store)
    return path


def history_section(store_path: str | None) -> None:
    from pathlib import Path

    from settings import EnvironmentSettings, Settings
    from store import open_store
    from ui.context import PageContext
    from ui.history_view import render_history

    env = EnvironmentSettings(name="production", label="Production")
    settings = Settings(environments={"production": env}, default_environment="production")
    store = open_store(None, sqlite_path=Path(store_path)) if store_path else None
    try:
        render_history(PageContext(settings, env, None, store, "admin"))
    finally:
        if store is not None:
            store.close()


def run(store_path: Path | str | None) -> AppTest:
    at = AppTest.from_function(history_section, args=(str(store_path) if store_path else None,),
                               default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _values(encoded: dict | list) -> numpy.ndarray:
    # Plotly sends numeric arrays base64-encoded ("bdata" with its dtype).
    if isinstance(encoded, list):
        return numpy.array(encoded, dtype=float)
    return numpy.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])


def test_without_a_store_it_says_why_history_is_unavailable() -> None:
    at = run(None)
    assert "History is unavailable" in at.info[0].value and not at.subheader


def test_an_empty_store_says_history_fills_in_with_the_watcher(tmp_path) -> None:
    at = run(tmp_path / "empty.sqlite3")
    text = " ".join(i.value for i in at.info)
    assert "No snapshot stored in the last 30 days yet" in text and "Comparing needs two stored snapshots" in text
    assert "No finding fired" in at.success[0].value


def test_trends_draw_one_chart_per_collected_figure_with_unit_and_source(filled_store_path) -> None:
    at = run(filled_store_path)
    assert [s.value for s in at.subheader] == ["Key figures, last 30 days", "Findings timeline",
                                               "What changed between two snapshots"]
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    titles = [spec["layout"].get("title", {}).get("text") for spec in specs]
    assert set(titles) - {None} == {"Registered users", "Daily active users", "Monthly active users", "DAU/MAU",
                          "Posts per day", "Database size", "API latency p99 (worst node)",
                          "HTTP error rate (worst node)"}
    database = _values(specs[titles.index("Database size")]["data"][0]["y"])
    assert numpy.isnan(database).sum() >= 16 and not (database == 0).any(), "hours without a reading stay a gap"
    no_data = " ".join(i.value for i in at.info)
    assert "Goroutines (all nodes)**: no data yet" in no_data and "WebSocket connections**: no data yet" in no_data
    captions = " ".join(c.value for c in at.caption)
    assert "Unit: bytes · source: PostgreSQL (pg_database_size)" in captions
    assert "695 snapshots" in captions  # 23 daily + 7 days at 15 minutes (672 + the newest)


def test_timeline_shows_the_finding_firing_muted_and_resolved(filled_store_path) -> None:
    at = run(filled_store_path)
    chart = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                 if json.loads(c.proto.spec)["layout"].get("barmode") == "overlay")
    names = {trace["name"] for trace in chart["data"]}
    assert {"while open", "while muted", "fired", "reopened", "resolved", "muted"} <= names
    events = next(df.value for df in at.dataframe if "Event" in df.value.columns)
    site_url = events[events["Code"] == "SITE_URL_EMPTY"]
    assert sorted(site_url["Event"]) == ["fired", "muted", "reopened", "resolved", "resolved"]
    assert set(site_url[site_url["Event"] == "muted"]["Why"]) == {"DNS move this week"}


def test_comparison_defaults_to_a_day_apart_and_shows_the_upgrade(filled_store_path) -> None:
    at = run(filled_store_path)
    older, newer = at.selectbox(key="history-older"), at.selectbox(key="history-newer")
    with open_store(None, sqlite_path=filled_store_path) as store:
        picked = [history.one(store, choice.value).collected_at for choice in (older, newer)]
    assert picked == [NOW - timedelta(days=1), NOW]
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    versions = next(df.value for df in at.dataframe if "Version" in set(df.value.get("What", [])))
    assert any("Verdict" in set(df.value.get("What", [])) for df in at.dataframe)
    assert versions[versions["What"] == "Version"].iloc[0].tolist() == ["Version", "11.5.2", "11.6.1", "upgraded"]
    settings = tables[("Setting", "Before", "After", "Change")]
    rows = {row.Setting: (row.Before, row.After, row.Change) for row in settings.itertuples()}
    assert rows["TeamSettings.MaxUsersPerTeam"] == ("50", "250", "changed")
    assert rows["SqlSettings.DataSource"] == ("(secret)", "(secret)", "changed")
    plugins = tables[("Plugin", "Before", "After", "Change")]
    assert plugins.iloc[0].tolist() == ["playbooks", "2.1.0 (enabled)", "2.3.1 (enabled)", "upgraded"]
    page = " ".join(str(df.value.to_dict()) for df in at.dataframe) + " ".join(m.value for m in at.markdown)
    assert "keyed hash" not in page and "-pw@" not in page


def test_picking_one_snapshot_twice_says_pick_two(filled_store_path) -> None:
    at = run(filled_store_path)
    newer = at.selectbox(key="history-newer")
    at.selectbox(key="history-older").set_value(newer.value).run()
    assert not at.exception
    assert "pick two different snapshots" in at.warning[0].value


def test_the_demo_fills_history_from_its_simulator() -> None:
    """app.py in demo mode: the health page's first visit stores the first real run, and the next run of the page
    writes the month before it, so History is filled at the first look."""
    from demo.history_seed import SEEDED_BY
    from tests.pages.conftest import APP

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.segmented_control(key="health_section").set_value("History").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    snapshots = int(captions.split(" snapshots from ")[0].split()[-1].replace(",", ""))
    assert snapshots >= 24 * 7 + 22  # hourly for a week, daily for the weeks before, and the real run
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    trends = {spec["layout"]["title"]["text"]: spec for spec in specs if spec["layout"].get("title")}
    for title in ("Registered users", "Daily active users", "Posts per day", "WebSocket connections"):
        days = {str(x)[:10] for x in trends[title]["data"][0]["x"]}
        assert len(days) >= 29, title
    events = next(df.value for df in at.dataframe if "Event" in df.value.columns)
    assert SEEDED_BY in set(events["Who"]) and "fired" in set(events["Event"])
    older = at.selectbox(key="history-older")
    assert older.value is not None and len(older.options) > 2
