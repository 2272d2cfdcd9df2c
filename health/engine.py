"""Run every rule over one set of inputs and turn each outcome into Findings."""

from __future__ import annotations

import logging

from health.findings import Finding, State
from health.inputs import RuleInputs
from health.rules import RULES, Rule
from health.rules.base import Check, MissingInput, collect_evidence, reset_evidence

log = logging.getLogger("mmdash.health")


def _finding(rule: Rule, state: State, observed: str, threshold: str, evidence: str,
             subject: str | None = None) -> Finding:
    return Finding(code=rule.code, area=rule.area, severity=rule.severity, state=state, title=rule.title,
                   observed=observed, threshold=threshold, evidence=evidence, remediation=rule.remediation,
                   docs_url=rule.docs_url, subject=subject)


def run_rule(rule: Rule, inputs: RuleInputs) -> list[Finding]:
    sources, token = collect_evidence()
    try:
        outcome = rule.evaluate(inputs)
    except MissingInput as missing:
        return [_finding(rule, State.UNKNOWN, "unknown", "", f"Cannot judge: {missing}")]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A shape this rule does not understand (an unexpected config value) is unknown, never OK.
        return [_finding(rule, State.UNKNOWN, "unknown", "",
                         f"Cannot judge: unexpected input ({type(exc).__name__}: {exc})")]
    except Exception as exc:  # one broken rule must not cost the other rules their verdicts
        log.exception("health rule %s failed", rule.code)
        return [_finding(rule, State.UNKNOWN, "unknown", "",
                         f"Cannot judge: the rule failed ({type(exc).__name__}: {exc}); this is a bug in the "
                         "dashboard, please report it")]
    finally:
        reset_evidence(token)
    evidence = f"{inputs.origin}: " + "; ".join(sources) if sources else inputs.origin
    checks: list[Check] = outcome if isinstance(outcome, list) else [outcome]
    if not checks:
        checks = [Check(False, "nothing of this kind to check", "")]
    return [_finding(rule, State.FIRING if c.firing else State.OK, c.observed, c.threshold, evidence, c.subject)
            for c in checks]


def evaluate(inputs: RuleInputs, rules: list[Rule] | None = None) -> list[Finding]:
    """Every rule's findings, most urgent first."""
    findings = [finding for rule in (RULES if rules is None else rules) for finding in run_rule(rule, inputs)]
    return sorted(findings, key=lambda f: f.sort_key)
