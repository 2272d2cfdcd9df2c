"""The incidents' Mattermost client against the simulator: channels, members, posts, lookups and failures."""

import asyncio
import uuid

import pytest

from incidents.mattermost_api import MattermostApi, MattermostApiError, MattermostDown
from tests.servers.postgres import free_port


@pytest.fixture
async def admin_api(simulator):
    async with MattermostApi(simulator.url, simulator.admin_token, timeout=2) as api:
        yield api


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_private_channel_membership_and_posts(simulator, admin_api):
    team = simulator.model.teams[0]
    user = simulator.model.user
    channel = await admin_api.create_channel(team.id, _unique("api"), "API test")
    assert channel["type"] == "P"
    assert (await admin_api.channel_by_name(team.id, channel["name"]))["id"] == channel["id"]
    assert not await admin_api.is_channel_member(channel["id"], user.id)
    await admin_api.add_member(channel["id"], user.id)
    assert await admin_api.is_channel_member(channel["id"], user.id)

    first = await admin_api.create_post(channel["id"], "first", props={"from": "test"})
    await admin_api.create_post(channel["id"], "second")
    posts = await admin_api.posts_since(channel["id"], 0)
    assert [p["message"] for p in posts] == ["first", "second"]  # oldest first
    assert posts[0]["props"] == {"from": "test"}
    assert await admin_api.posts_since(channel["id"], posts[-1]["update_at"]) == []
    assert (await admin_api.post(first["id"]))["message"] == "first"
    assert admin_api.permalink(team.name, first["id"]) == f"{simulator.url}/{team.name}/pl/{first['id']}"

    await admin_api.archive_channel(channel["id"])
    assert (await admin_api.channel(channel["id"]))["delete_at"] > 0
    with pytest.raises(MattermostApiError) as refused:
        await admin_api.create_post(channel["id"], "too late")
    assert refused.value.status == 403 and "deleted channel" in str(refused.value)


async def test_posts_since_reads_past_the_thousand_post_cap(simulator):
    async with MattermostApi(simulator.url, simulator.admin_token) as api:
        channel = await api.create_channel(simulator.model.teams[0].id, _unique("many"), "Many posts")
        for first in range(0, 1005, 50):  # a few at a time, so a busy machine does not time them out
            await asyncio.gather(*(api.create_post(channel["id"], str(n)) for n in range(first, min(first + 50, 1005))))
        posts = await api.posts_since(channel["id"], 0)
    assert sorted(int(p["message"]) for p in posts) == list(range(1005))  # none lost, none twice
    assert [p["create_at"] for p in posts] == sorted(p["create_at"] for p in posts)


async def test_users_and_teams(simulator, admin_api):
    team, user = simulator.model.teams[0], simulator.model.user
    assert (await admin_api.team_by_name(team.name))["id"] == team.id
    assert (await admin_api.user_by_username("@" + user.username))["id"] == user.id
    assert [u["username"] for u in await admin_api.users_by_ids([user.id, user.id])] == [user.username]
    assert (await admin_api.me())["username"] == simulator.admin_username
    assert await admin_api.is_team_member(team.id, user.id)
    assert not await admin_api.is_team_member(simulator.model.teams[1].id, user.id)
    with pytest.raises(MattermostApiError) as missing:
        await admin_api.user_by_username("nobody-here")
    assert missing.value.status == 404 and "find user @nobody-here" in str(missing.value)
    assert not isinstance(missing.value, MattermostDown)


async def test_wrong_token_is_a_sentence_about_the_token(simulator):
    async with MattermostApi(simulator.url, "not-a-token") as api:
        with pytest.raises(MattermostApiError, match="rejected the token") as rejected:
            await api.me()
    assert rejected.value.status == 401


async def test_server_errors_and_garbled_answers_are_down(simulator, admin_api):
    simulator.faults.set("/api/v4/users/me", status=503)
    with pytest.raises(MattermostDown, match="HTTP 503") as down:
        await admin_api.me()
    assert down.value.status == 503
    simulator.faults.set("/api/v4/users/me", malformed_json=True)
    with pytest.raises(MattermostDown, match="malformed JSON"):
        await admin_api.me()


async def test_nothing_listening_is_down():
    async with MattermostApi(f"http://127.0.0.1:{free_port()}", "token", timeout=1) as api:
        with pytest.raises(MattermostDown, match="Nothing is listening"):
            await api.me()


async def test_teams_are_listed_by_display_name(admin_api):
    teams = await admin_api.teams()
    names = [team["display_name"].lower() for team in teams]
    assert len(teams) >= 2 and names == sorted(names)
