"""Transport failures become one sentence naming the host and what to check."""

import ssl

import httpx

from collectors.http_errors import describe_transport_error

URL = "https://chat.example.com"


def caused_by(exc: httpx.HTTPError, cause: BaseException) -> httpx.HTTPError:
    exc.__cause__ = cause
    return exc


def test_dns_failure_names_the_host():
    exc = caused_by(httpx.ConnectError("boom"), OSError(-2, "Name or service not known"))
    assert describe_transport_error(exc, "Mattermost", URL, 5) == (
        "The host name 'chat.example.com' could not be resolved (DNS): check the spelling of the Mattermost URL.")


def test_refused_connection():
    text = describe_transport_error(httpx.ConnectError("[Errno 111] Connection refused"), "Mattermost", URL, 5)
    assert text.startswith("Nothing is listening at https://chat.example.com (connection refused)")


def test_certificate_problem_points_at_ca_bundle():
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
    text = describe_transport_error(caused_by(httpx.ConnectError("x"), cause), "Mattermost", URL, 5)
    assert "could not be verified" in text and "ca_bundle" in text


def test_tls_handshake_on_a_plain_http_port():
    cause = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    text = describe_transport_error(caused_by(httpx.ConnectError("x"), cause), "Mattermost", URL, 5)
    assert text.startswith("TLS handshake with https://chat.example.com failed")


def test_timeouts_distinguish_connecting_from_answering():
    assert "Could not connect" in describe_transport_error(httpx.ConnectTimeout("t"), "Mattermost", URL, 2.5)
    text = describe_transport_error(httpx.ReadTimeout("t"), "Mattermost", URL, 2.5)
    assert "did not answer within 2.5 s" in text and "timeout_seconds" in text


def test_other_protocols_and_the_fallback():
    assert "did not speak HTTP" in describe_transport_error(
        httpx.RemoteProtocolError("illegal status line"), "Mattermost", URL, 5)
    assert describe_transport_error(httpx.ConnectError("weird"), "LDAP", URL, 5) == (
        "Could not reach LDAP at https://chat.example.com: weird.")
