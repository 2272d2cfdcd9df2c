"""A month of history for a demo environment, derived from what its simulator knows about the past, so the health
page's History view has trends, a findings timeline and snapshots to compare from the first visit.

The demo's store starts empty, so History would show the one or two runs made since it started. Once an
environment's first real run is stored, this writes the month before it: one snapshot an hour for the raw tier's
days and one a day before that (what retention, health.history.prune, would have kept), each row as the watcher
writes it (health.history.write: key figures, compact findings, sources, make-up) but marked SEEDED_BY and without
a report, so the newest real run keeps its own. What each row holds comes from the simulator, not from chance:

- posts and active users per day: the scenario's analytics history (what /analytics/old answers);
- API latency p99, error rate, goroutines, open file descriptors and websockets: the simulator's metric model
  (simulator.metrics_model, the one the tests backfill Prometheus from), read as the dashboard reads Prometheus;
- registered users, monthly active users and the database size: a plausible trajectory ending at the real run's
  values (see USER_GROWTH and _database_size);
- findings: the real run's, with those that depend on time judged again at each moment: the licence and seat
  rules and the job rules by the real rules on the scenario's licence and jobs as of then, and the Prometheus
  rules on the model (a node that leaks climbs and restarts, a pool that waits at peak hours).

The lifecycle of those findings (when each fired and resolved) is written to the audit log at the moments it
happened, and the environment's tracked findings are extended back to it. A figure or a finding the real run did
not have (a source that did not answer) stays missing in the past too. Never used for a configured deployment.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

import numpy as np
from sqlalchemy import and_, select

from collectors.mattermost import RECENT_JOBS
from collectors.mattermost_models import parse_jobs, parse_license
from collectors.prometheus import DEFAULT_RANGE
from collectors.prometheus_models import DEFAULT_SCRAPE_INTERVAL_S, choose_step, choose_window
from health import finding_states, history
from health.engine import evaluate
from health.findings import Finding, State, verdict
from health.history_timeline import LIFECYCLE_TARGET
from health.history_trends import TREND_DAYS
from health.inputs import Fact, RuleInputs, Usage, absent
from health.lifecycle import Change, ChangeKind, Status, Tracked, advance
from health.rules import RULES
from health.stored_view import findings_of
from settings import Settings
from simulator.api.system import license_props
from simulator.metrics_model import BUCKETS, MIB, NodeModel
from simulator.model import Job, Scenario
from simulator.scenarios import build_scenario
from store import ConflictError, Store, StoreError
from store.tables import health_snapshots
from store.utc import utc_now

SEEDED_BY = "demo history (seeded from the simulator)"
SEEDED_ACTION = "finding_lifecycle.seeded"
SEED_BELOW = timedelta(days=7)  # an environment with a week of its own history needs no seeded past
RAW_DAYS = 7  # health.raw_days' default: hourly rows this far back, one a day before (what prune keeps)
DAILY_AT = clock(23)  # the daily rows stand for the last run of their day, as prune keeps it
USER_GROWTH = 0.03  # registered users grew by 3% over the month: steady onboarding, no number the scenario holds
ATTEMPTS = 5  # merging into the tracked findings while the watcher writes them: retries, as finding_states does

# Findings that depend on the moment, judged again at each one by the real rules: the licence's expiry and seats
# (the licence is fixed, the users grow) and the jobs the scenario ran until then.
TIME_BOUND = ("LICENSE_EXPIRED", "LICENSE_EXPIRING", "SEATS_OVER_DEPLOYED", "SEATS_NEAR_CAPACITY",
              "SEATS_LOW_UTILIZATION", "JOB_FAILED", "JOB_STUCK", "JOB_WEDGED_AT_ZERO")
_TIME_BOUND_RULES = [rule for rule in RULES if rule.code in TIME_BOUND]


SEEDED, ALREADY, LONG_ENOUGH, WAITING = "seeded", "already seeded", "history long enough", "waiting for the first run"


@dataclass(frozen=True)
class Seeded:
    environment: str
    outcome: str  # SEEDED, ALREADY, LONG_ENOUGH or WAITING
    rows: int = 0
    daily_rows: int = 0
    lifecycle_entries: int = 0
    seconds: float = 0.0

    @property
    def settled(self) -> bool:
        """Nothing more to do for this environment (only a missing first run is worth asking again about)."""
        return self.outcome != WAITING


def seed_demo(store: Store, settings: Settings, *, skip: Collection[str] = (),
              now: datetime | None = None) -> list[Seeded]:
    """Seed every demo environment but those in `skip`; an environment of a configured deployment is never
    touched."""
    return [seed(store, env.name, env.demo_scenario, now=now)
            for env in settings.environments.values() if env.demo_scenario and env.name not in skip]


def seed(store: Store, environment: str, scenario: str, *, now: datetime | None = None,
         days: int = TREND_DAYS, raw_days: int = RAW_DAYS) -> Seeded:
    """Write the past of `environment` (a demo of `scenario`) before its oldest real run, once."""
    started = time.perf_counter()
    now = now or utc_now()
    present = _present(store, environment)
    if present is None:
        return Seeded(environment, WAITING)
    if present.seeded:
        return Seeded(environment, ALREADY)
    if now - present.seam >= SEED_BELOW:
        return Seeded(environment, LONG_ENOUGH)
    world = build_scenario(scenario, now_ms=int(present.seam.timestamp() * 1000))
    moments = seed_moments(present.seam, days, raw_days)
    past = _Past(world, present, [at for at, _ in moments])
    runs = [past.findings(index) for index in range(len(moments))]
    with store.writing() as conn:
        if _seeded(conn, environment):  # another process got here first; the write lock makes this exact
            return Seeded(environment, ALREADY)
        for index, (at, tier) in enumerate(moments):
            findings = runs[index]
            history.write(conn, environment, collected_at=at, slot=at, collected_by=SEEDED_BY,
                          figures=past.figures(index), findings=history.compact_findings(findings, verdict(findings)),
                          sources=present.sources, details=None, details_key=present.details_hash, report=None,
                          tier=tier)
    entries = _write_lifecycle(store, environment, [at for at, _ in moments], runs, present.seam)
    return Seeded(environment, SEEDED, len(moments), sum(1 for _, tier in moments if tier == history.DAILY),
                  entries, time.perf_counter() - started)


def seed_moments(seam: datetime, days: int = TREND_DAYS, raw_days: int = RAW_DAYS) -> list[tuple[datetime, str]]:
    """When the seeded rows were "collected", oldest first, with their retention tier: every whole hour of the
    last `raw_days` before `seam` (raw), and before those one row a day at DAILY_AT (daily), `days` back."""
    last = seam.replace(minute=0, second=0, microsecond=0)
    if last >= seam:
        last -= timedelta(hours=1)
    first = last - timedelta(hours=int((last - (seam - timedelta(days=raw_days))) / timedelta(hours=1)))
    hourly = [first + timedelta(hours=h) for h in range(int((last - first) / timedelta(hours=1)) + 1)]
    oldest = seam - timedelta(days=days)
    daily = [datetime.combine(oldest.date() + timedelta(days=d), DAILY_AT, UTC)
             for d in range((first.date() - oldest.date()).days)]
    return ([(at, history.DAILY) for at in daily if at >= oldest] + [(at, history.RAW) for at in hourly])


# -- what the real runs say -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Present:
    """The environment as its real runs saw it: the seeded past leads up to the oldest one."""

    seam: datetime  # the oldest real run
    figures: dict[str, float | None]  # the oldest real run's, where the trajectories end
    sources: dict[str, dict[str, Any]]
    details_hash: str | None
    findings: list[Finding]  # every finding of the newest real run (its report)
    seeded: bool  # the past was written already


def _present(store: Store, environment: str) -> _Present | None:
    real = and_(health_snapshots.c.environment == environment, health_snapshots.c.collected_by != SEEDED_BY)
    with store.reading() as conn:
        oldest = conn.execute(select(health_snapshots.c.collected_at, health_snapshots.c.figures,
                                     health_snapshots.c.sources, health_snapshots.c.details_hash)
                              .where(real).order_by(*history.OLDEST_FIRST).limit(1)).first()
        seeded = _seeded(conn, environment)
    if oldest is None:
        return None
    newest = history.latest(store, environment)
    if newest is None or newest.report is None:
        return None
    # How long each source took was measured in a real run, not in the past.
    sources = {name: {k: v for k, v in answer.items() if k != "elapsed_ms"} for name, answer in oldest.sources.items()}
    return _Present(oldest.collected_at, dict(oldest.figures), sources, oldest.details_hash, findings_of(newest),
                    seeded)


def _seeded(conn: Any, environment: str) -> bool:
    query = select(health_snapshots.c.id).where(and_(health_snapshots.c.environment == environment,
                                                     health_snapshots.c.collected_by == SEEDED_BY)).limit(1)
    return conn.execute(query).first() is not None


# -- the past ---------------------------------------------------------------------------------------------------

class _Past:
    """Key figures and findings at each seeded moment."""

    def __init__(self, world: Scenario, present: _Present, moments: Sequence[datetime]) -> None:
        self.world, self.present, self.moments = world, present, list(moments)
        self.seam_day = present.seam.date()
        usage = world.usage
        self.posts = {date.fromisoformat(d.day): d.value for d in usage.posts_per_day}
        self.posters = {date.fromisoformat(d.day): d.value for d in usage.posters_per_day}
        weekdays = [v for d, v in self.posters.items() if d.weekday() < 5] or [1]
        self.posters_mean = sum(weekdays) / len(weekdays)
        self.metrics = _Metrics(world, [*self.moments, present.seam])
        license_info = parse_license(license_props(world.license)) if world.license is not None else None
        self.license = Fact(license_info, "GET /api/v4/license/client") if license_info else absent(
            "GET /api/v4/license/client", "no licence")
        jobs = sorted(world.jobs, key=lambda j: j.create_at, reverse=True)
        self.jobs = jobs
        known = {f.code for f in present.findings if f.state is not State.UNKNOWN}
        # Judged again only where the real run could judge: a rule it could not is unknown in the past too.
        self.rules = [rule for rule in _TIME_BOUND_RULES if rule.code in known]
        self.rule_codes = {rule.code for rule in self.rules}
        self.node_of = {node.hostname: index for index, node in enumerate(world.nodes)}

    def growth(self, index: int) -> float:
        """The share of today's users there were then (USER_GROWTH over the month, a step each day)."""
        days_back = (self.seam_day - self.moments[index].date()).days
        return 1 - USER_GROWTH * days_back / TREND_DAYS

    def figures(self, index: int) -> dict[str, float | None]:
        at, today = self.moments[index], self.present.figures
        growth = self.growth(index)
        figures: dict[str, float | None] = dict.fromkeys(today)

        def scaled(name: str, factor: float | None) -> float | None:
            value = today.get(name)
            return None if value is None or factor is None else float(round(value * factor))

        figures["registered_users"] = scaled("registered_users", growth)
        figures["monthly_active_users"] = scaled("monthly_active_users", growth)
        posters = self.posters.get(at.date())
        figures["daily_active_users"] = scaled("daily_active_users",
                                               None if posters is None else posters / self.posters_mean)
        if today.get("posts_per_day") is not None:
            posts = self.posts.get(at.date() - timedelta(days=1))  # the last full day, as key_figures takes it
            figures["posts_per_day"] = None if posts is None else float(posts)
        if figures["daily_active_users"] and figures["monthly_active_users"]:
            figures["dau_mau_percent"] = round(100 * figures["daily_active_users"] / figures["monthly_active_users"],
                                               1)
        figures["database_bytes"] = scaled("database_bytes", self._database_size(at))
        for name, value in self.metrics.figures(index).items():
            if today.get(name) is not None:
                figures[name] = value
        if today.get("websocket_connections") is not None and today.get("api_p99_seconds") is None:
            # Counted by the Mattermost API when Prometheus does not answer: the same model's daily swing.
            figures["websocket_connections"] = scaled("websocket_connections", self.metrics.websocket_share(index))
        return figures

    def _database_size(self, at: datetime) -> float:
        """The database grows with the posts: its size then is today's scaled by the posts that existed then."""
        total = self.world.usage.total_posts
        since = sum(v for d, v in self.posts.items() if at.date() <= d < self.seam_day)
        return (total - since) / total if total else 1.0

    def findings(self, index: int) -> list[Finding]:
        at = self.moments[index]
        again = self._time_bound(index) if self.rules else []
        findings = []
        for finding in self.present.findings:
            if finding.code in self.rule_codes:
                continue
            node = self._node(finding)
            derived = self.metrics.finding(finding, node, index) if node is not None else None
            findings.append(derived or finding)
        return findings + [dataclasses.replace(f, evidence=f"{SEEDED_BY} ({at:%Y-%m-%d %H:%M} UTC)") for f in again]

    def _node(self, finding: Finding) -> int | None:
        if finding.state is State.UNKNOWN or not finding.subject or finding.code not in _PERFORMANCE:
            return None
        return self.node_of.get(finding.subject.split(":")[0])

    def _time_bound(self, index: int) -> list[Finding]:
        at = self.moments[index]
        moment_ms = int(at.timestamp() * 1000)
        then = [_job_as_of(job, moment_ms) for job in self.jobs if job.create_at <= moment_ms][:RECENT_JOBS]
        usage = self.world.usage
        growth = self.growth(index)
        missing = absent(SEEDED_BY, "not part of the seeded past")
        inputs = RuleInputs(
            origin=SEEDED_BY, config=missing, license=self.license, version=missing, latest_version=missing,
            usage=Fact(Usage(active_users=round(usage.active_users * growth),
                             monthly_active_users=round(usage.monthly_active_users * growth),
                             incoming_webhooks=usage.incoming_webhooks), "GET /api/v4/analytics/old"),
            nodes=missing, jobs=Fact(parse_jobs(then), "GET /api/v4/jobs"), plugins=missing, server_status=missing,
            probes=missing, now=at)
        return evaluate(inputs, self.rules)


def _job_as_of(job: Job, moment_ms: int) -> dict[str, Any]:
    """The job as GET /jobs would have shown it at `moment_ms`: still running if it finished later."""
    row = {"id": job.id, "type": job.type, "priority": job.priority, "create_at": job.create_at,
           "start_at": job.start_at, "last_activity_at": job.last_activity_at, "status": job.status,
           "progress": job.progress, "data": job.data}
    if job.last_activity_at > moment_ms:  # halfway is as good a guess as any: only 0% means wedged to a rule
        started = 0 < job.start_at <= moment_ms
        row.update(status="in_progress" if started else "pending", progress=50 if started else 0,
                   last_activity_at=moment_ms if started else job.create_at, data={})
    return row


# -- the metric model, read as the dashboard reads Prometheus ---------------------------------------------------

_RANGE_S = DEFAULT_RANGE.total_seconds()  # what the collector queries: the last 24 hours
_INTERVAL_S = DEFAULT_SCRAPE_INTERVAL_S  # the demo's scrapes are finer; a window a minute longer moves no rate
_WINDOW_S = float(choose_window(choose_step(_RANGE_S, _INTERVAL_S), _INTERVAL_S))  # its rate() window
_SAMPLES = 9  # points per tenth of the range: the rules' "recent median" and a leak's first and last tenth
_OFFSETS = np.linspace(0.0, _RANGE_S / 10, _SAMPLES)

# health/rules/performance.py, per node: (query, firing, observed); the model gives the same series the rule reads.
_LEVELS: dict[str, tuple[str, Any, Any]] = {
    "PERF_API_LATENCY_P99": ("p99", lambda v: v > 1.0, lambda v: f"p99 {v:.2f} s"),
    "PERF_HTTP_ERROR_RATE": ("error_percent", lambda v: v > 5.0, lambda v: f"{v:.1f}% of requests"),
    "PERF_DB_POOL_SATURATED": ("pool_percent", lambda v: v >= 90, lambda v: f"{v:.0f}% of the pool in use"),
    "PERF_DB_POOL_WAITS": ("pool_waits", lambda v: v > 1.0, lambda v: f"{v:.2f} waits/s"),
    "PERF_FD_USAGE_HIGH": ("fd_percent", lambda v: v >= 75, lambda v: f"{v:.0f}% of the limit"),
    "PERF_CLUSTER_HEALTH": ("score", lambda v: v > 0, lambda v: f"health score {v:.0f}"),
}
_CLIMBS = {"PERF_GOROUTINE_CLIMB": ("goroutines", 1000, "goroutines"),
           "PERF_MEMORY_CLIMB": ("memory", 256 * MIB, "bytes")}
_PERFORMANCE = set(_LEVELS) | set(_CLIMBS)


class _Metrics:
    """Every node's series at each moment: the last point (the key figures), the median of the newest tenth of the
    collector's range (the rules' recent median) and the means of its first and newest tenths (a leak's climb)."""

    def __init__(self, world: Scenario, moments: Sequence[datetime]) -> None:
        ends = np.array([m.timestamp() for m in moments])
        recent = ends[:, None] - _OFFSETS[None, :]  # newest first: column 0 is the moment itself
        first = ends[:, None] - _RANGE_S + _OFFSETS[None, :]
        stamps = np.concatenate([recent.ravel(), recent.ravel() - _WINDOW_S, first.ravel()])
        self.latest: list[dict[str, np.ndarray]] = []
        self.medians: list[dict[str, np.ndarray]] = []
        self.climbs: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
        for index in range(len(world.nodes)):
            newest, oldest = _node_series(NodeModel(world, index), stamps, recent.shape)
            self.latest.append({name: values[:, 0] for name, values in newest.items()})
            # NaN (no requests at all) stays NaN: that moment keeps the real run's finding.
            self.medians.append({name: np.median(newest[name], axis=1) for name, _, _ in _LEVELS.values()})
            self.climbs.append({name: (oldest[name].mean(axis=1), newest[name].mean(axis=1))
                                for name, _, _ in _CLIMBS.values()})

    def figures(self, index: int) -> dict[str, float | None]:
        def worst(name: str) -> float | None:
            values = [node[name][index] for node in self.latest if np.isfinite(node[name][index])]
            return round(float(max(values)), 4) if values else None

        def total(name: str) -> float:
            return round(float(sum(node[name][index] for node in self.latest)), 4)

        return {"api_p99_seconds": worst("p99"), "http_error_percent": worst("error_percent"),
                "goroutines": total("goroutines"), "open_fds": total("open_fds"),
                "websocket_connections": total("websockets")}

    def websocket_share(self, index: int) -> float:
        """Websockets then as a share of those at the seam (the last moment)."""
        now = sum(node["websockets"][-1] for node in self.latest)
        return float(sum(node["websockets"][index] for node in self.latest) / now) if now else 1.0

    def finding(self, finding: Finding, node: int, index: int) -> Finding:
        if finding.code in _LEVELS:
            name, firing, observed = _LEVELS[finding.code]
            value = float(self.medians[node][name][index])
            if not np.isfinite(value):
                return finding
            return dataclasses.replace(finding, state=State.FIRING if firing(value) else State.OK,
                                       observed=f"{observed(value)} (recent median)")
        name, minimum, unit = _CLIMBS[finding.code]
        start, end = (float(values[index]) for values in self.climbs[node][name])
        rising = end > start * 1.5 and end - start > minimum
        return dataclasses.replace(finding, state=State.FIRING if rising else State.OK,
                                   observed=f"{start:,.0f} → {end:,.0f} {unit} over the window")


def _node_series(model: NodeModel, stamps: np.ndarray, shape: tuple[int, int]
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The catalogue's queries on one node: (newest tenth, first tenth), each name -> (moments, samples)."""
    families = {family.name: family for family in model.families(stamps)}
    count = shape[0] * shape[1]
    now, before, first = slice(0, count), slice(count, 2 * count), slice(2 * count, 3 * count)
    starts = model.process_start(stamps)
    restarted = starts[now] > stamps[before]

    def gauge(name: str, part: slice, labels: Iterable[tuple[str, str]] = ()) -> np.ndarray:
        wanted = set(labels)
        return sum(s.values[part] for s in families[name].series if wanted <= set(s.labels))

    def increase(values: np.ndarray) -> np.ndarray:
        # A restart resets the counter: what it counted since is the whole increase, as rate() assumes.
        return np.maximum(np.where(restarted, values[now], values[now] - values[before]), 0.0)

    def counter(name: str, labels: Iterable[tuple[str, str]] = ()) -> np.ndarray:
        return increase(gauge(name, slice(0, 3 * count), labels))

    buckets = {}
    for series in families["mattermost_api_time"].series:
        le = dict(series.labels).get("le")
        if series.name.endswith("_bucket") and le is not None:
            buckets[le] = buckets.get(le, 0) + increase(series.values)
    bounds = [str(b).removesuffix(".0") for b in BUCKETS]
    cumulative = np.array([buckets[b] for b in bounds] + [buckets["+Inf"]])
    requests = counter("mattermost_http_requests_total")
    with np.errstate(divide="ignore", invalid="ignore"):
        recent = {
            "p99": _quantile(0.99, np.array(BUCKETS), cumulative),
            "error_percent": 100 * counter("mattermost_http_errors_total") / requests,
            "pool_percent": 100 * gauge("go_sql_in_use_connections", now, [("db_name", "master")])
            / gauge("go_sql_max_open_connections", now, [("db_name", "master")]),
            "pool_waits": counter("go_sql_wait_count_total", [("db_name", "master")]) / _WINDOW_S,
            "fd_percent": 100 * gauge("mattermost_process_open_fds", now) / gauge("mattermost_process_max_fds", now),
            "score": gauge("mattermost_cluster_cluster_health_score", now),
            "goroutines": gauge("go_goroutines", now),
            "memory": gauge("mattermost_process_resident_memory_bytes", now),
            "open_fds": gauge("mattermost_process_open_fds", now),
            "websockets": gauge("mattermost_http_websockets_total", now),
        }
    earlier = {"goroutines": gauge("go_goroutines", first),
               "memory": gauge("mattermost_process_resident_memory_bytes", first)}
    return ({k: v.reshape(shape) for k, v in recent.items()}, {k: v.reshape(shape) for k, v in earlier.items()})


def _quantile(q: float, bounds: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """histogram_quantile over cumulative bucket counts (one row per bound, then +Inf), as Prometheus computes it:
    linear within the bucket the rank falls in, the highest finite bound when it falls in +Inf, NaN when empty."""
    total = cumulative[-1]
    rank = q * total
    position = np.argmax(cumulative >= rank[None, :], axis=0)
    upper = np.append(bounds, bounds[-1])[position]
    lower = np.where(position > 0, bounds[np.maximum(position - 1, 0)], 0.0)
    below = np.where(position > 0, cumulative[np.maximum(position - 1, 0), np.arange(total.size)], 0.0)
    inside = cumulative[position, np.arange(total.size)] - below
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(inside > 0, lower + (upper - lower) * (rank - below) / inside, upper)
    value = np.where(position == len(bounds), bounds[-1], value)
    return np.where(total > 0, value, np.nan)


# -- the findings' lifecycle ------------------------------------------------------------------------------------

def _write_lifecycle(store: Store, environment: str, moments: Sequence[datetime], runs: Sequence[list[Finding]],
                     seam: datetime) -> int:
    """Replay the seeded runs through the lifecycle, audit each change at its moment, and extend the tracked
    findings back: an episode still open at the seam is the one the real runs carry on."""
    tracked: dict[str, Tracked] = {}
    entries = 0
    for at, findings in zip(moments, runs, strict=True):
        # "Unknown" changes nothing in a lifecycle, so only judged findings are worth fingerprinting.
        tracked, changes = advance(tracked, [f for f in findings if f.state is not State.UNKNOWN], at)
        if changes:
            store.record(SEEDED_BY, SEEDED_ACTION, environment=environment, target=LIFECYCLE_TARGET,
                         details=_listed(changes), at=at)
            entries += 1
    for _ in range(ATTEMPTS):
        document = store.get(finding_states.KIND, finding_states.KEY, environment)
        real = ({key: Tracked.from_json(value) for key, value in document.body.get("findings", {}).items()}
                if document is not None else {})
        merged = _merge(tracked, real)
        last_run = document.body.get("last_run") if document is not None else {"at": seam.isoformat()}
        try:
            store.put(finding_states.KIND, finding_states.KEY, environment,
                      {"findings": {key: value.to_json() for key, value in merged.items()}, "last_run": last_run},
                      actor=SEEDED_BY, expected_version=document.version if document is not None else None,
                      audit_details={"seeded_before": seam.isoformat()})
        except ConflictError:
            continue
        return entries
    raise StoreError(f"the findings of {environment} kept changing while the demo's past was written "
                     f"({ATTEMPTS} attempts)")


def _listed(changes: Sequence[Change]) -> dict[str, list[str]]:
    listed = {kind.value: [c.finding.fingerprint for c in changes if c.kind is kind] for kind in ChangeKind}
    return {kind: keys for kind, keys in listed.items() if keys}


def _merge(seeded: Mapping[str, Tracked], real: Mapping[str, Tracked]) -> dict[str, Tracked]:
    """The real runs' tracked findings, with what the seeded past adds: when each first fired, and for one still
    open at the seam, that its episode began then (the real runs took it for new)."""
    merged = dict(seeded)
    for key, now in real.items():
        before = seeded.get(key)
        if before is None:
            merged[key] = now
            continue
        continues = before.status is Status.OPEN
        merged[key] = dataclasses.replace(
            now, first_seen=min(before.first_seen, now.first_seen),
            opened_at=before.opened_at if continues and now.reopened == 0 else now.opened_at,
            reopened=before.reopened + now.reopened + (0 if continues else 1))
    return merged
