"""The HTTP endpoints: the slash command as Mattermost posts it, and the authenticated actions API, served by the
app's own routes and backed by the real service, store and simulator."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from incidents import repository
from incidents.hook_bodies import MAX_BODY_BYTES
from incidents.http_api import routes
from incidents.service import ITEM_TITLE_MAX, NAME_MAX
from incidents.slash import NOT_ACCEPTED
from tests.incidents import test_slash
from tests.incidents.test_slash import ACTIONS_TOKEN, SLASH_TOKEN, environment_settings, form, unique_name

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
    assert response.json() == {"response_type": "ephemeral", "text": NOT_ACCEPTED}
    assert await service.list_all() == []


@pytest.mark.parametrize("token", ["guess", SLASH_TOKEN])
async def test_slash_for_an_unknown_environment_answers_as_a_wrong_token_does(client, simulator, token):
    """Environment names cannot be probed: without the right token, "no such environment" and "wrong token" are
    the same 401 with the same body."""
    unknown = await client.post("/hooks/incidents/nowhere/slash", data=form(simulator, "list", token=token))
    wrong = await client.post(SLASH, data=form(simulator, "list", token="guess"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content


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
WRONG_BEARER = ("The Bearer token is not accepted for this URL's environment: send that environment's "
                "incidents.actions_token (the actions endpoint is off while it is not set).")


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
    assert response.json() == {"ok": False, "error": WRONG_BEARER}


@pytest.mark.parametrize("headers", [BEARER, {"Authorization": "Bearer wrong"}, {}])
async def test_actions_for_an_unknown_environment_answer_as_a_wrong_token_does(client, headers):
    """Environment names cannot be probed: an unknown environment answers what a known one answers to a caller
    who is not authenticated (status, headers that matter, body), whatever token is sent."""
    unknown = await client.post("/hooks/incidents/nowhere/actions", json={"action": "end"}, headers=headers)
    known = await client.post(ACTIONS, json={"action": "end"}, headers=headers if headers == {} else
                              {"Authorization": "Bearer wrong"})
    assert unknown.status_code == known.status_code == 401
    assert unknown.headers["www-authenticate"] == known.headers["www-authenticate"] == "Bearer"
    assert unknown.content == known.content


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


# ------------------------------------------------------------------------------------ limits and bodies

async def test_an_item_title_over_its_limit_is_422_and_nothing_is_posted_or_queued(client, simulator, service):
    """A 60,000-character title would make a post over PostMessageMaxRunesV2 (server/public/model/post.go),
    which Mattermost refuses: the service refuses it first, naming the limit."""
    incident = await start(client, simulator)
    response = await client.post(ACTIONS, json={"action": "item", "item_action": "add", "item": "x" * 60_000,
                                                "channel_name": incident["channel_name"]}, headers=BEARER)
    assert (response.status_code, response.json()) == (422, {"ok": False, "error": (
        f"The checklist item title is 60,000 characters long; at most {ITEM_TITLE_MAX} are allowed.")})
    assert (await service.get(incident["id"])).version == 1
    assert repository.outbox(service.store, "production") == []


@pytest.mark.parametrize(("body", "error"), [
    ({"action": "start", "name": "n" * 201}, f"The incident name is 201 characters long; at most {NAME_MAX} are"),
    ({"action": "start", "name": "n", "channel_name": "c" * 65}, "The channel name is 65 characters long; at most 64"),
    ({"action": "end", "channel_name": "c" * 65}, "The channel name is 65 characters long; at most 64"),
])
async def test_text_fields_over_their_limits_are_422_naming_the_limit(client, service, body, error):
    """Limits: channel.go ChannelNameMaxLength (64); the name keeps "Incident: <name>" within
    ChannelPurposeMaxRunes (250)."""
    response = await client.post(ACTIONS, json=body, headers=BEARER)
    assert response.status_code == 422 and response.json()["error"].startswith(error)
    assert await service.list_all() == []


async def test_a_team_name_over_mattermosts_limit_is_400(client):
    """server/public/model/team.go: TeamNameMaxLength = 64."""
    response = await client.post(ACTIONS, json={"action": "end", "channel_name": "c", "team": "t" * 65},
                                 headers=BEARER)
    assert (response.status_code, response.json()["error"]) == (
        400, "field 'team': String should have at most 64 characters")


@pytest.mark.parametrize(("body", "error"), [
    (b"[" * 30_000 + b"]" * 30_000,
     "The body nests JSON more than 64 levels deep; an action is one flat JSON object."),
    (b'{"action": "start", "name": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
     "The body nests JSON more than 64 levels deep; an action is one flat JSON object."),
    (b'{"action": ' + b"9" * 5_000 + b"}",
     "The body holds a number of more than 4,300 digits, far longer than any this endpoint takes."),
])
async def test_a_hostile_json_body_is_400_with_a_sentence_not_a_500(client, body, error, caplog):
    response = await client.post(ACTIONS, content=body, headers={**BEARER, "Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"ok": False, "error": error})
    assert "Traceback" not in caplog.text


async def test_the_same_slash_start_posted_twice_at_once_starts_one_incident(client, simulator, service):
    posted = form(simulator, f"start {unique_name()}")
    first, second = await asyncio.gather(client.post(SLASH, data=posted), client.post(SLASH, data=posted))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["text"].startswith("Started incident")
    assert len(await service.list_all()) == 1


# --------------------------------------------------------------------------------------------------- 405

async def _page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("<html>the app</html>")


@pytest.fixture
async def app_client(simulator, service):
    """Our routes as serve.py mounts them: before Streamlit's page, which answers every GET it is left."""
    settings = environment_settings(simulator)
    app = Starlette(routes=[*routes(lambda name: (settings, service) if name == "production" else None),
                            Route("/{path:path}", _page, methods=["GET"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dashboard") as opened:
        yield opened


@pytest.mark.parametrize("path", ["production/slash", "production/actions", "production/card", "production/dialog",
                                  "nowhere/slash", "anything/else/at/all"])
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_every_method_but_post_on_a_hook_is_405_allowing_post(app_client, path, method):
    response = await app_client.request(method, f"/hooks/incidents/{path}")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    if method != "HEAD":
        assert response.json() == {"ok": False, "error": (
            f"/hooks/incidents/{path} is a hook Mattermost and automation post to: send POST, not {method}.")}


async def test_the_405_route_shadows_no_post_route_nor_other_pages(app_client, simulator):
    card = await app_client.post("/hooks/incidents/production/card", content=b"")  # the card's own route
    assert card.status_code == 400 and card.json()["ephemeral_text"].startswith("The body is not valid JSON")
    assert (await app_client.post(SLASH, data=form(simulator, "help"))).status_code == 200
    assert (await app_client.get("/incidents")).text == "<html>the app</html>"
