"""One demo's hold on a folder of the demo data folder, so two demos at once (the dashboard and a `python -m health
check` beside it) never run two servers on the same files: the second gets a scratch folder of its own, removed
when it stops. The lock is an flock on a file beside the folder, so the folder itself may be wiped and rebuilt,
and a demo that was killed holds nothing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ABANDONED_AFTER_S = 60


@dataclass
class Claim:
    path: Path
    scratch: bool  # True: another demo holds the usual folder, so this one is temporary
    _lock: int

    def release(self) -> None:
        if self._lock < 0:
            return
        if self.scratch:
            shutil.rmtree(self.path, ignore_errors=True)
            Path(f"{self.path}.lock").unlink(missing_ok=True)
        os.close(self._lock)
        self._lock = -1


def _try_lock(path: Path) -> int | None:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def _remove_abandoned_scratch(parent: Path, name: str) -> None:
    """Scratch folders left by demos that were killed: nobody holds their lock any more (a young lock may be one
    whose demo is between creating and locking it)."""
    for lock in parent.glob(f".{name}-*.lock"):
        if time.time() - lock.stat().st_mtime < ABANDONED_AFTER_S:
            continue
        descriptor = _try_lock(lock)
        if descriptor is None:
            continue
        shutil.rmtree(lock.with_suffix(""), ignore_errors=True)
        lock.unlink(missing_ok=True)
        os.close(descriptor)


def claim(parent: Path, name: str) -> Claim:
    """parent/name for this demo alone, or a fresh scratch folder beside it when another demo holds it."""
    parent.mkdir(parents=True, exist_ok=True)
    descriptor = _try_lock(parent / f"{name}.lock")
    if descriptor is not None:
        with contextlib.suppress(OSError):
            _remove_abandoned_scratch(parent, name)
        return Claim(parent / name, False, descriptor)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    descriptor = _try_lock(Path(f"{scratch}.lock"))
    if descriptor is None:  # nobody else knows this fresh name
        raise RuntimeError(f"could not lock {scratch}.lock")
    return Claim(scratch, True, descriptor)
