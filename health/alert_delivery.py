"""Posting an alert to Mattermost: as a bot (a token and "team/channel") or through an incoming webhook.

Each attempt ends in one of three outcomes the outbox acts on: SENT (with the post's id), RETRY (Mattermost did
not answer usefully: down, timeout, 5xx, 429; the same post may work in a moment) or REFUSED (Mattermost said
no: unknown channel or webhook, a bot without permission, a bad token; a person must fix the settings, and the
error says what, naming the channel and the bot but never the token or the webhook URL's secret path).

Bot posts carry a `pending_post_id` derived from the outbox keys they cover, so a retry after a lost answer
is answered with the post already made (app/post.go deduplicateCreatePost, within pendingPostIDsCacheTTL,
30 s). Incoming webhooks take no such id: a retry after a lost answer can post twice, and the outbox keys in the
post's props let such duplicates be counted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx

from collectors.http_errors import describe_transport_error
from collectors.runner import tls_for
from health.alerts import AlertPost
from settings import EnvironmentSettings, MattermostSettings

SERVICE = "Mattermost"
DEFAULT_TIMEOUT_S = 10.0
PENDING_POST_ID_LENGTH = 26  # the length of Mattermost's own ids; the server stores no pending id, any will do
_channel_ids: dict[tuple[str, str], str] = {}  # (server URL, "team/channel") -> channel id, for the process


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    REFUSED = "refused"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    post_id: str | None = None  # Mattermost's post id; for a webhook (which answers only "ok") a delivery id
    error: str | None = None  # a sentence a person can act on, when not SENT


class AlertSender(Protocol):
    async def send(self, post: AlertPost) -> Delivery: ...


def pending_post_id(keys: tuple[str, ...] | list[str], channel_id: str = "") -> str:
    """The same outbox keys to the same channel give the same id, so Mattermost deduplicates a retried post.
    The channel is part of it because Mattermost's cache is server-wide: another dashboard sending the same
    environment's run to another channel must not be answered with this post."""
    return hashlib.sha256("\n".join([channel_id, *keys]).encode()).hexdigest()[:PENDING_POST_ID_LENGTH]


def sender_for(env: EnvironmentSettings) -> AlertSender | None:
    """How `env`'s alerts are posted, or None when alerts are not configured. A webhook, when set, wins: it names
    its own channel. Settings that cannot work give a sender that refuses with the reason."""
    alerts = env.alerts
    if alerts.webhook_url is not None:
        return WebhookSender(alerts.webhook_url.get_secret_value(), env.mattermost)
    if alerts.channel is None:
        return None
    token = alerts.bot_token or (env.mattermost.token if env.mattermost else None)
    mattermost = env.mattermost
    if alerts.url is not None:  # a central chat server: the watched one's TLS and timeout settings still apply
        mattermost = (mattermost.model_copy(update={"url": alerts.url, "token": None}) if mattermost is not None
                      else MattermostSettings(url=alerts.url))
    if mattermost is None or token is None:
        return Misconfigured(f"Alerts for {env.name} go to ~{alerts.channel}, but no Mattermost URL and token are "
                             "configured to post with: set mattermost.url and alerts.bot_token (or mattermost.token), "
                             "or alerts.webhook_url.")
    return BotSender(mattermost, alerts.channel, token.get_secret_value())


@dataclass(frozen=True)
class Misconfigured:
    reason: str

    async def send(self, post: AlertPost) -> Delivery:
        return Delivery(Outcome.REFUSED, error=self.reason)


class _Failed(Exception):
    def __init__(self, delivery: Delivery) -> None:
        super().__init__(delivery.error)
        self.delivery = delivery


def _retry(sentence: str) -> _Failed:
    return _Failed(Delivery(Outcome.RETRY, error=sentence))


def _refused(sentence: str) -> _Failed:
    return _Failed(Delivery(Outcome.REFUSED, error=sentence))


def _answer(response: httpx.Response) -> tuple[str, str]:
    """Mattermost's error id and message, when the body is its AppError."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("id") or ""), str(body.get("message") or "")


def _unusable(response: httpx.Response, where: str, what: str) -> _Failed | None:
    """The failures every call shares: a server in trouble (retry) or a rejected token (refused)."""
    status = response.status_code
    if status == 429 or (status >= 500 and status != 501):
        return _retry(f"{SERVICE} at {where} answered {status} when asked to {what}: it is down, overloaded or "
                      "restarting; the alerts wait and are posted once it answers again.")
    return None


class BotSender:
    """Posts with a bot's (or any user's) token to the channel named "team/channel"."""

    def __init__(self, mattermost: MattermostSettings, channel: str, token: str, *,
                 client: httpx.AsyncClient | None = None) -> None:
        self.base_url = mattermost.url.rstrip("/")
        self.channel = channel
        self.team_name, _, self.channel_name = channel.partition("/")
        self.timeout = mattermost.timeout_seconds
        self._settings = mattermost
        self._token = token
        self._client = client

    async def send(self, post: AlertPost) -> Delivery:
        client = self._client or httpx.AsyncClient(verify=tls_for(self._settings), timeout=self.timeout,
                                                   follow_redirects=False)
        try:
            channel_id = await self._channel_id(client)
            response = await self._call(client, "POST", "/posts", "post the alert", json={
                "channel_id": channel_id, "message": post.message, "props": post.props,
                "pending_post_id": pending_post_id(post.keys, channel_id)})
            if response.status_code in (403, 404):
                _channel_ids.pop((self.base_url, self.channel), None)  # the channel may have moved; look it up again
                raise _refused(await self._cannot_post(client, response))
            self._check(response, "post the alert")
            try:
                post_id = str(json.loads(response.content)["id"])
            except (ValueError, KeyError, TypeError):
                # Mattermost may have made the post: a retry with the same pending_post_id is deduplicated.
                raise _retry(f"{SERVICE} at {self.base_url} answered the alert post with a body that is not a "
                             "post; a proxy may be cutting responses. Trying again.") from None
        except _Failed as failed:
            return failed.delivery
        finally:
            if self._client is None:
                await client.aclose()
        return Delivery(Outcome.SENT, post_id=post_id)

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, what: str,
                    **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "X-Requested-With": "XMLHttpRequest"}
        try:
            response = await client.request(method, f"{self.base_url}/api/v4{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise _retry(f"Could not {what}: "
                         + describe_transport_error(exc, SERVICE, self.base_url, self.timeout)) from None
        unusable = _unusable(response, self.base_url, what)
        if unusable is not None:
            raise unusable
        if response.status_code == 401:
            raise _refused(f"{SERVICE} at {self.base_url} rejected the alert bot's token (401) for ~{self.channel}: "
                           "the token in alerts.bot_token (or mattermost.token) is wrong, expired or revoked; "
                           "create a new bot or personal access token and configure it.")
        return response

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code >= 400:
            error_id, message = _answer(response)
            raise _refused(f"{SERVICE} at {self.base_url} refused to {what} in ~{self.channel} "
                           f"({response.status_code} {error_id or 'error'}: {message or 'no reason given'}); "
                           "check alerts.channel and the bot's permissions.")

    async def _channel_id(self, client: httpx.AsyncClient) -> str:
        cached = _channel_ids.get((self.base_url, self.channel))
        if cached:
            return cached
        team_id = await self._found_id(
            client, f"/teams/name/{quote(self.team_name, safe='')}", f"find team {self.team_name!r}",
            lambda bot, status: f"The alert channel ~{self.channel} cannot be used: {SERVICE} at {self.base_url} has "
                                f"no team named {self.team_name!r} that the alert bot {bot} may see ({status}). Check "
                                "the team's name in alerts.channel (the name in its URL, not its display name) and "
                                "add the bot to that team.")
        channel_id = await self._found_id(
            client, f"/teams/{team_id}/channels/name/{quote(self.channel_name, safe='')}",
            f"find channel {self.channel_name!r}",
            lambda bot, status: f"The alert channel ~{self.channel} cannot be used: team {self.team_name!r} has no "
                                f"channel named {self.channel_name!r} that the alert bot {bot} may see ({status}). "
                                "Check the channel's name in alerts.channel (the name in its URL), or for a private "
                                "channel add the bot to it.")
        _channel_ids[(self.base_url, self.channel)] = channel_id
        return channel_id

    async def _found_id(self, client: httpx.AsyncClient, path: str, what: str,
                        missing: Callable[[str, int], str]) -> str:
        """The id of the team or channel at `path`; `missing(bot, status)` says what to fix when the bot cannot see
        it (Mattermost answers 403 or 404 alike for "none" and "not yours")."""
        response = await self._call(client, "GET", path, what)
        if response.status_code in (403, 404):
            raise _refused(missing(await self._bot_name(client), response.status_code))
        self._check(response, what)
        return str(response.json()["id"])

    async def _cannot_post(self, client: httpx.AsyncClient, response: httpx.Response) -> str:
        error_id, message = _answer(response)
        bot = await self._bot_name(client)
        return (f"The alert bot {bot} may not post in ~{self.channel} ({response.status_code} {error_id}: "
                f"{message}): add the bot to the channel (and for an archived channel, restore it or choose "
                "another in alerts.channel).")

    async def _bot_name(self, client: httpx.AsyncClient) -> str:
        """The token's user, so the sentence names whom to add; best effort, a failure leaves it unnamed."""
        try:
            response = await client.get(f"{self.base_url}/api/v4/users/me",
                                        headers={"Authorization": f"Bearer {self._token}"})
            return f"@{response.json()['username']}" if response.status_code == 200 else "(its token's user)"
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return "(its token's user)"


class WebhookSender:
    """Posts through an incoming webhook: the URL is the credential, so only its host is ever shown."""

    def __init__(self, url: str, mattermost: MattermostSettings | None = None, *,
                 client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        parts = urlsplit(url)
        self.where = f"{parts.scheme}://{parts.netloc}"
        self.timeout = mattermost.timeout_seconds if mattermost else DEFAULT_TIMEOUT_S
        self._settings = mattermost
        self._client = client

    async def send(self, post: AlertPost) -> Delivery:
        verify = tls_for(self._settings) if self._settings is not None else True
        client = self._client or httpx.AsyncClient(verify=verify, timeout=self.timeout, follow_redirects=False)
        try:
            response = await client.post(self._url, json={"text": post.message, "props": post.props})
        except httpx.HTTPError as exc:
            # The origin only: describe_transport_error may quote the URL it is given.
            return Delivery(Outcome.RETRY, error="Could not post the alert through the incoming webhook: "
                            + describe_transport_error(exc, SERVICE, self.where, self.timeout))
        finally:
            if self._client is None:
                await client.aclose()
        unusable = _unusable(response, self.where, "post the alert through the incoming webhook")
        if unusable is not None:
            return unusable.delivery
        if response.status_code >= 400:
            return Delivery(Outcome.REFUSED, error=self._refusal(response))
        # The webhook answers only "ok"; the delivery id stands in for the post id (one id per post made).
        return Delivery(Outcome.SENT, post_id=f"webhook:{pending_post_id(post.keys)}")

    def _refusal(self, response: httpx.Response) -> str:
        error_id, message = _answer(response)
        said = f"({response.status_code} {error_id or 'error'}: {message or 'no reason given'})"
        if error_id == "web.incoming_webhook.invalid.app_error" or response.status_code == 404:
            return (f"{SERVICE} at {self.where} does not know the incoming webhook in alerts.webhook_url {said}: it "
                    "may have been deleted; create one (Integrations > Incoming Webhooks) and configure its URL.")
        if response.status_code == 403:
            return (f"The incoming webhook in alerts.webhook_url may not post to its channel on {self.where} {said}: "
                    "its creator must be a member of that channel, or create the webhook for another channel.")
        if response.status_code == 501:
            return (f"Incoming webhooks are disabled on {self.where} {said}: enable them in the System Console "
                    "(Integrations > Integration Management), or post as a bot with alerts.channel instead.")
        return f"{SERVICE} at {self.where} refused the alert posted through the incoming webhook {said}."
