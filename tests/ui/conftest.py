"""What the route tests under tests/ui share: settings read from the environment, as serve.py reads them."""

from __future__ import annotations

import os

import pytest

from ui import web_sessions


@pytest.fixture
def route_environment(monkeypatch, tmp_path, simulator):
    """Only these MMDASH_ variables: production on the simulator, a SQLite store in tmp_path, a fixed session key;
    the routes' store cache starts empty. Tests add their own variables with monkeypatch."""
    for name in [n for n in os.environ if n.startswith("MMDASH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MMDASH_SECRETS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("MMDASH_SQLITE_PATH", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", simulator.url)
    monkeypatch.setenv("MMDASH_SESSION_KEY", "k" * 32)
    monkeypatch.setattr(web_sessions, "_stores", {})
    yield tmp_path / "store.sqlite3"
    for opened in web_sessions._stores.values():
        opened.close()
