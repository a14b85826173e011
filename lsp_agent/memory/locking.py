"""Inter-process locks, so two editor windows on one workspace lose no update.

LanceDB appends are safe under concurrency, but a block edit is read-modify-write: it runs
under an exclusive `fcntl` lock on a file beside the store (or in the agent's home for remote
stores, which protects the processes of one machine).
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lsp_agent.errors import LspAgentError


class LockTimeout(LspAgentError):
    pass


_thread_locks: dict[str, threading.RLock] = {}
_guard = threading.Lock()
_depth = threading.local()


@contextmanager
def file_lock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive lock on `path` across processes and threads of this process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path)
    with _guard:
        tlock = _thread_locks.setdefault(key, threading.RLock())
    deadline = time.monotonic() + timeout
    if not tlock.acquire(timeout=timeout):
        raise LockTimeout(f"Timed out waiting for the memory lock {path}")
    held: dict[str, int] = getattr(_depth, "held", None) or {}
    _depth.held = held
    if held.get(key):  # re-entered by the thread that already holds the file lock
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
            tlock.release()
        return
    try:
        fd = _open_lock_file(path)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LockTimeout(
                            f"Another process holds the memory lock {path} for over {timeout:.0f} s; "
                            "close other lsp-agent processes on this workspace and retry."
                        ) from None
                    time.sleep(0.005)
            held[key] = 1
            try:
                yield
            finally:
                held[key] = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        tlock.release()


def _open_lock_file(path: Path) -> int:
    """The lock file's descriptor. On read-only media an existing lock file is opened for
    reading (flock works on it), so reading a store there still excludes writers."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        try:
            return os.open(path, os.O_RDONLY)
        except OSError:
            raise exc from None
