"""/analytics/old rows against the scenario's own numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from simulator import RunningSimulator
from tests.simulator.conftest import client_for

STANDARD = ["channel_open_count", "channel_private_count", "post_count", "unique_user_count", "team_count",
            "total_websocket_connections", "total_master_db_connections", "total_read_db_connections",
            "daily_active_users", "monthly_active_users", "inactive_user_count", "single_channel_guest_count"]
EXTRA = ["incoming_webhook_count", "outgoing_webhook_count", "command_count", "session_count", "total_file_count",
         "total_file_size"]


def _rows(client: httpx.Client, **params: str) -> list[dict]:
    response = client.get("/analytics/old", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_standard_rows_in_v11_6_order(simulator: RunningSimulator, admin: httpx.Client) -> None:
    rows = _rows(admin)
    assert [r["name"] for r in rows] == STANDARD
    assert rows == _rows(admin, name="standard")
    values = {r["name"]: r["value"] for r in rows}
    s = simulator.model
    assert values["unique_user_count"] == s.usage.active_users
    assert values["post_count"] == s.usage.total_posts
    assert values["team_count"] == len(s.teams)
    assert values["channel_open_count"] == s.open_channels
    assert values["channel_private_count"] == s.private_channels
    assert values["daily_active_users"] == s.usage.daily_active_users
    assert values["monthly_active_users"] == s.usage.monthly_active_users
    assert values["inactive_user_count"] == s.usage.inactive_users


def test_extra_counts(simulator: RunningSimulator, admin: httpx.Client) -> None:
    rows = _rows(admin, name="extra_counts")
    assert [r["name"] for r in rows] == EXTRA
    assert rows[-1]["value"] == simulator.model.usage.file_size_bytes


def test_daily_rows_newest_first(simulator: RunningSimulator, admin: httpx.Client) -> None:
    today = datetime.now(UTC).date().isoformat()
    for name in ("post_counts_day", "bot_post_counts_day", "user_counts_with_posts_day"):
        rows = _rows(admin, name=name)
        days = [r["name"] for r in rows]
        assert len(rows) == 30 and days[0] == today
        assert days == sorted(days, reverse=True)
    posts = _rows(admin, name="post_counts_day")
    assert [r["value"] for r in posts] == [d.value for d in simulator.model.usage.posts_per_day]


def test_large_skips_posters_per_day(large: RunningSimulator) -> None:
    with client_for(large, large.admin_token) as admin:
        assert _rows(admin, name="user_counts_with_posts_day") == [{"name": "", "value": -1}]
        assert len(_rows(admin, name="post_counts_day")) == 30  # v11 reads a materialized view: not skipped


def test_team_filter(simulator: RunningSimulator, admin: httpx.Client) -> None:
    team = simulator.model.teams[0]
    values = {r["name"]: r["value"] for r in _rows(admin, team_id=team.id)}
    assert values["unique_user_count"] == team.member_count
    assert values["channel_open_count"] == team.open_channels
    assert values["post_count"] == team.post_count
    assert values["inactive_user_count"] == -1
    assert values["team_count"] == len(simulator.model.teams)


def test_unknown_name_is_400(admin: httpx.Client) -> None:
    response = admin.get("/analytics/old", params={"name": "everything"})
    assert response.status_code == 400
    assert response.json()["id"] == "api.context.invalid_body_param.app_error"
