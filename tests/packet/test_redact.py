"""Redaction of config.json and log lines: every secret masked, everything else support needs kept."""

from __future__ import annotations

import copy
import json
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest

from packet.leak_gate import LeakGate
from packet.pseudonymise import Pseudonymiser
from packet.redact import (
    MASK,
    SANITIZED_CONFIG_FIELDS,
    UNSANITIZED_SECRET_FIELDS,
    Redaction,
    Redactor,
    config_secrets,
    is_secret_key,
    text_secrets,
)
from simulator import SCENARIOS, build_scenario
from simulator.api.plugins import manifest_json
from simulator.plugin_catalog import CATALOG
from simulator.sanitize import sanitize_config
from simulator.server_config import build_config
from simulator.server_log import node_log, notifications_log

FIELDS_FILE = Path(__file__).resolve().parents[3] / "shared/reference/mattermost/sanitized_config_fields.txt"
MANIFESTS = {p.id: manifest_json(p) for p in CATALOG}


def _get(cfg: dict, dotted: str) -> object:
    value: object = cfg
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _redact(config: dict, redactor: Redactor | None = None) -> tuple[dict, list[Redaction]]:
    return (redactor or Redactor()).redact_config(config, member="config.json", plugin_manifests=MANIFESTS)


# ------------------------------------------------------------------------------------------- config

def test_field_list_is_the_reference_list():
    listed = [line.strip() for line in FIELDS_FILE.read_text().splitlines() if line.strip()]
    assert sorted(SANITIZED_CONFIG_FIELDS) == sorted(listed)


def test_degraded_config_every_secret_masked_and_the_rest_kept():
    raw = build_config(build_scenario("degraded"))
    before = copy.deepcopy(raw)
    out, redactions = _redact(raw)
    assert raw == before, "the caller's config must not be modified"
    for field in SANITIZED_CONFIG_FIELDS:
        value = _get(raw, field)
        if isinstance(value, str) and value:
            assert _get(out, field) == MASK, field
    assert out["SqlSettings"]["DataSourceReplicas"] == [MASK] * len(raw["SqlSettings"]["DataSourceReplicas"])
    # Kept: what support reads to diagnose.
    assert out["SqlSettings"]["MaxOpenConns"] == raw["SqlSettings"]["MaxOpenConns"]
    assert out["ServiceSettings"]["SiteURL"] == raw["ServiceSettings"]["SiteURL"]
    assert out["EmailSettings"]["SMTPServer"] == raw["EmailSettings"]["SMTPServer"]
    assert out["LdapSettings"]["BindUsername"] == raw["LdapSettings"]["BindUsername"]
    assert out["EmailSettings"]["EnableSMTPAuth"] is True
    # Empty secrets stay empty: support can see that no password is set.
    assert out["GitLabSettings"]["Secret"] == ""
    text = json.dumps(out)
    for secret in config_secrets(raw, plugin_manifests=MANIFESTS).values():
        assert secret not in text
    assert {r.rule for r in redactions} >= {"config-field", "plugin-secret", "url-credentials"}
    assert all(r.member == "config.json" and r.line is None for r in redactions)


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_config_secret_survives_in_any_scenario(name):
    raw = build_config(build_scenario(name))
    text = json.dumps(_redact(raw)[0])
    leaked = [label for label, secret in config_secrets(raw, plugin_manifests=MANIFESTS).items() if secret in text]
    assert leaked == []


def test_elasticsearch_url_password_that_mattermost_misses_is_masked():
    raw = build_config(build_scenario("degraded"))
    url = raw["ElasticsearchSettings"]["ConnectionURL"]
    password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    mattermost_packet = sanitize_config(raw, build_scenario("degraded").plugins, partially_redact_data_sources=True)
    assert password in json.dumps(mattermost_packet), "premise: Mattermost's own sanitizer leaves it"

    out, redactions = _redact(raw)
    assert out["ElasticsearchSettings"]["ConnectionURL"] == "https://****:****@search.contoso-health.example:9200"
    hit = next(r for r in redactions if r.context.startswith("ElasticsearchSettings.ConnectionURL"))
    assert hit.rule == "url-credentials" and password not in hit.context


def test_plugin_secrets_follow_their_manifests():
    raw = build_config(build_scenario("degraded"))
    out, redactions = _redact(raw)
    plugins = out["PluginSettings"]["Plugins"]
    assert plugins["com.mattermost.calls"]["turnstaticauthsecret"] == MASK
    assert plugins["jira"]["secret"] == MASK
    assert plugins["zoom"]["oauthclientsecret"] == MASK
    # Not secret per the manifest: kept for support.
    assert plugins["com.mattermost.calls"]["icehostoverride"] == "calls.example.com"
    assert plugins["com.mattermost.calls"]["udpserverport"] == 8443
    # A removed plugin has no manifest; its key name still gives its secret away.
    assert plugins["com.example.legacy-sso-bridge"]["clientsecret"] == MASK
    assert plugins["com.example.legacy-sso-bridge"]["endpoint"] == "https://sso.example.com"
    rules = {r.context.split(":")[0]: r.rule for r in redactions}
    assert rules["PluginSettings.Plugins.jira.secret"] == "plugin-secret"
    assert rules["PluginSettings.Plugins.com.example.legacy-sso-bridge.clientsecret"] == "key-name"


def test_plugin_secret_declared_in_a_section_with_different_case():
    manifest = {"id": "com.example.bridge", "settings_schema": {
        "settings": [], "sections": [{"key": "auth", "settings": [{"key": "RelayCode", "secret": True},
                                                                  {"key": "RelayHost", "secret": False}]}]}}
    config = {"PluginSettings": {"Plugins": {"com.example.bridge": {"relaycode": "opaque-value-1", "relayhost": "h"}}}}
    out, _ = Redactor().redact_config(config, member="c", plugin_manifests={"com.example.bridge": manifest})
    assert out["PluginSettings"]["Plugins"]["com.example.bridge"] == {"relaycode": MASK, "relayhost": "h"}


@pytest.mark.parametrize("name", [
    "Password", "SMTPPassword", "BindPassword", "Secret", "ClientSecret", "client_secret", "PrivateKey",
    "AccessKey", "SigningKey", "SplitKey", "AtRestEncryptKey", "APIKey", "api_key", "X-Api-Key", "PublicLinkSalt",
    "SentryDSN", "Credentials", "AuthToken", "MMAUTHTOKEN", "webhooksecret", "encryptionkey", "passwd", "Pass",
    "PasswordHash", "BIND_PASSWORD",
])
def test_secret_key_names(name):
    assert is_secret_key(name)


@pytest.mark.parametrize("name", [
    "KeyboardShortcuts", "MaxKeys", "EnableKeybase", "TokenEndpoint", "PasswordSettings", "ForgotPasswordLink",
    "TLSKeyFile", "PrivateKeyFile", "AmazonS3AccessKeyId", "amazons3accesskeyid", "PublicKey",
    "SignaturePublicKeyFiles", "EnableUserAccessTokens", "ConnectionSecurity", "MinimumLength", "Id", "DataSource",
    "SMTPUsername", "EnableSecurityFixAlert", "bypass", "Monkeys", "tokenid", "UserAPIEndpoint",
])
def test_not_secret_key_names(name):
    assert not is_secret_key(name)


def test_key_name_rule_masks_strings_only():
    config = {"CustomSettings": {
        "SigningKey": "k-123456", "KeyboardShortcuts": "ctrl+k", "MaxKeys": 5, "EnableKeybase": "yes",
        "TokenEndpoint": "https://idp.example.com/token", "ApiToken": 123456, "Password": True, "Secret": None,
        "Credentials": {"user": "svc", "value": "c-987654", "retries": 3}, "Tokens": ["t-1", "t-2"],
    }}
    out, redactions = Redactor().redact_config(config, member="c")
    custom = out["CustomSettings"]
    assert custom["SigningKey"] == MASK
    assert custom["Credentials"] == {"user": MASK, "value": MASK, "retries": 3}
    kept = ("KeyboardShortcuts", "MaxKeys", "EnableKeybase", "TokenEndpoint", "ApiToken", "Password", "Secret",
            "Tokens")
    assert {k: custom[k] for k in kept} == {k: config["CustomSettings"][k] for k in kept}
    assert [r.rule for r in redactions] == ["key-name"] * 3


def test_advanced_logging_json_as_string_and_as_object():
    targets = {"splunk": {"type": "splunk", "format": "json", "levels": [{"id": 5, "name": "debug"}],
                          "options": {"endpoint": "https://splunk.example.com:8088", "token": "spl-Tok-5523"}},
               "syslog": {"type": "syslog", "options": {"host": "syslog.example.com", "password": "sys-Pw-8812",
                                                          "cert": ""}}}
    config = {"LogSettings": {"AdvancedLoggingJSON": json.dumps(targets)},
              "ExperimentalAuditSettings": {"AdvancedLoggingJSON": targets}}
    out, redactions = Redactor().redact_config(config, member="c")
    as_string = json.loads(out["LogSettings"]["AdvancedLoggingJSON"])
    for redacted in (as_string, out["ExperimentalAuditSettings"]["AdvancedLoggingJSON"]):
        assert redacted["splunk"]["options"] == {"endpoint": "https://splunk.example.com:8088", "token": MASK}
        assert redacted["syslog"]["options"]["password"] == MASK
        assert redacted["splunk"]["levels"] == [{"id": 5, "name": "debug"}]
    assert {r.context.split(":")[0] for r in redactions} >= {
        "LogSettings.AdvancedLoggingJSON.splunk.options.token",
        "ExperimentalAuditSettings.AdvancedLoggingJSON.syslog.options.password"}


def test_second_pass_changes_nothing_and_reports_nothing():
    raw = build_config(build_scenario("degraded"))
    raw["LogSettings"]["AdvancedLoggingJSON"] = json.dumps({"t": {"options": {"token": "tok-Value-1234"}}})
    once, first = _redact(raw)
    twice, second = _redact(once)
    assert first and second == [] and twice == once


def test_mattermost_sanitized_config_counts_as_masked():
    scenario = build_scenario("degraded")
    packet = sanitize_config(build_config(scenario), scenario.plugins, partially_redact_data_sources=True)
    out, redactions = _redact(packet)
    assert out["SqlSettings"]["DataSource"] == packet["SqlSettings"]["DataSource"]  # ****:****@host kept
    assert {r.rule for r in redactions} <= {"url-credentials", "aws-access-key"}


def test_credentials_inside_unlisted_strings_keep_their_structure():
    config = {"PluginSettings": {"Plugins": {"com.example.x": {
        "db": "host=db.example.com user=mmuser password=kv-Pw-7781 dbname=mm sslmode=require",
        "mysql": "mmuser:my-Pw-2231@tcp(db:3306)/mattermost?charset=utf8mb4",
        "redis": "redis://:rd-Pw-9921@cache:6379/0",
    }}}}
    out, redactions = Redactor().redact_config(config, member="c")
    values = out["PluginSettings"]["Plugins"]["com.example.x"]
    assert values == {"db": "host=db.example.com user=**** password=**** dbname=mm sslmode=require",
                      "mysql": "****:****@tcp(db:3306)/mattermost?charset=utf8mb4",
                      "redis": "redis://:****@cache:6379/0"}
    assert [r.rule for r in redactions] == ["dsn", "dsn", "dsn"]


def test_extra_terms_are_masked_exactly_and_short_ones_refused():
    redactor = Redactor(extra_terms=["Contoso Health"])
    out, _ = redactor.redact_config({"TeamSettings": {"SiteName": "Contoso Health chat", "Other": "contoso health"}},
                                    member="c")
    assert out["TeamSettings"] == {"SiteName": "[REDACTED:extra-term] chat", "Other": "contoso health"}
    line, _ = redactor.redact_line(b'{"site":"Contoso%20Health","t":"Contoso Health"}', member="m", line_no=1)
    assert line == b'{"site":"[REDACTED:extra-term]","t":"[REDACTED:extra-term]"}'
    with pytest.raises(ValueError, match="extra term 2"):
        Redactor(extra_terms=["fine", "ab"])


# ------------------------------------------------------------------------------------------- log lines

SECRET = "Hunter2-Secret!"
TOKEN = "k8rj2mqx7tnwb4lp9vz3hc6yf1"
# (rule, line template, what is substituted): plain, JSON, JSON inside JSON, and URL-encoded spellings.
LINE_FORMS = [
    ("password", "login failed password={s} for bob", SECRET),
    ("password", '{{"level":"info","password":"{s}"}}', SECRET),
    ("password", '{{"msg":"body","payload":"{{\\"password\\":\\"{s}\\"}}"}}', SECRET),
    ("password", "GET /x?user=bob&password%3D{s}%26next=1", quote(SECRET, safe="")),
    ("password", "body=%7B%22password%22%3A%22{s}%22%7D", quote(SECRET, safe="")),
    ("password", "pass: {s}", SECRET),
    ("password", '{{"SMTPPassword": "{s}"}}', SECRET),
    ("session-token", '{{"msg":"session","token":"{s}"}}', TOKEN),
    ("session-token", "GET /api/v4/files?token={s}&download=1", TOKEN),
    ("session-token", "Cookie: MMAUTHTOKEN={s}; MMUSERID=abc", TOKEN),
    ("session-token", '{{"payload":"{{\\"access_token\\":\\"{s}\\"}}"}}', TOKEN),
    ("session-token", "%22token%22%3A%22{s}%22", TOKEN),
    ("bearer-token", "Authorization: Bearer {s}", TOKEN),
    ("bearer-token", '{{"header":"Authorization: Token {s}"}}', TOKEN),
    ("bearer-token", "authorization%3A%20Bearer%20{s}", TOKEN),
    ("url-credentials", "dial https://elastic:{s}@search.example.com:9200/_cluster", SECRET),
    ("url-credentials", '{{"url":"https:\\/\\/elastic:{s}@search.example.com"}}', SECRET),
    ("url-credentials", "next=https%3A%2F%2Felastic%3A{s}%40search.example.com%2F", quote(SECRET, safe="")),
    ("dsn", "failed to connect to postgres://mmuser:{s}@db:5432/mattermost?sslmode=require", SECRET),
    ("dsn", "mmuser:{s}@tcp(db:3306)/mattermost?charset=utf8mb4", SECRET),
    ("dsn", "dsn: host=db port=5432 user=mmuser password={s} dbname=mattermost", SECRET),
    ("aws-access-key", "S3 key {s} denied", "AKIAIOSFODNN7EXAMPLE"),
    ("aws-secret-key", "aws_secret_access_key={s}", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws-secret-key", '{{"AmazonS3SecretAccessKey":"{s}"}}', "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("secret", "client_secret={s}", SECRET),
    ("secret", '{{"x-api-key":"{s}"}}', SECRET),
    ("password", "exec: mmctl auth login https://chat --username admin --password {s} --local", SECRET),
    ("webhook", '{{"msg":"Received webhook","path":"/hooks/{s}","status":200}}', TOKEN),
    ("jwt", "oidc assertion {s} rejected", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"),
]


@pytest.mark.parametrize(("rule", "template", "secret"), LINE_FORMS)
def test_log_line_rule(rule, template, secret):
    line = template.format(s=secret).encode() + b"\n"
    out, redactions = Redactor().redact_line(line, member="mattermost.log", line_no=7)
    assert secret.encode() not in out
    assert f"[REDACTED:{rule}]".encode() in out
    assert out.endswith(b"\n")
    assert [(r.rule, r.member, r.line) for r in redactions] == [(rule, "mattermost.log", 7)]
    assert secret not in redactions[0].context and f"[REDACTED:{rule}]" in redactions[0].context


def test_redacted_lines_stay_as_they_are_on_a_second_pass():
    redactor = Redactor()
    for _, template, secret in LINE_FORMS:
        once, _ = redactor.redact_line(template.format(s=secret).encode(), member="m", line_no=1)
        assert redactor.redact_line(once, member="m", line_no=1) == (once, [])


@pytest.mark.parametrize("line", [
    b'{"level":"debug","msg":"Sending push notification","user_id":"ybndrfg8ejkmcpqxot1uwisza3","ack_id":"'
    b'k8rj2mqx7tnwb4lp9vz3hc6yf1"}',
    b'{"msg":"Revoked user access token","token_id":"ybndrfg8ejkmcpqxot1uwisza3"}',
    b"DELETE /api/v4/users/tokens/ybndrfg8ejkmcpqxot1uwisza3 200",
    b'{"msg":"Invalid or expired session token, please login again.","status_code":401}',
    b'{"msg":"License key valid unlocking enterprise features.","license_id":"ybndrfg8ejkmcpqxot1uwisza3"}',
    b'{"error":"pq: password authentication failed for user \\"mmuser\\""}',
    b"bypass: cache, passes: 3, tokens: 12, keys: 4",
])
def test_ids_and_prose_are_not_secrets(line):
    assert Redactor().redact_line(line, member="m", line_no=1) == (line, [])


def test_real_server_logs_pass_through_byte_for_byte():
    redactor = Redactor()
    for name in SCENARIOS:
        scenario = build_scenario(name, now_ms=1_790_000_000_000)
        config = build_config(scenario)
        for node in scenario.nodes:
            for log in (node_log(scenario, config, node, 4), notifications_log(scenario, node)):
                for number, line in enumerate(log.splitlines(keepends=True), 1):
                    assert redactor.redact_line(line, member="mattermost.log", line_no=number) == (line, [])


def test_private_key_spanning_lines():
    redactor = Redactor()
    redactor.start_member("config/saml.log")
    lines = [b"loading key\n", b'{"msg":"-----BEGIN RSA PRIVATE KEY-----\n',
             b"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEe\n", b"Proc-Type: 4,ENCRYPTED\n", b"\n",
             b"kfi6HNdPmS8xDkMuNVKXBqgmSFhT8M0Fbe=\n",
             b"-----END RSA PRIVATE KEY----- token=abcdefgh1234\n", b"key loaded\n"]
    outs, redactions = [], []
    for number, line in enumerate(lines, 1):
        out, found = redactor.redact_line(line, member="config/saml.log", line_no=number)
        outs.append(out)
        redactions += found
    assert outs == [b"loading key\n", b'{"msg":"-----BEGIN RSA PRIVATE KEY-----\n', b"[REDACTED:private-key]\n",
                    b"[REDACTED:private-key]\n", b"\n", b"[REDACTED:private-key]\n",
                    b"-----END RSA PRIVATE KEY----- token=[REDACTED:session-token]\n", b"key loaded\n"]
    assert [(r.rule, r.line) for r in redactions] == [("private-key", 2), ("session-token", 7)]


def test_private_key_state_is_per_member_and_reset_by_start_member():
    redactor = Redactor()
    redactor.redact_line(b"-----BEGIN PRIVATE KEY-----\n", member="a.log", line_no=1)
    body = b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    assert redactor.redact_line(body, member="b.log", line_no=1) == (body, [])
    assert redactor.redact_line(body, member="a.log", line_no=2)[0] == b"[REDACTED:private-key]\n"
    redactor.start_member("a.log")
    assert redactor.redact_line(body, member="a.log", line_no=1) == (body, [])


def test_cut_off_private_key_ends_at_the_first_ordinary_line():
    redactor = Redactor()
    redactor.redact_line(b"-----BEGIN EC PRIVATE KEY-----\n", member="m", line_no=1)
    redactor.redact_line(b"MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oIy\n", member="m", line_no=2)
    ordinary = b'{"level":"info","msg":"Server is listening on [::]:8065"}\n'
    assert redactor.redact_line(ordinary, member="m", line_no=3) == (ordinary, [])


def test_non_utf8_bytes_survive_outside_the_masked_span():
    prefix, suffix = b"\xff\xfe caf\xe9 \x80 password=", b" \xc3\x28 end\r\n"
    out, redactions = Redactor().redact_line(prefix + b"S3cret-\xe9\xff" + suffix, member="m", line_no=3)
    assert out == prefix + b"[REDACTED:password]" + suffix
    assert "\\xff" in redactions[0].context


def test_pseudonymised_lines_and_config_keep_no_names_and_still_mask_secrets():
    redactor = Redactor(pseudonymiser=Pseudonymiser(b"case-4711-key-material"))
    line = (b'{"msg":"login","user_id":"ybndrfg8ejkmcpqxot1uwisza3","email":"alice@contoso-health.example",'
            b'"ip":"10.20.30.40","url":"https://mm:Pw-123456@db.contoso-health.example/x"}')
    out, redactions = redactor.redact_line(line, member="m", line_no=1)
    for private in (b"ybndrfg8ejkmcpqxot1uwisza3", b"alice", b"contoso-health", b"10.20.30.40", b"Pw-123456"):
        assert private not in out
    assert b"[REDACTED:url-credentials]@host-" in out
    assert "contoso-health" not in redactions[0].context
    config, _ = redactor.redact_config(build_config(build_scenario("degraded")), member="c")
    assert "contoso-health" not in json.dumps(config)


# ------------------------------------------------------------------------------------------- canary

def _set(cfg: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        cfg = cfg.setdefault(part, {})
    cfg[last] = value


def test_canaries_planted_everywhere_never_survive_redaction(tmp_path):
    """Plant a unique canary in every secret-bearing config field and every log spelling, redact, zip, and let
    the leak gate prove none survived (and that it finds them all before redaction)."""
    scenario = build_scenario("degraded")
    config = build_config(scenario)
    canaries: dict[str, str] = {}

    def canary(label: str, rule: str = "password") -> str:
        """A unique value shaped like what `rule` protects (token alphabet, webhook id, JWT, password)."""
        unique = f"cnry{len(canaries):03d}x{zlib.crc32(label.encode()):010d}"
        value = {"webhook": unique[:26].ljust(26, "q"), "jwt": f"eyJ{unique}.eyJ{unique}.{unique}",
                 "bearer-token": unique, "session-token": unique}.get(rule, unique + "!")
        canaries[label] = value
        return value

    for field in (*SANITIZED_CONFIG_FIELDS, *UNSANITIZED_SECRET_FIELDS):
        if field.startswith("SqlSettings.") and field != "SqlSettings.AtRestEncryptKey":
            continue
        _set(config, field, canary(field))
    sql = config["SqlSettings"]
    sql["DataSource"] = f"postgres://mmuser:{canary('DataSource')}@db:5432/mattermost?sslmode=require"
    sql["DataSourceReplicas"] = [f"postgres://mmuser:{canary(f'replica{i}')}@r{i}:5432/mm" for i in range(2)]
    sql["DataSourceSearchReplicas"] = [f"postgres://mmuser:{canary('search')}@s:5432/mm"]
    sql["ReplicaLagSettings"] = [{"DataSource": f"postgres://mmuser:{canary('lag')}@l:5432/mm",
                                  "QueryAbsoluteLag": "select 1", "QueryTimeLag": ""}]
    config["ElasticsearchSettings"]["ConnectionURL"] = f"https://mmsearch:{canary('es-url')}@search:9200"
    config["LogSettings"]["AdvancedLoggingJSON"] = json.dumps(
        {"splunk": {"type": "splunk", "options": {"endpoint": "https://splunk:8088", "token": canary("splunk")}}})
    config["ExperimentalAuditSettings"] = {"AdvancedLoggingJSON": {
        "tcp": {"type": "tcp", "options": {"host": "siem", "password": canary("audit-tcp")}}}}
    for plugin in CATALOG:
        for setting in plugin.settings:
            if setting.secret:
                _set(config["PluginSettings"]["Plugins"], f"{plugin.id}.{setting.key.lower()}",
                     canary(f"{plugin.id}/{setting.key}"))
    config["PluginSettings"]["Plugins"]["com.example.legacy-sso-bridge"]["clientsecret"] = canary("orphan")
    config["CustomSettings"] = {"SigningKey": canary("signing"), "nested": {"api_key": canary("nested-api-key")}}

    log_lines = [template.format(s=canary(f"log-{n}", rule))
                 for n, (rule, template, _) in enumerate(LINE_FORMS) if rule != "aws-access-key"]
    canaries["aws-access-key"] = f"AKIA{zlib.crc32(b'aws-access-key'):016d}"
    log_lines.append(f"S3 key {canaries['aws-access-key']} denied")
    log_lines.append(f"report for {canary('customer-term', 'extra-term')} attached")
    pem_body = canary("pem-body", "session-token") * 3
    log_lines += ["-----BEGIN OPENSSH PRIVATE KEY-----", pem_body, "-----END OPENSSH PRIVATE KEY-----"]

    redactor = Redactor(extra_terms=[canaries["customer-term"]])
    redacted_config, _ = redactor.redact_config(config, member="sanitized_config.json", plugin_manifests=MANIFESTS)
    redacted_log = b"".join(redactor.redact_line(line.encode() + b"\n", member="mattermost.log", line_no=n)[0]
                            for n, line in enumerate(log_lines, 1))

    gate = LeakGate(canaries)
    before, after = tmp_path / "raw.zip", tmp_path / "packet.zip"
    for path, cfg, log in ((before, config, "\n".join(log_lines).encode()), (after, redacted_config, redacted_log)):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("sanitized_config.json", json.dumps(cfg, indent=2))
            archive.writestr("logs/mattermost.log", log)
    assert {leak.label for leak in gate.scan_zip(before)} == set(canaries), "every canary is findable raw"
    assert gate.scan_zip(after) == []


def test_text_secrets_name_passwords_not_users():
    found = text_secrets("postgres://mmuser:Pw-1@db/mm host=h user=u password=Pw-2")
    assert found == [("dsn", "Pw-1"), ("dsn", "Pw-2")]


def test_block_redaction_equals_line_by_line():
    lines = [b'{"msg":"ok"}\n', b"password=Sup3rSecret!\n", b"-----BEGIN RSA PRIVATE KEY-----\n",
             b"MIIEowIBAAKCAQEAxyz\n", b"abcdefghijk\n", b"-----END RSA PRIVATE KEY-----\n",
             b'{"msg":"ok again","user":"eyjunk"}\n', b"\xff\xfe not utf-8\n"]
    by_line, found_by_line = [], []
    single = Redactor()
    for number, line in enumerate(lines, 1):
        clean, found = single.redact_line(line, member="m", line_no=number)
        by_line.append(clean)
        found_by_line += found
    blocked = Redactor()
    first, found_first = blocked.redact_lines(lines[:4], member="m", first_line_no=1)  # the key spans two blocks
    second, found_second = blocked.redact_lines(lines[4:], member="m", first_line_no=5)
    assert first + second == by_line
    assert [(r.rule, r.line) for r in found_first + found_second] == [(r.rule, r.line) for r in found_by_line]
    assert b"MIIEow" not in b"".join(first) and b"abcdefghijk" not in b"".join(second)
