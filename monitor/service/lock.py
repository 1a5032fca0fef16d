"""One daemon per SQLite file: an advisory lock the kernel releases when the process dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from monitor.errors import MonitorError


class AlreadyRunning(MonitorError):
    """Another daemon holds the lock."""


class InstanceLock:
    """`with InstanceLock(path):` holds an exclusive flock on `path` (created if needed)."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another monitor is already running on this database (pid {holder}, lock {self.path}); "
                "stop it first, or give this one its own [paths] data folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def sqlite_lock_path(database_url: str) -> Path | None:
    """The lock file beside a SQLite database; None for other databases (they share work)."""
    if not database_url.startswith("sqlite") or ":memory:" in database_url:
        return None
    return Path(database_url.split("///", 1)[-1] + ".lock")


def sqlite_guard(database_url: str):
    """The instance lock for a SQLite database, or a do-nothing context for a shared one."""
    from contextlib import nullcontext

    path = sqlite_lock_path(database_url)
    return InstanceLock(path) if path is not None else nullcontext()
