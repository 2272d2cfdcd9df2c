"""The metrics value model: closed-form counters, sane histograms, and scenarios that look like what they are."""

import random

import numpy as np

from simulator import build_scenario
from simulator.metrics_model import BUCKETS, DAY, HOUR, Pulse, node_families, traffic

T = 1_795_000_000.0
WEEK = np.arange(T - 7 * DAY, T, 300.0)


def series(scenario_name: str, node: int, t: np.ndarray, name: str, **labels: str) -> np.ndarray:
    for family in node_families(build_scenario(scenario_name), node, t):
        for s in family.series:
            if s.name == name and all(dict(s.labels).get(k) == v for k, v in labels.items()):
                return s.values
    raise AssertionError(f"{name}{labels} not found")


def summed(scenario_name: str, node: int, t: np.ndarray, name: str) -> np.ndarray:
    return sum(s.values for f in node_families(build_scenario(scenario_name), node, t) for s in f.series
               if s.name == name)


def test_closed_form_integrals_match_numeric_integration():
    rate = traffic(5.0, random.Random(1)).plus(Pulse(3.0, DAY, 2700, 13 * HOUR))
    t = np.linspace(T, T + 2 * DAY, 400_001)
    values = rate.at(t)
    numeric = np.sum((values[1:] + values[:-1]) / 2 * np.diff(t))
    assert np.isclose(rate.integral(np.array(T), np.array(T + 2 * DAY)), numeric, rtol=1e-6)
    assert values.min() > 0


def test_counters_only_reset_when_the_process_restarts():
    for name in ("mattermost_http_requests_total", "mattermost_process_cpu_seconds_total"):
        values = series("degraded", 2, WEEK, name)
        starts = series("degraded", 2, WEEK, "mattermost_process_start_time_seconds")
        drops = np.flatnonzero(np.diff(values) < 0)
        restarts = np.flatnonzero(np.diff(starts) > 0)
        assert drops.tolist() == restarts.tolist() and len(restarts) >= 1


def test_histogram_buckets_are_cumulative_and_end_in_the_count():
    t = np.array([T])
    families = {f.name: f for f in node_families(build_scenario("healthy"), 0, t)}
    api = families["mattermost_api_time"].series
    buckets = [s.values[0] for s in api[:len(BUCKETS) + 1]]
    assert buckets == sorted(buckets)
    assert api[len(BUCKETS)].labels[-1] == ("le", "+Inf") and buckets[-1] == api[len(BUCKETS) + 2].values[0]


def _p99(scenario_name: str, node: int, t0: float, t1: float) -> float:
    """p99 of API time over [t0, t1] from bucket increases, as histogram_quantile would find the bucket."""
    t = np.array([t0, t1])
    increases = [summed_bucket(scenario_name, node, t, le) for le in [*map(str, BUCKETS), "+Inf"]]
    total = increases[-1]
    bounds = [*BUCKETS, float("inf")]
    return next(b for b, n in zip(bounds, increases, strict=True) if n >= 0.99 * total)


def summed_bucket(scenario_name: str, node: int, t: np.ndarray, le: str) -> float:
    le = le.removesuffix(".0")
    values = sum(s.values for f in node_families(build_scenario(scenario_name), node, t) for s in f.series
                 if s.name == "mattermost_api_time_bucket" and dict(s.labels)["le"] == le)
    return float(values[1] - values[0])


def _ratio(scenario_name: str, t0: float, t1: float) -> float:
    t = np.array([t0, t1])
    errors = np.diff(series(scenario_name, 0, t, "mattermost_http_errors_total"))[0]
    requests = np.diff(series(scenario_name, 0, t, "mattermost_http_requests_total"))[0]
    return errors / requests


def test_degraded_cluster_shows_errors_latency_pool_waits_and_a_goroutine_climb():
    hour = (T - HOUR, T)
    assert _ratio("degraded", *hour) > 0.05 > 0.01 > _ratio("healthy", *hour)
    assert _p99("degraded", 0, *hour) >= 1.0 > 0.5 >= _p99("healthy", 0, *hour)
    t = np.array(hour)
    degraded_waits = np.diff(series("degraded", 0, t, "go_sql_wait_count_total", db_name="master"))[0]
    healthy_waits = np.diff(series("healthy", 0, t, "go_sql_wait_count_total", db_name="master"))[0]
    assert degraded_waits > 100 * max(healthy_waits, 1)
    goroutines = series("degraded", 2, WEEK, "go_goroutines")
    starts = series("degraded", 2, WEEK, "mattermost_process_start_time_seconds")
    one_life = goroutines[starts == starts[-1]]
    assert one_life[-1] > 3 * one_life[0]  # the sick node leaks until it is restarted
    assert series("degraded", 2, WEEK, "mattermost_cluster_cluster_health_score").mean() >= 1
    assert series("healthy", 0, WEEK, "mattermost_cluster_cluster_health_score").max() == 0


def test_daily_incident_saturates_the_degraded_pool():
    day = np.arange(T - DAY, T, 60.0)
    in_use = series("degraded", 0, day, "go_sql_in_use_connections", db_name="master")
    max_open = series("degraded", 0, day, "go_sql_max_open_connections", db_name="master")
    assert in_use.max() == max_open[0] and np.median(in_use) < max_open[0] / 4


def test_gauges_follow_the_working_day():
    websockets = summed("healthy", 0, WEEK, "mattermost_http_websockets_total")
    assert websockets.max() > 2 * websockets.min()
    replicas = series("healthy", 0, WEEK, "go_sql_open_connections", db_name="replica-0")
    assert replicas.min() > 0
