"""deploy/nginx.conf as nginx reads it (nginx -t, inside a minimal main configuration and with a throwaway
certificate), and the settings Streamlit needs behind a proxy."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mmdash import cli
from tests.deploy.conftest import DEPLOY, tool

SITE = DEPLOY / "nginx.conf"
CERTIFICATE = "/etc/letsencrypt/live/mmdash.example.com/fullchain.pem"
KEY = "/etc/letsencrypt/live/mmdash.example.com/privkey.pem"


def _certificate(folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mmdash.example.com")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return str(folder / "cert.pem"), str(folder / "key.pem")


def test_nginx_accepts_it(tmp_path):
    nginx = tool("nginx", "nginx")
    cert, key = _certificate(tmp_path)
    site = tmp_path / "mmdash.conf"
    site.write_text(SITE.read_text().replace(CERTIFICATE, cert).replace(KEY, key))
    temp_paths = "\n".join(f"    {kind}_temp_path {tmp_path / kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
                    f"http {{\n    access_log off;\n{temp_paths}\n    include {site};\n}}\n")
    tested = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(main), "-e", str(tmp_path / "e.log")],
                            capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0, tested.stderr + (tmp_path / "e.log").read_text()


def _location(text: str, path: str) -> str:
    return re.search(rf"location {re.escape(path)} \{{(.*?)\n    \}}", text, re.S).group(1)


def test_it_proxies_streamlits_websocket_and_says_who_asked():
    text = SITE.read_text()
    assert f"server 127.0.0.1:{cli.DEFAULT_PORT};" in text
    for header in ("Upgrade $http_upgrade", "Connection $mmdash_connection", "Host $host",
                   "X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme",
                   "X-Forwarded-Host $host"):
        assert f"proxy_set_header {header};" in text
    # A location with a proxy_set_header of its own would drop the server's, the upgrade headers among them.
    assert not re.search(r"location [^{]*\{[^}]*proxy_set_header", text)
    stream = _location(text, "/_stcore/stream")
    assert "proxy_read_timeout 86400s;" in stream and "proxy_buffering off;" in stream
    assert "deny all;" in _location(text, "= /metrics")
    assert "listen 443 ssl" in text and "return 301 https://" in text
