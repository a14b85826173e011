"""One daemon thread that handles queued items in batches, off the caller's thread.

Writes that can follow a call (vectors of stored messages, reply contexts) are queued here; the
thread starts on demand, exits when idle, and is drained at interpreter exit (lance's threads
abort an interpreter that shuts down while they write).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
EXIT_DRAIN_SECONDS = 10.0

_LIVE: weakref.WeakSet[BatchWorker[Any]] = weakref.WeakSet()


@atexit.register
def _drain_at_exit() -> None:
    for worker in list(_LIVE):
        worker.drain(EXIT_DRAIN_SECONDS)


class BatchWorker(Generic[T]):
    """`handle(batch)` runs in thread `name` for up to `batch_size` queued items at a time.

    `before_batch` runs before each batch (e.g. to wait while the agent is busy); `linger`
    seconds after the first item let more arrive, so they share one write. A failing batch is
    logged with `what` and dropped: the rows it would have improved stay as they are.
    """

    def __init__(self, name: str, handle: Callable[[list[T]], None], *, what: str,
                 batch_size: int = 64, linger: float = 0.0,
                 before_batch: Callable[[], None] | None = None) -> None:
        self.name = name
        self._handle = handle
        self._what = what
        self._batch_size = batch_size
        self._linger = linger
        self._before_batch = before_batch
        self._queue: queue.Queue[T] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _LIVE.add(self)

    def submit(self, items: list[T]) -> None:
        """Queue items; returns at once."""
        if not items:
            return
        for item in items:
            self._queue.put(item)
        with self._lock:  # with _run's exit check: never idle while something is queued
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued item is handled (tests, benchmarks, shutdown)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._idle.set()
                        self._thread = None
                        return
                continue
            if self._before_batch is not None:
                self._before_batch()
            if self._linger:
                time.sleep(self._linger)
            batch = [first]
            while len(batch) < self._batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._handle(batch)
            except Exception:  # noqa: BLE001 - the rows stay searchable as they are
                log.warning("%s failed for %d items", self._what, len(batch), exc_info=True)
            with self._lock:
                if self._queue.empty():
                    self._idle.set()  # drained; the thread still waits a moment for more
