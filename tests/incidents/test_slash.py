"""The /incident slash command: parsing, and every subcommand run through the real service on the simulator."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from incidents import repository
from incidents.mattermost_api import MattermostApi
from incidents.models import ChecklistItem
from incidents.playbooks import Playbook
from incidents.service import (
    CHANNEL_NAME_MAX,
    ITEM_TITLE_MAX,
    NAME_MAX,
    POST_MESSAGE_MAX,
    STAGE_NAME_MAX,
    IncidentService,
)
from incidents.slash import DUPLICATE_WINDOW_S, NOT_ACCEPTED, USAGE, Command, SlashUsageError, handle, parse
from settings import EnvironmentSettings, IncidentSettings, MattermostSettings
from simulator import RunningSimulator
from store import open_store

SLASH_TOKEN = "slash-token-0123456789"
ACTIONS_TOKEN = "actions-token-0123456789"
OUTAGE = Playbook.model_validate({
    "version": 1, "id": "outage", "name": "Outage", "channel_name_template": "t-{slug}",
    "stages": [{"name": "Triage", "items": ["Confirm the outage", "Page on-call"]},
               {"name": "Mitigate", "items": ["Roll back"]},
               {"name": "Resolve"}],
})
SECURITY = Playbook.model_validate({"version": 1, "id": "security", "name": "Security incident",
                                    "stages": [{"name": "Contain"}]})


# -------------------------------------------------------------------------------- shared with test_http_api

def environment_settings(sim: RunningSimulator, **incidents: object) -> EnvironmentSettings:
    chosen = {"team": sim.model.teams[0].name, "slash_token": SecretStr(SLASH_TOKEN),
              "actions_token": SecretStr(ACTIONS_TOKEN), **incidents}
    return EnvironmentSettings(name="production", label="Production",
                               mattermost=MattermostSettings(url=sim.url, token=SecretStr(sim.admin_token)),
                               incidents=IncidentSettings(**chosen))


@pytest.fixture
async def service(simulator, tmp_path):
    """The real service acting with the simulator's admin token (the environment's service account)."""
    store = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    api = MattermostApi(simulator.url, simulator.admin_token, timeout=2)
    yield IncidentService(store, api, {"outage": OUTAGE}, "production")
    await api.aclose()
    store.close()


def form(sim: RunningSimulator, text: str, *, user: int = 1, channel_id: str = "", token: str = SLASH_TOKEN,
         team: int = 0, trigger_id: str | None = None) -> dict[str, str]:
    """What Mattermost posts; `user` indexes the scenario's accounts (0 is the admin, 1.. plain users). Like
    Mattermost, every command gets a trigger_id of its own (server/public/model/command_args.go: TriggerId)."""
    account = sim.model.accounts[user]
    return {"token": token, "team_id": sim.model.teams[team].id, "team_domain": sim.model.teams[team].name,
            "channel_id": channel_id or "channel-without-incident", "channel_name": "whatever",
            "user_id": account.id, "user_name": account.username, "command": "/incident", "text": text,
            "response_url": "https://example.invalid/response", "trigger_id": trigger_id or secrets.token_hex(16)}


def unique_name() -> str:
    return f"Checkout down {secrets.token_hex(3)}"


# ------------------------------------------------------------------------------------------------- parse

@pytest.mark.parametrize(("text", "expected"), [
    ("", Command("help")),
    ("  HELP ", Command("help")),
    ("start Database down", Command("start", "Database down")),
    ("start outage Database   down ~db-down", Command("start", "outage Database   down", "db-down")),
    ("stage next", Command("stage", "next")),
    ("Stage  Mitigate now", Command("stage", "Mitigate now")),
    ("check 2", Command("check", "2")),
    ("uncheck Page on-call", Command("uncheck", "Page on-call")),
    ("add Notify customers", Command("add", "Notify customers")),
    ("remove 3", Command("remove", "3")),
    ("commander @priya.nair", Command("commander", "@priya.nair")),
    ("info", Command("info")),
    ("list", Command("list")),
    ("end", Command("end")),
])
def test_parse_reads_every_subcommand(text, expected):
    assert parse(text) == expected


def test_an_unknown_subcommand_is_named_and_the_usage_listed():
    with pytest.raises(SlashUsageError) as caught:
        parse("resolve now")
    assert str(caught.value).startswith("Unknown subcommand `resolve`.")
    assert USAGE in str(caught.value)


@pytest.mark.parametrize(("text", "says"), [
    ("stage", "needs `next`, `prev` or a stage name"),
    ("check", "needs the item's number or title"),
    ("add", "needs the new item's title"),
    ("commander", "needs the new commander"),
    ("commander @a @b", "takes one user"),
    ("end now", "takes nothing after it (got `now`)"),
    ("start ~db-down", "needs a name before the channel"),
])
def test_missing_or_extra_arguments_say_what_is_expected(text, says):
    with pytest.raises(SlashUsageError) as caught:
        parse(text)
    assert says in str(caught.value)


# ------------------------------------------------------------------------------------- token and toggle

@pytest.mark.parametrize("token", ["", "wrong", SLASH_TOKEN[:-1]])
async def test_a_wrong_or_missing_token_is_refused_and_changes_nothing(simulator, service, token):
    answer = await handle(form(simulator, f"start {unique_name()}", token=token), service,
                          environment_settings(simulator), True)
    assert answer.status_code == 401
    assert answer.body == {"response_type": "ephemeral", "text": NOT_ACCEPTED}
    assert await service.list_all() == []


async def test_without_a_configured_token_every_call_is_refused_alike(simulator, service, caplog):
    """The answer names no environment and says nothing of whether a token is set (the log says which)."""
    answer = await handle(form(simulator, "list"), service, environment_settings(simulator, slash_token=None),
                          True)
    assert (answer.status_code, answer.body["text"]) == (401, NOT_ACCEPTED)
    assert "incidents.slash_token is not set" in caplog.text


async def test_a_form_without_the_caller_is_a_bad_request(simulator, service):
    posted = form(simulator, "list")
    del posted["user_id"]
    answer = await handle(posted, service, environment_settings(simulator), True)
    assert (answer.status_code, answer.body["text"]) == (
        400, "The request lacks user_id: is it really from Mattermost?")


async def test_when_incidents_are_turned_off_the_command_says_so_and_does_nothing(simulator, service):
    answer = await handle(form(simulator, f"start {unique_name()}"), service, environment_settings(simulator),
                          False)
    assert answer.status_code == 200
    assert "Incidents are turned off" in answer.body["text"]
    assert await service.list_all() == []


# ---------------------------------------------------------------------------------- running an incident

async def run(sim, service, text, **kwargs) -> str:
    answer = await handle(form(sim, text, **kwargs), service, environment_settings(sim), True,
                          now=datetime.now(UTC) + timedelta(minutes=75))
    assert answer.status_code == 200, answer.body
    assert answer.body["response_type"] == "ephemeral"
    return answer.body["text"]


async def started(sim, service, name: str | None = None):
    await run(sim, service, f"start {name or unique_name()}")
    return (await service.list_all())[0]


async def test_start_creates_a_private_channel_with_the_starter_as_commander(simulator, service):
    name = unique_name()
    text = await run(simulator, service, f"start {name}")
    incident = (await service.list_all())[0]
    user = simulator.model.accounts[1]
    assert (incident.name, incident.commander_id, incident.playbook_id) == (name, user.id, "outage")
    link = f"{simulator.url}/{simulator.model.teams[0].name}/channels/{incident.channel_name}"
    assert text == (f"Started incident **{name}** with playbook Outage in [~{incident.channel_name}]({link}); "
                    "you are its commander.")
    channel = await service.api.channel(incident.channel_id)
    assert channel["type"] == "P"
    assert await service.api.is_channel_member(incident.channel_id, user.id)


async def test_start_with_a_playbook_and_a_channel_name_of_ones_own(simulator, service):
    service.playbooks["security"] = SECURITY
    channel = f"sec-{secrets.token_hex(3)}"
    await run(simulator, service, f"start security Leaked key ~{channel}")
    incident = (await service.list_all())[0]
    assert (incident.playbook_id, incident.name, incident.channel_name) == ("security", "Leaked key", channel)


async def test_with_several_playbooks_start_asks_which_one(simulator, service):
    service.playbooks["security"] = SECURITY
    text = await run(simulator, service, "start Database down")
    assert text == ("Say which playbook to follow: `/incident start <playbook> <name>`; playbooks: `outage` (Outage), "
                    "`security` (Security incident).")
    assert await service.list_all() == []


async def test_info_shows_commander_stage_checklist_age_and_link(simulator, service):
    incident = await started(simulator, service)
    text = await run(simulator, service, "info", channel_id=incident.channel_id)
    link = f"{simulator.url}/{simulator.model.teams[0].name}/channels/{incident.channel_name}"
    assert text == (f"#### {incident.name}\n"
                    f"Commander: @jamie.chen · Stage: **Triage** (1/3) · started 1 h 15 min ago · "
                    f"Channel: [~{incident.channel_name}]({link})\n\n"
                    "Checklist of stage **Triage**:\n1. [ ] Confirm the outage\n2. [ ] Page on-call")


async def test_check_ticks_the_item_posts_in_the_channel_and_records_the_timeline(simulator, service):
    incident = await started(simulator, service)
    text = await run(simulator, service, "check 1", channel_id=incident.channel_id)
    assert text == "Done.\nChecklist of stage **Triage**:\n1. [x] Confirm the outage\n2. [ ] Page on-call"
    posts = await service.api.posts_since(incident.channel_id, 0)
    assert posts[-1]["message"] == "@jamie.chen checked **Confirm the outage** in stage **Triage**."
    assert service.timeline(incident.id)[-1].type == "item_checked"

    text = await run(simulator, service, "uncheck Confirm the outage", channel_id=incident.channel_id)
    assert "1. [ ] Confirm the outage" in text


async def test_stage_add_remove_commander_and_end(simulator, service):
    incident = await started(simulator, service)
    on = {"channel_id": incident.channel_id}
    assert await run(simulator, service, "stage next", **on) == (
        f"Incident **{incident.name}** is now in stage **Mitigate** (2/3).")
    assert await run(simulator, service, "add Tell customers", **on) == (
        "Added **Tell customers** to stage **Mitigate**.\n"
        "Checklist of stage **Mitigate**:\n1. [ ] Roll back\n2. [ ] Tell customers")
    assert await run(simulator, service, "remove 1", **on) == (
        "Removed.\nChecklist of stage **Mitigate**:\n1. [ ] Tell customers")
    assert await run(simulator, service, "commander @priya.nair", **on) == (
        f"@priya.nair is now the commander of **{incident.name}**.")
    assert await run(simulator, service, "end", **on) == f"Ended incident **{incident.name}**."
    assert not (await service.get(incident.id)).active
    assert await run(simulator, service, "check 1", **on) == (
        f"The incident {incident.name!r} has ended; ended incidents cannot be changed.")


async def test_list_shows_the_teams_active_incidents(simulator, service):
    first = await started(simulator, service)
    second = await started(simulator, service)
    await run(simulator, service, "stage next", channel_id=second.channel_id)
    await run(simulator, service, "end", channel_id=first.channel_id)
    text = await run(simulator, service, "list")
    team = simulator.model.teams[0].name
    assert text.splitlines() == [
        "| Incident | Commander | Stage | Running for |", "|---|---|---|---|",
        f"| [{second.name}]({simulator.url}/{team}/channels/{second.channel_name}) | @jamie.chen | **Mitigate** (2/3) "
        "| 1 h 15 min |",
    ]


async def test_list_without_incidents_says_so(simulator, service):
    assert await run(simulator, service, "list") == "No active incidents in this team."


# -------------------------------------------------------------------------------------------- refusals

async def test_a_command_outside_an_incident_channel_says_where_to_type_it(simulator, service):
    assert await run(simulator, service, "check 1") == (
        "This channel has no incident: type the command in the incident's channel (`/incident list` shows them).")


async def test_an_unknown_subcommand_answers_with_the_usage(simulator, service):
    text = await run(simulator, service, "resolve")
    assert text.startswith("Unknown subcommand `resolve`.") and "`list` show the active incidents" in text


async def test_a_non_member_cannot_change_the_incident(simulator, service):
    incident = await started(simulator, service)
    text = await run(simulator, service, "check 1", user=2, channel_id=incident.channel_id)
    assert text.startswith("@priya.nair is not a member of ~")
    assert not (await service.get(incident.id)).stage.items[0].checked


async def test_starting_in_a_team_one_is_not_in_is_refused(simulator, service):
    text = await run(simulator, service, f"start {unique_name()}", team=1)
    assert text.startswith("@jamie.chen is not a member of this team")
    assert await service.list_all() == []


async def test_an_unknown_stage_lists_the_stages_and_changes_nothing(simulator, service):
    incident = await started(simulator, service)
    text = await run(simulator, service, "stage Investigate", channel_id=incident.channel_id)
    assert text == ("There is no stage 'Investigate' in this incident; its stages are: Triage, Mitigate, Resolve "
                    "(or next, prev).")
    assert (await service.get(incident.id)).stage_index == 0


async def test_a_deleted_channel_is_explained(simulator, service):
    incident = await started(simulator, service)
    await service.api.archive_channel(incident.channel_id)
    text = await run(simulator, service, "stage next", channel_id=incident.channel_id)
    assert f"~{incident.channel_name} was archived or deleted" in text
    assert (await service.get(incident.id)).stage_index == 0


async def test_mattermost_down_is_an_answer_not_an_error(simulator, service):
    incident = await started(simulator, service)
    simulator.faults.set("*", status=503)
    text = await run(simulator, service, "stage next", channel_id=incident.channel_id)
    assert "Mattermost answered HTTP 503" in text and "Nothing was changed" in text
    assert (await service.get(incident.id)).stage_index == 0
    text = await run(simulator, service, "info", channel_id=incident.channel_id)
    assert "Commander: @" + simulator.model.accounts[1].id in text  # the name could not be looked up


async def test_when_only_the_channel_message_fails_the_change_stands_and_the_caller_is_told(simulator, service):
    incident = await started(simulator, service)
    simulator.faults.set("/api/v4/posts", status=503)
    text = await run(simulator, service, "stage next", channel_id=incident.channel_id)
    assert text.startswith(f"Incident **{incident.name}** is now in stage **Mitigate**")
    assert "the change is saved and the message will be posted when Mattermost answers again" in text
    assert (await service.get(incident.id)).stage_index == 1
    assert len(repository.outbox(service.store, "production", status=repository.PENDING)) == 1


# ------------------------------------------------------------------------------------- repeated requests

async def answer_of(sim, service, posted: dict[str, str], now: datetime | None = None) -> str:
    answer = await handle(posted, service, environment_settings(sim), True, now=now)
    assert answer.status_code == 200, answer.body
    return answer.body["text"]


@pytest.mark.parametrize("same", ["trigger_id", "text"])
async def test_the_same_start_sent_twice_at_once_starts_one_incident(simulator, service, same):
    """Mattermost gives each command its own trigger_id (server/public/model/command_args.go: TriggerId); a form
    posted twice repeats it, a command typed twice repeats the user and text. Either way one incident starts and
    both answers are the first one's."""
    text = f"start {unique_name()}"
    first = form(simulator, text)
    second = {**first} if same == "trigger_id" else form(simulator, text)
    answers = await asyncio.gather(answer_of(simulator, service, first), answer_of(simulator, service, second))
    [incident] = await service.list_all()
    assert answers[0] == answers[1] and answers[0].startswith(f"Started incident **{incident.name}**")
    assert f"~{incident.channel_name}" in answers[0]


async def test_two_replicas_sharing_a_store_start_a_repeated_command_once(simulator, service, tmp_path):
    """The claim is a store document created with expected_version=None, so it holds across replicas."""
    replica_store = open_store(None, sqlite_path=tmp_path / "store.sqlite3")  # the service fixture's file
    replica_api = MattermostApi(simulator.url, simulator.admin_token, timeout=2)
    replica = IncidentService(replica_store, replica_api, {"outage": OUTAGE}, "production")
    try:
        text = f"start {unique_name()}"
        answers = await asyncio.gather(answer_of(simulator, service, form(simulator, text)),
                                       answer_of(simulator, replica, form(simulator, text)))
        assert len(await service.list_all()) == 1 and answers[0] == answers[1]
    finally:
        await replica_api.aclose()
        replica_store.close()


async def test_a_repeat_is_answered_by_trigger_id_for_good_and_by_text_for_ten_seconds(simulator, service):
    text = f"start {unique_name()}"
    posted = form(simulator, text)
    t0 = datetime.now(UTC)
    first = await answer_of(simulator, service, posted, t0)
    assert await answer_of(simulator, service, {**posted}, t0 + timedelta(minutes=5)) == first
    assert await answer_of(simulator, service, form(simulator, text), t0 + timedelta(seconds=9)) == first
    assert len(await service.list_all()) == 1
    later = await answer_of(simulator, service, form(simulator, text), t0 + timedelta(seconds=DUPLICATE_WINDOW_S + 1))
    assert later.startswith("Started incident") and later != first
    assert len(await service.list_all()) == 2  # typed again after the window: meant


async def test_a_start_that_failed_can_be_sent_again_at_once(simulator, service):
    posted = form(simulator, f"start {unique_name()}")
    simulator.faults.set("/api/v4/channels", status=503)
    assert "Nothing was changed" in await answer_of(simulator, service, posted)
    simulator.faults.clear()
    assert (await answer_of(simulator, service, {**posted})).startswith("Started incident")
    assert len(await service.list_all()) == 1


# ------------------------------------------------------------------------------------------------ limits

async def test_text_over_its_limit_is_refused_naming_the_limit(simulator, service):
    """Mattermost refuses a post over PostMessageMaxRunesV2 (server/public/model/post.go); we refuse what would
    make one, before anything is posted or queued, naming the limit."""
    incident = await started(simulator, service)
    on = {"channel_id": incident.channel_id}
    assert await run(simulator, service, "add " + "x" * 60_000, **on) == (
        f"The checklist item title is 60,000 characters long; at most {ITEM_TITLE_MAX} are allowed.")
    assert await run(simulator, service, "start " + "y" * 300) == (
        f"The incident name is 300 characters long; at most {NAME_MAX} are allowed.")
    assert await run(simulator, service, "stage " + "z" * 300, **on) == (
        f"The stage name is 300 characters long; at most {STAGE_NAME_MAX} are allowed.")
    assert await run(simulator, service, "start Db down ~" + "c" * 70) == (
        f"The channel name is 70 characters long; at most {CHANNEL_NAME_MAX} are allowed.")
    assert "at most 65 are allowed" in await run(simulator, service, "commander @" + "u" * 80, **on)
    assert (await service.get(incident.id)).version == 1 and len(await service.list_all()) == 1
    assert repository.outbox(service.store, "production") == []


async def test_what_was_typed_is_quoted_back_short(simulator, service):
    text = await run(simulator, service, "resolve" + "x" * 50_000)
    assert text.startswith("Unknown subcommand `resolvexx") and "…`." in text and len(text) < 2_000


async def test_a_long_checklist_is_shortened_to_fit_one_post(simulator, service):
    """An answer is shown as a post, so it stays within PostMessageMaxRunesV2 (16383 runes): the checklist ends
    in "… and N more" rather than Mattermost refusing it."""
    incident = await started(simulator, service)
    items = tuple(ChecklistItem(f"i{n}", f"{n} " + "w" * 490) for n in range(100))
    stages = (replace(incident.stages[0], items=items), *incident.stages[1:])
    repository.save(service.store, replace(incident, stages=stages), event="item_added", summary="many",
                    user_id=incident.commander_id, actor="test")
    text = await run(simulator, service, "info", channel_id=incident.channel_id)
    assert len(text) <= POST_MESSAGE_MAX
    shown = sum(1 for line in text.splitlines() if line.startswith(tuple(f"{n}. [" for n in range(1, 101))))
    assert 20 < shown < 100 and text.endswith(f"… and {100 - shown} more")
