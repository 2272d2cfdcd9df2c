"""History as an admin reads it, on both store engines: key figures over 30 days (gaps stay gaps), the findings
timeline from the lifecycle and mute audit, and what changed between two snapshots (secrets never shown)."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from health import finding_states, history, history_diff, history_timeline, history_trends, key_figures, mutes
from health.engine import evaluate
from health.findings import Finding, verdict
from health.history_diff import HistoryError
from health.lifecycle import fingerprint
from health.mutes import Mute, MuteKind
from health.snapshot_details import details_hash, flatten_config
from store.utc import utc_now
from tests.health.conftest import BASE_CONFIG, make_inputs

ENV = "production"
HISTORY_KEY = "operator-history-key"
# The lifecycle and mute audit entries are stamped with the wall clock, so the timeline tests work around now.
NOW = datetime.now(UTC).replace(microsecond=0)
SITE_URL_EMPTY = {"ServiceSettings.SiteURL": ""}
DEBUG_LOGS = {"LogSettings.FileLevel": "DEBUG"}


def config_with(changes: dict[str, object]) -> dict:
    config = copy.deepcopy(BASE_CONFIG)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = config
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config


def findings_with(changes: dict[str, object]) -> list[Finding]:
    return evaluate(make_inputs(config_changes=changes))


def make_up(changes: dict[str, object], *, version: str = "11.6.1", build: str = "16000000",
            plugins: dict | None = None, seats: int = 2000) -> dict:
    return {"version": version, "build": {"number": build, "hash": "abc123", "date": "", "enterprise_ready": True,
                                          "schema_version": "140"},
            "edition": "enterprise",
            "license": {"is_licensed": True, "sku": "enterprise", "seats": seats, "company": "Acme",
                        "is_trial": False, "expires_at": "2027-06-01T00:00:00+00:00"},
            "plugins": plugins if plugins is not None else {"playbooks": {"version": "2.1.0", "enabled": True}},
            "config": flatten_config(config_with(changes), HISTORY_KEY)}


def save(store, at: datetime, *, findings: list[Finding] | None = None, details: dict | None = None,
         figures: dict | None = None, environment: str = ENV) -> int:
    findings = findings if findings is not None else findings_with({})
    return history.save(store, environment, collected_at=at, slot=at, collected_by="test", figures=figures or {},
                        findings=history.compact_findings(findings, verdict(findings)), sources={},
                        details=details, details_key=details_hash(details) if details else None,
                        report={"findings": []})


# -- trends -----------------------------------------------------------------------------------------------------

def test_trend_frame_keeps_gaps_as_nan_and_reads_the_daily_tier(store) -> None:
    figures = {"registered_users": 1200.0, "database_bytes": 5e9, "api_p99_seconds": 0.4}
    save(store, NOW - timedelta(days=40), figures=figures)  # older than the window
    for hours in (1, 6):  # two on one old day: retention keeps the last as its daily row
        save(store, NOW.replace(hour=12) - timedelta(days=20, hours=hours), figures=figures)
    save(store, NOW - timedelta(days=10), figures=figures)
    save(store, NOW - timedelta(hours=2), figures=figures)
    save(store, NOW - timedelta(hours=1), figures={**figures, "database_bytes": None})  # the database was down
    save(store, NOW - timedelta(minutes=30), figures={"registered_users": 1210.0})  # only the API answered
    history.prune(store, NOW, raw_days=7, daily_days=60)

    frame = history_trends.trend_frame(store, ENV, days=30, now=NOW)

    assert list(frame[history_trends.TIER]) == ["daily", "daily", "raw", "raw", "raw"]
    assert str(frame.index.tz) == "UTC" and frame.index.is_monotonic_increasing
    assert frame.index[0] == pd.Timestamp(NOW.replace(hour=12) - timedelta(days=20, hours=1))
    assert {figure.name for figure in key_figures.KEY_FIGURES} <= set(frame.columns)
    assert frame["database_bytes"].tolist()[:3] == [5e9, 5e9, 5e9]
    assert math.isnan(frame["database_bytes"].iloc[3]) and math.isnan(frame["database_bytes"].iloc[4])
    assert frame["registered_users"].iloc[-1] == 1210.0
    assert frame["goroutines"].isna().all(), "a figure never collected is a gap, never 0"
    assert not (frame.drop(columns=history_trends.TIER) == 0).any().any()


def test_trend_frame_of_an_environment_without_history_is_empty(store) -> None:
    save(store, NOW - timedelta(hours=1), figures={"registered_users": 5.0}, environment="staging")
    frame = history_trends.trend_frame(store, ENV, now=NOW)
    assert frame.empty and "registered_users" in frame.columns


def test_a_pause_in_collection_becomes_a_break_in_the_line() -> None:
    times = [NOW - timedelta(minutes=m) for m in (120, 119, 118, 30, 29)]  # the watcher was down for 88 minutes
    index = pd.DatetimeIndex(times, name="collected_at")
    series = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], index=index)
    broken = history_trends.with_gap_breaks(series, pd.Series(["raw"] * 5, index=index))
    assert len(broken) == 6 and broken.isna().sum() == 1
    assert index[2] < broken[broken.isna()].index[0] < index[3]


def test_a_day_between_daily_rows_and_the_raw_week_is_no_pause() -> None:
    times = [NOW - timedelta(days=d) for d in (10, 9, 8)] + [NOW - timedelta(days=7, minutes=-m) for m in range(3)]
    index = pd.DatetimeIndex(times, name="collected_at")
    tiers = pd.Series(["daily"] * 3 + ["raw"] * 3, index=index)
    series = pd.Series([1.0] * 6, index=index)
    assert history_trends.with_gap_breaks(series, tiers).notna().all()


# -- findings timeline ------------------------------------------------------------------------------------------

def test_timeline_shows_when_a_finding_fired_was_muted_and_resolved(store) -> None:
    firing, healthy = findings_with(SITE_URL_EMPTY), findings_with({})
    key = fingerprint("SITE_URL_EMPTY", None)
    finding_states.record_run(store, ENV, firing, NOW - timedelta(minutes=30), actor="watcher w1")
    mute = Mute("SITE_URL_EMPTY", None, MuteKind.MUTE, "DNS change in progress", "alice",
                NOW - timedelta(minutes=20), NOW + timedelta(hours=4))
    mutes.set_mute(store, ENV, mute, expected_version=None)
    finding_states.record_run(store, ENV, healthy, NOW - timedelta(minutes=10), actor="watcher w1")
    mutes.lift(store, ENV, "SITE_URL_EMPTY", None, by="bob", at=NOW - timedelta(minutes=5))

    timeline = history_timeline.findings_timeline(store, ENV, now=NOW)

    mine = [e for e in timeline.events if e.fingerprint == key]
    assert [e.kind for e in mine] == ["fired", "muted", "resolved", "unmuted"]
    assert [e.who for e in mine] == ["watcher w1", "alice", "watcher w1", "bob"]
    assert mine[1].why == "DNS change in progress" and mine[3].why == "DNS change in progress"
    assert mine[2].why is None, "the watcher resolved it; the mute's reason is not its reason"
    assert {e.title for e in mine} == {"Site URL is not set"} and mine[0].code == "SITE_URL_EMPTY"
    spans = {s.kind: s for s in timeline.spans if s.fingerprint == key}
    assert (spans["open"].start, spans["open"].end, spans["open"].ongoing) == (mine[0].at, mine[2].at, False)
    assert (spans["muted"].start, spans["muted"].end, spans["muted"].ongoing) == (mine[1].at, mine[3].at, False)
    table = timeline.events_frame()
    assert list(table.columns) == ["At (UTC)", "Finding", "Code", "Event", "Who", "Why"]
    assert "muted" in set(table["Event"])


def test_timeline_keeps_a_still_open_finding_open_to_now(store) -> None:
    finding_states.record_run(store, ENV, findings_with(DEBUG_LOGS), NOW - timedelta(hours=2), actor="watcher w1")
    finding_states.record_run(store, ENV, findings_with({}), NOW - timedelta(hours=1), actor="watcher w1")
    finding_states.record_run(store, ENV, findings_with(DEBUG_LOGS), NOW, actor="watcher w1")
    key = fingerprint("LOG_DEBUG_PROD", None)
    later = utc_now() + timedelta(seconds=1)

    timeline = history_timeline.findings_timeline(store, ENV, now=later)

    assert [e.kind for e in timeline.events if e.fingerprint == key] == ["fired", "resolved", "reopened"]
    spans = [s for s in timeline.spans if s.fingerprint == key]
    assert [(s.ongoing, s.end == later) for s in spans] == [(False, False), (True, True)]


def test_timeline_of_a_quiet_environment_is_empty(store) -> None:
    timeline = history_timeline.findings_timeline(store, ENV)
    assert timeline.events == [] and timeline.spans == [] and timeline.events_frame().empty


# -- what changed -----------------------------------------------------------------------------------------------

@pytest.fixture
def two_snapshots(store) -> tuple[int, int]:
    older_config = {**SITE_URL_EMPTY, "SqlSettings.DataSource": "postgres://mm:first-password@db/mattermost",
                    "TeamSettings.MaxUsersPerTeam": 50}
    newer_config = {"ServiceSettings.SiteURL": "https://chat.example.com", **DEBUG_LOGS,
                    "SqlSettings.DataSource": "postgres://mm:second-password@db/mattermost",
                    "TeamSettings.MaxUsersPerTeam": 250}
    older_plugins = {"playbooks": {"version": "2.1.0", "enabled": True},
                     "com.mattermost.calls": {"version": "1.4.0", "enabled": True},
                     "jira": {"version": "4.1.0", "enabled": True}}
    newer_plugins = {"playbooks": {"version": "2.3.1", "enabled": True},
                     "com.mattermost.calls": {"version": "1.4.0", "enabled": False},
                     "zoom": {"version": "1.8.0", "enabled": True}}
    older = save(store, NOW - timedelta(days=2), findings=findings_with(older_config),
                 details=make_up(older_config, version="11.5.2", build="15000000", plugins=older_plugins))
    newer = save(store, NOW - timedelta(hours=1), findings=findings_with(newer_config),
                 details=make_up(newer_config, plugins=newer_plugins, seats=2500))
    return older, newer


def test_compare_names_version_settings_plugins_licence_and_findings(store, two_snapshots) -> None:
    diff = history_diff.compare(store, ENV, *two_snapshots)

    server = {c.name: c for c in diff.server}
    assert (server["Version"].old, server["Version"].new, server["Version"].change) == ("11.5.2", "11.6.1",
                                                                                         "upgraded")
    assert server["Build number"].change == "changed"
    settings = {c.name: c for c in diff.settings}
    assert (settings["TeamSettings.MaxUsersPerTeam"].old, settings["TeamSettings.MaxUsersPerTeam"].new) == ("50",
                                                                                                            "250")
    assert (settings["ServiceSettings.SiteURL"].old, settings["ServiceSettings.SiteURL"].new) == (
        "", "https://chat.example.com")
    secret = settings["SqlSettings.DataSource"]
    assert (secret.old, secret.new, secret.change) == ("(secret)", "(secret)", "changed")
    assert "SqlSettings.AtRestEncryptKey" not in settings, "masked on both sides: it cannot be said to change"
    assert "SqlSettings.AtRestEncryptKey" in diff.secrets_not_comparable
    plugins = {(c.name, c.change) for c in diff.plugins}
    assert plugins == {("playbooks", "upgraded"), ("com.mattermost.calls", "disabled"), ("jira", "removed"),
                       ("zoom", "added")}
    assert [(c.name, c.old, c.new) for c in diff.license] == [("Seats", "2000", "2500")]
    assert "SITE_URL_EMPTY" in {f.code for f in diff.findings_stopped}
    assert "LOG_DEBUG_PROD" in {f.code for f in diff.findings_started}
    assert not {f.code for f in diff.findings_started} & {f.code for f in diff.findings_stopped}
    assert not diff.unchanged and diff.makeup_missing == []


def test_compare_never_shows_a_secret_or_its_hash(store, two_snapshots) -> None:
    diff = history_diff.compare(store, ENV, *two_snapshots)
    shown = repr([diff.server, diff.settings, diff.plugins, diff.license, diff.secrets_not_comparable])
    shown += history_diff.changes_frame(diff.settings).to_csv()
    assert "password" not in shown and "keyed hash" not in shown and "hidden by Mattermost" not in shown


def test_compare_takes_the_pair_in_either_order(store, two_snapshots) -> None:
    older, newer = two_snapshots
    diff = history_diff.compare(store, ENV, newer, older)
    assert (diff.older.id, diff.newer.id) == (older, newer)
    assert {c.name: c.change for c in diff.verdict}["Verdict"] in ("changed", "unchanged")


def test_compare_of_identical_make_up_changes_nothing(store) -> None:
    first = save(store, NOW - timedelta(hours=2), details=make_up({}))
    second = save(store, NOW - timedelta(hours=1), details=make_up({}))
    diff = history_diff.compare(store, ENV, first, second)
    assert diff.unchanged and diff.settings == [] and diff.plugins == []


def test_compare_says_when_a_snapshot_has_no_make_up(store) -> None:
    without = save(store, NOW - timedelta(hours=2), details=None)  # the Mattermost API did not answer
    with_make_up = save(store, NOW - timedelta(hours=1), details=make_up({}))
    diff = history_diff.compare(store, ENV, without, with_make_up)
    assert diff.makeup_missing == ["older"] and diff.settings == [] and diff.server == []


def test_compare_refuses_unknown_foreign_and_repeated_snapshots(store, two_snapshots) -> None:
    older, newer = two_snapshots
    elsewhere = save(store, NOW, environment="staging")
    with pytest.raises(HistoryError, match="no snapshot 987654"):
        history_diff.compare(store, ENV, older, 987654)
    with pytest.raises(HistoryError, match="belongs to staging, not production"):
        history_diff.compare(store, ENV, older, elsewhere)
    with pytest.raises(HistoryError, match="picked twice"):
        history_diff.compare(store, ENV, newer, newer)


def test_choices_are_newest_first_with_verdicts_and_make_up_changes(store, two_snapshots) -> None:
    older, newer = two_snapshots
    latest = save(store, NOW - timedelta(minutes=5), findings=findings_with({}),
                  details=make_up({"ServiceSettings.SiteURL": "https://chat.example.com", **DEBUG_LOGS},
                                  plugins={"playbooks": {"version": "2.3.1", "enabled": True},
                                           "com.mattermost.calls": {"version": "1.4.0", "enabled": False},
                                           "zoom": {"version": "1.8.0", "enabled": True}}, seats=2500))
    choices = history_diff.snapshot_choices(store, ENV, days=30, now=NOW)
    assert [c.id for c in choices] == [latest, newer, older]
    assert all(c.verdict for c in choices) and choices[0].verdict == verdict(findings_with({})).label
    assert [c.makeup_changed for c in choices] == [True, True, False]
    assert "UTC" in choices[0].label() and "make-up changed" in choices[1].label()
    pair = history_diff.default_pair(choices)
    assert pair is not None and (pair[0].id, pair[1].id) == (older, latest)
    assert history_diff.default_pair(choices[:1]) is None


def test_a_week_of_minutes_offers_the_changes_and_one_snapshot_an_hour(store) -> None:
    start = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    firing = findings_with(SITE_URL_EMPTY)
    assert verdict(firing).label != verdict(findings_with({})).label
    ids = [save(store, start + timedelta(minutes=m), findings=firing if 70 <= m < 75 else findings_with({}),
                details=make_up({}, seats=2500 if m >= 100 else 1000)) for m in range(180)]
    choices = history_diff.snapshot_choices(store, ENV, days=30, now=NOW)
    kept = {c.id for c in choices}
    assert len(choices) < 15, "one an hour plus the changes, not 180"
    assert {ids[0], ids[59], ids[119], ids[179]} <= kept  # the first, and the last of each hour
    assert {ids[70], ids[75], ids[100]} <= kept  # the verdict turned, turned back, the make-up changed

