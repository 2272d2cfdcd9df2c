"""AppTest of the health page reading stored snapshots: age and collector, Collect now, the first live run, live
views, mute/acknowledge/lift with conflicts, each finding's lifecycle, and an incident from a critical finding.

Each test runs the real app against a real simulator and a SQLite store file the test also reads and writes.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from collectors.runner import run_async
from health import finding_states, history, mutes, stored_view, watch_run
from health.findings import Finding, Severity, State
from health.lifecycle import fingerprint
from health.mutes import Mute, MuteKind
from health.watcher import collect_environment
from incidents import repository as incident_records
from incidents.mattermost_api import MattermostApi
from settings import load_settings
from store import Store, open_store
from store.utc import utc_now
from tests.pages.conftest import APP
from tests.servers.streamlit_app import free_port


def configure(monkeypatch, sim, **variables: str) -> None:
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", sim.url)
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__TOKEN", sim.admin_token)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def app_store(tmp_path) -> Store:
    """The store the app opens (conftest points MMDASH_SQLITE_PATH here)."""
    store = open_store(None, sqlite_path=Path(tmp_path) / "store.sqlite3")
    yield store
    store.close()


def record_as_watcher(store: Store, age: timedelta = timedelta(minutes=2), holder: str = "host-1:4242"):
    settings = load_settings()
    env = settings.environment("production")
    at = utc_now() - age
    snapshot = dataclasses.replace(run_async(collect_environment(env, 10)), collected_at=at)
    return watch_run.record(store, settings, env, snapshot, slot=at, holder=holder)


def signed_in(sim) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input[0].set_value(sim.admin_token)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Health · Production"
    return at


def show(at: AppTest, section: str) -> AppTest:
    at.segmented_control(key="health_section").set_value(section).run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_the_page_opens_from_the_stored_snapshot_and_collects_only_when_asked(monkeypatch, simulator, app_store):
    configure(monkeypatch, simulator)
    run = record_as_watcher(app_store)
    at = signed_in(simulator)
    simulator.faults.set("*", status=502)  # a live collection from here on would show the 502s
    at.run()
    assert not at.exception, at.exception
    assert "Collected 2 min ago" in captions(at) and "by watcher host-1:4242" in captions(at)
    assert "HTTP 502" not in texts(at.error) + texts(at.warning)
    headline = at.success[0].value if run.verdict == "healthy" else texts(at.warning) + texts(at.error)
    assert run.verdict.capitalize() in headline
    labels = {m.label: m.value for m in at.metric}
    assert labels["Registered users"] and labels["Version"] == run_server(app_store)["version"]
    assert "Mattermost API: ok" in texts(at.sidebar.markdown)
    assert "Collected" in texts(at.success)  # the stored source line

    simulator.faults.clear()
    next(b for b in at.button if b.label == "Collect now").click().run()
    assert not at.exception, at.exception
    newest = history.latest(app_store, "production")
    assert newest.collected_by == f"page @{simulator.admin_username}"
    assert f"by page @{simulator.admin_username}" in captions(at) and "Collected 0 s ago" in captions(at)


def run_server(store: Store) -> dict:
    return history.latest(store, "production").report["server"]


def test_a_snapshot_older_than_three_intervals_says_so(monkeypatch, simulator, app_store):
    configure(monkeypatch, simulator, MMDASH_HEALTH__WATCH_INTERVAL="60")
    record_as_watcher(app_store, age=timedelta(minutes=10))
    at = signed_in(simulator)
    assert "Collected 10 min ago" in captions(at)
    assert "older than 3 watch intervals (3 min)" in texts(at.warning)


def test_with_nothing_stored_the_first_visit_collects_once_and_records_it(monkeypatch, simulator, app_store):
    configure(monkeypatch, simulator)
    assert history.latest(app_store, "production") is None
    at = signed_in(simulator)
    stored = history.latest(app_store, "production")
    assert stored is not None and stored.collected_by == f"page @{simulator.admin_username}"
    assert f"by page @{simulator.admin_username}" in captions(at)
    assert finding_states.load(app_store, "production") is not None
    at.run()
    assert len(history.between(app_store, "production", stored.collected_at - timedelta(days=1),
                               utc_now())) == 1, "a second visit reads the store, it does not collect again"


def test_views_that_need_every_live_fact_collect_when_opened_and_say_so(monkeypatch, simulator, app_store):
    configure(monkeypatch, simulator)
    record_as_watcher(app_store)
    at = show(signed_in(simulator), "Server, plugins and jobs")
    assert len(at.dataframe) == 5  # server, license, plugins, cluster nodes, jobs
    assert "Collected live for this view" in captions(at)
    show(at, "Usage")
    assert {"License days left", "Users", "Teams"} <= {m.label for m in at.metric}
    assert len(at.get("plotly_chart")) == 2


@pytest.mark.skipif(importlib.util.find_spec("ui.history_view") is None,
                    reason="ui.history_view is written by another change; this page only calls it")
def test_history_is_a_view_of_the_page(monkeypatch, simulator, app_store):
    configure(monkeypatch, simulator)
    record_as_watcher(app_store)
    show(signed_in(simulator), "History")


@pytest.fixture
def degraded(simulator_factory, monkeypatch, app_store):
    sim = simulator_factory("degraded")
    configure(monkeypatch, sim, MMDASH_PRODUCTION__ALERTS__PLAYBOOK="degraded-performance")
    record_as_watcher(app_store)
    return sim


def firing_now(store: Store, severity: Severity) -> Finding:
    findings = stored_view.findings_of(history.latest(store, "production"))
    return next(f for f in stored_view.firing(findings) if f.severity is severity)


def test_mute_a_finding_with_why_and_until_then_lift_it(degraded, app_store):
    finding = firing_now(app_store, Severity.WARNING)
    key = fingerprint(finding.code, finding.subject)
    at = show(signed_in(degraded), "Findings")
    at.radio(key=f"mute-kind-{key}").set_value(MuteKind.MUTE.value)
    at.text_input(key=f"mute-why-{key}").set_value("DNS move this week")
    at.selectbox(key=f"mute-for-{key}").set_value("1 day")
    at.button(key=f"mute-save-{key}").click().run()
    assert not at.exception, at.exception
    mute = mutes.active(app_store, "production", utc_now())[key]
    assert (mute.kind, mute.reason, mute.by) == (MuteKind.MUTE, "DNS move this week", degraded.admin_username)
    assert timedelta(hours=23) < mute.until - utc_now() <= timedelta(days=1)
    shown = texts(at.info)
    assert f"Muted by @{degraded.admin_username}" in shown and f"until {mute.until:%Y-%m-%d %H:%M} UTC" in shown
    assert "DNS move this week" in shown

    at.button(key=f"lift-{key}").click().run()
    assert not at.exception, at.exception
    assert key not in mutes.active(app_store, "production", utc_now())
    assert f"Lifted by @{degraded.admin_username}" in texts(at.success)


def test_acknowledge_until_lifted_and_a_mute_needs_an_end(degraded, app_store):
    finding = firing_now(app_store, Severity.CRITICAL)
    key = fingerprint(finding.code, finding.subject)
    at = show(signed_in(degraded), "Findings")
    at.text_input(key=f"mute-why-{key}").set_value("ana is on it")
    at.selectbox(key=f"mute-for-{key}").set_value("until lifted (acknowledge only)")
    at.button(key=f"mute-save-{key}").click().run()
    assert "A mute needs an end" in texts(at.error)
    assert key not in mutes.active(app_store, "production", utc_now())
    at.radio(key=f"mute-kind-{key}").set_value(MuteKind.ACKNOWLEDGE.value)
    at.button(key=f"mute-save-{key}").click().run()
    ack = mutes.active(app_store, "production", utc_now())[key]
    assert ack.kind is MuteKind.ACKNOWLEDGE and ack.until is None
    assert "until someone lifts it: ana is on it" in texts(at.info)


def test_a_concurrent_mute_is_refused_with_who_changed_it_and_the_entry_kept(degraded, app_store):
    finding = firing_now(app_store, Severity.WARNING)
    key = fingerprint(finding.code, finding.subject)
    at = show(signed_in(degraded), "Findings")  # the admin sees no mute on it
    now = utc_now()
    mutes.set_mute(app_store, "production", Mute(finding.code, finding.subject, MuteKind.MUTE, "bob's window",
                                                  "bob", now, now + timedelta(hours=4)), expected_version=None)
    at.text_input(key=f"mute-why-{key}").set_value("my reason")
    at.button(key=f"mute-save-{key}").click().run()
    assert not at.exception, at.exception
    error = texts(at.error)
    assert "@bob changed this finding's mute" in error and "bob's window" in error
    assert mutes.active(app_store, "production", utc_now())[key].reason == "bob's window"
    assert at.text_input(key=f"mute-why-{key}").value == "my reason"

    # Bob's mute is now what the admin sees; a lift after Bob changed it again is refused the same way.
    mutes.lift(app_store, "production", finding.code, finding.subject, by="carol", at=utc_now())
    at.button(key=f"lift-{key}").click().run()
    assert "@carol changed this finding's mute" in texts(at.error)


def test_each_finding_says_first_seen_open_since_and_reopened(degraded, app_store):
    finding = firing_now(app_store, Severity.WARNING)
    findings = stored_view.findings_of(history.latest(app_store, "production"))
    healed = [dataclasses.replace(f, state=State.OK) if f == finding else f for f in findings]
    finding_states.record_run(app_store, "production", healed, utc_now() - timedelta(minutes=90), actor="test")
    finding_states.record_run(app_store, "production", findings, utc_now() - timedelta(minutes=60), actor="test")
    at = show(signed_in(degraded), "Findings")
    line = next(c.value for c in at.caption if finding.observed in c.value and "First seen" in c.value)
    assert "open since" in line and "(1 h ago)" in line and "reopened once" in line


def test_an_incident_starts_from_a_critical_finding_with_its_evidence(degraded, app_store):
    finding = firing_now(app_store, Severity.CRITICAL)
    key = fingerprint(finding.code, finding.subject)
    at = show(signed_in(degraded), "Findings")
    assert at.selectbox(key=f"incident-playbook-{key}").value == "degraded-performance"  # alerts.playbook
    assert at.text_input(key=f"incident-name-{key}").value == stored_view.incident_name(finding, "Production")
    at.button(key=f"incident-start-{key}").click().run()
    assert not at.exception, at.exception
    assert "No incident was started" not in texts(at.error), texts(at.error)
    [incident] = incident_records.list_incidents(app_store, "production")
    assert incident.name == stored_view.incident_name(finding, "Production")
    assert incident.playbook_id == "degraded-performance"
    assert f"started in ~{incident.channel_name}" in texts(at.success)
    [link] = at.get("link_button")
    assert link.proto.url.startswith(degraded.url) and link.proto.url.endswith(incident.channel_name)

    async def posts() -> list[str]:
        async with MattermostApi(degraded.url, degraded.admin_token) as api:
            return [p["message"] for p in await api.posts_since(incident.channel_id, 1)]

    first, *_ = sorted(run_async(posts()), key=lambda m: "started the incident" not in m)
    assert "started the incident" in first, "the finding is part of the channel's first message"
    assert finding.evidence in first and finding.remediation in first


def test_with_incidents_switched_off_the_finding_says_so(degraded, app_store):
    incident_records.set_incidents_enabled(app_store, False, actor="test")
    at = show(signed_in(degraded), "Findings")
    assert "Incidents are turned off" in texts(at.info)
    assert not [b for b in at.button if (b.key or "").startswith("incident-start-")]


def test_an_unreachable_store_is_said_and_the_page_works_live(monkeypatch, simulator):
    configure(monkeypatch, simulator,
              MMDASH_STORE_URL=f"postgresql+psycopg://mmdash:x@127.0.0.1:{free_port()}/mmdash")
    at = signed_in(simulator)
    assert "The store cannot be read" in texts(at.error)
    assert "Collected live" in captions(at) and "Score" in {m.label for m in at.metric}
    assert "Store unavailable" in texts(at.sidebar.warning)
    show(at, "Findings")
    assert any(e.label.startswith("Platform") for e in at.expander)


def test_alerts_that_mattermost_refuses_are_shown_on_the_page_and_kept(monkeypatch, simulator, app_store):
    """A channel that does not exist: the page names it and what to do; the alert stays in the outbox."""
    from health import alert_outbox

    team = simulator.model.teams[0].name
    configure(monkeypatch, simulator, MMDASH_PRODUCTION__ALERTS__CHANNEL=f"{team}/no-such-channel")
    run = record_as_watcher(app_store)
    assert run.alert_queued
    settings = load_settings()
    env = settings.environment("production")
    report = run_async(alert_outbox.deliver_due(app_store, env, settings, holder="test", now=utc_now()))
    assert report.error and "no-such-channel" in report.error
    at = signed_in(simulator)
    shown = texts(at.error)
    assert "Alerts are not reaching" in shown and "no-such-channel" in shown and "none is lost" in shown
    assert simulator.admin_token not in shown
    assert len(alert_outbox.pending(app_store, "production")) == 1
