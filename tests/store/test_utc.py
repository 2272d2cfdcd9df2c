"""Timestamps go in as aware datetimes in any zone and come out as the same instant in UTC, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text

from store.engines import create_store_engine
from store.urls import resolve
from store.utc import UTCDateTime, utc_now

stamps = Table("stamps", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = create_store_engine(resolve(store_url))
    stamps.create(engine)
    yield engine
    engine.dispose()


def test_any_zone_in_utc_out(engine: Engine) -> None:
    kolkata = datetime(2024, 3, 10, 20, 15, 30, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TIME ZONE 'America/New_York'"))  # a session zone other than UTC
        conn.execute(insert(stamps).values(id=1, at=kolkata))
        back = conn.scalar(select(stamps.c.at))

    assert back == kolkata
    assert back.tzinfo is UTC
    assert (back.hour, back.minute) == (14, 45)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(insert(stamps).values(id=1, at=datetime(2024, 1, 1)))


def test_null_stays_null(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(stamps).values(id=1, at=None))
        assert conn.scalar(select(stamps.c.at)) is None


def test_utc_now_is_aware() -> None:
    assert utc_now().tzinfo is UTC
