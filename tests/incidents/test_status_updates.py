"""Status updates and their reminders against the Mattermost simulator and a real store: what the channels receive,
what the timeline keeps, who may post, and that each due period is reminded once, also by two workers at once and
while Mattermost is down."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from incidents import repository
from incidents.mattermost_api import MattermostApi
from incidents.models import Actor
from incidents.playbooks import PLAYBOOKS_DIR, Playbook, load_playbooks
from incidents.runtime import IncidentRuntime
from incidents.service import IncidentError, IncidentService, NotAllowed
from incidents.status_updates import (
    STATUS_UPDATE_MAX_CHARS,
    announcement_channels,
    next_update_due,
    post_status_update,
    remind_due,
)
from settings import EnvironmentSettings, IncidentSettings, MattermostSettings, Settings
from tests.incidents import test_service
from yaml_files import YamlFileError

# The same fixtures: the admin's API client, the team everyone is in, the admin and the plain user as actors.
admin_api, team, admin, user = test_service.admin_api, test_service.team, test_service.admin, test_service.user

ENVIRONMENT = "production"
INTERVAL = timedelta(minutes=30)


def _playbook(team_name: str, **extra) -> Playbook:
    return Playbook.model_validate({
        "version": 1, "id": "outage", "name": "Outage", "stages": [{"name": "Triage"}, {"name": "Mitigate"}],
        "broadcast_channels": [f"{team_name}/ops-alerts"], "announcement_channels": [f"{team_name}/support"],
        "status_update_interval_minutes": 30, **extra,
    })


@pytest.fixture
def playbooks(team):
    quiet = _playbook(team.name, id="quiet", status_update_interval_minutes=None)
    return {"outage": _playbook(team.name), "quiet": quiet}


@pytest.fixture
def service(store, admin_api, playbooks):
    return IncidentService(store, admin_api, playbooks, ENVIRONMENT)



async def _start(service, admin, team, playbook_id: str = "outage"):
    return await service.start(admin, team_id=team.id, playbook_id=playbook_id,
                               name=f"Checkout down {uuid.uuid4().hex[:6]}")


async def _messages(api: MattermostApi, channel_id: str, since_ms: int = 0) -> list[str]:
    return [p["message"] for p in await api.posts_since(channel_id, since_ms)]


async def _channel_id(api: MattermostApi, team, name: str) -> str:
    return (await api.channel_by_name(team.id, name))["id"]


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _reminder(admin: Actor, incident, when: str) -> str:
    return (f"@{admin.username}, a status update for **{incident.name}** is due ({when}); post it with "
            "/incident update")


# -- posting -------------------------------------------------------------------------------------------------

async def test_an_update_lands_in_the_channel_the_announcement_channel_and_the_timeline(service, admin_api, admin,
                                                                                       team):
    support, alerts = await _channel_id(admin_api, team, "support"), await _channel_id(admin_api, team, "ops-alerts")
    incident = await _start(service, admin, team)
    since = _now_ms()
    text = "Rolled back release 7.2; error rate is falling.\nNext update in 30 minutes."
    await post_status_update(service, incident.id, admin, "  " + text + "\n")

    me = f"@{admin.username}"
    assert (await _messages(admin_api, incident.channel_id))[-1] == f"**Status update** from {me}:\n\n{text}"
    assert (f"**Status update** on **{incident.name}** (~{incident.channel_name}) from {me}:\n\n{text}"
            in await _messages(admin_api, support, since))
    assert not [m for m in await _messages(admin_api, alerts, since) if incident.name in m]  # not the broadcast one
    event = service.timeline(incident.id)[-1]
    assert (event.type, event.actor, event.details) == ("status_update", admin.user_id, {"message": text})
    assert event.summary == f"{me} posted a status update: {text}"


async def test_without_announcement_channels_updates_go_to_the_broadcast_channels(team):
    defaulted = Playbook.model_validate({"version": 1, "id": "p", "name": "P", "stages": [{"name": "S"}],
                                         "broadcast_channels": [f"{team.name}/ops-alerts"]})
    assert announcement_channels(defaulted) == [f"{team.name}/ops-alerts"]
    assert announcement_channels(defaulted.model_copy(update={"announcement_channels": []})) == []


async def test_only_channel_members_or_automation_may_post(service, admin, user, team):
    incident = await _start(service, admin, team)
    with pytest.raises(NotAllowed, match=f"@{user.username} is not a member of ~{incident.channel_name}"):
        await post_status_update(service, incident.id, user, "All good from here")
    await post_status_update(service, incident.id, Actor("automation", "statuspage", automation=True), "Degraded")
    assert [e.type for e in service.timeline(incident.id)] == ["incident_started", "status_update"]


@pytest.mark.parametrize(("text", "words"), [
    ("   \n", "Write the status update after the command"),
    ("x" * (STATUS_UPDATE_MAX_CHARS + 1), "at most 4,000 characters; this one has 4,001"),
])
async def test_empty_or_too_long_updates_are_refused(service, admin_api, admin, team, text, words):
    incident = await _start(service, admin, team)
    with pytest.raises(IncidentError, match=words):
        await post_status_update(service, incident.id, admin, text)
    assert [e.type for e in service.timeline(incident.id)] == ["incident_started"]
    assert len(await _messages(admin_api, incident.channel_id)) == 1  # only the start message


async def test_an_update_of_the_longest_length_is_taken(service, admin, team):
    incident = await _start(service, admin, team)
    await post_status_update(service, incident.id, admin, "y" * STATUS_UPDATE_MAX_CHARS)
    assert service.timeline(incident.id)[-1].details["message"] == "y" * STATUS_UPDATE_MAX_CHARS


async def test_ended_incidents_take_no_updates(service, admin, team):
    incident = await _start(service, admin, team)
    await service.end(incident.id, admin)
    with pytest.raises(IncidentError, match="has ended"):
        await post_status_update(service, incident.id, admin, "Still here")


# -- when the next one is due --------------------------------------------------------------------------------

async def test_the_next_update_is_due_an_interval_after_the_start_then_after_the_last_update(service, playbooks,
                                                                                           admin, team):
    incident = await _start(service, admin, team)
    outage = playbooks["outage"]
    assert next_update_due(incident, service.timeline(incident.id), outage) == incident.started_at + INTERVAL
    await post_status_update(service, incident.id, admin, "Investigating")
    timeline = service.timeline(incident.id)
    assert next_update_due(incident, timeline, outage) == timeline[-1].at + INTERVAL
    assert next_update_due(incident, timeline, playbooks["quiet"]) is None
    ended = await service.end(incident.id, admin)
    assert next_update_due(ended, service.timeline(incident.id), outage) is None


# -- reminders -----------------------------------------------------------------------------------------------

async def test_each_due_period_is_reminded_once(service, admin_api, admin, team):
    incident = await _start(service, admin, team)
    quiet = await _start(service, admin, team, "quiet")  # no interval: never reminded
    start = incident.started_at
    assert await remind_due(service, start + INTERVAL - timedelta(seconds=1)) == 0
    assert await remind_due(service, start + INTERVAL + timedelta(minutes=1)) == 1
    assert await remind_due(service, start + INTERVAL + timedelta(minutes=20)) == 0  # same period
    assert await remind_due(service, start + 2 * INTERVAL + timedelta(minutes=2)) == 1  # still none: next period

    messages = await _messages(admin_api, incident.channel_id)
    assert messages[1:] == [_reminder(admin, incident, "none since the start 31 min ago"),
                            _reminder(admin, incident, "none since the start 62 min ago")]
    events = [e for e in service.timeline(incident.id) if e.type == "update_reminder"]
    assert [e.details["due_at"] for e in events] == [(start + INTERVAL).isoformat(),
                                                     (start + 2 * INTERVAL).isoformat()]
    assert all(e.actor == "system" for e in events)
    assert [e.type for e in service.timeline(quiet.id)] == ["incident_started"]


async def test_an_update_moves_the_reminder_and_restarted_workers_do_not_repeat_it(store, simulator, playbooks,
                                                                                  admin_api, admin, team):
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    service = IncidentService(store, admin_api, playbooks, ENVIRONMENT, clock=lambda: an_hour_ago)
    incident = await _start(service, admin, team)
    assert await remind_due(service, datetime.now(UTC)) == 1
    await post_status_update(service, incident.id, admin, "Investigating")
    posted = service.timeline(incident.id)[-1].at
    assert await remind_due(service, posted + timedelta(minutes=1)) == 0  # just updated
    assert await remind_due(service, posted + INTERVAL - timedelta(seconds=1)) == 0
    assert await remind_due(service, posted + INTERVAL + timedelta(minutes=4)) == 1
    assert (await _messages(admin_api, incident.channel_id))[-1] == _reminder(admin, incident, "last one 34 min ago")

    async with MattermostApi(simulator.url, simulator.admin_token, timeout=2) as api:  # a restarted dashboard
        restarted = IncidentService(store, api, playbooks, ENVIRONMENT)
        assert await remind_due(restarted, posted + INTERVAL + timedelta(minutes=5)) == 0


def _remind_in_own_loop(simulator, store, playbooks, now: datetime) -> int:
    """A second dashboard replica: its own thread, event loop and Mattermost client, the same store."""
    async def run() -> int:
        async with MattermostApi(simulator.url, simulator.admin_token, timeout=5) as api:
            return await remind_due(IncidentService(store, api, playbooks, ENVIRONMENT), now)
    return asyncio.run(run())


async def test_two_workers_at_once_post_one_reminder(service, store, simulator, playbooks, admin_api, admin, team):
    incident = await _start(service, admin, team)
    now = incident.started_at + INTERVAL + timedelta(minutes=1)
    counts = await asyncio.gather(*(asyncio.to_thread(_remind_in_own_loop, simulator, store, playbooks, now)
                                    for _ in range(2)))
    assert sorted(counts) == [0, 1]
    assert [m for m in await _messages(admin_api, incident.channel_id) if "is due" in m] == [
        _reminder(admin, incident, "none since the start 31 min ago")]
    assert [e.type for e in service.timeline(incident.id)].count("update_reminder") == 1


async def test_ended_incidents_are_not_reminded(service, admin_api, admin, team):
    incident = await _start(service, admin, team)
    await service.end(incident.id, admin)
    assert await remind_due(service, incident.started_at + 5 * INTERVAL) == 0
    assert not [m for m in await _messages(admin_api, incident.channel_id) if "is due" in m]


async def test_nothing_is_reminded_while_incidents_are_turned_off(service, store, admin, team):
    incident = await _start(service, admin, team)
    repository.set_incidents_enabled(store, False, actor="dana")
    assert await remind_due(service, incident.started_at + 2 * INTERVAL) == 0
    repository.set_incidents_enabled(store, True, actor="dana")
    assert await remind_due(service, incident.started_at + 2 * INTERVAL) == 1


# -- Mattermost down -----------------------------------------------------------------------------------------

async def test_an_update_mattermost_does_not_take_waits_in_the_outbox(simulator, service, admin_api, admin, team):
    support = await _channel_id(admin_api, team, "support")
    incident = await _start(service, admin, team)
    since = _now_ms()
    simulator.faults.set("/api/v4/posts", status=500)
    await post_status_update(service, incident.id, admin, "Failing over to the second region")
    assert service.timeline(incident.id)[-1].type == "status_update"  # the update counts already
    assert service.pending_messages(incident.id) == 2  # the incident channel and the announcement channel
    simulator.faults.clear()

    assert await service.flush_outbox() == 2
    me = f"@{admin.username}"
    assert (await _messages(admin_api, incident.channel_id))[-1] == (
        f"**Status update** from {me}:\n\nFailing over to the second region")
    assert any(m.startswith(f"**Status update** on **{incident.name}**") for m in
               await _messages(admin_api, support, since))


async def test_a_reminder_while_mattermost_is_down_goes_out_later_and_only_once(simulator, service, admin_api,
                                                                               admin, team):
    incident = await _start(service, admin, team)
    now = incident.started_at + INTERVAL + timedelta(minutes=1)
    simulator.faults.set("*", status=503)  # all of Mattermost, even the commander's name
    assert await remind_due(service, now) == 1
    assert await remind_due(service, now + timedelta(minutes=1)) == 0  # kept, not reminded twice
    assert service.pending_messages(incident.id) == 1
    assert [e.type for e in service.timeline(incident.id)].count("update_reminder") == 1
    simulator.faults.clear()

    assert await service.flush_outbox() == 1
    [reminder] = [m for m in await _messages(admin_api, incident.channel_id) if "is due" in m]
    assert reminder == (f"Commander, a status update for **{incident.name}** is due (none since the start "
                        "31 min ago); post it with /incident update")


async def test_a_reminder_whose_post_fails_names_the_commander_when_it_goes_out(simulator, service, admin_api,
                                                                                 admin, team):
    incident = await _start(service, admin, team)
    simulator.faults.set("/api/v4/posts", status=500)
    assert await remind_due(service, incident.started_at + INTERVAL + timedelta(minutes=1)) == 1
    simulator.faults.clear()
    assert await remind_due(service, incident.started_at + INTERVAL + timedelta(minutes=2)) == 0
    assert await service.flush_outbox() == 1  # what the forwarding worker does every few seconds
    assert (await _messages(admin_api, incident.channel_id))[-1] == _reminder(
        admin, incident, "none since the start 31 min ago")
    assert service.pending_messages(incident.id) == 0


# -- the worker beside the pages -----------------------------------------------------------------------------

async def test_the_runtime_reminds_in_every_environment_that_can(simulator, store, admin_api, admin, team, tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "outage.yaml").write_text(
        "version: 1\nid: outage\nname: Outage\nstages:\n  - name: Triage\nstatus_update_interval_minutes: 30\n",
        encoding="utf-8")
    production = EnvironmentSettings(
        name=ENVIRONMENT, label="Production", incidents=IncidentSettings(playbooks_dir=folder),
        mattermost=MattermostSettings(url=simulator.url, token=SecretStr(simulator.admin_token)))
    settings = Settings(environments={ENVIRONMENT: production, "dev": EnvironmentSettings(name="dev", label="Dev")},
                        default_environment=ENVIRONMENT)
    runtime = IncidentRuntime(settings, store)
    _, service = runtime.resolve(ENVIRONMENT)
    # Started 45 minutes ago: the worker reminds by the real clock.
    earlier = IncidentService(store, admin_api, service.playbooks, ENVIRONMENT,
                              clock=lambda: datetime.now(UTC) - timedelta(minutes=45))
    incident = await _start(earlier, admin, team)

    stop = asyncio.Event()
    worker = asyncio.create_task(runtime.run_reminders(stop))
    try:
        for _ in range(100):
            if "update_reminder" in [e.type for e in service.timeline(incident.id)]:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=5)
        await runtime.close()
    assert (await _messages(admin_api, incident.channel_id))[-1] == _reminder(
        admin, incident, "none since the start 45 min ago")


# -- the playbook fields -------------------------------------------------------------------------------------

def test_the_major_outage_playbook_asks_for_an_update_every_thirty_minutes() -> None:
    outage = load_playbooks()["major-outage"]
    assert outage.status_update_interval_minutes == 30 and outage.announcement_channels is None


@pytest.mark.parametrize(("line", "field", "words"), [
    ("status_update_interval_minutes: 0", "status_update_interval_minutes", "greater than or equal to 1"),
    ("status_update_interval_minutes: 1441", "status_update_interval_minutes", "less than or equal to 1440"),
    ('status_update_interval_minutes: "30"', "status_update_interval_minutes", "integer"),
    ("announcement_channels: [ops]", "announcement_channels[0]", "team-name/channel-name"),
])
def test_a_wrong_interval_or_announcement_channel_points_at_the_field(tmp_path: Path, line: str, field: str,
                                                                      words: str) -> None:
    text = (PLAYBOOKS_DIR / "major-outage.yaml").read_text(encoding="utf-8")
    assert text.count("status_update_interval_minutes: 30\n") == 1
    path = tmp_path / "major-outage.yaml"
    path.write_text(text.replace("status_update_interval_minutes: 30\n", line + "\n"), encoding="utf-8")
    with pytest.raises(YamlFileError) as caught:
        load_playbooks(tmp_path)
    number = next(n for n, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if row == line)
    assert (caught.value.path, caught.value.line, caught.value.field) == (path, number, field)
    assert words in str(caught.value)
