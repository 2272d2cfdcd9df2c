"""health.fleet: every environment from the store alone, on both engines, runs recorded from the real simulator."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from health import fleet, history, mutes, watch_run
from health.lifecycle import fingerprint
from health.mutes import Mute, MuteKind
from health.stored_view import firing
from health.watcher import collect_environment
from settings import EnvironmentSettings, MattermostSettings, PrometheusSettings, Settings
from tests.servers.streamlit_app import free_port

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _env(name: str, sim, prometheus_url: str | None = None) -> EnvironmentSettings:
    return EnvironmentSettings(
        name=name, label=name.title(),
        mattermost=MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token), timeout_seconds=5),
        prometheus=PrometheusSettings(url=prometheus_url) if prometheus_url else None)


def _settings(*envs: EnvironmentSettings) -> Settings:
    return Settings(environments={e.name: e for e in envs}, default_environment=envs[0].name, deadline_seconds=10,
                    health={"watch_interval": 60})


async def _record(store, settings: Settings, name: str, at: datetime):
    env = settings.environment(name)
    snapshot = dataclasses.replace(await collect_environment(env, 10), collected_at=at)
    return watch_run.record(store, settings, env, snapshot, slot=at, holder="host-1:7")


async def test_one_row_per_environment_with_worst_open_muted_age_and_errors(store, simulator, simulator_factory):
    degraded = simulator_factory("degraded")
    settings = _settings(_env("production", simulator), _env("staging", degraded, f"http://127.0.0.1:{free_port()}"),
                         _env("dev", simulator))
    await _record(store, settings, "production", T0)
    staging = await _record(store, settings, "staging", T0 + timedelta(minutes=4))
    loud = firing(staging.findings)[0]  # a critical one
    mutes.set_mute(store, "staging", Mute(loud.code, loud.subject, MuteKind.MUTE, "known, fix tonight", "ana",
                                          T0, T0 + timedelta(days=1)), expected_version=None)

    rows = {row.environment: row for row in fleet.read(store, settings, T0 + timedelta(minutes=5))}
    assert list(rows) == ["production", "staging", "dev"]
    dev = rows["dev"]
    assert (dev.worst, dev.collected_at, dev.age, dev.open_findings) == (fleet.NEVER, None, fleet.NEVER, 0)
    prod, stag = rows["production"], rows["staging"]
    assert prod.version == history.latest(store, "production").report["server"]["version"]
    assert prod.version and prod.age == "5 min" and prod.stale  # 5 min > 3 intervals of 60 s
    assert stag.age == "1 min" and not stag.stale and stag.collected_by == "watcher host-1:7"
    firing_now = firing(staging.findings)
    assert stag.muted == 1 and stag.open_findings == len(firing_now) - 1
    assert stag.worst == "critical"  # other critical findings still fire
    assert list(stag.errors) == ["prometheus"] and stag.errors["prometheus"]
    assert not prod.errors and stag.link == "/health?env=staging"

    table = fleet.frame(list(rows.values()))
    assert list(table["Environment"]) == ["Staging", "Production", "Dev"]  # worst first, never collected last
    assert table.loc[0, "Collection errors"].startswith("prometheus: ")
    assert table.loc[2, "Last collected"] is None or str(table.loc[2, "Last collected"]) == "NaT"


async def test_a_muted_only_critical_does_not_count_as_worst(store, simulator_factory):
    degraded = simulator_factory("degraded")
    settings = _settings(_env("staging", degraded))
    run = await _record(store, settings, "staging", T0)
    for finding in firing(run.findings):
        if finding.severity.value == "critical":
            mutes.set_mute(store, "staging", Mute(finding.code, finding.subject, MuteKind.MUTE, "planned", "ana", T0,
                                                  T0 + timedelta(hours=2)), expected_version=None)
    [row] = fleet.read(store, settings, T0 + timedelta(minutes=1))
    assert row.worst == "warning"
    criticals = {fingerprint(f.code, f.subject) for f in firing(run.findings) if f.severity.value == "critical"}
    assert row.muted == len(criticals)


async def test_fifty_environments_read_fast_and_without_collecting(store, simulator):
    settings = _settings(*(_env(f"env-{i:02d}", simulator) for i in range(50)))
    env = settings.environment("env-00")
    snapshot = await collect_environment(env, 10)
    for name in settings.environments:
        watch_run.record(store, settings, settings.environment(name),
                         dataclasses.replace(snapshot, environment=name, collected_at=T0), slot=T0, holder="w")
    simulator.faults.set("*", status=502)  # any collection now would see errors
    started = time.perf_counter()
    rows = fleet.read(store, settings, T0 + timedelta(minutes=1))
    elapsed = time.perf_counter() - started
    assert len(rows) == 50 and all(row.version and not row.errors for row in rows)
    assert elapsed < 1.0, f"the fleet of 50 took {elapsed:.2f} s"
