"""The Mattermost REST collector against the simulator: facts, and one clear sentence per failure."""

import asyncio
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from pydantic import SecretStr

from collectors import SourceStatus
from collectors.mattermost import collect
from settings import MattermostSettings


def settings_for(url: str, token: str | None, timeout: float = 5.0) -> MattermostSettings:
    return MattermostSettings(url=url, token=SecretStr(token) if token else None, timeout_seconds=timeout)


async def run(settings: MattermostSettings):
    async with httpx.AsyncClient(timeout=settings.timeout_seconds) as client:
        return await collect(settings, client)


async def test_healthy_server_gives_every_fact(simulator):
    result = await run(settings_for(simulator.url, simulator.admin_token))
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert facts.server.version and facts.server.build_hash
    assert facts.server.status == "OK" and facts.server.database_status == "OK"
    assert facts.edition.startswith("Enterprise Edition")
    assert facts.license.is_licensed and facts.license.seats > 0
    assert facts.license.days_left() > 30
    counts = facts.counts
    assert counts.active_users > 0 and counts.posts > 0 and counts.teams > 0 and counts.channels > 0
    assert 0 < counts.daily_active_users <= counts.monthly_active_users
    assert len(facts.posts_per_day) >= 7
    assert [d.day for d in facts.posts_per_day] == sorted(d.day for d in facts.posts_per_day)
    assert facts.active_users_per_day
    assert facts.plugins and all(p.version for p in facts.plugins)
    assert len(facts.cluster_nodes) >= 2
    assert facts.jobs
    assert facts.signed_in_as.is_system_admin
    assert facts.missing == {}


async def test_degraded_scenario_is_reported_as_facts_not_errors(simulator_factory):
    sim = simulator_factory("degraded")
    result = await run(settings_for(sim.url, sim.admin_token))
    facts = result.data
    assert facts.server.filestore_status != "OK"  # read thanks to use_rest_semantics, despite UNHEALTHY
    assert facts.license.days_left() <= 30
    assert not all(p.healthy for p in facts.plugins)
    assert len({n.config_hash for n in facts.cluster_nodes}) > 1
    assert any(job.status == "error" and job.error for job in facts.jobs)


async def test_large_scenario_explains_skipped_statistics(simulator_factory):
    sim = simulator_factory("large")
    result = await run(settings_for(sim.url, sim.admin_token))
    assert result.status is SourceStatus.DEGRADED
    assert "MaxUsersForStatistics" in result.data.missing["Active users per day"]
    assert result.data.counts.registered_users > 100_000


async def test_wrong_token_is_one_sentence_and_public_facts_remain(simulator):
    result = await run(settings_for(simulator.url, "not-a-token"))
    assert result.status is SourceStatus.ERROR
    assert "rejected the token" in result.error and "401" in result.error
    assert result.data.server.version  # still read anonymously


async def test_non_admin_token_is_forbidden_with_the_username(simulator):
    result = await run(settings_for(simulator.url, simulator.user_token))
    assert result.status is SourceStatus.FORBIDDEN
    assert f"@{simulator.user_username}" in result.error and "not a system admin" in result.error
    assert result.data.server.version
    # Analytics are for admins; the user and team counts come from endpoints any user may read. /users/stats
    # counts bots with the activated people and says nothing of deactivated accounts.
    model = simulator.model
    assert result.data.counts.active_users == model.usage.active_users + model.bot_accounts
    assert result.data.counts.registered_users is None
    assert 0 < result.data.counts.teams <= len(simulator.model.teams)  # the teams this user may see


async def test_missing_token(simulator):
    result = await run(settings_for(simulator.url, None))
    assert result.status is SourceStatus.ERROR and "token" in result.error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_url_says_nothing_is_listening():
    result = await run(settings_for(f"http://127.0.0.1:{free_port()}", "t"))
    assert result.status is SourceStatus.ERROR
    assert "Nothing is listening" in result.error


async def test_https_against_plain_http_is_a_tls_sentence(simulator):
    result = await run(settings_for(simulator.url.replace("http://", "https://"), simulator.admin_token))
    assert result.status is SourceStatus.ERROR
    assert "TLS" in result.error


async def test_slow_server_times_out_with_a_sentence(simulator):
    simulator.faults.set("*", hang=True)
    result = await run(settings_for(simulator.url, simulator.admin_token, timeout=0.5))
    assert result.status is SourceStatus.ERROR
    assert "did not answer within 0.5 s" in result.error


async def test_server_error_on_one_endpoint_degrades_only_that_fact(simulator):
    simulator.faults.set("/api/v4/analytics/old", status=503)
    result = await run(settings_for(simulator.url, simulator.admin_token))
    assert result.status is SourceStatus.DEGRADED
    assert "HTTP 503" in result.data.missing["Usage counts"]
    assert result.data.plugins and result.data.server.version


async def test_malformed_json_is_named(simulator):
    simulator.faults.set("/api/v4/plugins", malformed_json=True)
    result = await run(settings_for(simulator.url, simulator.admin_token))
    assert result.status is SourceStatus.DEGRADED
    assert "malformed JSON" in result.data.missing["Plugins"]


class _NotMattermost(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>It works!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_web_server():
    server = HTTPServer(("127.0.0.1", 0), _NotMattermost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_site_that_is_not_mattermost_is_recognised(other_web_server):
    result = await run(settings_for(other_web_server, "t"))
    assert result.status is SourceStatus.ERROR
    assert "not a Mattermost server" in result.error


async def test_requests_run_concurrently(simulator):
    simulator.faults.set("*", latency_ms=300)
    started = asyncio.get_running_loop().time()
    result = await run(settings_for(simulator.url, simulator.admin_token))
    elapsed = asyncio.get_running_loop().time() - started
    assert result.status is SourceStatus.OK
    assert elapsed < 1.5  # 14 requests of 300 ms each would take 4 s one after another


async def test_team_count_falls_back_to_the_teams_list_when_analytics_fail(simulator):
    simulator.faults.set("/api/v4/analytics/old", status=500)
    result = await run(settings_for(simulator.url, simulator.admin_token))
    assert 0 < result.data.counts.teams <= len(simulator.model.teams)  # the teams this user may see


async def test_latest_release_is_read_separately(simulator):
    from collectors.mattermost import collect_latest_release

    async with httpx.AsyncClient() as client:
        result = await collect_latest_release(settings_for(simulator.url, simulator.admin_token), client)
        assert result.status is SourceStatus.OK and result.data.count(".") == 2
        simulator.faults.set("/api/v4/latest_version", status=500)
        failed = await collect_latest_release(settings_for(simulator.url, simulator.admin_token), client)
    assert failed.status is SourceStatus.ERROR and "HTTP 500" in failed.error
