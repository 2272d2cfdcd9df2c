"""The review meeting view of one environment: progress, blockers, usage, performance trends and open health
findings, gathered into one immutable Review that the page shows and review_export turns into files.

Anything a source could not tell is an `Unavailable` carrying the reason, never a zero: a review that reads
"0 posts" because the database was not configured would mislead the meeting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import pandas as pd

from checklists.loader import Rollout
from checklists.progress import EnvironmentProgress, Status, completion
from checklists.verify import Verdict, Verification
from collectors import mm_queries
from collectors.base import Snapshot, SourceResult
from collectors.database_models import (
    FACT_CHANNEL_TYPES,
    FACT_POSTS,
    FACT_TOP_CHANNELS,
    FACT_TOP_TEAMS,
    HOW_COUNTED,
    ChannelMessages,
    DatabaseFacts,
    PostActivity,
    TeamMessages,
)
from collectors.mattermost_models import MattermostFacts
from collectors.prometheus_models import PrometheusFacts
from health.findings import Finding, State
from health.findings import verdict as health_verdict
from health.metric_panels import why_empty

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A change between the first and the last quarter of the range smaller than this share is noise (daily cycles,
# jitter between scrapes), not a trend worth raising in a meeting.
FLAT_BAND = 0.10
MIN_TREND_POINTS = 4  # one point per quarter at least
SOURCE_LABELS = {"mattermost": "Mattermost API", "database": "Mattermost database", "prometheus": "Prometheus"}


@dataclass(frozen=True)
class Unavailable:
    """A fact the review cannot show, and why (a sentence a person can act on)."""

    why: str

    def __str__(self) -> str:
        return f"not available: {self.why}"


# ------------------------------------------------------------------------------------------------- progress

@dataclass(frozen=True)
class CompletionRow:
    phase: str
    section: str | None  # None on a phase's own row
    items: int
    done: int  # not applicable counts as done
    in_progress: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.items) if self.items else 100


@dataclass(frozen=True)
class ProgressReview:
    overall: CompletionRow
    phases: tuple[CompletionRow, ...]
    sections: tuple[CompletionRow, ...]
    verified: int  # items the live system confirms
    failing: int  # items the live system says do not hold, whatever their status
    regressions: int  # of those, items marked done


class BlockerKind(StrEnum):
    REGRESSION = "regression"
    OVERDUE = "overdue"
    SCHEDULE = "schedule overdue"
    NO_OWNER = "no owner"


BLOCKER_ORDER = {kind: index for index, kind in enumerate(BlockerKind)}


@dataclass(frozen=True)
class Blocker:
    kind: BlockerKind
    title: str  # the item's text, or the scheduled task's title
    reason: str
    where: str  # "phase › section", or "implementation schedule"
    item_id: str | None = None
    owner: str = ""
    due: date | None = None
    notes: str = ""


class ScheduledTask(NamedTuple):
    """A task of the implementation schedule past its end date, as the schedule passes it in."""

    title: str
    end_date: date
    owner: str = ""


# ------------------------------------------------------------------------------------------------- usage

@dataclass(frozen=True)
class UsageFigure:
    label: str
    value: int | Unavailable
    source: str  # where the number comes from and how it was counted


@dataclass(frozen=True)
class PeakUsage:
    activity: PostActivity  # posts per (weekday, hour), UTC, last 7 days
    busiest_weekday: str | None  # None when nobody posted in the 7 days
    busiest_hour: int | None  # 0..23 UTC
    busiest_slot: tuple[str, int, int] | None  # weekday, hour, posts

    @property
    def summary(self) -> str:
        if self.busiest_slot is None:
            return "No posts in the last 7 days."
        day, hour, posts = self.busiest_slot
        return (f"Busiest day {self.busiest_weekday}, busiest hour {self.busiest_hour:02d}:00 UTC; the busiest "
                f"single hour was {day} {hour:02d}:00 UTC with {posts:,} post{'' if posts == 1 else 's'} "
                f"({self.activity.total:,} posts in the last 7 days).")


@dataclass(frozen=True)
class UsageReview:
    figures: tuple[UsageFigure, ...]
    top_channels: tuple[ChannelMessages, ...] | Unavailable
    top_teams: tuple[TeamMessages, ...] | Unavailable
    peak: PeakUsage | Unavailable


# ------------------------------------------------------------------------------------------------- performance

class Trend(StrEnum):
    RISING = "rising"
    FALLING = "falling"
    FLAT = "flat"
    UNKNOWN = "unknown"  # too few points to compare quarters


@dataclass(frozen=True)
class TrendSummary:
    """The deployment's total (summed over its nodes) of one metric across the range."""

    nodes: int
    minimum: float
    mean: float
    maximum: float
    latest: float
    trend: Trend
    change_percent: float | None  # last quarter's mean against the first's; None when the first is 0
    times: tuple[datetime, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class MetricTrend:
    title: str
    query: str  # the catalogue query the numbers come from (or the first one tried)
    unit: str
    summary: TrendSummary | Unavailable


@dataclass(frozen=True)
class PerformanceReview:
    source: str  # Prometheus URL
    start: datetime
    end: datetime
    metrics: tuple[MetricTrend, ...]


# What a review meeting looks at, in that order: title and the catalogue queries to try, best first.
PERFORMANCE_QUERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CPU", ("cpu_percent",)),
    ("Memory (resident)", ("memory_resident_bytes",)),
    ("Database connections", ("db_master_connections", "db_pool_open")),
    ("Goroutines", ("goroutines",)),
    # Mattermost has no session gauge; connected WebSockets are the live sessions.
    ("Sessions (WebSocket connections)", ("websockets",)),
)


# ------------------------------------------------------------------------------------------------- findings

@dataclass(frozen=True)
class OpenFindings:
    firing: tuple[Finding, ...]  # most urgent first
    unknown: int  # rules that could not tell, for want of facts
    evaluated: int
    headline: str


@dataclass(frozen=True)
class Review:
    title: str
    environment: str
    environment_label: str
    today: date
    facts_collected_at: datetime
    progress: ProgressReview
    blockers: tuple[Blocker, ...]
    usage: UsageReview
    performance: PerformanceReview | Unavailable
    findings: OpenFindings


# ================================================================================================= building

def build_review(rollout: Rollout, progress: EnvironmentProgress, verifications: Mapping[str, Verification],
                 snapshot: Snapshot, findings: Iterable[Finding], metrics: SourceResult | None, today: date,
                 environment_label: str, schedule_overdue: Iterable[ScheduledTask | Sequence] = ()) -> Review:
    """Everything a review meeting looks at for one environment.

    `metrics` is a Prometheus range (for instance `collectors.prometheus.query_range` over the review period);
    None uses the snapshot's own Prometheus result (the last 24 hours). `schedule_overdue` holds the
    implementation schedule's late tasks as (title, end_date, owner)."""
    if progress.environment != snapshot.environment:
        raise ValueError(f"progress is for environment {progress.environment!r} but the snapshot is of "
                         f"{snapshot.environment!r}: a review must compare one environment with itself")
    tasks = [_scheduled(task) for task in schedule_overdue]
    return Review(
        title=rollout.title,
        environment=snapshot.environment,
        environment_label=environment_label,
        today=today,
        facts_collected_at=snapshot.collected_at,
        progress=_progress(rollout, progress, verifications),
        blockers=_blockers(rollout, progress, verifications, today, tasks),
        usage=_usage(snapshot),
        performance=_performance(metrics if metrics is not None else snapshot.sources.get("prometheus")),
        findings=_findings(list(findings)),
    )


def _progress(rollout: Rollout, progress: EnvironmentProgress,
              verifications: Mapping[str, Verification]) -> ProgressReview:
    sections = tuple(CompletionRow(row["phase"], row["section"], row["items"], row["done"], row["in_progress"])
                     for row in completion(rollout, progress))
    phases = tuple(_total(phase.title, [row for row in sections if row.phase == phase.title])
                   for phase in rollout.phases)
    checks = {item.id: verifications.get(item.id) for _, _, item in rollout.items()}
    failed = [item_id for item_id, check in checks.items() if check is not None and check.verdict is Verdict.FAILED]
    return ProgressReview(
        overall=_total("All phases", list(phases)), phases=phases, sections=sections,
        verified=sum(check is not None and check.verdict is Verdict.VERIFIED for check in checks.values()),
        failing=len(failed),
        regressions=sum(progress.get(item_id).status is Status.DONE for item_id in failed))


def _total(phase: str, rows: list[CompletionRow]) -> CompletionRow:
    return CompletionRow(phase, None, sum(r.items for r in rows), sum(r.done for r in rows),
                         sum(r.in_progress for r in rows))


def _scheduled(task: ScheduledTask | Sequence) -> ScheduledTask:
    try:
        title, end, *rest = task
    except (TypeError, ValueError):
        raise ValueError(f"schedule_overdue entry {task!r}: expected (title, end_date, owner)") from None
    if len(rest) > 1 or not isinstance(title, str) or not isinstance(end, date):
        raise ValueError(f"schedule_overdue entry {task!r}: expected (title, end_date, owner) with a text title "
                         f"and a date as end_date")
    owner = rest[0] if rest else ""
    return ScheduledTask(title, end.date() if isinstance(end, datetime) else end, str(owner or ""))


def _blockers(rollout: Rollout, progress: EnvironmentProgress, verifications: Mapping[str, Verification],
              today: date, tasks: list[ScheduledTask]) -> tuple[Blocker, ...]:
    found: list[Blocker] = []
    for phase, section, item in rollout.items():
        state = progress.get(item.id)
        reasons: list[tuple[BlockerKind, str]] = []
        check = verifications.get(item.id)
        if state.status is Status.DONE and check is not None and check.verdict is Verdict.FAILED:
            reasons.append((BlockerKind.REGRESSION, f"marked done, but the live system says no: {check.evidence}"))
        if state.overdue(today):
            reasons.append((BlockerKind.OVERDUE, f"due {state.due:%Y-%m-%d}, {_days(today - state.due)} ago, "
                                                 f"still {state.status.value}"))
        if state.status is Status.IN_PROGRESS and not state.owner.strip():
            reasons.append((BlockerKind.NO_OWNER, "in progress, but nobody owns it"))
        where = f"{phase.title} › {section.number}. {section.title}"
        found += [Blocker(kind, item.text, reason, where, item.id, state.owner, state.due, state.notes)
                  for kind, reason in reasons]
    found += [Blocker(BlockerKind.SCHEDULE, task.title, f"scheduled to end {task.end_date:%Y-%m-%d}"
                      + (f", {_days(today - task.end_date)} ago" if task.end_date < today else ""),
                      "implementation schedule", owner=task.owner, due=task.end_date)
              for task in tasks]
    found.sort(key=lambda b: (BLOCKER_ORDER[b.kind], b.due or date.max))
    return tuple(found)


def _days(delta: timedelta) -> str:
    return "1 day" if delta.days == 1 else f"{delta.days} days"


# ------------------------------------------------------------------------------------------------- usage

def _source_problem(snapshot: Snapshot, name: str) -> str | None:
    """Why a source's facts are missing from the snapshot, or None when they are there."""
    result = snapshot.sources.get(name)
    label = SOURCE_LABELS.get(name, name)
    if result is None:
        return f"the {label} was not collected for {snapshot.environment}"
    if result.usable:
        return None
    return result.error or f"the {label} answered with status {result.status.value} and no facts"


def _usage(snapshot: Snapshot) -> UsageReview:
    mattermost: MattermostFacts | None = snapshot.data("mattermost")
    database: DatabaseFacts | None = snapshot.data("database")
    mm_problem = _source_problem(snapshot, "mattermost")
    db_problem = _source_problem(snapshot, "database")

    def from_mattermost(label: str, attribute: str, how: str | None = None) -> UsageFigure:
        source = "Mattermost API: system analytics" + (f" ({how})" if how else "")
        if mattermost is None:
            return UsageFigure(label, Unavailable(mm_problem or ""), source)
        value = getattr(mattermost.counts, attribute)
        if value is None:
            return UsageFigure(label, Unavailable(mattermost.missing.get("Usage counts")
                                                  or f"Mattermost did not report {label.lower()}"), source)
        return UsageFigure(label, value, source)

    def from_database(label: str, kind: str) -> UsageFigure:
        source = f"Mattermost database: {HOW_COUNTED['channels_by_type']}"
        if database is None:
            return UsageFigure(label, Unavailable(db_problem or ""), source)
        if database.channels_by_type is None:
            return UsageFigure(label, Unavailable(database.missing.get(FACT_CHANNEL_TYPES)
                                                  or "the database did not report channels by type"), source)
        return UsageFigure(label, getattr(database.channels_by_type, kind), source)

    figures = (
        from_mattermost("Posts", "posts"),
        from_mattermost("Teams", "teams"),
        from_mattermost("Channels (public and private)", "channels"),
        from_mattermost("Public channels", "public_channels"),
        from_mattermost("Private channels", "private_channels"),
        from_database("Direct message chats", "direct"),
        from_database("Group message chats", "group"),
        # What Mattermost itself calls these (server/channels/app/support_packet.go, analytics.go); bots never count.
        from_mattermost("Registered users", "registered_users", "every account, deactivated ones too"),
        from_mattermost("Active users", "active_users", "accounts not deactivated, as the licence counts them"),
        from_mattermost("Daily active users", "daily_active_users", "active in the last 24 hours"),
        from_mattermost("Monthly active users", "monthly_active_users", "active in the last 31 days"),
    )
    if database is None:
        gone = Unavailable(db_problem or "")
        return UsageReview(figures, gone, gone, gone)
    return UsageReview(
        figures,
        top_channels=_listed(database.top_channels, database.missing.get(FACT_TOP_CHANNELS)),
        top_teams=_listed(database.top_teams, database.missing.get(FACT_TOP_TEAMS)),
        peak=(_peak(database.posts_last_7_days) if database.posts_last_7_days is not None
              else Unavailable(database.missing.get(FACT_POSTS)
                               or "the database did not report posts by hour and weekday")),
    )


def _listed(rows: tuple, why_missing: str | None) -> tuple | Unavailable:
    # An empty list with no complaint is a real answer (no channel has messages yet).
    return Unavailable(why_missing) if why_missing and not rows else rows


def _peak(activity: PostActivity) -> PeakUsage:
    if activity.total == 0:
        return PeakUsage(activity, None, None, None)
    by_weekday, by_hour = activity.by_weekday, activity.by_hour
    slot = max(activity.cells, key=lambda cell: (cell.posts, -cell.weekday, -cell.hour))
    return PeakUsage(activity, WEEKDAY_NAMES[by_weekday.index(max(by_weekday))], by_hour.index(max(by_hour)),
                     (WEEKDAY_NAMES[slot.weekday - 1], slot.hour, slot.posts))


# ------------------------------------------------------------------------------------------------- performance

def _performance(result: SourceResult | None) -> PerformanceReview | Unavailable:
    if result is None:
        return Unavailable("no Prometheus range was collected for this review")
    facts: PrometheusFacts | None = result.data
    if facts is None:
        return Unavailable(result.error or f"Prometheus answered with status {result.status.value} and no facts")
    if not facts.has_mattermost_metrics:
        return Unavailable(result.error or f"Prometheus at {facts.url} holds no Mattermost metrics")
    return PerformanceReview(facts.url, facts.start, facts.end,
                             tuple(_metric_trend(facts, title, names) for title, names in PERFORMANCE_QUERIES))


def _metric_trend(facts: PrometheusFacts, title: str, names: tuple[str, ...]) -> MetricTrend:
    reasons = []
    for name in names:
        result = facts.results.get(name)
        if result is not None:
            summary = summarise_series(result.frame)
            if summary is not None:
                return MetricTrend(title, name, result.unit, summary)
        reasons.append(why_empty(facts, name))
    return MetricTrend(title, names[0], mm_queries.get(names[0]).unit, Unavailable("; ".join(reasons)))


def summarise_series(frame: pd.DataFrame) -> TrendSummary | None:
    """Statistics and trend of the sum over nodes of a long (timestamp, instance, value) frame; None when it has
    no finite value."""
    finite = frame[np.isfinite(frame["value"].to_numpy(dtype=float))]
    if finite.empty:
        return None
    total = finite.groupby("timestamp", sort=True)["value"].sum()
    values = total.to_numpy(dtype=float)
    trend, change = trend_of(values)
    return TrendSummary(
        nodes=int(finite["instance"].nunique()), minimum=float(values.min()), mean=float(values.mean()),
        maximum=float(values.max()), latest=float(values[-1]), trend=trend, change_percent=change,
        times=tuple(stamp.to_pydatetime() for stamp in total.index), values=tuple(float(v) for v in values))


def trend_of(values: np.ndarray) -> tuple[Trend, float | None]:
    """Rising, falling or flat: the mean of the last quarter of the points against the mean of the first."""
    if len(values) < MIN_TREND_POINTS:
        return Trend.UNKNOWN, None
    quarter = len(values) // 4
    first, last = float(values[:quarter].mean()), float(values[-quarter:].mean())
    if first == 0:
        return (Trend.FLAT if last == 0 else Trend.RISING if last > 0 else Trend.FALLING), None
    change = (last - first) / abs(first)
    trend = Trend.RISING if change > FLAT_BAND else Trend.FALLING if change < -FLAT_BAND else Trend.FLAT
    return trend, round(100 * change, 1)


# ------------------------------------------------------------------------------------------------- findings

def _findings(findings: list[Finding]) -> OpenFindings:
    firing = sorted((f for f in findings if f.state is State.FIRING), key=lambda f: f.sort_key)
    return OpenFindings(tuple(firing), sum(f.state is State.UNKNOWN for f in findings), len(findings),
                        health_verdict(findings).headline)
