"""Connection tests for the packet, against servers on loopback."""

import socket
import socketserver
import threading

import pytest

from collectors import Snapshot, SourceResult, SourceStatus
from packet import checks


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for a connection test: greeting, EHLO, NOOP, QUIT."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        for line in self.rfile:
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-test\r\n250 HELP\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def email(port: int, **changes) -> dict:
    return {"EmailSettings": {"SendEmailNotifications": True, "SMTPServer": "127.0.0.1", "SMTPPort": str(port),
                              "ConnectionSecurity": "", **changes}}


async def test_smtp_server_that_answers(smtp_server):
    result = await checks.smtp_from_config(email(smtp_server))
    assert result.ok and "answered 250" in result.detail


async def test_smtp_server_that_is_down_is_a_failed_test():
    result = await checks.smtp_from_config(email(free_port()), timeout_s=2)
    assert not result.ok and "ConnectionRefusedError" in result.detail


async def test_smtp_off_or_unconfigured_is_no_test():
    assert await checks.smtp_from_config({"EmailSettings": {"SendEmailNotifications": False}}) is None
    assert not (await checks.smtp_from_config(email(25, SMTPPort="twenty-five"))).ok


async def test_site_url(simulator):
    assert (await checks.site_url(simulator.url)).ok
    down = await checks.site_url(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    assert not down.ok and "did not answer" in down.detail


def test_configured_sources_double_as_tests():
    snapshot = Snapshot("prod", None, 0, {
        "database": SourceResult("database", SourceStatus.ERROR, error="password authentication failed"),
        "ldap": SourceResult("ldap", SourceStatus.OK, data=1, elapsed_ms=12),
        "saml": SourceResult("saml", SourceStatus.NOT_CONFIGURED, error="not configured"),
    })
    found = {c.name: c for c in checks.from_snapshot(snapshot)}
    assert set(found) == {"Database connection", "LDAP bind"}
    assert not found["Database connection"].ok and found["LDAP bind"].ok
