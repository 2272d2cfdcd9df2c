"""Incoming webhooks and pending_post_id deduplication, as upstream Mattermost does them.

Hooks follow server/channels/api4/webhook.go (createIncomingHook), server/public/model/incoming_webhook.go
(IncomingWebhook, IncomingWebhookRequest), server/channels/web/webhook.go (incomingWebhook: JSON or form field
`payload`, answered "ok" as text/plain) and server/channels/app/webhook.go (HandleIncomingWebhook,
CreateWebhookPost); deduplication follows server/channels/app/post.go (deduplicateCreatePost,
pendingPostIDsCacheTTL = 30 s).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from simulator import RunningSimulator, messaging
from simulator.api.posts import MESSAGE_MAX_RUNES
from tests.simulator.conftest import client_for
from tests.simulator.test_api_channels import by_name, create, error_id, team_ids
from tests.simulator.test_openapi_contract import check, component_ref


def make_hook(client: httpx.Client, channel_id: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/hooks/incoming", json={"channel_id": channel_id, "display_name": "Alerts", **extra})
    return check(response, 201, component_ref("IncomingWebhook"))


def send(sim: RunningSimulator, hook_id: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{sim.url}/hooks/{hook_id}", timeout=5.0, **kwargs)


def newest(client: httpx.Client, channel_id: str, count: int = 1) -> list[dict[str, Any]]:
    listed = client.get(f"/channels/{channel_id}/posts", params={"per_page": count}).json()
    return [listed["posts"][post_id] for post_id in listed["order"]]


def test_an_admin_creates_a_hook_for_a_channel(simulator: RunningSimulator, admin: httpx.Client,
                                               user: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    channel = create(admin, first)
    hook = make_hook(admin, channel["id"], description="health alerts", username="ignored")
    assert (hook["channel_id"], hook["team_id"], hook["user_id"]) == (channel["id"], first, simulator.model.admin.id)
    assert len(hook["id"]) == 26 and hook["create_at"] == hook["update_at"] > 0 and hook["delete_at"] == 0
    assert (hook["display_name"], hook["description"]) == ("Alerts", "health alerts")
    assert hook["username"] == ""  # EnablePostUsernameOverride is off, so the server drops it
    assert hook["channel_locked"] is False
    # A plain user lacks manage_own_incoming_webhooks; an unknown channel is not found; a bad body is refused.
    assert error_id(user.post("/hooks/incoming", json={"channel_id": channel["id"]}), 403) == \
        "api.context.permissions.app_error"
    assert error_id(admin.post("/hooks/incoming", json={"channel_id": "y" * 26}), 404) == \
        "app.channel.get.existing.app_error"
    assert error_id(admin.post("/hooks/incoming", content=b"{"), 400) == "api.context.invalid_body_param.app_error"
    assert error_id(admin.post("/hooks/incoming", json={"channel_id": channel["id"], "display_name": "x" * 65}),
                    400) == "model.incoming_hook.display_name.app_error"


def test_a_hook_posts_as_its_creator_with_from_webhook(simulator: RunningSimulator, admin: httpx.Client) -> None:
    channel = create(admin, team_ids(simulator)[0])
    hook = make_hook(admin, channel["id"])
    response = send(simulator, hook["id"], json={
        "text": "disk at 91 %", "props": {"mmdash_alert_keys": ["a/1"], "from_webhook": "false"}})
    assert response.status_code == 200 and response.text == "ok"
    assert response.headers["content-type"] == "text/plain"
    [post] = newest(admin, channel["id"])
    assert (post["message"], post["user_id"]) == ("disk at 91 %", simulator.model.admin.id)
    assert post["props"] == {"mmdash_alert_keys": ["a/1"], "from_webhook": "true", "webhook_display_name": "Alerts"}


def test_a_form_payload_is_read_too(simulator: RunningSimulator, admin: httpx.Client) -> None:
    channel = create(admin, team_ids(simulator)[0])
    hook = make_hook(admin, channel["id"])
    response = send(simulator, hook["id"], data={"payload": json.dumps({"text": "from a form"})})
    assert response.text == "ok" and newest(admin, channel["id"])[0]["message"] == "from a form"


def test_bad_requests_get_mattermosts_errors(simulator: RunningSimulator, admin: httpx.Client) -> None:
    channel = create(admin, team_ids(simulator)[0])
    hook = make_hook(admin, channel["id"])
    assert error_id(send(simulator, "q" * 26, json={"text": "hi"}), 400) == "web.incoming_webhook.invalid.app_error"
    assert error_id(send(simulator, hook["id"], json={"props": {}}), 400) == "web.incoming_webhook.text.app_error"
    assert error_id(send(simulator, hook["id"], content=b"{not json", headers={"content-type": "application/json"}),
                    400) == "model.incoming_hook.parse_data.app_error"
    assert error_id(send(simulator, hook["id"], json={"text": "hi", "channel": "no-such-channel"}), 404) == \
        "web.incoming_webhook.channel.app_error"
    assert newest(admin, channel["id"]) == []


def test_only_an_unlocked_hook_may_post_elsewhere(simulator: RunningSimulator, admin: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    home, other = create(admin, first), create(admin, first)
    unlocked, locked = make_hook(admin, home["id"]), make_hook(admin, home["id"], channel_locked=True)
    assert send(simulator, unlocked["id"], json={"text": "moved", "channel": other["name"]}).text == "ok"
    assert newest(admin, other["id"])[0]["message"] == "moved"
    assert error_id(send(simulator, locked["id"], json={"text": "moved", "channel": other["name"]}), 403) == \
        "web.incoming_webhook.channel_locked.app_error"


def test_a_private_channel_needs_the_creator_as_member(simulator: RunningSimulator, admin: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    home = create(admin, first)
    hook = make_hook(admin, home["id"])
    leads = by_name(admin, first, "team-leads")  # private, the admin is its member
    assert send(simulator, hook["id"], json={"text": "to the leads", "channel": "team-leads"}).text == "ok"
    assert newest(admin, leads["id"])[0]["message"] == "to the leads"


def test_a_long_text_becomes_several_posts(simulator: RunningSimulator, admin: httpx.Client) -> None:
    channel = create(admin, team_ids(simulator)[0])
    hook = make_hook(admin, channel["id"])
    text = "a" * MESSAGE_MAX_RUNES + "b" * 10
    assert send(simulator, hook["id"], json={"text": text}).text == "ok"
    newer, older = newest(admin, channel["id"], 2)
    assert (older["message"], newer["message"]) == ("a" * MESSAGE_MAX_RUNES, "b" * 10)


def test_faults_reach_hooks_as_they_reach_the_api(simulator: RunningSimulator, admin: httpx.Client) -> None:
    channel = create(admin, team_ids(simulator)[0])
    hook = make_hook(admin, channel["id"])
    simulator.faults.set("/hooks/*", status=503)
    assert send(simulator, hook["id"], json={"text": "hi"}).status_code == 503
    assert newest(admin, channel["id"]) == []


def test_a_retried_post_with_the_same_pending_post_id_is_made_once(simulator: RunningSimulator,
                                                                   admin: httpx.Client) -> None:
    channel = create(admin, team_ids(simulator)[0])
    body = {"channel_id": channel["id"], "message": "once", "pending_post_id": "retry-me-1"}
    first, again = admin.post("/posts", json=body), admin.post("/posts", json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["pending_post_id"] == "retry-me-1"
    assert [p["message"] for p in newest(admin, channel["id"], 5)] == ["once"]
    without = {"channel_id": channel["id"], "message": "twice"}
    assert admin.post("/posts", json=without).json()["id"] != admin.post("/posts", json=without).json()["id"]


def test_pending_post_ids_are_forgotten_after_the_window(simulator: RunningSimulator, admin: httpx.Client,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messaging, "PENDING_POST_ID_TTL_S", 0.0)
    channel = create(admin, team_ids(simulator)[0])
    body = {"channel_id": channel["id"], "message": "again", "pending_post_id": "expired-1"}
    assert admin.post("/posts", json=body).json()["id"] != admin.post("/posts", json=body).json()["id"]


def test_another_users_pending_post_id_is_not_theirs_to_reuse(simulator: RunningSimulator,
                                                             admin: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    alerts = by_name(admin, first, "ops-alerts")  # the plain user is a member
    body = {"channel_id": alerts["id"], "message": "mine", "pending_post_id": "shared-1"}
    with client_for(simulator, simulator.user_token) as user:
        assert admin.post("/posts", json=body).json()["id"] != user.post("/posts", json=body).json()["id"]
