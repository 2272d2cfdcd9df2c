"""Interactive messages, dialogs, trigger ids and post edit/delete/pin, against a real HTTP integration on loopback.

Each test's docstring names the upstream (mattermost/mattermost) file and function it follows. The fake
integration below is a Starlette app served by uvicorn on 127.0.0.1; the simulator calls it over HTTP.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator import RunningSimulator
from simulator.ids import valid_id
from simulator.threaded_server import serve_in_thread
from simulator.trigger_ids import TriggerIds
from tests.simulator.conftest import client_for
from tests.simulator.test_api_channels import by_name, create, error_id, team_ids

Handler = Callable[[Request, bytes], Awaitable[Response]]


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class FakeIntegration:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: dict[str, tuple[int, Any] | Handler] = {}
        self.url = ""

    def at(self, path: str) -> str:
        return f"{self.url}{path}"

    def answer(self, path: str, status: int = 200, body: Any = None) -> str:
        self.answers[path] = (status, {} if body is None else body)
        return self.at(path)

    def handle_with(self, path: str, handler: Handler) -> str:
        self.answers[path] = handler
        return self.at(path)

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(request.method, request.url.path, request.url.query,
                                      {k.lower(): v for k, v in request.headers.items()}, body))
        answer = self.answers.get(request.url.path, (200, {}))
        if callable(answer):
            return await answer(request, body)
        status, payload = answer
        if isinstance(payload, str):
            return Response(payload, status_code=status, media_type="text/plain")
        return JSONResponse(payload, status_code=status)


@pytest.fixture(scope="module")
def integration() -> Iterator[FakeIntegration]:
    fake = FakeIntegration()
    app = Starlette(routes=[Route("/{path:path}", fake._endpoint, methods=["GET", "POST"])])
    served = serve_in_thread(app, "fake-integration")
    fake.url = served.url
    yield fake
    served.stop()


# ------------------------------------------------------------------------------------------------ helpers

PLAIN = "priya.nair"  # a plain user of the first team, besides the fixtures' `user`


@pytest.fixture
def plain(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(simulator, simulator.token_for(PLAIN)) as client:
        yield client


def delivered(sim: RunningSimulator, what: str, user_id: str) -> list[dict[str, Any]]:
    """GET /__simulator__/{ephemeral,dialogs}?user_id=, as a person driving the simulator would."""
    response = httpx.get(f"{sim.url}/__simulator__/{what}", params={"user_id": user_id},
                         headers={"Authorization": f"Bearer {sim.admin_token}"})
    assert response.status_code == 200, response.text
    return response.json()


def action(url: str, *, name: str = "Approve", kind: str = "button", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "integration": {"url": url, "context": {"incident": "INC-7"}}, **extra}


def post_with(client: httpx.Client, channel_id: str, actions: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    response = client.post("/posts", json={"channel_id": channel_id, "message": "Deploy to prod?",
                                           "props": {"attachments": [{"text": "Deploy", "actions": actions}],
                                                     **props}})
    assert response.status_code == 201, response.text
    return response.json()


def open_channel(sim: RunningSimulator, admin: httpx.Client) -> str:
    return create(admin, team_ids(sim)[0])["id"]


def actions_of(post: dict[str, Any]) -> list[dict[str, Any]]:
    return post["props"]["attachments"][0]["actions"]


def click(client: httpx.Client, post: dict[str, Any], index: int = 0, **body: Any) -> httpx.Response:
    return client.post(f"/posts/{post['id']}/actions/{actions_of(post)[index]['id']}", json=body)


# ------------------------------------------------------------------------------------------- post actions

def test_created_post_gets_action_ids_and_clients_never_see_integrations(
        simulator: RunningSimulator, admin: httpx.Client, integration: FakeIntegration) -> None:
    """model.Post.GenerateActionIds (app/post.go CreatePost) and Post.StripActionIntegrations (Post.EncodeJSON,
    PostList.EncodeJSON): ids are made for actions without one, integrations are left out of every answer."""
    channel_id = open_channel(simulator, admin)
    url = integration.answer("/strip")
    created = post_with(admin, channel_id, [action(url), action(url, name="Keep", id="keepthisid")])
    ids = [a["id"] for a in actions_of(created)]
    assert valid_id(ids[0]) and ids[1] == "keepthisid"
    for answer in (created, admin.get(f"/posts/{created['id']}").json(),
                   admin.get(f"/channels/{channel_id}/posts").json()["posts"][created["id"]]):
        assert all("integration" not in a for a in actions_of(answer))
        assert [a["id"] for a in actions_of(answer)] == ids
        assert answer["is_pinned"] is False and answer["edit_at"] == 0 and answer["delete_at"] == 0


def test_click_sends_the_integration_request_and_applies_its_update(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """api4/integration_action.go doPostAction and app/integration_action.go DoPostActionWithCookie: the
    PostActionIntegrationRequest carries a signed trigger id and the action's context; `update` takes the post's
    id, keeps is_pinned and the retained props (override_username); ephemeral_text goes to the clicking user."""
    channel_id = open_channel(simulator, admin)
    url = integration.answer("/approve", body={
        "update": {"message": "Deploy approved", "props": {"attachments": [{"text": "Done", "actions": [
            {"name": "Undo", "type": "button", "integration": {"url": "http://127.0.0.1:1/undo"}}]}],
            "override_username": "spoofed"}},
        "ephemeral_text": "You approved <https://ci.example.com/42|build 42>"})
    post = post_with(admin, channel_id, [action(url)], override_username="deploy-bot")
    assert admin.post(f"/posts/{post['id']}/pin").json() == {"status": "OK"}
    before = len(integration.requests_to("/approve"))
    response = click(plain, post)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"status", "trigger_id"} and answer["status"] == "OK" and valid_id(answer["trigger_id"])
    sent = integration.requests_to("/approve")[before:]
    assert len(sent) == 1 and sent[0].headers["content-type"] == "application/json"
    request = sent[0].json()
    priya = simulator.account_id(PLAIN)
    team = simulator.model.teams[0]
    assert {k: v for k, v in request.items() if k != "trigger_id"} == {
        "user_id": priya, "user_name": PLAIN, "channel_id": channel_id, "channel_name": request["channel_name"],
        "team_id": team.id, "team_domain": team.name, "post_id": post["id"], "type": "button", "data_source": "",
        "context": {"incident": "INC-7"}}
    client_id, user_id, millis, _signature = base64.b64decode(request["trigger_id"]).decode().split(":")
    assert (client_id, user_id) == (answer["trigger_id"], priya) and abs(int(millis) - time.time() * 1000) < 60_000
    updated = plain.get(f"/posts/{post['id']}").json()
    assert updated["id"] == post["id"] and updated["message"] == "Deploy approved"
    assert updated["is_pinned"] is True and updated["edit_at"] > 0 and updated["update_at"] > post["update_at"]
    assert updated["props"]["override_username"] == "deploy-bot"  # retained, the integration's value dropped
    undo = actions_of(updated)[0]
    assert valid_id(undo["id"]) and "integration" not in undo
    ephemeral = delivered(simulator, "ephemeral", priya)[-1]
    assert ephemeral["message"] == "You approved [build 42](https://ci.example.com/42)"
    assert (ephemeral["type"], ephemeral["channel_id"], ephemeral["root_id"], ephemeral["user_id"]) == \
        ("system_ephemeral", channel_id, post["id"], priya)
    assert ephemeral["props"] == {"override_username": "deploy-bot"}
    assert all(e["message"] != ephemeral["message"] for e in delivered(simulator, "ephemeral",
                                                                        simulator.model.admin.id))


def test_update_without_props_keeps_the_posts_props(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """DoPostActionWithCookie: an update whose props are null keeps the original props (SetProps(originalProps))."""
    channel_id = open_channel(simulator, admin)
    post = post_with(admin, channel_id, [action(integration.answer("/noprops", body={"update": {"message": "x"}}))])
    assert click(plain, post).status_code == 200
    updated = admin.get(f"/posts/{post['id']}").json()
    assert updated["message"] == "x" and actions_of(updated) == actions_of(post)


def test_select_sends_the_selected_option_and_data_source(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """DoPostActionWithCookie: for a select, selected_option joins the context and data_source is sent; an empty
    answer changes nothing."""
    channel_id = open_channel(simulator, admin)
    url = integration.answer("/assign", body={})
    post = post_with(admin, channel_id, [action(url, name="Assign", kind="select", data_source="users")])
    assert click(plain, post, selected_option="jamie").status_code == 200
    request = integration.requests_to("/assign")[-1].json()
    assert request["type"] == "select" and request["data_source"] == "users"
    assert request["context"] == {"incident": "INC-7", "selected_option": "jamie"}
    assert admin.get(f"/posts/{post['id']}").json()["message"] == "Deploy to prod?"


def test_clicking_needs_read_access_to_the_channel(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """doPostAction: SessionHasPermissionToChannelByPost(read_channel_content), else 403 before anything is sent;
    an unknown post is a permission error for a plain user and app.post.get.app_error (404) for an admin."""
    private = create(admin, team_ids(simulator)[0], kind="P")["id"]
    post = post_with(admin, private, [action(integration.answer("/secret"))])
    before = len(integration.requests_to("/secret"))
    assert error_id(click(plain, post), 403) == "api.context.permissions.app_error"
    assert len(integration.requests_to("/secret")) == before
    assert error_id(plain.post(f"/posts/{'q' * 26}/actions/abc", json={}), 403) == "api.context.permissions.app_error"
    assert error_id(admin.post(f"/posts/{'q' * 26}/actions/abc", json={}), 404) == "app.post.get.app_error"
    assert error_id(plain.post("/posts/short/actions/abc", json={}), 400) == "api.context.invalid_url_param.app_error"
    anon = client_for(simulator)
    assert error_id(anon.post(f"/posts/{post['id']}/actions/abc", json={}), 401) == \
        "api.context.session_expired.app_error"


def test_integration_failures_are_action_integration_errors(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """app/integration_action.go DoActionRequest: a non-200 answer, an unreachable URL or a body that is not a
    PostActionIntegrationResponse are api.post.do_action.action_integration.app_error (400); an unknown action
    id is api.post.do_action.action_id.app_error (404)."""
    channel_id = open_channel(simulator, admin)
    failing = post_with(admin, channel_id, [
        action(integration.answer("/broken", 500, {"error": "boom"})),
        action("http://127.0.0.1:1/nothing-listens-here"),
        action(integration.answer("/garbage", 200, "not json at all")),
        action("https://integrations.example.com/outside"),  # the simulator never leaves loopback
    ])
    for index in range(4):
        assert error_id(click(plain, failing, index), 400) == "api.post.do_action.action_integration.app_error"
    assert error_id(plain.post(f"/posts/{failing['id']}/actions/nosuchaction", json={}), 404) == \
        "api.post.do_action.action_id.app_error"
    assert error_id(click(plain, failing, cookie="c2ltdWxhdG9y"), 400) == \
        "api.post.do_action.action_integration.app_error"
    assert admin.get(f"/posts/{failing['id']}").json()["message"] == "Deploy to prod?"


def test_clicking_a_deleted_post_is_not_found(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """DoPostActionWithCookie: GetSingle(postID, false) does not find a deleted post: app.post.get.app_error, 404."""
    channel_id = open_channel(simulator, admin)
    post = post_with(admin, channel_id, [action(integration.answer("/late"))])
    assert admin.delete(f"/posts/{post['id']}").json() == {"status": "OK"}
    assert error_id(click(plain, post), 404) == "app.post.get.app_error"


# ----------------------------------------------------------------------------------- trigger ids, dialogs

def dialog(url: str, trigger_id: str, title: str = "Deploy", **extra: Any) -> dict[str, Any]:
    return {"trigger_id": trigger_id, "url": url, "dialog": {
        "callback_id": "deploy-1", "title": title, "submit_label": "Go", "state": "s1",
        "elements": [{"display_name": "Reason", "name": "reason", "type": "text", "max_length": 100},
                     {"display_name": "Target", "name": "target", "type": "select", "default": "prod",
                      "options": [{"text": "Production", "value": "prod"}]}], **extra}}


def test_a_trigger_id_from_a_click_opens_a_dialog_for_the_clicking_user(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """app/integration_action.go OpenInteractiveDialog: the trigger id is verified, its user gets the open_dialog
    event carrying the whole OpenDialogRequest (url included) with the client trigger id; openDialog answers
    {"status": "OK"} and needs no session."""
    channel_id = open_channel(simulator, admin)
    post = post_with(admin, channel_id, [action(integration.answer("/want-dialog"))])
    client_trigger_id = click(plain, post).json()["trigger_id"]
    trigger_id = integration.requests_to("/want-dialog")[-1].json()["trigger_id"]
    submit_url = integration.at("/submit")
    anon = client_for(simulator)
    response = anon.post("/actions/dialogs/open", json={**dialog(submit_url, trigger_id), "extra": "dropped"})
    assert response.status_code == 200 and response.json() == {"status": "OK"}
    opened = delivered(simulator, "dialogs", simulator.account_id(PLAIN))[-1]
    assert opened["trigger_id"] == client_trigger_id and opened["url"] == submit_url and "extra" not in opened
    assert opened["dialog"]["title"] == "Deploy" and opened["dialog"]["introduction_text"] == ""
    assert opened["dialog"]["elements"][0] == {
        "display_name": "Reason", "name": "reason", "type": "text", "subtype": "", "default": "", "placeholder": "",
        "help_text": "", "optional": False, "min_length": 0, "max_length": 100, "data_source": "", "options": None,
        "multiselect": False}
    assert simulator.dialogs_for(simulator.account_id(PLAIN))[-1] == opened


def test_an_invalid_dialog_is_still_delivered(simulator: RunningSimulator, integration: FakeIntegration) -> None:
    """OpenInteractiveDialog: request.IsValid() failing (here a title over DialogTitleMaxLength, 24) is only
    logged as a warning; the dialog is delivered anyway."""
    jamie = simulator.model.user.id
    long_title = "A title far longer than twenty-four characters"
    response = httpx.post(f"{simulator.url}/api/v4/actions/dialogs/open",
                          json=dialog(integration.at("/submit"), simulator.mint_trigger_id(jamie), title=long_title))
    assert response.status_code == 200, response.text
    assert delivered(simulator, "dialogs", jamie)[-1]["dialog"]["title"] == long_title


def test_expired_forged_and_malformed_trigger_ids_are_refused(
        simulator: RunningSimulator, integration: FakeIntegration) -> None:
    """model/integration_action.go DecodeAndVerifyTriggerId: each failure is 400 with its own id; the lifetime is
    ServiceSettings.OutgoingIntegrationRequestsTimeout (30 s by default); openDialog needs a url first."""
    jamie = simulator.model.user.id
    url = integration.at("/submit")

    def open_with(trigger_id: str, **extra: Any) -> httpx.Response:
        return httpx.post(f"{simulator.url}/api/v4/actions/dialogs/open", json={**dialog(url, trigger_id), **extra})

    expired = simulator.mint_trigger_id(jamie, issued_at_ms=int(time.time() * 1000) - 31_000)
    assert error_id(open_with(expired), 400) == "interactive_message.decode_trigger_id.expired"
    fresh = simulator.mint_trigger_id(jamie, issued_at_ms=int(time.time() * 1000) - 25_000)
    assert open_with(fresh).status_code == 200
    client_id, user_id, millis, signature = base64.b64decode(simulator.mint_trigger_id(jamie)).decode().split(":")
    admin_id = simulator.model.admin.id
    forged = base64.b64encode(f"{client_id}:{admin_id}:{millis}:{signature}".encode()).decode()
    assert error_id(open_with(forged), 400) == "interactive_message.decode_trigger_id.verify_signature_failed"
    not_asn1 = base64.b64encode(f"{client_id}:{user_id}:{millis}:{base64.b64encode(b'xx').decode()}".encode())
    assert error_id(open_with(not_asn1.decode()), 400) == \
        "interactive_message.decode_trigger_id.signature_decode_failed"
    bad_signature = base64.b64encode(f"{client_id}:{user_id}:{millis}:%%%".encode()).decode()
    assert error_id(open_with(bad_signature), 400) == \
        "interactive_message.decode_trigger_id.base64_decode_failed_signature"
    assert error_id(open_with("not base64!"), 400) == "interactive_message.decode_trigger_id.base64_decode_failed"
    assert error_id(open_with(base64.b64encode(b"a:b").decode()), 400) == \
        "interactive_message.decode_trigger_id.missing_data"
    assert error_id(open_with(""), 400) == "interactive_message.decode_trigger_id.missing_data"
    assert error_id(open_with(fresh, url=""), 400) == "api.context.invalid_body_param.app_error"
    assert error_id(httpx.post(f"{simulator.url}/api/v4/actions/dialogs/open", content=b"{"), 400) == \
        "api.context.invalid_body_param.app_error"
    # Another run's key does not verify this run's trigger ids.
    assert error_id(open_with(TriggerIds().generate(jamie)[1]), 400) == \
        "interactive_message.decode_trigger_id.verify_signature_failed"


def test_submitting_a_dialog_returns_the_integrations_errors(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """api4/integration_action.go submitDialog and app SubmitInteractiveDialog: the user id comes from the session,
    the request goes to the url without it as type dialog_submission, and the SubmitDialogResponse is answered
    (an empty one as {})."""
    channel_id = open_channel(simulator, admin)
    team_id = team_ids(simulator)[0]
    url = integration.answer("/submit-errors", body={"errors": {"reason": "Say why"}, "ignored": 1})
    submission = {"url": url, "callback_id": "deploy-1", "state": "s1", "channel_id": channel_id,
                  "team_id": team_id, "user_id": simulator.model.admin.id, "submission": {"reason": ""}}
    response = plain.post("/actions/dialogs/submit", json=submission)
    assert response.status_code == 200 and response.json() == {"errors": {"reason": "Say why"}}
    sent = integration.requests_to("/submit-errors")[-1].json()
    assert sent == {"type": "dialog_submission", "callback_id": "deploy-1", "state": "s1",
                    "user_id": simulator.account_id(PLAIN), "channel_id": channel_id, "team_id": team_id,
                    "submission": {"reason": ""}, "cancelled": False}
    ok = plain.post("/actions/dialogs/submit", json={**submission, "url": integration.answer("/submit-ok", 200, "")})
    assert ok.status_code == 200 and ok.json() == {}
    failing = {**submission, "url": integration.answer("/submit-500", 500)}
    assert error_id(plain.post("/actions/dialogs/submit", json=failing), 400) == \
        "api.post.do_action.action_integration.app_error"


def test_submitting_a_dialog_needs_the_channel_and_the_team(
        simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client, integration: FakeIntegration) -> None:
    """submitDialog: url required, GetChannel (404), read_channel_content (403), view_team (403), a session (401)."""
    first, second = team_ids(simulator)
    private = create(admin, first, kind="P")["id"]
    url = integration.answer("/submit-any")
    base = {"url": url, "channel_id": private, "team_id": first, "submission": {}}
    assert error_id(plain.post("/actions/dialogs/submit", json=base), 403) == "api.context.permissions.app_error"
    assert error_id(plain.post("/actions/dialogs/submit", json={**base, "channel_id": "z" * 26}), 404) == \
        "app.channel.get.existing.app_error"
    channel_id = open_channel(simulator, admin)
    assert error_id(plain.post("/actions/dialogs/submit", json={**base, "channel_id": channel_id, "team_id": second}),
                    403) == "api.context.permissions.app_error"
    assert error_id(plain.post("/actions/dialogs/submit", json={**base, "url": ""}), 400) == \
        "api.context.invalid_body_param.app_error"
    assert error_id(client_for(simulator).post("/actions/dialogs/submit", json=base), 401) == \
        "api.context.session_expired.app_error"


# ------------------------------------------------------------------------------ edit, delete, pin posts

def test_patch_replaces_the_fields_present(simulator: RunningSimulator, admin: httpx.Client, user: httpx.Client,
                                           plain: httpx.Client) -> None:
    """api4/post.go patchPost + postPatchChecks and app.PatchPost: the author (edit_post) or an admin
    (edit_others_posts) patches; message changes set edit_at; new actions get ids; a gone post is a permission
    error."""
    alerts = by_name(user, team_ids(simulator)[0], "ops-alerts")["id"]
    created = user.post("/posts", json={"channel_id": alerts, "message": "disk at 80 %"}).json()
    response = user.put(f"/posts/{created['id']}/patch", json={"message": "disk at 91 %", "props": {
        "attachments": [{"actions": [{"name": "Ack", "type": "button", "integration": {"url": "http://x/y"}}]}]}})
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["message"] == "disk at 91 %" and patched["edit_at"] == patched["update_at"] > created["update_at"]
    assert valid_id(actions_of(patched)[0]["id"]) and "integration" not in actions_of(patched)[0]
    pinned = user.put(f"/posts/{created['id']}/patch", json={"is_pinned": True}).json()
    assert pinned["is_pinned"] is True and pinned["message"] == "disk at 91 %" and pinned["edit_at"] == \
        patched["edit_at"]
    assert error_id(plain.put(f"/posts/{created['id']}/patch", json={"message": "mine now"}), 403) == \
        "api.context.permissions.app_error"
    assert admin.put(f"/posts/{created['id']}/patch", json={"message": "by admin"}).json()["message"] == "by admin"
    assert error_id(user.put(f"/posts/{created['id']}/patch", content=b"[1"), 400) == \
        "api.context.invalid_body_param.app_error"
    assert error_id(user.put(f"/posts/{created['id']}/patch", json={"message": 5}), 400) == \
        "api.context.invalid_body_param.app_error"
    assert user.delete(f"/posts/{created['id']}").status_code == 200
    assert error_id(user.put(f"/posts/{created['id']}/patch", json={"message": "x"}), 403) == \
        "api.context.permissions.app_error"


def test_update_replaces_the_whole_post(simulator: RunningSimulator, admin: httpx.Client, user: httpx.Client,
                                        plain: httpx.Client) -> None:
    """api4/post.go updatePost and app.UpdatePost: the body's id must be the path's; message, props and is_pinned
    are replaced; edit_at moves when only the attachments change (Post.AttachmentsEqual)."""
    alerts = by_name(user, team_ids(simulator)[0], "ops-alerts")["id"]
    created = user.post("/posts", json={"channel_id": alerts, "message": "m", "props": {"a": 1}}).json()
    attachments = [{"actions": [{"name": "Go", "type": "button", "integration": {"url": "http://x/y"}}]}]
    response = user.put(f"/posts/{created['id']}", json={"id": created["id"], "message": "m",
                                                         "props": {"attachments": attachments}})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["props"]["attachments"][0]["actions"][0]["name"] == "Go" and "a" not in updated["props"]
    assert updated["edit_at"] == updated["update_at"] > 0 and updated["message"] == "m"
    assert error_id(user.put(f"/posts/{created['id']}", json={"id": "x" * 26, "message": "m"}), 400) == \
        "api.context.invalid_body_param.app_error"
    assert error_id(plain.put(f"/posts/{created['id']}", json={"id": created["id"], "message": "m2"}), 403) == \
        "api.context.permissions.app_error"


def test_pin_and_unpin(simulator: RunningSimulator, admin: httpx.Client, plain: httpx.Client) -> None:
    """api4/post.go saveIsPinnedPost: readers of the channel pin and unpin (answer {"status": "OK"}); a private
    channel's post is a permission error for others."""
    channel_id = open_channel(simulator, admin)
    created = admin.post("/posts", json={"channel_id": channel_id, "message": "runbook"}).json()
    assert plain.post(f"/posts/{created['id']}/pin").json() == {"status": "OK"}
    assert admin.get(f"/posts/{created['id']}").json()["is_pinned"] is True
    assert admin.get(f"/channels/{channel_id}/posts").json()["posts"][created["id"]]["is_pinned"] is True
    assert plain.post(f"/posts/{created['id']}/unpin").json() == {"status": "OK"}
    unpinned = admin.get(f"/posts/{created['id']}").json()
    assert unpinned["is_pinned"] is False and unpinned["edit_at"] == 0
    private = create(admin, team_ids(simulator)[0], kind="P")["id"]
    secret = admin.post("/posts", json={"channel_id": private, "message": "secret"}).json()
    assert error_id(plain.post(f"/posts/{secret['id']}/pin"), 403) == "api.context.permissions.app_error"
    assert error_id(plain.post(f"/posts/{'k' * 26}/pin"), 403) == "api.context.permissions.app_error"


def test_delete_is_soft_and_hides_the_post_and_its_replies(simulator: RunningSimulator, admin: httpx.Client,
                                                            user: httpx.Client, plain: httpx.Client) -> None:
    """api4/post.go deletePost and app.DeletePost: the author (delete_post) or an admin (delete_others_posts)
    deletes; GET then answers app.post.get.app_error (404), channel pages leave the post and its replies out, and
    `since` polling reports them with delete_at set."""
    alerts = by_name(user, team_ids(simulator)[0], "ops-alerts")["id"]
    root = user.post("/posts", json={"channel_id": alerts, "message": "to be deleted"}).json()
    reply = admin.post("/posts", json={"channel_id": alerts, "message": "reply", "root_id": root["id"]}).json()
    kept = user.post("/posts", json={"channel_id": alerts, "message": "kept"}).json()
    assert error_id(plain.delete(f"/posts/{root['id']}"), 403) == "api.context.permissions.app_error"
    assert user.delete(f"/posts/{root['id']}").json() == {"status": "OK"}
    for post_id in (root["id"], reply["id"]):
        assert error_id(user.get(f"/posts/{post_id}"), 404) == "app.post.get.app_error"
    page = user.get(f"/channels/{alerts}/posts").json()
    assert root["id"] not in page["order"] and reply["id"] not in page["order"] and kept["id"] in page["order"]
    since = user.get(f"/channels/{alerts}/posts", params={"since": root["create_at"] - 1}).json()
    assert since["posts"][root["id"]]["delete_at"] > 0 and since["posts"][reply["id"]]["delete_at"] > 0
    assert since["posts"][kept["id"]]["delete_at"] == 0
    assert error_id(user.delete(f"/posts/{root['id']}"), 404) == "app.post.get.app_error"
    other = plain.post("/posts", json={"channel_id": alerts, "message": "admin removes this"}).json()
    assert admin.delete(f"/posts/{other['id']}").json() == {"status": "OK"}
    older = user.get(f"/channels/{alerts}/posts", params={"before": kept["id"]}).json()
    assert root["id"] not in older["order"]


def test_control_endpoints_need_the_admin_and_a_user_id(simulator: RunningSimulator) -> None:
    """Simulator control (beside /__simulator__/faults): admin token required, user_id required."""
    for what in ("ephemeral", "dialogs"):
        response = httpx.get(f"{simulator.url}/__simulator__/{what}", params={"user_id": simulator.model.user.id},
                             headers={"Authorization": f"Bearer {simulator.user_token}"})
        assert error_id(response, 403) == "api.context.permissions.app_error"
        response = httpx.get(f"{simulator.url}/__simulator__/{what}",
                             headers={"Authorization": f"Bearer {simulator.admin_token}"})
        assert error_id(response, 400) == "api.context.invalid_body_param.app_error"
    assert delivered(simulator, "dialogs", "nobody") == []


def test_token_for_any_scenario_account(simulator: RunningSimulator) -> None:
    """RunningSimulator.token_for: a session for any account, as POST /users/login makes one."""
    for account in simulator.model.accounts:
        with client_for(simulator, simulator.token_for(account.username)) as client:
            assert client.get("/users/me").json()["id"] == account.id
    with pytest.raises(KeyError):
        simulator.token_for("nobody")
