"""A stand-in Mattermost server for the demo and the tests: REST v4 shapes, auth, scenarios and faults.

It is a test double: product code must never special-case it. It never imports streamlit.
"""

from simulator.model import Scenario
from simulator.scenarios import SCENARIOS, build_scenario
from simulator.server import RunningSimulator, start_simulator

__all__ = ["SCENARIOS", "RunningSimulator", "Scenario", "build_scenario", "start_simulator"]
