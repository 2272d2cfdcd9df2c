"""What the store raises: each message is a sentence a person can act on."""

from __future__ import annotations

from datetime import datetime


class StoreError(Exception):
    """The store cannot do what was asked (bad URL, schema from a newer app, ...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or used right now; the message says where and what to check.

    ``detail`` keeps the driver's own words with any password masked; the driver exception itself is not
    chained, so no traceback can leak a connection string.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class ConflictError(StoreError):
    """Someone else changed (or created) the document first; nothing was written."""

    def __init__(
        self,
        *,
        kind: str,
        key: str,
        environment: str,
        expected_version: int | None,
        current_version: int | None,
        changed_by: str | None,
        changed_at: datetime | None,
    ) -> None:
        self.kind = kind
        self.key = key
        self.environment = environment
        self.expected_version = expected_version
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        what = f"{self.kind} '{self.key}' in {self.environment}"
        if self.current_version is None:
            return f"{what} no longer exists (you edited version {self.expected_version}): reload it."
        when = self.changed_at.strftime("%Y-%m-%d %H:%M:%S UTC") if self.changed_at else "an unknown time"
        by = f"{self.changed_by} at {when} (now version {self.current_version})"
        if self.expected_version is None:
            return f"{what} already exists, last saved by {by}: reload it and apply your change there."
        return (
            f"{what} was changed by {by} while you edited version {self.expected_version}: "
            "reload and apply your change again."
        )
