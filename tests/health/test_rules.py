"""Every rule fires on the condition it names, stays OK otherwise, and says "unknown" (never OK) without inputs."""

from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace as NS

import pytest

from collectors.mattermost_models import Job, LicenseInfo, Plugin, PluginNode
from health.engine import run_rule
from health.findings import State
from health.inputs import Fact, Node, Probe, Usage, absent
from health.rules import RULES
from tests.health.conftest import NOW, make_inputs

BY_CODE = {rule.code: rule for rule in RULES}
HEALTHY_USAGE = make_inputs().usage.value


def usage(**changes) -> Fact:
    return Fact(replace(HEALTHY_USAGE, **changes), "usage")


def lic(**changes) -> Fact:
    base = LicenseInfo(True, "Enterprise", "enterprise", 2000, "Acme", expires_at=NOW + timedelta(days=200))
    return Fact(replace(base, **changes), "license")


def job(kind: str, status: str, *, hours_ago: float = 1, progress: int = 100, error: str | None = None) -> Job:
    at = NOW - timedelta(hours=hours_ago)
    return Job(f"{kind}-{status}", kind, status, at, at, at, progress, error)


FIRING_CASES = {
    "LICENSE_EXPIRED": dict(license=lic(expires_at=NOW - timedelta(days=3))),
    "LICENSE_EXPIRING": dict(license=lic(expires_at=NOW + timedelta(days=10))),
    "LICENSE_TRIAL": dict(license=lic(is_trial=True)),
    "SEATS_OVER_DEPLOYED": dict(usage=usage(active_users=2100)),
    "SEATS_NEAR_CAPACITY": dict(usage=usage(active_users=1900)),
    "SEATS_LOW_UTILIZATION": dict(usage=usage(active_users=300)),
    "SEATS_LOW_ENGAGEMENT": dict(usage=usage(monthly_active_users=300)),
    "WORKFLOW_USAGE_LIGHT": dict(usage=usage(incoming_webhooks=3)),
    "VERSION_BEHIND_MAJOR": dict(latest_version=Fact("12.0.0", "latest")),
    "VERSION_BEHIND_MINOR": dict(latest_version=Fact("11.8.0", "latest")),
    "VERSION_BEHIND_PATCH": dict(latest_version=Fact("11.6.3", "latest")),
    "SITE_URL_EMPTY": dict(config_changes={"ServiceSettings.SiteURL": ""}),
    "SITE_URL_HTTP": dict(config_changes={"ServiceSettings.SiteURL": "http://chat.example.com"}),
    "SERVER_UNHEALTHY": dict(server_status=Fact({"status": "UNHEALTHY", "database_status": "OK"}, "ping")),
    "DATABASE_WRITE_FAILING": dict(server_status=Fact({"status": "UNHEALTHY", "database_status": "UNHEALTHY"},
                                                      "ping")),
    "FILESTORE_UNREACHABLE": dict(probes=Fact({"file_store": Probe("FAIL", "access denied")}, "diagnostics")),
    "FILESTORE_LOCAL_IN_CLUSTER": dict(config_changes={"FileSettings.DriverName": "local",
                                                       "FileSettings.Directory": "./data/"}),
    "FILESTORE_LOCAL_IN_CLUSTER_VERIFY": dict(config_changes={"FileSettings.DriverName": "local",
                                                              "FileSettings.Directory": "/mnt/shared/"}),
    "FILESTORE_S3_NO_BUCKET": dict(config_changes={"FileSettings.DriverName": "amazons3",
                                                   "FileSettings.AmazonS3Bucket": ""}),
    "FILESTORE_S3_SSL_OFF": dict(config_changes={"FileSettings.DriverName": "amazons3",
                                                 "FileSettings.AmazonS3SSL": False}),
    "RUNNING_AS_ROOT": dict(server_status=Fact({"status": "OK", "root_status": True}, "ping")),
    "ENV_UNSUPPORTED_OS": dict(nodes=Fact((Node("win1", os="windows"),), "diagnostics")),
    "BIND_PRIVILEGED_PORT": dict(config_changes={"ServiceSettings.ListenAddress": ":443"}),
    "NODE_FD_EXHAUSTION": dict(nodes=Fact((Node("app1", open_fds=950, max_fds=1000),), "diagnostics")),
    "LOG_DEBUG_PROD": dict(config_changes={"LogSettings.FileLevel": "DEBUG"}),
    "LOG_FILE_OFF": dict(config_changes={"LogSettings.EnableFile": False}),
    "METRICS_OFF": dict(config_changes={"MetricsSettings.Enable": False}),
    "SESSION_LENGTH_DEFAULT": dict(config_changes={"ServiceSettings.SessionLengthMobileInHours": 720}),
    "LDAP_PORT_TLS_MISMATCH": dict(config_changes={"LdapSettings.Enable": True, "LdapSettings.LdapPort": 389,
                                                   "LdapSettings.ConnectionSecurity": "TLS"}),
    "LDAP_PORT_PLAIN_MISMATCH": dict(config_changes={"LdapSettings.Enable": True, "LdapSettings.LdapPort": 636,
                                                     "LdapSettings.ConnectionSecurity": ""}),
    "LDAP_SKIP_CERT": dict(config_changes={"LdapSettings.Enable": True,
                                           "LdapSettings.SkipCertificateVerification": True}),
    "LDAP_QUERY_TIMEOUT_LOW": dict(config_changes={"LdapSettings.Enable": True, "LdapSettings.QueryTimeout": 5}),
    "LDAP_SYNC_INTERVAL_LOW": dict(config_changes={"LdapSettings.Enable": True, "LdapSettings.EnableSync": True,
                                                   "LdapSettings.SyncIntervalMinutes": 5}),
    "LDAP_SYNC_NO_BASEDN": dict(config_changes={"LdapSettings.Enable": True, "LdapSettings.BaseDN": ""}),
    "LDAP_ID_IS_EMAIL": dict(config_changes={"LdapSettings.Enable": True, "LdapSettings.IdAttribute": "mail"}),
    "LDAP_RECOMMENDED_AT_SCALE": dict(config_changes={"LdapSettings.Enable": False, "SamlSettings.Enable": False}),
    "LDAP_PROBE_FAILED": dict(probes=Fact({"ldap": Probe("FAIL", "invalid credentials")}, "tests")),
    "SAML_SIGNATURE_SHA1": dict(config_changes={"SamlSettings.Enable": True, "SamlSettings.SignRequest": True,
                                                "SamlSettings.SignatureAlgorithm": "RSAwithSHA1"}),
    "SAML_VERIFY_OFF": dict(config_changes={"SamlSettings.Enable": True, "SamlSettings.Verify": False}),
    "SAML_ENCRYPT_OFF": dict(config_changes={"SamlSettings.Enable": True, "SamlSettings.Encrypt": False}),
    "SAML_ID_IS_EMAIL": dict(config_changes={"SamlSettings.Enable": True, "SamlSettings.IdAttribute": "email"}),
    "SAML_ID_MUTABLE": dict(config_changes={"SamlSettings.Enable": True, "SamlSettings.IdAttribute": "username"}),
    "SAML_METADATA_UNREACHABLE": dict(probes=Fact({"saml": Probe("FAIL", "timeout")}, "tests")),
    "SESSION_EXTEND_OFF": dict(config_changes={"ServiceSettings.ExtendSessionLengthWithActivity": False}),
    "MFA_NOT_ENFORCED": dict(config_changes={"SamlSettings.Enable": False,
                                             "ServiceSettings.EnableMultifactorAuthentication": True,
                                             "ServiceSettings.EnforceMultifactorAuthentication": False}),
    "MFA_DISABLED": dict(config_changes={"SamlSettings.Enable": False, "EmailSettings.EnableSignInWithEmail": True,
                                         "ServiceSettings.EnableMultifactorAuthentication": False}),
    "CLUSTER_GOSSIP_UNENCRYPTED": dict(config_changes={"ClusterSettings.EnableExperimentalGossipEncryption": False}),
    "CLUSTER_SINGLE_NODE": dict(nodes=Fact((Node("app1"),), "nodes")),
    "CLUSTER_NODE_MISSING": dict(cluster_size=Fact(3, "diagnostics"), nodes=Fact((Node("app1"), Node("app2")), "n")),
    "CLUSTER_CONFIG_MISMATCH": dict(nodes=Fact((
        Node("app1", config_hash="aa", is_leader=True),
        Node("app2", config_hash="bb", config_differs=("LogSettings.FileLevel",))), "diagnostics")),
    "CLUSTER_BAD_ADVERTISE": dict(config_changes={"ClusterSettings.AdvertiseAddress": "127.0.0.1"}),
    "CLUSTER_VERSION_SKEW": dict(nodes=Fact((Node("app1", version="11.6.1"), Node("app2", version="11.5.0")), "n")),
    "CLUSTER_LRU_CACHE": dict(usage=usage(registered_users=150_000), config_changes={"CacheSettings.CacheType": "lru"}),
    "CLUSTER_CONFIG_WRITABLE": dict(config_changes={"ClusterSettings.ReadOnlyConfig": False}),
    "RATELIMIT_OFF_LARGE": dict(config_changes={"RateLimitSettings.Enable": False}),
    "RATELIMIT_STORE_SMALL": dict(config_changes={"RateLimitSettings.MemoryStoreSize": 500}),
    "PUSH_EMPTY_URL": dict(config_changes={"EmailSettings.PushNotificationServer": ""}),
    "PUSH_BAD_SCHEME": dict(config_changes={"EmailSettings.PushNotificationServer": "http://push.example.com"}),
    "PUSH_TEST_PROXY": dict(config_changes={"EmailSettings.PushNotificationServer": "https://push-test.mattermost.com"}),
    "PUSH_FULL_CONTENTS": dict(config_changes={"EmailSettings.PushNotificationContents": "full"}),
    "SMTP_NOT_CONFIGURED": dict(config_changes={"EmailSettings.SMTPServer": ""}),
    "SMTP_UNREACHABLE": dict(probes=Fact({"email": Probe("FAIL", "535 auth failed")}, "diagnostics")),
    "LINK_PREVIEWS_DISABLED": dict(config_changes={"ServiceSettings.EnableLinkPreviews": False}),
    "MAX_NOTIFICATIONS_PER_CHANNEL": dict(config_changes={"TeamSettings.MaxNotificationsPerChannel": 10_000}),
    "TYPING_MESSAGES_AT_SCALE": dict(usage=usage(active_users=8000),
                                     config_changes={"ServiceSettings.EnableUserTypingMessages": True}),
    "COMPLIANCE_NO_DIR": dict(config_changes={"ComplianceSettings.Enable": True, "ComplianceSettings.Directory": ""}),
    "AUDIT_LOG_OFF": dict(usage=usage(registered_users=9000),
                          config_changes={"ExperimentalAuditSettings": {"FileEnabled": False}}),
    "RETENTION_TIGHT_BATCHES": dict(config_changes={"DataRetentionSettings.EnableMessageDeletion": True,
                                                    "DataRetentionSettings.TimeBetweenBatchesMilliseconds": 10}),
    "EXPORT_GR_TIMEOUT_LOW": dict(config_changes={"MessageExportSettings.EnableExport": True,
                                                  "MessageExportSettings.ExportFormat": "globalrelay",
                                                  "MessageExportSettings.GlobalRelaySettings.SMTPServerTimeout": 5}),
    "DATA_RETENTION_OFF": dict(config_changes={"DataRetentionSettings.EnableMessageDeletion": False,
                                               "DataRetentionSettings.EnableFileDeletion": False}),
    "JOB_FAILED": dict(jobs=Fact((job("ldap_sync", "error", error="timeout"),), "jobs")),
    "JOB_STUCK": dict(jobs=Fact((Job("j", "ldap_sync", "in_progress", NOW - timedelta(hours=30),
                                     NOW - timedelta(hours=30), NOW - timedelta(hours=26), 40, None),), "jobs")),
    "JOB_WEDGED_AT_ZERO": dict(jobs=Fact((job("message_export", "in_progress", hours_ago=8, progress=0),), "jobs")),
    "PLUGINS_OFF": dict(config_changes={"PluginSettings.Enable": False}),
    "PLUGIN_HEALTH_OFF": dict(config_changes={"PluginSettings.EnableHealthCheck": False}),
    "PLUGIN_NOT_RUNNING": dict(plugins=Fact((Plugin("calls", "Calls", "1.0", True,
                                                    (PluginNode("n1", "failed to start", "port in use"),)),), "p")),
    "SCALE_ES_REQUIRED": dict(usage=usage(posts=6_000_000),
                              config_changes={"ElasticsearchSettings.EnableSearching": False}),
    "SCALE_ES_RECOMMENDED": dict(usage=usage(posts=3_000_000),
                                 config_changes={"ElasticsearchSettings.EnableSearching": False}),
    "ES_LOCALHOST_URL": dict(config_changes={"ElasticsearchSettings.ConnectionURL": "http://localhost:9200"}),
    "ES_SERVER_ERROR": dict(probes=Fact({"elastic": Probe("FAIL", "connection refused")}, "tests")),
    "ES_LIVE_BATCH_SYNC": dict(config_changes={"ElasticsearchSettings.LiveIndexingBatchSize": 1}),
    "ES_LIVE_BATCH_TOO_HIGH": dict(config_changes={"ElasticsearchSettings.LiveIndexingBatchSize": 500}),
    "ES_SKIP_TLS_VERIFY": dict(config_changes={"ElasticsearchSettings.ConnectionURL": "https://es.example.com",
                                               "ElasticsearchSettings.SkipTLSVerification": True}),
    "DB_NO_READ_REPLICA": dict(usage=usage(registered_users=3000),
                               config_changes={"SqlSettings.DataSourceReplicas": []}),
    "DB_NO_SEARCH_REPLICA": dict(config_changes={"SqlSettings.DataSourceSearchReplicas": [],
                                                 "ElasticsearchSettings.EnableSearching": False}),
    "DB_TRACE_ON": dict(config_changes={"SqlSettings.Trace": True}),
    "DB_MAX_OPEN_CONNS_LOW": dict(config_changes={"SqlSettings.MaxOpenConns": 50}),
    "DB_QUERY_TIMEOUT_HIGH": dict(config_changes={"SqlSettings.QueryTimeout": 120}),
    "DB_HA_FAILOVER_STORM_RISK": dict(config_changes={"SqlSettings.MaxOpenConns": 300}),
    "DB_REPLICA_UNUSED": dict(usage=usage(replica_db_connections=0),
                              config_changes={"SqlSettings.DataSourceReplicas": ["********************************"]}),
    "DB_REPLICA_LAG_UNMONITORED": dict(config_changes={"SqlSettings.DataSourceReplicas": ["x"],
                                                       "SqlSettings.ReplicaLagSettings": []}),
    "DB_IDLE_EXCEEDS_OPEN": dict(config_changes={"SqlSettings.MaxIdleConns": 500, "SqlSettings.MaxOpenConns": 100}),
    "DB_POOL_SATURATED": dict(usage=usage(master_db_connections=590), config_changes={"SqlSettings.MaxOpenConns": 300}),
    "ES_VERSION_UNSUPPORTED": dict(search=Fact(NS(major_version=7, distribution="elasticsearch", version="7.17.2"),
                                               "es")),
    "ES_MISSING_ICU": dict(search=Fact(NS(missing={}, plugins=(NS(component="analysis-smartcn"),),
                                          has_analysis_icu=False), "es")),
    "ES_CLUSTER_HEALTH": dict(search=Fact(NS(health_status="red", unassigned_shards=3, missing={}), "es")),
    "SAML_CERT_EXPIRING": dict(saml=Fact(NS(soonest_expiring=NS(subject="CN=idp", not_after=NOW + timedelta(days=9),
                                                                days_to_expiry=9)), "saml")),
    "LDAP_CLEARTEXT_BIND": dict(ldap=Fact(NS(bind_dn="cn=reader", security="none", url="ldap://ldap"), "ldap")),
}

OK_CASES = {
    "LICENSE_EXPIRED": dict(), "LICENSE_EXPIRING": dict(), "SEATS_OVER_DEPLOYED": dict(),
    "VERSION_BEHIND_MINOR": dict(latest_version=Fact("11.7.0", "latest")),
    "SITE_URL_HTTP": dict(config_changes={"ServiceSettings.SiteURL": "https://chat.example.com"}),
    "SERVER_UNHEALTHY": dict(), "FILESTORE_UNREACHABLE": dict(), "RUNNING_AS_ROOT": dict(),
    "LDAP_SKIP_CERT": dict(config_changes={"LdapSettings.Enable": False, "LdapSettings.EnableSync": False,
                                           "LdapSettings.SkipCertificateVerification": True}),
    "CLUSTER_VERSION_SKEW": dict(), "CLUSTER_SINGLE_NODE": dict(),
    "CLUSTER_NODE_MISSING": dict(cluster_size=Fact(2, "diagnostics")),
    "CLUSTER_CONFIG_MISMATCH": dict(nodes=Fact((Node("app1", config_hash="aa"), Node("app2", config_hash="aa")), "n")),
    "MFA_DISABLED": dict(config_changes={"SamlSettings.Enable": False,
                                         "ServiceSettings.EnableMultifactorAuthentication": True}),
    "PUSH_TEST_PROXY": dict(config_changes={"EmailSettings.PushNotificationServer": "https://push.mattermost.com"}),
    "JOB_FAILED": dict(jobs=Fact((job("ldap_sync", "error", hours_ago=5), job("ldap_sync", "success", hours_ago=1)),
                                 "jobs")),
    "PLUGIN_NOT_RUNNING": dict(plugins=Fact((
        Plugin("calls", "Calls", "1.0", True, (PluginNode("n1", "running", None),)),
        Plugin("jira", "Jira", "1.0", False, (PluginNode("n1", "not running", None),))), "p")),
    "SCALE_ES_REQUIRED": dict(usage=usage(posts=6_000_000),
                              config_changes={"ElasticsearchSettings.EnableSearching": True}),
    "DB_POOL_SATURATED": dict(),
    "LOG_DEBUG_PROD": dict(config_changes={"LogSettings.FileLevel": "INFO"}),
    "ES_VERSION_UNSUPPORTED": dict(search=Fact(NS(major_version=2, distribution="opensearch", version="2.17.0"), "es")),
    "ES_CLUSTER_HEALTH": dict(search=Fact(NS(health_status="green", unassigned_shards=0, missing={}), "es")),
    "LDAP_CLEARTEXT_BIND": dict(ldap=Fact(NS(bind_dn="cn=reader", security="tls", url="ldaps://ldap"), "ldap")),
}


def state_of(code: str, **inputs) -> list:
    return run_rule(BY_CODE[code], make_inputs(**inputs))


def test_there_are_at_least_sixty_rules_with_complete_texts():
    assert len(RULES) >= 60
    for rule in RULES:
        assert rule.title and rule.remediation and rule.docs_url.startswith("https://"), rule.code


def test_every_rule_has_a_firing_case():
    # The database server's rules are exercised with real fact types in test_database_rules.py.
    covered_elsewhere = {r.code for r in RULES if r.evaluate.__module__.endswith(("database_server", "performance"))}
    assert set(FIRING_CASES) == set(BY_CODE) - covered_elsewhere, set(BY_CODE) ^ set(FIRING_CASES)


@pytest.mark.parametrize("code", sorted(FIRING_CASES))
def test_rule_fires_on_its_condition(code):
    findings = state_of(code, **FIRING_CASES[code])
    assert any(f.state is State.FIRING for f in findings), findings
    firing = next(f for f in findings if f.state is State.FIRING)
    assert firing.observed and firing.threshold and firing.evidence.startswith("test: ")


@pytest.mark.parametrize("code", sorted(OK_CASES))
def test_rule_is_ok_when_the_condition_does_not_hold(code):
    findings = state_of(code, **OK_CASES[code])
    assert findings and all(f.state is State.OK for f in findings), findings


MISSING = absent("GET /api/v4/config", "HTTP 403: the token's user may not read this")


@pytest.mark.parametrize("code", sorted(c for c, case in FIRING_CASES.items() if "config_changes" in case))
def test_without_the_configuration_a_rule_is_unknown_and_says_why(code):
    [finding] = state_of(code, config=MISSING, **{k: v for k, v in FIRING_CASES[code].items()
                                                  if k != "config_changes"})
    assert finding.state is State.UNKNOWN
    assert "HTTP 403" in finding.evidence


def test_a_setting_missing_from_an_older_version_is_unknown_not_ok():
    [finding] = state_of("SESSION_EXTEND_OFF", config_changes={"ServiceSettings": {"SiteURL": "https://x"}})
    assert finding.state is State.UNKNOWN and "ExtendSessionLengthWithActivity" in finding.evidence


def test_per_item_rules_name_their_subject():
    findings = state_of("CLUSTER_VERSION_SKEW", **FIRING_CASES["CLUSTER_VERSION_SKEW"])
    assert {(f.subject, f.state) for f in findings} == {("app1", State.OK), ("app2", State.FIRING)}


def test_an_unexpected_value_is_unknown_not_a_crash():
    [finding] = state_of("LDAP_QUERY_TIMEOUT_LOW", usage=Fact(Usage(), "u"),
                         config_changes={"LdapSettings.Enable": True, "LdapSettings": "broken"})
    assert finding.state is State.UNKNOWN


def test_a_single_server_has_no_cluster_node_to_miss():
    """A server without ClusterSettings.Enable (its support packet has no folder per node and no node count, as
    upstream's standalone testdata) is not "unknown" on a missing node: the rule does not apply to it."""
    [finding] = state_of("CLUSTER_NODE_MISSING", config_changes={"ClusterSettings.Enable": False},
                         cluster_size=absent("diagnostics.yaml", "the packet has no folder per node"))
    assert finding.state is State.OK and finding.observed == "high availability is off"
    [clustered] = state_of("CLUSTER_NODE_MISSING", cluster_size=absent("diagnostics.yaml", "no node count"))
    assert clustered.state is State.UNKNOWN
