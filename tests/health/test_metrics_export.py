"""The dashboard's /metrics text: open findings (muted ones labelled and left out of the totals) and each source's
health in the last run, parsed back with prometheus_client's own parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from health import finding_states
from health.findings import State
from health.metrics_export import exposition
from health.mutes import Mute, MuteKind, set_mute
from store import open_store
from tests.health.test_lifecycle import finding

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def samples(text: bytes) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode()) for s in family.samples}


def test_findings_and_sources_per_environment(tmp_path):
    with open_store(None, sqlite_path=tmp_path / "s.sqlite3") as store:
        finding_states.record_run(store, "production", [finding(State.FIRING, subject="app-1"),
                                                        finding(State.FIRING, subject="app-2")], T0, actor="t",
                                  sources={"mattermost": {"status": "ok", "elapsed_ms": 120},
                                           "database": {"status": "error", "elapsed_ms": 5000, "error": "down"}})
        set_mute(store, "production", Mute("NODE_FD_EXHAUSTION", "app-2", MuteKind.MUTE, "planned", "ana", T0,
                                           T0 + timedelta(hours=2)), expected_version=None)
        got = samples(exposition(store, lambda: T0 + timedelta(minutes=1)))
    open_app1 = ("mmdash_finding_open", (("code", "NODE_FD_EXHAUSTION"), ("environment", "production"),
                                         ("muted", "false"), ("severity", "critical"), ("subject", "app-1")))
    muted_app2 = ("mmdash_finding_open", (("code", "NODE_FD_EXHAUSTION"), ("environment", "production"),
                                          ("muted", "true"), ("severity", "critical"), ("subject", "app-2")))
    assert got[open_app1] == 1 and got[muted_app2] == 1
    assert got[("mmdash_findings_open", (("environment", "production"), ("severity", "critical")))] == 1
    assert got[("mmdash_source_up", (("environment", "production"), ("source", "mattermost")))] == 1
    assert got[("mmdash_source_up", (("environment", "production"), ("source", "database")))] == 0
    assert got[("mmdash_source_duration_seconds", (("environment", "production"), ("source", "database")))] == 5.0
    assert got[("mmdash_last_run_timestamp_seconds", (("environment", "production"),))] == T0.timestamp()


def test_a_resolved_finding_is_no_longer_exposed(tmp_path):
    with open_store(None, sqlite_path=tmp_path / "s.sqlite3") as store:
        finding_states.record_run(store, "production", [finding(State.FIRING)], T0, actor="t")
        finding_states.record_run(store, "production", [finding(State.OK)], T0 + timedelta(minutes=5), actor="t")
        got = samples(exposition(store, lambda: T0))
    assert not [k for k in got if k[0] == "mmdash_finding_open"]
    assert got[("mmdash_findings_open", (("environment", "production"), ("severity", "critical")))] == 0


def test_alerts_waiting_in_the_outbox_are_exposed(tmp_path):
    from health import alert_outbox

    with open_store(None, sqlite_path=tmp_path / "s.sqlite3") as store:
        alert_outbox.enqueue(store, "production", "production/a", {"items": []}, T0)
        alert_outbox.enqueue(store, "production", "production/b", {"items": []}, T0 + timedelta(minutes=1))
        got = samples(exposition(store, lambda: T0 + timedelta(minutes=10)))
    assert got[("mmdash_alerts_waiting", (("environment", "production"),))] == 2
    assert got[("mmdash_alert_oldest_waiting_seconds", (("environment", "production"),))] == 600
