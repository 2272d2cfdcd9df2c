"""health.stored_view on runs the watcher recorded from the real simulator into both store engines."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from collectors.base import SourceStatus
from health import finding_states, history, stored_view, watch_run
from health.findings import Severity, State, verdict
from health.lifecycle import fingerprint
from health.mutes import Mute, MuteKind
from health.watcher import collect_environment
from settings import EnvironmentSettings, MattermostSettings, PrometheusSettings, Settings
from tests.servers.streamlit_app import free_port

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _settings(sim, *, prometheus_url: str | None = None) -> Settings:
    env = EnvironmentSettings(
        name="staging", label="Staging",
        mattermost=MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token), timeout_seconds=5),
        prometheus=PrometheusSettings(url=prometheus_url) if prometheus_url else None)
    return Settings(environments={"staging": env}, default_environment="staging", deadline_seconds=10,
                    health={"watch_interval": 300})


async def _record(store, settings: Settings, at: datetime, holder: str = "host-1:4242"):
    env = settings.environment("staging")
    snapshot = dataclasses.replace(await collect_environment(env, 10), collected_at=at)
    return watch_run.record(store, settings, env, snapshot, slot=at, holder=holder)


@pytest.fixture
def degraded(simulator_factory):
    return simulator_factory("degraded")


async def test_the_stored_run_gives_back_the_findings_verdict_and_sources_it_was_judged_with(store, degraded):
    # Prometheus on a port nobody listens on: its failure must come back from the store with its reason.
    settings = _settings(degraded, prometheus_url=f"http://127.0.0.1:{free_port()}")
    run = await _record(store, settings, T0)
    stored = history.latest(store, "staging")

    findings = stored_view.findings_of(stored)
    assert findings == run.findings
    assert stored_view.verdict_of(stored, findings) == verdict(run.findings)
    assert stored_view.verdict_of(stored).label == "critical problems"
    results = stored_view.source_results(stored, order=["mattermost", "prometheus"])
    assert list(results)[:2] == ["mattermost", "prometheus"]
    assert results["mattermost"].status is SourceStatus.OK and results["mattermost"].data is None
    assert results["prometheus"].status is SourceStatus.ERROR
    errors = stored_view.errors_of(stored)
    assert list(errors) == ["prometheus"] and errors["prometheus"]
    assert stored_view.sources_snapshot(stored).sources.keys() == stored.sources.keys()
    critical = [f for f in stored_view.firing(findings) if f.severity is Severity.CRITICAL]
    assert critical and stored_view.firing(findings)[0].severity is Severity.CRITICAL


async def test_age_says_who_collected_and_warns_after_three_intervals(store, degraded):
    settings = _settings(degraded)
    await _record(store, settings, T0)
    stored = history.latest(store, "staging")

    fresh = stored_view.freshness(stored, T0 + timedelta(minutes=3), 300)
    assert fresh.sentence.startswith("Collected 3 min ago (2026-12-07 10:00:00 UTC) by watcher host-1:4242")
    assert not fresh.stale and fresh.warning is None
    old = stored_view.freshness(stored, T0 + timedelta(minutes=16), 300)
    assert old.stale and "older than 3 watch intervals (15 min)" in old.warning

    await _record(store, settings, T0 + timedelta(minutes=20), holder=stored_view.page_holder("ana"))
    by_page = stored_view.freshness(history.latest(store, "staging"), T0 + timedelta(minutes=20, seconds=5), 300)
    assert "Collected 5 s ago" in by_page.sentence and "by page @ana" in by_page.sentence


def test_ages_read_like_people_say_them():
    assert [stored_view.describe_age(timedelta(seconds=s)) for s in (-3, 42, 180, 3600, 5400, 3 * 86400)] == [
        "0 s", "42 s", "3 min", "1 h", "1 h 30 min", "3 days"]


async def test_server_line_and_key_figures_come_from_the_stored_run(store, degraded):
    await _record(store, _settings(degraded), T0)
    stored = history.latest(store, "staging")
    server = stored.report["server"]
    caption = stored_view.server_caption(server)
    assert server["version"] in caption and server["site_url"] in caption
    assert stored_view.server_caption({}) is None
    tiles, missing = stored_view.figure_tiles(stored.figures)
    labels = {tile.label: tile.value for tile in tiles}
    assert labels["Registered users"] == f"{stored.figures['registered_users']:,.0f}"
    assert "Database size" in missing  # no database configured: a gap, never a zero
    assert [t.label for t in stored_view.server_tiles(server)][:2] == ["Version", "Edition"]


def test_figures_are_written_in_their_unit():
    assert stored_view.format_figure(44.44, "percent") == "44.4 %"
    assert stored_view.format_figure(0.35, "seconds") == "350 ms"
    assert stored_view.format_figure(2.5, "seconds") == "2.50 s"
    assert stored_view.format_figure(5_300_000_000, "bytes") == "5.3 GB"
    assert stored_view.format_figure(1187, "count") == "1,187"


async def test_lifecycle_says_first_seen_open_since_and_reopened(store, degraded):
    settings = _settings(degraded)
    run = await _record(store, settings, T0)
    finding = stored_view.firing(run.findings)[0]
    healed = [dataclasses.replace(f, state=State.OK) if f == finding else f for f in run.findings]
    finding_states.record_run(store, "staging", healed, T0 + timedelta(hours=1), actor="test")
    finding_states.record_run(store, "staging", run.findings, T0 + timedelta(hours=2), actor="test")
    tracked = finding_states.load(store, "staging")[fingerprint(finding.code, finding.subject)]

    sentence = stored_view.lifecycle_sentence(tracked, T0 + timedelta(hours=3))
    assert sentence == ("First seen 2026-12-07 10:00 UTC (3 h ago) · open since 2026-12-07 12:00 UTC (1 h ago) · "
                        "reopened once")
    assert stored_view.lifecycle_sentence(None, T0).startswith("Not tracked yet")


def test_mute_and_conflict_sentences_name_who_why_and_until():
    mute = Mute("LICENSE_EXPIRING", None, MuteKind.MUTE, "renewal ordered", "bob", T0, T0 + timedelta(days=1))
    assert stored_view.mute_sentence(mute) == ("Muted by @bob on 2026-12-07 10:00 UTC until 2026-12-08 10:00 UTC: "
                                               "renewal ordered")
    ack = dataclasses.replace(mute, kind=MuteKind.ACKNOWLEDGE, until=None)
    assert "Acknowledged by @bob" in stored_view.mute_sentence(ack) and "until someone lifts it" in \
        stored_view.mute_sentence(ack)
    conflict = stored_view.conflict_sentence("bob", T0, mute, "yours was not saved")
    assert conflict.startswith("@bob changed this finding's mute at 10:00:00 UTC")
    assert "yours was not saved" in conflict and "renewal ordered" in conflict and "still in the form" in conflict


async def test_an_incident_from_a_finding_carries_its_evidence_and_remediation(store, degraded):
    run = await _record(store, _settings(degraded), T0)
    finding = next(f for f in stored_view.firing(run.findings) if f.severity is Severity.CRITICAL)
    assert stored_view.incident_name(finding, "Staging") == f"Staging: {finding.title}" + (
        f" ({finding.subject})" if finding.subject else "")
    message = stored_view.incident_message(finding, "Staging", "https://dash.example/health?env=staging")
    for part in (finding.evidence, finding.remediation, finding.observed, finding.code,
                 "https://dash.example/health?env=staging"):
        assert part in message
