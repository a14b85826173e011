"""The anchors table: which memories are about which code, kept in the store beside them.

Hover and code lens ask for one file's anchors on every request, so the rows live in memory,
grouped by path, and are read again only when the table's version moved (another process,
e.g. `lsp-agent remember --at`, wrote), checked at most once a second. Writes go to the table
first, then to the cache, under the store's lock.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable

import pyarrow as pa

from lsp_agent.memory import schema as S
from lsp_agent.memory.commits import retrying
from lsp_agent.memory.schema import Anchor, utcnow
from lsp_agent.memory.store import MemoryStore, sql_str

#: the condition of an automatic save's row update (see `save`)
NOT_OVER_FORGOTTEN = "target.state != 'forgotten' OR source.state = 'forgotten'"
#: States shown in the editor; "forgotten" anchors stay in the table, out of sight.
LIVE = frozenset({"ok", "changed", "lost"})
COMPACT_EVERY = 50  # saves between compactions of the anchors table
RECHECK_SECONDS = 1.0


class AnchorTable:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._by_path: dict[str, list[Anchor]] | None = None
        self._path_of: dict[str, str] = {}
        self._commits = 0
        self._version: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _table(self) -> object:
        return self.store.table("anchors")

    def _load(self) -> dict[str, list[Anchor]]:
        with self._lock:
            now = time.monotonic()
            if self._by_path is not None and now - self._checked < RECHECK_SECONDS:
                return self._by_path
            table = self.store.table("anchors", create=False)  # reading never creates it
            if table is None:
                self._by_path, self._version, self._checked = {}, None, now
                self._path_of = {}
                return self._by_path
            version = table.version
            self._checked = now
            if self._by_path is not None and version == self._version:
                return self._by_path
            rows = table.search().limit(10_000_000).to_list() if table.count_rows() else []
            by_path: dict[str, list[Anchor]] = {}
            for row in rows:
                anchor = Anchor(**row)
                by_path.setdefault(anchor.path, []).append(anchor)
            for anchors in by_path.values():
                anchors.sort(key=lambda a: (a.start_line, a.created_at))
            self._by_path, self._version = by_path, version
            self._path_of = {a.id: a.path for anchors in by_path.values() for a in anchors}
            return by_path

    def for_path(self, path: str, *, live: bool = True) -> list[Anchor]:
        anchors = self._load().get(path, [])
        return [a for a in anchors if a.state in LIVE] if live else list(anchors)

    def all(self, *, live: bool = True) -> list[Anchor]:
        return [a for anchors in self._load().values() for a in anchors
                if not live or a.state in LIVE]

    def paths(self) -> list[str]:
        return [p for p, anchors in self._load().items() if any(a.state in LIVE for a in anchors)]

    def get(self, anchor_id: str) -> Anchor | None:
        return next((a for a in self.all(live=False) if a.id == anchor_id), None)

    def for_memory(self, kind: str, memory_id: str) -> list[Anchor]:
        return [a for a in self.all() if a.memory_kind == kind and a.memory_id == memory_id]

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex[:12]

    def save(self, anchors: Iterable[Anchor], *, redacted: bool = False,
             automatic: bool = False) -> None:
        """Insert or replace these anchors (by id), in one commit. `redacted`: their text is
        as read from the store (moved or judged again), so the secret scan is skipped.
        `automatic` (following the code, not a person's choice): never over an anchor that
        someone forgot meanwhile, maybe on another machine, unless it moves a forgotten one."""
        rows = [a.model_copy(update={"updated_at": utcnow()}) for a in anchors]
        if not rows:
            return
        data = pa.Table.from_pylist([r.model_dump() for r in rows], schema=S.ANCHORS)
        with self.store.lock():
            table = self.store.table("anchors")
            known = self._version
            writer = getattr(table, "inner", table) if redacted else table
            # whole rows by their id (made here, unique): a commit that races another is
            # simply tried again; only a person's forget is guarded against the code's moves
            result = retrying(lambda: writer.merge_insert("id").when_matched_update_all(
                where=NOT_OVER_FORGOTTEN if automatic else None)
                .when_not_matched_insert_all().execute(data), "save the anchors")
            written = (getattr(result, "num_updated_rows", len(rows))
                       + getattr(result, "num_inserted_rows", 0))
            if written < len(rows):  # some were forgotten meanwhile: read them again
                self._invalidate()
            else:
                self._update_cache(rows, table.version, known)
        self._commits += 1
        if self._commits % COMPACT_EVERY == 0:
            threading.Thread(target=self._compact, name="lsp-agent-anchors-compact",
                             daemon=True).start()

    def _compact(self) -> None:
        """Fold the small commits of single-anchor saves (reads slow down with each one)."""
        try:
            with self.store.lock():
                table = self.store.table("anchors")
                known = self._version
                table.optimize()
                with self._lock:  # the rows are the same: keep the cache
                    if self._version == known and self._by_path is not None:
                        self._version = table.version
        except Exception:  # noqa: BLE001 - upkeep only: the next save tries again
            logging.getLogger(__name__).info("compacting anchors failed", exc_info=True)

    def delete_memory(self, kind: str, memory_id: str) -> None:
        with self.store.lock():
            self.store.table("anchors").delete(
                f"memory_kind = {sql_str(kind)} AND memory_id = {sql_str(memory_id)}")
            self._invalidate()

    def _update_cache(self, rows: list[Anchor], version: int, known: int | None) -> None:
        """Our own write: patch the cache instead of reading 10,000 rows again (only when
        the cache was current before it; else the next read reloads)."""
        with self._lock:
            if self._by_path is None or known is None or version != known + 1:
                self._by_path, self._version = None, None
                return
            touched: set[str] = set()
            for row in rows:
                old = self._path_of.get(row.id)
                if old is not None:
                    self._by_path[old] = [a for a in self._by_path[old] if a.id != row.id]
                self._by_path.setdefault(row.path, []).append(row)
                self._path_of[row.id] = row.path
                touched.add(row.path)
            for path in touched:
                self._by_path[path].sort(key=lambda a: (a.start_line, a.created_at))
            self._version = version

    def _invalidate(self) -> None:
        with self._lock:
            self._by_path, self._version = None, None
