"""Every secret the dashboard knows reaches the leak gate, labelled by where it came from, never by value."""

from __future__ import annotations

from pathlib import Path

import pytest

from packet.redact import config_secrets
from packet.secrets import known_secrets
from settings import Settings, load_settings
from simulator import build_scenario
from simulator.api.plugins import manifest_json
from simulator.server_config import build_config

ENVIRON = {
    "MMDASH_PRODUCTION__MATTERMOST__URL": "https://chat.example.com",
    "MMDASH_PRODUCTION__MATTERMOST__TOKEN": "mm-token-8d2kq0xw7p",
    "MMDASH_PRODUCTION__DATABASE__DSN": "postgresql://mmuser:Db-Pa55-4471@db.example.com:5432/mattermost",
    "MMDASH_PRODUCTION__PROMETHEUS__URL": "https://metrics:Prom-Pa55-9020@prometheus.example.com:9090",
    "MMDASH_PRODUCTION__ELASTICSEARCH__URL": "https://search.example.com:9200",
    "MMDASH_PRODUCTION__ELASTICSEARCH__PASSWORD": "Es-Pa55-3381",
    "MMDASH_PRODUCTION__LDAP__URL": "ldaps://ldap.example.com",
    "MMDASH_PRODUCTION__LDAP__BASE_DN": "dc=example,dc=com",
    "MMDASH_PRODUCTION__LDAP__BIND_PASSWORD": "Ldap-Pa55-1202",
    "MMDASH_STAGING__DATABASE__DSN": "host=db-staging user=mm password=Stg-Pa55-6630 dbname=mattermost",
    "MMDASH_STORE_URL": "postgresql://dash:Store-Pa55-5518@store.example.com/dashboard",
    "MM_SQLSETTINGS_DATASOURCE": "postgres://mmuser:Env-Db-Pa55-77@db.example.com/mattermost",
    "MM_ELASTICSEARCHSETTINGS_PASSWORD": "Env-Es-Pa55-12",
    "MM_SERVICESETTINGS_SPLITKEY": "split-key-value-0042",
    "MM_ELASTICSEARCHSETTINGS_CONNECTIONURL": "https://mm:Env-Url-Pa55-31@search.example.com:9200",
    "MM_PASSWORDSETTINGS_MINIMUMLENGTH": "10",
    "MM_SERVICESETTINGS_ENABLEDEVELOPER": "true",
    "MM_FILESETTINGS_AMAZONS3ACCESSKEYID": "AKIAIOSFODNN7EXAMPLE",
    "PGPASSWORD": "Pg-Env-Pa55-66",
    "HOME": "/root",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(ENVIRON, secrets_path=tmp_path / "absent.toml")


def test_settings_and_environment_secrets_with_their_labels(settings):
    found = known_secrets(settings, environ=ENVIRON)
    expected = {
        "settings:environments.production.mattermost.token": "mm-token-8d2kq0xw7p",
        "settings:environments.production.database.dsn": ENVIRON["MMDASH_PRODUCTION__DATABASE__DSN"],
        "settings:environments.production.database.dsn#dsn": "Db-Pa55-4471",
        "settings:environments.production.prometheus.url#url-credentials": "Prom-Pa55-9020",
        "settings:environments.production.elasticsearch.password": "Es-Pa55-3381",
        "settings:environments.production.ldap.bind_password": "Ldap-Pa55-1202",
        "settings:environments.staging.database.dsn#dsn": "Stg-Pa55-6630",
        "settings:store_url#dsn": "Store-Pa55-5518",
        "env:MMDASH_PRODUCTION__MATTERMOST__TOKEN": "mm-token-8d2kq0xw7p",
        "env:MMDASH_PRODUCTION__LDAP__BIND_PASSWORD": "Ldap-Pa55-1202",
        "env:MMDASH_PRODUCTION__PROMETHEUS__URL#url-credentials": "Prom-Pa55-9020",
        "env:MMDASH_STORE_URL": ENVIRON["MMDASH_STORE_URL"],
        "env:MM_SQLSETTINGS_DATASOURCE": ENVIRON["MM_SQLSETTINGS_DATASOURCE"],
        "env:MM_SQLSETTINGS_DATASOURCE#dsn": "Env-Db-Pa55-77",
        "env:MM_ELASTICSEARCHSETTINGS_PASSWORD": "Env-Es-Pa55-12",
        "env:MM_SERVICESETTINGS_SPLITKEY": "split-key-value-0042",
        "env:MM_ELASTICSEARCHSETTINGS_CONNECTIONURL#url-credentials": "Env-Url-Pa55-31",
        "env:PGPASSWORD": "Pg-Env-Pa55-66",
    }
    assert found.items() >= expected.items()
    values = set(found.values())
    # Settings, flags and identifiers are not secrets, whatever their variable is called.
    for not_secret in ("10", "true", "/root", "https://chat.example.com", "dc=example,dc=com", "mmuser", "mm"):
        assert not_secret not in values
    for label, value in found.items():
        assert value not in label


def test_unsanitized_config_secrets_are_exactly_what_redaction_masks(settings):
    scenario = build_scenario("degraded")
    config = build_config(scenario)
    manifests = {p.id: manifest_json(p) for p in scenario.plugins}
    found = known_secrets(settings, environ={}, raw_config=config, plugin_manifests=manifests)
    from_config = {label.removeprefix("config:"): value for label, value in found.items()
                   if label.startswith("config:")}
    assert from_config == config_secrets(config, plugin_manifests=manifests)
    assert from_config["ElasticsearchSettings.ConnectionURL#url-credentials"] == "Winter2026!"
    assert from_config["PluginSettings.Plugins.jira.secret"] == "jira-Webhook-Secret-7b1d0c"
    assert from_config["SqlSettings.DataSource#dsn"] == "Pr1mary-DB-Pa55"
    assert from_config["LdapSettings.BindPassword"] == "Ld4p-B1nd-Pa55w0rd"


def test_demo_settings_know_no_secrets(tmp_path):
    demo = load_settings({}, secrets_path=tmp_path / "absent.toml")
    assert known_secrets(demo, environ={"HOME": "/root"}) == {}


def test_plugin_manifests_come_from_mattermosts_own_packet(tmp_path, settings):
    import zipfile

    from packet.gather import plugin_manifests
    from simulator.support_packet import build_packet

    scenario = build_scenario("degraded")
    config = build_config(scenario)
    path = tmp_path / "server.zip"
    path.write_bytes(build_packet(scenario, config))
    manifests = plugin_manifests(path)
    assert manifests and all("id" in m for m in manifests.values())
    found = known_secrets(settings, environ={}, raw_config=config, plugin_manifests=manifests)
    assert found["config:PluginSettings.Plugins.jira.secret"] == "jira-Webhook-Secret-7b1d0c"
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    assert plugin_manifests(tmp_path / "bad.zip") == {}
    with zipfile.ZipFile(tmp_path / "none.zip", "w") as archive:
        archive.writestr("plugins.json", "[[[")
    assert plugin_manifests(tmp_path / "none.zip") == {}
