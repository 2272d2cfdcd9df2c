"""Checklist items the live system can confirm: each verify rule reads the same inputs as the health rules.

A rule answers verified, failed or unknown (with the reason), never a guess: an item is only "verified by
system" when the facts say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from health.inputs import RuleInputs
from health.rules.base import MissingInput, need, setting

# Mattermost's shipped support links: a site that still points at them has not customised its support.
DEFAULT_SUPPORT_LINKS = ("https://mattermost.com/pl/", "https://about.mattermost.com/", "https://docs.mattermost.com/")
ELASTICSEARCH_FROM_POSTS = 2_000_000


class Verdict(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verification:
    verdict: Verdict
    evidence: str  # what was seen, and where (or why nothing could be seen)


def _result(ok: bool, seen: str, source: str) -> Verification:
    return Verification(Verdict.VERIFIED if ok else Verdict.FAILED, f"{seen} ({source})")


def _config(inputs: RuleInputs) -> dict:
    return need(inputs.config)


def license_uploaded(inputs: RuleInputs) -> Verification:
    lic = need(inputs.license)
    seen = f"{lic.sku_name or lic.sku_short_name} license, {lic.seats} seats" if lic.is_licensed else "no license"
    return _result(lic.is_licensed, seen, inputs.license.source)


def site_url_https(inputs: RuleInputs) -> Verification:
    url = setting(_config(inputs), "ServiceSettings.SiteURL")
    return _result(urlsplit(url or "").scheme == "https", f"SiteURL = {url or '(empty)'}", inputs.config.source)


def smtp_configured(inputs: RuleInputs) -> Verification:
    email = setting(_config(inputs), "EmailSettings")
    ok = bool(email.get("SendEmailNotifications")) and bool(email.get("SMTPServer"))
    probe = (inputs.probes.value or {}).get("email")
    if ok and probe is not None and probe.status == "FAIL":
        return Verification(Verdict.FAILED, f"SMTP is configured but its test fails: {probe.error}")
    return _result(ok, f"email notifications {'on' if email.get('SendEmailNotifications') else 'off'}, "
                       f"SMTP server {email.get('SMTPServer') or '(none)'}", inputs.config.source)


def push_notifications_configured(inputs: RuleInputs) -> Verification:
    email = setting(_config(inputs), "EmailSettings")
    server = str(email.get("PushNotificationServer") or "")
    ok = bool(email.get("SendPushNotifications")) and server.startswith("https://")
    return _result(ok, f"push {'on' if email.get('SendPushNotifications') else 'off'}, server {server or '(none)'}",
                   inputs.config.source)


def elasticsearch_at_scale(inputs: RuleInputs) -> Verification:
    posts = need(inputs.usage).posts
    if posts is None:
        raise MissingInput("the number of posts was not reported")
    searching = bool(setting(_config(inputs), "ElasticsearchSettings.EnableSearching"))
    if posts <= ELASTICSEARCH_FROM_POSTS:
        return Verification(Verdict.VERIFIED, f"{posts:,} posts: Elasticsearch not needed yet "
                                              f"(searching {'on' if searching else 'off'})")
    return _result(searching, f"{posts:,} posts, Elasticsearch searching {'on' if searching else 'off'}",
                   inputs.config.source)


def metrics_enabled(inputs: RuleInputs) -> Verification:
    enabled = bool(setting(_config(inputs), "MetricsSettings.Enable"))
    if not enabled:
        return _result(False, "MetricsSettings.Enable = false", inputs.config.source)
    facts = inputs.metrics.value
    if facts is None:
        return Verification(Verdict.UNKNOWN, f"metrics are on, but Prometheus could not be read: "
                                             f"{inputs.metrics.missing}")
    return _result(facts.has_mattermost_metrics, "Prometheus holds Mattermost metrics" if facts.has_mattermost_metrics
                   else "Prometheus answers but holds no Mattermost metrics", inputs.metrics.source)


def ldap_or_saml_configured(inputs: RuleInputs) -> Verification:
    config = _config(inputs)
    ldap, saml = bool(setting(config, "LdapSettings.Enable")), bool(setting(config, "SamlSettings.Enable"))
    failing = [name for name, key in (("LDAP", "ldap"), ("SAML", "saml"))
               if (probe := (inputs.probes.value or {}).get(key)) is not None and probe.status == "FAIL"]
    if failing:
        return Verification(Verdict.FAILED, f"{' and '.join(failing)} configured but failing its test")
    return _result(ldap or saml, f"LDAP {'on' if ldap else 'off'}, SAML {'on' if saml else 'off'}",
                   inputs.config.source)


def mfa_enforced(inputs: RuleInputs) -> Verification:
    config = _config(inputs)
    enforced = bool(setting(config, "ServiceSettings.EnforceMultifactorAuthentication"))
    return _result(enforced, f"EnforceMultifactorAuthentication = {enforced}", inputs.config.source)


def support_url_customised(inputs: RuleInputs) -> Verification:
    support = setting(_config(inputs), "SupportSettings")
    links = {key: str(support.get(key) or "") for key in ("HelpLink", "ReportAProblemLink", "SupportEmail")}
    custom = [key for key, value in links.items() if value and not value.startswith(DEFAULT_SUPPORT_LINKS)]
    return _result(bool(custom), f"customised: {', '.join(custom) or 'none'}", inputs.config.source)


def legal_links_set(inputs: RuleInputs) -> Verification:
    support = setting(_config(inputs), "SupportSettings")
    links = {key: str(support.get(key) or "") for key in ("TermsOfServiceLink", "PrivacyPolicyLink")}
    own = [key for key, value in links.items() if value and not value.startswith(DEFAULT_SUPPORT_LINKS)]
    return _result(len(own) == len(links), f"own legal links: {', '.join(own) or 'none'}", inputs.config.source)


def ha_cluster_configured(inputs: RuleInputs) -> Verification:
    enabled = bool(setting(_config(inputs), "ClusterSettings.Enable"))
    nodes = need(inputs.nodes)
    return _result(enabled and len(nodes) >= 2, f"clustering {'on' if enabled else 'off'}, {len(nodes)} node(s) up",
                   f"{inputs.config.source}; {inputs.nodes.source}")


def file_storage_configured(inputs: RuleInputs) -> Verification:
    config = _config(inputs)
    driver = setting(config, "FileSettings.DriverName")
    status = (inputs.server_status.value or {}).get("filestore_status")
    if status is not None and status != "OK":
        return Verification(Verdict.FAILED, f"{driver} file storage configured, but its test says {status}")
    return _result(driver in ("amazons3", "local"), f"driver {driver}, test {status or 'not run'}",
                   inputs.config.source)


def data_retention_configured(inputs: RuleInputs) -> Verification:
    retention = setting(_config(inputs), "DataRetentionSettings")
    on = bool(retention.get("EnableMessageDeletion") or retention.get("EnableFileDeletion"))
    return _result(on, f"message deletion {'on' if retention.get('EnableMessageDeletion') else 'off'}, file "
                       f"deletion {'on' if retention.get('EnableFileDeletion') else 'off'}", inputs.config.source)


RULES: dict[str, Callable[[RuleInputs], Verification]] = {
    fn.__name__: fn for fn in (
        license_uploaded, site_url_https, smtp_configured, push_notifications_configured, elasticsearch_at_scale,
        metrics_enabled, ldap_or_saml_configured, mfa_enforced, support_url_customised, legal_links_set,
        ha_cluster_configured, file_storage_configured, data_retention_configured)
}


def verify(rule: str, inputs: RuleInputs) -> Verification:
    """Run one verify rule; missing or odd inputs give "unknown" with the reason."""
    try:
        return RULES[rule](inputs)
    except MissingInput as missing:
        return Verification(Verdict.UNKNOWN, f"cannot verify: {missing}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Verification(Verdict.UNKNOWN, f"cannot verify: unexpected input ({type(exc).__name__}: {exc})")
