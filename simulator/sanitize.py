"""Mattermost's config sanitizer as of v11.6, which GET /api/v4/config applies (full redaction)."""

from __future__ import annotations

import copy
from typing import Any

from simulator.model import Plugin

FAKE_SETTING = "********************************"  # model.FakeSetting: 32 asterisks

# (section, key path inside the section, masked even when empty?) per the v11.6 column of the reference.
# FileSettings.ExportAmazonS3SecretAccessKey is deliberately absent: v11.6 does not mask it.
_MASKED: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("LdapSettings", ("BindPassword",), False),
    ("FileSettings", ("PublicLinkSalt",), True),
    ("FileSettings", ("AmazonS3SecretAccessKey",), False),
    ("EmailSettings", ("SMTPPassword",), False),
    ("GitLabSettings", ("Secret",), False),
    ("GoogleSettings", ("Secret",), False),
    ("Office365Settings", ("Secret",), False),
    ("OpenIdSettings", ("Secret",), False),
    ("SqlSettings", ("DataSource",), True),
    ("SqlSettings", ("AtRestEncryptKey",), True),
    ("ElasticsearchSettings", ("Password",), True),
    ("MessageExportSettings", ("GlobalRelaySettings", "SMTPPassword"), False),
    ("ServiceSettings", ("SplitKey",), True),
    ("CacheSettings", ("RedisPassword",), True),
    ("AutoTranslationSettings", ("LibreTranslate", "APIKey"), False),
)
_MASKED_LISTS = (("SqlSettings", "DataSourceReplicas"), ("SqlSettings", "DataSourceSearchReplicas"))


def sanitize_config(raw: dict[str, Any], plugins: tuple[Plugin, ...]) -> dict[str, Any]:
    cfg = copy.deepcopy(raw)
    for section, path, always in _MASKED:
        parent = cfg.get(section)
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and path[-1] in parent and (always or parent[path[-1]]):
            parent[path[-1]] = FAKE_SETTING
    for section, key in _MASKED_LISTS:
        values = cfg.get(section, {}).get(key)
        if values:
            cfg[section][key] = [FAKE_SETTING for _ in values]
    for lag in cfg.get("SqlSettings", {}).get("ReplicaLagSettings") or []:
        if lag.get("DataSource") is not None:
            lag["DataSource"] = FAKE_SETTING
    plugin_settings = cfg.get("PluginSettings", {}).get("Plugins")
    if isinstance(plugin_settings, dict):
        cfg["PluginSettings"]["Plugins"] = _sanitize_plugin_settings(plugin_settings, plugins)
    return cfg


def _sanitize_plugin_settings(values: dict[str, Any], plugins: tuple[Plugin, ...]) -> dict[str, Any]:
    """Secret keys of known plugins are masked; the settings of a plugin without a manifest are dropped,
    because nothing says which of its keys are secret."""
    manifests = {p.id: p for p in plugins}
    out: dict[str, Any] = {}
    for plugin_id, settings in values.items():
        plugin = manifests.get(plugin_id)
        if plugin is None:
            continue
        secret_keys = {s.key.lower() for s in plugin.settings if s.secret}
        out[plugin_id] = {
            key: (FAKE_SETTING if key.lower() in secret_keys else value) for key, value in settings.items()
        }
    return out
