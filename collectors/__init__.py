"""Collectors: one module per source; `collect_all` builds a Snapshot concurrently.

The runner (and with it every source's client library, pandas among them) is imported on first use only, so the
offline packet reader stays light: `python -m health --packet` needs none of them.
"""

from __future__ import annotations

import importlib
from typing import Any

from collectors.base import Snapshot, SourceResult, SourceStatus

__all__ = ["SOURCES", "Snapshot", "Source", "SourceResult", "SourceStatus", "collect_all"]
_FROM_RUNNER = {"SOURCES", "Source", "collect_all"}


def __getattr__(name: str) -> Any:
    if name in _FROM_RUNNER:
        return getattr(importlib.import_module("collectors.runner"), name)
    raise AttributeError(f"module 'collectors' has no attribute {name!r}")
