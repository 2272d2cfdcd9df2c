"""Verdict and score over a set of findings."""

from health.findings import Finding, Severity, State, verdict


def finding(severity: Severity, state: State, code: str = "X") -> Finding:
    return Finding(code, "Area", severity, state, "t", "o", "th", "e", "r", "https://d")


def test_any_critical_firing_means_critical_problems():
    result = verdict([finding(Severity.CRITICAL, State.FIRING), finding(Severity.INFO, State.OK)])
    assert result.label == "critical problems"
    assert result.score == 9  # 5 of 55 weight passed
    assert result.headline == "Critical problems: score 9/100 (1 critical)"


def test_warnings_need_attention_and_unknowns_do_not_count_in_the_score():
    result = verdict([finding(Severity.WARNING, State.FIRING), finding(Severity.WARNING, State.OK),
                      finding(Severity.CRITICAL, State.UNKNOWN)])
    assert (result.label, result.score, result.unknown, result.evaluated) == ("needs attention", 50, 1, 3)


def test_all_ok_is_healthy_and_nothing_known_has_no_score():
    assert verdict([finding(Severity.INFO, State.OK)]).label == "healthy"
    empty = verdict([finding(Severity.INFO, State.UNKNOWN)])
    assert (empty.label, empty.score) == ("not enough data", None)
    assert "no data to score" in empty.headline


def test_sort_puts_firing_critical_first():
    items = [finding(Severity.INFO, State.FIRING, "A"), finding(Severity.CRITICAL, State.OK, "B"),
             finding(Severity.CRITICAL, State.FIRING, "C"), finding(Severity.WARNING, State.UNKNOWN, "D")]
    assert [f.code for f in sorted(items, key=lambda f: f.sort_key)] == ["C", "A", "D", "B"]
