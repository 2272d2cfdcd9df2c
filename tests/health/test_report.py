"""Reports: text for people, JSON for tools, a table for the page."""

import json

from health.findings import Finding, Severity, State, verdict
from health.report import by_area, findings_table, to_json, to_text

FINDINGS = [
    Finding("LICENSE_EXPIRING", "License", Severity.WARNING, State.FIRING, "The license expires within 30 days",
            "expires 2026-12-02 (8 days left)", "more than 30 days left", "live: GET /api/v4/license/client",
            "Renew it.", "https://docs.example/licensing"),
    Finding("LOG_FILE_OFF", "Platform", Severity.WARNING, State.OK, "Logging to file is off", "EnableFile = True",
            "true", "live: GET /api/v4/config", "Enable it.", "https://docs.example/env"),
    Finding("SMTP_UNREACHABLE", "Notifications", Severity.WARNING, State.UNKNOWN, "SMTP test fails", "unknown", "",
            "Cannot judge: no SMTP connection test ran", "Check SMTP.", "https://docs.example/env"),
]


def test_text_report_lists_problems_with_evidence_and_fix_but_not_passes():
    text = to_text(FINDINGS, verdict(FINDINGS), "Health report")
    assert "Needs attention: score 50/100 (1 warning)" in text
    assert "LICENSE_EXPIRING: The license expires within 30 days" in text
    assert "evidence: live: GET /api/v4/license/client" in text and "fix: Renew it." in text
    assert "? WARNING SMTP_UNREACHABLE" in text
    assert "LOG_FILE_OFF" not in text and "## Platform: all OK" in text


def test_json_report_round_trips():
    payload = json.loads(to_json(FINDINGS, verdict(FINDINGS), source="packet.zip"))
    assert payload["source"] == "packet.zip"
    assert payload["verdict"]["firing"] == {"critical": 0, "warning": 1, "info": 0}
    assert [f["state"] for f in payload["findings"]] == ["firing", "ok", "unknown"]


def test_table_and_grouping():
    table = findings_table(FINDINGS)
    assert list(table["Code"]) == ["LICENSE_EXPIRING", "LOG_FILE_OFF", "SMTP_UNREACHABLE"]
    assert list(by_area(FINDINGS)) == ["License", "Notifications", "Platform"]
