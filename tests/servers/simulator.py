"""Fixtures for the whole suite: a running Mattermost simulator on loopback.

`simulator` is cheap (one healthy instance per session, faults cleared around each test); use
`simulator_factory` for another scenario or start options, and it is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from simulator import RunningSimulator, Scenario, start_simulator

SimulatorFactory = Callable[..., RunningSimulator]


@pytest.fixture(scope="session")
def simulator_session() -> Iterator[RunningSimulator]:
    sim = start_simulator("healthy")
    yield sim
    sim.stop()


@pytest.fixture
def simulator(simulator_session: RunningSimulator) -> Iterator[RunningSimulator]:
    """The shared healthy simulator, with no faults set when the test starts or after it ends."""
    simulator_session.faults.clear()
    yield simulator_session
    simulator_session.faults.clear()


@pytest.fixture
def simulator_factory() -> Iterator[SimulatorFactory]:
    """`simulator_factory("degraded", latency_ms=50)` starts a dedicated simulator for this test."""
    started: list[RunningSimulator] = []

    def start(scenario: str | Scenario = "healthy", **kwargs: Any) -> RunningSimulator:
        sim = start_simulator(scenario, **kwargs)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
