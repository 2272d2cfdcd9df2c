"""Interactive dialogs: the forms Mattermost shows for starting an incident, posting a status update and adding a
checklist item, and their submissions.

The format is upstream's (server/public/model/integration_action.go): we POST an OpenDialogRequest with the
``trigger_id`` Mattermost gave a slash command or a click (it expires within seconds, and names the person the
dialog opens for); on submit Mattermost POSTs a SubmitDialogRequest (callback_id, state, user_id, channel_id,
team_id, submission, cancelled) to our URL and shows a SubmitDialogResponse's ``errors`` beside their fields and
its ``error`` under the form, which stays open. Limits are upstream's: a title of at most 24 characters, display
names of 24, help texts of 150.

The ``state`` is signed and names the environment, the person the dialog was opened for, where, and a nonce: a
submission from anyone else, or of a form already submitted, is refused (the second click on Submit of a slow
form starts nothing).

    POST /hooks/incidents/{environment}/dialog
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from incidents import claims
from incidents.card import ContextSigner, new_nonce
from incidents.hook_bodies import BodyRefused, parse_json, read_body
from incidents.mattermost_api import MattermostApiError, MattermostDown
from incidents.models import Actor, Incident
from incidents.playbooks import Playbook
from incidents.service import (
    DETAILS_MAX,
    ITEM_TITLE_MAX,
    NAME_MAX,
    IncidentError,
    IncidentService,
    Unavailable,
)
from incidents.status_updates import STATUS_UPDATE_MAX_CHARS, post_status_update
from settings import EnvironmentSettings
from store import StoreError

log = logging.getLogger(__name__)

SUBMISSION_KIND = "incident_dialog_submission"
START, UPDATE, ADD_ITEM = "start", "update", "add_item"  # callback ids
_PURPOSE = "dialog"
NOT_OURS = "This form was not opened by the dashboard for you (its state does not check out); nothing was done."
SUBMITTED = "This form was already submitted; nothing was done again."
Resolved = tuple[EnvironmentSettings, IncidentService] | None


# ------------------------------------------------------------------------------------------------ forms

def _state(signer: ContextSigner, environment: str, callback: str, user_id: str, **where: str) -> str:
    return signer.sign_text(_PURPOSE, {"environment": environment, "callback": callback, "user_id": user_id,
                                       "nonce": new_nonce(), **where})


def start_dialog(signer: ContextSigner, environment: str, playbooks: dict[str, Playbook], *, user_id: str,
                 team_id: str, channel_id: str, name: str = "") -> dict[str, Any]:
    options = [{"text": playbook.name, "value": key} for key, playbook in sorted(playbooks.items())]
    return {
        "callback_id": START,
        "title": "Start an incident",
        "introduction_text": "A private channel is made for the incident, with its checklist pinned; you become "
                             "its commander unless you choose someone else.",
        "elements": [
            {"display_name": "Name", "name": "name", "type": "text", "default": name[:150],
             "placeholder": "Checkout is down", "max_length": NAME_MAX},
            {"display_name": "Playbook", "name": "playbook", "type": "select", "options": options,
             "default": options[0]["value"] if len(options) == 1 else ""},
            {"display_name": "Commander", "name": "commander", "type": "select", "data_source": "users",
             "optional": True, "help_text": "Leave empty to lead it yourself."},
            {"display_name": "Channel name", "name": "channel_name", "type": "text", "optional": True,
             "max_length": 64, "placeholder": "outage-checkout",
             "help_text": "Lowercase letters, digits, - and _; leave empty for the playbook's own name."},
            {"display_name": "Description", "name": "description", "type": "textarea", "optional": True,
             "max_length": DETAILS_MAX, "placeholder": "What is happening, since when, who is affected"},
        ],
        "submit_label": "Start",
        "state": _state(signer, environment, START, user_id, team_id=team_id, channel_id=channel_id),
    }


def update_dialog(signer: ContextSigner, incident: Incident, user_id: str) -> dict[str, Any]:
    return {
        "callback_id": UPDATE,
        "title": "Post a status update",
        "introduction_text": f"For **{incident.name}**: posted in the incident channel and its announcement "
                             "channels, and kept on the timeline.",
        "elements": [{"display_name": "Update", "name": "message", "type": "textarea",
                      "max_length": STATUS_UPDATE_MAX_CHARS,
                      "placeholder": "What changed, what is next, when the next update comes"}],
        "submit_label": "Post",
        "state": _state(signer, incident.environment, UPDATE, user_id, incident_id=incident.id),
    }


def add_item_dialog(signer: ContextSigner, incident: Incident, user_id: str) -> dict[str, Any]:
    return {
        "callback_id": ADD_ITEM,
        "title": "Add a checklist item",
        "introduction_text": f"Added to stage **{incident.stage.name}** of **{incident.name}**.",
        "elements": [{"display_name": "Title", "name": "title", "type": "text", "max_length": ITEM_TITLE_MAX,
                      "placeholder": "Notify customers"}],
        "submit_label": "Add",
        "state": _state(signer, incident.environment, ADD_ITEM, user_id, incident_id=incident.id),
    }


async def open_dialog(service: IncidentService, trigger_id: str, dialog: dict[str, Any]) -> None:
    """Ask Mattermost to show the dialog to whoever the trigger id names; IncidentError with a sentence if not."""
    cards = service.cards
    if cards is None or cards.dialog_url is None:
        raise IncidentError("The dashboard does not know the address Mattermost reaches it at, so it cannot open a "
                            "form: set health.dashboard_url (MMDASH_HEALTH__DASHBOARD_URL).")
    try:
        await service.api.open_dialog(trigger_id, cards.dialog_url, dialog)
    except MattermostDown as exc:
        raise Unavailable(f"{exc.sentence} Nothing was changed.") from exc
    except MattermostApiError as exc:
        raise IncidentError(f"Mattermost did not open the form ({exc.sentence}); a trigger id lasts only a few "
                            "seconds, so type the command again.") from exc


# ------------------------------------------------------------------------------------------- submission

@dataclass(frozen=True)
class _Submission:
    callback: str
    state: dict[str, str]
    user_id: str
    channel_id: str
    team_id: str
    values: dict[str, Any]
    cancelled: bool

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return " ".join(value.split()) if isinstance(value, str) else ""

    def block(self, name: str) -> str:
        value = self.values.get(name)
        return value.strip() if isinstance(value, str) else ""


async def dialog_submitted(request: Request, resolved: Resolved) -> JSONResponse:
    environment = request.path_params["environment"]
    try:
        body = parse_json(await read_body(request))
    except BodyRefused as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    service = resolved[1] if resolved else None
    submission = _read(body, service)
    if service is None or submission is None or submission.state.get("environment") != environment:
        return JSONResponse({"error": NOT_OURS})
    if submission.cancelled:
        return JSONResponse({})
    errors = _field_errors(submission, service.playbooks)
    if errors:
        return JSONResponse({"errors": errors})
    nonce = submission.state.get("nonce", "")
    version = claims.claim(service.store, SUBMISSION_KIND, nonce, environment, actor=submission.user_id)
    if version is None:
        return JSONResponse({"error": SUBMITTED})
    ok = False
    try:
        answer = await _run(service, submission)
        ok = not answer
        return JSONResponse(answer)
    except StoreError as exc:
        return JSONResponse({"error": f"The dashboard could not reach its store, so nothing was done: {exc}"})
    except Exception:
        log.exception("dialog submission failed in environment %s", environment)
        return JSONResponse({"error": "The dashboard failed to handle this form; its log has the details."})
    finally:
        try:
            claims.settle(service.store, SUBMISSION_KIND, nonce, environment, version, ok=ok,
                          actor=submission.user_id)
        except StoreError as exc:
            log.warning("could not settle the dialog submission %s: %s", nonce, exc)


def _read(body: Any, service: IncidentService | None) -> _Submission | None:
    if not isinstance(body, dict) or service is None or service.cards is None:
        return None
    state = service.cards.signer.verify_text(_PURPOSE, body.get("state"))
    fields = {name: body.get(name) for name in ("callback_id", "user_id", "channel_id", "team_id")}
    values = body.get("submission") or {}
    if state is None or not all(isinstance(v, str) for v in fields.values()) or not isinstance(values, dict):
        return None
    # The state names whom the form was opened for; Mattermost sets user_id from the session of whoever submits.
    if state.get("user_id") != fields["user_id"] or state.get("callback") != fields["callback_id"]:
        return None
    return _Submission(fields["callback_id"], state, fields["user_id"], fields["channel_id"], fields["team_id"],
                       values, body.get("cancelled") is True)


def _field_errors(submission: _Submission, playbooks: dict[str, Playbook]) -> dict[str, str]:
    """What Mattermost shows beside each field; empty when the form can be acted on."""
    errors: dict[str, str] = {}

    def limit(name: str, value: str, most: int, required: bool = True) -> None:
        if required and not value:
            errors[name] = "Required."
        elif len(value) > most:
            errors[name] = f"At most {most:,} characters (this has {len(value):,})."

    if submission.callback == START:
        limit("name", submission.text("name"), NAME_MAX)
        if submission.text("playbook") not in playbooks:
            errors["playbook"] = "Choose one of the playbooks listed."
        limit("channel_name", submission.text("channel_name"), 64, required=False)
        limit("description", submission.block("description"), DETAILS_MAX, required=False)
    elif submission.callback == UPDATE:
        limit("message", submission.block("message"), STATUS_UPDATE_MAX_CHARS)
    elif submission.callback == ADD_ITEM:
        limit("title", submission.text("title"), ITEM_TITLE_MAX)
    return errors


async def _run(service: IncidentService, submission: _Submission) -> dict[str, Any]:
    """Act on a valid form; {} when done, else a SubmitDialogResponse naming what went wrong."""
    try:
        user = await service.api.user(submission.user_id)
    except MattermostApiError as exc:
        return {"error": f"Mattermost could not say who submitted the form: {exc.sentence}"}
    actor = Actor(user["id"], user["username"])
    try:
        if submission.callback == START:
            await _start(service, submission, actor)
        elif submission.callback == UPDATE:
            await post_status_update(service, submission.state["incident_id"], actor, submission.block("message"))
        else:
            await service.add_item(submission.state["incident_id"], actor, submission.text("title"))
    except IncidentError as exc:
        field = "channel_name" if submission.callback == START and "channel" in str(exc) else ""
        return {"errors": {field: str(exc)}} if field else {"error": str(exc)}
    return {}


async def _start(service: IncidentService, submission: _Submission, actor: Actor) -> None:
    incident = await service.start(actor, team_id=submission.state["team_id"],
                                   playbook_id=submission.text("playbook"), name=submission.text("name"),
                                   channel_name=submission.text("channel_name") or None,
                                   details=submission.block("description") or None)
    commander = submission.text("commander")
    if commander and commander != actor.user_id:
        try:
            await service.change_commander(incident.id, actor, commander)
        except IncidentError as exc:
            # The incident stands; the form closes, and the channel says why the hand-over did not happen.
            log.info("incident %s started without the chosen commander: %s", incident.id, exc)
