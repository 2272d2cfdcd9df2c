"""The incident card, the whole loop: the card is posted and pinned in the incident channel; a person clicks in
Mattermost (the simulator's POST /api/v4/posts/{post_id}/actions/{action_id}, as server/channels/api4/
integration_action.go doPostAction); Mattermost POSTs a PostActionIntegrationRequest to our hook on a real port;
we answer a PostActionIntegrationResponse whose `update` Mattermost applies to the post (server/channels/app/
integration_action.go DoPostActionWithCookie). The card's format is server/public/model/slack_attachment.go's
SlackAttachment with integration_action.go's PostActions.

Forged, replayed and stale contexts are posted straight to our hook with the body Mattermost would send, as an
attacker on the network could.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from incidents import repository
from incidents.card import ContextSigner
from incidents.card_actions import NOT_OURS, REPLAYED
from incidents.card_posts import CARD_KIND, CardKeeper
from incidents.http_api import routes
from incidents.mattermost_api import MattermostApi
from incidents.models import Actor, EventType, Incident
from incidents.playbooks import Playbook
from incidents.service import IncidentService
from simulator import RunningSimulator
from simulator.threaded_server import serve_in_thread
from store import Store, open_store
from tests.incidents.test_slash import OUTAGE, environment_settings, unique_name

SIGNER = ContextSigner(b"a test key of at least thirty-two bytes")
LONG = Playbook.model_validate({"version": 1, "id": "long", "name": "Long checklist",
                                "stages": [{"name": "Work", "items": [f"Step {n}" for n in range(1, 8)]},
                                           {"name": "Done"}]})


@dataclass
class Hooks:
    """Our hook endpoints serving on a real port with the runtime's own service, and a second service (as the
    incidents page has) that shares the store."""

    url: str
    page: IncidentService
    store: Store
    received: list[dict[str, Any]]  # every body Mattermost posted to the card hook
    resolved: dict[str, tuple[Any, IncidentService]]  # what the hooks' resolver answers, by environment
    trigger: str = "incident"


@pytest.fixture
async def hooks(simulator, tmp_path) -> AsyncIterator[Hooks]:
    store = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    playbooks = {"outage": OUTAGE, "long": LONG}
    settings = environment_settings(simulator)
    resolved: dict[str, tuple[Any, IncidentService]] = {}
    received: list[dict[str, Any]] = []
    app = Starlette(routes=routes(lambda name: resolved.get(name)))  # all hooks, as serve.py mounts them

    async def recording(scope, receive, send):
        if scope["type"] == "http" and scope["path"].endswith("/card"):
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            with contextlib.suppress(ValueError, RecursionError):
                received.append(json.loads(body))

            async def replay():
                return {"type": "http.request", "body": body, "more_body": False}
            return await app(scope, replay, send)
        return await app(scope, receive, send)

    server = serve_in_thread(recording, "incident-hooks")
    hook_api = MattermostApi(simulator.url, simulator.admin_token, timeout=5)
    resolved["production"] = (settings, IncidentService(
        store, hook_api, playbooks, "production",
        cards=CardKeeper(store, hook_api, "production", signer=SIGNER, dashboard_url=server.url)))
    page_api = MattermostApi(simulator.url, simulator.admin_token, timeout=5)
    page = IncidentService(store, page_api, playbooks, "production",
                           cards=CardKeeper(store, page_api, "production", signer=SIGNER, dashboard_url=server.url))
    yield Hooks(server.url, page, store, received, resolved)
    await page_api.aclose()
    server.stop()
    store.close()


def responder(sim: RunningSimulator) -> Actor:
    account = next(a for a in sim.model.accounts if a.username == sim.user_username)
    return Actor(account.id, account.username)


def mattermost(sim: RunningSimulator, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{sim.url}/api/v4", timeout=10,
                             headers={"Authorization": f"Bearer {token or sim.admin_token}"})


async def start(hooks: Hooks, sim: RunningSimulator, playbook: str = "outage") -> Incident:
    return await hooks.page.start(responder(sim), team_id=sim.model.teams[0].id, playbook_id=playbook,
                                  name=unique_name())


async def card_post(hooks: Hooks, sim: RunningSimulator, incident: Incident) -> dict[str, Any]:
    card = hooks.store.get(CARD_KIND, incident.id, "production")
    assert card is not None, "the incident has no card"
    async with mattermost(sim) as mm:
        response = await mm.get(f"/posts/{card.body['post_id']}")
    assert response.status_code == 200, response.text
    return response.json()


def actions(post: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in post["props"]["attachments"][0].get("actions", [])}


async def click(sim: RunningSimulator, post: dict[str, Any], name: str, token: str | None = None,
                selected: str = "") -> httpx.Response:
    action = actions(post)[name]
    body = {"selected_option": selected} if selected else {}
    async with mattermost(sim, token or sim.user_token) as mm:
        return await mm.post(f"/posts/{post['id']}/actions/{action['id']}", json=body)


async def post_to_hook(hooks: Hooks, body: Any, environment: str = "production") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"{hooks.url}/hooks/incidents/{environment}/card", json=body)


def stored_actions(sim: RunningSimulator, post_id: str) -> dict[str, dict[str, Any]]:
    """The card's actions as Mattermost keeps them in its database, integrations and all (clients never see
    these): what an attacker who got hold of a context, or a second person's older card, would send."""
    post = sim._state.messaging.post(post_id)
    return {a["name"]: a for a in post.props["attachments"][0]["actions"]}


def as_mattermost_sends(sim: RunningSimulator, incident: Incident, post: dict[str, Any], action: dict[str, Any],
                        user: Any = None, selected: str = "") -> dict[str, Any]:
    """A PostActionIntegrationRequest (server/public/model/integration_action.go) for `action` on `post`."""
    account = user or next(a for a in sim.model.accounts if a.username == sim.user_username)
    context = dict(action["integration"]["context"])
    if selected:
        context["selected_option"] = selected
    return {"user_id": account.id, "user_name": account.username, "channel_id": incident.channel_id,
            "channel_name": incident.channel_name, "team_id": incident.team_id, "team_domain": "",
            "post_id": post["id"], "trigger_id": "", "type": action["type"], "data_source": "", "context": context}


def current(hooks: Hooks, incident: Incident) -> Incident:
    found = repository.load(hooks.store, "production", incident.id)
    assert found is not None
    return found


def events(hooks: Hooks, incident: Incident, kind: EventType) -> list[Any]:
    return [e for e in repository.timeline(hooks.store, "production", incident.id) if e.type == kind]


# ------------------------------------------------------------------------------------------------ the card

async def test_a_new_incident_has_a_pinned_card_with_its_checklist_and_buttons(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    assert post["is_pinned"] is True
    assert post["channel_id"] == incident.channel_id
    attachment = post["props"]["attachments"][0]
    assert attachment["title"] == f"Incident: {incident.name}"
    assert "Confirm the outage" in attachment["text"]
    assert {f["title"] for f in attachment["fields"]} == {"Commander", "Stage", "Started"}
    names = list(actions(post))
    assert names[:2] == ["Check 1: Confirm the outage", "Check 2: Page on-call"]
    assert {"Next: Mitigate", "Add item", "Hand over to…", "End incident"} <= set(names)
    # Mattermost strips integrations (their URL and our signed context) before clients see a post.
    assert all("integration" not in a for a in actions(post).values())


async def test_a_click_in_mattermost_changes_the_incident_and_updates_the_card_in_place(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    response = await click(simulator, post, "Check 1: Confirm the outage")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "OK"
    assert current(hooks, incident).stage.items[0].checked
    after = await card_post(hooks, simulator, incident)
    assert after["id"] == post["id"]  # the same post, updated
    assert after["is_pinned"] is True  # kept through the update, as upstream's applyPostActionUpdate does
    assert "Uncheck 1: Confirm the outage" in actions(after)
    assert ":white_check_mark: Confirm the outage" in after["props"]["attachments"][0]["text"]
    # Announced in the channel as every change is.
    async with mattermost(simulator) as mm:
        posts = (await mm.get(f"/channels/{incident.channel_id}/posts")).json()["posts"].values()
    assert any("checked **Confirm the outage**" in p["message"] for p in posts)


async def test_stage_buttons_and_end_move_the_incident_and_an_ended_card_has_no_buttons(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    assert (await click(simulator, post, "Next: Mitigate")).status_code == 200
    post = await card_post(hooks, simulator, incident)
    assert current(hooks, incident).stage.name == "Mitigate"
    assert "Back to Triage" in actions(post)
    assert (await click(simulator, post, "End incident")).status_code == 200
    assert not current(hooks, incident).active
    ended = await card_post(hooks, simulator, incident)
    assert actions(ended) == {}
    assert "Ended by @" in ended["props"]["attachments"][0]["text"]


async def test_a_long_checklist_is_a_menu_whose_choice_checks_that_item(hooks, simulator):
    incident = await start(hooks, simulator, playbook="long")
    post = await card_post(hooks, simulator, incident)
    menu = actions(post)["Check or uncheck an item"]
    assert menu["type"] == "select" and len(menu["options"]) == 7
    third = menu["options"][2]["value"]
    assert (await click(simulator, post, "Check or uncheck an item", selected=third)).status_code == 200
    assert [i.checked for i in current(hooks, incident).stage.items][:4] == [False, False, True, False]


async def test_hand_over_makes_the_chosen_user_commander(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    admin = simulator.model.admin
    assert (await click(simulator, post, "Hand over to…", selected=admin.id)).status_code == 200
    assert current(hooks, incident).commander_id == admin.id
    card = (await card_post(hooks, simulator, incident))["props"]["attachments"][0]
    fields = {f["title"]: f["value"] for f in card["fields"]}
    assert fields["Commander"] == f"@{admin.username}"


# ----------------------------------------------------------------------------------- refused, never twice

async def test_a_replayed_click_acts_once(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    await click(simulator, post, "Check 1: Confirm the outage")
    sent = hooks.received[-1]
    response = await post_to_hook(hooks, sent)
    assert response.status_code == 200
    assert response.json()["ephemeral_text"] == REPLAYED
    assert len(events(hooks, incident, EventType.ITEM_CHECKED)) == 1


async def test_a_forged_context_and_an_unknown_environment_get_the_same_answer(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    await click(simulator, post, "Check 1: Confirm the outage")
    forged = json.loads(json.dumps(hooks.received[-1]))
    forged["context"]["item_id"] = "i2"  # the signature no longer covers it
    forged["context"]["nonce"] = "fresh"
    own = await post_to_hook(hooks, forged)
    elsewhere = await post_to_hook(hooks, hooks.received[-1], environment="nowhere")
    assert own.status_code == elsewhere.status_code == 200
    assert own.json() == elsewhere.json() == {"update": None, "ephemeral_text": NOT_OURS}
    assert not current(hooks, incident).stage.items[1].checked


async def test_a_stale_card_is_refused_only_when_what_it_acts_on_changed(hooks, simulator):
    incident = await start(hooks, simulator)
    first = await card_post(hooks, simulator, incident)
    seen = stored_actions(simulator, first["id"])  # the card two people saw, before either clicked
    await click(simulator, first, "Check 1: Confirm the outage")
    # The other person checks item 2 from the card they saw: drawn at an older version, but item 2 is still
    # unchecked, as their card showed it, so it acts.
    late = await post_to_hook(hooks, as_mattermost_sends(simulator, incident, first, seen["Check 2: Page on-call"]))
    assert late.json()["ephemeral_text"] == ""
    assert [i.checked for i in current(hooks, incident).stage.items] == [True, True]
    footer = late.json()["update"]["props"]["attachments"][0]["footer"]
    assert footer.endswith(f"version {current(hooks, incident).version}")
    await click(simulator, first, "Next: Mitigate")
    # Their Next button was drawn in Triage; the incident has moved on, so it does not skip Mitigate.
    stale = await post_to_hook(hooks, as_mattermost_sends(simulator, incident, first, seen["Next: Mitigate"]))
    assert "moved to stage **Mitigate** before your click" in stale.json()["ephemeral_text"]
    assert current(hooks, incident).stage.name == "Mitigate"
    # Their item 1 button is the very one the first click used.
    replay = await post_to_hook(hooks, as_mattermost_sends(simulator, incident, first,
                                                           seen["Check 1: Confirm the outage"]))
    assert replay.json()["ephemeral_text"] == REPLAYED


async def test_only_members_of_the_incident_channel_may_use_the_card(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    outsider = next(a for a in simulator.model.accounts if not a.is_admin and a.username != simulator.user_username)
    # Mattermost itself refuses a non-member of the private channel (no read permission on it); our own check
    # stands behind that for anyone posting to the hook with a context they got hold of.
    body = as_mattermost_sends(simulator, incident, post, stored_actions(simulator, post["id"])[
        "Check 1: Confirm the outage"], user=outsider)
    answer = await post_to_hook(hooks, body)
    assert answer.status_code == 200
    assert f"@{outsider.username} is not a member of ~{incident.channel_name}" in answer.json()["ephemeral_text"]
    assert not current(hooks, incident).stage.items[0].checked


async def test_bodies_nested_too_deep_or_too_large_are_refused(hooks):
    deep = await httpx.AsyncClient(timeout=10).post(f"{hooks.url}/hooks/incidents/production/card",
                                                    content=b"[" * 30_000 + b"]" * 30_000,
                                                    headers={"Content-Type": "application/json"})
    assert deep.status_code == 400
    assert "nests JSON more than 64 levels deep" in deep.json()["ephemeral_text"]
    large = await httpx.AsyncClient(timeout=10).post(f"{hooks.url}/hooks/incidents/production/card",
                                                     content=b'"' + b"x" * 70_000 + b'"',
                                                     headers={"Content-Type": "application/json"})
    assert large.status_code == 413


# --------------------------------------------------------------------------------- changes from elsewhere

async def test_a_change_made_elsewhere_redraws_the_card(hooks, simulator):
    incident = await start(hooks, simulator)
    await hooks.page.set_item(incident.id, responder(simulator), "1", checked=True)
    post = await card_post(hooks, simulator, incident)
    assert "Uncheck 1: Confirm the outage" in actions(post)


async def test_a_deleted_card_is_posted_again_on_the_next_change(hooks, simulator):
    incident = await start(hooks, simulator)
    old = await card_post(hooks, simulator, incident)
    async with mattermost(simulator) as mm:
        assert (await mm.delete(f"/posts/{old['id']}")).status_code == 200
    await hooks.page.set_item(incident.id, responder(simulator), "1", checked=True)
    new = await card_post(hooks, simulator, incident)
    assert new["id"] != old["id"]
    assert new["is_pinned"] is True
    assert "Uncheck 1: Confirm the outage" in actions(new)


async def test_mattermost_down_keeps_the_change_and_the_card_catches_up(hooks, simulator):
    incident = await start(hooks, simulator)
    simulator.faults.set("/api/v4/posts*", status=503)
    await hooks.page.set_item(incident.id, responder(simulator), "1", checked=True)
    simulator.faults.clear()
    assert current(hooks, incident).stage.items[0].checked  # the change stands
    assert "Check 1: Confirm the outage" in actions(await card_post(hooks, simulator, incident))  # not yet drawn
    assert await hooks.page.cards.catch_up() == 1
    assert "Uncheck 1: Confirm the outage" in actions(await card_post(hooks, simulator, incident))


async def test_concurrent_clicks_on_one_card_each_act_once_and_the_card_shows_them_all(hooks, simulator):
    incident = await start(hooks, simulator, playbook="long")
    post = await card_post(hooks, simulator, incident)
    options = actions(post)["Check or uncheck an item"]["options"]
    answers = await asyncio.gather(*(click(simulator, post, "Check or uncheck an item", selected=o["value"])
                                     for o in options))
    assert [a.status_code for a in answers] == [200] * 7
    assert all(i.checked for i in current(hooks, incident).stage.items)
    assert len(events(hooks, incident, EventType.ITEM_CHECKED)) == 7
    await hooks.page.cards.redraw(incident.id)
    assert all(o["text"].startswith("Uncheck")
               for o in actions(await card_post(hooks, simulator, incident))["Check or uncheck an item"]["options"])


# ------------------------------------------------------------------------------------------------- dialogs

async def submit(sim: RunningSimulator, opened: dict[str, Any], incident_channel: str, team_id: str,
                 values: dict[str, Any], token: str | None = None) -> httpx.Response:
    """What the webapp sends when the person presses Submit (SubmitDialogRequest, server/channels/api4/
    integration_action.go submitDialog): the dialog's url, callback_id and state as Mattermost opened it."""
    dialog = opened["dialog"]
    body = {"url": opened["url"], "callback_id": dialog["callback_id"], "state": dialog["state"],
            "channel_id": incident_channel, "team_id": team_id, "submission": values, "cancelled": False}
    async with mattermost(sim, token or sim.user_token) as mm:
        return await mm.post("/actions/dialogs/submit", json=body)


async def test_add_item_opens_a_dialog_whose_submission_adds_the_item_once(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    user_id = responder(simulator).user_id
    assert (await click(simulator, post, "Add item")).status_code == 200
    opened = simulator.dialogs_for(user_id)[-1]
    assert opened["dialog"]["title"] == "Add a checklist item"
    assert opened["url"].endswith("/hooks/incidents/production/dialog")
    empty = await submit(simulator, opened, incident.channel_id, incident.team_id, {"title": "  "})
    assert empty.json() == {"errors": {"title": "Required."}}  # shown beside the field; the form stays open
    done = await submit(simulator, opened, incident.channel_id, incident.team_id, {"title": "Notify customers"})
    assert done.status_code == 200 and done.json() == {}
    twice = await submit(simulator, opened, incident.channel_id, incident.team_id, {"title": "Notify customers"})
    assert twice.json() == {"error": "This form was already submitted; nothing was done again."}
    titles = [i.title for i in current(hooks, incident).stage.items]
    assert titles.count("Notify customers") == 1
    assert "Check 3: Notify customers" in actions(await card_post(hooks, simulator, incident))


async def test_a_dialog_state_is_bound_to_the_person_it_was_opened_for(hooks, simulator):
    incident = await start(hooks, simulator)
    post = await card_post(hooks, simulator, incident)
    await click(simulator, post, "Add item")
    opened = simulator.dialogs_for(responder(simulator).user_id)[-1]
    # Another person (here the admin, who may read the channel) submits the state they got hold of.
    other = await submit(simulator, opened, incident.channel_id, incident.team_id, {"title": "Sneaky"},
                         token=simulator.admin_token)
    assert other.json() == {"error": "This form was not opened by the dashboard for you (its state does not check "
                                     "out); nothing was done."}
    assert "Sneaky" not in [i.title for i in current(hooks, incident).stage.items]


# ------------------------------------------------------------------------------------------ slash command

async def registered_command(hooks: Hooks, sim: RunningSimulator) -> str:
    """/incident registered in Mattermost (POST /api/v4/commands, server/channels/api4/command.go createCommand),
    its token given to the environment's settings as an admin would. The trigger is the test's own (the
    simulator is shared): the command sends only the text after it."""
    team = sim.model.teams[0]
    hooks.trigger = f"incident{secrets.token_hex(3)}"
    async with mattermost(sim) as mm:
        answer = await mm.post("/commands", json={"team_id": team.id, "trigger": hooks.trigger, "method": "P",
                                                  "url": f"{hooks.url}/hooks/incidents/production/slash"})
    assert answer.status_code == 201, answer.text
    _, service = hooks.resolved["production"]
    hooks.resolved["production"] = (environment_settings(sim, slash_token=SecretStr(answer.json()["token"])),
                                    service)
    return team.id


def a_channel_of(sim: RunningSimulator, team_id: str, user_id: str) -> str:
    store = sim._state.messaging
    return next(c.id for c in store.team_channels(team_id) if store.member(c.id, user_id) is not None)


async def execute(hooks: Hooks, sim: RunningSimulator, channel_id: str, team_id: str, text: str) -> dict[str, Any]:
    """What the webapp sends when the person presses Enter on /incident <text> (POST /api/v4/commands/execute)."""
    async with mattermost(sim, sim.user_token) as mm:
        answer = await mm.post("/commands/execute", json={"channel_id": channel_id, "team_id": team_id,
                                                          "command": f"/{hooks.trigger} {text}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_slash_start_alone_opens_a_dialog_that_starts_the_incident_once(hooks, simulator):
    team_id = await registered_command(hooks, simulator)
    user = responder(simulator)
    where = a_channel_of(simulator, team_id, user.user_id)
    answer = await execute(hooks, simulator, where, team_id, "start")
    assert answer["text"] == "Fill in the form Mattermost opened to start the incident."
    opened = simulator.dialogs_for(user.user_id)[-1]
    assert opened["dialog"]["title"] == "Start an incident"
    fields = {e["name"]: e for e in opened["dialog"]["elements"]}
    assert [o["value"] for o in fields["playbook"]["options"]] == ["long", "outage"]
    missing = await submit(simulator, opened, where, team_id, {"name": "", "playbook": "nope"})
    assert missing.json() == {"errors": {"name": "Required.", "playbook": "Choose one of the playbooks listed."}}
    name = unique_name()
    values = {"name": name, "playbook": "outage", "description": "Checkout answers 502 since 10:04."}
    first, second = await asyncio.gather(submit(simulator, opened, where, team_id, values),
                                         submit(simulator, opened, where, team_id, values))
    assert sorted([first.json(), second.json()], key=len) == [
        {}, {"error": "This form was already submitted; nothing was done again."}]
    started = [i for i in await hooks.page.list_all() if i.name == name]
    assert len(started) == 1 and started[0].commander_id == user.user_id
    assert (await card_post(hooks, simulator, started[0]))["is_pinned"]


async def test_slash_list_answers_with_a_card_per_active_incident(hooks, simulator):
    team_id = await registered_command(hooks, simulator)
    incident = await start(hooks, simulator)
    await hooks.page.set_item(incident.id, responder(simulator), "1", checked=True)
    answer = await execute(hooks, simulator, a_channel_of(simulator, team_id, responder(simulator).user_id),
                           team_id, "list")
    cards = {a["title"]: a for a in answer["attachments"]}
    fields = {f["title"]: f["value"] for f in cards[incident.name]["fields"]}
    assert fields["Commander"] == f"@{simulator.user_username}"
    assert fields["Stage"] == "Triage (1/3)"
    assert fields["Checklist"] == "1 of 2 done in this stage"
    assert cards[incident.name]["title_link"].endswith(f"/channels/{incident.channel_name}")


async def test_slash_update_alone_opens_the_status_update_dialog(hooks, simulator):
    team_id = await registered_command(hooks, simulator)
    incident = await start(hooks, simulator)
    answer = await execute(hooks, simulator, incident.channel_id, team_id, "update")
    assert answer["text"] == f"Write the status update for **{incident.name}** in the form Mattermost opened."
    opened = simulator.dialogs_for(responder(simulator).user_id)[-1]
    too_long = await submit(simulator, opened, incident.channel_id, team_id, {"message": "x" * 4001})
    assert too_long.json() == {"errors": {"message": "At most 4,000 characters (this has 4,001)."}}
    done = await submit(simulator, opened, incident.channel_id, team_id, {"message": "Rolled back at 10:20."})
    assert done.json() == {}
    updates = events(hooks, incident, EventType.STATUS_UPDATE)
    assert len(updates) == 1 and "Rolled back at 10:20." in updates[0].summary
