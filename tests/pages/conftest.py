"""AppTest fixtures: every app run starts from clean caches and an isolated configuration, and a page error the
boundary turned into a sentence still fails the test that did not expect it."""

import logging
from pathlib import Path

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

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
    _pages_only_through_navigation(monkeypatch)
    yield
    st.cache_data.clear()
    st.cache_resource.clear()  # releases (stops) the demo simulators this test started


def _pages_only_through_navigation(monkeypatch) -> None:
    """AppTest forgets before every run that st.navigation is in use and, seeing pages/, runs a page's file without
    app.py; serve.py switches that discovery off for the served app, so the tests' runs go through app.py too."""
    original = PagesManager.__init__

    def without_discovery(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", without_discovery)


class PageFailures(logging.Handler):
    """The failures ui/errors.py logged: a test that expects one takes it with `pop()`."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def pop(self) -> logging.LogRecord:
        assert self.records, "no page failed"
        return self.records.pop(0)


@pytest.fixture(autouse=True)
def page_failures():
    # Before the boundary a failing page left an exception element that `assert not at.exception` caught; now
    # it leaves a sentence, so the log is where an unexpected failure is noticed.
    failures = PageFailures()
    logger = logging.getLogger("mmdash.pages")
    logger.addHandler(failures)
    yield failures
    logger.removeHandler(failures)
    if failures.records:
        formatter = logging.Formatter()
        pytest.fail("a page failed: " + "\n".join(formatter.format(r) for r in failures.records), pytrace=False)
