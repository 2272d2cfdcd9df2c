"""Collect a slow source in a background thread, so a page shows the last result instead of waiting.

Mattermost's own support packet takes a real server several seconds (it profiles the CPU first): the health
page must not wait for it on every refresh. A BackgroundSource keeps the newest result and starts a new
collection when that result is older than `max_age_s`.
"""

from __future__ import annotations

import threading
import time

from collectors.base import SourceResult
from collectors.runner import PlannedSource, collect_sources, run_async


class BackgroundSource:
    def __init__(self, planned: PlannedSource, *, deadline_s: float, max_age_s: float):
        self._planned = planned
        self._deadline_s = deadline_s
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._result: SourceResult | None = None
        self._finished_at = 0.0
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> SourceResult | None:
        """The newest result (None before the first one); starts a refresh when it is stale."""
        with self._lock:
            stale = time.monotonic() - self._finished_at > self._max_age_s or self._result is None
            if stale and not self.running:
                self._thread = threading.Thread(target=self._collect, daemon=True,
                                                name=f"background-{self._planned.name}")
                self._thread.start()
            return self._result

    def wait(self, timeout_s: float) -> SourceResult | None:
        """Block until the running collection ends (for scripts and tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return self._result

    def _collect(self) -> None:
        result = run_async(collect_sources([self._planned], self._deadline_s))[self._planned.name]
        with self._lock:
            self._result = result
            self._finished_at = time.monotonic()
