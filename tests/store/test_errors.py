"""Conflict messages tell the person who got there first, when, and what to do."""

from __future__ import annotations

from datetime import UTC, datetime

from store import ConflictError

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def conflict(expected: int | None, current: int | None) -> ConflictError:
    return ConflictError(
        kind="progress",
        key="sso",
        environment="production",
        expected_version=expected,
        current_version=current,
        changed_by="bob" if current else None,
        changed_at=WHEN if current else None,
    )


def test_stale_edit_message() -> None:
    assert str(conflict(3, 4)) == (
        "progress 'sso' in production was changed by bob at 2024-05-06 07:08:09 UTC (now version 4) "
        "while you edited version 3: reload and apply your change again."
    )


def test_create_over_existing_message() -> None:
    assert str(conflict(None, 1)) == (
        "progress 'sso' in production already exists, last saved by bob at 2024-05-06 07:08:09 UTC "
        "(now version 1): reload it and apply your change there."
    )


def test_vanished_document_message() -> None:
    assert str(conflict(2, None)) == "progress 'sso' in production no longer exists (you edited version 2): reload it."
