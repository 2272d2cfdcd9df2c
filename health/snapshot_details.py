"""What a deployment is made of at one collection: version, licence, plugins and every configuration setting.

These change rarely, so history stores each distinct set once (by its hash) and snapshots point at it. Secrets
never enter it: Mattermost's API already replaces them with its fixed mask (model.FakeSetting), and a setting
whose value is real and secret-shaped (a local config.json) is kept only as a keyed hash (HMAC-SHA256 with the
operator's `health.history_key`), enough to say "changed" and useless for guessing the value. Without a key it
is kept as "set" or "empty".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from collectors.base import Snapshot

# server/public/model/config.go: the value GET /api/v4/config shows instead of each secret.
MATTERMOST_MASK = "********************************"
MASKED = "(hidden by Mattermost)"
_SECRET_NAME = re.compile(r"(password|secret|salt|key|token|datasource|dsn|credential)", re.IGNORECASE)
_NOT_SECRET = re.compile(r"(KeyFile|KeyAlgorithm|PublicKey|AccessKeyId|KeyLength|UseKey|KeyboardShortcut|Enable)")


def details(snapshot: Snapshot, history_key: str | None) -> dict[str, Any] | None:
    """The deployment's make-up as plain JSON, or None when the Mattermost API did not answer."""
    facts = snapshot.data("mattermost")
    if facts is None:
        return None
    server = facts.server
    license = facts.license
    return {
        "version": server.version,
        "build": {"number": server.build_number, "hash": server.build_hash, "date": server.build_date,
                  "enterprise_ready": server.enterprise_ready, "schema_version": server.schema_version},
        "edition": facts.edition,
        "license": None if license is None else {
            "is_licensed": license.is_licensed, "sku": license.sku_short_name or license.sku_name,
            "seats": license.seats, "company": license.company, "is_trial": license.is_trial,
            "expires_at": license.expires_at.isoformat() if license.expires_at else None},
        "plugins": {p.id: {"version": p.version, "enabled": p.enabled} for p in facts.plugins},
        "config": None if facts.config is None else flatten_config(facts.config, history_key),
    }


def details_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def flatten_config(config: Mapping[str, Any], history_key: str | None) -> dict[str, Any]:
    """Every setting as "Section.Name" -> value (lists and objects as JSON text), secrets as described above."""
    flat: dict[str, Any] = {}
    _walk(config, "", flat)
    return {path: _safe(path, value, history_key) for path, value in flat.items()}


def _walk(node: Mapping[str, Any], prefix: str, flat: dict[str, Any]) -> None:
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            _walk(value, f"{path}.", flat)
        elif isinstance(value, (list, dict)):
            flat[path] = json.dumps(value, sort_keys=True, default=str)
        else:
            flat[path] = value


def is_secret_setting(path: str) -> bool:
    name = path.rsplit(".", 1)[-1]
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def _safe(path: str, value: Any, history_key: str | None) -> Any:
    if value == MATTERMOST_MASK:
        return MASKED
    if not is_secret_setting(path) or value in (None, "", [], "[]"):
        return value
    if history_key is None:
        return "(set)"
    digest = hmac.new(history_key.encode(), f"{path}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"(secret, keyed hash {digest})"
