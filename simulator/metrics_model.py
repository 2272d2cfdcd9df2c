"""The numbers behind the simulator's Prometheus exposition: every value is a pure function of (scenario, node,
timestamp), so a live scrape and a backfilled week of history agree sample for sample.

Rates are sums of sinusoids (a working-day cycle, a weekly cycle and a few short wobbles) plus raised-cosine
bursts for recurring incidents; both have closed-form integrals, so a counter at time t is the integral of its
rate since the process started, computed without stepping through time. Processes restart on a fixed schedule,
which resets counters the way a real restart does. Everything is vectorised over an array of timestamps.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

import numpy as np

from simulator.model import ClusterNode, Scenario

TAU = 2 * math.pi
HOUR = 3600.0
DAY = 24 * HOUR
WEEK = 7 * DAY
# A fixed origin for restart schedules, so a timestamp always belongs to the same process lifetime.
EPOCH = 1_700_000_000.0
# client_golang's DefBuckets, which Mattermost's server-side histograms use.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GO_VERSION = "go1.24.6"
MIB = 1024.0 * 1024.0

Labels = tuple[tuple[str, str], ...]


# ---------------------------------------------------------------------------------------------- signals

@dataclass(frozen=True)
class Wave:
    """mean + sum of amplitude * sin(2*pi*t/period + phase)."""

    mean: float
    terms: tuple[tuple[float, float, float], ...] = ()  # (amplitude, period_s, phase)

    def at(self, t: np.ndarray) -> np.ndarray:
        out = np.full(t.shape, self.mean, dtype=float)
        for amplitude, period, phase in self.terms:
            out += amplitude * np.sin(TAU * t / period + phase)
        return out

    def integral(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        out = self.mean * (t1 - t0)
        for amplitude, period, phase in self.terms:
            omega = TAU / period
            out = out + amplitude / omega * (np.cos(omega * t0 + phase) - np.cos(omega * t1 + phase))
        return out

    def scaled(self, k: float) -> Wave:
        return Wave(self.mean * k, tuple((a * k, p, ph) for a, p, ph in self.terms))


@dataclass(frozen=True)
class Pulse:
    """A raised-cosine burst of `height` lasting `width` s, once every `period` s, `offset` s into the period."""

    height: float
    period: float
    width: float
    offset: float

    def at(self, t: np.ndarray) -> np.ndarray:
        x = np.mod(t - self.offset, self.period)
        return np.where(x < self.width, self.height * (1 - np.cos(TAU * x / self.width)) / 2, 0.0)

    def _cumulative(self, t: np.ndarray) -> np.ndarray:
        n = np.floor((t - self.offset) / self.period)
        x = t - self.offset - n * self.period
        partial = np.where(x < self.width, x / 2 - self.width / (2 * TAU) * np.sin(TAU * x / self.width),
                           self.width / 2)
        return self.height * (n * self.width / 2 + partial)

    def integral(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        return self._cumulative(t1) - self._cumulative(t0)

    def scaled(self, k: float) -> Pulse:
        return replace(self, height=self.height * k)


@dataclass(frozen=True)
class Signal:
    """A rate or a level: a wave plus recurring bursts. Positive by construction (amplitudes < mean)."""

    wave: Wave
    pulses: tuple[Pulse, ...] = ()

    def at(self, t: np.ndarray) -> np.ndarray:
        out = self.wave.at(t)
        for pulse in self.pulses:
            out = out + pulse.at(t)
        return out

    def integral(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        out = self.wave.integral(t0, t1)
        for pulse in self.pulses:
            out = out + pulse.integral(t0, t1)
        return out

    def scaled(self, k: float) -> Signal:
        return Signal(self.wave.scaled(k), tuple(p.scaled(k) for p in self.pulses))

    def plus(self, *pulses: Pulse) -> Signal:
        return Signal(self.wave, self.pulses + pulses)


def traffic(mean: float, rng: random.Random, *, daily: float = 0.55, weekly: float = 0.2) -> Signal:
    """Office-hours load: peaks at 14:00 UTC on weekdays, dips at night and over the weekend, wobbles a little."""
    # sin peaks at pi/2: put the daily peak at 14:00 and the weekly trough on Saturday noon
    # (the Unix epoch began on a Thursday, so Saturday noon is 2.5 days into each epoch week).
    day_phase = math.pi / 2 - TAU * 14 * HOUR / DAY
    week_phase = 3 * math.pi / 2 - TAU * 2.5 * DAY / WEEK
    wobble = tuple((mean * a, p * rng.uniform(0.9, 1.1), rng.uniform(0, TAU))
                   for a, p in ((0.06, 431.0), (0.05, 1307.0), (0.04, 3779.0)))
    return Signal(Wave(mean, ((mean * daily, DAY, day_phase), (mean * weekly, WEEK, week_phase), *wobble)))


def jitter(t: np.ndarray, seed: int, grain_s: float = 15.0) -> np.ndarray:
    """Deterministic noise in [-1, 1) that changes every `grain_s` seconds (an integer hash; uint64 arithmetic
    wraps, which is what the hash wants)."""
    mask = np.uint64(0xFFFFFFFF)
    x = np.floor(t / grain_s).astype(np.uint64) * np.uint64(2654435761) + np.uint64(seed * 40503 + 0x9E3779B9)
    x &= mask
    x = ((x ^ (x >> np.uint64(15))) * np.uint64(2246822519)) & mask
    x ^= x >> np.uint64(13)
    return x.astype(float) / 2**31 - 1.0


@dataclass(frozen=True)
class Latency:
    """A log-normal latency mode: `median` seconds, spread `sigma`."""

    median: float
    sigma: float

    def cdf(self) -> np.ndarray:
        z = (np.log(np.array(BUCKETS)) - math.log(self.median)) / (self.sigma * math.sqrt(2))
        return 0.5 * (1 + np.array([math.erf(v) for v in z]))

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


@dataclass(frozen=True)
class Timing:
    """Requests of one label set: most in a fast mode, some in a slow one (the slow share drives p99)."""

    fast_rate: Signal
    slow_rate: Signal
    fast: Latency
    slow: Latency


# ---------------------------------------------------------------------------------------------- profiles

@dataclass(frozen=True)
class Profile:
    """How sick a scenario is; the defaults describe a healthy deployment."""

    requests_per_user: float = 0.02  # API requests per second per daily active user, at the daily mean
    error_share: float = 0.004
    slow_share: float = 0.003
    cpu_per_request: float = 0.012  # core-seconds
    pool_waits_per_s: float = 0.0005
    wait_seconds: float = 0.02  # mean wait for a pooled connection
    login_fail_share: float = 0.03
    search_slow_share: float = 0.01
    search_slow: Latency = Latency(0.9, 0.5)
    hook_slow_share: float = 0.002
    max_fds: float = 65536
    restart_every_days: float = 14.0
    incident: Pulse | None = None  # a recurring burst that hits errors, latency, pool and cluster together
    sick_node: int | None = None  # leaks goroutines, memory and FDs; scores badly on cluster health
    leak_goroutines_per_h: float = 0.0
    leak_bytes_per_h: float = 0.0
    leak_fds_per_h: float = 0.0
    leak_cores_per_h: float = 0.0
    sick_health_score: float = 0.0
    sick_restart_every_days: float = 14.0


PROFILES = {
    "healthy": Profile(),
    "large": Profile(requests_per_user=0.012, restart_every_days=10.0),
    # Daily at 13:20 UTC for 45 minutes: the pool saturates, errors and latency spike, gossip suffers.
    "degraded": Profile(
        error_share=0.07, slow_share=0.035, cpu_per_request=0.03, pool_waits_per_s=0.6, wait_seconds=0.35,
        login_fail_share=0.22, search_slow_share=0.18, search_slow=Latency(4.0, 0.6), hook_slow_share=0.06,
        max_fds=4096, restart_every_days=9.0,
        incident=Pulse(1.0, DAY, 45 * 60, 13 * HOUR + 20 * 60),
        sick_node=2, leak_goroutines_per_h=160.0, leak_bytes_per_h=22 * MIB, leak_fds_per_h=34.0,
        leak_cores_per_h=0.015, sick_health_score=2.0, sick_restart_every_days=3.5,
    ),
}

API_HANDLERS = (  # handler, method, status, share of answered requests, fast latency
    ("getPostsForChannelAroundLastUnread", "GET", "200", 0.55, Latency(0.035, 0.7)),
    ("createPost", "POST", "201", 0.40, Latency(0.06, 0.6)),
)
API_FAILURE = ("createPost", "POST", "500", 0.2, Latency(0.25, 0.9))  # share of failed requests
API_SLOW = Latency(1.6, 0.6)
PLUGIN_HOOKS = (("playbooks", "MessageHasBeenPosted"), ("jira", "ServeHTTP"))
JOB_WINDOWS = (  # type, period, start within period, duration: when a recurring job is running on node 0
    ("ldap_sync", HOUR, 5 * 60.0, 3 * 60.0),
    ("data_retention", DAY, 2 * HOUR, 12 * 60.0),
    ("message_export", DAY, 1 * HOUR, 25 * 60.0),
    ("elasticsearch_post_indexing", DAY, 3 * HOUR, 40 * 60.0),
)


# ---------------------------------------------------------------------------------------------- samples

@dataclass(frozen=True)
class Series:
    name: str  # the sample name (with _total, _bucket, _sum or _count)
    labels: Labels
    values: np.ndarray  # one value per timestamp
    integer: bool = False  # counts and sizes print without a fraction


@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # counter | gauge | histogram
    help: str
    series: list[Series] = field(default_factory=list)


class NodeModel:
    """The signals of one node of one scenario; `families(t)` samples all of them at the timestamps `t`."""

    def __init__(self, scenario: Scenario, index: int) -> None:
        self.scenario = scenario
        self.index = index
        self.node: ClusterNode = scenario.nodes[index]
        self.profile = PROFILES.get(scenario.name, PROFILES["healthy"])
        self.sick = self.profile.sick_node == index
        self._rng = random.Random(f"mattermost-metrics/{scenario.name}/{self.node.id}")
        self._seed = self._rng.randrange(1 << 20)
        nodes = len(scenario.nodes)
        share = self._rng.uniform(0.92, 1.08) / nodes  # load balancers are never quite even
        usage = scenario.usage
        self.requests = traffic(usage.daily_active_users * self.profile.requests_per_user * nodes * share,
                                self._rng)
        self.load = self.requests.scaled(1 / self.requests.wave.mean)  # normalised shape, mean 1
        self.websockets_mean = usage.websocket_connections * share
        self.incident = self.profile.incident
        self.threads = 16 + self._rng.randrange(8)
        posts_per_day = [d.value for d in usage.posts_per_day[:7]] or [0]
        self.posts = self.load.scaled(sum(posts_per_day) / len(posts_per_day) / DAY * nodes * share)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _burst(self, signal: Signal, height: float) -> Signal:
        return signal.plus(self.incident.scaled(height)) if self.incident and height else signal

    def process_start(self, t: np.ndarray) -> np.ndarray:
        every = (self.profile.sick_restart_every_days if self.sick else self.profile.restart_every_days) * DAY
        offset = self.index * 7 * 60 + self._seed % 3600  # rolling restarts, a few minutes apart
        return EPOCH + offset + np.floor((t - EPOCH - offset) / every) * every

    def _counter(self, rate: Signal, t: np.ndarray, start: np.ndarray) -> np.ndarray:
        return rate.integral(start, t)

    def _histogram(self, name: str, labels: Labels, timing: Timing, t: np.ndarray,
                   start: np.ndarray) -> list[Series]:
        fast = timing.fast_rate.integral(start, t)
        slow = timing.slow_rate.integral(start, t)
        series = []
        for le, f_cdf, s_cdf in zip(BUCKETS, timing.fast.cdf(), timing.slow.cdf(), strict=True):
            series.append(Series(f"{name}_bucket", (*labels, ("le", _le(le))), np.floor(fast * f_cdf + slow * s_cdf),
                                 integer=True))
        count = np.floor(fast + slow)
        series.append(Series(f"{name}_bucket", (*labels, ("le", "+Inf")), count, integer=True))
        series.append(Series(f"{name}_sum", labels, fast * timing.fast.mean + slow * timing.slow.mean))
        series.append(Series(f"{name}_count", labels, count, integer=True))
        return series

    def _timing(self, rate: Signal, slow_share: float, fast: Latency, slow: Latency, burst: float) -> Timing:
        slow_rate = self._burst(rate.scaled(slow_share), burst * rate.wave.mean)
        return Timing(rate.scaled(1 - slow_share), slow_rate, fast, slow)

    def websockets(self, t: np.ndarray) -> np.ndarray:
        level = 0.35 + 0.65 * self.load.at(t) / 1.9  # connections linger after people stop clicking
        return self.websockets_mean * level

    # -- families --------------------------------------------------------------------------------------------

    def families(self, t: np.ndarray) -> list[Family]:
        start = self.process_start(t)
        uptime_h = (t - start) / HOUR
        return [*self._process(t, start, uptime_h), *self._database(t, start), *self._http(t, start),
                *self._cluster_and_jobs(t, start), *self._plugins_search_logins(t, start)]

    def _process(self, t: np.ndarray, start: np.ndarray, uptime_h: np.ndarray) -> list[Family]:
        p = self.profile
        ws = self.websockets(t)
        cpu = self._burst(self.requests.scaled(p.cpu_per_request), 1.5)
        leak = uptime_h if self.sick else np.zeros_like(t)
        # Housekeeping costs 0.05 cores even when idle; a leaking node also burns more CPU the longer it runs.
        cpu_seconds = (self._counter(cpu, t, start) + 0.05 * (t - start)
                       + p.leak_cores_per_h * leak * (t - start) / 2)
        goroutines = 220 + 2.0 * ws + p.leak_goroutines_per_h * leak + 12 * jitter(t, self._seed + 1)
        rss = 380 * MIB + 48 * 1024 * ws + p.leak_bytes_per_h * leak + 6 * MIB * jitter(t, self._seed + 2, 60)
        heap = rss * (0.55 + 0.05 * jitter(t, self._seed + 3, 30))
        open_fds = (70 + 1.02 * ws + self._pool_open(t).sum(axis=0) + p.leak_fds_per_h * leak
                    + 4 * jitter(t, self._seed + 4))
        return [
            _gauge("mattermost_process_start_time_seconds", "When this process started, in Unix seconds.",
                   start),
            _counter_family("mattermost_process_cpu_seconds_total",
                            "CPU seconds this process has used, user plus system.", cpu_seconds, integer=False),
            _gauge("mattermost_process_resident_memory_bytes", "Bytes of this process resident in RAM.", rss,
                   integer=True),
            _gauge("mattermost_process_virtual_memory_bytes", "Bytes of address space this process maps.",
                   rss * 3.4 + 1.2e9, integer=True),
            _gauge("mattermost_process_open_fds", "File descriptors this process holds open.", open_fds,
                   integer=True),
            _gauge("mattermost_process_max_fds", "The limit on file descriptors this process may open.",
                   np.full_like(t, p.max_fds), integer=True),
            _gauge("go_goroutines", "Goroutines alive right now.", goroutines, integer=True),
            _gauge("go_threads", "Operating-system threads the Go runtime has made.",
                   np.full_like(t, self.threads), integer=True),
            Family("go_info", "gauge", "The Go release the server was built with (always 1).",
                   [Series("go_info", (("version", GO_VERSION),), np.ones_like(t), integer=True)]),
            _gauge("go_memstats_alloc_bytes", "Bytes held by heap objects not yet collected.", heap * 0.82,
                   integer=True),
            _gauge("go_memstats_heap_inuse_bytes", "Bytes in heap spans holding at least one object.", heap,
                   integer=True),
        ]

    def _pools(self) -> list[tuple[str, float]]:
        """(db_name, connections in use at the daily mean) for the master and each read replica."""
        s = self.scenario
        nodes = len(s.nodes)
        pools = [("master", s.usage.master_db_connections / nodes * 0.6)]
        replicas = s.settings.data_source_replicas
        pools += [(f"replica-{i}", s.usage.read_db_connections / nodes / replicas * 0.6) for i in range(replicas)]
        return pools

    def _pool_demand(self, t: np.ndarray) -> np.ndarray:
        """Connections wanted per pool; an incident wants the whole pool and more."""
        rows = []
        for i, (_, mean) in enumerate(self._pools()):
            demand = mean * self.load.at(t) * (1 + 0.15 * jitter(t, self._seed + 10 + i))
            if self.incident is not None:
                demand = demand + self.incident.at(t) * self.scenario.settings.max_open_conns * 1.2
            rows.append(demand)
        return np.array(rows)

    def _pool_open(self, t: np.ndarray) -> np.ndarray:
        max_open = self.scenario.settings.max_open_conns
        demand = self._pool_demand(t)
        return np.minimum(np.ceil(demand * 1.25 + 4), max_open)

    def _database(self, t: np.ndarray, start: np.ndarray) -> list[Family]:
        p = self.profile
        max_open = float(self.scenario.settings.max_open_conns)
        demand = self._pool_demand(t)
        open_ = self._pool_open(t)
        in_use = np.minimum(np.round(demand), open_)
        waits = [self._burst(self.load.scaled(p.pool_waits_per_s * (1 if name == "master" else 0.3)), 40.0)
                 for name, _ in self._pools()]
        families = {name: Family(name, kind, text) for name, kind, text in (
            ("go_sql_max_open_connections", "gauge", "The pool's limit on open connections (MaxOpenConns)."),
            ("go_sql_open_connections", "gauge", "Connections the pool holds open, busy or idle."),
            ("go_sql_in_use_connections", "gauge", "Connections running a query now."),
            ("go_sql_idle_connections", "gauge", "Open connections waiting for work."),
            ("go_sql_wait_count_total", "counter", "Times a caller had to wait for a free connection."),
            ("go_sql_wait_duration_seconds_total", "counter",
             "Seconds callers spent waiting for a free connection."),
        )}
        for i, (db_name, _) in enumerate(self._pools()):
            labels = (("db_name", db_name),)
            wait_count = self._counter(waits[i], t, start)
            values = {
                "go_sql_max_open_connections": np.full_like(t, max_open),
                "go_sql_open_connections": open_[i],
                "go_sql_in_use_connections": in_use[i],
                "go_sql_idle_connections": open_[i] - in_use[i],
                "go_sql_wait_count_total": np.floor(wait_count),
                "go_sql_wait_duration_seconds_total": wait_count * p.wait_seconds,
            }
            for name, v in values.items():
                families[name].series.append(
                    Series(name, labels, v, integer=name != "go_sql_wait_duration_seconds_total"))
        replicas = open_[1:].sum(axis=0) if len(open_) > 1 else np.zeros_like(t)
        return [
            *families.values(),
            _gauge("mattermost_db_master_connections_total", "Connections open to the master database.",
                   open_[0], integer=True),
            _gauge("mattermost_db_read_replica_connections_total", "Connections open to the read replicas.",
                   replicas, integer=True),
            _gauge("mattermost_db_search_replica_connections_total", "Connections open to the search replicas.",
                   np.zeros_like(t), integer=True),
        ]

    def _http(self, t: np.ndarray, start: np.ndarray) -> list[Family]:
        p = self.profile
        errors = self._burst(self.requests.scaled(p.error_share), 0.35 * self.requests.wave.mean)
        ok = self.requests.scaled(1 - p.error_share)
        ws = self.websockets(t)
        split = (("web", 0.55), ("mobile", 0.3), ("desktop", 0.15))
        api = Family("mattermost_api_time", "histogram", "Time to execute an API handler, in seconds.")
        for handler, method, status, share, fast in (*API_HANDLERS, API_FAILURE):
            rate = (errors if status == API_FAILURE[2] else ok).scaled(share)
            timing = self._timing(rate, p.slow_share, fast, API_SLOW, 0.25)
            labels = (("handler", handler), ("method", method), ("status_code", status), ("origin_client", "web"))
            api.series.extend(self._histogram("mattermost_api_time", labels, timing, t, start))
        return [
            _counter_family("mattermost_http_requests_total", "HTTP requests served by the API.",
                            np.floor(self._counter(ok, t, start) + self._counter(errors, t, start))),
            _counter_family("mattermost_http_errors_total", "HTTP requests answered with a 4xx or 5xx status.",
                            np.floor(self._counter(errors, t, start))),
            Family("mattermost_http_websockets_total", "gauge", "Open WebSocket connections.",
                   [Series("mattermost_http_websockets_total", (("origin_client", client),),
                           np.round(ws * part), integer=True) for client, part in split]),
            api,
            _counter_family("mattermost_post_total", "Posts created.",
                            np.floor(self._counter(self.posts, t, start))),
        ]

    def _cluster_and_jobs(self, t: np.ndarray, start: np.ndarray) -> list[Family]:
        p = self.profile
        nodes = len(self.scenario.nodes)
        score = np.zeros_like(t)
        if self.sick:
            score = score + p.sick_health_score + jitter(t, self._seed + 20, 60)
        if self.incident is not None and p.sick_health_score:
            score = score + 3 * self.incident.at(t)
        cluster_rate = self.load.scaled(1.5 * (nodes - 1))
        jobs = Family("mattermost_jobs_active", "gauge", "Jobs currently running on this node, by type.")
        for job_type, period, begin, length in JOB_WINDOWS:
            running = (np.mod(t - begin, period) < length) if self.index == 0 else np.zeros(t.shape, bool)
            # The degraded cluster's LDAP sync hangs: one run never ends.
            if self.scenario.name == "degraded" and job_type == "ldap_sync" and self.index == 0:
                running = np.ones(t.shape, bool)
            jobs.series.append(Series("mattermost_jobs_active", (("type", job_type),), running.astype(float),
                                      integer=True))
        return [
            _gauge("mattermost_cluster_cluster_health_score", "Gossip health of this node: 0 is healthy.",
                   np.maximum(np.round(score), 0), integer=True),
            _counter_family("mattermost_cluster_cluster_requests_total", "Requests sent to other cluster nodes.",
                            np.floor(self._counter(cluster_rate, t, start))),
            jobs,
            _gauge("mattermost_system_server_start_time", "When the Mattermost server started (Unix seconds).",
                   start),
        ]

    def _plugins_search_logins(self, t: np.ndarray, start: np.ndarray) -> list[Family]:
        p = self.profile
        enabled = {pl.id for pl in self.scenario.plugins if pl.enabled}
        hooks = Family("mattermost_plugin_hook_time", "histogram", "Time to run a plugin hook, in seconds.")
        for plugin_id, hook in PLUGIN_HOOKS:
            if plugin_id not in enabled:
                continue
            rate = self.requests.scaled(0.12 if hook == "MessageHasBeenPosted" else 0.02)
            slow_share = p.hook_slow_share * (2 if plugin_id == "jira" else 1)
            timing = self._timing(rate, slow_share, Latency(0.004, 0.6), Latency(1.2, 0.7), 0.05)
            labels = (("plugin_id", plugin_id), ("hook_name", hook), ("success", "true"))
            hooks.series.extend(self._histogram("mattermost_plugin_hook_time", labels, timing, t, start))
        searches = self.requests.scaled(0.015)
        search_timing = self._timing(searches, p.search_slow_share, Latency(0.12, 0.6), p.search_slow, 0.3)
        search = Family("mattermost_search_posts_searches_duration_seconds", "histogram",
                        "Time to search posts, in seconds.",
                        self._histogram("mattermost_search_posts_searches_duration_seconds", (), search_timing,
                                        t, start))
        logins = self.requests.scaled(0.002)
        fails = self._burst(logins.scaled(p.login_fail_share), 0.004 * self.requests.wave.mean)
        return [
            hooks,
            _counter_family("mattermost_search_posts_searches_total", "Post searches run.",
                            np.floor(self._counter(searches, t, start))),
            search,
            _counter_family("mattermost_login_logins_total", "Successful logins.",
                            np.floor(self._counter(logins, t, start))),
            _counter_family("mattermost_login_logins_fail_total", "Failed logins.",
                            np.floor(self._counter(fails, t, start))),
        ]


def _le(bound: float) -> str:
    """Bucket bounds the way client_golang prints them (shortest form: 0.005, 1, 2.5, 10)."""
    return repr(bound).removesuffix(".0")


def _gauge(name: str, text: str, values: np.ndarray, *, integer: bool = False) -> Family:
    return Family(name, "gauge", text, [Series(name, (), values, integer=integer)])


def _counter_family(name: str, text: str, values: np.ndarray, *, integer: bool = True) -> Family:
    return Family(name, "counter", text, [Series(name, (), values, integer=integer)])


def node_families(scenario: Scenario, node_index: int, t: np.ndarray) -> list[Family]:
    """Every metric family node `node_index` of `scenario` exposes, sampled at the timestamps `t` (seconds)."""
    return NodeModel(scenario, node_index).families(np.asarray(t, dtype=float))
