"""The few figures a deployment's history is read by, taken from one collection: small enough to keep every run.

Each figure is None when its source did not answer, so a gap in a trend means "not collected", never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collectors.base import Snapshot


@dataclass(frozen=True)
class KeyFigure:
    name: str
    label: str
    unit: str  # count, percent, bytes, seconds
    source: str  # where it comes from, for the chart's caption


KEY_FIGURES = (
    KeyFigure("registered_users", "Registered users", "count", "Mattermost API (analytics)"),
    KeyFigure("daily_active_users", "Daily active users", "count", "Mattermost API (analytics)"),
    KeyFigure("monthly_active_users", "Monthly active users", "count", "Mattermost API (analytics)"),
    KeyFigure("dau_mau_percent", "DAU/MAU", "percent", "Mattermost API (analytics)"),
    KeyFigure("posts_per_day", "Posts per day", "count", "Mattermost API (post counts of the last full day)"),
    KeyFigure("database_bytes", "Database size", "bytes", "PostgreSQL (pg_database_size)"),
    KeyFigure("api_p99_seconds", "API latency p99 (worst node)", "seconds", "Prometheus"),
    KeyFigure("http_error_percent", "HTTP error rate (worst node)", "percent", "Prometheus"),
    KeyFigure("goroutines", "Goroutines (all nodes)", "count", "Prometheus"),
    KeyFigure("open_fds", "Open file descriptors (all nodes)", "count", "Prometheus"),
    KeyFigure("websocket_connections", "WebSocket connections", "count", "Prometheus, else the Mattermost API"),
)
BY_NAME = {figure.name: figure for figure in KEY_FIGURES}


def key_figures(snapshot: Snapshot) -> dict[str, float | None]:
    figures: dict[str, float | None] = dict.fromkeys(BY_NAME)
    _from_mattermost(snapshot, figures)
    database = snapshot.data("database")
    if database is not None:
        figures["database_bytes"] = float(database.size_bytes)
    _from_prometheus(snapshot.data("prometheus"), figures)
    return figures


def _from_mattermost(snapshot: Snapshot, figures: dict[str, float | None]) -> None:
    facts = snapshot.data("mattermost")
    if facts is None:
        return
    counts = facts.counts
    figures["registered_users"] = _number(counts.registered_users)
    figures["daily_active_users"] = _number(counts.daily_active_users)
    figures["monthly_active_users"] = _number(counts.monthly_active_users)
    if counts.daily_active_users is not None and counts.monthly_active_users:
        figures["dau_mau_percent"] = round(100 * counts.daily_active_users / counts.monthly_active_users, 1)
    figures["websocket_connections"] = _number(counts.websocket_connections)
    # Today's count is still growing; the newest day before the collection is the last full one.
    today = snapshot.collected_at.date()
    full_days = sorted((d for d in facts.posts_per_day if d.day < today), key=lambda d: d.day)
    if full_days:
        figures["posts_per_day"] = float(full_days[-1].value)


def _from_prometheus(facts: Any, figures: dict[str, float | None]) -> None:
    if facts is None or not facts.has_mattermost_metrics:
        return
    for query, figure, combine in (("api_latency_p99", "api_p99_seconds", max),
                                   ("http_error_percent", "http_error_percent", max),
                                   ("goroutines", "goroutines", sum), ("open_fds", "open_fds", sum),
                                   ("websockets", "websocket_connections", sum)):
        result = facts.results.get(query)
        if result is not None and result.latest:
            figures[figure] = round(float(combine(result.latest.values())), 4)


def _number(value: int | None) -> float | None:
    return None if value is None else float(value)
