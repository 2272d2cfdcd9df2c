"""Every secret value the dashboard knows, labelled by where it came from, for the leak gate.

Sources: the SecretStr settings of every environment (and credentials inside any settings URL), MMDASH_*
variables that hold secrets, Mattermost's own MM_* config overrides whose names say secret, PGPASSWORD
(psycopg reads it), and the secret fields of an unsanitized config.json. Which config fields and names
count as secret is decided by packet.redact, the same code that masks them, so the two cannot disagree.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

from packet.redact import (
    CREDENTIAL_URL_RULES,
    SANITIZED_CONFIG_FIELDS,
    UNSANITIZED_SECRET_FIELDS,
    config_secrets,
    is_secret_key,
    text_secrets,
)
from settings import ENV_PREFIX, Settings

_NO_MANIFESTS: Mapping[str, dict] = types.MappingProxyType({})
# Mattermost overrides a config path with MM_<SECTION>_<KEY>, upper-cased, dots as underscores.
_MM_SECRET_VARIABLES = frozenset(
    "MM_" + field.replace(".", "_").upper() for field in (*SANITIZED_CONFIG_FIELDS, *UNSANITIZED_SECRET_FIELDS)
)
# Read by the libraries the collectors use, so it can hold the real database password.
_LIBRARY_SECRET_VARIABLES = ("PGPASSWORD",)


def known_secrets(settings: Settings, *, environ: Mapping[str, str], raw_config: dict | None = None,
                  plugin_manifests: Mapping[str, dict] = _NO_MANIFESTS) -> dict[str, str]:
    """label -> secret value; a label names a setting, variable or config path, never the value."""
    found: dict[str, str] = {}
    for path, value, secret in _settings_values(settings, ()):
        label = "settings:" + ".".join(path)
        if secret:
            _add(found, label, value)
        _add_inner(found, label, value)
    secret_fields = _secret_field_names(Settings)
    for name, value in sorted(environ.items()):
        label = f"env:{name}"
        if name.startswith(ENV_PREFIX):
            field = name[len(ENV_PREFIX):].rsplit("__", 1)[-1].lower()
            if field in secret_fields or is_secret_key(field):
                _add(found, label, value)
            _add_inner(found, label, value)
        elif name.startswith("MM_"):
            if (name in _MM_SECRET_VARIABLES or is_secret_key(name.rsplit("_", 1)[-1])) and not _scalar(value):
                _add(found, label, value)
            _add_inner(found, label, value)
        elif name in _LIBRARY_SECRET_VARIABLES:
            _add(found, label, value)
    if raw_config is not None:
        for path, value in config_secrets(raw_config, plugin_manifests=plugin_manifests).items():
            _add(found, f"config:{path}", value)
    return found


def _settings_values(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, bool]]:
    """(path, value, is SecretStr) for every string in the settings tree."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _settings_values(getattr(node, name), (*path, name))
    elif isinstance(node, Mapping):
        for key, child in node.items():
            yield from _settings_values(child, (*path, str(key)))
    elif isinstance(node, SecretStr):
        yield path, node.get_secret_value(), True
    elif isinstance(node, str):
        yield path, node, False


def _secret_field_names(model: type[BaseModel]) -> frozenset[str]:
    """Names of every SecretStr field in `model` and the models it contains (dsn, token, password...)."""
    names: set[str] = set()
    pending: list[Any] = [model]
    seen: set[Any] = set()
    while pending:
        annotation = pending.pop()
        if annotation in seen:
            continue
        seen.add(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, info in annotation.model_fields.items():
                if SecretStr in (info.annotation, *typing.get_args(info.annotation)):
                    names.add(name)
                pending.append(info.annotation)
        else:
            pending += typing.get_args(annotation)
    return frozenset(names)


def _scalar(value: str) -> bool:
    """Booleans and numbers are settings, not secrets, whatever the variable is called."""
    if value.lower() in ("true", "false"):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


def _add(found: dict[str, str], label: str, value: str) -> None:
    if not value:
        return
    name, n = label, 1
    while name in found and found[name] != value:
        n += 1
        name = f"{label}-{n}"
    found[name] = value


def _add_inner(found: dict[str, str], label: str, value: str) -> None:
    """Passwords and tokens inside a DSN or URL: they can turn up on their own, e.g. in a driver's error."""
    inner = text_secrets(value)
    for rule, secret in inner:
        _add(found, f"{label}#{rule}", secret)
    if any(rule in CREDENTIAL_URL_RULES for rule, _ in inner):
        _add(found, f"{label}#whole-url", value)  # the password alone, and the URL that carries it
