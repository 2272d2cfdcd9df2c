"""AppTest fixtures: every app run starts from clean caches and an isolated configuration."""

from pathlib import Path

import pytest
import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def isolated_app(monkeypatch, tmp_path):
    for name in [n for n in __import__("os").environ if n.startswith("MMDASH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MMDASH_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("MMDASH_SQLITE_PATH", str(tmp_path / "store.sqlite3"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()  # releases (stops) the demo simulators this test started
