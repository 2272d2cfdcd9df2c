"""Store URLs: the spellings people paste all work, and what we show never carries the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import StoreError
from store.urls import DEFAULT_SQLITE_PATH, resolve

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://mm:{SECRET}@db.example:5433/mmdash",
        f"postgres://mm:{SECRET}@db.example:5433/mmdash",
        f"postgresql+psycopg://mm:{SECRET}@db.example:5433/mmdash",
    ],
)
def test_postgres_spellings_all_use_psycopg3(url: str) -> None:
    location = resolve(url)

    assert location.url.drivername == "postgresql+psycopg"
    assert (location.host, location.port, location.database, location.user) == ("db.example", 5433, "mmdash", "mm")
    assert location.password == SECRET
    for shown in (location.describe(), str(location), repr(location)):
        assert SECRET not in shown
        assert "db.example:5433/mmdash" in shown


def test_postgres_defaults_to_the_standard_port() -> None:
    assert resolve("postgresql://mm@db/mmdash").port == 5432


def test_postgres_needs_a_database_name() -> None:
    with pytest.raises(StoreError, match="names no database") as caught:
        resolve(f"postgresql://mm:{SECRET}@db.example")
    assert SECRET not in str(caught.value)


def test_no_url_means_the_default_sqlite_file_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    location = resolve(None)
    assert location.is_sqlite
    assert location.sqlite_path == tmp_path / DEFAULT_SQLITE_PATH


def test_an_explicit_sqlite_path_wins_over_the_default(tmp_path: Path) -> None:
    assert resolve(None, tmp_path / "x.db").sqlite_path == tmp_path / "x.db"


def test_relative_sqlite_urls_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve("sqlite:///state/store.db").sqlite_path == tmp_path / "state" / "store.db"
    assert resolve(f"sqlite:///{tmp_path}/a.db").sqlite_path == tmp_path / "a.db"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u:p@h/db", "not supported"),
        ("sqlite://", "needs a file"),
        ("sqlite:///:memory:", "needs a file"),
        ("not a url", "not a URL"),
    ],
)
def test_unusable_urls_are_refused_with_what_to_use(url: str, says: str) -> None:
    with pytest.raises(StoreError, match=says) as caught:
        resolve(url)
    assert "postgresql://" in str(caught.value) or "sqlite:///" in str(caught.value)


def test_mask_hides_the_password_in_driver_text() -> None:
    location = resolve(f"postgresql://mm:{SECRET}@db/mmdash")
    assert location.mask(f"could not use {SECRET} here") == "could not use *** here"
