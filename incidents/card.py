"""The incident card: one pinned post in the incident channel showing where the incident stands, with buttons.

Built here as plain values (no I/O); incidents/card_posts.py keeps the post up to date and
incidents/card_actions.py answers the clicks.

The format is Mattermost's: the post's ``props.attachments`` are SlackAttachments (server/public/model/
slack_attachment.go) whose ``actions`` are PostActions (server/public/model/integration_action.go): a ``button``,
or a ``select`` with ``options`` or ``data_source: users``. Each carries an ``integration``: the URL Mattermost
POSTs a PostActionIntegrationRequest to when someone clicks, and a ``context`` handed back as it is (for a select,
with ``selected_option`` added). Mattermost strips integrations before it shows posts to clients, but our
endpoint is on the network for anyone to call, so every context is signed (HMAC-SHA256 under a key derived from
one secret of ours) and names the environment, the incident, the version it was drawn at, what the button acts
on as the card showed it, and a nonce that card_actions accepts once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from incidents.models import Incident

MAX_ITEM_BUTTONS = 5  # more items than this go into one menu: a wall of buttons would bury the stage buttons
BUTTON_TITLE_MAX = 40  # Mattermost draws a button on one line; a long checklist title would run off the card
OPTION_TITLE_MAX = 80
ACTIVE_COLOR, ENDED_COLOR = "#d24b4e", "#8a8a8a"  # hex colours are valid SlackAttachment colours
SIGNATURE = "signature"
SELECTED_OPTION = "selected_option"  # what Mattermost adds to a select's context (DoPostActionWithCookie)
CHECK_PREFIX, UNCHECK_PREFIX = "check:", "uncheck:"  # a menu option's value: what choosing it does, to which item
_KEY_LABEL = b"mmdash incident card context"
_MESSAGE_LABEL = "mmdash-card-1"  # in every signed message, so no other signature of ours can pass for one


class CardAction(StrEnum):
    CHECK = "check"
    UNCHECK = "uncheck"
    ITEM_MENU = "item_menu"  # the menu of items: the chosen option says check or uncheck, and which item
    NEXT = "next"
    PREVIOUS = "previous"
    ADD_ITEM = "add_item"  # opens a dialog for the new item's title
    HAND_OVER = "hand_over"  # a users menu: the chosen user becomes commander
    END = "end"


@dataclass(frozen=True)
class CardContext:
    """What one button stands for, signed into its integration context (every field is text on the wire)."""

    environment: str
    incident_id: str
    version: int  # the incident's store version when the card was drawn
    action: CardAction
    nonce: str  # accepted once (card_actions claims it in the store)
    stage_index: int  # the stage the card showed: a stage move from another stage is stale
    item_id: str = ""  # check / uncheck: the item, shown unchecked (check) or checked (uncheck)


class ContextSigner:
    """Signs and checks contexts (of cards and of dialogs) with a key derived from one secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.digest(secret, _KEY_LABEL, hashlib.sha256)

    def sign(self, context: CardContext) -> dict[str, str]:
        """The integration context Mattermost will hand back: the fields in clear, and their signature."""
        signed = {name: str(value) for name, value in _values(context).items()}
        return {**signed, SIGNATURE: self._signature(signed)}

    def verify(self, raw: Any) -> CardContext | None:
        """The context Mattermost sent back, when we signed exactly these fields; None for anything else."""
        if not isinstance(raw, Mapping):
            return None
        names = [f.name for f in fields(CardContext)]
        values = {name: raw.get(name) for name in names}
        signature = raw.get(SIGNATURE)
        if not isinstance(signature, str) or not all(isinstance(v, str) for v in values.values()):
            return None
        # Compared in constant time before anything is parsed: only our own contexts get further.
        if not hmac.compare_digest(self._signature(values), signature):
            return None
        try:
            return CardContext(values["environment"], values["incident_id"], int(values["version"]),
                               CardAction(values["action"]), values["nonce"], int(values["stage_index"]),
                               values["item_id"])
        except ValueError:
            return None

    def sign_text(self, purpose: str, payload: Mapping[str, str]) -> str:
        """A dialog's ``state``: the payload and its signature in one string, bound to ``purpose``."""
        body = json.dumps({"purpose": purpose, **payload}, sort_keys=True, ensure_ascii=False)
        return json.dumps({"body": body, SIGNATURE: self._signature({"text": body})})

    def verify_text(self, purpose: str, state: Any) -> dict[str, str] | None:
        """The payload of a state made by ``sign_text`` for ``purpose``; None for anything else."""
        try:
            wrapper = json.loads(state) if isinstance(state, str) and len(state) < 4096 else None
        except ValueError:
            return None
        if not isinstance(wrapper, dict) or not isinstance(wrapper.get("body"), str):
            return None
        signature = wrapper.get(SIGNATURE)
        if not isinstance(signature, str) or not hmac.compare_digest(self._signature({"text": wrapper["body"]}),
                                                                     signature):
            return None
        payload = json.loads(wrapper["body"])
        if payload.pop("purpose", None) != purpose:
            return None
        return payload

    def _signature(self, values: Mapping[str, str]) -> str:
        message = json.dumps([_MESSAGE_LABEL, *sorted(values.items())], ensure_ascii=False).encode()
        digest = hmac.digest(self._key, message, hashlib.sha256)
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _values(context: CardContext) -> dict[str, Any]:
    return {f.name: getattr(context, f.name) for f in fields(CardContext)}


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def build_card(incident: Incident, *, signer: ContextSigner, url: str | None, usernames: Mapping[str, str],
               nonce: Callable[[], str] = new_nonce, note: str = "") -> dict[str, Any]:
    """The card post's ``message`` and ``props`` (for a new post, a patch, or an action response's ``update``).

    ``url`` None draws the card without buttons, with a line saying which setting gives it buttons; ``usernames``
    maps user ids to names (an id missing there is shown as it is); ``note`` is a line under the checklist.
    """
    if incident.version is None:
        raise ValueError("Only a saved incident has a card: its buttons carry the version it was drawn at.")
    text = _body(incident, usernames)
    if note:
        text += f"\n\n_{note}_"
    attachment: dict[str, Any] = {
        "fallback": summary(incident),
        "color": ACTIVE_COLOR if incident.active else ENDED_COLOR,
        "title": f"Incident: {incident.name}",
        "text": text,
        "fields": _fields(incident, usernames),
        "footer": f"Incident card · version {incident.version}",
    }
    if incident.active and url:
        attachment["actions"] = _actions(incident, signer, url, nonce)
    elif incident.active:
        attachment["text"] += ("\n\n_This card has no buttons because the dashboard does not know the address "
                               "Mattermost reaches it at: set health.dashboard_url (MMDASH_HEALTH__DASHBOARD_URL)._")
    return {"message": "", "props": {"attachments": [attachment]}}


def list_attachment(incident: Incident, *, usernames: Mapping[str, str], channel_url: str, running_for: str
                    ) -> dict[str, Any]:
    """One active incident as a small card for ``/incident list``: no buttons (those are on the pinned card in
    its channel, which the title links to)."""
    items = incident.stage.items
    checked = sum(1 for item in items if item.checked)
    attachment: dict[str, Any] = {
        "fallback": summary(incident),
        "color": ACTIVE_COLOR if incident.active else ENDED_COLOR,
        "title": incident.name,
        "fields": [
            {"title": "Commander", "value": _name(usernames, incident.commander_id), "short": True},
            {"title": "Stage", "value": f"{incident.stage.name} ({incident.stage_index + 1}/{len(incident.stages)})",
             "short": True},
            {"title": "Running for", "value": running_for, "short": True},
            {"title": "Checklist", "value": f"{checked} of {len(items)} done in this stage", "short": True},
        ],
        "footer": f"~{incident.channel_name}",
    }
    if channel_url:
        attachment["title_link"] = channel_url
    return attachment


def summary(incident: Incident) -> str:
    """One line for notifications and the list: name, state, stage and checklist progress."""
    items = incident.stage.items
    checked = sum(1 for item in items if item.checked)
    state = "active" if incident.active else "ended"
    return (f"Incident {incident.name} ({state}): stage {incident.stage.name} "
            f"({incident.stage_index + 1}/{len(incident.stages)}), {checked} of {len(items)} items checked.")


def _body(incident: Incident, usernames: Mapping[str, str]) -> str:
    stage = incident.stage
    lines = [f"**Checklist of stage {stage.name}**"]
    lines += [f"{n}. {':white_check_mark:' if item.checked else ':white_large_square:'} {item.title}"
              for n, item in enumerate(stage.items, 1)] or ["No checklist items in this stage."]
    if not incident.active and incident.ended_at is not None:
        who = _name(usernames, incident.ended_by or "")
        lines += ["", f"Ended by {who} at {incident.ended_at:%Y-%m-%d %H:%M} UTC."]
    return "\n".join(lines)


def _fields(incident: Incident, usernames: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"title": "Commander", "value": _name(usernames, incident.commander_id), "short": True},
        {"title": "Stage", "value": f"{incident.stage.name} ({incident.stage_index + 1}/{len(incident.stages)})",
         "short": True},
        {"title": "Started", "value": f"{incident.started_at:%Y-%m-%d %H:%M} UTC", "short": True},
    ]


def _name(usernames: Mapping[str, str], user_id: str) -> str:
    return f"@{usernames[user_id]}" if user_id in usernames else user_id


def _actions(incident: Incident, signer: ContextSigner, url: str, nonce: Callable[[], str]) -> list[dict[str, Any]]:
    def integration(action: CardAction, item_id: str = "") -> dict[str, Any]:
        context = CardContext(incident.environment, incident.id, incident.version or 0, action, nonce(),
                              incident.stage_index, item_id)
        return {"url": url, "context": signer.sign(context)}

    # Ids are letters and digits only: Mattermost routes /posts/{post_id}/actions/{action_id:[A-Za-z0-9]+}.
    actions: list[dict[str, Any]] = []
    items = incident.stage.items
    if len(items) <= MAX_ITEM_BUTTONS:
        for n, item in enumerate(items, 1):
            verb, action = ("Uncheck", CardAction.UNCHECK) if item.checked else ("Check", CardAction.CHECK)
            name = f"{verb} {n}: {cut(item.title, BUTTON_TITLE_MAX)}"
            actions.append({"id": f"item{n}", "type": "button", "name": name, "style": "default",
                            "integration": integration(action, item.id)})
    else:
        options = [{"text": f"{'Uncheck' if item.checked else 'Check'} {n}. {cut(item.title, OPTION_TITLE_MAX)}",
                    "value": f"{UNCHECK_PREFIX if item.checked else CHECK_PREFIX}{item.id}"}
                   for n, item in enumerate(items, 1)]
        actions.append({"id": "items", "type": "select", "name": "Check or uncheck an item", "options": options,
                        "integration": integration(CardAction.ITEM_MENU)})
    index = incident.stage_index
    if index > 0:
        previous = incident.stages[index - 1].name
        actions.append({"id": "previous", "type": "button", "name": f"Back to {cut(previous, BUTTON_TITLE_MAX)}",
                        "style": "default", "integration": integration(CardAction.PREVIOUS)})
    if index < len(incident.stages) - 1:
        following = incident.stages[index + 1].name
        actions.append({"id": "next", "type": "button", "name": f"Next: {cut(following, BUTTON_TITLE_MAX)}",
                        "style": "primary", "integration": integration(CardAction.NEXT)})
    actions.append({"id": "additem", "type": "button", "name": "Add item", "style": "default",
                    "integration": integration(CardAction.ADD_ITEM)})
    actions.append({"id": "handover", "type": "select", "name": "Hand over to…", "data_source": "users",
                    "integration": integration(CardAction.HAND_OVER)})
    actions.append({"id": "end", "type": "button", "name": "End incident", "style": "danger",
                    "integration": integration(CardAction.END)})
    return actions


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
