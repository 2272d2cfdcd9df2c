"""The Prometheus collector against a real Prometheus holding a week of a two-node cluster's history."""

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from pydantic import SecretStr

from collectors import SourceStatus
from collectors.mm_queries import CATALOGUE, MetricQuery
from collectors.prometheus import collect, no_metrics_sentence, query_range, run_queries
from collectors.prometheus_models import FRAME_COLUMNS, MAX_POINTS_PER_SERIES
from settings import PrometheusSettings
from tests.servers.prometheus import SCRAPE_INTERVAL_S, PrometheusServer, free_port

WEEK = timedelta(days=7)


def week_until_backfill_end(server: PrometheusServer) -> tuple[datetime, datetime]:
    # Ending at the backfill's last sample keeps the test independent of when the first live scrape lands.
    end = datetime.fromtimestamp(server.history_end, UTC)
    return end - WEEK, end


@pytest.fixture(scope="module")
def week(prometheus_server):
    """The whole catalogue over the backfilled week, collected once for the tests that only read it."""
    start, end = week_until_backfill_end(prometheus_server)
    return asyncio.run(run_queries(prometheus_server.settings(), CATALOGUE, start, end))


def test_every_catalogue_query_has_a_week_of_data_for_every_node(week, prometheus_server):
    assert week.status is SourceStatus.OK, week.error
    facts = week.data
    nodes = prometheus_server.instances()
    assert set(facts.instances) == nodes
    assert set(facts.results) == {q.name for q in CATALOGUE}
    assert facts.skipped == {} and facts.missing == {}
    for name, result in facts.results.items():
        frame = result.frame
        assert tuple(frame.columns) == FRAME_COLUMNS
        assert set(frame["instance"]) == nodes, name  # the Prometheus' own go_* series stay out
        assert set(result.latest) == nodes, name
        span = frame["timestamp"].max() - frame["timestamp"].min()
        assert span >= WEEK - timedelta(seconds=2 * facts.step_s), name
    assert facts.points == sum(len(r.frame) for r in facts.results.values()) > 0


def test_window_and_step_follow_the_scrape_interval_and_point_limit(week):
    facts = week.data
    # Right after start Prometheus lists no targets yet, so the interval comes from its configuration.
    assert facts.scrape_interval_s == SCRAPE_INTERVAL_S and facts.scrape_interval_source in ("targets", "config")
    assert facts.window_s >= 4 * facts.scrape_interval_s
    assert facts.window_s >= facts.step_s
    for result in facts.results.values():
        per_series = result.frame.groupby("instance").size()
        assert per_series.max() <= MAX_POINTS_PER_SERIES
        assert f"[{int(facts.window_s)}s]" in result.promql or "[" not in result.promql


def test_values_are_what_a_healthy_cluster_looks_like(week):
    latest = {name: r.latest for name, r in week.data.results.items()}
    assert all(v == 0 for v in latest["cluster_health_score"].values())
    assert all(0 < v < 1 for v in latest["api_latency_p99"].values())  # seconds
    assert all(v < 2 for v in latest["http_error_percent"].values())
    assert all(v > 0 for v in latest["websockets"].values())
    assert all(0 < v < 100 for v in latest["open_fds_percent"].values())


async def test_default_collection_covers_the_last_day(prometheus_server):
    async with httpx.AsyncClient() as client:
        result = await collect(prometheus_server.settings(), client)
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert timedelta(hours=23) < facts.end - facts.start <= timedelta(hours=24)
    assert "mattermost_http_requests_total" in facts.available_metrics
    assert "go_goroutines" in facts.available_metrics
    assert not any(n.startswith("prometheus_") for n in facts.available_metrics)
    assert set(facts.results["http_requests_per_second"].latest) == prometheus_server.instances()


async def test_time_range_picker_gets_only_the_named_queries_over_its_range(prometheus_server):
    end = datetime.fromtimestamp(prometheus_server.history_end, UTC) - timedelta(days=2)
    start = end - timedelta(days=3)
    result = await query_range(prometheus_server.settings(), ["goroutines", "api_latency_p99"], start, end)
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert set(facts.results) == {"goroutines", "api_latency_p99"}
    frame = facts.results["goroutines"].frame
    assert frame["timestamp"].min() >= start and frame["timestamp"].max() <= end


async def test_a_range_far_beyond_the_history_still_respects_the_point_limit(prometheus_server):
    end = datetime.fromtimestamp(prometheus_server.history_end, UTC)
    result = await query_range(prometheus_server.settings(), ["goroutines"], end - timedelta(days=400), end)
    assert result.status is SourceStatus.OK, result.error
    assert (400 * 86_400) / result.data.step_s <= MAX_POINTS_PER_SERIES


async def test_a_query_whose_metric_is_gone_is_skipped_and_named(prometheus_server):
    # A name older dashboards still use; current Mattermost servers do not export it.
    legacy = MetricQuery("legacy_latency", "Legacy latency", "seconds", "Old name.", "derived",
                         'histogram_quantile(0.99, sum by (instance, le) '
                         '(rate(mattermost_http_request_duration_seconds_bucket{instance=~"$instance"}[$window])))')
    start, end = week_until_backfill_end(prometheus_server)
    result = await run_queries(prometheus_server.settings(), [legacy, CATALOGUE[0]], start, end)
    assert result.status is SourceStatus.OK, result.error
    assert result.data.skipped == {"legacy_latency": ("mattermost_http_request_duration_seconds_bucket",)}
    assert set(result.data.results) == {CATALOGUE[0].name}


async def test_a_query_prometheus_rejects_degrades_without_hiding_the_others(prometheus_server):
    broken = MetricQuery("broken", "Broken query", "count", "Unbalanced parenthesis.", "derived",
                         'sum by (instance) (mattermost_http_requests_total{instance=~"$instance"}')
    start, end = week_until_backfill_end(prometheus_server)
    result = await run_queries(prometheus_server.settings(), [broken, CATALOGUE[0]], start, end)
    assert result.status is SourceStatus.DEGRADED
    assert result.data.missing["broken"].startswith("Broken query: Prometheus at ")
    assert "HTTP 400" in result.data.missing["broken"]
    assert CATALOGUE[0].name in result.data.results


async def test_prometheus_without_mattermost_metrics_says_what_is_needed(empty_prometheus):
    end = datetime.now(UTC)
    result = await run_queries(empty_prometheus.settings(), CATALOGUE, end - WEEK, end)
    assert result.status is SourceStatus.DEGRADED
    assert result.error == no_metrics_sentence(empty_prometheus.url)
    assert result.data.results == {} and set(result.data.skipped) == {q.name for q in CATALOGUE}
    assert not result.data.has_mattermost_metrics


async def test_wrong_password_is_one_sentence(prometheus_server):
    result = await run_queries(prometheus_server.settings(password=SecretStr("wrong")), CATALOGUE,
                               datetime.now(UTC) - WEEK, datetime.now(UTC))
    assert result.status is SourceStatus.ERROR and result.data is None
    assert result.error == (f"Prometheus at {prometheus_server.url} rejected the credentials (HTTP 401): "
                            "check prometheus.username and prometheus.password.")


async def test_missing_credentials_are_asked_for(prometheus_server):
    result = await run_queries(prometheus_server.settings(username=None, password=None), CATALOGUE,
                               datetime.now(UTC) - WEEK, datetime.now(UTC))
    assert result.status is SourceStatus.ERROR
    assert "asks for credentials (HTTP 401)" in result.error


async def test_unreachable_prometheus_fails_fast_with_one_sentence():
    port = free_port()
    settings = PrometheusSettings(url=f"http://127.0.0.1:{port}", timeout_seconds=5)
    started = time.monotonic()
    result = await run_queries(settings, CATALOGUE, datetime.now(UTC) - WEEK, datetime.now(UTC))
    assert time.monotonic() - started < 2
    assert result.status is SourceStatus.ERROR
    assert result.error == (f"Nothing is listening at http://127.0.0.1:{port} (connection refused): is Prometheus "
                            "running, and is the port in prometheus.url right?")


async def test_mattermost_url_instead_of_prometheus_is_named(prometheus_simulator):
    settings = PrometheusSettings(url=prometheus_simulator.url)
    result = await run_queries(settings, CATALOGUE, datetime.now(UTC) - WEEK, datetime.now(UTC))
    assert result.status is SourceStatus.ERROR
    assert result.error.startswith(f"{prometheus_simulator.url} answered, but it is not a Prometheus server "
                                   "(HTTP 404 on /api/v1/label/")


class _HtmlPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>Welcome to nginx!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


async def test_a_web_page_instead_of_prometheus_is_named():
    server = HTTPServer(("127.0.0.1", 0), _HtmlPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = await run_queries(PrometheusSettings(url=url), CATALOGUE, datetime.now(UTC) - WEEK,
                                   datetime.now(UTC))
    finally:
        server.shutdown()
        server.server_close()
    assert result.status is SourceStatus.ERROR
    assert result.error.startswith(f"{url} answered, but it is not a Prometheus server (")
    assert "did not answer JSON" in result.error


def _instant(server: PrometheusServer, promql: str) -> dict[str, float]:
    response = httpx.get(f"{server.url}/api/v1/query", params={"query": promql},
                         auth=(server.username, server.password), timeout=5)
    return {r["metric"].get("instance", ""): float(r["value"][1]) for r in response.json()["data"]["result"]}


async def test_live_scrapes_continue_the_backfilled_series(prometheus_server):
    # The one test that waits for Prometheus' first scrapes (about 5 s after start).
    nodes = prometheus_server.instances()
    deadline = time.monotonic() + 20
    while _instant(prometheus_server, 'up{job="mattermost"} == 1').keys() != nodes:
        assert time.monotonic() < deadline, prometheus_server.log_tail()
        await asyncio.sleep(0.25)
    assert _instant(prometheus_server, "count by (instance) (mattermost_http_requests_total)") == dict.fromkeys(
        nodes, 1.0)  # scraped samples landed in the backfilled series, not beside them
    assert _instant(prometheus_server, "resets(mattermost_http_requests_total[30m])") == dict.fromkeys(nodes, 0.0)
    end = datetime.now(UTC)
    result = await query_range(prometheus_server.settings(), ["goroutines"], end - timedelta(hours=1), end)
    assert result.data.scrape_interval_source == "targets"
    assert set(result.data.results["goroutines"].latest) == nodes
