"""Refuse to store anything that looks like a secret: the store holds decisions, never credentials.

Checked by key name (case-insensitive, at any depth) and, for values, by URLs that embed a password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Substrings of the key with case and separators removed ("apiKey", "API-Key" and "api_key" all match).
SECRET_MARKERS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "apikey",
    "privatekey",
    "accesskey",
    "signingkey",
    "encryptionkey",
    "datasource",  # Mattermost's SqlSettings.DataSource is a DSN with the database password in it
    "connectionstring",
    "authheader",
)
# Whole words only, as substrings they would hit harmless keys ("ids_name" contains "dsn").
SECRET_WORDS = frozenset({"pwd", "dsn", "cookie", "cookies", "authorization", "salt"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_URL_WITH_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)


def looks_secret(key: str) -> bool:
    words = [w.lower() for w in _WORD.findall(key)]
    compact = "".join(words)
    return any(marker in compact for marker in SECRET_MARKERS) or not SECRET_WORDS.isdisjoint(words)


def reject_secrets(value: Any, *, where: str) -> None:
    """Raise ValueError naming the first key (as a path under ``where``) that looks like a secret."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{where}[{key!r}]"
            # A flag cannot carry a secret, so {"EnableUserAccessTokens": true} is fine to keep.
            if looks_secret(str(key)) and not isinstance(item, bool) and item is not None:
                raise ValueError(
                    f"refusing to store {path}: the key looks like a secret; store a reference or a redacted "
                    "value under another name instead"
                )
            reject_secrets(item, where=path)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            reject_secrets(item, where=f"{where}[{index}]")
    elif isinstance(value, str) and _URL_WITH_PASSWORD.search(value):
        raise ValueError(f"refusing to store {where}: the value is a URL with a password in it; mask it first")
