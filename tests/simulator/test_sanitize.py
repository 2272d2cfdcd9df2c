"""The config sanitizer masks what Mattermost v11.6 masks, and nothing a dashboard could rely on is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator import SCENARIOS, build_scenario
from simulator.plugin_catalog import ORPHANED_PLUGIN_SETTINGS
from simulator.sanitize import FAKE_SETTING, sanitize_config
from simulator.server_config import build_config

FIELDS_FILE = Path(__file__).resolve().parents[3] / "shared/reference/mattermost/sanitized_config_fields.txt"
# In the reference list, but not masked by v11.6 (newer or legacy fields).
NOT_MASKED_IN_V11_6 = {
    "FileSettings.ExportAmazonS3SecretAccessKey", "FileSettings.AzureAccessKey", "FileSettings.ExportAzureAccessKey",
    "ServiceSettings.GoogleDeveloperKey", "ServiceSettings.GiphySdkKey", "ServiceSettings.GfycatAPISecret",
}


def _get(cfg: dict, dotted: str) -> object:
    value: object = cfg
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_v11_6_secret_field_is_masked(name: str) -> None:
    s = build_scenario(name)
    raw, clean = build_config(s), sanitize_config(build_config(s), s.plugins)
    for dotted in FIELDS_FILE.read_text().split():
        if dotted in NOT_MASKED_IN_V11_6 or _get(raw, dotted) in (None, "", []):
            continue
        value = _get(clean, dotted)
        assert value == FAKE_SETTING or (isinstance(value, list) and set(value) == {FAKE_SETTING}), dotted


def test_always_masked_fields_are_masked_even_when_empty() -> None:
    s = build_scenario("healthy")
    raw = build_config(s)
    raw["ServiceSettings"]["SplitKey"] = ""
    raw["CacheSettings"]["RedisPassword"] = ""
    raw["EmailSettings"]["SMTPPassword"] = ""
    clean = sanitize_config(raw, s.plugins)
    assert clean["ServiceSettings"]["SplitKey"] == FAKE_SETTING
    assert clean["CacheSettings"]["RedisPassword"] == FAKE_SETTING
    assert clean["EmailSettings"]["SMTPPassword"] == ""  # masked only when set


def test_no_raw_secret_survives() -> None:
    s = build_scenario("degraded")
    raw = build_config(s)
    clean_text = json.dumps(sanitize_config(raw, s.plugins))
    secrets = [
        raw["SqlSettings"]["DataSource"], raw["LdapSettings"]["BindPassword"], raw["EmailSettings"]["SMTPPassword"],
        raw["FileSettings"]["AmazonS3SecretAccessKey"], raw["ElasticsearchSettings"]["Password"],
        raw["PluginSettings"]["Plugins"]["jira"]["secret"],
        raw["PluginSettings"]["Plugins"]["com.mattermost.calls"]["turnstaticauthsecret"],
    ]
    for secret in secrets:
        assert secret and secret not in clean_text


def test_plugin_secrets_masked_by_manifest_and_orphans_dropped() -> None:
    s = build_scenario("healthy")
    clean = sanitize_config(build_config(s), s.plugins)["PluginSettings"]["Plugins"]
    assert clean["github"]["githuboauthclientsecret"] == FAKE_SETTING
    assert clean["github"]["githuboauthclientid"] == "Iv1.4f3c2a1b0d9e8f7a"
    assert not set(ORPHANED_PLUGIN_SETTINGS) & set(clean)


def test_unknown_plugin_loses_its_settings() -> None:
    s = build_scenario("healthy")
    without_github = tuple(p for p in s.plugins if p.id != "github")
    clean = sanitize_config(build_config(s), without_github)
    assert "github" not in clean["PluginSettings"]["Plugins"]


def test_credentials_in_urls_are_left_alone_as_mattermost_does() -> None:
    s = build_scenario("degraded")
    clean = sanitize_config(build_config(s), s.plugins)
    assert "mmsearch:" in clean["ElasticsearchSettings"]["ConnectionURL"]


def test_input_is_not_modified() -> None:
    s = build_scenario("healthy")
    raw = build_config(s)
    before = json.dumps(raw)
    sanitize_config(raw, s.plugins)
    assert json.dumps(raw) == before
