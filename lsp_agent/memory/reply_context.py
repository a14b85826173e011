"""Reply context: a message's search text also carries the message that answered it.

A question and its answer are found together: "Where did you go?" is what a later search asks,
"Lisbon, for the conference" is what it wants. Each message is indexed with the messages before
it (recall.py); once its reply is written, the reply's line is added too. Messages written in one
batch get it at once; one written earlier is refreshed in a daemon thread (a partial
`merge_insert` of `search_text`), so appends never wait for it.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref

import pyarrow as pa

from lsp_agent.memory.index_upkeep import MAINTAINER
from lsp_agent.memory.store import MemoryStore

log = logging.getLogger(__name__)
REPLY_CHARS = 300
MARK = "\n(then: "
# refreshes arriving within this time are written as one commit: each commit is a LanceDB
# Update that can pre-empt a concurrent compaction, so fewer is better
LINGER_SECONDS = 0.25


def with_reply(search_text: str, reply_line: str) -> str:
    """`search_text` with `reply_line` as its reply (replacing any reply it had)."""
    head = search_text.split(MARK, 1)[0]
    return f"{head}{MARK}{reply_line[:REPLY_CHARS]})"


_LIVE: weakref.WeakSet[ReplyRefresher] = weakref.WeakSet()


@atexit.register
def _finish_at_exit() -> None:
    """A script that appends and exits must not leave a write running while the interpreter
    shuts down (lance's threads abort it); waits at most 10 s per refresher."""
    for refresher in list(_LIVE):
        refresher.drain(10.0)


class ReplyRefresher:
    """Writes new search texts of stored messages off the caller's thread, batched."""

    def __init__(self, store: MemoryStore, table: str = "messages") -> None:
        self.store = store
        self.table_name = table
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _LIVE.add(self)

    def submit(self, updates: dict[str, str]) -> None:
        """Queue {message id: its new search text}; returns at once."""
        if not updates:
            return
        for item in updates.items():
            self._queue.put(item)
        with self._lock:  # with _run's exit check: never idle while something is queued
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lsp-agent-reply-context",
                                                daemon=True)
                self._thread.start()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued refresh is written (tests, benchmarks, shutdown)."""
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
            time.sleep(LINGER_SECONDS)
            batch = dict([first])
            while True:
                try:
                    key, text = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch[key] = text  # the newest text of a message wins
            try:
                self._write(batch)
            except Exception:  # noqa: BLE001 - search quality only: the message stays found
                log.warning("reply context not written for %d messages", len(batch),
                            exc_info=True)

    def _write(self, batch: dict[str, str]) -> None:
        schema = pa.schema([("id", pa.string()), ("search_text", pa.string())])
        tbl = self.store.table(self.table_name)
        tbl.merge_insert("id").when_matched_update_all().execute(
            pa.table({"id": list(batch), "search_text": list(batch.values())}, schema=schema))
        MAINTAINER.note_writes(tbl, len(batch))
