"""Server versions: how far behind the latest release."""

from __future__ import annotations

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, rule, version_tuple

AREA = "Version"


def _versions(inputs: RuleInputs) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    installed, latest = need(inputs.version), need(inputs.latest_version)
    mine, newest = version_tuple(installed), version_tuple(latest)
    if len(mine) < 2 or len(newest) < 2:
        raise MissingInput(f"cannot compare versions {installed!r} and {latest!r}")
    return mine, newest, f"running {installed}, latest release {latest}"


@rule("VERSION_BEHIND_MAJOR", area=AREA, severity=Severity.WARNING, title="A newer major version is available",
      remediation="Plan the major upgrade: read the important-upgrade notes, test on staging, then upgrade.",
      docs=docs.UPGRADE)
def behind_major(inputs: RuleInputs) -> Check:
    mine, newest, observed = _versions(inputs)
    return check(newest[0] > mine[0], observed, "same major version as the latest release")


@rule("VERSION_BEHIND_MINOR", area=AREA, severity=Severity.WARNING, title="Two or more minor versions behind",
      remediation="Upgrade to a current release (or the current Extended Support Release) to receive security fixes.",
      docs=docs.RELEASES)
def behind_minor(inputs: RuleInputs) -> Check:
    mine, newest, observed = _versions(inputs)
    return check(newest[0] == mine[0] and newest[1] - mine[1] >= 2, observed, "fewer than 2 minor versions behind")


@rule("VERSION_BEHIND_PATCH", area=AREA, severity=Severity.INFO, title="A newer patch release is available",
      remediation="Apply the latest patch release of your version: patches carry security and stability fixes.",
      docs=docs.RELEASES)
def behind_patch(inputs: RuleInputs) -> Check:
    mine, newest, observed = _versions(inputs)
    same_minor = newest[:2] == mine[:2]
    return check(same_minor and newest[2:3] > mine[2:3], observed, "latest patch of this minor version")
