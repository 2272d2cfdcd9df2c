"""Alert messages: which changes are announced, what the message says, several runs in one post, and the length
limit (server/public/model/post.go: PostMessageMaxRunesV2 = 16383 runes) kept without losing a change."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from health.alerts import ALERT_KEYS_PROP, MESSAGE_BUDGET_RUNES, alert_key, build_post, compose, render
from health.findings import Finding, Severity, State
from health.lifecycle import Change, advance, fingerprint

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
DASHBOARD = "https://dash.example.com"
MATTERMOST_MAX_RUNES = 16383


def finding(code: str, state: State = State.FIRING, severity: Severity = Severity.CRITICAL,
            subject: str | None = None, evidence: str = "GET /api/v4/system/ping (node app-1)",
            remediation: str = "Raise LimitNOFILE in the systemd unit and restart the node.") -> Finding:
    return Finding(code, "Platform", severity, state, f"{code} title", "95%", "below 90%", evidence, remediation,
                   f"https://docs.mattermost.com/{code.lower()}", subject)


def run(findings: list[Finding], previous: dict | None = None, at: datetime = T0) -> tuple[dict, list[Change]]:
    return advance(previous or {}, findings, at)


def body_for(findings: list[Finding], at: datetime = T0, **kwargs) -> dict:
    _, changes = run(findings, at=at)
    composed = compose(environment="production", label="Production", run_at=at, changes=changes, findings=findings,
                       dashboard_url=DASHBOARD, **kwargs)
    assert composed is not None
    return composed


def test_message_lists_changes_with_evidence_remediation_and_link() -> None:
    firing = [finding("NODE_FD_EXHAUSTION", subject="app-1"), finding("LICENSE_EXPIRY", severity=Severity.WARNING)]
    tracked, _ = run(firing)
    healed = [finding("NODE_FD_EXHAUSTION", State.OK, subject="app-1"), firing[1]]
    later = T0 + timedelta(minutes=5)
    _, changes = run(healed, tracked, later)
    body = compose(environment="production", label="Production", run_at=later, changes=changes, findings=healed,
                   dashboard_url=DASHBOARD)
    assert body is not None and [i["kind"] for i in body["items"]] == ["resolved"]
    assert body["items"][0]["fingerprint"] == fingerprint("NODE_FD_EXHAUSTION", "app-1")

    opened = body_for(firing)
    assert [(i["kind"], i["severity"], i["code"]) for i in opened["items"]] == [
        ("new", "critical", "NODE_FD_EXHAUSTION"), ("new", "warning", "LICENSE_EXPIRY")]
    item = opened["items"][0]
    assert (item["subject"], item["observed"], item["threshold"]) == ("app-1", "95%", "below 90%")
    assert opened["link"] == f"{DASHBOARD}/health?env=production"
    message = render([opened])
    assert "Production (production)" in message and "2 new" in message
    assert "`NODE_FD_EXHAUSTION` (app-1): NODE_FD_EXHAUSTION title" in message
    assert "Evidence: GET /api/v4/system/ping (node app-1)" in message
    assert "What to do: Raise LimitNOFILE" in message
    assert "Observed: 95% (expected: below 90%)" in message
    assert f"[Open the health page]({DASHBOARD}/health?env=production)" in message
    assert "https://docs.mattermost.com/node_fd_exhaustion" in message
    assert "What to do" not in render([body])  # a healed finding needs no remediation


def test_only_critical_and_warning_changes_at_the_minimum_severity_and_not_muted() -> None:
    findings = [finding("CRIT"), finding("WARN", severity=Severity.WARNING), finding("INFO", severity=Severity.INFO)]
    _, changes = run(findings)
    compose_args = dict(environment="dev", label="dev", run_at=T0, changes=changes, findings=findings)
    assert [i["code"] for i in compose(**compose_args)["items"]] == ["CRIT", "WARN"]
    assert [i["code"] for i in compose(**compose_args, min_severity="critical")["items"]] == ["CRIT"]
    assert [i["code"] for i in compose(**compose_args, muted={fingerprint("CRIT", None)})["items"]] == ["WARN"]
    assert compose(**compose_args, min_severity="critical", muted={fingerprint("CRIT", None)}) is None
    assert compose(**compose_args)["link"] is None  # no dashboard_url configured: no link
    assert "[Open the health page]" not in render([compose(**compose_args)])


def test_several_runs_make_one_post_oldest_first() -> None:
    times = [T0 + timedelta(minutes=5 * n) for n in range(3)]
    bodies = [(alert_key("production", at), body_for([finding(f"RULE_{n}")], at)) for n, at in enumerate(times)]
    post = build_post(bodies)
    assert post.props == {ALERT_KEYS_PROP: [alert_key("production", at) for at in times]}
    assert post.keys == tuple(post.props[ALERT_KEYS_PROP])
    assert "covers 3 runs, from 2026-12-01 09:00 UTC to 2026-12-01 09:10 UTC" in post.message
    positions = [post.message.index(f"`RULE_{n}`") for n in range(3)]
    assert positions == sorted(positions)
    runs = [post.message.index(f"Run at {at:%Y-%m-%d %H:%M} UTC") for at in times]
    assert runs == sorted(runs) and "3 new" in post.message


def test_long_evidence_is_shortened_and_every_change_still_listed() -> None:
    findings = [finding(f"RULE_{n}", evidence="x" * 3000, remediation="y" * 3000) for n in range(10)]
    message = render([body_for(findings)])
    assert len(message) <= MESSAGE_BUDGET_RUNES
    assert all(f"`RULE_{n}`" in message for n in range(10))
    assert "…" in message and "more change" not in message


def test_too_many_changes_are_counted_never_dropped() -> None:
    times = [T0 + timedelta(minutes=5 * n) for n in range(4)]
    bodies = [body_for([finding(f"R{n}_{k}", subject=f"node-{k}") for k in range(150)], at)
              for n, at in enumerate(times)]
    message = render(bodies)
    assert len(message) <= MESSAGE_BUDGET_RUNES < MATTERMOST_MAX_RUNES
    listed = len(re.findall(r"^- ", message, flags=re.MULTILINE))
    counted = int(re.search(r"…and (\d+) more changes not listed here", message).group(1))
    assert listed > 0 and listed + counted == 600
    assert f"[the health page]({DASHBOARD}/health?env=production)" in message
    assert "covers 4 runs" in message and "600 new" in message


def test_texts_cannot_notify_people_or_show_passwords() -> None:
    body = body_for([finding("HOOK", evidence="posted by @channel via https://bot:hunter2@hooks.example.com/x")])
    assert "hunter2" not in str(body)
    message = render([body])
    assert "@channel" not in message and "@\u200bchannel" in message


def test_render_needs_a_body() -> None:
    with pytest.raises(ValueError, match="at least one"):
        render([])
