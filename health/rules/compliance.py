"""Compliance exports, audit logging and data retention."""

from __future__ import annotations

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, number, optional_setting, rule, setting

AREA = "Compliance"


@rule("COMPLIANCE_NO_DIR", area=AREA, severity=Severity.WARNING, title="Compliance reports have no directory",
      remediation="Set ComplianceSettings.Directory to where reports should be written.", docs=docs.COMPLIANCE)
def compliance_dir(inputs: RuleInputs) -> Check:
    compliance = setting(need(inputs.config), "ComplianceSettings")
    if not compliance.get("Enable"):
        return not_applicable("compliance reports are off")
    return check(not compliance.get("Directory"), f"Directory = {compliance.get('Directory')!r}", "a directory")


@rule("AUDIT_LOG_OFF", area=AREA, severity=Severity.WARNING, title="Audit logging is off on a large deployment",
      remediation="Enable audit logging (ExperimentalAuditSettings.FileEnabled) so admin actions can be traced.",
      docs=docs.COMPLIANCE)
def audit_log(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    enabled = optional_setting(config, "ExperimentalAuditSettings.FileEnabled")
    if enabled is None:
        raise MissingInput("the configuration has no ExperimentalAuditSettings.FileEnabled")
    users = need(inputs.usage).registered_users
    if users is None:
        raise MissingInput("the number of registered users was not reported")
    return check(not enabled and users > 5000, f"audit log {'on' if enabled else 'off'} with {users:,} users",
                 "on above 5,000 users")


@rule("RETENTION_TIGHT_BATCHES", area=AREA, severity=Severity.WARNING,
      title="Data retention deletes with almost no pause between batches",
      remediation="Keep DataRetentionSettings.TimeBetweenBatchesMilliseconds at 100 or more to spare the database.",
      docs=docs.COMPLIANCE)
def retention_batches(inputs: RuleInputs) -> Check:
    retention = setting(need(inputs.config), "DataRetentionSettings")
    if not (retention.get("EnableMessageDeletion") or retention.get("EnableFileDeletion")):
        return not_applicable("data retention is off")
    pause = number(retention.get("TimeBetweenBatchesMilliseconds"))
    if pause is None:
        raise MissingInput("DataRetentionSettings.TimeBetweenBatchesMilliseconds is not set")
    return check(pause < 100, f"TimeBetweenBatchesMilliseconds = {pause}", "100 or more")


@rule("EXPORT_GR_TIMEOUT_LOW", area=AREA, severity=Severity.WARNING, title="Global Relay export times out quickly",
      remediation="Raise GlobalRelaySettings.SMTPServerTimeout to at least 30 seconds.", docs=docs.COMPLIANCE)
def global_relay_timeout(inputs: RuleInputs) -> Check:
    export = setting(need(inputs.config), "MessageExportSettings")
    if not export.get("EnableExport") or export.get("ExportFormat") != "globalrelay":
        return not_applicable("Global Relay export is off")
    timeout = number((export.get("GlobalRelaySettings") or {}).get("SMTPServerTimeout"))
    if timeout is None:
        raise MissingInput("GlobalRelaySettings.SMTPServerTimeout is not set")
    return check(timeout < 30, f"SMTPServerTimeout = {timeout} s", "30 s or more")


@rule("DATA_RETENTION_OFF", area=AREA, severity=Severity.INFO, title="No data retention policy",
      remediation="Decide how long messages and files are kept and set a data retention policy (Enterprise).",
      docs=docs.COMPLIANCE)
def retention_off(inputs: RuleInputs) -> Check:
    lic = need(inputs.license)
    if not lic.is_licensed:
        return not_applicable("data retention needs an Enterprise license")
    retention = setting(need(inputs.config), "DataRetentionSettings")
    on = bool(retention.get("EnableMessageDeletion") or retention.get("EnableFileDeletion"))
    return check(not on, "message and file deletion off" if not on else "a global policy deletes old data",
                 "a retention policy")
