"""Keeps each incident's card post in step with the incident: posted and pinned at the start, redrawn after every
change, recreated when someone deleted it, caught up after Mattermost was down.

Which post is the card, and the incident version it last showed, is a store document (kind "incident_card"), so
a restart or another replica knows it too. A redraw always draws the newest saved incident, one at a time per
incident, so two changes close together never leave the older one on screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

from incidents import repository
from incidents.card import ContextSigner, build_card
from incidents.mattermost_api import MattermostApi, MattermostApiError, MattermostDown
from incidents.models import Incident
from settings import Settings
from store import ConflictError, Document, Store, StoreError

log = logging.getLogger(__name__)

CARD_KIND = "incident_card"
CARD_PATH = "/hooks/incidents/{environment}/card"
DIALOG_PATH = "/hooks/incidents/{environment}/dialog"
USERNAME_CACHE_MAX = 5000

# Set while a click on the incident's card is answered: the answer carries the redrawn card, so the service does
# not redraw it a second time.
answering_click: ContextVar[str | None] = ContextVar("answering_click", default=None)

_process_secret = secrets.token_bytes(32)
_warned = False


def signer_for(settings: Settings) -> ContextSigner:
    """The signer under the dashboard's session_key; without one, under a key made at start (logged once): the
    cards then refuse their buttons after a restart, redraw themselves, and work again from the next click."""
    global _warned
    if settings.session_key is not None:
        return ContextSigner(settings.session_key.get_secret_value().encode())
    if not _warned and settings.health.dashboard_url:  # without it cards have no buttons and no form opens
        _warned = True
        log.warning("MMDASH_SESSION_KEY is not set: incident card buttons are signed with a key made at start, so "
                    "after a restart each card's first click redraws it instead of acting, and replicas do not "
                    "accept each other's cards")
    return ContextSigner(_process_secret)


def hook_url(dashboard_url: str | None, path: str, environment: str) -> str | None:
    """Where Mattermost sends the card's clicks or a dialog's submission; None without the dashboard's address."""
    if not dashboard_url:
        return None
    return dashboard_url.rstrip("/") + path.format(environment=quote(environment, safe=""))


class CardKeeper:
    def __init__(self, store: Store, api: MattermostApi, environment: str, *, signer: ContextSigner,
                 dashboard_url: str | None) -> None:
        self.store = store
        self.api = api
        self.environment = environment
        self.signer = signer
        self.card_url = hook_url(dashboard_url, CARD_PATH, environment)
        self.dialog_url = hook_url(dashboard_url, DIALOG_PATH, environment)
        self._usernames: dict[str, str] = {}
        self._locks: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    def lock(self, incident_id: str) -> asyncio.Lock:
        """One drawing at a time per incident (a click's answer and a redraw alike). A lock belongs to one event
        loop, and Streamlit runs each action in a new one: a lock from an earlier loop is replaced."""
        loop = asyncio.get_running_loop()
        held = self._locks.get(incident_id)
        if held is None or held[0] is not loop:
            held = (loop, asyncio.Lock())
            self._locks[incident_id] = held
        return held[1]

    # -- drawing ---------------------------------------------------------------------------------------------

    async def draw(self, incident: Incident, note: str = "") -> dict[str, Any]:
        """The card of this incident as a post's message and props."""
        names = await self.usernames([incident.commander_id, incident.ended_by or ""])
        return build_card(incident, signer=self.signer, url=self.card_url, usernames=names, note=note)

    async def usernames(self, user_ids: list[str]) -> Mapping[str, str]:
        wanted = sorted({u for u in user_ids if u and u not in self._usernames})
        if wanted:
            with contextlib.suppress(MattermostApiError):  # unknown names are shown as ids
                for user in await self.api.users_by_ids(wanted):
                    if len(self._usernames) >= USERNAME_CACHE_MAX:
                        self._usernames.clear()
                    self._usernames[user["id"]] = user["username"]
        return self._usernames

    def forget_username(self, user_id: str) -> None:
        self._usernames.pop(user_id, None)

    # -- the card post ---------------------------------------------------------------------------------------

    def card(self, incident_id: str) -> dict[str, Any] | None:
        document = self.card_document(incident_id)
        return document.body if document else None

    def card_document(self, incident_id: str) -> Document | None:
        return self.store.get(CARD_KIND, incident_id, self.environment)

    async def publish(self, incident: Incident) -> None:
        """Post and pin the card of a new incident; Mattermost down leaves it to ``catch_up``."""
        async with self.lock(incident.id):
            try:
                await self._post_new(incident)
            except MattermostApiError as exc:
                log.warning("incident %s: its card will be posted when Mattermost takes it: %s", incident.id, exc)

    async def redraw(self, incident_id: str) -> bool:
        """Show the newest saved state on the card (a new card if it was deleted); False when Mattermost did not
        take it (the card catches up later)."""
        async with self.lock(incident_id):
            incident = repository.load(self.store, self.environment, incident_id)
            if incident is None:
                return True
            card = self.card(incident_id)
            if card is not None and card.get("drawn_version") == incident.version:
                return True
            try:
                if card is None:
                    await self._post_new(incident)
                    return True
                drawn = await self.draw(incident)
                try:
                    await self.api.patch_post(card["post_id"], drawn["message"], drawn["props"])
                except MattermostApiError as exc:
                    # Mattermost refuses to edit a deleted post as if it were not allowed (postPatchChecks).
                    if isinstance(exc, MattermostDown) or exc.status not in (403, 404) or \
                            not await self._deleted(card["post_id"]):
                        raise
                    log.info("incident %s: its card was deleted; posting a new one", incident_id)
                    await self._post_new(incident)
                    return True
                self.shown(incident, card["post_id"])
                return True
            except MattermostApiError as exc:
                log.warning("incident %s: its card shows version %s until Mattermost takes the redraw: %s",
                            incident_id, (card or {}).get("drawn_version"), exc)
                return False

    async def catch_up(self) -> int:
        """Redraw every card showing an older version than its incident's (after Mattermost was down, or a
        change made by another replica); answers how many were redrawn."""
        cards = {d.key: d.body for d in self.store.list(CARD_KIND, self.environment)}
        redrawn = 0
        for incident in repository.list_incidents(self.store, self.environment):
            card = cards.get(incident.id)
            behind = incident.active if card is None else card.get("drawn_version") != incident.version
            if behind:
                if not await self.redraw(incident.id):
                    break  # Mattermost is still down: try the rest next time
                redrawn += 1
        return redrawn

    async def _deleted(self, post_id: str) -> bool:
        try:
            await self.api.post(post_id)
        except MattermostApiError as exc:
            return exc.status == 404 and not isinstance(exc, MattermostDown)
        return False

    async def _post_new(self, incident: Incident) -> None:
        drawn = await self.draw(incident)
        post = await self.api.create_post(incident.channel_id, drawn["message"], drawn["props"])
        try:
            await self.api.pin_post(post["id"])
        except MattermostDown:
            raise
        except MattermostApiError as exc:  # an unpinned card still works
            log.warning("incident %s: its card could not be pinned: %s", incident.id, exc)
        self.shown(incident, post["id"])

    def shown(self, incident: Incident, post_id: str, *, known: Document | None = None) -> None:
        """Record that the card post shows this version (never moving back to an older one); ``known`` is the card
        document as just read, which saves reading it again (a changed one is read again on the conflict)."""
        for attempt in range(3):
            document = known if attempt == 0 and known is not None else self.card_document(incident.id)
            if document is not None and document.body.get("post_id") == post_id and \
                    int(document.body.get("drawn_version") or 0) >= (incident.version or 0):
                return
            body = {"post_id": post_id, "channel_id": incident.channel_id, "drawn_version": incident.version}
            try:
                self.store.put(CARD_KIND, incident.id, self.environment, body, actor="system",
                               expected_version=document.version if document else None, audit=False)
                return
            except ConflictError:
                continue
            except StoreError as exc:
                log.warning("incident %s: could not record which card version is shown: %s", incident.id, exc)
                return
