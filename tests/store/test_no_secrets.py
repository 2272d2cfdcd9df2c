"""The secret guard: what counts as secret-looking, and how a refusal reads."""

from __future__ import annotations

import pytest

from store.no_secrets import looks_secret, reject_secrets


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "DB_PASSWORD",
        "passwd",
        "Passphrase",
        "client_secret",
        "token",
        "AccessToken",
        "api_key",
        "apiKey",
        "API-Key",
        "private_key",
        "PrivateKey",
        "aws_access_key_id",
        "dsn",
        "DSN",
        "DataSource",
        "Authorization",
        "session_cookie",
        "credentials",
        "pwd",
    ],
)
def test_secret_looking_keys(key: str) -> None:
    assert looks_secret(key)


@pytest.mark.parametrize(
    "key",
    ["key", "kind", "author", "ids_name", "monkey", "SiteURL", "environment", "done", "owner"],
)
def test_ordinary_keys(key: str) -> None:
    assert not looks_secret(key)


def test_nested_keys_are_found_and_named() -> None:
    body = {"plan": [{"step": "ldap", "config": {"LdapSettings": {"BindPassword": "x"}}}]}
    with pytest.raises(ValueError) as caught:
        reject_secrets(body, where="body")
    assert "body['plan'][0]['config']['LdapSettings']['BindPassword']" in str(caught.value)
    assert "'x'" not in str(caught.value)  # the refusal names the key, never the value


def test_flags_and_empty_values_cannot_leak_and_are_kept() -> None:
    reject_secrets({"EnableUserAccessTokens": True, "password": None, "token_count": False}, where="details")


def test_urls_with_a_password_are_refused_under_any_key() -> None:
    with pytest.raises(ValueError, match=r"details\['note'\].*URL with a password"):
        reject_secrets({"note": "db is postgres://mm:hunter2@db:5432/mm"}, where="details")
    reject_secrets({"link": "https://mattermost.example.com/admin_console"}, where="details")


def test_nothing_is_fine() -> None:
    reject_secrets(None, where="details")
    reject_secrets({}, where="details")
