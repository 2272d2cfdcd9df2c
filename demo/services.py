"""What one part of the demo is (a server started beside the simulators) and what it hands the environments."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_DIR_VARIABLE = "MMDASH_DEMO_DIR"


@dataclass(frozen=True)
class DemoPart:
    """One line of the demo's own status: what runs, or why not and the one command that adds it."""

    name: str
    running: bool
    detail: str
    add_with: str | None = None


@dataclass
class DemoService:
    """A started part: its status, the settings each environment gets from it (environment name ->
    EnvironmentSettings fields, e.g. {"database": DatabaseSettings(...)}), and how to stop it."""

    part: DemoPart
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: Callable[[], None] = lambda: None


def data_folder() -> Path:
    """Where the demo keeps what outlives a run (the database, Prometheus' history): .demo in the working
    directory, like the store's data/ (the project for `make run`, so `make clean` removes it; never the installed
    package's folder); MMDASH_DEMO_DIR moves it."""
    folder = Path(os.environ.get(DEMO_DIR_VARIABLE) or ".demo").absolute()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
