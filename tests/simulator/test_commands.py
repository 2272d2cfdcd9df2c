"""Custom slash commands: register, list, execute, and the whole loop from a command to a submitted dialog.

Each test's docstring names the upstream (mattermost/mattermost) file and function it follows. The integration is
the real HTTP server of tests/simulator/test_integrations.py (the `integration` fixture) on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulator import RunningSimulator
from simulator.ids import valid_id
from tests.simulator.conftest import client_for
from tests.simulator.test_api_channels import create, error_id, team_ids
from tests.simulator.test_integrations import PLAIN, FakeIntegration, delivered, integration

__all__ = ["integration"]  # the fixture, shared with test_integrations


@pytest.fixture
def plain(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(simulator, simulator.token_for(PLAIN)) as client:
        yield client


_counter = iter(range(10**6))


def register(admin: httpx.Client, team_id: str, url: str, trigger: str | None = None, **extra: Any) -> dict[str, Any]:
    response = admin.post("/commands", json={"team_id": team_id, "trigger": trigger or f"Cmd{next(_counter)}x",
                                             "url": url, "method": "P", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def member_channel(sim: RunningSimulator, admin: httpx.Client, username: str = PLAIN) -> str:
    channel_id = create(admin, team_ids(sim)[0])["id"]
    response = admin.post(f"/channels/{channel_id}/members", json={"user_id": sim.account_id(username)})
    assert response.status_code == 201, response.text
    return channel_id


def execute(client: httpx.Client, channel_id: str, command: str, **extra: Any) -> httpx.Response:
    return client.post("/commands/execute", json={"channel_id": channel_id, "command": command, **extra})


def test_register_a_command(simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client,
                            integration: FakeIntegration) -> None:
    """api4/command.go createCommand, app createCommand, model.Command PreSave/IsValid: team admins and system
    admins register (manage_own_slash_commands); the trigger is lower-cased and unique per team, built-in
    triggers are taken; the answer (201) holds the generated id and token."""
    first = team_ids(simulator)[0]
    url = integration.at("/deploy")
    body = register(admin, first, url, trigger="Deploy", display_name="Deploy", auto_complete=True)
    assert body["trigger"] == "deploy" and valid_id(body["id"]) and valid_id(body["token"])
    assert (body["creator_id"], body["team_id"], body["method"], body["url"]) == \
        (simulator.model.admin.id, first, "P", url)
    assert body["create_at"] == body["update_at"] > 0 and body["delete_at"] == 0
    assert error_id(plain.post("/commands", json={"team_id": first, "trigger": "mine", "url": url, "method": "P"}),
                    403) == "api.context.permissions.app_error"

    def refused(**fields: Any) -> str:
        payload = {"team_id": first, "trigger": "fine", "url": url, "method": "P", **fields}
        return error_id(admin.post("/commands", json=payload), 400)

    assert refused(trigger="DEPLOY") == "api.command.duplicate_trigger.app_error"
    assert refused(trigger="echo") == "api.command.duplicate_trigger.app_error"
    assert refused(trigger="/slash") == "model.command.is_valid.trigger.app_error"
    assert refused(trigger="two words") == "model.command.is_valid.trigger.app_error"
    assert refused(url="") == "model.command.is_valid.url.app_error"
    assert refused(url="ftp://example.com/x") == "model.command.is_valid.url_http.app_error"
    assert refused(method="X") == "model.command.is_valid.method.app_error"
    assert refused(display_name="d" * 65) == "model.command.is_valid.display_name.app_error"
    assert error_id(admin.post("/commands", content=b"{"), 400) == "api.context.invalid_body_param.app_error"


def test_list_commands(simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client,
                       integration: FakeIntegration) -> None:
    """api4/command.go listCommands: custom_only gives managers the commands in full; otherwise managers get them
    all sanitized (ListAllCommandsByUser) and members the auto-complete ones (ListAutocompleteCommands)."""
    first, second = team_ids(simulator)
    shown = register(admin, first, integration.at("/listed"), auto_complete=True)
    hidden = register(admin, first, integration.at("/unlisted"))
    full = admin.get("/commands", params={"team_id": first, "custom_only": "true"}).json()
    assert {shown["id"], hidden["id"]} <= {c["id"] for c in full}
    assert next(c for c in full if c["id"] == shown["id"]) == shown
    sanitized = next(c for c in admin.get("/commands", params={"team_id": first}).json() if c["id"] == hidden["id"])
    assert (sanitized["token"], sanitized["url"], sanitized["creator_id"], sanitized["method"]) == ("", "", "", "")
    seen = {c["id"] for c in plain.get("/commands", params={"team_id": first}).json()}
    assert shown["id"] in seen and hidden["id"] not in seen
    assert error_id(plain.get("/commands", params={"team_id": first, "custom_only": "true"}), 403) == \
        "api.context.permissions.app_error"
    assert error_id(plain.get("/commands", params={"team_id": second}), 403) == "api.context.permissions.app_error"
    assert error_id(plain.get("/commands"), 400) == "api.context.invalid_body_param.app_error"


def test_command_to_dialog_to_submission(simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client,
                                         integration: FakeIntegration) -> None:
    """The whole loop of app/command.go tryExecuteCustomCommand + DoCommandRequest, then
    app/integration_action.go OpenInteractiveDialog and SubmitInteractiveDialog: the integration receives the
    form with a trigger id, opens a dialog with it (listed for the caller, with the client trigger id the
    execute answer carries), the caller submits, the integration's errors come back."""
    first = team_ids(simulator)[0]
    submit_url = integration.answer("/incident-submit", body={"errors": {"severity": "Pick one"}})

    async def open_dialog_then_answer(request: Request, body: bytes) -> Response:
        trigger_id = dict(parse_qsl(body.decode()))["trigger_id"]
        async with httpx.AsyncClient() as client:
            opened = await client.post(f"{simulator.url}/api/v4/actions/dialogs/open", json={
                "trigger_id": trigger_id, "url": submit_url,
                "dialog": {"callback_id": "incident", "title": "New incident", "elements": [
                    {"display_name": "Severity", "name": "severity", "type": "select",
                     "options": [{"text": "SEV1", "value": "1"}]}]}})
        assert opened.status_code == 200, opened.text
        return JSONResponse({"response_type": "ephemeral", "text": "Opening <https://wiki.example.com|the form>"})

    command = register(admin, first, integration.handle_with("/incident", open_dialog_then_answer),
                       trigger="incident")
    channel_id = member_channel(simulator, admin)
    response = execute(plain, channel_id, "/Incident  start  now", root_id="")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["response_type"] == "ephemeral" and answer["text"] == "Opening <https://wiki.example.com|the form>"
    assert valid_id(answer["trigger_id"]) and answer["props"] is None and answer["extra_responses"] is None
    sent = integration.requests_to("/incident")[-1]
    assert sent.method == "POST" and sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["authorization"] == f"Token {command['token']}"
    form = sent.form()
    channel = admin.get(f"/channels/{channel_id}").json()
    priya = simulator.account_id(PLAIN)
    assert {k: v for k, v in form.items() if k not in ("trigger_id", "response_url")} == {
        "token": command["token"], "team_id": first, "team_domain": simulator.model.teams[0].name,
        "channel_id": channel_id, "channel_name": channel["name"], "user_id": priya, "user_name": PLAIN,
        "command": "/incident", "text": " start  now", "root_id": ""}
    assert "/hooks/commands/" in form["response_url"]
    opened = delivered(simulator, "dialogs", priya)[-1]
    assert opened["trigger_id"] == answer["trigger_id"] and opened["url"] == submit_url
    assert opened["dialog"]["title"] == "New incident"
    ephemeral = delivered(simulator, "ephemeral", priya)[-1]
    assert ephemeral["message"] == "Opening [the form](https://wiki.example.com)"
    assert ephemeral["props"] == {"from_webhook": "true"} and ephemeral["channel_id"] == channel_id
    channel_posts = admin.get(f"/channels/{channel_id}/posts").json()
    assert all(p["message"] != ephemeral["message"] for p in channel_posts["posts"].values())
    submitted = plain.post("/actions/dialogs/submit", json={
        "url": opened["url"], "callback_id": opened["dialog"]["callback_id"], "state": opened["dialog"]["state"],
        "channel_id": channel_id, "team_id": first, "submission": {"severity": None}})
    assert submitted.status_code == 200 and submitted.json() == {"errors": {"severity": "Pick one"}}
    request = integration.requests_to("/incident-submit")[-1].json()
    assert request["type"] == "dialog_submission" and request["user_id"] == priya
    assert request["callback_id"] == "incident" and request["submission"] == {"severity": None}


def test_in_channel_answers_are_posted_in_the_channel(simulator: RunningSimulator, admin: httpx.Client,
                                                      plain: httpx.Client, integration: FakeIntegration) -> None:
    """app/command.go HandleCommandResponsePost + CreateCommandPost: an in_channel answer is a post of the caller
    (a bot post: from_webhook), extra_responses are handled too; a plain-text answer is the text of an
    ephemeral one; a GET command gets the form as its query."""
    first = team_ids(simulator)[0]
    url = integration.answer("/status", body={"response_type": "in_channel", "text": "All systems go",
                                              "props": {"incident": "none"}, "extra_responses": [
                                                  {"response_type": "ephemeral", "text": "only you see this"}]})
    command = register(admin, first, url)
    channel_id = member_channel(simulator, admin)
    assert execute(plain, channel_id, f"/{command['trigger']}").status_code == 200
    newest = admin.get(f"/channels/{channel_id}/posts").json()
    post = newest["posts"][newest["order"][0]]
    assert (post["message"], post["user_id"]) == ("All systems go", simulator.account_id(PLAIN))
    assert post["props"] == {"incident": "none", "from_webhook": "true"}
    assert delivered(simulator, "ephemeral", simulator.account_id(PLAIN))[-1]["message"] == "only you see this"
    text_command = register(admin, first, integration.answer("/plain", 200, "plain *text*"), method="G")
    answer = execute(plain, channel_id, f"/{text_command['trigger']} a b").json()
    assert answer["text"] == "plain *text*" and answer["response_type"] == ""
    sent = integration.requests_to("/plain")[-1]
    assert sent.method == "GET" and "text=a+b" in sent.query and f"token={text_command['token']}" in sent.query
    assert delivered(simulator, "ephemeral", simulator.account_id(PLAIN))[-1]["message"] == "plain *text*"


def test_execute_errors(simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client,
                        integration: FakeIntegration) -> None:
    """api4/command.go executeCommand and app/command.go ExecuteCommand / DoCommandRequest: a malformed command
    (400 start), no create_post in the channel (403), an unknown trigger (404 not_found), an integration that
    fails (500 failed_resp) or cannot be reached (500 failed)."""
    first = team_ids(simulator)[0]
    channel_id = member_channel(simulator, admin)
    assert error_id(execute(plain, channel_id, "/"), 400) == "api.command.execute_command.start.app_error"
    assert error_id(execute(plain, channel_id, "deploy"), 400) == "api.command.execute_command.start.app_error"
    assert error_id(execute(plain, "short", "/deploy"), 400) == "api.command.execute_command.start.app_error"
    outsider = create(admin, first)["id"]
    assert error_id(execute(plain, outsider, "/deploy"), 403) == "api.context.permissions.app_error"
    assert error_id(execute(plain, channel_id, "/nosuchtrigger"), 404) == \
        "api.command.execute_command.not_found.app_error"
    broken = register(admin, first, integration.answer("/broken-cmd", 500, {"oops": True}))
    assert error_id(execute(plain, channel_id, f"/{broken['trigger']}"), 500) == \
        "api.command.execute_command.failed_resp.app_error"
    gone = register(admin, first, "http://127.0.0.1:1/gone")
    assert error_id(execute(plain, channel_id, f"/{gone['trigger']}"), 500) == \
        "api.command.execute_command.failed.app_error"
    assert error_id(admin.post("/commands/execute", content=b"{"), 400) == "api.context.invalid_body_param.app_error"
