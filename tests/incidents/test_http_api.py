"""The HTTP endpoints: the slash command as Mattermost posts it, and the authenticated actions API, served by the
app's own routes and backed by the real service, store and simulator."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette

from incidents import repository
from incidents.http_api import MAX_BODY_BYTES, routes
from tests.incidents import test_slash
from tests.incidents.test_slash import ACTIONS_TOKEN, environment_settings, form, unique_name

service = test_slash.service  # the same fixture: the real service on the simulator, with a store of its own

SLASH = "/hooks/incidents/production/slash"
ACTIONS = "/hooks/incidents/production/actions"
BEARER = {"Authorization": f"Bearer {ACTIONS_TOKEN}"}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def client(simulator, service):
    settings = environment_settings(simulator)
    app = Starlette(routes=routes(lambda name: (settings, service) if name == "production" else None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dashboard") as opened:
        yield opened


def team_name(sim) -> str:
    return sim.model.teams[0].name


async def start(client, sim, **fields) -> dict:
    body = {"action": "start", "name": unique_name(), **fields}
    response = await client.post(ACTIONS, json=body, headers=BEARER)
    assert response.status_code == 200, response.text
    return response.json()["incident"]


# ------------------------------------------------------------------------------------------------- slash

async def test_the_slash_command_runs_from_mattermosts_form(client, simulator, service):
    response = await client.post(SLASH, data=form(simulator, f"start {unique_name()}"))
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    assert response.json()["text"].startswith("Started incident")
    assert len(await service.list_all()) == 1


async def test_slash_with_a_wrong_token_is_401_and_changes_nothing(client, simulator, service):
    response = await client.post(SLASH, data=form(simulator, f"start {unique_name()}", token="guess"))
    assert response.status_code == 401
    assert "token does not match" in response.json()["text"]
    assert await service.list_all() == []


async def test_slash_for_an_unknown_environment_is_404(client, simulator):
    response = await client.post("/hooks/incidents/nowhere/slash", data=form(simulator, "list"))
    assert response.status_code == 404
    assert "no environment 'nowhere'" in response.json()["text"]


async def test_slash_only_takes_a_form(client, simulator):
    response = await client.post(SLASH, json=form(simulator, "list"))
    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.json()["text"]


async def test_slash_bodies_over_64_kb_are_refused(client, simulator, service):
    body = urlencode(form(simulator, "add " + "x" * MAX_BODY_BYTES))
    response = await client.post(SLASH, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


async def test_slash_when_turned_off_answers_and_keeps_everything(client, simulator, service):
    await client.post(SLASH, data=form(simulator, f"start {unique_name()}"))
    repository.set_incidents_enabled(service.store, False, actor="admin")
    response = await client.post(SLASH, data=form(simulator, "list"))
    assert "Incidents are turned off" in response.json()["text"]
    repository.set_incidents_enabled(service.store, True, actor="admin")
    assert len(await service.list_all()) == 1


async def test_a_bug_behind_the_slash_command_is_an_answer_not_a_500(client, simulator, service, monkeypatch,
                                                                     caplog):
    async def broken(team_id=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "list_active", broken)
    response = await client.post(SLASH, data=form(simulator, "list"))
    assert response.status_code == 200
    assert response.json()["text"] == "The dashboard failed to run this command; its log has the details."
    assert "boom" in caplog.text


# ----------------------------------------------------------------------------------------------- actions

async def test_automation_starts_an_incident_then_changes_it_by_channel_name(client, simulator, service):
    channel = f"auto-{secrets.token_hex(3)}"
    incident = await start(client, simulator, channel_name=channel, playbook="outage", team=team_name(simulator))
    assert (incident["channel_name"], incident["playbook_id"], incident["stage_index"]) == (channel, "outage", 0)
    assert incident["commander_id"] == simulator.model.admin.id  # the token's own user
    assert incident["started_at"].endswith("+00:00")

    async def act(**fields) -> dict:
        response = await client.post(ACTIONS, json={"channel_name": channel, **fields}, headers=BEARER)
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
        return response.json()["incident"]

    assert (await act(action="stage", stage="mitigate"))["stage_index"] == 1
    added = await act(action="item", item_action="add", item="Call the vendor")
    assert [i["title"] for i in added["stages"][1]["items"]] == ["Roll back", "Call the vendor"]
    checked = await act(action="item", item_action="check", item="Call the vendor")
    assert checked["stages"][1]["items"][1]["checked_by"] == simulator.model.admin.id
    assert (await act(action="item", item_action="uncheck", item="2"))["stages"][1]["items"][1]["checked_at"] is None
    assert len((await act(action="item", item_action="remove", item="1"))["stages"][1]["items"]) == 1
    assert (await act(action="end"))["ended_at"] is not None
    posts = await service.api.posts_since(incident["channel_id"], 0)
    ended = f"{simulator.model.admin.username} (automation) ended the incident **{incident['name']}**."
    assert posts[-1]["message"] == ended


async def test_actions_default_to_the_only_playbook_and_the_configured_team(client, simulator):
    incident = await start(client, simulator)
    assert (incident["playbook_id"], incident["team_id"]) == ("outage", simulator.model.teams[0].id)


NO_BEARER = "Send the actions token as 'Authorization: Bearer <token>'."
WRONG_BEARER = "The Bearer token is not this environment's incidents.actions_token."


@pytest.mark.parametrize(("headers", "says"), [
    ({}, NO_BEARER),
    ({"Authorization": f"Basic {ACTIONS_TOKEN}"}, NO_BEARER),
    ({"Authorization": "Bearer wrong"}, WRONG_BEARER),
    ({"Authorization": f"Bearer {ACTIONS_TOKEN}x"}, WRONG_BEARER),
])
async def test_actions_without_the_right_bearer_token_are_401_and_change_nothing(client, simulator, service, headers,
                                                                                 says):
    response = await client.post(ACTIONS, json={"action": "start", "name": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"ok": False, "error": says}
    assert await service.list_all() == []


async def test_actions_are_off_without_a_configured_token(simulator, service):
    settings = environment_settings(simulator, actions_token=None)
    app = Starlette(routes=routes(lambda name: (settings, service)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dashboard") as client:
        response = await client.post(ACTIONS, json={"action": "end", "channel_name": "x"}, headers=BEARER)
    assert response.status_code == 401
    assert "set its incidents.actions_token" in response.json()["error"]


async def test_actions_for_an_unknown_environment_are_404(client):
    response = await client.post("/hooks/incidents/nowhere/actions", json={"action": "end"}, headers=BEARER)
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "There is no environment 'nowhere'."}


@pytest.mark.parametrize(("body", "error"), [
    ({"action": "stage", "channel_name": "c"}, "field 'stage': required for action 'stage'"),
    ({"action": "item", "channel_name": "c", "item": "1"}, "field 'item_action': required for action 'item'"),
    ({"action": "end"}, "field 'channel_name': required for action 'end'"),
    ({"action": "start"}, "field 'name': required for action 'start'"),
    ({"action": "start", "name": "   "}, "field 'name': required for action 'start'"),
    ({"action": "resolve"}, "field 'action': Input should be 'start', 'stage', 'item' or 'end'"),
    ({"action": "item", "channel_name": "c", "item": "1", "item_action": "tick"},
     "field 'item_action': Input should be 'check', 'uncheck', 'add' or 'remove'"),
    ({"action": "end", "channel_name": 7}, "field 'channel_name': Input should be a valid string"),
    ({"action": "end", "channel_name": "c", "chanel": "typo"}, "field 'chanel': Extra inputs are not permitted"),
    (["end"], 'The body must be a JSON object such as {"action": "end", "channel_name": "..."}.'),
])
async def test_bad_action_requests_are_400_naming_the_field(client, body, error):
    response = await client.post(ACTIONS, json=body, headers=BEARER)
    assert (response.status_code, response.json()) == (400, {"ok": False, "error": error})


async def test_actions_need_json_under_64_kb(client):
    response = await client.post(ACTIONS, content=b"action=end", headers={**BEARER, "Content-Type": FORM})
    assert response.status_code == 415
    response = await client.post(ACTIONS, content=b"{not json", headers={**BEARER, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"].startswith("The body is not valid JSON")
    big = {"action": "start", "name": "x" * MAX_BODY_BYTES}
    response = await client.post(ACTIONS, json=big, headers=BEARER)
    assert response.status_code == 413


async def test_an_unknown_channel_team_or_stage_is_a_clear_error(client, simulator, service):
    incident = await start(client, simulator)
    response = await client.post(ACTIONS, json={"action": "end", "channel_name": "no-such-channel"}, headers=BEARER)
    assert response.status_code == 404
    assert response.json()["error"] == (f"There is no incident in channel 'no-such-channel' of team "
                                        f"'{team_name(simulator)}'.")
    response = await client.post(ACTIONS, json={"action": "end", "channel_name": "c", "team": "no-such-team"},
                                 headers=BEARER)
    assert (response.status_code, response.json()["error"]) == (404, "Mattermost has no team named 'no-such-team'.")
    response = await client.post(ACTIONS, json={"action": "stage", "channel_name": incident["channel_name"],
                                                "stage": "Investigate"}, headers=BEARER)
    assert response.status_code == 422
    assert response.json()["error"].startswith("There is no stage 'Investigate' in this incident")
    assert (await service.get(incident["id"])).stage_index == 0


async def test_actions_when_turned_off_or_mattermost_is_down_are_503(client, simulator, service):
    incident = await start(client, simulator)
    end = {"action": "end", "channel_name": incident["channel_name"]}
    repository.set_incidents_enabled(service.store, False, actor="admin")
    response = await client.post(ACTIONS, json=end, headers=BEARER)
    assert response.status_code == 503 and "turned off" in response.json()["error"]
    repository.set_incidents_enabled(service.store, True, actor="admin")

    simulator.faults.set("*", status=503)
    response = await client.post(ACTIONS, json=end, headers=BEARER)
    assert response.status_code == 503 and "Mattermost answered HTTP 503" in response.json()["error"]
    assert (await service.get(incident["id"])).active
