"""HTTP clients for the simulator tests, and one long-lived instance of each non-default scenario."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator import RunningSimulator, start_simulator


def client_for(sim: RunningSimulator, token: str | None = None, timeout: float = 5.0) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Plain HTTP on loopback: skipping the CA bundle makes a client ~50 times cheaper to create.
    return httpx.Client(base_url=f"{sim.url}/api/v4", headers=headers, timeout=timeout, verify=False)


@pytest.fixture
def admin(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(simulator, simulator.admin_token) as client:
        yield client


@pytest.fixture
def user(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(simulator, simulator.user_token) as client:
        yield client


@pytest.fixture
def anon(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(simulator) as client:
        yield client


# Read-only instances shared by every test here: tests must not set faults on them.
@pytest.fixture(scope="session")
def degraded() -> Iterator[RunningSimulator]:
    with start_simulator("degraded") as sim:
        yield sim


@pytest.fixture(scope="session")
def large() -> Iterator[RunningSimulator]:
    with start_simulator("large") as sim:
        yield sim
