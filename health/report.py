"""Findings as a table, a plain-text report and JSON: for the page, the command line and support."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from health.findings import Finding, Severity, State, Verdict

if TYPE_CHECKING:
    import pandas as pd

SEVERITY_COLOURS = {Severity.CRITICAL: "#f8d7da", Severity.WARNING: "#fff3cd", Severity.INFO: "#dbeafe"}
STATE_MARKS = {State.FIRING: "✖", State.UNKNOWN: "?", State.OK: "✔"}
COLUMNS = ["Severity", "State", "Finding", "Subject", "Observed", "Threshold", "Evidence", "Remediation", "Docs",
           "Code"]


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    import pandas as pd  # only the pages need it; the command line stays light

    rows = [{"Severity": f.severity.value, "State": f"{STATE_MARKS[f.state]} {f.state.value}", "Finding": f.title,
             "Subject": f.subject or "", "Observed": f.observed, "Threshold": f.threshold, "Evidence": f.evidence,
             "Remediation": f.remediation, "Docs": f.docs_url, "Code": f.code} for f in findings]
    return pd.DataFrame(rows, columns=COLUMNS)


def by_area(findings: list[Finding]) -> dict[str, list[Finding]]:
    """Areas ordered by their most urgent finding."""
    groups: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.sort_key):
        groups.setdefault(finding.area, []).append(finding)
    return groups


def area_summary(findings: list[Finding]) -> str:
    firing = [f for f in findings if f.state is State.FIRING]
    unknown = sum(f.state is State.UNKNOWN for f in findings)
    parts = [f"{sum(f.severity is sev for f in firing)} {sev.value}" for sev in Severity
             if any(f.severity is sev for f in firing)]
    if unknown:
        parts.append(f"{unknown} unknown")
    return ", ".join(parts) or "all OK"


def to_text(findings: list[Finding], verdict: Verdict, title: str) -> str:
    lines = [title, "=" * len(title), verdict.headline,
             f"{verdict.evaluated} checks; {verdict.unknown} could not be judged.", ""]
    for area, items in by_area(findings).items():
        lines.append(f"## {area}: {area_summary(items)}")
        for f in items:
            if f.state is State.OK:
                continue
            subject = f" [{f.subject}]" if f.subject else ""
            lines.append(f"- {STATE_MARKS[f.state]} {f.severity.value.upper()} {f.code}{subject}: {f.title}")
            lines.append(f"    observed: {f.observed}" + (f" (expected {f.threshold})" if f.threshold else ""))
            lines.append(f"    evidence: {f.evidence}")
            if f.state is State.FIRING:
                lines.append(f"    fix: {f.remediation} ({f.docs_url})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def finding_dict(finding: Finding) -> dict[str, object]:
    """One finding as plain JSON-ready values."""
    return {**asdict(finding), "severity": finding.severity.value, "state": finding.state.value}


def to_json(findings: list[Finding], verdict: Verdict, **extra: object) -> str:
    payload = {"verdict": {"label": verdict.label, "score": verdict.score, "unknown": verdict.unknown,
                           "evaluated": verdict.evaluated,
                           "firing": {sev.value: n for sev, n in verdict.firing.items()}},
               **extra,
               "findings": [finding_dict(f) for f in findings]}
    return json.dumps(payload, indent=2, default=str)
