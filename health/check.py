"""`python -m health check --env NAME`: collect one environment now and judge it, for cron jobs and CI.

Exit status (also in the README):
- 0: judged, and nothing at the --fail-on level fired;
- 1: a finding at the --fail-on level fired, or most rules could not be judged ("not enough data");
- 2: bad arguments or unusable settings;
- 3: the Mattermost API itself could not be read, so the run says nothing about its health.

A check is one run, so it reads Mattermost's own support packet too unless told not to (see health/run_sources.py
for why the watcher reads it only every 15 minutes).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from collectors.base import Snapshot, SourceStatus
from health.engine import evaluate
from health.findings import NOT_ENOUGH_DATA, Finding, Severity, State, Verdict
from health.lifecycle import Change, fingerprint
from health.mutes import Mute, silenced
from health.packet_inputs import from_live
from health.run_sources import packet_deadline, watch_sources
from settings import EnvironmentSettings, Settings

if TYPE_CHECKING:
    from store import Store

FAILING = {"critical": (Severity.CRITICAL,), "warning": (Severity.CRITICAL, Severity.WARNING), "never": ()}
EXIT_OK, EXIT_FAILING, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
CHECK_ACTOR = "python -m health check"


def collect(env: EnvironmentSettings, *, deadline_s: float, server_packet: bool) -> Snapshot:
    """Every source of `env` at once (see watch_sources)."""
    from collectors.runner import collect_all, run_async

    return run_async(collect_all(env, deadline_s=packet_deadline(deadline_s) if server_packet else deadline_s,
                                 sources=watch_sources(server_packet=server_packet)))


def judge(snapshot: Snapshot) -> list[Finding]:
    return evaluate(from_live(snapshot))


def exit_status(findings: list[Finding], result: Verdict, fail_on: str, snapshot: Snapshot | None = None) -> int:
    mattermost = snapshot.sources.get("mattermost") if snapshot is not None else None
    if mattermost is not None and mattermost.status is SourceStatus.ERROR:
        return EXIT_UNREACHABLE
    failing = any(f.state is State.FIRING and f.severity in FAILING[fail_on] for f in findings)
    not_judged = result.label == NOT_ENOUGH_DATA and fail_on != "never"
    return EXIT_FAILING if failing or not_judged else EXIT_OK


def open_settings_store(settings: Settings) -> Store:
    """The store the settings name (PostgreSQL by URL, else the SQLite file)."""
    from store import open_store  # the store's libraries are not needed to judge a packet offline

    url = settings.store_url.get_secret_value() if settings.store_url else None
    return open_store(url, sqlite_path=settings.sqlite_path)


def remember(settings: Settings, environment: str, findings: list[Finding], snapshot: Snapshot, *, record: bool
             ) -> tuple[dict[str, Mute], list[Change] | None]:
    """The mutes in force, and (when `record`) this run stored with what opened and healed since the last one,
    muted findings left out. A store that cannot be used never fails the check: a note on stderr says so."""
    from health import finding_states, mutes
    from store import StoreError

    try:
        with open_settings_store(settings) as store:
            in_force = mutes.active(store, environment, snapshot.collected_at)
            if not record:
                return in_force, None
            _, changes = finding_states.record_run(store, environment, findings, snapshot.collected_at,
                                                   actor=CHECK_ACTOR, sources=source_summary(snapshot))
    except StoreError as exc:
        print(f"note: this run was not recorded and no mute was applied, since the store cannot be used: {exc}",
              file=sys.stderr)
        return {}, None
    return in_force, [c for c in changes if not silenced(in_force, c.finding.fingerprint)]


def without_muted(findings: list[Finding], mutes: Mapping[str, Mute]) -> list[Finding]:
    """The findings that count for the exit status: muted ones do not (acknowledged ones still do)."""
    return [f for f in findings if not silenced(mutes, fingerprint(f.code, f.subject))]


def mute_lines(findings: list[Finding], mutes: Mapping[str, Mute]) -> list[str]:
    firing = {fingerprint(f.code, f.subject) for f in findings if f.state is State.FIRING}
    return [f"  {m.code}" + (f" [{m.subject}]" if m.subject else "") + f" is {m.describe()}"
            + ("" if m.fingerprint in firing else " (not firing now)") for m in mutes.values()]


def change_lines(changes: list[Change] | None) -> list[str]:
    if changes is None:
        return []
    if not changes:
        return ["Since the last run: nothing opened or healed."]
    return ["Since the last run:"] + [
        f"  {c.kind.value.upper()} {c.finding.severity} {c.finding.code}"
        + (f" [{c.finding.subject}]" if c.finding.subject else "") + f": {c.finding.title} ({c.finding.observed})"
        for c in changes]


def source_summary(snapshot: Snapshot) -> dict[str, dict[str, object]]:
    return {name: {"status": r.status.value, "elapsed_ms": round(r.elapsed_ms), "error": r.error}
            for name, r in sorted(snapshot.sources.items())}


def source_lines(snapshot: Snapshot) -> list[str]:
    """One line per source: its status, time taken and, when it failed, why."""
    lines = []
    for name, result in sorted(snapshot.sources.items()):
        detail = f": {result.error}" if result.error else ""
        lines.append(f"{name}: {result.status.value} ({result.elapsed_ms:.0f} ms){detail}")
    return lines


def to_junit(findings: Sequence[Finding], suite_name: str) -> str:
    """JUnit XML, one test case per finding grouped by area: firing is a failure, unknown is skipped (with why),
    so a CI server shows health checks like tests."""
    root = ET.Element("testsuites", name=suite_name)
    areas: dict[str, list[Finding]] = {}
    for finding in findings:
        areas.setdefault(finding.area, []).append(finding)
    for area, members in areas.items():
        suite = ET.SubElement(root, "testsuite", name=area, tests=str(len(members)),
                              failures=str(sum(f.state is State.FIRING for f in members)),
                              skipped=str(sum(f.state is State.UNKNOWN for f in members)))
        for finding in members:
            name = finding.code + (f" [{finding.subject}]" if finding.subject else "")
            case = ET.SubElement(suite, "testcase", classname=f"mattermost.{area}", name=name)
            if finding.state is State.FIRING:
                failure = ET.SubElement(case, "failure", type=finding.severity.value,
                                        message=f"{finding.title}: {finding.observed} (expected {finding.threshold})")
                failure.text = f"{finding.evidence}\nFix: {finding.remediation} ({finding.docs_url})"
            elif finding.state is State.UNKNOWN:
                ET.SubElement(case, "skipped", message=finding.evidence)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
