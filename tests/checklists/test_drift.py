"""Configuration drift between two environments: what differs, what is expected, and that no secret leaks."""

from __future__ import annotations

import copy
import hashlib
import json
import os

import pytest

from checklists.drift import (
    DEFAULT_IGNORED,
    MAX_CONFIG_BYTES,
    ConfigFileError,
    DifferenceKind,
    compare,
    flatten,
    load_config_file,
    parse_config,
    to_frame,
    to_markdown,
)
from packet.redact import MASK, SANITIZED_CONFIG_FIELDS, UNSANITIZED_SECRET_FIELDS
from simulator.sanitize import sanitize_config
from simulator.scenarios import build_scenario
from simulator.server_config import build_config

HEALTHY = build_scenario("healthy")
DEGRADED = build_scenario("degraded")


def by_setting(drift):
    return {d.setting: d for d in drift.differences}


def test_a_config_compared_with_itself_has_no_differences():
    config = build_config(HEALTHY)
    drift = compare(config, copy.deepcopy(config), "staging", "production")
    assert drift.differences == ()
    assert drift.settings_compared > 400
    assert "No differences in" in to_markdown(drift)
    assert to_frame(drift).empty


def test_flatten_gives_dotted_settings_with_lists_whole_and_empty_objects_dropped():
    flat = flatten({"ServiceSettings": {"SiteURL": "https://a", "TrustedProxyIPHeader": ["X-Real-IP"]},
                    "PluginSettings": {"Plugins": {}, "PluginStates": {"com.mattermost.nps": {"Enable": True}}}})
    assert flat == {"ServiceSettings.SiteURL": "https://a", "ServiceSettings.TrustedProxyIPHeader": ["X-Real-IP"],
                    "PluginSettings.PluginStates.com.mattermost.nps.Enable": True}


def test_changed_added_and_removed_settings_are_listed_by_setting():
    left = {"LogSettings": {"ConsoleLevel": "INFO", "EnableFile": True},
            "ServiceSettings": {"TrustedProxyIPHeader": ["X-Forwarded-For", "X-Real-IP"], "ReadTimeout": 300}}
    right = {"LogSettings": {"ConsoleLevel": "DEBUG", "EnableFile": True},
             "ServiceSettings": {"TrustedProxyIPHeader": ["X-Forwarded-For"], "EnableAPIv3": False}}
    drift = compare(left, right, "staging", "production")
    assert [(d.setting, d.kind, d.left_display, d.right_display) for d in drift.differences] == [
        ("LogSettings.ConsoleLevel", DifferenceKind.CHANGED, "INFO", "DEBUG"),
        ("ServiceSettings.EnableAPIv3", DifferenceKind.ONLY_RIGHT, "(not present)", "false"),
        ("ServiceSettings.ReadTimeout", DifferenceKind.ONLY_LEFT, "300", "(not present)"),
        ("ServiceSettings.TrustedProxyIPHeader", DifferenceKind.CHANGED, '["X-Forwarded-For", "X-Real-IP"]',
         '["X-Forwarded-For"]'),
    ]
    assert by_setting(drift)["ServiceSettings.ReadTimeout"].detail == "only in staging"
    assert drift.summary == {"LogSettings": 1, "ServiceSettings": 3}
    assert drift.settings_compared == 5


def test_secrets_are_compared_by_hash_and_only_their_state_is_shown():
    left = {"EmailSettings": {"SMTPPassword": "smtp-Left-Pa55"}, "GitLabSettings": {"Secret": "gitlab-Same-1"},
            "LdapSettings": {"BindPassword": ""}, "OpenIdSettings": {"Secret": "oidc-Only-Left"}}
    right = {"EmailSettings": {"SMTPPassword": "smtp-Right-Pa55"}, "GitLabSettings": {"Secret": "gitlab-Same-1"},
             "LdapSettings": {"BindPassword": "ldap-Only-Right"}, "OpenIdSettings": {"Secret": ""}}
    drift = by_setting(compare(left, right, "staging", "production"))
    assert "GitLabSettings.Secret" not in drift  # the same secret is no difference
    smtp = drift["EmailSettings.SMTPPassword"]
    assert (smtp.kind, smtp.detail, smtp.left_display, smtp.right_display) == (
        DifferenceKind.SECRET_DIFFERS, "different secret", "(secret set)", "(secret set)")
    assert (drift["LdapSettings.BindPassword"].detail, drift["LdapSettings.BindPassword"].left_display) == (
        "set only in production", "(empty)")
    assert drift["OpenIdSettings.Secret"].detail == "set only in staging"


def test_a_secret_masked_by_the_api_cannot_be_compared_even_when_the_other_side_is_known():
    left = {"EmailSettings": {"SMTPPassword": MASK}, "CacheSettings": {"RedisPassword": ""}}
    right = {"EmailSettings": {"SMTPPassword": "smtp-Pa55"}, "CacheSettings": {"RedisPassword": MASK}}
    drift = by_setting(compare(left, right, "production (API)", "production (file)"))
    for setting in ("EmailSettings.SMTPPassword", "CacheSettings.RedisPassword"):
        assert drift[setting].kind is DifferenceKind.SECRET_NOT_COMPARABLE
        assert drift[setting].detail == "masked by Mattermost — cannot compare"
    assert drift["EmailSettings.SMTPPassword"].left_display == "(masked by Mattermost)"


def test_database_hosts_differ_while_the_password_is_the_same():
    left = {"SqlSettings": {"DataSource": "postgres://mmuser:Same-Pa55@db.staging.example:5432/mattermost"}}
    right = {"SqlSettings": {"DataSource": "postgres://mmuser:Same-Pa55@db.prod.example:5432/mattermost"}}
    difference = compare(left, right, "staging", "production").differences[0]
    assert (difference.kind, difference.detail, difference.expected) == (
        DifferenceKind.CHANGED, "changed; credentials: same secret", True)
    assert difference.left_display == "postgres://****:****@db.staging.example:5432/mattermost"
    assert difference.right_display == "postgres://****:****@db.prod.example:5432/mattermost"


def test_same_database_with_another_password_or_user_is_a_secret_difference():
    def dsn(user, password):
        return {"SqlSettings": {"DataSourceReplicas": [f"postgres://{user}:{password}@db-r1.example/mm"]}}
    for right in (dsn("mmuser", "Other-Pa55"), dsn("admin", "Same-Pa55")):
        difference = compare(dsn("mmuser", "Same-Pa55"), right, "staging", "production").differences[0]
        assert (difference.kind, difference.detail) == (DifferenceKind.SECRET_DIFFERS, "different secret")
        assert difference.left_display == '["postgres://****:****@db-r1.example/mm"]'


def test_credentials_added_to_a_url_that_is_not_a_secret_setting():
    left = {"ElasticsearchSettings": {"ConnectionURL": "https://search.example:9200"}}
    right = {"ElasticsearchSettings": {"ConnectionURL": "https://mmsearch:Winter2026!@search.example:9200"}}
    difference = compare(left, right, "staging", "production").differences[0]
    assert difference.detail == "changed; credentials: set only in production"
    assert difference.right_display == "https://****:****@search.example:9200"


def test_a_config_file_against_the_api_view_of_the_same_server():
    raw = build_config(HEALTHY)
    api = sanitize_config(raw, HEALTHY.plugins, partially_redact_data_sources=True)
    drift = by_setting(compare(raw, api, "file", "API", ignore=()))
    # The API re-sorts the DSN's query parameters: that is no change, but its password cannot be checked.
    data_source = drift["SqlSettings.DataSource"]
    assert data_source.kind is DifferenceKind.SECRET_NOT_COMPARABLE
    assert data_source.right_display.startswith("postgres://****:****@db-primary.northwind.example:5432/")
    assert drift["LdapSettings.BindPassword"].kind is DifferenceKind.SECRET_NOT_COMPARABLE
    # Settings of a plugin without a manifest are dropped by the API: they exist only in the file.
    assert drift["PluginSettings.Plugins.com.example.legacy-sso-bridge.clientsecret"].left_display == "(secret set)"
    assert {d.kind for d in drift.values()} <= {DifferenceKind.SECRET_NOT_COMPARABLE, DifferenceKind.ONLY_LEFT}


def test_two_simulated_environments_separate_expected_differences_from_drift():
    drift = compare(build_config(HEALTHY), build_config(DEGRADED), "staging", "production")
    found = by_setting(drift)
    assert found["ServiceSettings.SiteURL"].expected
    assert found["SqlSettings.DataSource"].detail == "changed; credentials: same secret"
    assert not found["LogSettings.ConsoleLevel"].expected
    assert found["LogSettings.ConsoleLevel"] in drift.unexpected
    assert not any(setting in found for setting in DEFAULT_IGNORED)  # generated per server, always different
    markdown = to_markdown(drift)
    drift_part, expected_part = markdown.split("### Expected per environment")
    assert "`LogSettings.ConsoleLevel`" in drift_part and "`ServiceSettings.SiteURL`" in expected_part
    assert "| staging | production |" in markdown


def test_ignore_takes_settings_and_whole_prefixes():
    left = {"PluginSettings": {"Plugins": {"jira": {"secret": "a-Secret-1"}}}, "LogSettings": {"FileLevel": "INFO"}}
    right = {"PluginSettings": {"Plugins": {"jira": {"secret": "b-Secret-2"}}}, "LogSettings": {"FileLevel": "DEBUG"}}
    drift = compare(left, right, "staging", "production", ignore=("PluginSettings.Plugins", "LogSettings.FileLevel"))
    assert drift.differences == ()
    assert drift.ignored == ("PluginSettings.Plugins", "LogSettings.FileLevel")


def test_frame_has_one_column_per_environment():
    drift = compare({"LogSettings": {"ConsoleLevel": "INFO"}}, {"LogSettings": {"ConsoleLevel": "ERROR"}},
                    "staging", "production")
    frame = to_frame(drift)
    assert list(frame.columns) == ["Setting", "Section", "Difference", "staging", "production", "Expected"]
    assert frame.iloc[0].tolist() == ["LogSettings.ConsoleLevel", "LogSettings", "changed", "INFO", "ERROR", False]


def test_markdown_cells_keep_pipes_and_masks_from_breaking_the_table():
    drift = compare({"TeamSettings": {"SiteName": "a|b"}}, {"TeamSettings": {"SiteName": "****_x_"}}, "dev", "qa")
    row = to_markdown(drift).splitlines()[-1]
    assert row == r"| `TeamSettings.SiteName` | changed | `a\|b` | `****_x_` |"


def test_comparing_needs_two_distinct_labels_and_two_objects():
    with pytest.raises(ValueError, match="both configs are labelled 'prod'"):
        compare({}, {}, "prod", "prod")
    with pytest.raises(TypeError, match="the staging config is a list"):
        compare([], {}, "staging", "production")


# ------------------------------------------------------------------------------------------- files

def test_a_config_file_loads_and_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"ServiceSettings": {"SiteURL": "https://a"}}).encode())
    assert load_config_file(path) == {"ServiceSettings": {"SiteURL": "https://a"}}


@pytest.mark.parametrize(("content", "message"), [
    (b'{\n  "ServiceSettings": {\n    "SiteURL": "https://a",\n  }\n}', r"not valid JSON: .* line 4, column 3"),
    (b'{\n"TeamSettings": {"SiteName": "Caf\xe9"}}', r"not UTF-8 text \(byte 0xe9 at line 2, column 34\)"),
    (b'["ServiceSettings"]', r"holds a JSON array, not an object"),
    (b"", r"is empty; export the config again"),
])
def test_unreadable_config_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(ConfigFileError, match=message):
        load_config_file(path)


def test_missing_files_and_folders_are_reported_by_path(tmp_path):
    with pytest.raises(ConfigFileError, match=r"nothere\.json does not exist"):
        load_config_file(tmp_path / "nothere.json")
    with pytest.raises(ConfigFileError, match="is a folder"):
        load_config_file(tmp_path)


def test_uploaded_bytes_are_named_in_errors():
    with pytest.raises(ConfigFileError, match=r"^staging\.json holds a JSON string"):
        parse_config(b'"config"', "staging.json")


DEEP_ARRAYS = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECTS = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize(("content", "message"), [
    (DEEP_ARRAYS, r"^staging\.json nests 100,000 levels deep, and files nested more than 64 levels are not read"),
    (DEEP_OBJECTS, r"nests 100,000 levels deep, .* more than 64 levels"),
    (b"[" * 100_000, r"nests 100,000 levels deep"),  # unbalanced: refused before the parser could say so
    (b'{"SqlSettings": {"MaxIdleConns": ' + b"9" * 5_000_000 + b"}}",
     r"^staging\.json holds a number 5,000,000 digits long, and numbers of more than 4,300 digits are not read"),
    (b'{"a": -' + b"1" * 4_301 + b"}", r"a number 4,301 digits long"),
    (b'{"TeamSettings": {"SiteName": "Caf\xe9"}}', r"not UTF-8 text \(byte 0xe9 at line 1, column 35\)"),
    ('{"TeamSettings": {}}'.encode("utf-16"), r"saved as UTF-16 text .* re-save it as UTF-8"),
    ('{"TeamSettings": {}}'.encode("utf-32"), r"saved as UTF-32 text"),
    (b" " * (MAX_CONFIG_BYTES + 1), r"^staging\.json is larger than 10 MB, the most this page reads"),
    (b"null", r"holds a JSON null, not an object"),
    (b"42", r"holds a JSON number, not an object"),
    (b" \n", r"is empty"),
    (b'{"ServiceSettings": {"SiteURL": "https://\\ud800"}}',
     r"not valid Unicode \(a lone \\uD800-style escape\) in ServiceSettings\.SiteURL"),
])
def test_an_upload_that_is_no_config_gets_a_sentence_saying_what_and_the_limit(content, message):
    with pytest.raises(ConfigFileError, match=message) as refused:
        parse_config(content, "staging.json")
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 300


def test_nesting_up_to_the_limit_and_brackets_inside_strings_still_load_and_compare():
    nested = b'{"PluginSettings": {"Plugins": {"p": ' + b"[" * 61 + b"1" + b"]" * 61 + b"}}}"
    config = parse_config(nested, "staging.json")
    bracketed = parse_config(b'{"TeamSettings": {"SiteName": "' + b"[{" * 50_000 + b'"}}', "production.json")
    drift = compare(config, bracketed, "staging", "production")
    assert {d.setting for d in drift.differences} == {"PluginSettings.Plugins.p", "TeamSettings.SiteName"}
    assert "[{[{" in to_markdown(drift)


def test_an_upload_with_a_utf8_byte_order_mark_and_large_but_legal_numbers_loads():
    content = b"\xef\xbb\xbf" + json.dumps({"SqlSettings": {"MaxIdleConns": 10 ** 4_299}}).encode()
    assert parse_config(content, "config.json")["SqlSettings"]["MaxIdleConns"] == 10 ** 4_299


def test_a_config_file_path_that_is_too_large_or_no_regular_file_is_refused(tmp_path):
    large = tmp_path / "config.json"
    large.write_bytes(b"{" + b" " * MAX_CONFIG_BYTES + b"}")
    with pytest.raises(ConfigFileError, match=r"config\.json is larger than 10 MB"):
        load_config_file(large)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(ConfigFileError, match=r"pipe\.json is not a regular file"):
        load_config_file(fifo)  # reading it would wait for a writer forever


# ------------------------------------------------------------------------------------------- no leaks

_DSN_FIELDS = {"SqlSettings.DataSource", "SqlSettings.DataSourceReplicas", "SqlSettings.DataSourceSearchReplicas",
               "SqlSettings.ReplicaLagSettings.DataSource"}


def _set(config: dict, setting: str, value) -> None:
    *parents, key = setting.split(".")
    for parent in parents:
        config = config.setdefault(parent, {})
    config[key] = value


def _plant_canaries(config: dict, side: str) -> list[str]:
    """Distinct fake secrets in every place a secret lives; returns them so the outputs can be searched."""
    canaries: list[str] = []

    def canary(name: str) -> str:
        canaries.append(f"Canary{side}{name}{len(canaries):02d}zq")
        return canaries[-1]

    for setting in (*SANITIZED_CONFIG_FIELDS, *UNSANITIZED_SECRET_FIELDS):
        if setting not in _DSN_FIELDS:
            _set(config, setting, canary("Field"))
    sql = config["SqlSettings"]
    sql["DataSource"] = f"postgres://{canary('User')}:{canary('Pass')}@db.{side}.example:5432/mattermost"
    sql["DataSourceReplicas"] = [f"{canary('User')}:{canary('Pass')}@tcp(db-r1.{side}.example:3306)/mattermost"]
    sql["DataSourceSearchReplicas"] = [f"host=db-s1.{side}.example user={canary('User')} "
                                       f"password={canary('Pass')} dbname=mattermost"]
    sql["ReplicaLagSettings"] = [{"DataSource": f"postgres://{canary('User')}:{canary('Pass')}@db-r1.{side}.example/mm",
                                  "QueryAbsoluteLag": "select 1", "QueryTimeLag": ""}]
    config["ElasticsearchSettings"]["ConnectionURL"] = f"https://{canary('User')}:{canary('Pass')}@es.example:9200"
    config["PluginSettings"]["Plugins"]["com.example.canary"] = {
        "ClientSecret": canary("Plugin"), "apitoken": canary("Plugin"), "encryptionkey": canary("Plugin"),
        "WebhookSecret": canary("Plugin"), "nested": {"password": canary("Plugin")},
    }
    return canaries


def test_no_secret_or_its_hash_appears_in_any_output():
    left, right = build_config(HEALTHY), build_config(HEALTHY)
    canaries = _plant_canaries(left, "Left") + _plant_canaries(right, "Right")
    drift = compare(left, right, "staging", "production", ignore=())
    found = by_setting(drift)
    # Every planted secret was compared (and found different), so the search below searched real output.
    for setting in (*SANITIZED_CONFIG_FIELDS, *UNSANITIZED_SECRET_FIELDS):
        setting = setting.removesuffix(".DataSource") if "ReplicaLag" in setting else setting  # a list of objects
        assert found[setting].kind in (DifferenceKind.SECRET_DIFFERS, DifferenceKind.CHANGED), setting
    assert found["PluginSettings.Plugins.com.example.canary.nested.password"].detail == "different secret"
    assert found["SqlSettings.DataSource"].right_display == "postgres://****:****@db.Right.example:5432/mattermost"
    outputs = {"repr": repr(drift), "csv": to_frame(drift).to_csv(), "markdown": to_markdown(drift)}
    for canary in canaries:
        for form in (canary, hashlib.sha256(canary.encode()).hexdigest()):
            for name, text in outputs.items():
                assert form not in text, f"{canary} leaked into {name}"
