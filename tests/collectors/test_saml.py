"""The SAML collector against the stand-in IdP: metadata facts per provider style, and one sentence per failure."""

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import hashes

from collectors import SourceStatus
from collectors.runner import tls_context
from collectors.saml import collect
from collectors.saml_models import provider_type
from settings import SamlSettings
from simulator.saml_idp import RunningIdp, start_saml_idp


@pytest.fixture(scope="module")
def idp() -> Iterator[RunningIdp]:
    server = start_saml_idp()
    yield server
    server.stop()


async def run(url: str):
    # Built like the runner's client: verifying TLS, not following redirects unless the collector asks.
    async with httpx.AsyncClient(verify=tls_context(None, True), timeout=5, follow_redirects=False) as client:
        return await collect(SamlSettings(metadata_url=url), client)


def fingerprint(certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


async def test_okta_style_metadata(idp):
    result = await run(idp.metadata_url("okta"))
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert facts.entity_id == "http://www.okta.com/exk123"
    assert facts.provider_type == "unknown"  # Okta is told by its *.okta.com host name, which loopback is not
    assert facts.sso_bindings == ("HTTP-POST", "HTTP-Redirect")
    assert all(s.location.endswith("/app/acme_mattermost_1/exk123/sso/saml") for s in facts.sso_services)
    [cert] = facts.signing_certificates
    expected = idp.signing_certificate("okta")
    assert cert.sha256_fingerprint == fingerprint(expected)
    assert cert.not_after == expected.not_valid_after_utc
    assert 363 <= cert.days_to_expiry <= 365 and not cert.expired
    assert (cert.key_type, cert.key_size, cert.signature_hash) == ("RSA", 2048, "sha256")
    assert "O=Okta" in cert.subject and cert.self_signed
    assert not facts.metadata_signed and facts.valid_until is None
    assert "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" in facts.name_id_formats
    assert facts.missing == {}


async def test_keycloak_style_metadata_with_a_certificate_expiring_in_ten_days(idp):
    result = await run(idp.metadata_url("keycloak"))
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert facts.provider_type == "Keycloak"
    assert facts.entity_id == idp.url + "/realms/acme"  # found inside Keycloak's EntitiesDescriptor wrapper
    assert set(facts.sso_bindings) == {"HTTP-POST", "HTTP-Redirect", "SOAP", "HTTP-Artifact"}
    [cert] = facts.signing_certificates
    assert 9 <= cert.days_to_expiry <= 10 and not cert.expired
    assert facts.soonest_expiring == cert


async def test_adfs_style_metadata_with_an_expired_certificate_is_a_fact_not_an_error(idp):
    result = await run(idp.metadata_url("adfs"))
    assert result.status is SourceStatus.OK and result.error is None
    facts = result.data
    assert facts.provider_type == "ADFS"
    assert facts.entity_id == "http://adfs.acme.test/adfs/services/trust"
    assert facts.metadata_signed
    [cert] = facts.signing_certificates  # the encryption certificate is not a signing one
    assert cert.sha256_fingerprint == fingerprint(idp.signing_certificate("adfs"))
    assert cert.expired and -31 <= cert.days_to_expiry <= -30
    assert cert.subject == "CN=ADFS Signing - adfs.acme.test"


async def test_shibboleth_style_metadata_with_wrapped_certificate_and_valid_until(idp):
    result = await run(idp.metadata_url("shibboleth"))
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert facts.provider_type == "Shibboleth"
    [cert] = facts.signing_certificates  # a KeyDescriptor without `use` signs too
    assert cert.sha256_fingerprint == fingerprint(idp.signing_certificate("shibboleth"))
    assert timedelta(days=13) < facts.valid_until - datetime.now(UTC) <= timedelta(days=14)
    assert "HTTP-POST-SimpleSign" in facts.sso_bindings


async def test_metadata_without_a_signing_certificate_is_degraded(idp):
    result = await run(idp.metadata_url("simplesamlphp"))
    assert result.status is SourceStatus.DEGRADED
    assert "lists no signing certificate" in result.error and "System Console > SAML 2.0" in result.error
    assert result.data.signing_certificates == () and result.data.sso_bindings == ("HTTP-Redirect",)


async def test_redirects_are_followed_as_mattermost_does(idp):
    result = await run(idp.metadata_url("redirect"))
    assert result.status is SourceStatus.OK, result.error
    assert result.data.entity_id == "http://www.okta.com/exk123"


@pytest.mark.parametrize(("style", "sentence"), [
    ("login-page", "returned a web page instead of SAML metadata"),
    ("oidc-discovery", "did not return XML (application/json;"),
    ("not-metadata", "not SAML metadata (the document is <feed>"),
    ("sp-metadata", "is a service provider's metadata (perhaps Mattermost's own /api/v4/saml/metadata)"),
    ("aggregate", "lists 2 identity providers"),
    ("entity-expansion", "declares a DTD or entities"),
])
async def test_wrong_answers_are_one_sentence(idp, style, sentence):
    result = await run(idp.metadata_url(style))
    assert result.status is SourceStatus.ERROR and result.data is None
    assert sentence in result.error


async def test_http_error_is_one_sentence(idp):
    result = await run(idp.url + "/app/exk999/sso/saml/metadata")
    assert result.status is SourceStatus.ERROR
    assert "has no metadata at" in result.error and "HTTP 404" in result.error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_idp_says_nothing_is_listening():
    result = await run(f"http://127.0.0.1:{free_port()}/realms/acme/protocol/saml/descriptor")
    assert result.status is SourceStatus.ERROR
    assert "Nothing is listening" in result.error and "SAML identity provider" in result.error


async def test_self_signed_tls_certificate_is_a_tls_sentence():
    with start_saml_idp(tls=True) as server:
        result = await run(server.metadata_url("keycloak"))
    assert result.status is SourceStatus.ERROR
    assert "TLS certificate of 127.0.0.1 could not be verified" in result.error


@pytest.mark.parametrize(("url", "provider"), [
    ("https://login.microsoftonline.com/0f1e2d3c/federationmetadata/2007-06/federationmetadata.xml?appid=1a2b",
     "Azure AD"),
    ("https://sts.windows.net/0f1e2d3c/", "Azure AD"),
    ("https://acme.okta.com/app/exk123/sso/saml/metadata", "Okta"),
    ("https://acme.oktapreview.com/app/exk123/sso/saml/metadata", "Okta"),
    ("https://acme.auth0.com/samlp/metadata/AbCdEf", "Auth0"),
    ("https://acme.onelogin.com/saml/metadata/4f2c", "OneLogin"),
    ("https://accounts.google.com/o/saml2?idpid=C01abc", "Google Workspace"),
    ("https://sso.jumpcloud.com/saml2/metadata/mattermost", "JumpCloud"),
    ("https://sso.duo.com/saml2/idp/DIABC/metadata", "Duo"),
    ("https://acme.my.centrify.com/saasManage/DownloadSAMLMetadataForApp?appkey=1", "Centrify"),
    ("https://sso.acme.com/realms/acme/protocol/saml/descriptor", "Keycloak"),
    ("https://adfs.acme.com/FederationMetadata/2007-06/FederationMetadata.xml", "ADFS"),
    ("https://sso.acme.com/adfs/services/trust/mex", "ADFS"),
    ("https://idp.acme.edu/idp/shibboleth", "Shibboleth"),
    ("https://sso.acme.com/saml/metadata", "unknown"),
])
def test_provider_type_follows_mattermosts_table(url, provider):
    assert provider_type(url) == provider
