"""The config and client config a scenario's server reports."""

from __future__ import annotations

import pytest

from simulator import SCENARIOS, build_scenario
from simulator.server_config import build_config, client_config, client_config_hash

LOGGED_IN_ONLY = {"SchemaVersion", "InstallationDate", "NoAccounts", "MaxPostSize"}


@pytest.mark.parametrize("name", SCENARIOS)
def test_config_reflects_the_scenario(name: str) -> None:
    s = build_scenario(name)
    cfg = build_config(s)
    assert cfg["SqlSettings"]["DriverName"] == "postgres"
    assert cfg["MetricsSettings"]["ListenAddress"] == ":8067"
    assert cfg["AnalyticsSettings"]["MaxUsersForStatistics"] == 2500
    assert cfg["ClusterSettings"]["Enable"] is True
    assert cfg["LogSettings"]["FileLevel"] == s.settings.log_level
    assert cfg["ServiceSettings"]["SiteURL"] == s.settings.site_url
    assert set(cfg["PluginSettings"]["PluginStates"]) == {p.id for p in s.plugins}


def test_client_config_is_strings_and_grows_with_a_session() -> None:
    s = build_scenario("healthy")
    cfg = build_config(s)
    limited, full = client_config(s, cfg, logged_in=False), client_config(s, cfg, logged_in=True)
    assert all(isinstance(v, str) for v in full.values())
    assert not LOGGED_IN_ONLY & set(limited)
    assert set(full) >= LOGGED_IN_ONLY
    assert limited["Version"] == full["Version"] == "11.6.1"
    assert full["SchemaVersion"] == s.build.schema_version
    assert list(full) == sorted(full)


def test_client_config_hash_is_stable() -> None:
    s = build_scenario("healthy")
    assert client_config_hash(s, build_config(s)) == client_config_hash(s, build_config(s))
