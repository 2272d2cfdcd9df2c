"""Start and stop a simulator in-process: uvicorn in a daemon thread with its own event loop."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from types import TracebackType

import uvicorn

from simulator.app import build_app
from simulator.faults import MAX_HANG_S, Faults
from simulator.model import Scenario
from simulator.scenarios import build_scenario
from simulator.state import Credentials, SimulatorState

START_TIMEOUT_S = 10.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RunningSimulator:
    """A simulator serving on a real port. Use as a context manager, or call stop()."""

    def __init__(self, state: SimulatorState, server: uvicorn.Server, thread: threading.Thread,
                 sock: socket.socket) -> None:
        self._state = state
        self._server = server
        self._thread = thread
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def scenario(self) -> str:
        return self._state.scenario.name

    @property
    def model(self) -> Scenario:
        """The scenario's own data, to compare with what the API answers."""
        return self._state.scenario

    @property
    def faults(self) -> Faults:
        return self._state.faults

    @property
    def credentials(self) -> Credentials:
        return self._state.credentials

    @property
    def admin_token(self) -> str:
        return self._state.credentials.admin_token

    @property
    def user_token(self) -> str:
        return self._state.credentials.user_token

    @property
    def admin_username(self) -> str:
        return self._state.credentials.admin_username

    @property
    def admin_password(self) -> str:
        return self._state.credentials.admin_password

    @property
    def admin_email(self) -> str:
        return self._state.credentials.admin_email

    @property
    def user_username(self) -> str:
        return self._state.credentials.user_username

    @property
    def user_password(self) -> str:
        return self._state.credentials.user_password

    @property
    def user_email(self) -> str:
        return self._state.credentials.user_email

    def metrics_url(self, node: str | None = None) -> str:
        """One node's Prometheus metrics listener (a real cluster has one per node, on :8067)."""
        return f"{self.url}/metrics" + (f"?node={node}" if node else "")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; returns once the server thread has ended and the port is free again."""
        self._state.faults.release_hangs()
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"simulator on {self.url} did not stop within {timeout} s")

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSimulator(scenario={self.scenario!r}, url={self.url!r})"


def start_simulator(scenario: str | Scenario = "healthy", host: str = "127.0.0.1", port: int = 0, *,
                    latency_ms: int = 0, hang_cap_s: float = MAX_HANG_S,
                    allow_remote: bool = False) -> RunningSimulator:
    """Serve `scenario` (a name from SCENARIOS, or a Scenario built and adjusted by the caller) and return
    once the port accepts connections. Port 0 picks a free port; `latency_ms` delays every API answer."""
    if not allow_remote and not is_loopback(host):
        raise ValueError(f"refusing to listen on {host}: the simulator is a test double (loopback only)")
    model = build_scenario(scenario) if isinstance(scenario, str) else scenario
    state = SimulatorState(model, Faults(base_latency_ms=latency_ms, hang_cap_s=hang_cap_s))
    sock = _bind(host, port)
    config = uvicorn.Config(build_app(state), host=host, port=sock.getsockname()[1], log_config=None,
                            log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"mattermost-simulator-{model.name}")
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"simulator did not start on {host}:{port}")
        time.sleep(0.01)
    return RunningSimulator(state, server, thread, sock)


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock
