"""The /incident slash command: parse what a person typed and run it against the incident service.

Mattermost posts the command as a form (token, team_id, channel_id, user_id, user_name, text, ...) and shows our
JSON answer. Every answer is ephemeral: the changes themselves are announced in the incident channel by the
service, so repeating them here would only say it twice. A refused or failed command answers with the
service's own sentence; only a wrong token (401) or a form lacking the caller (400) is an HTTP error, so
nothing happens for a caller who is not Mattermost. A wrong token, an environment without a slash token and an
environment that does not exist all get the same 401 (NOT_ACCEPTED), so environment names cannot be probed.

`start` is answered once per request: a repeat (the same trigger_id, or the same user, team and text within
DUPLICATE_WINDOW_S of the first answer) gets the first one's answer and starts nothing. The claim is a document
in the store (kind REQUEST_KIND) created with expected_version=None, so of two replicas sharing the store exactly
one runs the command. Answers stay within Mattermost's post limit (server/public/model/post.go,
PostMessageMaxRunesV2): long checklists and lists end in "… and N more".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.card import list_attachment
from incidents.dialogs import open_dialog, start_dialog, update_dialog
from incidents.mattermost_api import MattermostApiError, MattermostDown
from incidents.models import Actor, Incident
from incidents.playbooks import Playbook
from incidents.service import POST_MESSAGE_MAX, IncidentError, IncidentService, fit_lines
from incidents.status_updates import post_status_update
from settings import EnvironmentSettings
from store import ConflictError, Document, StoreError

log = logging.getLogger(__name__)
NOT_ACCEPTED = ("This request's token is not the /incident command's token for this request URL: check the "
                "command's request URL, and that the environment's incidents.slash_token is the token Mattermost "
                "showed when the command was registered.")
REQUEST_KIND = "incident_slash_request"
DUPLICATE_WINDOW_S = 10.0  # the same user, team and `start` text again within this long is the same request
DUPLICATE_WAIT_S = 5.0  # how long a repeat waits for the first to finish, to give its answer
RUNNING_STALE_S = 120.0  # a request still running after this long was cut off (its replica stopped): run again
_POLL_S = 0.05
_SHOWN_MAX = 80  # characters of what was typed quoted back in a refusal
_ANSWER_BUDGET = POST_MESSAGE_MAX - 1500  # for a checklist or list, leaving room for the sentences around it

USAGE = """\
`/incident` commands:
- `start [playbook] <name> [~channel-name]` start an incident (you become its commander); `start` alone opens a form
- `end` end the incident of this channel
- `stage next|prev|<stage name>` move the incident to another stage
- `check <item>` / `uncheck <item>` tick or untick a checklist item (its number in the current stage, or its title)
- `add <title>` add an item to the current stage's checklist
- `remove <item>` remove a checklist item
- `commander @user` hand the incident over
- `update [text]` post a status update (`update` alone opens a form)
- `info` show the incident of this channel
- `list` show the active incidents of this team
- `help` show this list"""

_NO_ARGUMENT = {"end", "info", "list", "help"}
_OPTIONAL_ARGUMENT = {"start", "update"}  # without one, a dialog asks for it
# subcommand -> what its argument is, for the error when it is missing
_ARGUMENT = {
    "start": "a name for the incident, e.g. `/incident start Database down`",
    "stage": "`next`, `prev` or a stage name",
    "check": "the item's number or title, e.g. `/incident check 1`",
    "uncheck": "the item's number or title, e.g. `/incident uncheck 1`",
    "add": "the new item's title, e.g. `/incident add Notify customers`",
    "remove": "the item's number or title, e.g. `/incident remove 3`",
    "commander": "the new commander, e.g. `/incident commander @alice`",
    "update": "the update's text, e.g. `/incident update Rolled back; error rate is normal again`",
}
_FORM_FIELDS = ("team_id", "channel_id", "user_id", "user_name")
LIST_CARDS_MAX = 20  # cards under `/incident list`; the table above them lists every incident


class SlashUsageError(ValueError):
    """What was typed is not a command we know; the message says what is wrong and lists the commands."""


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""  # the rest of the line, spaces kept
    channel_name: str | None = None  # start only: the channel to create (~name), else the playbook's template


@dataclass(frozen=True)
class SlashResponse:
    status_code: int
    body: dict[str, Any] = field(default_factory=dict)


def parse(text: str) -> Command:
    """`/incident <text>` as a Command; raises SlashUsageError naming the problem."""
    words = text.split(maxsplit=1)
    if not words:
        return Command("help")
    name = words[0].lower()
    argument = words[1].strip() if len(words) > 1 else ""
    if name not in _NO_ARGUMENT and name not in _ARGUMENT:
        raise SlashUsageError(f"Unknown subcommand `{_shown(words[0])}`.\n{USAGE}")
    if name in _NO_ARGUMENT:
        if argument:
            raise SlashUsageError(f"`/incident {name}` takes nothing after it (got `{_shown(argument)}`).")
        return Command(name)
    if not argument and name in _OPTIONAL_ARGUMENT:
        return Command(name)
    if not argument:
        raise SlashUsageError(f"`/incident {name}` needs {_ARGUMENT[name]}.")
    if name == "commander" and len(argument.split()) != 1:
        raise SlashUsageError(f"`/incident commander` takes one user, e.g. `@alice` (got `{_shown(argument)}`).")
    if name == "start":
        return _start(argument)
    return Command(name, argument)


def _start(argument: str) -> Command:
    head, _, last = argument.rpartition(" ")
    if not last.startswith("~"):
        return Command("start", argument)
    if not head.strip() or len(last) == 1:
        raise SlashUsageError("`/incident start` needs a name before the channel, e.g. "
                              "`/incident start Database down ~db-down`.")
    return Command("start", head.strip(), last[1:])


def ephemeral(text: str) -> dict[str, str]:
    """The answer only the caller sees; cut to Mattermost's post limit, as it refuses a longer one."""
    if len(text) > POST_MESSAGE_MAX:
        text = text[:POST_MESSAGE_MAX - 1] + "…"
    return {"response_type": "ephemeral", "text": text}


def _shown(typed: str) -> str:
    return typed if len(typed) <= _SHOWN_MAX else typed[:_SHOWN_MAX - 1] + "…"


async def handle(form: Mapping[str, str], service: IncidentService, settings: EnvironmentSettings, enabled: bool, *,
                 now: datetime | None = None) -> SlashResponse:
    """Run the command Mattermost posted; the answer is always Mattermost's slash-command response format."""
    refused = _check_token(form.get("token", ""), settings)
    if refused:
        log.warning("slash command refused in environment %r: %s", settings.name, refused)
        return not_accepted()
    missing = [name for name in _FORM_FIELDS if not form.get(name)]
    if missing:
        return SlashResponse(400, ephemeral(f"The request lacks {', '.join(missing)}: is it really from Mattermost?"))
    if not enabled:
        return SlashResponse(200, ephemeral("Incidents are turned off in the dashboard; an admin can turn them on "
                                            "again on its Incidents page (nothing was lost)."))
    try:
        command = parse(form.get("text", ""))
    except SlashUsageError as exc:
        return SlashResponse(200, ephemeral(str(exc)))
    call = _Call(form, service, now or datetime.now(UTC))
    try:
        text = await call.run(command)
    except IncidentError as exc:
        text = str(exc)
    except StoreError as exc:
        text = f"The dashboard could not reach its store, so nothing was changed: {exc}"
    body: dict[str, Any] = ephemeral(text)
    if call.attachments:
        body["attachments"] = call.attachments  # CommandResponse.Attachments: the list's incident cards
    return SlashResponse(200, body)


def not_accepted() -> SlashResponse:
    """The one answer to a caller who is not authenticated, whether the environment exists or not."""
    return SlashResponse(401, ephemeral(NOT_ACCEPTED))


def _check_token(given: str, settings: EnvironmentSettings) -> str | None:
    """Why the call is refused (for the log only), or None. Compared in constant time so the token cannot be
    guessed piecewise."""
    expected = settings.incidents.slash_token
    if expected is None:
        return "its incidents.slash_token is not set"
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        return "the token does not match incidents.slash_token"
    return None


class _Call:
    """One slash command call: who typed it, where, and the answer text for each subcommand."""

    def __init__(self, form: Mapping[str, str], service: IncidentService, now: datetime) -> None:
        self.form = form
        self.service = service
        self.playbooks = service.playbooks
        self.now = now
        self.actor = Actor(user_id=form["user_id"], username=form["user_name"])
        self.attachments: list[dict[str, Any]] = []

    async def run(self, command: Command) -> str:
        if command.name == "help":
            return USAGE
        if command.name == "start" and not command.argument:
            return await self.start_dialog()
        if command.name == "start":
            return await self.start(command)
        if command.name == "list":
            return await self.list()
        incident = await self.service.by_channel(self.form["channel_id"])
        if incident is None:
            return ("This channel has no incident: type the command in the incident's channel "
                    "(`/incident list` shows them).")
        answer = await self.on_incident(command, incident)
        if command.name != "info" and self.service.pending_messages(incident.id):
            answer += ("\n\nMattermost did not take the message for the incident channel; the change is saved and "
                       "the message will be posted when Mattermost answers again.")
        return answer

    async def on_incident(self, command: Command, incident: Incident) -> str:
        service, actor, argument = self.service, self.actor, command.argument
        match command.name:
            case "info":
                return await self.info(incident)
            case "update" if not argument:
                return await self.update_dialog(incident)
            case "update":
                await post_status_update(service, incident.id, actor, argument)
                return f"Posted your status update for **{incident.name}**."
            case "end":
                await service.end(incident.id, actor)
                return f"Ended incident **{incident.name}**."
            case "stage":
                changed = await service.change_stage(incident.id, actor, argument)
                return f"Incident **{changed.name}** is now in stage {_stage_label(changed)}."
            case "check" | "uncheck":
                changed = await service.set_item(incident.id, actor, argument, checked=command.name == "check")
                return f"Done.\n{_checklist(changed)}"
            case "add":
                changed = await service.add_item(incident.id, actor, argument)
                title = " ".join(argument.split())
                return f"Added **{title}** to stage **{changed.stage.name}**.\n{_checklist(changed)}"
            case "remove":
                changed = await service.remove_item(incident.id, actor, argument)
                return f"Removed.\n{_checklist(changed)}"
            case _:  # commander; parse() admits no other name
                changed = await service.change_commander(incident.id, actor, argument)
                names = await self.usernames([changed.commander_id])
                return f"@{names[changed.commander_id]} is now the commander of **{changed.name}**."

    async def start(self, command: Command) -> str:
        """Start once: a repeat of a request already answered (or running) gets that request's answer."""
        request = _Request(self.service, self.form, self.now)
        first = request.claim()
        if first is not None:
            return await request.answer_of(first)
        try:
            text = await self.start_now(command)
        except IncidentError as exc:
            request.finish(str(exc), started=False)
            raise
        except BaseException:
            request.finish("The same command, sent just before, failed; the dashboard's log has the details.",
                           started=False)
            raise
        request.finish(text, started=True)
        return text

    async def start_now(self, command: Command) -> str:
        playbook, name = self.choose_playbook(command.argument)
        incident = await self.service.start(self.actor, team_id=self.form["team_id"], playbook_id=playbook.id,
                                            name=name, channel_name=command.channel_name)
        return (f"Started incident **{incident.name}** with playbook {playbook.name} in {self.channel_link(incident)}; "
                f"you are its commander.")

    def choose_playbook(self, argument: str) -> tuple[Playbook, str]:
        """The playbook named by the first word if there is one by that id, else the only playbook."""
        first, _, rest = argument.partition(" ")
        if first in self.playbooks and rest.strip():
            return self.playbooks[first], rest.strip()
        if first in self.playbooks:
            raise IncidentError(f"Give the incident a name after the playbook, e.g. `/incident start {first} "
                                "Database down`.")
        if len(self.playbooks) == 1:
            return next(iter(self.playbooks.values())), argument
        if not self.playbooks:
            raise IncidentError("No playbooks are configured, so no incident can be started: add one to "
                                "incidents/playbooks/ (or the environment's incidents.playbooks_dir).")
        known = ", ".join(f"`{key}` ({playbook.name})" for key, playbook in sorted(self.playbooks.items()))
        raise IncidentError(f"Say which playbook to follow: `/incident start <playbook> <name>`; playbooks: {known}.")

    async def info(self, incident: Incident) -> str:
        names = await self.usernames([incident.commander_id])
        state = f"started {_age(self.now - incident.started_at)} ago"
        if not incident.active:
            state = f"ended after {_age(incident.ended_at - incident.started_at)}"
        return (f"#### {incident.name}\n"
                f"Commander: @{names[incident.commander_id]} · Stage: {_stage_label(incident)} · {state} · "
                f"Channel: {self.channel_link(incident)}\n\n{_checklist(incident)}")

    async def start_dialog(self) -> str:
        cards = self.service.cards
        trigger = self.form.get("trigger_id", "")
        if cards is None or not trigger:
            raise IncidentError(f"`/incident start` needs {_ARGUMENT['start']}.")
        if not self.playbooks:
            raise IncidentError("No playbooks are configured, so no incident can be started: add one to "
                                "incidents/playbooks/ (or the environment's incidents.playbooks_dir).")
        dialog = start_dialog(cards.signer, self.service.environment, self.playbooks, user_id=self.actor.user_id,
                              team_id=self.form["team_id"], channel_id=self.form["channel_id"])
        await open_dialog(self.service, trigger, dialog)
        return "Fill in the form Mattermost opened to start the incident."

    async def update_dialog(self, incident: Incident) -> str:
        cards = self.service.cards
        trigger = self.form.get("trigger_id", "")
        if cards is None or not trigger:
            raise IncidentError(f"`/incident update` needs {_ARGUMENT['update']}.")
        await self.service.check_may_change(incident, self.actor)
        await open_dialog(self.service, trigger, update_dialog(cards.signer, incident, self.actor.user_id))
        return f"Write the status update for **{incident.name}** in the form Mattermost opened."

    async def list(self) -> str:
        incidents = await self.service.list_active(self.form["team_id"])
        if not incidents:
            return "No active incidents in this team."
        names = await self.usernames([incident.commander_id for incident in incidents])
        team = self.form.get("team_domain", "")
        self.attachments = [
            list_attachment(i, usernames=names, running_for=_age(self.now - i.started_at),
                            channel_url=self.service.api.channel_url(team, i.channel_name) if team else "")
            for i in incidents[:LIST_CARDS_MAX]]
        rows = [f"| {self.channel_link(i, i.name)} | @{names[i.commander_id]} | {_stage_label(i)} | "
                f"{_age(self.now - i.started_at)} |" for i in incidents]
        return fit_lines("| Incident | Commander | Stage | Running for |\n|---|---|---|---|", rows,
                         limit=_ANSWER_BUDGET)

    def channel_link(self, incident: Incident, text: str | None = None) -> str:
        """A link to the channel in the team the command was typed in (incidents listed are of that team)."""
        label = text or f"~{incident.channel_name}"
        team = self.form.get("team_domain")
        if not team:
            return label
        return f"[{label}]({self.service.api.channel_url(team, incident.channel_name)})"

    async def usernames(self, user_ids: list[str]) -> dict[str, str]:
        """Usernames to show; a user Mattermost cannot tell us about is shown by id rather than failing the answer."""
        names = {user_id: user_id for user_id in user_ids}
        try:
            users = await self.service.api.users_by_ids(sorted(set(user_ids)))
        except (MattermostApiError, MattermostDown):
            return names
        names.update({user["id"]: user["username"] for user in users})
        return names


class _Request:
    """One `/incident start` request, claimed in the store under each of its keys (its trigger_id; its user, team
    and text). The request that creates a key's document runs the command; one that finds the document of a request
    still running, or answered within the window, is a repeat and gives that request's answer."""

    def __init__(self, service: IncidentService, form: Mapping[str, str], now: datetime) -> None:
        self.store = service.store
        self.environment = service.environment
        self.actor = form["user_name"]
        self.now = now
        self.began = asyncio.get_running_loop().time()
        text = " ".join(form.get("text", "").split()).casefold()
        trigger = form.get("trigger_id", "")
        self.keys = [*([f"trigger:{_digest(trigger)}"] if trigger else []),
                     f"text:{_digest(form['team_id'], form['user_id'], text)}"]
        self.claimed: list[Document] = []

    def claim(self) -> Document | None:
        """Claim every key; or the document of the request this one repeats (claiming stops there)."""
        for key in self.keys:
            first = self._claim(key)
            if first is not None:
                return first
        return None

    def _claim(self, key: str) -> Document | None:
        running = {"state": "running", "at": self.now.isoformat(), "answer": ""}
        try:
            self.claimed.append(self._put(key, running, None))
            return None
        except ConflictError:
            current = self.store.get(REQUEST_KIND, key, self.environment)
        if current is not None and _repeated(key, current.body, self.now):
            return current
        try:  # the earlier request is over (or failed): this one takes the key over
            self.claimed.append(self._put(key, running, current.version if current else None))
        except ConflictError:  # ... unless another took it over at the same moment
            return self.store.get(REQUEST_KIND, key, self.environment)
        return None

    async def answer_of(self, first: Document) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DUPLICATE_WAIT_S
        current = first
        while current.body.get("state") == "running" and loop.time() < deadline:
            await asyncio.sleep(_POLL_S)
            current = self.store.get(REQUEST_KIND, first.key, self.environment) or current
        if current.body.get("state") == "running":
            self.finish("", started=False)
            return ("This incident is already being started: the same command arrived twice and the first one is "
                    "still running; its answer names the channel, and `/incident list` shows it once started.")
        answer = str(current.body.get("answer", ""))
        self.finish(answer, started=current.body.get("state") == "done")  # a repeat of this one gets it too
        return answer

    def finish(self, answer: str, *, started: bool) -> None:
        elapsed = timedelta(seconds=asyncio.get_running_loop().time() - self.began)
        body = {"state": "done" if started else "failed", "at": (self.now + elapsed).isoformat(), "answer": answer}
        for document in self.claimed:
            try:
                self._put(document.key, body, document.version)
            except ConflictError:
                pass  # taken over after RUNNING_STALE_S: the newer request answers its repeats
            except StoreError as exc:  # the command ran; only its repeats may run it again
                log.warning("could not record the answer of a /incident start request: %s", exc)
        self.claimed = []

    def _put(self, key: str, body: dict[str, str], version: int | None) -> Document:
        return self.store.put(REQUEST_KIND, key, self.environment, body, actor=self.actor,
                              expected_version=version, audit=False)


def _repeated(key: str, body: Mapping[str, Any], now: datetime) -> bool:
    """Whether a request finding ``body`` under ``key`` repeats the request that wrote it."""
    age = (now - datetime.fromisoformat(body["at"])).total_seconds()
    if body.get("state") == "running":
        return age < RUNNING_STALE_S
    if body.get("state") == "done":
        return key.startswith("trigger:") or age < DUPLICATE_WINDOW_S
    return False  # it failed: trying again is what a person does next


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _stage_label(incident: Incident) -> str:
    return f"**{incident.stage.name}** ({incident.stage_index + 1}/{len(incident.stages)})"


def _checklist(incident: Incident) -> str:
    items = incident.stage.items
    if not items:
        return f"Stage **{incident.stage.name}** has no checklist items."
    lines = [f"{number}. [{'x' if item.checked else ' '}] {item.title}" for number, item in enumerate(items, 1)]
    return fit_lines(f"Checklist of stage **{incident.stage.name}**:", lines, limit=_ANSWER_BUDGET)


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
