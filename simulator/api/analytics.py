"""GET /analytics/old: the v11.6 rows, matched by name and in the server's order."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator import errors
from simulator.api.common import state
from simulator.auth import require_admin
from simulator.model import DayCount, Scenario, Team

Row = dict[str, str | int]


def standard_rows(s: Scenario, team: Team | None) -> list[Row]:
    u = s.usage
    if team is None:
        open_ch, private_ch, posts, users, inactive = (
            s.open_channels, s.private_channels, u.total_posts, u.active_users, u.inactive_users)
    else:
        # With team_id, channels, posts and users are the team's; inactive users are not counted.
        open_ch, private_ch, posts, users, inactive = (
            team.open_channels, team.private_channels, team.post_count, team.member_count, -1)
    return _rows([
        ("channel_open_count", open_ch),
        ("channel_private_count", private_ch),
        ("post_count", posts),
        ("unique_user_count", users),
        ("team_count", len(s.teams)),
        ("total_websocket_connections", u.websocket_connections),
        ("total_master_db_connections", u.master_db_connections),
        ("total_read_db_connections", u.read_db_connections),
        ("daily_active_users", u.daily_active_users),
        ("monthly_active_users", u.monthly_active_users),
        ("inactive_user_count", inactive),
        ("single_channel_guest_count", u.single_channel_guests),
    ])


def extra_rows(s: Scenario) -> list[Row]:
    u = s.usage
    return _rows([
        ("incoming_webhook_count", u.incoming_webhooks),
        ("outgoing_webhook_count", u.outgoing_webhooks),
        ("command_count", u.commands),
        ("session_count", u.sessions),
        ("total_file_count", u.file_count),
        ("total_file_size", u.file_size_bytes),
    ])


def daily_rows(days: tuple[DayCount, ...], share: float = 1.0) -> list[Row]:
    return [{"name": d.day, "value": round(d.value * share)} for d in days]


def rows_for(s: Scenario, name: str, team: Team | None) -> list[Row] | None:
    """The rows of one analytics `name`, or None for a name the server does not know."""
    share = team.post_count / s.usage.total_posts if team is not None and s.usage.total_posts else 1.0
    if name == "standard":
        return standard_rows(s, team)
    if name == "extra_counts":
        return extra_rows(s)
    if name == "post_counts_day":
        return daily_rows(s.usage.posts_per_day, share)
    if name == "bot_post_counts_day":
        return daily_rows(s.usage.bot_posts_per_day, share)
    if name == "user_counts_with_posts_day":
        # Counting distinct posters is skipped on big systems, as the real server does.
        if s.usage.active_users > s.settings.max_users_for_statistics:
            return [{"name": "", "value": -1}]
        return daily_rows(s.usage.posters_per_day, share)
    return None


def _rows(pairs: list[tuple[str, int]]) -> list[Row]:
    return [{"name": name, "value": value} for name, value in pairs]


async def analytics_old(request: Request) -> JSONResponse:
    require_admin(request)
    s = state(request).scenario
    name = request.query_params.get("name") or "standard"
    team_id = request.query_params.get("team_id", "")
    team = next((t for t in s.teams if t.id == team_id), None)
    if team_id and team is None:
        # An unknown team has no channels, posts or members; the server answers zeros rather than 404.
        team = Team(team_id, "", "", "", "", "O", "", False, 0, 0, 0, 0, 0, 0)
    rows = rows_for(s, name, team)
    if rows is None:
        raise errors.invalid_param("name")
    return JSONResponse(rows)


ROUTES = [Route("/api/v4/analytics/old", analytics_old, methods=["GET"])]
