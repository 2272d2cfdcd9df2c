"""License and seats."""

from __future__ import annotations

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, rule

AREA = "License"
RENEW = ("Renew the license with your Mattermost account team, then upload it in System Console > About > "
         "Edition and License.")


def _licensed(inputs: RuleInputs):
    lic = need(inputs.license)
    return lic if lic.is_licensed else None


def _days_left(inputs: RuleInputs) -> tuple[int, str]:
    lic = _licensed(inputs)
    if lic is None:
        raise _Unlicensed
    if lic.expires_at is None:
        raise MissingInput("the license's expiry date was not reported (needs a system admin token)")
    return (lic.expires_at - inputs.now).days, lic.expires_at.date().isoformat()


class _Unlicensed(Exception):
    pass


@rule("LICENSE_EXPIRED", area=AREA, severity=Severity.CRITICAL, title="The license has expired",
      remediation=RENEW + " Enterprise features stop working once the grace period ends.", docs=docs.LICENSING)
def license_expired(inputs: RuleInputs) -> Check:
    try:
        days, expiry = _days_left(inputs)
    except _Unlicensed:
        return not_applicable("no license installed")
    return check(days < 0, f"expires {expiry} ({days} days)", "expiry date in the future")


@rule("LICENSE_EXPIRING", area=AREA, severity=Severity.WARNING, title="The license expires within 30 days",
      remediation=RENEW, docs=docs.LICENSING)
def license_expiring(inputs: RuleInputs) -> Check:
    try:
        days, expiry = _days_left(inputs)
    except _Unlicensed:
        return not_applicable("no license installed")
    return check(0 <= days <= 30, f"expires {expiry} ({days} days left)", "more than 30 days left")


@rule("LICENSE_TRIAL", area=AREA, severity=Severity.INFO, title="A trial license is in use",
      remediation="Buy a license before the trial ends so Enterprise features keep working.", docs=docs.LICENSING)
def license_trial(inputs: RuleInputs) -> Check:
    lic = _licensed(inputs)
    if lic is None:
        return not_applicable("no license installed")
    return check(lic.is_trial, "trial license" if lic.is_trial else "paid license", "a paid license")


def _seat_use(inputs: RuleInputs) -> tuple[float, str] | None:
    lic = _licensed(inputs)
    if lic is None:
        return None
    if not lic.seats:
        raise MissingInput("the license's seat count was not reported")
    usage = need(inputs.usage)
    if usage.active_users is None:
        raise MissingInput("the number of active users was not reported")
    used = usage.active_users - (usage.single_channel_guests or 0)
    return used / lic.seats, f"{used:,} active users of {lic.seats:,} seats ({used / lic.seats:.0%})"


@rule("SEATS_OVER_DEPLOYED", area=AREA, severity=Severity.WARNING, title="More active users than licensed seats",
      remediation="Add seats to the license (true-up), or deactivate users who no longer need access.",
      docs=docs.LICENSING)
def seats_over(inputs: RuleInputs) -> Check:
    use = _seat_use(inputs)
    if use is None:
        return not_applicable("no license installed")
    return check(use[0] > 1.0, use[1], "at most 100% of seats")


@rule("SEATS_NEAR_CAPACITY", area=AREA, severity=Severity.WARNING, title="Licensed seats are nearly used up",
      remediation="Plan a seat increase before onboarding more users.", docs=docs.LICENSING)
def seats_near(inputs: RuleInputs) -> Check:
    use = _seat_use(inputs)
    if use is None:
        return not_applicable("no license installed")
    return check(0.9 <= use[0] <= 1.0, use[1], "below 90% of seats")


@rule("SEATS_LOW_UTILIZATION", area=AREA, severity=Severity.INFO, title="Most licensed seats are unused",
      remediation="Onboard the remaining teams (see the roll-out checklist), or right-size the license at renewal.",
      docs=docs.LICENSING)
def seats_low(inputs: RuleInputs) -> Check:
    use = _seat_use(inputs)
    if use is None:
        return not_applicable("no license installed")
    return check(use[0] < 0.3, use[1], "at least 30% of seats in use")


@rule("SEATS_LOW_ENGAGEMENT", area=AREA, severity=Severity.INFO, title="Few active accounts use Mattermost monthly",
      remediation="Find the teams that signed up but do not use Mattermost; review onboarding and integrations.",
      docs=docs.STATISTICS)
def seats_low_engagement(inputs: RuleInputs) -> Check:
    usage = need(inputs.usage)
    if not usage.active_users or usage.monthly_active_users is None:
        raise MissingInput("monthly and total active user counts were not both reported")
    ratio = usage.monthly_active_users / usage.active_users
    return check(ratio < 0.6, f"{usage.monthly_active_users:,} monthly active of {usage.active_users:,} ({ratio:.0%})",
                 "at least 60% active monthly")


@rule("WORKFLOW_USAGE_LIGHT", area=AREA, severity=Severity.INFO, title="Few integrations are in use",
      remediation="Workflows (plugins, webhooks, slash commands) are where Mattermost pays off: review the "
                  "integration plans in the roll-out checklist.", docs=docs.PLUGINS)
def workflow_light(inputs: RuleInputs) -> Check:
    plugins = need(inputs.plugins)
    usage = need(inputs.usage)
    if usage.incoming_webhooks is None:
        raise MissingInput("the number of incoming webhooks was not reported")
    enabled = sum(1 for p in plugins if p.enabled)
    return check(enabled <= 2 and usage.incoming_webhooks < 50,
                 f"{enabled} enabled plugins, {usage.incoming_webhooks} incoming webhooks",
                 "more than 2 plugins or at least 50 webhooks")
