"""Index upkeep of LanceDB tables: the full-text index once a table has rows, scalar (BTREE)
indexes, the IVF_PQ vector index from VECTOR_INDEX_MIN_ROWS rows on, and optimisation (compaction
and folding new rows into the indexes) in a background thread, so fragments and unindexed rows
do not pile up and no caller waits for it.

On a store shared by machines another one may index or compact the same table at once: lance
refuses one of the two commits, which is logged and skipped here (never fatal); the next
upkeep does the work.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

# IVF_PQ built by `maintain`: sqrt(rows) partitions, 4 dimensions per PQ sub-vector
VECTOR_INDEX_DIMS_PER_SUBVECTOR = 4

_index_lock = threading.Lock()
VECTOR_INDEX_MIN_ROWS = 50_000
# columns filtered by equality or IN on every search of their table: messages of a conversation,
# and a recall search's final rows and neighbours (`id IN (...) OR prev_id IN (...)`: 2-3x faster
# with these indexes at 100k messages, docs/benchmarks.md)
SCALAR_INDEX_COLUMNS = ("conversation_id", "id", "prev_id")


def indices(table: Any) -> list[Any]:
    try:
        return list(table.list_indices())
    except Exception:  # noqa: BLE001
        return []


def vector_index_in(present: list[Any]) -> bool:
    return any(getattr(i, "columns", None) == ["vector"] for i in present)


def fts_index_in(present: list[Any], column: str) -> bool:
    return any(getattr(i, "index_type", "") == "FTS" and i.columns == [column] for i in present)


def has_vector_index(table: Any) -> bool:
    return vector_index_in(indices(table))


def has_fts_index(table: Any, column: str) -> bool:
    return fts_index_in(indices(table), column)


def ensure_fts_index(table: Any, column: str = "search_text") -> bool:
    """Create the native full-text index on `column` once the table has rows."""
    if has_fts_index(table, column):
        return False
    if table.count_rows() == 0:
        return False
    from lancedb.index import FTS

    with _index_lock:
        try:
            table.create_index(column, config=FTS(**FTS_SETTINGS), replace=True)
            return True
        except Exception as exc:  # noqa: BLE001 - a concurrent creator or a store issue
            log.info("full-text index on %s not created: %s", column, exc)
            return False


def rebuild_fts_index(table: Any, column: str = "search_text") -> bool:
    """Make the full-text index again over all rows: after a bulk load this is faster and
    takes far less memory than folding the rows in (which compacts every fragment first)."""
    from lancedb.index import FTS

    with _index_lock:
        try:
            table.create_index(column, config=FTS(**FTS_SETTINGS), replace=True)
            return True
        except Exception as exc:  # noqa: BLE001 - the old index still answers, rows flat-searched
            log.info("full-text index on %s not rebuilt: %s", column, exc)
            return False


def fold_into_indexes(table: Any) -> None:
    """Add rows written since an index was made to it (and compact the small fragments)."""
    with _index_lock:
        try:
            table.optimize(cleanup_older_than=timedelta(minutes=1))
        except Exception as exc:  # noqa: BLE001 - unindexed rows are still searched, slower
            log.info("indexes not updated: %s", exc)


FTS_SETTINGS: dict[str, Any] = {
    "base_tokenizer": "simple",
    "language": "English",
    "lower_case": True,
    "stem": True,
    "remove_stop_words": True,
    "ascii_folding": True,
    "memory_limit": 128,  # MB, one builder: a 300k-row code index stays in the memory budget
    "num_workers": 1,
}


def maintain(table: Any, column: str = "search_text", extra_columns: tuple[str, ...] = ()) -> None:
    """Optimise a table: compact fragments, fold new rows into its indexes; build missing ones."""
    created = [ensure_fts_index(table, col) for col in (column, *extra_columns)]
    if any(created):
        return
    rows = table.count_rows()
    present = indices(table)
    for col in SCALAR_INDEX_COLUMNS:
        if col in table.schema.names and not any(i.columns == [col] for i in present):
            try:
                from lancedb.index import BTree

                table.create_index(col, config=BTree())
            except Exception as exc:  # noqa: BLE001
                log.info("scalar index on %s not created: %s", col, exc)
    if rows >= VECTOR_INDEX_MIN_ROWS and not vector_index_in(present):
        try:
            from lancedb.index import IvfPq

            dim = table.schema.field("vector").type.list_size
            subvectors = max(1, dim // VECTOR_INDEX_DIMS_PER_SUBVECTOR)
            # about sqrt(rows) partitions, given as a partition size: LanceDB 0.40 keeps an index
            # made with `num_partitions` only until the next optimize(), which re-partitions it
            # to a few huge partitions (4 at 100k rows: every search then scans nearly all PQ
            # codes); a `target_partition_size` index keeps its partitions (docs/benchmarks.md)
            table.create_index("vector", config=IvfPq(
                distance_type="cosine", target_partition_size=max(256, int(rows**0.5)),
                num_sub_vectors=subvectors))
        except Exception as exc:  # noqa: BLE001
            log.info("vector index not created: %s", exc)
    try:
        table.optimize()
    except Exception as exc:  # noqa: BLE001 - another process optimising at the same time
        log.info("optimize skipped: %s", exc)


WAIT_FOR_FOLDS_BELOW_ROWS = 20_000


def _table_key(table: Any) -> str:
    """A table's dataset location: the same for every handle of it, and never reused by
    another table the way `id()` of a collected handle is (which once gave a new table the
    stale fold count of an old one)."""
    uri = getattr(table, "uri", None)
    return str(uri) if uri else f"id:{id(table)}"


class Maintainer:
    """Runs `maintain` in a daemon thread after enough writes, never on the caller's thread.

    A fold is due after `every_rows` writes, or sooner while the table is small: once it has
    doubled since the last fold. BM25 scores from an index built over a handful of rows rank
    indexed rows below unindexed ones, so young tables are refolded often (1, 2, 4, ... rows).
    """

    def __init__(self, every_rows: int = 500) -> None:
        self.every_rows = every_rows
        self._pending: dict[str, int] = {}
        self._folded: dict[str, int] = {}  # table rows at its last fold
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._done: dict[str, threading.Event] = {}

    def wait_for(self, table: Any, timeout: float = 2.0) -> None:
        """Let a running fold of a small table finish before searching it: a search that runs
        while LanceDB commits the fold can miss a row once. Large tables are never waited for
        (their folds take seconds; the miss is rarer than a stall is costly)."""
        key = _table_key(table)
        with self._lock:
            done = self._done.get(key)
            small = self._folded.get(key, 0) < WAIT_FOR_FOLDS_BELOW_ROWS
        if done is not None and small:
            done.wait(timeout)

    def _due(self, key: str) -> bool:
        pending = self._pending.get(key, 0)
        return pending > 0 and pending >= min(self.every_rows, max(1, self._folded.get(key, 0)))

    def note_writes(self, table: Any, rows: int, column: str = "search_text",
                    extra_columns: tuple[str, ...] = ()) -> None:
        key = _table_key(table)
        with self._lock:
            if key not in self._folded:  # first write of this process: what is folded already
                self._folded[key] = (table.count_rows() - rows) if indices(table) else 0
            self._pending[key] = self._pending.get(key, 0) + rows
            if not self._due(key) or key in self._running:
                return
            self._pending[key] = 0
            self._running.add(key)
            done = self._done[key] = threading.Event()

        def run() -> None:
            try:
                while True:
                    maintain(table, column, extra_columns)
                    folded = table.count_rows()
                    with self._lock:
                        self._folded[key] = folded
                        if not self._due(key):
                            return
                        self._pending[key] = 0
            finally:
                with self._lock:
                    self._running.discard(key)
                done.set()

        threading.Thread(target=run, name="lsp-agent-maintain", daemon=True).start()

    def finish(self, timeout: float = 30.0) -> None:
        """Wait for running upkeep (at exit: lance's threads abort an interpreter that shuts
        down under them)."""
        deadline = time.monotonic() + timeout
        for thread in threading.enumerate():
            if thread.name == "lsp-agent-maintain" and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))


MAINTAINER = Maintainer()
atexit.register(MAINTAINER.finish)
