"""The Playbooks plugin API: shapes checked against the reference run, filters, paging, permissions, and how a
plugin answers when it is missing or the caller has no session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import RunningSimulator, build_scenario
from tests.servers.simulator import SimulatorFactory
from tests.simulator.conftest import client_for

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mattermost"
# Every timeline event type of the plugin (reference/playbooks.md, section 1.6).
EVENT_TYPES = {
    "incident_created", "task_state_modified", "status_updated", "status_update_requested", "status_update_snoozed",
    "owner_changed", "assignee_changed", "ran_slash_command", "event_from_post", "user_joined_left",
    "participants_changed", "published_retrospective", "canceled_retrospective", "run_finished", "run_restored",
    "channel_archived", "channel_unarchived", "status_updates_enabled", "status_updates_disabled",
    "retrospective_enabled", "retrospective_disabled", "property_changed",
}


def plugin_client(sim: RunningSimulator, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{sim.url}/plugins/playbooks/api/v0", headers=headers, timeout=5, verify=False)


@pytest.fixture
def pb_admin(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with plugin_client(simulator, simulator.admin_token) as client:
        yield client


@pytest.fixture
def pb_user(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with plugin_client(simulator, simulator.user_token) as client:
        yield client


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return json.loads((REFERENCE / "playbook_run_example.json").read_text())


def runs(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/runs", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_runs_have_the_plugins_fields(pb_admin: httpx.Client, example: dict[str, Any]) -> None:
    body = runs(pb_admin)
    assert set(body) == {"total_count", "page_count", "per_page", "has_more", "items"}
    assert (body["total_count"], body["page_count"], body["per_page"], body["has_more"]) == (4, 1, 1000, False)
    for run in body["items"]:
        assert set(run) == set(example), run["name"]
        assert {k for c in run["checklists"] for k in c} == set(example["checklists"][0])
        items = [i for c in run["checklists"] for i in c["items"]]
        assert {k for i in items for k in i} == set(example["checklists"][0]["items"][0])
        assert {k for e in run["timeline_events"] for k in e} == set(example["timeline_events"][0])
        assert run["task_total"] == len(items)
        assert run["task_completed"] == sum(1 for i in items if i["state"] in ("closed", "skipped"))
        assert run["sequential_id"] == f"INC-{run['run_number']:05d}"
        events = run["timeline_events"]
        assert [e["event_at"] for e in events] == sorted(e["event_at"] for e in events)
        assert all(e["playbook_run_id"] == run["id"] for e in events)
        assert all(e["details"] == "" or isinstance(json.loads(e["details"]), dict) for e in events)
    assert [r["current_status"] for r in body["items"]].count("InProgress") == 1


def test_timelines_cover_every_event_type(pb_admin: httpx.Client) -> None:
    seen = {e["event_type"] for r in runs(pb_admin)["items"] for e in r["timeline_events"]}
    assert seen == EVENT_TYPES


def test_filters(pb_admin: httpx.Client, simulator: RunningSimulator) -> None:
    everything = runs(pb_admin)["items"]
    active = runs(pb_admin, statuses="InProgress")["items"]
    assert [r["current_status"] for r in active] == ["InProgress"]
    assert runs(pb_admin, omit_ended="true")["items"] == active
    both = runs(pb_admin, statuses=["InProgress", "Finished"])
    assert both["total_count"] == len(everything)
    first_team = simulator.model.teams[0].id
    assert {r["team_id"] for r in runs(pb_admin, team_id=first_team)["items"]} == {first_team}
    newest_update = max(r["update_at"] for r in everything)
    since = runs(pb_admin, since=newest_update)["items"]  # update_at >= since
    assert [r["update_at"] for r in since] == [newest_update]
    assert runs(pb_admin, owner_user_id="me")["total_count"] == sum(
        1 for r in everything if r["owner_user_id"] == simulator.model.admin.id)


def test_sorting_and_paging(pb_admin: httpx.Client) -> None:
    by_create = runs(pb_admin)["items"]
    assert [r["create_at"] for r in by_create] == sorted(r["create_at"] for r in by_create)  # default: ascending
    by_name = runs(pb_admin, sort="NAME", direction="desc")["items"]
    assert [r["name"] for r in by_name] == sorted((r["name"] for r in by_create), reverse=True)
    second = runs(pb_admin, per_page=3, page=1)
    assert (second["total_count"], second["page_count"], second["has_more"]) == (4, 2, False)
    assert [r["id"] for r in second["items"]] == [by_create[3]["id"]]
    assert runs(pb_admin, per_page=3)["has_more"] is True


@pytest.mark.parametrize("params", [{"page": "x"}, {"per_page": "2.5"}, {"sort": "colour"},
                                    {"direction": "sideways"}, {"team_id": "short"}, {"since": "yesterday"}])
def test_bad_parameters(pb_admin: httpx.Client, params: dict[str, str]) -> None:
    response = pb_admin.get("/runs", params=params)
    assert response.status_code == 400
    assert response.json() == {"error": "Bad parameter"}


def test_plain_users_see_runs_they_take_part_in_or_of_public_playbooks(pb_user: httpx.Client,
                                                                       pb_admin: httpx.Client,
                                                                       simulator: RunningSimulator) -> None:
    everything = {r["id"]: r for r in runs(pb_admin)["items"]}
    visible = runs(pb_user)
    assert visible["total_count"] == 3
    hidden = next(r for r in everything.values() if r["id"] not in {v["id"] for v in visible["items"]})
    assert simulator.model.user.id not in hidden["participant_ids"]
    refused = pb_user.get(f"/runs/{hidden['id']}")
    assert (refused.status_code, refused.json()) == (403, {"error": "Not authorized"})
    assert pb_user.get(f"/runs/{hidden['id']}/status-updates").status_code == 403
    mine = next(r for r in visible["items"] if simulator.model.user.id in r["participant_ids"])
    assert pb_user.get(f"/runs/{mine['id']}").json() == everything[mine["id"]]
    # A run that does not exist fails the same permission check.
    unknown = pb_admin.get(f"/runs/{'m' * 26}")
    assert (unknown.status_code, unknown.json()) == (403, {"error": "Not authorized"})


def test_status_updates_are_the_runs_status_posts(pb_admin: httpx.Client, admin: httpx.Client) -> None:
    run = runs(pb_admin, statuses="InProgress")["items"][0]
    updates = pb_admin.get(f"/runs/{run['id']}/status-updates").json()
    assert [u["id"] for u in updates] == [s["id"] for s in reversed(run["status_posts"])]  # newest first
    assert all(set(u) == {"id", "create_at", "delete_at", "message", "author_user_name"} for u in updates)
    for update in updates:
        post = admin.get(f"/posts/{update['id']}").json()
        assert (post["type"], post["channel_id"], post["message"]) == ("custom_run_update", run["channel_id"],
                                                                       update["message"])
        assert post["props"]["authorUsername"] == update["author_user_name"]
    assert run["last_status_update_at"] == updates[0]["create_at"]
    # Status updates are forwarded to the broadcast channels.
    (broadcast,) = run["broadcast_channel_ids"]
    forwarded = admin.get(f"/channels/{broadcast}/posts", params={"per_page": 200}).json()["posts"].values()
    assert {u["message"] for u in updates} <= {p["message"] for p in forwarded if p["type"] == "custom_run_update"}


def test_run_channels_and_timeline_posts_exist(pb_admin: httpx.Client, admin: httpx.Client) -> None:
    for run in runs(pb_admin)["items"]:
        channel = admin.get(f"/channels/{run['channel_id']}").json()
        assert (channel["type"], channel["display_name"]) == ("P", run["name"])
        archived = [e["event_type"] for e in run["timeline_events"] if e["event_type"].startswith("channel_")]
        assert bool(channel["delete_at"]) == (archived[-1:] == ["channel_archived"])
        for event in (e for e in run["timeline_events"] if e["post_id"]):
            assert admin.get(f"/posts/{event['post_id']}").status_code == 200, event["event_type"]


def test_playbooks(pb_admin: httpx.Client, pb_user: httpx.Client) -> None:
    body = pb_admin.get("/playbooks").json()
    assert set(body) == {"total_count", "page_count", "has_more", "items"}
    titles = [p["title"] for p in body["items"]]
    assert titles == sorted(titles) and body["total_count"] == 3
    run_counts = {p["id"]: p["num_runs"] for p in body["items"]}
    all_runs = runs(pb_admin)["items"]
    assert run_counts == {pid: sum(1 for r in all_runs if r["playbook_id"] == pid) for pid in run_counts}
    assert all(p["num_stages"] == len(p["checklists"]) for p in body["items"])
    # The private playbook lives in a team the user is not in.
    assert {p["public"] for p in pb_user.get("/playbooks").json()["items"]} == {True}
    by_runs = pb_admin.get("/playbooks", params={"sort": "runs", "direction": "desc"}).json()["items"]
    assert [p["num_runs"] for p in by_runs] == sorted(run_counts.values(), reverse=True)
    assert pb_admin.get("/playbooks", params={"search_term": "MAINT"}).json()["total_count"] == 1
    assert pb_admin.get("/playbooks", params={"sort": "colour"}).status_code == 400


def test_no_session_gets_the_plugins_plain_401(simulator: RunningSimulator) -> None:
    for token in (None, "not-a-real-token"):
        with plugin_client(simulator, token) as client:
            response = client.get("/runs")
        assert (response.status_code, response.text) == (401, "Not authorized\n")
        assert response.headers["content-type"].startswith("text/plain")


def test_unknown_plugin_paths_are_plain_404s(pb_admin: httpx.Client) -> None:
    for method, path in (("GET", "/no-such-thing"), ("POST", "/runs/abc/teleport"), ("DELETE", "/playbooks")):
        response = pb_admin.request(method, path)
        assert (response.status_code, response.text) == (404, "404 page not found\n"), path


def test_without_the_plugin(simulator_factory: SimulatorFactory) -> None:
    scenario = build_scenario("degraded")
    without = replace(scenario, plugins=tuple(replace(p, enabled=False) if p.id == "playbooks" else p
                                              for p in scenario.plugins))
    sim = simulator_factory(without)
    with plugin_client(sim, sim.admin_token) as client:
        response = client.get("/runs")
    assert (response.status_code, response.text) == (404, "404 page not found\n")
    off = simulator_factory(replace(scenario, settings=replace(scenario.settings, plugins_enabled=False)))
    with plugin_client(off, off.admin_token) as client:
        response = client.get("/runs")
    assert response.status_code == 501 and response.json()["id"] == "app.plugin.disabled.app_error"
    # The core API keeps working without the plugin.
    with client_for(sim, sim.admin_token) as core:
        assert core.get(f"/teams/{sim.model.teams[0].id}/channels").status_code == 200
