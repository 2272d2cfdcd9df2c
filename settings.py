"""Typed settings: the one place that reads environment variables and `.streamlit/secrets.toml`.

Named environments (production, staging, dev, ...) each describe one Mattermost deployment and the
sources around it. Values come from `.streamlit/secrets.toml` and from `MMDASH_*` environment
variables; an environment variable wins over the file. Nothing configured means the demo.

Environment variables:
    MMDASH_<ENV>__<SECTION>__<FIELD>   e.g. MMDASH_PRODUCTION__MATTERMOST__URL
    MMDASH_<ENV>__LABEL                 display name of the environment
    MMDASH_DEFAULT_ENVIRONMENT, MMDASH_STORE_URL, MMDASH_SQLITE_PATH,
    MMDASH_REFRESH_SECONDS, MMDASH_DEADLINE_SECONDS
    MMDASH_ROLLOUT_CHECKLIST, MMDASH_IMPLEMENTATION_PLAN   your own copies of the YAML files in checklists/
    MMDASH_SECRETS_FILE                 read this file instead of .streamlit/secrets.toml
    MMDASH_SESSION_KEY, MMDASH_SESSION_HOURS   signs the sign-in cookie (see ui/web_sessions.py); how long it lasts
    MMDASH_HEALTH__<FIELD>              the watcher: WATCH_INTERVAL (seconds), RAW_DAYS, DAILY_DAYS,
                                        DASHBOARD_URL, HISTORY_KEY ([mmdash.health] in the secrets file)
    MMDASH_<ENV>__WATCH_INTERVAL        this environment's own interval; MMDASH_<ENV>__ALERTS__<FIELD> its alerts
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "MMDASH_"
SECRETS_PATH = Path(".streamlit/secrets.toml")
# The demo's first environment is the one shown first; dev runs the healthy scenario too (a copy of production).
DEMO_ENVIRONMENTS = {"production": "healthy", "staging": "degraded", "dev": "development"}
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_RESERVED_NAMES = {"health"}  # MMDASH_HEALTH__* sets the watcher, so no environment can be called that
_GLOBAL_KEYS = {
    "DEFAULT_ENVIRONMENT": "default_environment",
    "STORE_URL": "store_url",
    "SQLITE_PATH": "sqlite_path",
    "REFRESH_SECONDS": "refresh_seconds",
    "DEADLINE_SECONDS": "deadline_seconds",
    "SUPPORT_URL": "support_url",
    "ROLLOUT_CHECKLIST": "rollout_checklist",
    "IMPLEMENTATION_PLAN": "implementation_plan",
    "SESSION_KEY": "session_key",
    "SESSION_HOURS": "session_hours",
}
_NOT_SETTINGS = {"SECRETS_FILE"}
_LIST_FIELDS = {("files", "logs")}


class SettingsError(Exception):
    """Settings that cannot be used; `problems` names each wrong setting and where it came from."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MattermostSettings(_Section):
    url: str
    token: SecretStr | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    _check_url = field_validator("url")(_http_url)


class DatabaseSettings(_Section):
    dsn: SecretStr
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @field_validator("dsn")
    @classmethod
    def _postgres_only(cls, value: SecretStr) -> SecretStr:
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme not in ("postgres", "postgresql") and "=" not in value.get_secret_value():
            raise ValueError("must be a PostgreSQL URL (postgresql://user@host:5432/mattermost) or key=value DSN")
        return value


class PrometheusSettings(_Section):
    url: str
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    _check_url = field_validator("url")(_http_url)


class LdapSettings(_Section):
    url: str
    security: Literal["none", "tls", "starttls"] = "none"
    bind_dn: str | None = None
    bind_password: SecretStr | None = None
    base_dn: str
    user_filter: str = "(objectClass=person)"
    group_filter: str = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))"
    ca_bundle: Path | None = None
    verify_tls: bool = True
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _ldap_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise ValueError(f"must be an ldap:// or ldaps:// URL, got {value!r}")
        return value


class ElasticsearchSettings(_Section):
    url: str
    username: str | None = None
    password: SecretStr | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    _check_url = field_validator("url")(_http_url)


class SamlSettings(_Section):
    metadata_url: str
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    _check_url = field_validator("metadata_url")(_http_url)


class LocalFiles(_Section):
    config_json: Path | None = None
    logs: tuple[Path, ...] = ()


class IncidentSettings(_Section):
    """Incidents run in this environment's Mattermost: who may call the dashboard's slash command and actions."""

    team: str | None = None  # the team (name) incidents are started in when the caller does not say
    slash_token: SecretStr | None = None  # the token Mattermost shows when the /incident command is registered
    actions_token: SecretStr | None = None  # Bearer token automation must send to the actions endpoint
    playbooks_dir: Path | None = None  # your playbooks; default: incidents/playbooks
    forward_every_seconds: float = Field(default=5.0, gt=0, le=3600)


class AlertSettings(_Section):
    """Where the watcher tells this environment's admins what opened and what healed: a channel ("team/channel")
    posted to with a bot token, or an incoming webhook URL (which names its own channel)."""

    channel: str | None = None
    url: str | None = None  # the Mattermost the channel is on, when it is not the one watched (a central chat)
    bot_token: SecretStr | None = None  # default: the environment's Mattermost token
    webhook_url: SecretStr | None = None  # the URL is the credential: whoever has it can post
    min_severity: Literal["critical", "warning"] = "warning"
    max_per_hour: int = Field(default=12, ge=1, le=3600)  # beyond this, changes wait and go out together
    playbook: str | None = None  # the playbook offered first when an incident is started from a finding

    @field_validator("channel")
    @classmethod
    def _team_and_channel(cls, value: str | None) -> str | None:
        if value is None:
            return None
        team, _, channel = value.strip().lstrip("~").partition("/")
        if not team or not channel:
            raise ValueError(f"must name the team and the channel as team/channel, got {value!r}")
        return f"{team}/{channel}"

    _check_url = field_validator("url")(_http_url)

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _http_url(value.get_secret_value())  # the value is never echoed: the error names the rule only
        return value

    @property
    def configured(self) -> bool:
        return self.channel is not None or self.webhook_url is not None


class HealthSettings(_Section):
    """The watcher: how often it collects, how long history is kept, where alerts link to."""

    watch_interval: int | None = Field(default=None, ge=10, le=86400)  # seconds; serve.py watches only when set
    raw_days: int = Field(default=7, ge=1, le=365)  # every snapshot, this many days
    daily_days: int = Field(default=365, ge=1, le=3650)  # then one snapshot a day, this many days
    dashboard_url: str | None = None  # the dashboard as admins open it, for links in alerts
    history_key: SecretStr | None = None  # keys the hashes of secret settings, so history can say "changed"

    _check_url = field_validator("dashboard_url")(_http_url)


DEFAULT_WATCH_INTERVAL = 300


class EnvironmentSettings(_Section):
    name: str
    label: str
    mattermost: MattermostSettings | None = None
    database: DatabaseSettings | None = None
    prometheus: PrometheusSettings | None = None
    ldap: LdapSettings | None = None
    elasticsearch: ElasticsearchSettings | None = None
    saml: SamlSettings | None = None
    files: LocalFiles = LocalFiles()
    incidents: IncidentSettings = IncidentSettings()
    alerts: AlertSettings = AlertSettings()
    watch_interval: int | None = Field(default=None, ge=10, le=86400)  # seconds; default: health.watch_interval
    demo_scenario: str | None = None

    @property
    def is_demo(self) -> bool:
        return self.demo_scenario is not None


class Settings(_Section):
    environments: dict[str, EnvironmentSettings]
    default_environment: str
    store_url: SecretStr | None = None
    sqlite_path: Path = Path("data/mmdash.sqlite3")
    refresh_seconds: int = Field(default=60, ge=15, le=3600)
    deadline_seconds: float = Field(default=20.0, gt=0, le=600)
    oidc_enabled: bool = False
    oidc_secrets: dict[str, SecretStr] = Field(default_factory=dict)  # [auth] client and cookie secrets
    support_url: str | None = None  # where admins send packets; default: by license (enterprise portal or forum)
    rollout_checklist: Path | None = None  # None: the checklist shipped in checklists/
    implementation_plan: Path | None = None
    health: HealthSettings = HealthSettings()
    # Signs sign-in cookies and keys the sealing of the admins' tokens in the store; None: a random key per
    # process, so sign-ins end when the dashboard restarts and are not shared between replicas.
    session_key: SecretStr | None = None
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)  # how long a sign-in lasts in a browser

    @field_validator("session_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters; make one with "
                             "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return value

    @property
    def demo(self) -> bool:
        return all(env.is_demo for env in self.environments.values())

    def environment(self, name: str) -> EnvironmentSettings:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise SettingsError([f"unknown environment {name!r}; configured: {known}"]) from None

    def watch_interval(self, env: EnvironmentSettings) -> int:
        """Seconds between the watcher's collections of `env`."""
        return env.watch_interval or self.health.watch_interval or DEFAULT_WATCH_INTERVAL


def _secrets_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("MMDASH_SECRETS_FILE") or SECRETS_PATH)


def settings_fingerprint(environ: Mapping[str, str] | None = None) -> str:
    """Changes whenever an MMDASH_ variable or the secrets file changes, so a running app can reload."""
    environ = os.environ if environ is None else environ
    path = _secrets_path(environ)
    try:
        stat = path.stat()
        file_part = f"{path}:{stat.st_mtime_ns}:{stat.st_size}"
    except OSError:
        file_part = f"{path}:absent"
    ours = sorted((k, v) for k, v in environ.items() if k.startswith(ENV_PREFIX))
    return hashlib.sha256(repr((file_part, ours)).encode()).hexdigest()


def load_settings(
    environ: Mapping[str, str] | None = None, secrets_path: Path | None = None
) -> Settings:
    """Read and validate settings; raise SettingsError naming every wrong setting."""
    environ = os.environ if environ is None else environ
    secrets_path = _secrets_path(environ) if secrets_path is None else secrets_path
    tree, origins = _read_secrets(secrets_path)
    _merge_environ(tree, origins, environ)
    return _validate(tree, origins)


def load_environment(name: str | None) -> tuple[Settings, EnvironmentSettings]:
    """The settings and one environment by name (the default one for None), for the command lines."""
    settings = load_settings()
    return settings, settings.environment(name or settings.default_environment)


def _read_secrets(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    if not path.is_file():
        return {}, {}
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SettingsError([f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{path}: malformed TOML: {exc}"]) from None
    tree: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    for key, value in (data.get("mmdash") or {}).items():
        tree[key] = value
        origins[(key,)] = f"{path} [mmdash] {key}"
    environments = data.get("environments") or {}
    if not isinstance(environments, dict):
        raise SettingsError([f"{path}: [environments] must be a table of named environments"])
    tree["environments"] = {}
    for env_name, env in environments.items():
        tree["environments"][env_name] = env
        _note_origins(origins, ("environments", env_name), env, f"{path} [environments.{env_name}]")
    tree["oidc_enabled"] = isinstance(data.get("auth"), dict)
    tree["oidc_secrets"] = dict(_auth_secrets(data.get("auth")))
    return tree, origins


def _auth_secrets(auth: Any, prefix: str = "auth") -> Iterator[tuple[str, str]]:
    """Streamlit's [auth] section is read by st.login itself; its secrets are kept here only so the support
    packet's leak gate knows them."""
    if not isinstance(auth, dict):
        return
    for key, value in auth.items():
        if isinstance(value, dict):
            yield from _auth_secrets(value, f"{prefix}.{key}")
        elif isinstance(value, str) and "secret" in key.lower() and value:
            yield f"{prefix}.{key}", value


def _note_origins(origins: dict, prefix: tuple[str, ...], value: Any, where: str) -> None:
    origins[prefix] = where
    if isinstance(value, dict):
        for key, child in value.items():
            _note_origins(origins, (*prefix, key), child, where)


def _merge_environ(tree: dict[str, Any], origins: dict, environ: Mapping[str, str]) -> None:
    environments = tree.setdefault("environments", {})
    for var, raw in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX):
            continue
        rest = var[len(ENV_PREFIX):]
        if rest in _NOT_SETTINGS:
            continue
        if rest in _GLOBAL_KEYS:
            tree[_GLOBAL_KEYS[rest]] = raw
            origins[(_GLOBAL_KEYS[rest],)] = var
            continue
        parts = rest.split("__")
        if len(parts) < 2 or not all(parts):
            continue  # not ours to judge: e.g. MMDASH_E2E_FOO used by tests
        if parts[0] == "HEALTH" and len(parts) == 2:
            tree.setdefault("health", {})[parts[1].lower()] = raw
            origins[("health", parts[1].lower())] = var
            continue
        env_name = parts[0].lower().replace("_", "-")
        path = tuple(p.lower() for p in parts[1:])
        value: Any = raw
        if path in _LIST_FIELDS:
            value = [item for item in raw.split(os.pathsep) if item]
        node = environments.setdefault(env_name, {})
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise SettingsError([f"{var}: {'.'.join(path[:-1])} is not a section"])
        node[path[-1]] = value
        origins[("environments", env_name, *path)] = var


def _validate(tree: dict[str, Any], origins: dict[tuple[str, ...], str]) -> Settings:
    environments: dict[str, Any] = tree.get("environments") or {}
    problems: list[str] = []
    for name, env in list(environments.items()):
        if name in _RESERVED_NAMES:
            problems.append(f"environment name {name!r} ({origins.get(('environments', name), 'settings')}): "
                            "is reserved for the watcher's settings ([mmdash.health]); choose another name")
        elif not _ENV_NAME.match(name):
            problems.append(
                f"environment name {name!r} ({origins.get(('environments', name), 'settings')}): "
                "use lower-case letters, digits and dashes, starting with a letter"
            )
        if not isinstance(env, dict):
            problems.append(f"environments.{name} must be a table")
            continue
        env.setdefault("name", name)
        env.setdefault("label", name.capitalize())
    if problems:
        raise SettingsError(problems)
    if not environments:
        environments = {
            name: {"name": name, "label": f"Demo {name}", "demo_scenario": scenario}
            for name, scenario in DEMO_ENVIRONMENTS.items()
        }
        tree["environments"] = environments
    tree.setdefault("default_environment", next(iter(environments)))
    try:
        settings = Settings.model_validate(tree)
    except ValidationError as exc:
        raise SettingsError([_describe(err, origins) for err in exc.errors()]) from None
    if settings.default_environment not in settings.environments:
        where = origins.get(("default_environment",), "default_environment")
        raise SettingsError(
            [f"default_environment ({where}): {settings.default_environment!r} is not one of "
             f"{', '.join(settings.environments)}"]
        )
    return settings


def _describe(error: Mapping[str, Any], origins: dict[tuple[str, ...], str]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    origin = next((origins[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in origins), None)
    setting = ".".join(loc)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required but not set"
    elif error["type"] == "extra_forbidden":
        message = "is not a known setting (check the spelling)"
    # The value is never echoed for secret-shaped fields, since a typo there would print a password.
    where = f" ({origin})" if origin else ""
    return f"{setting}{where}: {message}"


def env_var_name(env_name: str, *path: str) -> str:
    """The environment variable that sets `path` of environment `env_name` (for help texts)."""
    return ENV_PREFIX + "__".join([env_name.upper().replace("-", "_"), *(p.upper() for p in path)])
