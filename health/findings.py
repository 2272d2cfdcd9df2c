"""What a health rule concludes: a Finding, and the verdict and score over a set of them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class State(StrEnum):
    FIRING = "firing"
    OK = "ok"
    UNKNOWN = "unknown"  # the rule's inputs are missing; `evidence` says which and why


SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
STATE_ORDER = {State.FIRING: 0, State.UNKNOWN: 1, State.OK: 2}
# Weights for the score: how much a rule of each severity counts, as in Mattermost's Workspace Optimization
# (a bad critical costs far more than a bad info).
NOT_ENOUGH_DATA = "not enough data"
NOT_ENOUGH_DATA_SHARE = 0.5  # more rules than this share unknown: the verdict is "not enough data"
SEVERITY_WEIGHT = {Severity.CRITICAL: 50, Severity.WARNING: 20, Severity.INFO: 5}


@dataclass(frozen=True)
class Finding:
    code: str
    area: str
    severity: Severity
    state: State
    title: str
    observed: str
    threshold: str
    evidence: str  # where the facts came from (endpoint, file, query)
    remediation: str
    docs_url: str
    subject: str | None = None  # the node, job type or plugin a per-item finding is about

    @property
    def sort_key(self) -> tuple:
        return (STATE_ORDER[self.state], SEVERITY_ORDER[self.severity], self.area, self.code, self.subject or "")


@dataclass(frozen=True)
class Verdict:
    label: str  # "critical problems" | "needs attention" | "healthy" | "not enough data"
    score: int | None  # 0..100 over the rules whose inputs were known; None when none were
    firing: dict[Severity, int]
    unknown: int
    evaluated: int

    @property
    def headline(self) -> str:
        counts = ", ".join(f"{n} {sev.value}" for sev, n in self.firing.items() if n)
        score = "no data to score" if self.score is None else f"score {self.score}/100"
        return f"{self.label.capitalize()}: {score}" + (f" ({counts})" if counts else "")


def verdict(findings: list[Finding]) -> Verdict:
    firing = {sev: sum(1 for f in findings if f.state is State.FIRING and f.severity is sev) for sev in Severity}
    known = [f for f in findings if f.state is not State.UNKNOWN]
    total = sum(SEVERITY_WEIGHT[f.severity] for f in known)
    passed = sum(SEVERITY_WEIGHT[f.severity] for f in known if f.state is State.OK)
    score = round(100 * passed / total) if total else None
    unknown = len(findings) - len(known)
    if firing[Severity.CRITICAL]:
        label = "critical problems"
    elif unknown > len(findings) * NOT_ENOUGH_DATA_SHARE:
        label = NOT_ENOUGH_DATA  # a few OKs among many unknowns must not read as healthy
    elif firing[Severity.WARNING]:
        label = "needs attention"
    else:
        label = "healthy"
    return Verdict(label, score, firing, unknown, len(findings))
