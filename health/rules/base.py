"""The rule registry and the small vocabulary rules are written in.

A rule is a pure function of RuleInputs returning one Check, or a list of Checks for per-item findings
(nodes, jobs, plugins). It reads its inputs through `need()`, which records the evidence and raises
MissingInput when a fact is unknown: the engine turns that into an "unknown" finding saying why,
never a false OK.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from health.findings import Severity
from health.inputs import Fact, RuleInputs

T = TypeVar("T")
MASKED = "********************************"  # how Mattermost's sanitizer replaces a secret


class MissingInput(Exception):
    """The rule cannot judge: a fact it needs is unknown."""


@dataclass(frozen=True)
class Check:
    firing: bool
    observed: str
    threshold: str
    subject: str | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    area: str
    severity: Severity
    title: str
    remediation: str
    docs_url: str
    evaluate: Callable[[RuleInputs], Check | list[Check]]


RULES: list[Rule] = []
_evidence: ContextVar[list[str]] = ContextVar("evidence")


def rule(code: str, *, area: str, severity: Severity, title: str, remediation: str, docs: str):
    """Register a rule function under its code."""
    if any(existing.code == code for existing in RULES):
        raise ValueError(f"duplicate rule code {code}")

    def register(func: Callable[[RuleInputs], Check | list[Check]]) -> Callable[[RuleInputs], Check | list[Check]]:
        RULES.append(Rule(code, area, severity, title, remediation, docs, func))
        return func

    return register


def need(fact: Fact[T]) -> T:
    """The fact's value, noted as evidence; MissingInput (with the reason) when it is unknown."""
    if fact.value is None:
        raise MissingInput(f"needs {fact.source}: {fact.missing or 'not available'}")
    _note(fact.source)
    return fact.value


def _note(source: str) -> None:
    sources = _evidence.get(None)
    if sources is not None and source not in sources:
        sources.append(source)


def collect_evidence() -> tuple[list[str], Any]:
    """Start recording the sources a rule reads; returns the list and the token to reset it."""
    sources: list[str] = []
    return sources, _evidence.set(sources)


def reset_evidence(token: Any) -> None:
    _evidence.reset(token)


def setting(config: dict[str, Any], path: str) -> Any:
    """A config value by dotted path (`LdapSettings.Enable`); MissingInput when this version has no such key."""
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise MissingInput(f"the configuration has no {path} (older Mattermost version?)")
        node = node[part]
    return node


def optional_setting(config: dict[str, Any], path: str, default: Any = None) -> Any:
    try:
        return setting(config, path)
    except MissingInput:
        return default


def fired(observed: str, threshold: str, subject: str | None = None) -> Check:
    return Check(True, observed, threshold, subject)


def check(firing: bool, observed: str, threshold: str, subject: str | None = None) -> Check:
    return Check(firing, observed, threshold, subject)


def not_applicable(why: str) -> Check:
    """The rule's subject is switched off: nothing to warn about."""
    return Check(False, why, "applies only when enabled")


def probe_check(inputs: RuleInputs, name: str, label: str, how_to_run: str) -> Check:
    """A connection test's outcome as a check: firing when it FAILed."""
    probes = need(inputs.probes)
    if name not in probes:
        raise MissingInput(f"no {label} ran ({how_to_run})")
    probe = probes[name]
    detail = f": {probe.error}" if probe.error else ""
    return check(probe.status == "FAIL", f"{label} {probe.status}{detail}", "OK")


def number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.strip().lstrip("v").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)
