"""The card's clicks: Mattermost POSTs a PostActionIntegrationRequest here when someone uses a button or a menu on
an incident card (server/public/model/integration_action.go), and shows our PostActionIntegrationResponse: the
``update`` replaces the card post in place, the ``ephemeral_text`` is shown to the person who clicked only.

    POST /hooks/incidents/{environment}/card

Every answer to a readable request is HTTP 200, because Mattermost shows any other status as a bare error; the
refusal is the ephemeral text. The checks, in order: the body (size, depth, JSON), the context's signature (the
same answer for an unknown environment as for a forged context, so environment names cannot be probed), the
channel, the nonce (a replayed or double-clicked button acts once), then staleness: a button drawn at an older
version still acts when what it acts on is as the card showed it (another item was checked meanwhile), and is
refused when it is not (the item was checked by someone else, the stage moved). The service checks the rest,
as for every change: only members of the incident channel may act. Every answer carries the redrawn card, so
each button's nonce is fresh again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from incidents import claims, repository
from incidents.card import CHECK_PREFIX, SELECTED_OPTION, UNCHECK_PREFIX, CardAction, CardContext
from incidents.card_posts import CARD_PATH, DIALOG_PATH, answering_click
from incidents.dialogs import add_item_dialog, dialog_submitted, open_dialog
from incidents.hook_bodies import BodyRefused, parse_json, read_body
from incidents.models import Actor, Incident
from incidents.service import IncidentError, IncidentService
from settings import EnvironmentSettings
from store import StoreError

CLICK_KIND = "incident_card_click"
NOT_OURS = ("This button was not made by the dashboard for this incident (its signature does not check out), so "
            "nothing was done.")
REPLAYED = "This button was already used; nothing was done again. The card shows the incident as it is now."

log = logging.getLogger(__name__)
Resolved = tuple[EnvironmentSettings, IncidentService] | None


def interactive_routes(resolve: Callable[[str], Resolved]) -> list[Route]:
    """The card's and the dialogs' hooks (POST only: http_api answers other methods)."""
    async def card_endpoint(request: Request) -> JSONResponse:
        return await card_click(request, resolve(request.path_params["environment"]))

    async def dialog_endpoint(request: Request) -> JSONResponse:
        return await dialog_submitted(request, resolve(request.path_params["environment"]))

    return [Route(CARD_PATH, card_endpoint, methods=["POST"]), Route(DIALOG_PATH, dialog_endpoint, methods=["POST"])]


async def card_click(request: Request, resolved: Resolved) -> JSONResponse:
    environment = request.path_params["environment"]
    try:
        body = parse_json(await read_body(request))
    except BodyRefused as exc:
        return JSONResponse({"ephemeral_text": str(exc)}, status_code=exc.status)
    if not isinstance(body, dict):
        return JSONResponse({"ephemeral_text": "The body must be a JSON object (a PostActionIntegrationRequest)."},
                            status_code=400)
    service = resolved[1] if resolved else None
    context = service.cards.signer.verify(body.get("context")) if service and service.cards else None
    if service is None or context is None or context.environment != environment:
        return _answer(NOT_OURS)
    click = _Click.read(body, context)
    if click is None:
        return JSONResponse({"ephemeral_text": "The request lacks user_id, user_name or channel_id: is it really "
                                               "from Mattermost?"}, status_code=400)
    token = answering_click.set(context.incident_id)
    try:
        return await _answer_click(service, click)
    except StoreError as exc:
        return _answer(f"The dashboard could not reach its store, so nothing was done: {exc}")
    except Exception:
        log.exception("card click failed in environment %s", environment)
        return _answer("The dashboard failed to handle this click; its log has the details. Nothing was changed.")
    finally:
        answering_click.reset(token)


@dataclass(frozen=True)
class _Click:
    context: CardContext
    actor: Actor
    channel_id: str
    post_id: str
    trigger_id: str
    selected: str

    @classmethod
    def read(cls, body: dict[str, Any], context: CardContext) -> _Click | None:
        text = {name: body.get(name) for name in ("user_id", "user_name", "channel_id", "post_id", "trigger_id")}
        if not all(isinstance(text[name], str) and text[name] for name in ("user_id", "user_name", "channel_id")):
            return None
        selected = body["context"].get(SELECTED_OPTION)
        return cls(context, Actor(text["user_id"], text["user_name"]), text["channel_id"],
                   text["post_id"] if isinstance(text["post_id"], str) else "",
                   text["trigger_id"] if isinstance(text["trigger_id"], str) else "",
                   selected if isinstance(selected, str) else "")


async def _answer_click(service: IncidentService, click: _Click) -> JSONResponse:
    cards = service.cards
    assert cards is not None
    context = click.context
    async with cards.lock(context.incident_id):
        incident = repository.load(service.store, service.environment, context.incident_id)
        if incident is None or incident.channel_id != click.channel_id or context.version > (incident.version or 0):
            return _answer(NOT_OURS)
        # A menu's context is one for all its options: each choice is its own click, acting once.
        once = f"{context.nonce}:{click.selected}" if click.selected else context.nonce
        if claims.claim(service.store, CLICK_KIND, once, service.environment, actor=click.actor.username) is None:
            return await _redrawn(service, incident, click, REPLAYED)
        if not incident.active:
            return await _redrawn(service, incident, click, f"The incident **{incident.name}** has ended.")
        stale = _stale(incident, click)
        if stale:
            return await _redrawn(service, incident, click, stale + " The card now shows it as it is.")
        try:
            changed, said = await _apply(service, incident, click)
        except IncidentError as exc:
            return await _redrawn(service, _latest(service, incident), click, str(exc))
        return await _redrawn(service, changed, click, said)


def _stale(incident: Incident, click: _Click) -> str:
    """Why the button no longer stands for what the card showed; "" when it still does."""
    context = click.context
    if context.action in (CardAction.NEXT, CardAction.PREVIOUS) and incident.stage_index != context.stage_index:
        return f"The incident moved to stage **{incident.stage.name}** before your click."
    wanted = _item_choice(click)
    if wanted is None:
        return ""
    item_id, check = wanted
    for stage in incident.stages:
        item = stage.item(item_id)
        if item is not None:
            if item.checked == check:
                return f"**{item.title}** was already {'checked' if check else 'unchecked'} by someone else."
            return ""
    return "That checklist item was removed before your click."


def _item_choice(click: _Click) -> tuple[str, bool] | None:
    """(item id, check it?) for the item buttons and the item menu; None for other actions."""
    action = click.context.action
    if action in (CardAction.CHECK, CardAction.UNCHECK):
        return click.context.item_id, action == CardAction.CHECK
    if action == CardAction.ITEM_MENU:
        for prefix, check in ((CHECK_PREFIX, True), (UNCHECK_PREFIX, False)):
            if click.selected.startswith(prefix):
                return click.selected.removeprefix(prefix), check
    return None


async def _apply(service: IncidentService, incident: Incident, click: _Click) -> tuple[Incident, str]:
    """Run the change the button stands for; (the incident afterwards, a line for the person, or "")."""
    actor, action = click.actor, click.context.action
    match action:
        case CardAction.CHECK | CardAction.UNCHECK | CardAction.ITEM_MENU:
            choice = _item_choice(click)
            if choice is None:
                raise IncidentError("Choose an item in the menu to check or uncheck it.")
            return await service.set_item(incident.id, actor, choice[0], checked=choice[1], seen=incident), ""
        case CardAction.NEXT | CardAction.PREVIOUS:
            step = 1 if action == CardAction.NEXT else -1
            target = incident.stage_index + step
            if not 0 <= target < len(incident.stages):
                raise IncidentError("There is no stage that way.")
            return await service.change_stage(incident.id, actor, incident.stages[target].name,
                                              seen=incident), ""
        case CardAction.HAND_OVER:
            if not click.selected:
                raise IncidentError("Choose the new commander in the menu.")
            return await service.change_commander(incident.id, actor, click.selected, seen=incident), ""
        case CardAction.ADD_ITEM:
            await _open_add_item(service, incident, click)
            return incident, ""
        case _:
            return await service.end(incident.id, actor, seen=incident), ""


async def _open_add_item(service: IncidentService, incident: Incident, click: _Click) -> None:
    cards = service.cards
    assert cards is not None
    if not click.trigger_id or cards.dialog_url is None:
        raise IncidentError("Mattermost sent no trigger id with the click, so no form can open: add the item with "
                            "/incident add <title>.")
    await service.check_may_change(incident, click.actor)
    dialog = add_item_dialog(cards.signer, incident, click.actor.user_id)
    await open_dialog(service, click.trigger_id, dialog)


def _latest(service: IncidentService, incident: Incident) -> Incident:
    return repository.load(service.store, service.environment, incident.id) or incident


async def _redrawn(service: IncidentService, incident: Incident, click: _Click, said: str) -> JSONResponse:
    cards = service.cards
    assert cards is not None
    drawn = await cards.draw(incident)
    card = cards.card_document(incident.id)
    if click.post_id and (card is None or card.body["post_id"] == click.post_id):
        cards.shown(incident, click.post_id, known=card)  # the answer redraws the card the click came from
    return _answer(said, {"message": drawn["message"], "props": drawn["props"]})


def _answer(ephemeral_text: str, update: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"update": update, "ephemeral_text": ephemeral_text}
    return JSONResponse(body)
