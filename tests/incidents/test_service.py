"""The incident lifecycle against the Mattermost simulator and a real store: who may do what, what is posted,
what the timeline keeps, and what happens when Mattermost fails half way."""

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from incidents import repository
from incidents.mattermost_api import MattermostApi
from incidents.models import Actor
from incidents.playbooks import Playbook
from incidents.service import (
    DETAILS_MAX,
    OUTBOX_MAX_ATTEMPTS,
    POST_MESSAGE_MAX,
    IncidentError,
    IncidentService,
    NotAllowed,
    NotFound,
    Unavailable,
)
from incidents.webhooks import WebhookSender

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ENVIRONMENT = "production"


def _playbook(team_name: str, **extra) -> Playbook:
    return Playbook.model_validate({
        "version": 1, "id": "outage", "name": "Outage",
        "stages": [{"name": "Triage", "items": ["Page on-call", "Open a bridge"]},
                   {"name": "Mitigate", "items": ["Roll back"]}, {"name": "Review"}],
        "broadcast_channels": [f"{team_name}/ops-alerts"], **extra,
    })


@pytest.fixture
async def admin_api(simulator):
    async with MattermostApi(simulator.url, simulator.admin_token, timeout=2) as api:
        yield api


@pytest.fixture
def team(simulator):
    return simulator.model.teams[0]  # everyone is a member


@pytest.fixture
def service(store, admin_api, team):
    return IncidentService(store, admin_api, {"outage": _playbook(team.name)}, ENVIRONMENT, clock=lambda: NOW)


@pytest.fixture
def admin(simulator):
    return Actor(simulator.model.admin.id, simulator.model.admin.username)


@pytest.fixture
def user(simulator):
    return Actor(simulator.model.user.id, simulator.model.user.username)


def _name() -> str:
    return f"Checkout down {uuid.uuid4().hex[:6]}"


async def _messages(api: MattermostApi, channel_id: str, since_ms: int = 0) -> list[str]:
    return [p["message"] for p in await api.posts_since(channel_id, since_ms)]


async def test_start_opens_a_private_channel_run_by_the_starter(service, admin_api, admin, team):
    alerts = await admin_api.channel_by_name(team.id, "ops-alerts")
    before = int(datetime.now(UTC).timestamp() * 1000)
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())

    channel = await admin_api.channel(incident.channel_id)
    assert channel["type"] == "P" and channel["display_name"] == incident.name
    assert channel["name"] == incident.channel_name and channel["name"].startswith("incident-2026-03-01-checkout-down")
    assert await admin_api.is_channel_member(incident.channel_id, admin.user_id)
    assert (incident.commander_id, incident.stage.name, incident.started_at) == (admin.user_id, "Triage", NOW)
    [start_message] = await _messages(admin_api, incident.channel_id)
    assert f"@{admin.username} started the incident **{incident.name}**" in start_message
    assert "1. [ ] Page on-call" in start_message
    announcements = await _messages(admin_api, alerts["id"], before)
    assert f"@{admin.username} started the incident **{incident.name}** in ~{incident.channel_name}." in announcements

    [listed] = [i for i in await service.list_active(team.id) if i.id == incident.id]
    assert (listed.commander_id, listed.stage.name, listed.started_at, listed.channel_name) == (
        admin.user_id, "Triage", NOW, incident.channel_name)
    assert await service.channel_urls([incident]) == {
        incident.id: f"{admin_api.base_url}/{team.name}/channels/{incident.channel_name}"}
    assert await service.by_channel(incident.channel_id) == incident
    assert await service.by_channel_name(team.id, "~" + incident.channel_name) == incident
    assert [e.type for e in service.timeline(incident.id)] == ["incident_started"]


async def test_every_change_says_who_did_what_and_lands_in_the_timeline(service, admin_api, admin, user, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name(),
                                   channel_name=f"inc-{uuid.uuid4().hex[:8]}")
    await service.set_item(incident.id, admin, "1", True)
    await service.change_stage(incident.id, admin, "next")
    await service.add_item(incident.id, admin, "Tell customers", stage="review")
    await service.set_item(incident.id, admin, "roll back", True)
    await service.remove_item(incident.id, admin, "Open a bridge")
    await service.change_commander(incident.id, admin, "@" + user.username)
    ended = await service.end(incident.id, admin)

    me = f"@{admin.username}"
    assert (await _messages(admin_api, incident.channel_id))[1:] == [
        f"{me} checked **Page on-call** in stage **Triage**.",
        f"{me} moved the incident to stage **Mitigate**.",
        f"{me} added **Tell customers** to the checklist of stage **Review**.",
        f"{me} checked **Roll back** in stage **Mitigate**.",
        f"{me} removed **Open a bridge** from the checklist of stage **Triage**.",
        f"{me} made @{user.username} the commander.",
        f"{me} ended the incident **{incident.name}**.",
    ]
    events = service.timeline(incident.id)
    assert [e.type for e in events] == ["incident_started", "item_checked", "stage_changed", "item_added",
                                        "item_checked", "item_removed", "commander_changed", "incident_ended"]
    assert events[2].summary == f"{me} moved the incident to stage Mitigate" and events[2].actor == admin.user_id
    assert events[2].details == {"from": "Triage", "to": "Mitigate"}
    assert await admin_api.is_channel_member(incident.channel_id, user.user_id)  # the new commander joined
    assert not ended.active and ended.commander_id == user.user_id and ended.ended_by == admin.user_id
    assert [s.name for s in ended.stages] == ["Triage", "Mitigate", "Review"]
    assert [i.title for i in ended.stages[2].items] == ["Tell customers"]
    assert ended.stages[0].items[0].checked_by == admin.user_id
    assert ended.id not in [i.id for i in await service.list_active()]
    with pytest.raises(IncidentError, match="has ended"):
        await service.change_stage(incident.id, admin, "prev")


async def test_only_members_of_the_incident_channel_may_change_it(simulator, service, store, admin, user, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    with pytest.raises(NotAllowed, match=f"@{user.username} is not a member of ~{incident.channel_name}; only "
                                         "members of the incident channel may change the incident"):
        await service.change_stage(incident.id, user, "next")
    # Automation authenticated by the caller needs no membership.
    moved = await service.change_stage(incident.id, Actor("automation", "alerting", automation=True), "next")
    assert moved.stage.name == "Mitigate"

    # Acting with a plain user's own token: they may start (team member) and change their incident, others not.
    async with MattermostApi(simulator.url, simulator.user_token, timeout=2) as user_api:
        as_user = IncidentService(store, user_api, service.playbooks, ENVIRONMENT)
        theirs = await as_user.start(user, team_id=team.id, playbook_id="outage", name=_name())
        assert (await as_user.change_stage(theirs.id, user, "Review")).stage.name == "Review"
        other = simulator.model.accounts[2]
        with pytest.raises(NotAllowed, match=f"@{other.username} is not a member"):
            await as_user.set_item(theirs.id, Actor(other.id, other.username), "1", True)
        with pytest.raises(NotAllowed, match="not a member of this team, so cannot start an incident"):
            await as_user.start(user, team_id=simulator.model.teams[1].id, playbook_id="outage", name=_name())
    assert (await service.get(incident.id)).stage.name == "Mitigate"


async def test_bad_input_gets_a_sentence_and_changes_nothing(service, admin, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    with pytest.raises(IncidentError, match=r"no stage 'Fix'.*stages are: Triage, Mitigate, Review"):
        await service.change_stage(incident.id, admin, "Fix")
    with pytest.raises(IncidentError, match="already in its first stage"):
        await service.change_stage(incident.id, admin, "prev")
    with pytest.raises(IncidentError, match=r"no checklist item 'Reboot'; items in stage 'Triage': 1\. Page on-call"):
        await service.set_item(incident.id, admin, "Reboot", True)
    with pytest.raises(IncidentError, match="has 2 checklist items; there is no number 5"):
        await service.set_item(incident.id, admin, "5", True)
    with pytest.raises(IncidentError, match="'Page on-call' is already not checked"):
        await service.set_item(incident.id, admin, "i1", False)
    with pytest.raises(NotFound, match="no Mattermost user 'nobody-at-all'"):
        await service.change_commander(incident.id, admin, "nobody-at-all")
    with pytest.raises(NotFound, match="no playbook 'fire'; playbooks: outage"):
        await service.start(admin, team_id=team.id, playbook_id="fire", name=_name())
    with pytest.raises(IncidentError, match="'Bad Name!' is not a valid channel name"):
        await service.start(admin, team_id=team.id, playbook_id="outage", name=_name(), channel_name="Bad Name!")
    with pytest.raises(IncidentError, match=f"~{incident.channel_name} already exists in this team"):
        await service.start(admin, team_id=team.id, playbook_id="outage", name=_name(),
                            channel_name=incident.channel_name)
    with pytest.raises(NotFound, match="no incident 'nope'"):
        await service.get("nope")
    assert (await service.get(incident.id)).version == 1 and len(service.timeline(incident.id)) == 1


async def test_an_archived_channel_is_a_clear_error_and_state_stays(service, admin_api, admin, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    await admin_api.archive_channel(incident.channel_id)
    with pytest.raises(IncidentError, match=f"channel ~{incident.channel_name} was archived or deleted"):
        await service.set_item(incident.id, admin, "1", True)
    assert await service.get(incident.id) == incident and len(service.timeline(incident.id)) == 1
    ended = await service.end(incident.id, admin)  # ending stays possible, so it leaves the active list
    assert not ended.active and service.pending_messages(incident.id) == 0


async def _channel_including_archived(simulator, team_id: str, name: str) -> dict:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{simulator.url}/api/v4/teams/{team_id}/channels/name/{name}",
                                    params={"include_deleted": "true"},
                                    headers={"Authorization": f"Bearer {simulator.admin_token}"})
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("fault", [{"status": 500}, {"hang": True}])
async def test_mattermost_failing_mid_start_leaves_no_half_incident(simulator_factory, store, team, admin, fault):
    sim = simulator_factory(hang_cap_s=3)
    async with MattermostApi(sim.url, sim.admin_token, timeout=0.5) as api:
        service = IncidentService(store, api, {"outage": _playbook(team.name)}, ENVIRONMENT)
        sim.faults.set("/api/v4/posts", **fault)
        name = f"inc-{uuid.uuid4().hex[:8]}"
        with pytest.raises(Unavailable, match=r"Could not post in the channel.*Nothing was changed"):
            await service.start(admin, team_id=team.id, playbook_id="outage", name=_name(), channel_name=name)
    assert (await _channel_including_archived(sim, team.id, name))["delete_at"] > 0
    assert await service.list_all() == []


async def test_mattermost_failing_mid_change_keeps_the_change_and_posts_later(simulator, service, admin_api, admin,
                                                                             team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    simulator.faults.set("/api/v4/posts", status=500)
    moved = await service.change_stage(incident.id, admin, "Mitigate")
    assert moved.stage.name == "Mitigate" and (await service.get(incident.id)).stage.name == "Mitigate"
    assert service.timeline(incident.id)[-1].type == "stage_changed"
    assert service.pending_messages(incident.id) == 1
    assert await service.flush_outbox() == 0  # still down: kept for later
    simulator.faults.clear()

    assert await service.flush_outbox() == 1
    assert (await _messages(admin_api, incident.channel_id))[-1] == (
        f"@{admin.username} moved the incident to stage **Mitigate**.")
    assert service.pending_messages() == 0 and await service.flush_outbox() == 0


async def test_two_changes_at_once_both_count(service, admin, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    await asyncio.gather(service.set_item(incident.id, admin, "1", True),
                         service.set_item(incident.id, admin, "2", True))
    current = await service.get(incident.id)
    assert all(item.checked for item in current.stage.items) and current.version == 3
    assert [e.type for e in service.timeline(incident.id)].count("item_checked") == 2


async def test_turning_the_feature_off_and_on_keeps_everything(service, store, admin, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    await service.change_stage(incident.id, admin, "next")
    repository.set_incidents_enabled(store, False, actor="dana")
    with pytest.raises(IncidentError, match="Incidents are turned off"):
        await service.change_stage(incident.id, admin, "next")
    with pytest.raises(IncidentError, match="Incidents are turned off"):
        await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    repository.set_incidents_enabled(store, True, actor="dana")
    again = await service.get(incident.id)
    assert again.stage.name == "Mitigate" and [i.id for i in await service.list_active()] == [incident.id]
    assert [e.type for e in service.timeline(incident.id)] == ["incident_started", "stage_changed"]
    assert (await service.change_stage(incident.id, admin, "next")).stage.name == "Review"


async def test_webhook_outcomes_are_timeline_events(store, admin_api, admin, team):
    def receiver(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.host == "ok.example.com" else 500)

    playbook = _playbook(team.name, webhooks=[{"url": "https://ok.example.com/in"},
                                              {"url": "https://down.example.com/in", "events": ["ended"]}])
    service = IncidentService(store, admin_api, {"outage": playbook}, ENVIRONMENT,
                              webhooks=WebhookSender(transport=httpx.MockTransport(receiver)))
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    await service.end(incident.id, admin)
    events = [(e.type, e.details.get("trigger")) for e in service.timeline(incident.id)]
    assert events == [("incident_started", None), ("webhook_sent", "started"), ("incident_ended", None),
                      ("webhook_sent", "ended"), ("webhook_failed", "ended")]
    failed = service.timeline(incident.id)[-1]
    assert failed.summary == ("The ended event was not delivered: "
                              "The webhook https://down.example.com/in answered HTTP 500.")


# ------------------------------------------------------------------------------------ outbox and limits

async def test_a_message_mattermost_refuses_for_good_is_failed_and_does_not_block_the_rest(service, admin_api,
                                                                                         admin, team):
    """simulator/api/posts.py, like server/public/model/post.go, answers 400 (model.post.is_valid.msg.app_error)
    to a message over PostMessageMaxRunesV2: such a message is marked failed with that answer, and the ones
    queued behind it are posted."""
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    for message in ("x" * (POST_MESSAGE_MAX + 1), "after the long one"):  # queued while Mattermost was down
        repository.queue_message(service.store, ENVIRONMENT, incident.id, channel_id=incident.channel_id,
                                 message=message, actor=admin.username)
    assert await service.flush_outbox() == 1
    assert (await _messages(admin_api, incident.channel_id))[-1] == "after the long one"
    [refused] = repository.refused_messages(service.store, ENVIRONMENT)
    assert len(refused.message) == POST_MESSAGE_MAX + 1
    assert refused.error == "Could not post in the channel: Mattermost answered HTTP 400 (Invalid message)."
    assert service.pending_messages() == 0


async def test_rate_limiting_is_tried_again_not_failed(simulator, service, admin, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    simulator.faults.set("/api/v4/posts", status=429)
    await service.change_stage(incident.id, admin, "next")
    assert service.pending_messages(incident.id) == 1 and await service.flush_outbox() == 0
    simulator.faults.clear()
    assert await service.flush_outbox() == 1
    assert repository.refused_messages(service.store, ENVIRONMENT) == []


async def test_a_message_mattermost_keeps_failing_on_is_given_up_after_some_tries(simulator, service, admin_api,
                                                                                admin, team):
    """A 5xx for one message while Mattermost answers other calls: after OUTBOX_MAX_ATTEMPTS tries it is failed,
    so it does not hold back the messages behind it forever."""
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    simulator.faults.set("/api/v4/posts", status=500)
    await service.change_stage(incident.id, admin, "next")
    for _ in range(OUTBOX_MAX_ATTEMPTS - 1):
        assert await service.flush_outbox() == 0
    [refused] = repository.refused_messages(service.store, ENVIRONMENT)
    assert refused.error.endswith(f"(given up after {OUTBOX_MAX_ATTEMPTS} tries while Mattermost answered other "
                                  "calls)") and refused.attempts == OUTBOX_MAX_ATTEMPTS
    simulator.faults.clear()
    await service.change_stage(incident.id, admin, "next")
    assert (await _messages(admin_api, incident.channel_id))[-1] == f"@{admin.username} moved the incident to stage " \
                                                                     "**Review**."


async def test_mattermost_down_holds_the_outbox_without_using_up_tries(simulator, service, admin, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    simulator.faults.set("/api/v4/posts", status=503)
    await service.change_stage(incident.id, admin, "next")
    simulator.faults.set("*", status=503)
    for _ in range(OUTBOX_MAX_ATTEMPTS + 2):
        assert await service.flush_outbox() == 0
    [waiting] = repository.outbox(service.store, ENVIRONMENT, status=repository.PENDING)
    assert waiting.attempts == 1
    simulator.faults.clear()
    assert await service.flush_outbox() == 1


async def test_limits_on_what_people_type_are_named(service, admin, team):
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name())
    with pytest.raises(IncidentError, match=f"description is {DETAILS_MAX + 1:,} characters long; at most "
                                            f"{DETAILS_MAX:,} are allowed"):
        await service.start(admin, team_id=team.id, playbook_id="outage", name=_name(), details="d" * (DETAILS_MAX + 1))
    with pytest.raises(IncidentError, match="checklist item is 600 characters long; at most 500"):
        await service.set_item(incident.id, admin, "i" * 600, True)
    with pytest.raises(IncidentError, match="checklist item is 600 characters long; at most 500"):
        await service.remove_item(incident.id, admin, "i" * 600)
    with pytest.raises(IncidentError, match="stage name is 201 characters long; at most 200"):
        await service.add_item(incident.id, admin, "ok", stage="s" * 201)
    with pytest.raises(IncidentError, match="commander is 66 characters long; at most 65"):
        await service.change_commander(incident.id, admin, "@" + "u" * 65)
    assert (await service.get(incident.id)).version == 1 and len(await service.list_all()) == 1


async def test_a_long_playbook_checklist_still_makes_a_first_message_mattermost_takes(store, admin_api, admin, team):
    """The first message lists the stage's checklist; past PostMessageMaxRunesV2 (server/public/model/post.go) it
    ends in "… and N more", so Mattermost takes it and the incident starts."""
    playbook = Playbook.model_validate({"version": 1, "id": "outage", "name": "Outage", "stages": [
        {"name": "Triage", "items": [f"Step {n} " + "s" * 400 for n in range(1, 101)]}]})
    service = IncidentService(store, admin_api, {"outage": playbook}, ENVIRONMENT)
    incident = await service.start(admin, team_id=team.id, playbook_id="outage", name=_name(),
                                   details="Evidence: " + "e" * 2000)
    [first] = await _messages(admin_api, incident.channel_id)
    assert len(first) <= POST_MESSAGE_MAX and "Evidence: eee" in first
    shown = sum(1 for line in first.splitlines() if line.split(".")[0].isdigit())
    assert 10 < shown < 100 and f"… and {100 - shown} more\n\nChange it with /incident stage next" in first
    assert len(incident.stage.items) == 100  # shortened in the message only
