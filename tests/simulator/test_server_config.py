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
    assert cfg["ClusterSettings"]["Enable"] is (len(s.nodes) > 1)
    assert cfg["LogSettings"]["FileLevel"] == s.settings.log_level
    assert cfg["ServiceSettings"]["SiteURL"] == s.settings.site_url
    assert set(cfg["PluginSettings"]["PluginStates"]) == {p.id for p in s.plugins}


@pytest.mark.parametrize("name", SCENARIOS)
def test_config_has_upstreams_audit_and_notification_log_sections(name: str) -> None:
    """server/public/model/config.go: Config carries ExperimentalAuditSettings and NotificationLogSettings beside
    LogSettings, with SetDefaults' values where a scenario does not choose, so the audit-log rule can judge."""
    s = build_scenario(name)
    cfg = build_config(s)
    sections = list(cfg)
    assert sections.index("LogSettings") + 1 == sections.index("ExperimentalAuditSettings")
    assert sections.index("ExperimentalAuditSettings") + 1 == sections.index("NotificationLogSettings")
    audit = cfg["ExperimentalAuditSettings"]
    assert set(audit) == {"FileEnabled", "FileName", "FileMaxSizeMB", "FileMaxAgeDays", "FileMaxBackups",
                          "FileCompress", "FileMaxQueueSize", "AdvancedLoggingJSON"}
    assert audit["FileEnabled"] is s.settings.audit_log_file and bool(audit["FileName"]) is audit["FileEnabled"]
    assert (audit["FileMaxSizeMB"], audit["FileMaxQueueSize"]) == (100, 1000)
    assert set(cfg["NotificationLogSettings"]) == {"EnableConsole", "ConsoleLevel", "ConsoleJson", "EnableColor",
                                                   "EnableFile", "FileLevel", "FileJson", "FileLocation",
                                                   "AdvancedLoggingJSON"}


def test_a_development_server_has_a_development_servers_settings() -> None:
    """Developer mode, plugin uploads, local files, debug logs, Inbucket on upstream's default SMTP address
    (config.go EmailSettings.SetDefaults: localhost:10025) and the test push proxy; no audit log or export."""
    cfg = build_config(build_scenario("development"))
    service, email = cfg["ServiceSettings"], cfg["EmailSettings"]
    assert service["EnableDeveloper"] and service["EnableTesting"] and cfg["PluginSettings"]["EnableUploads"]
    assert (email["SMTPServer"], email["SMTPPort"], email["EnableSMTPAuth"]) == ("localhost", "10025", False)
    assert email["PushNotificationServer"] == "https://push-test.mattermost.com"
    assert cfg["FileSettings"]["DriverName"] == "local" and cfg["LogSettings"]["FileLevel"] == "DEBUG"
    assert not cfg["ExperimentalAuditSettings"]["FileEnabled"] and not cfg["MessageExportSettings"]["EnableExport"]
    production = build_config(build_scenario("healthy"))
    assert not production["ServiceSettings"]["EnableDeveloper"]
    assert production["ExperimentalAuditSettings"]["FileEnabled"]


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
