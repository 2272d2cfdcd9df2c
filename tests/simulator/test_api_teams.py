"""/teams: paging, total count, and what a plain user may see."""

from __future__ import annotations

import httpx

from simulator import RunningSimulator
from tests.simulator.conftest import client_for


def test_all_teams_for_admin(simulator: RunningSimulator, admin: httpx.Client) -> None:
    teams = admin.get("/teams").json()
    assert {t["id"] for t in teams} == {t.id for t in simulator.model.teams}
    names = [t["display_name"].lower() for t in teams]
    assert names == sorted(names)
    assert all(t["email"] for t in teams)


def test_plain_user_sees_open_teams_sanitized(simulator: RunningSimulator, user: httpx.Client) -> None:
    teams = user.get("/teams").json()
    assert {t["id"] for t in teams} == {t.id for t in simulator.model.teams if t.allow_open_invite}
    assert all(t["email"] == "" and t["invite_id"] == "" for t in teams)


def test_include_total_count(simulator: RunningSimulator, admin: httpx.Client) -> None:
    body = admin.get("/teams", params={"include_total_count": "true", "per_page": 1}).json()
    assert body["total_count"] == len(simulator.model.teams)
    assert len(body["teams"]) == 1


def test_paging_through_300_teams(large: RunningSimulator) -> None:
    with client_for(large, large.admin_token) as admin:
        first = admin.get("/teams").json()
        assert len(first) == 60  # default per_page
        assert len(admin.get("/teams", params={"per_page": 1000}).json()) == 200  # capped, not refused
        seen: list[str] = []
        page = 0
        while batch := admin.get("/teams", params={"page": page, "per_page": 70}).json():
            seen += [t["id"] for t in batch]
            page += 1
        assert page == 5
        assert len(seen) == len(set(seen)) == 300
        assert admin.get("/teams", params={"page": "x", "per_page": "-3"}).json() == first  # defaults
