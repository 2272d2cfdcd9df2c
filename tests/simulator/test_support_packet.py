"""GET /system/support_packet: who may have it, what the zip holds (the reference's layout and field names),
that its numbers are the scenario's, and that no secret the server's sanitizer hides gets into it."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from simulator import SCENARIOS, RunningSimulator, build_scenario, start_simulator
from simulator.model import Scenario
from simulator.sanitize import FAKE_SETTING, sanitize_config
from simulator.server_config import build_config
from simulator.support_packet import JOB_LISTS, build_packet, write_legacy_packet
from tests.simulator.conftest import client_for

WORKSPACE_FILES = {"metadata.yaml", "stats.yaml", "jobs.yaml", "plugins.json"}
NODE_FILES = {"diagnostics.yaml", "sanitized_config.json", "mattermost.log"}
# diagnostics.yaml blocks and their keys as the reference gives them (v11.6 plus the newer server fields).
# The v12 shape of upstream's testdata (server/platform/shared/healthcheck/packet/testdata/ha/*/diagnostics.yaml).
DIAGNOSTICS_KEYS = {
    "license": {"company", "users", "sku_short_name", "is_non_production", "is_cloud", "expires_at",
                "is_seat_count_enforced", "extra_users"},
    "server": {"os", "architecture", "cpu_cores", "total_memory_mb", "hostname", "version", "build_hash",
               "installation_type", "process_id", "go_version", "started_at", "host_started_at",
               "open_file_descriptors", "max_file_descriptors"},
    "config": {"store_type"},
    "database": {"type", "version", "schema_version", "master_connections", "replica_connections",
                 "search_connections", "master_connections_in_use", "master_connections_idle",
                 "master_pool_wait_count", "master_pool_wait_duration_ms"},
    "websocket": {"connections"},
    "cluster": {"id", "number_of_nodes", "is_leader"},
    "notifications": {"email", "push"},
    "saml": {"provider_type", "status"},
    "elastic": {"backend", "server_version", "server_plugins", "status"},
    "oauth_providers": {"gitlab", "google", "office365", "openid"},
}
OMITTED_WHEN_FALSE = {"license": {"is_trial", "is_gov_sku"}}  # omitempty in the diagnostics' license block
STATS_KEYS = ["registered_users", "active_users", "daily_active_users", "monthly_active_users", "deactivated_users",
              "guests", "single_channel_guests", "bot_accounts", "posts", "channels", "teams", "slash_commands",
              "incoming_webhooks", "outgoing_webhooks"]
LEGACY_KEYS = {
    "server_os", "server_architecture", "server_version", "build_hash", "database_type", "database_version",
    "database_schema_version", "websocket_connections", "master_db_connections", "read_db_connections",
    "cluster_id", "file_driver", "file_status", "elastic_server_version", "elastic_server_plugins", "license_to",
    "license_supported_users", "active_users", "daily_active_users", "monthly_active_users", "inactive_user_count",
    "total_posts", "total_channels", "total_teams", "data_retention_jobs", "message_export_jobs",
    "elastic_post_indexing_jobs", "elastic_post_aggregation_jobs", "bleve_post_indexin_jobs", "ldap_sync_jobs",
    "migration_jobs", "compliance_jobs",
}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module", params=SCENARIOS)
def sim(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    with start_simulator(request.param) as running:
        yield running


def download(sim: RunningSimulator, token: str | None, **params: Any) -> httpx.Response:
    with client_for(sim, token) as client:
        return client.get("/system/support_packet", params=params)


@pytest.fixture(scope="module")
def packet(sim: RunningSimulator) -> zipfile.ZipFile:
    response = download(sim, sim.admin_token)
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def read_yaml(zf: zipfile.ZipFile, name: str) -> Any:
    return yaml.safe_load(zf.read(name))


def node_dirs(zf: zipfile.ZipFile) -> list[str]:
    return sorted({n.split("/")[0] for n in zf.namelist() if n.endswith("/sanitized_config.json")})


def clustered(model: Scenario) -> bool:
    return len(model.nodes) > 1  # the scenarios enable ClusterSettings exactly when they have several nodes


def node_prefix(model: Scenario, hostname: str) -> str:
    """Where a node's files are: its own folder in a cluster's packet, the root in a single server's (the layout
    of upstream's testdata, server/platform/shared/healthcheck/packet/testdata)."""
    return f"{hostname}/" if clustered(model) else ""


def test_answer_is_a_zip_download(sim: RunningSimulator) -> None:
    response = download(sim, sim.admin_token)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    company = sim.model.license.company
    assert re.fullmatch(rf'attachment; filename="mm_support_packet_{company}_\d{{4}}-\d\d-\d\dT\d\d-\d\d\.zip"',
                        response.headers["content-disposition"])
    assert response.headers["x-version-id"].startswith(sim.model.build.version)


def test_only_system_admins_get_it(sim: RunningSimulator) -> None:
    denied = download(sim, sim.user_token)
    assert denied.status_code == 403 and denied.json()["id"] == "api.context.permissions.app_error"
    assert download(sim, None).status_code == 401
    assert download(sim, "not-a-token").status_code == 401


def test_unlicensed_server_refuses(simulator_factory: Any) -> None:
    sim = simulator_factory(dataclasses.replace(build_scenario("healthy"), license=None))
    response = download(sim, sim.admin_token)
    assert response.status_code == 403 and response.json()["id"] == "api.no_license"


def test_layout_workspace_at_root_and_a_directory_per_node(sim: RunningSimulator, packet: zipfile.ZipFile) -> None:
    names = set(packet.namelist())
    assert names >= WORKSPACE_FILES
    hosts = [n.hostname for n in sim.model.nodes]
    if clustered(sim.model):
        assert node_dirs(packet) == sorted(hosts)
        for host in hosts:
            assert {f"{host}/{f}" for f in NODE_FILES} <= names
        assert "diagnostics.yaml" not in names  # clustered: nothing per node at the root
    else:
        assert node_dirs(packet) == [] and names >= NODE_FILES  # a single server: its files at the root
    assert "warning.txt" not in names  # nothing failed
    enabled = {p.id for p in sim.model.plugins if p.enabled}
    contributions = {n.split("/")[0] for n in names if n.endswith("/diagnostics.yaml")} - set(hosts)
    assert contributions and contributions <= enabled


def test_diagnostics_fields_and_values(sim: RunningSimulator, packet: zipfile.ZipFile) -> None:
    model = sim.model
    total_master = total_replica = total_ws = 0
    for node in model.nodes:
        d = read_yaml(packet, f"{node_prefix(model, node.hostname)}diagnostics.yaml")
        assert d["version"] == 2
        for block, keys in DIAGNOSTICS_KEYS.items():
            assert set(d[block]) - OMITTED_WHEN_FALSE.get(block, set()) == keys, block
        assert d["server"]["hostname"] == node.hostname and d["server"]["version"] == node.version
        assert d["server"]["os"] == "linux" and d["server"]["go_version"].startswith("go1.")
        assert d["database"] == {**d["database"], "type": "postgres", "schema_version": model.build.schema_version}
        assert d["cluster"]["number_of_nodes"] == (len(model.nodes) if clustered(model) else 0)
        assert d["license"]["company"] == model.license.company and d["license"]["users"] == model.license.users
        assert d["license"].get("is_trial", False) is model.license.is_trial
        assert d["file_store"]["file_status"] == ("OK" if model.health.filestore_ok else "FAIL")
        assert d["file_store"]["file_driver"] == model.settings.file_driver
        total_master += d["database"]["master_connections"]
        total_replica += d["database"]["replica_connections"]
        total_ws += d["websocket"]["connections"]
    assert (total_master, total_replica, total_ws) == (
        model.usage.master_db_connections, model.usage.read_db_connections, model.usage.websocket_connections)


def test_degraded_diagnostics_report_the_failures(degraded: RunningSimulator) -> None:
    zf = zipfile.ZipFile(io.BytesIO(download(degraded, degraded.admin_token).content))
    d = read_yaml(zf, "mm-1/diagnostics.yaml")
    assert d["file_store"]["file_status"] == "FAIL" and "Access Denied" in d["file_store"]["error"]  # v12's key
    assert d["ldap"]["status"] == "FAIL" and "i/o timeout" in d["ldap"]["error"]
    assert "server_name" not in d["ldap"]
    assert read_yaml(zf, "mm-3/diagnostics.yaml")["server"]["version"] == "11.5.4"


def test_stats_and_metadata_are_the_scenarios(sim: RunningSimulator, packet: zipfile.ZipFile) -> None:
    model, u = sim.model, sim.model.usage
    stats = read_yaml(packet, "stats.yaml")
    assert list(stats) == STATS_KEYS
    assert stats["registered_users"] == u.active_users + u.inactive_users
    assert (stats["active_users"], stats["deactivated_users"]) == (u.active_users, u.inactive_users)
    assert (stats["daily_active_users"], stats["monthly_active_users"]) == (u.daily_active_users,
                                                                            u.monthly_active_users)
    assert stats["posts"] == u.total_posts and stats["teams"] == len(model.teams)
    assert stats["channels"] == model.open_channels + model.private_channels
    assert (stats["slash_commands"], stats["incoming_webhooks"], stats["outgoing_webhooks"]) == (
        u.commands, u.incoming_webhooks, u.outgoing_webhooks)
    meta = read_yaml(packet, "metadata.yaml")
    assert meta["type"] == "support-packet" and meta["version"] == 1
    assert meta["server_id"] == model.diagnostic_id and meta["license_id"] == model.license.id
    assert meta["server_version"] == model.build.version and meta["generated_at"] > model.now_ms


def test_jobs_are_the_five_newest_per_type_with_rfc3339_times(sim: RunningSimulator,
                                                               packet: zipfile.ZipFile) -> None:
    jobs = read_yaml(packet, "jobs.yaml")
    assert list(jobs) == [key for key, _ in JOB_LISTS]
    for key, job_type in JOB_LISTS:
        expected = [j for j in sim.model.jobs if j.type == job_type][:5]
        assert [j["id"] for j in jobs[key]] == [j.id for j in expected]
        assert [j["status"] for j in jobs[key]] == [j.status for j in expected]
        for job in jobs[key]:
            assert RFC3339.match(job["create_at"]) and RFC3339.match(job["last_activity_at"])


def test_plugins_json_lists_enabled_and_disabled(sim: RunningSimulator, packet: zipfile.ZipFile) -> None:
    raw = packet.read("plugins.json").decode()
    assert raw.startswith('{\n    "enabled"')  # pretty JSON, four spaces
    listing = json.loads(raw)
    assert {p["id"] for p in listing["enabled"]} == {p.id for p in sim.model.plugins if p.enabled}
    assert {p["id"] for p in listing["disabled"]} == {p.id for p in sim.model.plugins if not p.enabled}


def test_sanitized_config_redacts_dsns_partially(sim: RunningSimulator, packet: zipfile.ZipFile) -> None:
    config = json.loads(packet.read(f"{node_prefix(sim.model, sim.model.nodes[0].hostname)}sanitized_config.json"))
    sql = config["SqlSettings"]
    assert re.fullmatch(r"postgres://\*\*\*\*:\*\*\*\*@db-primary\.[a-z.-]+:5432/mattermost\?"
                        r"binary_parameters=yes&connect_timeout=10&sslmode=require", sql["DataSource"])
    assert len(sql["DataSourceReplicas"]) == sim.model.settings.data_source_replicas
    assert all(r.startswith("postgres://****:****@db-replica-") for r in sql["DataSourceReplicas"])
    assert sql["AtRestEncryptKey"] == FAKE_SETTING and config["LdapSettings"]["BindPassword"] == FAKE_SETTING
    assert "FeatureFlags" in config


def _secrets(scenario: Scenario) -> set[str]:
    """Every value Mattermost's sanitizer hides in this scenario's config (and the passwords inside DSNs)."""
    found: set[str] = set()

    def walk(raw: Any, clean: Any) -> None:
        if isinstance(raw, dict):
            for key, value in raw.items():
                walk(value, clean.get(key) if isinstance(clean, dict) else None)
        elif isinstance(raw, list):
            for i, value in enumerate(raw):
                walk(value, clean[i] if isinstance(clean, list) and i < len(clean) else None)
        elif isinstance(raw, str) and raw and raw != clean:
            found.add(raw)
            if urlsplit(raw).password:
                found.add(urlsplit(raw).password)

    raw = build_config(scenario)
    walk(raw, sanitize_config(raw, scenario.plugins))
    return found


def test_no_secret_in_any_member(sim: RunningSimulator, packet: zipfile.ZipFile) -> None:
    secrets = _secrets(sim.model)
    assert {"Pr1mary-DB-Pa55", "Ld4p-B1nd-Pa55w0rd", "Search-Pa55w0rd", "legacy-Bridge-Secret-77"} <= secrets
    for name in packet.namelist():
        data = packet.read(name)
        leaked = [s for s in secrets if s.encode() in data]
        assert not leaked, f"{name} leaks {leaked}"


def test_connection_url_credentials_stay_as_mattermost_leaves_them(degraded: RunningSimulator) -> None:
    # Mattermost does not mask ElasticsearchSettings.ConnectionURL; the dashboard has to, so the stand-in keeps it.
    zf = zipfile.ZipFile(io.BytesIO(download(degraded, degraded.admin_token).content))
    config = json.loads(zf.read("mm-1/sanitized_config.json"))
    assert config["ElasticsearchSettings"]["ConnectionURL"] == degraded.model.settings.elasticsearch_url


def test_logs_are_json_lines_and_the_degraded_ones_show_errors(sim: RunningSimulator,
                                                                packet: zipfile.ZipFile) -> None:
    errors = 0
    for host in node_dirs(packet):
        lines = packet.read(f"{host}/mattermost.log").decode().splitlines()
        assert len(lines) >= 40
        for line in lines:
            entry = json.loads(line)
            assert list(entry)[:4] == ["timestamp", "level", "msg", "caller"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} Z", entry["timestamp"])
        errors += sum(json.loads(line)["level"] == "error" for line in lines)
    if sim.scenario == "degraded":
        assert errors > 20
    else:
        assert errors == 0


def test_logs_can_be_left_out(simulator: RunningSimulator) -> None:
    without = zipfile.ZipFile(io.BytesIO(download(simulator, simulator.admin_token,
                                                  basic_server_logs="false").content))
    assert not [n for n in without.namelist() if n.endswith(".log")]
    # Only the exact string "false" turns them off.
    with_logs = zipfile.ZipFile(io.BytesIO(download(simulator, simulator.admin_token,
                                                    basic_server_logs="0").content))
    assert [n for n in with_logs.namelist() if n.endswith("mattermost.log")]


def test_failures_go_to_warning_txt() -> None:
    scenario = build_scenario("healthy")
    config = build_config(scenario)
    config["LogSettings"]["EnableFile"] = False
    config["PluginSettings"]["Enable"] = False
    zf = zipfile.ZipFile(io.BytesIO(build_packet(scenario, config)))
    warning = zf.read("warning.txt").decode()
    assert warning.startswith("3 errors occurred:\n\t* ")
    assert "LogSettings.EnableFile is set to false" in warning and "Plugins have been disabled" in warning
    assert "plugins.json" not in zf.namelist() and not [n for n in zf.namelist() if n.endswith(".log")]


def test_standalone_server_keeps_everything_at_the_root() -> None:
    scenario = build_scenario("healthy")
    scenario = dataclasses.replace(scenario, nodes=scenario.nodes[:1])
    zf = zipfile.ZipFile(io.BytesIO(build_packet(scenario, build_config(scenario))))
    assert {"diagnostics.yaml", "sanitized_config.json", "mattermost.log"} <= set(zf.namelist())
    assert read_yaml(zf, "diagnostics.yaml")["cluster"] == {"id": "", "number_of_nodes": 0, "is_leader": True}


def test_saml_provider_is_detected_from_the_metadata_url() -> None:
    scenario = build_scenario("large")
    config = build_config(scenario)
    config["SamlSettings"]["IdpDescriptorURL"] = "https://globex.okta.com/app/exk1/sso/saml/metadata"
    zf = zipfile.ZipFile(io.BytesIO(build_packet(scenario, config)))
    assert read_yaml(zf, "mattermost-app-1/diagnostics.yaml")["saml"]["provider_type"] == "Okta"
    zf = zipfile.ZipFile(io.BytesIO(build_packet(scenario, build_config(scenario))))
    assert read_yaml(zf, "mattermost-app-1/diagnostics.yaml")["saml"]["provider_type"] == "unknown"


def test_legacy_packet_has_support_packet_yaml(tmp_path: Any) -> None:
    scenario = build_scenario("healthy")
    path = write_legacy_packet(tmp_path / "legacy.zip", scenario)
    zf = zipfile.ZipFile(path)
    assert set(zf.namelist()) == {"support_packet.yaml", "plugins.json", "sanitized_config.json", "mattermost.log",
                                  "notifications.log"}
    facts = read_yaml(zf, "support_packet.yaml")
    assert set(facts) == LEGACY_KEYS | {"ldap_vendor_name", "ldap_vendor_version"}
    assert facts["total_posts"] == scenario.usage.total_posts and facts["server_version"].startswith("9.")
    assert len(facts["ldap_sync_jobs"]) == 2 and "createat" in facts["ldap_sync_jobs"][0]
    assert set(json.loads(zf.read("plugins.json"))) == {"active", "inactive"}
    config = json.loads(zf.read("sanitized_config.json"))
    assert config["SqlSettings"]["DataSource"] == FAKE_SETTING  # before v11 the whole DSN was masked
    secrets = _secrets(scenario)
    for name in zf.namelist():
        assert not [s for s in secrets if s.encode() in zf.read(name)], name
