"""Start and stop a simulator in-process: uvicorn in a daemon thread with its own event loop."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from simulator.api.posts import post_json
from simulator.app import build_app
from simulator.faults import MAX_HANG_S, Faults
from simulator.ids import random_id
from simulator.messaging import Thread
from simulator.model import Scenario
from simulator.scenarios import build_scenario
from simulator.state import Credentials, SimulatorState
from simulator.threaded_server import ThreadedServer, is_loopback, serve_in_thread

__all__ = ["RunningSimulator", "is_loopback", "start_simulator"]


class RunningSimulator:
    """A simulator serving on a real port. Use as a context manager, or call stop()."""

    def __init__(self, state: SimulatorState, served: ThreadedServer) -> None:
        self._state = state
        self._served = served
        self.host: str = served.host
        self.port: int = served.port
        self.url = served.url

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

    def token_for(self, username: str) -> str:
        """A session token for any scenario account (what POST /users/login would hand out)."""
        account = next((a for a in self._state.scenario.accounts if a.username == username), None)
        if account is None:
            raise KeyError(f"no account {username!r} in scenario {self.scenario!r}")
        token = random_id()
        self._state.sessions.add(token, account)
        return token

    def account_id(self, username: str) -> str:
        return next(a.id for a in self._state.scenario.accounts if a.username == username)

    def mint_trigger_id(self, user_id: str, issued_at_ms: int | None = None) -> str:
        """A trigger id signed with this run's key, as a click or a command would make it; `issued_at_ms`
        backdates it (to test expiry)."""
        return self._state.trigger_ids.generate(user_id, issued_at_ms)[1]

    def ephemeral_for(self, user_id: str) -> list[dict[str, Any]]:
        """The ephemeral posts delivered to a user, newest last (GET /__simulator__/ephemeral?user_id=)."""
        return [post_json(p, Thread()) for p in self._state.messaging.ephemeral_for(user_id)]

    def dialogs_for(self, user_id: str) -> list[dict[str, Any]]:
        """The dialogs opened for a user, newest last (GET /__simulator__/dialogs?user_id=)."""
        return self._state.messaging.dialogs_for(user_id)

    def metrics_url(self, node: str | None = None) -> str:
        """One node's Prometheus metrics listener (a real cluster has one per node, on :8067)."""
        return f"{self.url}/metrics" + (f"?node={node}" if node else "")

    @property
    def running(self) -> bool:
        return self._served.running

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; returns once the server thread has ended and the port is free again."""
        self._state.faults.release_hangs()  # a hung request would otherwise hold the thread until its cap
        self._served.stop(timeout)

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
    served = serve_in_thread(build_app(state), f"mattermost-simulator-{model.name}", host, port,
                             allow_remote=allow_remote)
    return RunningSimulator(state, served)
