"""The dashboard's own store, on both engines it supports: a SQLite file and a real PostgreSQL server.

`store` runs a test once per engine.
"""

from collections.abc import Iterator

import pytest

from store import Store, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    else:
        opened = open_store(request.getfixturevalue("postgres_db"))
    yield opened
    opened.close()
