"""The few Mattermost REST v4 calls incidents need: channels, members, posts and user lookups.

Every failure becomes one exception whose message is a sentence: MattermostApiError for an answer Mattermost gave
(with its status and error id, so callers can tell "not found" from "not allowed"), MattermostDown when Mattermost
did not answer usefully at all (no connection, timeout, 5xx, garbled JSON) and trying again later may work.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import httpx

from collectors.http_errors import describe_transport_error
from collectors.runner import tls_for
from settings import MattermostSettings

SERVICE = "Mattermost"
SINCE_PAGE_LIMIT = 1000  # the most posts Mattermost answers to one `since` query


class MattermostApiError(Exception):
    """Mattermost answered, but refused or could not find what was asked."""

    def __init__(self, sentence: str, *, status: int | None = None, error_id: str = "") -> None:
        super().__init__(sentence)
        self.status = status
        self.error_id = error_id
        self.sentence = sentence


class MattermostDown(MattermostApiError):
    """No usable answer (transport error, timeout, 5xx, broken body): the same call may work later."""


class MattermostApi:
    """An async client for /api/v4 acting with one token (a service account's or a signed-in admin's)."""

    def __init__(self, base_url: str, token: str, *, verify: bool | ssl.SSLContext = True,
                 timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._verify = verify
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, settings: MattermostSettings, token: str | None = None) -> MattermostApi:
        """A client for an environment's Mattermost, with `token` or else the environment's own token."""
        chosen = token or (settings.token.get_secret_value() if settings.token else None)
        if not chosen:
            raise MattermostApiError(f"No Mattermost token is configured for {settings.url}: set mattermost.token "
                                     "to a personal access token, or sign in.")
        return cls(settings.url, chosen, verify=tls_for(settings), timeout=settings.timeout_seconds)

    async def __aenter__(self) -> MattermostApi:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        # A client's connections belong to the event loop that opened them; Streamlit runs each action in a new
        # loop, so a client from an earlier loop is dropped rather than reused.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(verify=self._verify, timeout=httpx.Timeout(self.timeout),
                                             follow_redirects=False)
            self._loop = loop
        return self._client

    async def _call(self, method: str, path: str, *, what: str, body: Any = None,
                    params: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                   "X-Requested-With": "XMLHttpRequest"}
        try:
            response = await self._http().request(method, f"{self.base_url}/api/v4{path}", json=body,
                                                  params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise MattermostDown(f"Could not {what}: "
                                 + describe_transport_error(exc, SERVICE, self.base_url, self.timeout)) from None
        if response.status_code >= 400:
            raise _status_error(response, what)
        try:
            return json.loads(response.content)
        except ValueError:
            raise MattermostDown(f"Could not {what}: Mattermost answered {path} with malformed JSON; a proxy in "
                                 "front of Mattermost may be cutting responses.", status=response.status_code) from None

    # -- users and teams -----------------------------------------------------------------------------------

    async def me(self) -> dict[str, Any]:
        return await self._call("GET", "/users/me", what="read the signed-in user")

    async def user(self, user_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/users/{user_id}", what=f"read user {user_id}")

    async def user_by_username(self, username: str) -> dict[str, Any]:
        name = username.removeprefix("@")
        return await self._call("GET", f"/users/username/{name}", what=f"find user @{name}")

    async def users_by_ids(self, user_ids: list[str]) -> list[dict[str, Any]]:
        if not user_ids:
            return []
        return await self._call("POST", "/users/ids", body=sorted(set(user_ids)), what="read users")

    async def team_by_name(self, name: str) -> dict[str, Any]:
        return await self._call("GET", f"/teams/name/{name}", what=f"find team {name!r}")

    async def teams(self) -> list[dict[str, Any]]:
        """The teams the token may list (all of them for a system admin), by display name."""
        teams = await self._call("GET", "/teams", what="list teams", params={"per_page": 200})
        return sorted(teams, key=lambda team: team["display_name"].lower())

    async def team(self, team_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/teams/{team_id}", what=f"read team {team_id}")

    async def is_team_member(self, team_id: str, user_id: str) -> bool:
        return await self._member(f"/teams/{team_id}/members/{user_id}", what="check team membership")

    # -- channels ------------------------------------------------------------------------------------------

    async def create_channel(self, team_id: str, name: str, display_name: str, private: bool = True,
                             purpose: str = "") -> dict[str, Any]:
        body = {"team_id": team_id, "name": name, "display_name": display_name, "type": "P" if private else "O",
                "purpose": purpose}
        return await self._call("POST", "/channels", body=body, what=f"create channel {name!r}")

    async def channel(self, channel_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/channels/{channel_id}", what=f"read channel {channel_id}")

    async def channel_by_name(self, team_id: str, name: str) -> dict[str, Any]:
        return await self._call("GET", f"/teams/{team_id}/channels/name/{name}", what=f"find channel {name!r}")

    async def archive_channel(self, channel_id: str) -> None:
        await self._call("DELETE", f"/channels/{channel_id}", what=f"archive channel {channel_id}")

    async def add_member(self, channel_id: str, user_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/channels/{channel_id}/members", body={"user_id": user_id},
                                what="add a member to the channel")

    async def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        return await self._member(f"/channels/{channel_id}/members/{user_id}", what="check channel membership")

    async def _member(self, path: str, *, what: str) -> bool:
        try:
            await self._call("GET", path, what=what)
        except MattermostApiError as exc:
            if exc.status == 404 and not isinstance(exc, MattermostDown):
                return False
            raise
        return True

    # -- posts ---------------------------------------------------------------------------------------------

    async def create_post(self, channel_id: str, message: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"channel_id": channel_id, "message": message, "props": props or {}}
        return await self._call("POST", "/posts", body=body, what="post in the channel")

    async def patch_post(self, post_id: str, message: str, props: dict[str, Any]) -> dict[str, Any]:
        """PUT /posts/{id}/patch: what is given replaces the post's message and props (PostPatch)."""
        return await self._call("PUT", f"/posts/{post_id}/patch", body={"message": message, "props": props},
                                what=f"update post {post_id}")

    async def pin_post(self, post_id: str) -> None:
        await self._call("POST", f"/posts/{post_id}/pin", what=f"pin post {post_id}")

    async def open_dialog(self, trigger_id: str, url: str, dialog: dict[str, Any]) -> None:
        """POST /actions/dialogs/open (OpenDialogRequest): Mattermost shows the dialog to whoever the trigger id
        was made for, and later POSTs the SubmitDialogRequest to `url`."""
        await self._call("POST", "/actions/dialogs/open", body={"trigger_id": trigger_id, "url": url,
                                                                "dialog": dialog}, what="open a dialog")

    async def post(self, post_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/posts/{post_id}", what=f"read post {post_id}")

    async def posts_since(self, channel_id: str, since_ms: int) -> list[dict[str, Any]]:
        """Posts created or edited after `since_ms`, oldest first; asks again while answers come back full."""
        found: dict[str, dict[str, Any]] = {}
        since = since_ms
        while True:
            # Mattermost reads since=0 as "no since" and would answer only the newest page.
            page = await self._call("GET", f"/channels/{channel_id}/posts", params={"since": max(since, 1)},
                                    what="read the channel's posts")
            posts = list((page.get("posts") or {}).values())
            fresh = [p for p in posts if p["id"] not in found]
            found.update((p["id"], p) for p in posts)
            if len(posts) < SINCE_PAGE_LIMIT or not fresh:
                break
            since = max(int(p.get("update_at") or 0) for p in posts)
        return sorted(found.values(), key=lambda p: (p.get("create_at", 0), p["id"]))

    def permalink(self, team_name: str, post_id: str) -> str:
        return f"{self.base_url}/{team_name}/pl/{post_id}"

    def channel_url(self, team_name: str, channel_name: str) -> str:
        return f"{self.base_url}/{team_name}/channels/{channel_name}"


def _status_error(response: httpx.Response, what: str) -> MattermostApiError:
    error_id, message = "", response.reason_phrase or "no details"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error_id = str(body.get("id") or "")
        message = str(body.get("message") or message).rstrip(".")
    code = response.status_code
    if code >= 500:
        return MattermostDown(f"Could not {what}: Mattermost answered HTTP {code} ({message}); check the Mattermost "
                              "server log, and try again when it is back.", status=code, error_id=error_id)
    if code == 401:
        sentence = (f"Could not {what}: Mattermost rejected the token (HTTP 401: {message}); it is wrong, expired "
                    "or revoked.")
    elif code == 403:
        sentence = f"Could not {what}: the token's user is not allowed to (HTTP 403: {message})."
    else:
        sentence = f"Could not {what}: Mattermost answered HTTP {code} ({message})."
    return MattermostApiError(sentence, status=code, error_id=error_id)
