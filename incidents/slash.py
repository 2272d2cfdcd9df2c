"""The /incident slash command: parse what a person typed and run it against the incident service.

Mattermost posts the command as a form (token, team_id, channel_id, user_id, user_name, text, ...) and shows our
JSON answer. Every answer is ephemeral: the changes themselves are announced in the incident channel by the
service, so repeating them here would only say it twice. A refused or failed command answers with the
service's own sentence; only a wrong token (401) or a form lacking the caller (400) is an HTTP error, so
nothing happens for a caller who is not Mattermost.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.mattermost_api import MattermostApiError, MattermostDown
from incidents.models import Actor, Incident
from incidents.playbooks import Playbook
from incidents.service import IncidentError, IncidentService
from settings import EnvironmentSettings
from store import StoreError

USAGE = """\
`/incident` commands:
- `start [playbook] <name> [~channel-name]` start an incident (you become its commander)
- `end` end the incident of this channel
- `stage next|prev|<stage name>` move the incident to another stage
- `check <item>` / `uncheck <item>` tick or untick a checklist item (its number in the current stage, or its title)
- `add <title>` add an item to the current stage's checklist
- `remove <item>` remove a checklist item
- `commander @user` hand the incident over
- `info` show the incident of this channel
- `list` show the active incidents of this team
- `help` show this list"""

_NO_ARGUMENT = {"end", "info", "list", "help"}
# subcommand -> what its argument is, for the error when it is missing
_ARGUMENT = {
    "start": "a name for the incident, e.g. `/incident start Database down`",
    "stage": "`next`, `prev` or a stage name",
    "check": "the item's number or title, e.g. `/incident check 1`",
    "uncheck": "the item's number or title, e.g. `/incident uncheck 1`",
    "add": "the new item's title, e.g. `/incident add Notify customers`",
    "remove": "the item's number or title, e.g. `/incident remove 3`",
    "commander": "the new commander, e.g. `/incident commander @alice`",
}
_FORM_FIELDS = ("team_id", "channel_id", "user_id", "user_name")


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
        raise SlashUsageError(f"Unknown subcommand `{words[0]}`.\n{USAGE}")
    if name in _NO_ARGUMENT:
        if argument:
            raise SlashUsageError(f"`/incident {name}` takes nothing after it (got `{argument}`).")
        return Command(name)
    if not argument:
        raise SlashUsageError(f"`/incident {name}` needs {_ARGUMENT[name]}.")
    if name == "commander" and len(argument.split()) != 1:
        raise SlashUsageError(f"`/incident commander` takes one user, e.g. `@alice` (got `{argument}`).")
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
    return {"response_type": "ephemeral", "text": text}


async def handle(form: Mapping[str, str], service: IncidentService, settings: EnvironmentSettings, enabled: bool, *,
                 now: datetime | None = None) -> SlashResponse:
    """Run the command Mattermost posted; the answer is always Mattermost's slash-command response format."""
    refused = _check_token(form.get("token", ""), settings)
    if refused:
        return SlashResponse(401, ephemeral(refused))
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
    return SlashResponse(200, ephemeral(text))


def _check_token(given: str, settings: EnvironmentSettings) -> str | None:
    """Why the call is refused, or None. Compared in constant time so the token cannot be guessed piecewise."""
    expected = settings.incidents.slash_token
    if expected is None:
        return (f"The /incident command is not set up for environment {settings.name!r}: set its "
                "incidents.slash_token to the token Mattermost showed when the command was registered.")
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        return ("This request's token does not match the /incident command's token: re-register the command or "
                "update incidents.slash_token.")
    return None


class _Call:
    """One slash command call: who typed it, where, and the answer text for each subcommand."""

    def __init__(self, form: Mapping[str, str], service: IncidentService, now: datetime) -> None:
        self.form = form
        self.service = service
        self.playbooks = service.playbooks
        self.now = now
        self.actor = Actor(user_id=form["user_id"], username=form["user_name"])

    async def run(self, command: Command) -> str:
        if command.name == "help":
            return USAGE
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
                return f"Added **{argument}** to stage **{changed.stage.name}**.\n{_checklist(changed)}"
            case "remove":
                changed = await service.remove_item(incident.id, actor, argument)
                return f"Removed.\n{_checklist(changed)}"
            case _:  # commander; parse() admits no other name
                changed = await service.change_commander(incident.id, actor, argument)
                names = await self.usernames([changed.commander_id])
                return f"@{names[changed.commander_id]} is now the commander of **{changed.name}**."

    async def start(self, command: Command) -> str:
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

    async def list(self) -> str:
        incidents = await self.service.list_active(self.form["team_id"])
        if not incidents:
            return "No active incidents in this team."
        names = await self.usernames([incident.commander_id for incident in incidents])
        rows = [f"| {self.channel_link(i, i.name)} | @{names[i.commander_id]} | {_stage_label(i)} | "
                f"{_age(self.now - i.started_at)} |" for i in incidents]
        return "\n".join(["| Incident | Commander | Stage | Running for |", "|---|---|---|---|", *rows])

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


def _stage_label(incident: Incident) -> str:
    return f"**{incident.stage.name}** ({incident.stage_index + 1}/{len(incident.stages)})"


def _checklist(incident: Incident) -> str:
    items = incident.stage.items
    if not items:
        return f"Stage **{incident.stage.name}** has no checklist items."
    lines = [f"{number}. [{'x' if item.checked else ' '}] {item.title}" for number, item in enumerate(items, 1)]
    return f"Checklist of stage **{incident.stage.name}**:\n" + "\n".join(lines)


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
