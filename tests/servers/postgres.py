"""A real PostgreSQL server for the tests: one per session, on 127.0.0.1 only, stopped by its PID at the end.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the ``postgres`` OS user
and every server command goes through ``runuser``. The superuser has a password (scram-sha-256) so tests can
check what a wrong password looks like.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found: install the Debian package 'postgresql' "
    "(apt-get install -y --no-install-recommends postgresql) or put its pg_config on PATH."
)
SUPERUSER = "mmdash_test"
START_ATTEMPTS = 3  # a free port can be taken by someone else between our probe and the server's bind
COMMAND_TIMEOUT_S = 60
SHM_NEEDED_BYTES = 1 << 30  # a fresh cluster is ~40 MB; leave plenty for the databases tests create


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: what pg_config says, else the newest Debian install."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
    # pg_config may come from libpq-dev alone (no server), so the Debian layout is checked as well.
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True)
    candidates.extend(Path(p) for p in debian)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _major_version(bindir: str) -> int:
    name = Path(bindir).parent.name
    return int(name) if name.isdigit() else 0


def scratch_parent() -> str | None:
    """RAM-backed /dev/shm when it has room: CREATE DATABASE there takes ~15 ms instead of ~250 ms on disk."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > SHM_NEEDED_BYTES:
        return shm
    return None  # the usual temp dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A throwaway cluster in a temp dir; ``start()`` then ``stop()`` (which also removes the files)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = SUPERUSER
        self.password = secrets.token_urlsafe(18)
        self.host = "127.0.0.1"
        self.port = 0
        self.pid: int | None = None
        self._root = Path(tempfile.mkdtemp(prefix="mmdash-pg-", dir=scratch_parent()))
        self._data = self._root / "data"
        self._sockets = self._root / "sock"
        self._log = self._root / "server.log"
        self._owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._prepare_root()
        self._initdb()
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = free_port()
            if self._pg_ctl_start():
                self.pid = int((self._data / "postmaster.pid").read_text().splitlines()[0])
                return
            if attempt == START_ATTEMPTS:
                raise RuntimeError(f"PostgreSQL did not start; last lines of its log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (fast shutdown, then SIGKILL by PID) and delete its files; safe to call twice."""
        if self.pid is not None:
            stopped = self._run([self._bin("pg_ctl"), "-D", str(self._data), "stop", "-m", "fast", "-w", "-t", "10"])
            if stopped.returncode != 0 and _is_postgres(self.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                _wait_gone(self.pid, timeout_s=5)
            self.pid = None
        shutil.rmtree(self._root, ignore_errors=True)

    # -- what tests use --------------------------------------------------------------------------------------

    @property
    def dsn(self) -> str:
        """libpq URI for the maintenance database, for psycopg directly."""
        return f"postgresql://{quote(self.user)}:{quote(self.password)}@{self.host}:{self.port}/postgres"

    def url(self, dbname: str, *, user: str | None = None, password: str | None = None) -> str:
        """SQLAlchemy URL for ``dbname`` as the superuser; ``user``/``password`` override it (e.g. a wrong one)."""
        login = self.user if user is None else user
        secret = self.password if password is None else password
        return f"postgresql+psycopg://{quote(login)}:{quote(secret)}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        # FILE_COPY is the quicker strategy for a tiny template when fsync is off.
        self._admin(sql.SQL("CREATE DATABASE {} STRATEGY = FILE_COPY").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a test left open, so one leaky test cannot break the next.
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- internals -------------------------------------------------------------------------------------------

    def _prepare_root(self) -> None:
        self._sockets.mkdir()
        pwfile = self._root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._owner is not None:
            for path in (self._root, self._sockets, pwfile):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        self._root.chmod(0o700)

    def _initdb(self) -> None:
        result = self._run(
            [
                self._bin("initdb"),
                f"--pgdata={self._data}",
                f"--username={self.user}",
                "--auth=scram-sha-256",
                f"--pwfile={self._root / 'pwfile'}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # throwaway cluster: durability buys nothing and costs seconds
            ]
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")

    def _pg_ctl_start(self) -> bool:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-k {self._sockets}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        result = self._run(
            [self._bin("pg_ctl"), "-D", str(self._data), "-l", str(self._log), "-w", "-t", "30", "-o", options, "start"]
        )
        return result.returncode == 0

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        if self._owner is not None:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        # stdin from /dev/null: pg_ctl's postmaster must not hold on to anything of ours.
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False
        )


def _is_postgres(pid: int) -> bool:
    """Whether ``pid`` is still a live postgres process (not a zombie, not a reused PID)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # Format: "PID (COMM) STATE ..."; our parent is gone, so a zombie waits for PID 1, which may reap late.
    name, _, rest = stat.partition("(")[2].rpartition(")")
    return name == "postgres" and rest.split()[0] != "Z"


def _wait_gone(pid: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _is_postgres(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def missing_server(reason: str) -> NoReturn:
    # In CI a missing server is a broken setup, never a reason to pass quietly.
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    bindir = find_bindir()
    if bindir is None:
        missing_server(INSTALL_HINT)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing_server("Running as root needs the 'postgres' OS user to own the test cluster: " + INSTALL_HINT)
    server = PostgresServer(bindir)
    # Registered before start() so a half-started server is cleaned up too.
    request.addfinalizer(server.stop)
    server.start()
    return server


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test, as a ``postgresql+psycopg://`` URL."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
