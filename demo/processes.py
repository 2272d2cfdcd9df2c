"""A server run as a child process (Prometheus, slapd): on 127.0.0.1 ports found free, started again on new ports
when another process takes one between our probe and the server's bind, ready when `ready` says so, stopped by
its PID. Its output goes to a log file whose last lines say why it did not start."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

START_ATTEMPTS = 3
# How Prometheus ("bind: address already in use") and slapd ("errno=98 (Address already in use)") say it.
PORT_TAKEN = re.compile(r"address already in use", re.IGNORECASE)
POLL_S = 0.03
TAIL_LINES = 12
T = TypeVar("T")
log = logging.getLogger("mmdash.demo")


class ServerError(RuntimeError):
    """A server that did not start: the sentence says which and why, with the last lines of its log."""


def free_ports(count: int = 1) -> tuple[int, ...]:
    """`count` distinct loopback ports that were free a moment ago (all held open together, so none repeats)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return tuple(int(probe.getsockname()[1]) for probe in probes)


def free_port() -> int:
    return free_ports(1)[0]


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ServerProcess:
    """One server process at a time, its output appended to `log`."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.pid: int | None = None
        self.ports: tuple[int, ...] = ()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, argv: Callable[[tuple[int, ...]], Sequence[str]], ready: Callable[[tuple[int, ...]], bool], *,
              ports: int = 1, cwd: Path | None = None, timeout_s: float = 30.0) -> tuple[int, ...]:
        """Run `argv(ports)` until `ready(ports)`; returns the ports. Raises ServerError when it exits for another
        reason than a taken port, when ports stay taken START_ATTEMPTS times, or when it is not ready in time."""
        attempt = 0
        while True:
            attempt += 1
            chosen = free_ports(ports)
            logged_before = self.log.stat().st_size if self.log.exists() else 0
            with self.log.open("ab") as out:
                self._process = subprocess.Popen(list(argv(chosen)), stdout=out, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, cwd=cwd)
            self.pid, self.ports = self._process.pid, chosen
            deadline = time.monotonic() + timeout_s
            while self._process.poll() is None and time.monotonic() < deadline:
                if ready(chosen):
                    return chosen
                time.sleep(POLL_S)
            if self._process.poll() is None:
                self.stop()
                raise ServerError(f"{self.name} was not ready within {timeout_s:g} s; last lines of its log:\n"
                                  f"{self.log_tail()}")
            code = self._process.returncode
            self._process, self.pid = None, None
            if not (PORT_TAKEN.search(self._logged_since(logged_before)) and attempt < START_ATTEMPTS):
                raise ServerError(f"{self.name} exited at start (status {code}); last lines of its log:\n"
                                  f"{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM by PID, SIGKILL when it lingers; safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        self.pid = None

    def log_tail(self, lines: int = TAIL_LINES) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"

    def _logged_since(self, offset: int) -> str:
        try:
            with self.log.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""


def start_each(names: Iterable[str], start_one: Callable[[str], T], what: str
               ) -> tuple[dict[str, T], dict[str, str], Callable[[], None]]:
    """One server per environment, started concurrently: those that started, why the others did not, and how
    to stop the started ones. One environment's server failing leaves the others running."""
    names = list(names)
    started: dict[str, T] = {}
    failed: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        futures = {name: pool.submit(start_one, name) for name in names}
        for name, future in futures.items():
            try:
                started[name] = future.result()
            except Exception as exc:
                log.warning("the demo's %s for %s did not start: %s", what, name, exc)
                failed[name] = str(exc)

    def stop() -> None:
        for name, server in started.items():
            try:
                server.stop()
            except Exception:
                log.exception("stopping the demo's %s for %s failed", what, name)

    return started, failed, stop
