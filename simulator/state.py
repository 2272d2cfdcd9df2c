"""Everything one running simulator knows: its scenario, derived config, credentials, sessions and faults."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from simulator import messaging, playbook_runs
from simulator.auth import SessionStore
from simulator.faults import Faults
from simulator.model import Scenario
from simulator.sanitize import sanitize_config
from simulator.server_config import build_config, client_config, client_config_hash
from simulator.trigger_ids import TriggerIds


@dataclass(frozen=True)
class Credentials:
    """Random per start: a test double reachable on loopback still should not have well-known secrets."""

    admin_username: str
    admin_email: str
    admin_password: str
    admin_token: str
    user_username: str
    user_email: str
    user_password: str
    user_token: str


class SimulatorState:
    def __init__(self, scenario: Scenario, faults: Faults) -> None:
        self.scenario = scenario
        self.faults = faults
        self.config: dict[str, Any] = build_config(scenario)
        self.sanitized_config = sanitize_config(self.config, scenario.plugins)
        self.client_config = client_config(scenario, self.config, logged_in=True)
        self.limited_client_config = client_config(scenario, self.config, logged_in=False)
        licensed = "true" if scenario.license is not None else "false"
        b = scenario.build
        self.version_id = f"{b.version}.{b.build_number}.{client_config_hash(scenario, self.config)}.{licensed}"
        admin, user = scenario.admin, scenario.user
        self.credentials = Credentials(
            admin_username=admin.username,
            admin_email=admin.email,
            admin_password=secrets.token_urlsafe(12),
            admin_token=secrets.token_urlsafe(24),
            user_username=user.username,
            user_email=user.email,
            user_password=secrets.token_urlsafe(12),
            user_token=secrets.token_urlsafe(24),
        )
        # Every account can log in; only the admin and the user have passwords anyone is told.
        self.passwords = {a.id: secrets.token_urlsafe(12) for a in scenario.accounts}
        self.passwords[admin.id] = self.credentials.admin_password
        self.passwords[user.id] = self.credentials.user_password
        self.sessions = SessionStore()
        self.sessions.add(self.credentials.admin_token, admin)
        self.sessions.add(self.credentials.user_token, user)
        self.messaging = messaging.seeded(scenario)
        # HTTP clients for calls to integrations, by event loop and TLS choice (see api/integrations.py).
        self.outgoing_clients: dict[tuple[int, bool], Any] = {}
        self.playbooks = playbook_runs.seeded(scenario, self.messaging)
        self.trigger_ids = TriggerIds()  # the asymmetric signing key: new on every start

    def outgoing_timeout_s(self) -> float:
        """ServiceSettings.OutgoingIntegrationRequestsTimeout (upstream's default: 30 s): the timeout of calls to
        integrations and the lifetime of a trigger id."""
        return float(self.config["ServiceSettings"].get("OutgoingIntegrationRequestsTimeout", 30))

    def patch_config(self, patch: dict[str, Any]) -> None:
        """Apply a partial config, as PUT /config/patch does (masked secrets in the patch keep the old value)."""
        _merge(self.config, patch)
        self.sanitized_config = sanitize_config(self.config, self.scenario.plugins)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value != "********************************":
            target[key] = value
