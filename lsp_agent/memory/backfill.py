"""Vectors written after the fact, off the caller's thread.

The agent loop stores each message at once (durable, found by full text immediately) and the
embedding follows in a daemon thread, so a turn never waits for the embedder. Rows left
without vectors by a crash are picked up again when the store is next opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from lsp_agent.memory.batch_worker import BatchWorker
from lsp_agent.memory.store import MemoryStore

BATCH = 64
MAX_HOLD_SECONDS = 30.0  # a long turn still gets its vectors


class VectorBackfill:
    """Embeds rows of one table whose vector is missing, by id."""

    def __init__(self, store: MemoryStore, table: str) -> None:
        self.store = store
        self.table_name = table
        self._lock = threading.Lock()
        self._holds = 0
        self._held_since = 0.0
        self._worker: BatchWorker[tuple[str, str]] = BatchWorker(
            "lsp-agent-embed-recall", self._embed, what="background embedding",
            batch_size=BATCH, before_batch=self._wait_while_held)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Defer embedding while the agent works (its turn, its tools), for at most
        MAX_HOLD_SECONDS: the embedder would compete with them for the same cores."""
        with self._lock:
            if self._holds == 0:
                self._held_since = time.monotonic()
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1

    def _wait_while_held(self) -> None:
        while self._holds and time.monotonic() - self._held_since < MAX_HOLD_SECONDS:
            time.sleep(0.05)

    def submit(self, items: list[tuple[str, str]]) -> None:
        """Queue (row id, text to embed) pairs; returns at once."""
        self._worker.submit(items)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued row has its vector (tests, benchmarks, shutdown)."""
        return self._worker.drain(timeout)

    def _embed(self, batch: list[tuple[str, str]]) -> None:
        vectors = self.store.embed_documents([text for _id, text in batch])
        name = self.store.embedder_name
        rows = [{"id": row_id, "vector": vec, "embedder": name}
                for (row_id, _text), vec in zip(batch, vectors, strict=True) if vec is not None]
        if not rows:
            return
        schema = pa.schema([("id", pa.string()),
                            ("vector", pa.list_(pa.float32(), self.store.dim)),
                            ("embedder", pa.string())])
        tbl = self.store.table(self.table_name)
        tbl.merge_insert("id").when_matched_update_all().execute(
            pa.Table.from_pylist(rows, schema=schema))

    def resume(self, text_of: Any, limit: int = 50_000) -> int:
        """Queue rows a previous process left without vectors; returns how many."""
        if self.store.embedder is None:
            return 0
        tbl = self.store.table(self.table_name)
        rows = (tbl.search().where("embedder = '' AND vector IS NULL")
                .limit(limit).to_list())
        self.submit([(r["id"], text_of(r)) for r in rows])
        return len(rows)
