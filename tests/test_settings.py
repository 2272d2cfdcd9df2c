"""Settings: named environments from env vars and secrets.toml, validated with errors that name the setting."""

from pathlib import Path

import pytest

from settings import DEMO_ENVIRONMENTS, SettingsError, env_var_name, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_configured_means_the_demo(tmp_path):
    settings = load_settings({}, tmp_path / "absent.toml")
    assert settings.demo
    assert list(settings.environments) == list(DEMO_ENVIRONMENTS)
    assert settings.default_environment == "production"


def test_environments_from_secrets_toml(tmp_path):
    path = write(tmp_path, """
[mmdash]
default_environment = "staging"
store_url = "postgresql://dash:pw@db.example.com/dash"

[environments.production.mattermost]
url = "https://chat.example.com/"
token = "prod-token"

[environments.production.database]
dsn = "postgresql://mmuser:secret@db:5432/mattermost"

[environments.production.ldap]
url = "ldaps://ldap.example.com"
security = "tls"
base_dn = "dc=example,dc=com"

[environments.staging]
label = "Staging (EU)"
[environments.staging.mattermost]
url = "http://staging.example.com:8065"

[auth]
redirect_uri = "https://dash.example.com/oauth2callback"
""")
    settings = load_settings({}, path)
    assert not settings.demo
    assert settings.oidc_enabled
    assert settings.default_environment == "staging"
    production = settings.environment("production")
    assert production.mattermost.url == "https://chat.example.com"  # trailing slash dropped
    assert production.mattermost.token.get_secret_value() == "prod-token"
    assert "prod-token" not in repr(production)  # secrets never print
    assert production.ldap.security == "tls"
    assert settings.environment("staging").label == "Staging (EU)"


def test_environment_variables_override_the_file_and_add_environments(tmp_path):
    path = write(tmp_path, '[environments.production.mattermost]\nurl = "https://old.example.com"\n')
    environ = {
        "MMDASH_PRODUCTION__MATTERMOST__URL": "https://chat.example.com",
        "MMDASH_PRODUCTION__MATTERMOST__VERIFY_TLS": "false",
        "MMDASH_DEV__MATTERMOST__URL": "http://127.0.0.1:8065",
        "MMDASH_DEV__FILES__LOGS": "/var/log/a.log:/var/log/b.log",
        "MMDASH_REFRESH_SECONDS": "30",
        "MMDASH_E2E_SOMETHING": "not ours",
        "UNRELATED": "x",
    }
    settings = load_settings(environ, path)
    assert settings.environment("production").mattermost.url == "https://chat.example.com"
    assert settings.environment("production").mattermost.verify_tls is False
    assert [str(p) for p in settings.environment("dev").files.logs] == ["/var/log/a.log", "/var/log/b.log"]
    assert settings.refresh_seconds == 30


def test_a_wrong_env_value_names_the_variable(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings({"MMDASH_PRODUCTION__MATTERMOST__URL": "chat.example.com"}, tmp_path / "none.toml")
    [problem] = caught.value.problems
    assert "environments.production.mattermost.url" in problem
    assert "MMDASH_PRODUCTION__MATTERMOST__URL" in problem
    assert "http" in problem


def test_a_misspelt_setting_is_named(tmp_path):
    path = write(tmp_path, '[environments.production.mattermost]\nurl = "https://x.example.com"\ntokn = "t"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings({}, path)
    assert "environments.production.mattermost.tokn" in str(caught.value)
    assert "not a known setting" in str(caught.value)


def test_missing_required_setting_and_bad_number(tmp_path):
    environ = {"MMDASH_PRODUCTION__LDAP__URL": "ldap://ldap", "MMDASH_REFRESH_SECONDS": "often",
               "MMDASH_PRODUCTION__MATTERMOST__URL": "https://x.example.com"}
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, tmp_path / "none.toml")
    text = str(caught.value)
    assert "environments.production.ldap.base_dn (MMDASH_PRODUCTION__LDAP__URL)" not in text
    assert "environments.production.ldap.base_dn" in text and "is required" in text
    assert "refresh_seconds (MMDASH_REFRESH_SECONDS)" in text


def test_malformed_toml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, '[environments.production.mattermost\nurl = "x"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings({}, path)
    assert str(path) in str(caught.value) and "line 1" in str(caught.value)


def test_non_utf8_secrets_file_is_explained(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_bytes(b'[environments.production.mattermost]\nurl = "https://caf\xe9.example.com"\n')
    with pytest.raises(SettingsError, match="not UTF-8"):
        load_settings({}, path)


def test_bad_environment_name_and_unknown_default(tmp_path):
    with pytest.raises(SettingsError, match="environment name"):
        load_settings({}, write(tmp_path, '[environments."Prod Env".mattermost]\nurl = "https://x.example.com"\n'))
    with pytest.raises(SettingsError, match="default_environment"):
        load_settings({"MMDASH_DEFAULT_ENVIRONMENT": "qa", "MMDASH_PROD__MATTERMOST__URL": "https://x.example.com"},
                      tmp_path / "none.toml")


def test_secret_values_are_not_echoed_in_errors(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings({"MMDASH_PROD__DATABASE__DSN": "hunter2-not-a-dsn",
                       "MMDASH_PROD__MATTERMOST__URL": "https://x.example.com"}, tmp_path / "none.toml")
    assert "hunter2" not in str(caught.value)
    assert "MMDASH_PROD__DATABASE__DSN" in str(caught.value)


def test_env_var_name_helper():
    assert env_var_name("eu-prod", "mattermost", "token") == "MMDASH_EU_PROD__MATTERMOST__TOKEN"


def test_fingerprint_changes_with_the_file_and_our_variables_only(tmp_path):
    from settings import settings_fingerprint

    path = write(tmp_path, '[environments.production.mattermost]\nurl = "https://a.example.com"\n')
    environ = {"MMDASH_SECRETS_FILE": str(path)}
    first = settings_fingerprint(environ)
    assert settings_fingerprint({**environ, "HOME": "/elsewhere"}) == first
    assert settings_fingerprint({**environ, "MMDASH_REFRESH_SECONDS": "30"}) != first
    path.write_text('[environments.production.mattermost]\nurl = "https://bb.example.com"\n', encoding="utf-8")
    assert settings_fingerprint(environ) != first


def test_single_sign_on_secrets_are_known_but_never_printed(tmp_path):
    from packet.secrets import known_secrets

    path = write(tmp_path, '[auth]\nredirect_uri = "https://d.example/oauth2callback"\n'
                           'cookie_secret = "c00kie-s3cret"\n'
                           '[auth.okta]\nclient_secret = "okta-cl1ent-s3cret"\nclient_id = "abc"\n')
    settings = load_settings({}, path)
    assert "c00kie-s3cret" not in repr(settings)
    values = set(known_secrets(settings, environ={}).values())
    assert {"c00kie-s3cret", "okta-cl1ent-s3cret"} <= values and "abc" not in values


def test_the_session_key_and_lifetime_come_from_variables_and_a_short_key_is_refused(tmp_path):
    absent = tmp_path / "absent.toml"
    default = load_settings({}, absent)
    assert default.session_key is None and default.session_hours == 12
    settings = load_settings({"MMDASH_SESSION_KEY": "k" * 40, "MMDASH_SESSION_HOURS": "8"}, absent)
    assert settings.session_key.get_secret_value() == "k" * 40 and settings.session_hours == 8
    with pytest.raises(SettingsError) as caught:
        load_settings({"MMDASH_SESSION_KEY": "short-key-value"}, absent)
    assert "session_key (MMDASH_SESSION_KEY): must be at least 32 characters" in str(caught.value)
    assert "short-key-value" not in str(caught.value)
