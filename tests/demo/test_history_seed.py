"""The demo's seeded past, read back through what the History view reads (trends, timeline, snapshot diff): the
degraded scenario after its first real run, collected from a simulator and a real Prometheus backfilled from the
same metric model, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from collectors.base import Snapshot
from collectors.runner import collect_all, run_async
from demo import history_seed
from demo.history_seed import SEEDED_BY
from health import finding_states, history, history_diff, history_timeline, history_trends, watch_lease
from health.key_figures import KEY_FIGURES
from health.watch_run import RunRecord, record
from settings import EnvironmentSettings, MattermostSettings, Settings
from simulator import RunningSimulator, start_simulator
from simulator.metrics_model import NodeModel
from simulator.scenarios import build_scenario
from store import Store
from store.tables import audit_log, health_snapshots
from tests.servers.prometheus import PrometheusServer

ENV = "staging"
HOLDER = "mmdash-1:4242"  # the watcher that made the first real run


@pytest.fixture(scope="module")
def degraded() -> Iterator[RunningSimulator]:
    with start_simulator("degraded") as sim:
        yield sim


@pytest.fixture(scope="module")
def degraded_prometheus(request: pytest.FixtureRequest, degraded: RunningSimulator) -> PrometheusServer:
    server = PrometheusServer(simulator=degraded, with_auth=False)
    request.addfinalizer(server.stop)
    server.start()
    return server


@dataclass(frozen=True)
class FirstRun:
    settings: Settings
    env: EnvironmentSettings
    snapshot: Snapshot


@pytest.fixture(scope="module")
def first_run(degraded: RunningSimulator, degraded_prometheus: PrometheusServer) -> FirstRun:
    """Demo staging as the demo points it at its servers, collected once."""
    env = EnvironmentSettings(name=ENV, label="Demo staging", demo_scenario="degraded",
                              mattermost=MattermostSettings(url=degraded.url, token=SecretStr(degraded.admin_token)),
                              prometheus=degraded_prometheus.settings())
    snapshot = run_async(collect_all(env, deadline_s=30))
    assert snapshot.data("prometheus") is not None and snapshot.data("mattermost") is not None
    return FirstRun(Settings(environments={ENV: env}, default_environment=ENV), env, snapshot)


@dataclass(frozen=True)
class Seeded:
    store: Store
    run: RunRecord
    outcome: history_seed.Seeded
    seam: datetime


@pytest.fixture
def seeded(store: Store, first_run: FirstRun) -> Seeded:
    """The first real run recorded by the watcher, then the past seeded (as the page does on its next run)."""
    at = first_run.snapshot.collected_at
    run = record(store, first_run.settings, first_run.env, first_run.snapshot, slot=watch_lease.slot_of(at, 300),
                 holder=HOLDER)
    return Seeded(store, run, history_seed.seed(store, ENV, "degraded"), at)


def _rows(store: Store, **where: object) -> int:
    query = select(func.count()).select_from(health_snapshots).where(health_snapshots.c.environment == ENV)
    for name, value in where.items():
        query = query.where(health_snapshots.c[name] == value)
    with store.reading() as conn:
        return int(conn.scalar(query))


def _events(seeded: Seeded, code: str, subject: str | None = None) -> list[history_timeline.TimelineEvent]:
    timeline = history_timeline.findings_timeline(seeded.store, ENV)
    return [e for e in timeline.events if e.code == code and e.subject == subject]


def test_thirty_days_of_key_figures_lead_up_to_the_first_real_run(seeded):
    assert seeded.outcome.outcome == history_seed.SEEDED
    frame = history_trends.trend_frame(seeded.store, ENV)
    assert frame.index[-1] == seeded.seam  # the real run is the newest point
    # By day: the seeded day's snapshot may fall later in the day than the seam's time of day.
    assert frame.index[0].date() <= (seeded.seam - timedelta(days=29)).date()
    assert len(frame) == seeded.outcome.rows + 1 == 24 * 7 + 23 + 1  # hourly for a week, daily before it
    real = history.latest(seeded.store, ENV).figures
    for figure in KEY_FIGURES:
        values = frame[figure.name]
        if real[figure.name] is None:
            # The run collected no database here: the past does not pretend it had one.
            assert values.isna().all(), figure.name
        else:
            assert values.notna().sum() >= len(frame) - 2, figure.name  # the analytics reach 30 days back
    # The model's numbers move with the hours and days; the registered users grow towards today's count.
    assert frame["http_error_percent"].nunique() > 100 and frame["goroutines"].nunique() > 100
    users = frame["registered_users"].dropna()
    assert users.is_monotonic_increasing and users.iloc[0] < users.iloc[-1] == real["registered_users"]


def test_the_newest_real_run_keeps_its_report_and_the_seeded_rows_say_what_they_are(seeded):
    newest = history.latest(seeded.store, ENV)
    assert newest.collected_by == HOLDER and newest.report is not None
    with seeded.store.reading() as conn:
        reports = conn.scalar(select(func.count()).select_from(health_snapshots)
                              .where(health_snapshots.c.report.is_not(None)))
    assert reports == 1
    assert _rows(seeded.store, collected_by=SEEDED_BY) == seeded.outcome.rows
    assert _rows(seeded.store, collected_by=SEEDED_BY, tier=history.DAILY) == seeded.outcome.daily_rows == 23


def test_the_licence_warning_starts_when_the_licence_came_within_thirty_days(seeded):
    expires = build_scenario("degraded", now_ms=int(seeded.seam.timestamp() * 1000)).license.expires_at / 1000
    # LICENSE_EXPIRING fires at 30 whole days left or fewer: from the first seeded row less than 31 days before.
    crossed = next(at for at, _ in history_seed.seed_moments(seeded.seam)
                   if timedelta(seconds=expires - at.timestamp()).days <= 30)
    [fired] = _events(seeded, "LICENSE_EXPIRING")  # the watcher's first run, which took it for new, adds none
    assert (fired.at, fired.kind, fired.who) == (crossed, "fired", SEEDED_BY)
    assert seeded.seam - timedelta(days=23) < crossed < seeded.seam - timedelta(days=21)  # 9 days left today
    [span] = [s for s in history_timeline.findings_timeline(seeded.store, ENV).spans if s.code == "LICENSE_EXPIRING"]
    assert span.start == crossed and span.ongoing


def test_the_leaking_node_fires_after_a_day_up_and_resolves_with_its_restarts(seeded):
    events = _events(seeded, "PERF_GOROUTINE_CLIMB", "mm-3:8067")
    opened = [e.at for e in events if e.kind in ("fired", "reopened")]
    resolved = [e.at for e in events if e.kind == "resolved"]
    assert len(opened) >= 4 and len(resolved) >= 4  # a restart every 3.5 days
    sick = NodeModel(build_scenario("degraded"), 2)
    uptime = np.array([at.timestamp() for at in opened]) - sick.process_start(np.array([a.timestamp() for a in opened]))
    # The rule compares the first and the last tenth of 24 hours: only a day after a restart is all of it one process.
    assert (uptime >= 0.9 * 86_400).all()
    assert not [e for e in history_timeline.findings_timeline(seeded.store, ENV).events
                if e.code == "PERF_GOROUTINE_CLIMB" and e.subject != "mm-3:8067"]


def test_a_job_that_began_failing_hours_ago_opened_recently(seeded):
    [fired] = _events(seeded, "JOB_FAILED", "ldap_sync")
    # The scenario's seven newest hourly LDAP syncs failed: the finding fires at the first row after the oldest of
    # them finished (the rule reads the newest finished run).
    world = build_scenario("degraded", now_ms=int(seeded.seam.timestamp() * 1000))
    runs = sorted((j for j in world.jobs if j.type == "ldap_sync" and j.status != "in_progress"),
                  key=lambda j: j.create_at, reverse=True)
    failing = runs[:next(i for i, j in enumerate(runs) if j.status != "error")]
    assert len(failing) == 7
    finished = failing[-1].last_activity_at / 1000
    assert fired.at == next(at for at, _ in history_seed.seed_moments(seeded.seam) if at.timestamp() >= finished)
    assert seeded.seam - timedelta(hours=8) <= fired.at <= seeded.seam - timedelta(hours=5)
    tracked = {f.subject: f for f in finding_states.load(seeded.store, ENV).values()
               if f.code == "JOB_FAILED"}
    assert tracked["ldap_sync"].opened_at == fired.at  # the real runs carry on the episode the past began


def test_a_day_ago_against_now_shows_what_started_since_and_no_make_up_change(seeded):
    choices = history_diff.snapshot_choices(seeded.store, ENV)
    older, newer = history_diff.default_pair(choices)
    assert newer.collected_at == seeded.seam and older.collected_at <= seeded.seam - timedelta(days=1)
    diff = history_diff.compare(seeded.store, ENV, older.id, newer.id)
    assert ("JOB_FAILED", "ldap_sync") in {(f.code, f.subject) for f in diff.findings_started}
    assert not (diff.makeup_missing or diff.server or diff.settings or diff.plugins or diff.license)


def test_the_seam_matches_the_real_run(seeded):
    """The newest seeded row fires what the real run fired, but for what the hour between can change."""
    newest_seeded = history.between(seeded.store, ENV, seeded.seam - timedelta(hours=2), seeded.seam)[-2]
    assert newest_seeded.collected_by == SEEDED_BY
    real = {(f.code, f.subject) for f in seeded.run.findings if f.state.value == "firing"}
    past = {(item["code"], item["subject"]) for item in newest_seeded.firing()}
    hourly = {"PERF_DB_POOL_WAITS", "PERF_MEMORY_CLIMB", "PERF_GOROUTINE_CLIMB", "PERF_DB_POOL_SATURATED"}
    assert {k for k in real ^ past if k[0] not in hourly} == set()


def test_a_second_seed_adds_nothing(seeded):
    with seeded.store.reading() as conn:
        audit_before = conn.scalar(select(func.count()).select_from(audit_log))
    rows_before = _rows(seeded.store)
    again = history_seed.seed(seeded.store, ENV, "degraded")
    assert again.outcome == history_seed.ALREADY and again.settled
    with seeded.store.reading() as conn:
        assert conn.scalar(select(func.count()).select_from(audit_log)) == audit_before
    assert _rows(seeded.store) == rows_before


def test_retention_keeps_the_seeded_days(seeded):
    later = seeded.seam + timedelta(hours=1)
    pruned = history.prune(seeded.store, later, raw_days=7, daily_days=365)
    assert pruned.deleted_daily == 0
    assert _rows(seeded.store, collected_by=SEEDED_BY, tier=history.DAILY) >= 23
    frame = history_trends.trend_frame(seeded.store, ENV, now=later)
    # By day: the seeded day's snapshot may fall later in the day than the seam's time of day.
    assert frame.index[0].date() <= (seeded.seam - timedelta(days=29)).date()
    assert frame.index.normalize().nunique() >= 29


def test_seeding_a_month_takes_under_a_second(seeded):
    assert seeded.outcome.seconds < 1.0


def test_nothing_is_written_before_the_first_run_nor_for_a_configured_deployment(store, degraded, first_run):
    configured = EnvironmentSettings(name="production", label="Production",
                                     mattermost=MattermostSettings(url=degraded.url,
                                                                   token=SecretStr(degraded.admin_token)))
    settings = Settings(environments={"production": configured, ENV: first_run.env}, default_environment=ENV)
    record(store, settings, configured, first_run.snapshot, slot=first_run.snapshot.collected_at, holder=HOLDER)
    outcomes = history_seed.seed_demo(store, settings)
    assert [(o.environment, o.outcome, o.settled) for o in outcomes] == [(ENV, history_seed.WAITING, False)]
    with store.reading() as conn:
        assert conn.scalar(select(func.count()).select_from(health_snapshots)
                           .where(health_snapshots.c.collected_by == SEEDED_BY)) == 0
