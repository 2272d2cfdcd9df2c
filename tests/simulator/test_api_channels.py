"""Channels, channel and team membership: Mattermost's shapes, permissions and errors.

Tests share one simulator, so every channel a test creates gets a name of its own.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from simulator import RunningSimulator
from tests.simulator.test_openapi_contract import check, response_schema_ref


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def error_id(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"id", "message", "detailed_error", "request_id", "status_code"}
    assert body["status_code"] == status
    return body["id"]


def team_ids(sim: RunningSimulator) -> tuple[str, str]:
    """The first team holds every account; the second holds the admin alone."""
    return sim.model.teams[0].id, sim.model.teams[1].id


def by_name(client: httpx.Client, team_id: str, name: str) -> dict[str, Any]:
    response = client.get(f"/teams/{team_id}/channels/name/{name}")
    assert response.status_code == 200, response.text
    return response.json()


def create(client: httpx.Client, team_id: str, name: str | None = None, kind: str = "O") -> dict[str, Any]:
    response = client.post("/channels", json={"team_id": team_id, "name": name or unique(),
                                              "display_name": "Test channel", "type": kind})
    assert response.status_code == 201, response.text
    return response.json()


def test_team_lists_its_public_channels_by_display_name(simulator: RunningSimulator, user: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    body = check(user.get(f"/teams/{first}/channels"), 200,
                 response_schema_ref("/api/v4/teams/{team_id}/channels", "get", 200))
    names = [c["name"] for c in body]
    assert {"town-square", "off-topic", "ops-alerts", "support"} <= set(names)
    assert "team-leads" not in names  # private
    displays = [c["display_name"].lower() for c in body]
    assert displays == sorted(displays)
    assert all(c["team_id"] == first and c["type"] == "O" and c["delete_at"] == 0 for c in body)
    paged = user.get(f"/teams/{first}/channels", params={"per_page": 2, "page": 1}).json()
    assert [c["id"] for c in paged] == [c["id"] for c in body[2:4]]


def test_created_channel_has_its_creator_as_channel_admin(simulator: RunningSimulator, user: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    name = unique()
    response = user.post("/channels", json={"team_id": first, "name": name, "display_name": "Release war room",
                                            "type": "P", "purpose": "Coordinating 11.7", "header": "Bridge: 4411"})
    channel = check(response, 201, response_schema_ref("/api/v4/channels", "post", 201))
    assert (channel["name"], channel["type"], channel["creator_id"]) == (name, "P", simulator.model.user.id)
    assert (channel["purpose"], channel["header"], channel["delete_at"]) == ("Coordinating 11.7", "Bridge: 4411", 0)
    assert len(channel["id"]) == 26 and channel["create_at"] == channel["update_at"] > 0
    member = check(user.get(f"/channels/{channel['id']}/members/{simulator.model.user.id}"), 200,
                   response_schema_ref("/api/v4/channels/{channel_id}/members/{user_id}", "get", 200))
    assert member["roles"] == "channel_user channel_admin" and member["scheme_admin"] is True


@pytest.mark.parametrize("name", ["", "Upper", "-leading-dash", "_leading", "with space", "dots.inside", "é", "a" * 65])
def test_channel_names_are_validated_like_mattermost(simulator: RunningSimulator, user: httpx.Client,
                                                     name: str) -> None:
    first, _ = team_ids(simulator)
    response = user.post("/channels", json={"team_id": first, "name": name, "display_name": "x", "type": "O"})
    assert error_id(response, 400) == "model.channel.is_valid.1_or_more.app_error"


@pytest.mark.parametrize("name", ["a", "7", "ops_2", "x-y", "trailing-"])
def test_valid_channel_names_are_accepted(simulator: RunningSimulator, admin: httpx.Client, name: str) -> None:
    # The second team: no other test names channels this short there.
    assert create(admin, team_ids(simulator)[1], name)["name"] == name


def test_bad_channel_bodies(simulator: RunningSimulator, user: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    assert error_id(user.post("/channels", content=b"{not json"), 400) == "api.context.invalid_body_param.app_error"
    assert error_id(user.post("/channels", json={"name": "x", "type": "O"}), 400) == \
        "api.context.invalid_body_param.app_error"
    direct = user.post("/channels", json={"team_id": first, "name": unique(), "display_name": "x", "type": "D"})
    assert error_id(direct, 400) == "model.channel.is_valid.type.app_error"
    long_name = user.post("/channels", json={"team_id": first, "name": unique(), "display_name": "x" * 65,
                                             "type": "O"})
    assert error_id(long_name, 400) == "model.channel.is_valid.display_name.app_error"


def test_duplicate_name_in_a_team_is_refused(simulator: RunningSimulator, user: httpx.Client,
                                             admin: httpx.Client) -> None:
    first, second = team_ids(simulator)
    name = unique()
    create(user, first, name)
    again = admin.post("/channels", json={"team_id": first, "name": name, "display_name": "x", "type": "P"})
    assert error_id(again, 400) == "store.sql_channel.save_channel.exists.app_error"
    assert create(admin, second, name)["team_id"] == second  # unique per team only


def test_only_team_members_create_channels(simulator: RunningSimulator, user: httpx.Client,
                                           admin: httpx.Client, anon: httpx.Client) -> None:
    _, second = team_ids(simulator)
    body = {"team_id": second, "name": unique(), "display_name": "x", "type": "O"}
    assert error_id(user.post("/channels", json=body), 403) == "api.context.permissions.app_error"
    assert error_id(anon.post("/channels", json=body), 401) == "api.context.session_expired.app_error"
    assert admin.post("/channels", json=body).status_code == 201


def test_private_channels_are_for_members_and_admins(simulator: RunningSimulator, user: httpx.Client,
                                                     admin: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    leads = by_name(admin, first, "team-leads")
    assert leads["type"] == "P"
    assert error_id(user.get(f"/channels/{leads['id']}"), 403) == "api.context.permissions.app_error"
    assert error_id(user.get(f"/channels/{leads['id']}/members"), 403) == "api.context.permissions.app_error"
    # By name, a channel the caller cannot read does not exist.
    assert error_id(user.get(f"/teams/{first}/channels/name/team-leads"), 404) == \
        "app.channel.get_by_name.missing.app_error"
    check(admin.get(f"/channels/{leads['id']}"), 200, response_schema_ref("/api/v4/channels/{channel_id}", "get", 200))
    public = by_name(user, first, "ops-alerts")
    assert user.get(f"/channels/{public['id']}").json()["name"] == "ops-alerts"


def test_unknown_and_malformed_channel_ids(simulator: RunningSimulator, user: httpx.Client,
                                           admin: httpx.Client) -> None:
    unknown = "x" * 26
    assert error_id(admin.get(f"/channels/{unknown}"), 404) == "app.channel.get.existing.app_error"
    assert error_id(user.get(f"/channels/{unknown}"), 404) == "app.channel.get.existing.app_error"
    # Membership lists check the permission first: nothing grants one on a channel that does not exist.
    assert error_id(user.get(f"/channels/{unknown}/members"), 403) == "api.context.permissions.app_error"
    assert error_id(admin.get(f"/channels/{unknown}/members"), 404) == "app.channel.get.existing.app_error"
    assert error_id(user.get("/channels/not-an-id"), 400) == "api.context.invalid_url_param.app_error"
    first, _ = team_ids(simulator)
    assert error_id(user.get(f"/teams/{first}/channels/name/no-such-channel"), 404) == \
        "app.channel.get_by_name.missing.app_error"


def test_archiving_hides_the_channel_by_name_unless_deleted_ones_are_asked_for(
        simulator: RunningSimulator, user: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    channel = create(user, first)
    assert user.delete(f"/channels/{channel['id']}").json() == {"status": "OK"}
    archived = user.get(f"/channels/{channel['id']}").json()
    assert archived["delete_at"] >= archived["create_at"] > 0
    assert error_id(user.get(f"/teams/{first}/channels/name/{channel['name']}"), 404) == \
        "app.channel.get_by_name.missing.app_error"
    found = user.get(f"/teams/{first}/channels/name/{channel['name']}", params={"include_deleted": "true"})
    assert found.json()["delete_at"] == archived["delete_at"]
    assert channel["id"] not in {c["id"] for c in user.get(f"/teams/{first}/channels").json()}
    assert error_id(user.delete(f"/channels/{channel['id']}"), 400) == "api.channel.delete_channel.deleted.app_error"


def test_archive_permissions_and_the_default_channel(simulator: RunningSimulator, user: httpx.Client,
                                                     admin: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    owned_by_admin = create(admin, first)  # the user is not a member
    assert error_id(user.delete(f"/channels/{owned_by_admin['id']}"), 403) == "api.context.permissions.app_error"
    town_square = by_name(admin, first, "town-square")
    assert error_id(admin.delete(f"/channels/{town_square['id']}"), 400) == \
        "api.channel.delete_channel.cannot.app_error"
    assert error_id(admin.delete(f"/channels/{'z' * 26}"), 404) == "app.channel.get.existing.app_error"


def test_membership_add_list_get_remove(simulator: RunningSimulator, user: httpx.Client,
                                        admin: httpx.Client) -> None:
    first, _ = team_ids(simulator)
    user_id, admin_id = simulator.model.user.id, simulator.model.admin.id
    channel = create(admin, first, kind="P")
    assert error_id(user.get(f"/channels/{channel['id']}/members/{user_id}"), 403) == \
        "api.context.permissions.app_error"
    assert error_id(admin.get(f"/channels/{channel['id']}/members/{user_id}"), 404) == \
        "app.channel.get_member.missing.app_error"
    # A plain user cannot add themself to a private channel; a member (here the admin) can add them.
    assert error_id(user.post(f"/channels/{channel['id']}/members", json={"user_id": user_id}), 403) == \
        "api.context.permissions.app_error"
    added = admin.post(f"/channels/{channel['id']}/members", json={"user_id": user_id})
    member = check(added, 201, response_schema_ref("/api/v4/channels/{channel_id}/members", "post", 201))
    assert (member["user_id"], member["roles"], member["scheme_admin"]) == (user_id, "channel_user", False)
    again = admin.post(f"/channels/{channel['id']}/members", json={"user_id": user_id})
    assert again.status_code == 201 and again.json()["user_id"] == user_id  # idempotent
    members = check(user.get(f"/channels/{channel['id']}/members"), 200,
                    response_schema_ref("/api/v4/channels/{channel_id}/members", "get", 200))
    assert {m["user_id"] for m in members} == {user_id, admin_id}
    pages = [user.get(f"/channels/{channel['id']}/members", params={"per_page": 1, "page": p}).json()
             for p in range(3)]
    assert [len(p) for p in pages] == [1, 1, 0]
    assert {pages[0][0]["user_id"], pages[1][0]["user_id"]} == {user_id, admin_id}
    assert user.delete(f"/channels/{channel['id']}/members/{user_id}").json() == {"status": "OK"}
    assert error_id(admin.get(f"/channels/{channel['id']}/members/{user_id}"), 404) == \
        "app.channel.get_member.missing.app_error"
    assert error_id(admin.delete(f"/channels/{channel['id']}/members/{user_id}"), 404) == \
        "app.channel.get_member.missing.app_error"


def test_joining_public_channels_and_team_boundaries(simulator: RunningSimulator, user: httpx.Client,
                                                     admin: httpx.Client) -> None:
    first, second = team_ids(simulator)
    user_id = simulator.model.user.id
    public = create(admin, first)
    joined = user.post(f"/channels/{public['id']}/members", json={"user_id": user_id})
    assert joined.status_code == 201, joined.text
    # Someone outside the team cannot be added to its channels, by anyone.
    outside = create(admin, second)
    refused = admin.post(f"/channels/{outside['id']}/members", json={"user_id": user_id})
    assert error_id(refused, 403) == "api.channel.add_user.to.channel.failed.deleted.app_error"
    assert error_id(admin.post(f"/channels/{public['id']}/members", json={"user_id": "nobody"}), 400) == \
        "api.context.invalid_body_param.app_error"
    assert error_id(admin.post(f"/channels/{public['id']}/members", json={"user_id": "q" * 26}), 404) == \
        "app.user.missing_account.const"
    town_square = by_name(user, first, "town-square")
    assert error_id(user.delete(f"/channels/{town_square['id']}/members/{user_id}"), 400) == \
        "api.channel.remove.default.app_error"
    admin.delete(f"/channels/{public['id']}")
    rejoin = admin.post(f"/channels/{public['id']}/members", json={"user_id": simulator.model.accounts[-1].id})
    assert error_id(rejoin, 400) == "api.channel.add_user_to_channel.deleted.app_error"


def test_teams_by_id_and_name(simulator: RunningSimulator, user: httpx.Client, admin: httpx.Client) -> None:
    team = simulator.model.teams[0]
    schema = response_schema_ref("/api/v4/teams/{team_id}", "get", 200)
    as_user = check(user.get(f"/teams/{team.id}"), 200, schema)
    assert (as_user["name"], as_user["email"], as_user["invite_id"]) == (team.name, "", "")  # sanitized
    as_admin = check(admin.get(f"/teams/name/{team.name}"), 200,
                     response_schema_ref("/api/v4/teams/name/{name}", "get", 200))
    assert (as_admin["id"], as_admin["email"]) == (team.id, team.email)
    assert error_id(user.get(f"/teams/{'k' * 26}"), 404) == "app.team.get.find.app_error"
    assert error_id(user.get("/teams/name/no-such-team"), 404) == "app.team.get_by_name.missing.app_error"
    # A team the user is not in: visible only when it is open to anyone.
    other = simulator.model.teams[1]
    response = user.get(f"/teams/{other.id}")
    assert response.status_code == (200 if other.allow_open_invite and other.type == "O" else 403)


def test_team_membership(simulator: RunningSimulator, user: httpx.Client, admin: httpx.Client) -> None:
    first, second = team_ids(simulator)
    user_id = simulator.model.user.id
    member = check(user.get(f"/teams/{first}/members/{user_id}"), 200,
                   response_schema_ref("/api/v4/teams/{team_id}/members/{user_id}", "get", 200))
    assert (member["team_id"], member["roles"], member["delete_at"]) == (first, "team_user", 0)
    admin_member = admin.get(f"/teams/{first}/members/{simulator.model.admin.id}").json()
    assert admin_member["roles"] == "team_user team_admin"
    assert error_id(admin.get(f"/teams/{second}/members/{user_id}"), 404) == "app.team.get_member.missing.app_error"
    assert error_id(user.get(f"/teams/{second}/members/{user_id}"), 403) == "api.context.permissions.app_error"
    assert error_id(user.get(f"/teams/{second}/channels"), 403) == "api.context.permissions.app_error"
