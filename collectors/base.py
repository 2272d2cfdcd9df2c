"""The collector contract: every source answers with a SourceResult, errors are values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class SourceStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # reached, but some facts are missing (each one says why)
    ERROR = "error"
    NOT_CONFIGURED = "not_configured"
    FORBIDDEN = "forbidden"  # reached, but the credentials lack the rights for the full picture


@dataclass(frozen=True)
class SourceResult:
    source: str
    status: SourceStatus
    data: Any = None
    error: str | None = None  # one sentence a person can act on
    elapsed_ms: float = 0.0
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def usable(self) -> bool:
        """True when `data` holds facts worth showing, even if the source also reports an error."""
        return self.data is not None


@dataclass(frozen=True)
class Snapshot:
    """Everything collected for one environment in one pass."""

    environment: str
    collected_at: datetime
    elapsed_ms: float
    sources: dict[str, SourceResult]

    def data(self, source: str) -> Any:
        result = self.sources.get(source)
        return result.data if result is not None and result.usable else None
