"""Mattermost's config sanitizer as of v11.6: full redaction for GET /api/v4/config, partial redaction of
database DSNs for the support packet's sanitized_config.json (SanitizeOptions.PartiallyRedactDataSources)."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from simulator.model import Plugin

FAKE_SETTING = "********************************"  # model.FakeSetting: 32 asterisks
SANITIZED_PASSWORD = "****"  # model.SanitizedPassword, user and password of a partially redacted DSN

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


def sanitize_config(raw: dict[str, Any], plugins: tuple[Plugin, ...], *,
                    partially_redact_data_sources: bool = False) -> dict[str, Any]:
    cfg = copy.deepcopy(raw)
    sql = cfg.get("SqlSettings", {})
    driver = str(sql.get("DriverName", ""))

    def data_source(value: str) -> str:
        return sanitize_data_source(driver, value) if partially_redact_data_sources else FAKE_SETTING

    for section, path, always in _MASKED:
        parent = cfg.get(section)
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and path[-1] in parent and (always or parent[path[-1]]):
            if (section, path) == ("SqlSettings", ("DataSource",)):
                parent["DataSource"] = data_source(str(parent["DataSource"]))
            else:
                parent[path[-1]] = FAKE_SETTING
    for section, key in _MASKED_LISTS:
        values = cfg.get(section, {}).get(key)
        if values:
            cfg[section][key] = [data_source(str(v)) for v in values]
    for lag in sql.get("ReplicaLagSettings") or []:
        if lag.get("DataSource") is not None:
            lag["DataSource"] = data_source(str(lag["DataSource"]))
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


def sanitize_data_source(driver: str, dsn: str) -> str:
    """model.SanitizeDataSource: keeps host, port, database and options of a Postgres URL, replaces user and
    password. An empty DSN stays empty; anything that is not a Postgres URL is masked whole."""
    if dsn == "":
        return ""
    parts = urlsplit(dsn)
    if driver != "postgres" or parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        return FAKE_SETTING
    host = parts.netloc.rpartition("@")[2]
    # Go's url.Values.Encode sorts the parameters by key.
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("user", "password"))
    encoded = f"?{urlencode(query)}" if query else ""
    return f"{parts.scheme}://{SANITIZED_PASSWORD}:{SANITIZED_PASSWORD}@{host}{parts.path}{encoded}"
