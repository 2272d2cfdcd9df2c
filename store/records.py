"""What the store hands back: plain frozen values, no database handles attached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    environment: str | None
    target: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Document:
    kind: str
    key: str
    environment: str
    body: dict[str, Any]
    version: int
    updated_by: str
    updated_at: datetime
