"""The demo's LDAP directory (OpenLDAP): not built yet (issue 13)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from demo.services import DemoPart, DemoService
from simulator.server import RunningSimulator


def start(folder: Path, simulators: Mapping[str, RunningSimulator]) -> DemoService:
    return DemoService(DemoPart("LDAP directory (OpenLDAP)", False, "not built yet"))
