"""The incidents feature running beside the pages: a service per environment for the HTTP endpoints, and the
message-forwarding workers.

Environments without a Mattermost URL or a service token cannot take slash commands or forward messages (there
is no signed-in admin to act as), so they are skipped with the reason logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from incidents.card_posts import CardKeeper, signer_for
from incidents.forwarding import Forwarder
from incidents.mattermost_api import MattermostApi, MattermostApiError
from incidents.playbooks import Playbook, load_playbooks_lenient
from incidents.service import IncidentService
from incidents.status_updates import REMIND_EVERY_S, remind_forever
from incidents.webhooks import WebhookSender
from settings import EnvironmentSettings, Settings
from store import Store

log = logging.getLogger(__name__)


class IncidentRuntime:
    def __init__(self, settings: Settings, store: Store,
                 effective: Callable[[EnvironmentSettings], EnvironmentSettings] = lambda env: env) -> None:
        self.settings = settings
        self.store = store
        self._effective = effective  # demo environments point at their embedded simulator
        self._services: dict[str, tuple[EnvironmentSettings, IncidentService]] = {}

    def _playbooks(self, env: EnvironmentSettings) -> dict[str, Playbook]:
        found, errors = load_playbooks_lenient(env.incidents.playbooks_dir)
        for error in errors:
            log.warning("playbook left out in %s: %s", env.name, error)
        return found

    def resolve(self, name: str) -> tuple[EnvironmentSettings, IncidentService] | None:
        """The settings and incident service of environment `name` (None when there is no such environment)."""
        if name not in self.settings.environments:
            return None
        if name not in self._services:
            env = self._effective(self.settings.environments[name])
            if env.mattermost is None:
                return None
            try:
                api = MattermostApi.from_settings(env.mattermost)
            except MattermostApiError as exc:
                log.warning("incidents in %s cannot act in Mattermost: %s", name, exc)
                return None
            cards = CardKeeper(self.store, api, env.name, signer=signer_for(self.settings),
                               dashboard_url=self.settings.health.dashboard_url)
            service = IncidentService(self.store, api, self._playbooks(env), env.name, webhooks=WebhookSender(),
                                      cards=cards)
            self._services[name] = (env, service)
        return self._services[name]

    async def run_forwarders(self, stop: asyncio.Event) -> None:
        """Forward messages in every environment that can, until `stop` is set."""
        workers = []
        for name in self.settings.environments:
            resolved = self.resolve(name)
            if resolved is None:
                log.info("no message forwarding in %s: no Mattermost URL or service token", name)
                continue
            env, service = resolved
            forwarder = Forwarder(service)
            workers.append(forwarder.run_forever(stop, env.incidents.forward_every_seconds))
        await asyncio.gather(*workers)

    async def run_reminders(self, stop: asyncio.Event) -> None:
        """Remind commanders of due status updates in every environment that can, every minute until `stop`."""
        workers = []
        for name in self.settings.environments:
            resolved = self.resolve(name)
            if resolved is None:
                log.info("no status update reminders in %s: no Mattermost URL or service token", name)
                continue
            workers.append(remind_forever(resolved[1], stop, REMIND_EVERY_S))
        await asyncio.gather(*workers)

    async def close(self) -> None:
        for _, service in self._services.values():
            with contextlib.suppress(Exception):
                await service.api.aclose()
