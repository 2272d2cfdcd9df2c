"""Starting and stopping simulators in-process."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from simulator import SCENARIOS, RunningSimulator, start_simulator
from simulator.server import is_loopback
from tests.servers.simulator import SimulatorFactory

REPO = Path(__file__).resolve().parents[2]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_port_zero_picks_a_free_port_and_stop_releases_it() -> None:
    sim = start_simulator()
    assert sim.url == f"http://127.0.0.1:{sim.port}" and sim.port > 0
    assert httpx.get(f"{sim.url}/api/v4/system/ping").status_code == 200
    assert not _port_is_free(sim.port)
    sim.stop()
    assert not sim.running
    assert _port_is_free(sim.port)


def test_context_manager_and_explicit_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with start_simulator("degraded", port=port) as sim:
        assert sim.port == port and sim.scenario == "degraded"
        assert sim.model.name == "degraded"
    assert _port_is_free(port)


def test_busy_port_is_an_error(simulator: RunningSimulator) -> None:
    with pytest.raises(OSError):
        start_simulator(port=simulator.port)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_simulator(host=host)


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1")


def test_several_scenarios_side_by_side(simulator_factory: SimulatorFactory) -> None:
    sims = [simulator_factory(name) for name in SCENARIOS]
    assert len({s.port for s in sims}) == len(SCENARIOS)
    counts = [httpx.get(f"{s.url}/api/v4/users/stats", headers={"Authorization": f"Bearer {s.user_token}"}).json()
              for s in sims]
    assert [c["total_users_count"] for c in counts] == [s.model.usage.active_users + s.model.bot_accounts
                                                         for s in sims]


def test_credentials_exposed(simulator: RunningSimulator) -> None:
    assert simulator.admin_username == simulator.model.admin.username
    assert simulator.admin_email == simulator.model.admin.email
    assert simulator.user_username == simulator.model.user.username
    assert len(simulator.admin_token) >= 30 and simulator.admin_password


def test_never_imports_streamlit() -> None:
    code = "import sys, simulator, simulator.__main__; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=30).returncode == 0
