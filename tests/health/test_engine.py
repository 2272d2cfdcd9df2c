"""The engine: evidence is recorded per rule, unknown inputs never pass, and findings come out sorted."""

from health.engine import evaluate, run_rule
from health.findings import Severity, State
from health.rules import RULES
from health.rules.base import Rule, fired, need
from tests.health.conftest import make_inputs


def test_evidence_names_the_sources_the_rule_read():
    probe = Rule("T1", "Test", Severity.WARNING, "t", "r", "https://d",
                 lambda i: fired(str(need(i.config)["ServiceSettings"]["SiteURL"]) + str(need(i.usage)), "x"))
    [finding] = run_rule(probe, make_inputs())
    assert finding.evidence == "test: config; usage"


def test_all_rules_over_realistic_inputs_are_fast_sorted_and_complete():
    findings = evaluate(make_inputs())
    assert {f.code for f in findings} == {rule.code for rule in RULES}  # every rule speaks, even with no items
    keys = [f.sort_key for f in findings]
    assert keys == sorted(keys)
    assert all(f.state in (State.OK, State.FIRING, State.UNKNOWN) for f in findings)


def test_a_rule_that_raises_becomes_unknown_with_the_error_and_the_run_goes_on():
    def broken(_inputs):
        raise ZeroDivisionError("division by zero")

    crash = Rule("T_CRASH", "Test", Severity.CRITICAL, "t", "r", "https://d", broken)
    findings = evaluate(make_inputs(), rules=[crash, *RULES])
    [crashed] = [f for f in findings if f.code == "T_CRASH"]
    assert crashed.state is State.UNKNOWN
    assert "ZeroDivisionError: division by zero" in crashed.evidence and "bug in the dashboard" in crashed.evidence
    assert {f.code for f in findings} == {"T_CRASH"} | {rule.code for rule in RULES}
