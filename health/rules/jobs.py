"""Background jobs: failed, stuck and wedged runs, per job type."""

from __future__ import annotations

from datetime import timedelta

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, check, need, rule

AREA = "Jobs"
WATCHED = ("ldap_sync", "data_retention", "message_export", "elasticsearch_post_indexing",
           "elasticsearch_post_aggregation")
TERMINAL = {"success", "error", "canceled", "warning"}


def _latest(inputs: RuleInputs, terminal: bool) -> dict:
    """The newest job of each watched type (optionally only finished ones)."""
    latest: dict = {}
    for job in need(inputs.jobs):
        if job.type not in WATCHED or (terminal and job.status not in TERMINAL):
            continue
        current = latest.get(job.type)
        if job.created_at and (current is None or (current.created_at and job.created_at > current.created_at)):
            latest[job.type] = job
    return latest


@rule("JOB_FAILED", area=AREA, severity=Severity.WARNING, title="The latest run of a job failed",
      remediation="Open System Console > the job's page for its error, fix the cause (connection, permissions) and "
                  "run it again.", docs=docs.HEALTH_CHECKS)
def job_failed(inputs: RuleInputs) -> list[Check]:
    latest = _latest(inputs, terminal=True)
    return [check(job.status == "error", f"{job.status}" + (f": {job.error}" if job.error else ""),
                  "success", subject=kind) for kind, job in sorted(latest.items())]


@rule("JOB_STUCK", area=AREA, severity=Severity.WARNING, title="A job has made no progress for a day",
      remediation="Cancel the job and check the job server's log; a restart of the job server may be needed.",
      docs=docs.HEALTH_CHECKS)
def job_stuck(inputs: RuleInputs) -> list[Check]:
    checks = []
    for kind, job in sorted(_latest(inputs, terminal=False).items()):
        idle = inputs.now - job.last_activity_at if job.last_activity_at else None
        stuck = job.status == "in_progress" and idle is not None and idle > timedelta(hours=24)
        checks.append(check(stuck, f"{job.status}, last activity {job.last_activity_at:%Y-%m-%d %H:%M}"
                            if job.last_activity_at else job.status, "activity within 24 h", subject=kind))
    return checks


@rule("JOB_WEDGED_AT_ZERO", area=AREA, severity=Severity.WARNING, title="A job is stuck at 0% progress",
      remediation="Cancel and restart the job; check that a job server is running (JobSettings.RunJobs).",
      docs=docs.HEALTH_CHECKS)
def job_wedged(inputs: RuleInputs) -> list[Check]:
    checks = []
    for kind, job in sorted(_latest(inputs, terminal=False).items()):
        if kind == "data_retention":
            continue
        age = inputs.now - job.started_at if job.started_at else None
        stale = age is not None and age > timedelta(hours=6)
        wedged = job.status == "in_progress" and (job.progress or 0) == 0 and stale
        checks.append(check(wedged, f"{job.status} at {job.progress or 0}%", "progress within 6 h", subject=kind))
    return checks
