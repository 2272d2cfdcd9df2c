"""The served app (serve.py) as Mattermost and automation see it: the /incident slash command, the actions
endpoint and message forwarding, against the simulator, with the dashboard's own store."""

import time

import httpx
import pytest

pytestmark = pytest.mark.e2e
SLASH_TOKEN = "slash-token-for-the-test"
ACTIONS_TOKEN = "actions-token-for-the-test"


@pytest.fixture
def served(start_app, simulator):
    app = start_app({
        "MMDASH_PROD__MATTERMOST__URL": simulator.url,
        "MMDASH_PROD__MATTERMOST__TOKEN": simulator.admin_token,
        "MMDASH_PROD__INCIDENTS__SLASH_TOKEN": SLASH_TOKEN,
        "MMDASH_PROD__INCIDENTS__ACTIONS_TOKEN": ACTIONS_TOKEN,
        "MMDASH_PROD__INCIDENTS__TEAM": "engineering",
        "MMDASH_PROD__INCIDENTS__FORWARD_EVERY_SECONDS": "0.5",
    })
    return app


def slash(app, simulator, text: str, token: str = SLASH_TOKEN, channel_id: str | None = None) -> httpx.Response:
    model = simulator.model
    team = next(t for t in model.teams if t.name == "engineering")
    return httpx.post(f"{app.url}/hooks/incidents/prod/slash", timeout=30, data={
        "token": token, "team_id": team.id, "team_domain": team.name, "channel_id": channel_id or "none",
        "channel_name": "town-square", "user_id": model.admin.id, "user_name": model.admin.username,
        "command": "/incident", "text": text, "response_url": "", "trigger_id": ""})


def mattermost(simulator) -> httpx.Client:
    return httpx.Client(base_url=f"{simulator.url}/api/v4", timeout=10,
                        headers={"Authorization": f"Bearer {simulator.admin_token}"})


def test_slash_command_actions_and_forwarding_through_the_served_app(served, simulator):
    assert slash(served, simulator, "list", token="wrong").status_code == 401

    started = slash(served, simulator, "start major-outage Checkout is down ~checkout-down")
    assert started.status_code == 200, started.text
    assert started.json()["response_type"] == "ephemeral" and "Checkout is down" in started.json()["text"]
    team = next(t for t in simulator.model.teams if t.name == "engineering")
    with mattermost(simulator) as client:
        channel = client.get(f"/teams/{team.id}/channels/name/checkout-down").json()
        assert channel["type"] == "P"

        info = slash(served, simulator, "info", channel_id=channel["id"]).json()["text"]
        assert "Triage" in info and "@" + simulator.model.admin.username in info

        moved = httpx.post(f"{served.url}/hooks/incidents/prod/actions", timeout=30,
                           headers={"Authorization": f"Bearer {ACTIONS_TOKEN}"},
                           json={"action": "stage", "channel_name": "checkout-down", "stage": "Mitigate"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["incident"]["stage_index"] == 1
        refused = httpx.post(f"{served.url}/hooks/incidents/prod/actions", timeout=30,
                             json={"action": "stage", "channel_name": "checkout-down", "stage": "Resolve"})
        assert refused.status_code == 401

        alerts = client.get(f"/teams/{team.id}/channels/name/ops-alerts").json()
        client.post("/posts", json={"channel_id": alerts["id"], "message": "[FIRING] checkout error rate 12 %"})
        client.post("/posts", json={"channel_id": alerts["id"], "message": "lunch is served"})
        deadline = time.monotonic() + 20
        copies: list[str] = []
        while time.monotonic() < deadline and not copies:
            posts = client.get(f"/channels/{channel['id']}/posts", params={"per_page": 200}).json()["posts"]
            copies = [p["message"] for p in posts.values() if p.get("props", {}).get("mmdash_forwarded_from")]
            time.sleep(0.5)
        assert len(copies) == 1 and "checkout error rate" in copies[0] and "/pl/" in copies[0]
        messages = [p["message"] for p in posts.values()]
        assert any("Mitigate" in m for m in messages)  # every change is said in the channel
