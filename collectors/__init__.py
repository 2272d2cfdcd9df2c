"""Collectors: one module per source; `collect_all` builds a Snapshot concurrently."""

from collectors.base import Snapshot, SourceResult, SourceStatus
from collectors.runner import SOURCES, Source, collect_all

__all__ = ["SOURCES", "Snapshot", "Source", "SourceResult", "SourceStatus", "collect_all"]
