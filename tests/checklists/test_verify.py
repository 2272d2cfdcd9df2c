"""Verify rules: every checklist rule name has one; each confirms, refutes, or says why it cannot tell."""

from dataclasses import replace

import pytest

from checklists.loader import VERIFY_RULES, load_rollout
from checklists.verify import RULES, Verdict, verify
from collectors.mattermost_models import LicenseInfo
from health.inputs import Fact, Node, Probe, absent
from tests.health.conftest import make_inputs

HEALTHY_USAGE = make_inputs().usage.value


def test_every_rule_name_has_a_rule_and_every_yaml_rule_exists():
    assert set(RULES) == set(VERIFY_RULES)
    used = {item.verify for _, _, item in load_rollout().items() if item.verify}
    assert used <= set(RULES)


CASES = {
    "license_uploaded": (dict(), dict(license=Fact(LicenseInfo(False), "license"))),
    "site_url_https": (dict(config_changes={"ServiceSettings.SiteURL": "https://chat.example.com"}),
                       dict(config_changes={"ServiceSettings.SiteURL": "http://chat.example.com"})),
    "smtp_configured": (dict(), dict(config_changes={"EmailSettings.SMTPServer": ""})),
    "push_notifications_configured": (dict(), dict(config_changes={"EmailSettings.SendPushNotifications": False})),
    "elasticsearch_at_scale": (dict(usage=Fact(replace(HEALTHY_USAGE, posts=1000), "u")),
                               dict(usage=Fact(replace(HEALTHY_USAGE, posts=9_000_000), "u"),
                                    config_changes={"ElasticsearchSettings.EnableSearching": False})),
    "ldap_or_saml_configured": (dict(config_changes={"LdapSettings.Enable": True}),
                                dict(config_changes={"LdapSettings.Enable": False, "SamlSettings.Enable": False})),
    "mfa_enforced": (dict(config_changes={"ServiceSettings.EnforceMultifactorAuthentication": True}), dict()),
    "support_url_customised": (dict(config_changes={"SupportSettings.HelpLink": "https://intranet.example/help"}),
                               dict(config_changes={"SupportSettings.HelpLink": "https://mattermost.com/pl/help/",
                                                    "SupportSettings.ReportAProblemLink": "",
                                                    "SupportSettings.SupportEmail": ""})),
    "legal_links_set": (dict(config_changes={"SupportSettings.TermsOfServiceLink": "https://acme.example/terms",
                                             "SupportSettings.PrivacyPolicyLink": "https://acme.example/privacy"}),
                        dict()),
    "ha_cluster_configured": (dict(config_changes={"ClusterSettings.Enable": True}),
                              dict(nodes=Fact((Node("one"),), "nodes"))),
    "file_storage_configured": (dict(), dict(server_status=Fact({"filestore_status": "UNHEALTHY"}, "ping"))),
    "data_retention_configured": (dict(config_changes={"DataRetentionSettings.EnableMessageDeletion": True}),
                                  dict(config_changes={"DataRetentionSettings.EnableMessageDeletion": False,
                                                       "DataRetentionSettings.EnableFileDeletion": False})),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_verified_and_failed(rule):
    good, bad = CASES[rule]
    assert verify(rule, make_inputs(**good)).verdict is Verdict.VERIFIED, verify(rule, make_inputs(**good))
    failed = verify(rule, make_inputs(**bad))
    assert failed.verdict is Verdict.FAILED and failed.evidence


def test_a_failing_connection_test_fails_the_item():
    inputs = make_inputs(config_changes={"LdapSettings.Enable": True},
                         probes=Fact({"ldap": Probe("FAIL", "invalid credentials")}, "tests"))
    assert verify("ldap_or_saml_configured", inputs).verdict is Verdict.FAILED


def test_missing_inputs_are_unknown_with_the_reason():
    result = verify("site_url_https", make_inputs(config=absent("GET /api/v4/config", "HTTP 403")))
    assert result.verdict is Verdict.UNKNOWN and "HTTP 403" in result.evidence
    assert verify("metrics_enabled", make_inputs()).verdict is Verdict.UNKNOWN  # metrics on, Prometheus not read
