"""Every store test that touches a database runs twice: on a SQLite file and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from store import Store, open_store

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'mmdash.sqlite3'}"
    # Looked up lazily so SQLite-only runs (-k sqlite) never start PostgreSQL.
    return str(request.getfixturevalue("postgres_db"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened
