"""Serve an ASGI app with uvicorn in a daemon thread on loopback: what the small stand-in servers share."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

START_TIMEOUT_S = 10.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class ThreadedServer:
    """An app serving on a real port until stop()."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket,
                 scheme: str) -> None:
        self._server = server
        self._thread = thread
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port
        self.url = f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; returns once the server thread has ended and the port is free again."""
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"server on {self.url} did not stop within {timeout} s")


def serve_in_thread(app: ASGIApp, name: str, host: str = "127.0.0.1", port: int = 0, *,
                    tls_files: tuple[Path, Path] | None = None, allow_remote: bool = False) -> ThreadedServer:
    """Serve `app` and return once the port accepts connections; `tls_files` (certificate, key) makes it HTTPS."""
    if not is_loopback(host) and not allow_remote:
        raise ValueError(f"refusing to listen on {host}: stand-in servers are test doubles (loopback only)")
    sock = bind(host, port)
    certfile, keyfile = tls_files or (None, None)
    config = uvicorn.Config(app, host=host, port=sock.getsockname()[1], log_config=None, log_level="warning",
                            access_log=False, lifespan="off", timeout_graceful_shutdown=2,
                            ssl_certfile=certfile, ssl_keyfile=keyfile)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"{name} did not start on {host}:{port}")
        time.sleep(0.01)
    return ThreadedServer(server, thread, sock, "https" if tls_files else "http")
