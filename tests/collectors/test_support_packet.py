"""The support packet collector and reader: facts equal the scenario's, both layouts, and damaged packets
that are still read as far as they go."""

from __future__ import annotations

import dataclasses
import io
import json
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from collectors import SourceStatus, support_packet
from collectors.support_packet import ZIP_KEY, PacketError, collect, parse_packet
from collectors.support_packet_models import PacketFacts
from settings import MattermostSettings
from simulator import SCENARIOS, RunningSimulator, Scenario, build_scenario, start_simulator
from simulator.server_config import build_config
from simulator.support_packet import JOB_LISTS, LEGACY_JOB_LISTS, build_packet, write_legacy_packet


def settings_for(url: str, token: str | None, timeout: float = 5.0) -> MattermostSettings:
    return MattermostSettings(url=url, token=SecretStr(token) if token else None, timeout_seconds=timeout)


async def run(settings: MattermostSettings):
    async with httpx.AsyncClient(timeout=settings.timeout_seconds) as client:
        return await collect(settings, client)


@pytest.fixture(scope="module", params=SCENARIOS)
def sim(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    with start_simulator(request.param) as running:
        yield running


@pytest.fixture(scope="module")
def healthy_packet() -> bytes:
    scenario = build_scenario("healthy")
    return build_packet(scenario, build_config(scenario))


def rezip(data: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    """The packet with its members changed by `change` (name -> content)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def assert_matches_scenario(facts: PacketFacts, model: Scenario, *, legacy: bool = False) -> None:
    u = model.usage
    assert facts.format == ("legacy" if legacy else "current")
    assert facts.stats.registered_users == u.active_users + u.inactive_users
    assert (facts.stats.active_users, facts.stats.deactivated_users) == (u.active_users, u.inactive_users)
    assert (facts.stats.daily_active_users, facts.stats.monthly_active_users) == (u.daily_active_users,
                                                                                  u.monthly_active_users)
    assert facts.stats.posts == u.total_posts and facts.stats.teams == len(model.teams)
    assert facts.stats.channels == model.open_channels + model.private_channels
    assert facts.stats.websocket_connections == u.websocket_connections
    assert facts.database.type == "postgres" and facts.database.version
    assert facts.database.master_connections == u.master_db_connections
    assert facts.database.replica_connections == u.read_db_connections
    assert facts.database.configured_replicas == model.settings.data_source_replicas
    assert facts.database.max_open_conns == model.settings.max_open_conns
    assert facts.file_store.driver == model.settings.file_driver
    assert facts.file_store.status == ("OK" if model.health.filestore_ok else "FAIL")
    assert facts.license.company == model.license.company and facts.license.users == model.license.users
    assert facts.elasticsearch.version and facts.elasticsearch.plugins
    assert facts.server.os == "linux" and facts.server.architecture == "amd64"
    assert facts.server.build_hash == model.build.build_hash
    assert {(p.id, p.version, p.enabled) for p in facts.plugins} == {
        (p.id, p.version, p.enabled) for p in model.plugins}
    for _, job_type in (LEGACY_JOB_LISTS if legacy else JOB_LISTS):
        expected = [j for j in model.jobs if j.type == job_type][:2 if legacy else 5]
        assert [(j.id, j.status) for j in facts.jobs[job_type]] == [(j.id, j.status) for j in expected]
    assert facts.sanitized_config["TeamSettings"]["SiteName"] == model.settings.site_name
    assert facts.unreadable == {}


async def test_round_trip_through_the_running_server(sim: RunningSimulator) -> None:
    result = await run(settings_for(sim.url, sim.admin_token))
    assert result.status is SourceStatus.OK, result.error
    assert result.source == "support_packet" and result.elapsed_ms > 0
    facts, model = result.data, sim.model
    assert_matches_scenario(facts, model)
    assert facts.server.version == model.build.version and facts.server_id == model.diagnostic_id
    assert facts.server.cpu_cores and facts.server.total_memory_mb and facts.server.go_version
    assert facts.generated_at.timestamp() * 1000 >= model.now_ms
    assert facts.database.schema_version == model.build.schema_version
    clustered = len(model.nodes) > 1  # a single server's packet has its files at the root and counts no nodes
    assert facts.cluster.number_of_nodes == (len(model.nodes) if clustered else 0)
    assert [(n.server.hostname, n.server.version) for n in facts.cluster.nodes] == [
        (n.hostname, n.version) for n in model.nodes]
    if sim.scenario == "degraded":
        assert facts.ldap.status == "FAIL" and "i/o timeout" in facts.ldap.error
    else:
        assert facts.ldap.status == "OK" and facts.ldap.vendor and facts.ldap.version
    assert {log.path for log in facts.logs} == ({f"{n.hostname}/mattermost.log" for n in model.nodes} if clustered
                                                else {"mattermost.log"})
    assert all(log.line_count > 20 and log.first_lines and log.last_lines for log in facts.logs)
    errors = sum(log.error_lines for log in facts.logs)
    if sim.scenario == "degraded":
        assert errors > 20 and facts.file_store.error
    else:
        assert errors == 0
    assert set(facts.plugin_diagnostics) <= {p.id for p in model.plugins if p.enabled}
    assert facts.plugin_diagnostics["playbooks"]["version"]


async def test_parsed_facts_hold_no_secret(simulator_factory: Any) -> None:
    sim = simulator_factory("degraded")
    facts = (await run(settings_for(sim.url, sim.admin_token))).data
    text = json.dumps(facts.sanitized_config) + json.dumps([log.first_lines + log.last_lines for log in facts.logs])
    raw = build_config(sim.model)
    secrets = ["Winter2026!", raw["SqlSettings"]["DataSource"], raw["LdapSettings"]["BindPassword"],
               raw["FileSettings"]["AmazonS3SecretAccessKey"], "Pr1mary-DB-Pa55"]
    assert not [s for s in secrets if s in text]
    # The credentials Mattermost leaves in the Elasticsearch URL are masked when the packet is read.
    assert facts.sanitized_config["ElasticsearchSettings"]["ConnectionURL"].startswith("https://****:****@")


def test_legacy_packet(tmp_path: Path) -> None:
    model = build_scenario("degraded")
    facts = parse_packet(write_legacy_packet(tmp_path / "legacy.zip", model))
    assert_matches_scenario(facts, model, legacy=True)
    assert facts.server.version.startswith("9.") and facts.server.hostname is None
    assert facts.ldap is None  # the legacy file names the LDAP vendor only when the test passed
    assert [log.path for log in facts.logs] == ["mattermost.log", "notifications.log"]
    assert facts.log.error_lines > 0 and facts.generated_at is not None


def test_truncated_zip_keeps_what_came_before_the_cut(healthy_packet: bytes) -> None:
    facts = parse_packet(healthy_packet[: len(healthy_packet) * 2 // 3])
    assert "cut off" in facts.unreadable[ZIP_KEY]
    assert facts.stats.posts == build_scenario("healthy").usage.total_posts  # early members are whole
    assert facts.jobs and facts.plugins and facts.cluster.nodes[0].server.hostname == "mm-app-1"
    with zipfile.ZipFile(io.BytesIO(healthy_packet)) as zf:
        assert len(facts.members) < len(zf.namelist())  # the rest is lost


def test_zip_cut_inside_a_log_reads_the_lines_before_the_cut(healthy_packet: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(healthy_packet)) as zf:
        offset = next(i.header_offset for i in zf.infolist() if i.filename == "mm-app-1/mattermost.log")
        size = zf.getinfo("mm-app-1/mattermost.log").compress_size
    facts = parse_packet(healthy_packet[: offset + 80 + size // 2])
    log = facts.logs[0]
    assert log.path == "mm-app-1/mattermost.log" and not log.complete
    assert log.line_count > 0 and "cut off" in facts.unreadable["mm-app-1/mattermost.log"]
    assert facts.server.hostname == "mm-app-1"


def test_streamed_zip_with_data_descriptors_cut_off() -> None:
    """Go's archive/zip writes sizes after each member's data, as Python does on a stream it cannot seek."""

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            self.buffer += bytes(b)
            return len(b)

    stream = Unseekable()
    scenario = build_scenario("degraded")
    with zipfile.ZipFile(io.BytesIO(build_packet(scenario, build_config(scenario)))) as source, \
            zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
    data = bytes(stream.buffer)
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x08
    facts = parse_packet(data[: len(data) - 5000])
    assert ZIP_KEY in facts.unreadable
    assert facts.stats.posts == scenario.usage.total_posts and facts.cluster.nodes[0].server.hostname == "mm-1"


def test_unknown_fields_and_extra_members_are_tolerated(healthy_packet: bytes) -> None:
    def add(members: dict[str, bytes]) -> None:
        diagnostics = yaml.safe_load(members["mm-app-1/diagnostics.yaml"])
        diagnostics["server"]["open_file_descriptors"] = 120
        diagnostics["notifications"] = {"email": {"status": "OK"}, "push": {"status": "OK"}}
        diagnostics["database"]["version"] = "15.10"  # unquoted: must stay 15.10, not become 15.1
        text = yaml.safe_dump(diagnostics).replace("'15.10'", "15.10")
        members["mm-app-1/diagnostics.yaml"] = text.encode()
        members["stats.yaml"] += b"flagged_posts: 12\n"
        members["cpu.prof"] = b"\x1f\x8b\x08\x00binary"
        members["goroutines"] = b"goroutine 1 [running]:\n"
        members["permissions.yaml"] = b"roles: []\nschemes: []\n"
        members["com.mattermost.mattermost-plugin-metrics/tsdb_dump.zip"] = b"PK\x05\x06" + b"\x00" * 18

    facts = parse_packet(rezip(healthy_packet, add))
    assert facts.unreadable == {}
    assert facts.database.version == "15.10"
    assert "cpu.prof" in facts.members and facts.stats.posts > 0


def test_malformed_yaml_in_one_member_leaves_the_others(healthy_packet: bytes) -> None:
    def break_stats(members: dict[str, bytes]) -> None:
        members["stats.yaml"] = b"registered_users: [1, 2\nposts: {\n"
        members["plugins.json"] = b'{"enabled": [{"id": "jira",'

    facts = parse_packet(rezip(healthy_packet, break_stats))
    assert set(facts.unreadable) == {"stats.yaml", "plugins.json"}
    assert "not valid YAML" in facts.unreadable["stats.yaml"] and "line" in facts.unreadable["stats.yaml"]
    assert "not valid JSON" in facts.unreadable["plugins.json"]
    assert facts.stats.posts is None and facts.plugins == ()
    assert facts.jobs["ldap_sync"] and facts.server.version and facts.cluster.nodes


def test_wrong_shapes_become_unknown_facts(healthy_packet: bytes) -> None:
    def reshape(members: dict[str, bytes]) -> None:
        members["jobs.yaml"] = b"- just\n- a list\n"
        members["mm-app-1/diagnostics.yaml"] = b"version: two\nserver: oops\ndatabase: {master_connections: many}\n"

    facts = parse_packet(rezip(healthy_packet, reshape))
    assert "mapping" in facts.unreadable["jobs.yaml"] and facts.jobs == {}
    first = facts.cluster.nodes[0]
    assert first.server.hostname is None and first.database.master_connections is None
    assert facts.database.master_connections == facts.cluster.nodes[1].database.master_connections


def test_missing_members_are_named(healthy_packet: bytes) -> None:
    def drop(members: dict[str, bytes]) -> None:
        for name in ("metadata.yaml", "jobs.yaml", "mm-app-2/sanitized_config.json"):
            del members[name]

    facts = parse_packet(rezip(healthy_packet, drop))
    assert set(facts.unreadable) == {"metadata.yaml", "jobs.yaml", "mm-app-2/sanitized_config.json"}
    assert "not in the packet" in facts.unreadable["jobs.yaml"]
    assert facts.generated_at is None and facts.server.version  # the version still comes from diagnostics
    assert len(facts.cluster.nodes) == 2  # a node's diagnostics without its config is still a node


def test_non_utf8_log_bytes(healthy_packet: bytes) -> None:
    def garble(members: dict[str, bytes]) -> None:
        members["mm-app-1/mattermost.log"] = (
            b'{"timestamp":"2026-01-01 10:00:00.000 Z","level":"error","msg":"caf\xe9 \xff\xfe","caller":"x.go:1"}\n'
            b'{"timestamp":"2026-01-01 10:00:01.000 Z","level":"warn","msg":"fine","caller":"x.go:2"}\n'
            b"error [2026-01-01 10:00:02.000 Z] plain text target\n"
            + b"\x00\x9c" * 100 + b"\n")
        members["mm-app-2/sanitized_config.json"] = members["mm-app-2/sanitized_config.json"].replace(
            b"Northwind Chat", b"Northwind Ch\xe4t")

    facts = parse_packet(rezip(healthy_packet, garble))
    log = facts.logs[0]
    assert (log.line_count, log.error_lines, log.warn_lines, log.invalid_utf8_lines) == (4, 2, 1, 2)
    assert "\N{REPLACEMENT CHARACTER}" in log.first_lines[0]
    assert "mm-app-1/mattermost.log" not in facts.unreadable
    assert "not UTF-8" in facts.unreadable["mm-app-2/sanitized_config.json"]


def test_warning_txt_is_read(healthy_packet: bytes) -> None:
    def warn(members: dict[str, bytes]) -> None:
        members["warning.txt"] = (b"2 errors occurred:\n\t* failed to generate cpu profile: timeout\n"
                                  b"\t* failed to read mattermost log file: no such file\n\n")

    facts = parse_packet(rezip(healthy_packet, warn))
    assert facts.warnings == ("failed to generate cpu profile: timeout",
                              "failed to read mattermost log file: no such file")


@pytest.mark.parametrize("data", [b"", b"<html><body>Sign in</body></html>", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04"])
def test_not_a_zip_raises_packet_error(data: bytes) -> None:
    with pytest.raises(PacketError):
        parse_packet(data)


def test_a_path_is_read_like_bytes(tmp_path: Path, healthy_packet: bytes) -> None:
    path = tmp_path / "mm_support_packet.zip"
    path.write_bytes(healthy_packet)
    assert parse_packet(path) == parse_packet(healthy_packet)
    with pytest.raises(PacketError, match="Could not open"):
        parse_packet(tmp_path / "absent.zip")


async def test_non_admin_token_is_forbidden(simulator: RunningSimulator) -> None:
    result = await run(settings_for(simulator.url, simulator.user_token))
    assert result.status is SourceStatus.FORBIDDEN and result.data is None
    assert "needs a system admin token: Mattermost makes support packets only for manage_system" in result.error


async def test_token_problems(simulator: RunningSimulator) -> None:
    missing = await run(settings_for(simulator.url, None))
    assert missing.status is SourceStatus.ERROR and "token" in missing.error
    wrong = await run(settings_for(simulator.url, "not-a-token"))
    assert wrong.status is SourceStatus.ERROR and "HTTP 401" in wrong.error


@pytest.mark.parametrize("status", [404, 501])
async def test_server_without_support_packets(simulator: RunningSimulator, status: int) -> None:
    simulator.faults.set("/api/v4/system/support_packet", status=status)
    result = await run(settings_for(simulator.url, simulator.admin_token))
    assert result.status is SourceStatus.ERROR
    assert result.error.startswith("This Mattermost version cannot make a support packet")


async def test_download_cut_short_by_a_proxy_is_degraded(simulator: RunningSimulator) -> None:
    simulator.faults.set("/api/v4/system/support_packet", malformed_json=True)  # half the body, as 200
    result = await run(settings_for(simulator.url, simulator.admin_token))
    assert result.status is SourceStatus.DEGRADED and "cut off" in result.error
    assert result.data.stats.posts == simulator.model.usage.total_posts


async def test_packet_larger_than_the_cap_is_refused(simulator: RunningSimulator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support_packet, "MAX_PACKET_BYTES", 10_000)
    result = await run(settings_for(simulator.url, simulator.admin_token))
    assert result.status is SourceStatus.ERROR and "larger than" in result.error


class _NotMattermost(BaseHTTPRequestHandler):
    """A sign-in proxy: a page or a redirect where the packet should be."""

    redirect = False

    def do_GET(self) -> None:
        body = b"<html><body>Please sign in</body></html>"
        self.send_response(302 if self.redirect else 200)
        if self.redirect:
            self.send_header("Location", "https://sso.example.com/login")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("redirect", "expected"), [(False, "not a zip file but text"),
                                                    (True, "redirected to https://sso.example.com/login")])
async def test_a_page_instead_of_a_zip_is_an_error(redirect: bool, expected: str) -> None:
    handler = type("Handler", (_NotMattermost,), {"redirect": redirect})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        result = await run(settings_for(f"http://127.0.0.1:{server.server_port}", "token"))
    finally:
        server.shutdown()
        server.server_close()
    assert result.status is SourceStatus.ERROR and expected in result.error


async def test_unlicensed_server_says_so(simulator_factory: Any) -> None:
    sim = simulator_factory(dataclasses.replace(build_scenario("healthy"), license=None))
    result = await run(settings_for(sim.url, sim.admin_token))
    assert result.status is SourceStatus.ERROR and "only on a licensed server" in result.error


async def test_nothing_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await run(settings_for(f"http://127.0.0.1:{port}", "token"))
    assert result.status is SourceStatus.ERROR and "connection refused" in result.error

