"""GET /metrics: Mattermost's exposition per node, checked by promtool, and history that agrees with it."""

import re
import shutil
import subprocess

import httpx

from simulator import build_scenario
from simulator.metrics import (
    CONTENT_TYPE,
    node_instance,
    render_exposition,
    scrape_config,
    write_openmetrics_history,
)
from tests.servers.prometheus import require_binaries

# Mattermost's own names break the naming convention: these gauges end in _total (promtool lints them).
MATTERMOST_TOTAL_GAUGES = {
    "mattermost_db_master_connections_total", "mattermost_db_read_replica_connections_total",
    "mattermost_db_search_replica_connections_total", "mattermost_http_websockets_total",
}
DASHBOARD_NAMES = (
    "mattermost_http_requests_total", "mattermost_http_errors_total", "mattermost_api_time_bucket",
    "mattermost_db_master_connections_total", "go_sql_wait_count_total", "mattermost_http_websockets_total",
    "mattermost_cluster_cluster_health_score", "mattermost_jobs_active", "mattermost_plugin_hook_time_bucket",
    "mattermost_search_posts_searches_duration_seconds_bucket", "mattermost_login_logins_total",
    "mattermost_login_logins_fail_total", "mattermost_process_cpu_seconds_total",
    "mattermost_process_resident_memory_bytes", "go_goroutines", "mattermost_process_open_fds",
    "mattermost_process_max_fds",
)
T = 1_795_000_000.0


def promtool() -> str:
    require_binaries()
    return shutil.which("promtool") or "promtool"


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} not exposed"
    return float(match.group(1))


def test_metrics_need_no_token_and_carry_the_dashboard_names(simulator):
    response = httpx.get(simulator.metrics_url())
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    for name in DASHBOARD_NAMES:
        assert re.search(rf"^{name}[{{ ]", response.text, re.MULTILINE), name


def test_promtool_accepts_the_exposition(simulator):
    text = httpx.get(simulator.metrics_url()).text
    checked = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True,
                             timeout=30, check=False)
    complaints = {line.split()[0] for line in (checked.stdout + checked.stderr).splitlines() if line.strip()}
    assert complaints <= MATTERMOST_TOTAL_GAUGES, checked.stdout + checked.stderr


def test_each_node_has_its_own_listener(simulator):
    nodes = simulator.model.nodes
    pages = {n.hostname: httpx.get(simulator.metrics_url(n.hostname)).text for n in nodes}
    starts = {sample(text, "mattermost_process_start_time_seconds") for text in pages.values()}
    assert len(starts) == len(nodes)  # restarted at different times, like a rolling restart
    first = httpx.get(simulator.metrics_url()).text
    assert sample(first, "mattermost_process_start_time_seconds") == sample(
        pages[nodes[0].hostname], "mattermost_process_start_time_seconds")
    by_id = httpx.get(f"{simulator.url}/metrics", params={"node": nodes[1].id}).text
    assert sample(by_id, "mattermost_process_max_fds") == sample(pages[nodes[1].hostname], "mattermost_process_max_fds")
    missing = httpx.get(simulator.metrics_url("no-such-node"))
    assert missing.status_code == 404 and nodes[0].hostname in missing.text


def test_values_depend_only_on_the_timestamp():
    scenario = build_scenario("healthy")
    assert render_exposition(scenario, 0, T) == render_exposition(build_scenario("healthy"), 0, T)
    earlier, later = render_exposition(scenario, 0, T), render_exposition(scenario, 0, T + 600)
    assert sample(later, "mattermost_http_requests_total") > sample(earlier, "mattermost_http_requests_total")
    assert sample(later, "go_goroutines") != sample(earlier, "go_goroutines")


def test_scrape_config_targets_every_node_under_its_own_instance():
    scenario = build_scenario("degraded")
    config = scrape_config(scenario, "127.0.0.1:8065", 15)
    assert config["scrape_interval"] == "15s"
    labels = [c["labels"] for c in config["static_configs"]]
    assert [lbl["__param_node"] for lbl in labels] == [n.hostname for n in scenario.nodes]
    assert [lbl["instance"] for lbl in labels] == [node_instance(n) for n in scenario.nodes]


def test_history_is_valid_openmetrics_and_agrees_with_the_live_page(tmp_path):
    scenario = build_scenario("degraded")
    source = tmp_path / "history.om"
    with source.open("w") as out:
        written = write_openmetrics_history(scenario, out, end=T, days=2 / 24, step_s=600)
    text = source.read_text()
    assert text.endswith("# EOF\n")
    series = sum(1 for line in render_exposition(scenario, 0, T).splitlines() if not line.startswith("#"))
    assert written == series * len(scenario.nodes) * 13  # 2 hours at 10 minutes, both ends included
    built = subprocess.run([promtool(), "tsdb", "create-blocks-from", "openmetrics", str(source),
                            str(tmp_path / "tsdb")], capture_output=True, text=True, timeout=60, check=False)
    assert built.returncode == 0, built.stderr
    live = render_exposition(scenario, 1, T)
    instance = node_instance(scenario.nodes[1])
    for name in ("mattermost_http_requests_total", "go_goroutines", "mattermost_process_cpu_seconds_total"):
        match = re.search(rf'^{name}{{instance="{instance}",job="mattermost"}} (\S+) {int(T)}$', text, re.MULTILINE)
        assert match and float(match.group(1)) == sample(live, name)
