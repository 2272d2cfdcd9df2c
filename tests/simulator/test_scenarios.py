"""The scenarios themselves: deterministic, relative to the clock, and different where it matters."""

from __future__ import annotations

import time

import pytest

from simulator import SCENARIOS, build_scenario
from simulator.model import JOB_STATUSES, PLUGIN_FAILED_TO_START, PLUGIN_NOT_RUNNING, PLUGIN_RUNNING
from simulator.scenarios import ADMIN_USERNAME, ANALYTICS_DAYS, DAY_MS

NOW = 1_790_000_000_000


@pytest.mark.parametrize("name", SCENARIOS)
def test_same_data_on_every_build(name: str) -> None:
    assert build_scenario(name, NOW) == build_scenario(name, NOW)


@pytest.mark.parametrize("name", SCENARIOS)
def test_dates_follow_the_clock(name: str) -> None:
    earlier, later = build_scenario(name, NOW), build_scenario(name, NOW + 50 * DAY_MS)
    assert earlier.license is not None and later.license is not None
    assert later.license.expires_at - earlier.license.expires_at == 50 * DAY_MS
    assert later.jobs[0].create_at > earlier.jobs[0].create_at
    assert [j.id for j in later.jobs] == [j.id for j in earlier.jobs]


def test_default_clock_is_now() -> None:
    before = int(time.time() * 1000)
    scenario = build_scenario("healthy")
    assert before <= scenario.now_ms <= int(time.time() * 1000)


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        build_scenario("chaotic")


@pytest.mark.parametrize("name", SCENARIOS)
def test_invariants(name: str) -> None:
    s = build_scenario(name, NOW)
    assert s.admin.is_admin and not s.user.is_admin
    assert len(s.plugin_statuses) == len(s.plugins) * len(s.nodes)
    assert [j.create_at for j in s.jobs] == sorted((j.create_at for j in s.jobs), reverse=True)
    assert {j.status for j in s.jobs} <= set(JOB_STATUSES)
    assert len({t.name for t in s.teams}) == len(s.teams)
    assert len(s.usage.posts_per_day) == ANALYTICS_DAYS
    assert s.usage.monthly_active_users >= s.usage.daily_active_users
    assert s.usage.active_users >= s.usage.monthly_active_users


def test_the_demo_admin_is_sysadmin_in_every_scenario() -> None:
    assert ADMIN_USERNAME == "sysadmin"
    assert {build_scenario(name, NOW).admin.username for name in SCENARIOS} == {ADMIN_USERNAME}


def test_development_is_a_small_server_of_its_own() -> None:
    dev, production = build_scenario("development", NOW), build_scenario("healthy", NOW)
    assert len(dev.nodes) == 1 < len(production.nodes)
    assert dev.usage.active_users < 100 < production.usage.active_users
    assert dev.usage.inactive_users > 0 and dev.usage.monthly_active_users >= dev.usage.daily_active_users
    assert dev.license is not None and dev.license.is_trial and dev.license.expires_at - NOW == 18 * DAY_MS
    assert dev.settings.developer_mode and dev.settings.log_level == "DEBUG" and dev.settings.file_driver == "local"
    assert dev.settings.site_url != production.settings.site_url
    assert dev.build.version == production.build.version


def test_healthy() -> None:
    s = build_scenario("healthy", NOW)
    assert s.license is not None and s.license.sku_short_name == "enterprise"
    assert s.usage.active_users < s.license.users
    assert 200 * DAY_MS < s.license.expires_at - NOW < 300 * DAY_MS
    assert len(s.nodes) == 2
    assert len({(n.version, n.config_hash) for n in s.nodes}) == 1
    enabled = {p.id for p in s.plugins if p.enabled}
    assert all(st.state == PLUGIN_RUNNING for st in s.plugin_statuses if st.plugin_id in enabled)
    assert all(st.state == PLUGIN_NOT_RUNNING for st in s.plugin_statuses if st.plugin_id not in enabled)
    assert {j.status for j in s.jobs} == {"success"}
    assert s.health.database_ok and s.health.filestore_ok and s.health.goroutines_ok
    assert s.settings.log_level == "INFO"


def test_degraded() -> None:
    s = build_scenario("degraded", NOW)
    assert s.license is not None
    assert s.license.expires_at - NOW == 9 * DAY_MS
    assert s.usage.active_users > s.license.users
    assert len(s.nodes) == 3
    assert len({n.version for n in s.nodes}) == 2
    assert len({n.config_hash for n in s.nodes}) == 2
    failed = [st for st in s.plugin_statuses if st.state == PLUGIN_FAILED_TO_START]
    assert len(failed) == 1 and failed[0].error
    failed_types = {j.type for j in s.jobs if j.status == "error"}
    assert {"ldap_sync", "elasticsearch_post_indexing"} <= failed_types
    assert all(j.data.get("error") for j in s.jobs if j.status == "error")
    assert {"pending", "in_progress", "cancel_requested", "canceled", "success", "error"} <= {j.status for j in s.jobs}
    assert not s.health.filestore_ok
    assert s.settings.log_level == "DEBUG"


def test_large() -> None:
    s = build_scenario("large", NOW)
    assert s.usage.active_users > 200_000 > s.settings.max_users_for_statistics
    assert s.usage.total_posts > 10_000_000
    assert len(s.teams) == 300
    assert len(s.nodes) == 5
    assert len(s.jobs) > 500
