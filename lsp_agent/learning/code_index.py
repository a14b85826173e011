"""The codebase index: the workspace's code as chunks in the agent's store, searchable at once.

Indexing is split in two so that search is useful seconds after `init`: `build_index` writes
chunk rows without vectors (full-text search works immediately) and `embed_pending` fills in
vectors afterwards, in cancellable batches. Both are incremental: files are recognised by
content hash (mtime+size first, so an unchanged tree is not even read) and an unchanged tree
writes nothing. `update_paths` re-indexes just the files an editor saved, created or deleted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from lsp_agent.learning import code_rows as R
from lsp_agent.learning import workspace_files as wf
from lsp_agent.learning.code_rows import IndexReport
from lsp_agent.learning.workspace_files import FileEntry, SkippedFile, iter_workspace_files
from lsp_agent.memory.index_upkeep import (
    ensure_fts_index,
    fold_into_indexes,
    has_fts_index,
    rebuild_fts_index,
)
from lsp_agent.memory.store import CODE_INDEX, MemoryStore, sql_str

log = logging.getLogger(__name__)

CHUNKS, FILES = CODE_INDEX  # the store's tables of the code index
Progress = R.Progress

FLUSH_ROWS = 4000  # chunk rows buffered before a write (fewer, larger fragments)
POOL_MIN_FILES = 200  # below this, chunking in-process beats starting worker processes
EMBED_WRITE_ROWS = 512  # vectors buffered before a write...
EMBED_WRITE_SECONDS = 5.0  # ...or this long: a killed embedder loses at most this much work
OPTIMIZE_EVERY_ROWS = 8192  # compact while embedding so fragments do not pile up, but at
OPTIMIZE_TIMES = 4  # most this many times a run: each compaction reads the whole table
OPTIMIZE_EVERY_COMMITS = 50  # editor saves between background compactions
CLEANUP_GRACE = timedelta(minutes=1)  # old versions kept this long for in-flight readers
LOCK_TIMEOUT = 600.0
SKIPPED_META = "code_index_skipped"  # what the last full run left out, by reason (for status)


# -- tables ------------------------------------------------------------------------------------


class _Index:
    """The two tables of one store's code index, opened through the store (which owns them:
    their schemas, their rebuild when the embedder's width changes, and the indexing lock)."""

    def __init__(self, store: MemoryStore, chunks: Any, files: Any) -> None:
        self.store, self.chunks, self.files = store, chunks, files

    def known_files(self, paths: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """code_files rows by path: all of them, or those of `paths`."""
        if paths is None:
            rows = self.files.to_arrow().to_pylist()
        else:
            rows = []
            for group in R.groups(sorted(set(paths)), 500):
                where = "path IN (" + ",".join(sql_str(p) for p in group) + ")"
                rows += self.files.search().where(where).limit(len(group)).to_list()
        return {r["path"]: r for r in rows}

    def write(self, rows: list[dict[str, Any]], files: list[dict[str, Any]],
              drop: Iterable[str]) -> None:
        """Replace the chunks of `drop` (and of the files) by `rows`; record `files`."""
        _commits[self.store] = _commits.get(self.store, 0) + 1
        for group in R.groups(sorted(set(drop)), 500):
            self.chunks.delete("path IN (" + ",".join(sql_str(p) for p in group) + ")")
        if rows:  # made by read_and_chunk, which redacts each file before chunking it
            self.chunks.add_redacted(pa.Table.from_pylist(rows, schema=self.chunks.schema))
        if files:
            data = pa.Table.from_pylist(files, schema=self.files.schema)
            (self.files.merge_insert("path").when_matched_update_all()
             .when_not_matched_insert_all().execute(data))

    def forget(self, paths: Iterable[str]) -> None:
        for group in R.groups(sorted(set(paths)), 500):
            self.files.delete("path IN (" + ",".join(sql_str(p) for p in group) + ")")


# small writes (editor saves) since the last compaction, per store
_commits: weakref.WeakKeyDictionary[MemoryStore, int] = weakref.WeakKeyDictionary()


def open_index(store: MemoryStore, *, create: bool) -> _Index | None:
    """The index tables of `store`, created when `create`; None when there is no index (yet,
    or any more: the store drops it when the embedder's vector width changed)."""
    if not create and not store.has_tables(CHUNKS, FILES):
        return None
    chunks = store.table(CHUNKS, create=create)
    files = store.table(FILES, create=create)
    if chunks is None or files is None:
        return None
    return _Index(store, chunks, files)


def _lock(store: MemoryStore, timeout: float = LOCK_TIMEOUT) -> Any:
    """Indexing has its own lock of the store, so a long build never blocks memory edits."""
    return store.lock("code-index", timeout)


def memory_of(target: Any) -> Any:
    """Accept an AgentSession (has .memory) or an AgentMemory."""
    return getattr(target, "memory", target)


def secret_files_skipped(target: Any) -> int:
    """How many files the last full index run left out for holding secrets (for status)."""
    return int((skipped_files(target).get("reasons") or {}).get(wf.SECRET_REASON, 0))


def skipped_files(target: Any) -> dict[str, Any]:
    """What the last full index run left out: {"reasons": {reason: count}, "examples": [...]}."""
    store = memory_of(target).store
    if not store.has_tables("meta"):
        return {}
    try:
        return dict(json.loads(store.get_meta(SKIPPED_META) or "{}"))
    except ValueError:
        return {}


def code_index_exists(memory: Any) -> bool:
    """True when this workspace's code has been indexed (the tables exist)."""
    return bool(memory_of(memory).store.has_tables(CHUNKS, FILES))


# -- building ----------------------------------------------------------------------------------


def build_index(target: Any, progress: R.Progress | None = None,
                cancel: threading.Event | None = None) -> IndexReport:
    """Bring the index up to date with the workspace: chunk new and changed files, drop removed
    ones, build the full-text index. Vectors are left to `embed_pending`."""
    memory = memory_of(target)
    start = time.perf_counter()
    report = IndexReport()
    notify = R.throttled(progress)
    notify("Scanning workspace files", None)
    with _lock(memory.store):
        idx = open_index(memory.store, create=True)
        assert idx is not None
        known = idx.known_files()
        todo: list[FileEntry] = []
        seen: set[str] = set()
        for entry in iter_workspace_files(memory.workspace):
            if isinstance(entry, SkippedFile):
                report.skipped.append((entry.rel_path, entry.reason))
                continue
            seen.add(entry.rel_path)
            if _same_stat(known.get(entry.rel_path), entry):
                report.files_unchanged += 1
            else:
                todo.append(entry)
        report.files_seen = len(seen)
        removed = [p for p in known if p not in seen]
        if removed:
            idx.write([], [], removed)
            idx.forget(removed)
            report.files_removed = len(removed)
        # source first: on a large tree, search answers about it while the rest is chunked
        todo.sort(key=lambda e: R.category_rank(wf.file_category(e.rel_path, e.language)))
        early = not has_fts_index(idx.chunks, "search_text")
        _index_files(idx, todo, known, report, notify, cancel,
                     on_write=lambda: ensure_fts_index(idx.chunks, "search_text") if early
                     else None)
        if not ensure_fts_index(idx.chunks, "search_text") and report.chunks_added:
            # rows written after the index was made: a bulk load is indexed again whole
            # (faster, and a third less memory than folding them in); a few are folded in
            total = idx.chunks.count_rows()
            if report.chunks_added * 4 >= total:
                _release_freed_memory()  # the bulk load's buffers, before the index build
                rebuild_fts_index(idx.chunks, "search_text")
            else:
                fold_into_indexes(idx.chunks)
        report.chunks_total = idx.chunks.count_rows()
        if not report.cancelled:
            with memory.store.lock():
                memory.store.set_meta(SKIPPED_META, json.dumps(R.skip_summary(
                    report.skipped, redacted=report.redacted_files)))
    report.seconds = round(time.perf_counter() - start, 3)
    notify(f"Indexed {report.files_indexed} files ({report.chunks_added} chunks)", 100, force=True)
    return report


def _index_files(idx: _Index, todo: list[FileEntry], known: dict[str, dict[str, Any]],
                 report: IndexReport, notify: Any, cancel: threading.Event | None,
                 on_write: Callable[[], object] | None = None) -> None:
    """Chunk `todo` (in worker processes when there are many) and write in large batches;
    `on_write` runs after each write (the first makes the full-text index: rows written
    later are searched too, unindexed, until they are folded in)."""
    rows: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    drop: list[str] = []
    jobs = [(str(e.path), e.rel_path, e.language, (known.get(e.rel_path) or {}).get("hash"))
            for e in todo]
    started = time.monotonic()
    for done, result in enumerate(R.chunk_all(jobs, POOL_MIN_FILES), start=1):
        if result.rows is None and result.hash == "":  # vanished or unreadable meanwhile
            report.skipped.append((result.path, result.error))
            if result.path in known:
                drop.append(result.path)
                idx.forget([result.path])
        elif result.rows is None:  # same content: at most remember a new mtime
            report.files_unchanged += 1
            old = known.get(result.path) or {}
            if (old.get("size"), old.get("mtime")) != (result.size, result.mtime):
                files.append(result.file_row())
        else:
            report.files_indexed += 1
            report.redacted_files += result.redacted
            report.chunks_added += len(result.rows)
            rows += result.rows
            files.append(result.file_row())
            if result.path in known:
                drop.append(result.path)
        if len(rows) >= FLUSH_ROWS or done == len(jobs) or (cancel and cancel.is_set()):
            if rows and drop:
                _carry_vectors(idx, rows, drop)
            _embed_inline(idx.store, rows)
            idx.write(rows, files, drop)
            rows, files, drop = [], [], []
            if on_write is not None:
                on_write()
            notify(f"Indexed {done}/{len(jobs)} changed files (source first)"
                   f"{R.eta(done, len(jobs), time.monotonic() - started)}",
                   100 * done // len(jobs))
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break


def _release_freed_memory() -> None:
    """Give memory the allocator keeps after a bulk load back to the system (glibc only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _embed_inline(store: MemoryStore, rows: list[dict[str, Any]]) -> None:
    """With a fast code embedder (static: ~0.5 ms a chunk), vectors are made as the rows are
    written: one pass, no second write of every row, and vectors are there when search is."""
    coder = store.code_embedding
    if not coder.fast or not rows:
        return
    todo = [r for r in rows if r["vector"] is None]
    if not todo:
        return
    vectors = coder.embed_documents([R.embed_text(r) for r in todo])
    name = coder.name
    for row, vec in zip(todo, vectors, strict=True):
        if vec is not None:
            row["vector"], row["embedder"] = vec, name


def _carry_vectors(idx: _Index, rows: list[dict[str, Any]], paths: list[str]) -> None:
    """Give re-chunked code whose text did not change its old vector back, so an edit never
    leaves the rest of the file missing from vector search until it is re-embedded."""
    old: dict[tuple[str, str, str], tuple[Any, str]] = {}  # (path, symbol, context+text)
    for group in R.groups(sorted(set(paths)), 200):
        where = "embedder != '' AND path IN (" + ",".join(sql_str(p) for p in group) + ")"
        query = idx.chunks.search().where(where).select(["path", "symbol", "context", "text",
                                                          "vector", "embedder"])
        for r in query.limit(10_000_000).to_list():
            old[(r["path"], r["symbol"], r["context"] + "\0" + r["text"])] = (r["vector"],
                                                                             r["embedder"])
    if old:
        for row in rows:
            kept = old.get((row["path"], row["symbol"], row["context"] + "\0" + row["text"]))
            if kept is not None:
                row["vector"], row["embedder"] = kept


def _same_stat(old: dict[str, Any] | None, entry: FileEntry) -> bool:
    """The fast pre-check: same size and mtime means same content (hash is the fallback)."""
    return old is not None and old["size"] == entry.size and old["mtime"] == entry.mtime_ns


def update_paths(target: Any, paths: list[Path], *, embed: bool = True) -> dict[str, Any]:
    """Re-index just these files (saved, created, deleted, renamed; directories are rescanned),
    then embed their new chunks. Does nothing before the first `build_index`."""
    memory = memory_of(target)
    root = memory.workspace
    out: dict[str, Any] = {"indexed": 0, "unchanged": 0, "removed": 0, "chunks": 0,
                           "embedded": 0, "skipped": [], "index_seconds": 0.0}
    idx = open_index(memory.store, create=False)
    if idx is None:
        return out
    start = time.perf_counter()
    rels = sorted({r for r in (R.relative(root, Path(p)) for p in paths) if r is not None})
    with _lock(memory.store):
        known = idx.known_files(rels)
        everything: list[dict[str, dict[str, Any]]] = []

        def all_known() -> Iterable[str]:
            if not everything:
                everything.append(idx.known_files())
            return everything[0].keys()

        entries, gone, skipped = R.classify_paths(root, rels, known, all_known)
        out["skipped"] = [{"path": s.rel_path, "reason": s.reason} for s in skipped]
        more = [p for p in (*gone, *(e.rel_path for e in entries)) if p not in known]
        known.update(idx.known_files(more))
        gone = [p for p in gone if p in known]
        if gone:
            idx.write([], [], gone)
            idx.forget(gone)
        # a file named by the editor is hashed even if its stat looks unchanged (two saves
        # within one mtime tick); files found by rescanning a directory get the fast check
        named = set(rels)
        todo = [e for e in entries
                if e.rel_path in named or not _same_stat(known.get(e.rel_path), e)]
        report = IndexReport(files_unchanged=len(entries) - len(todo))
        _index_files(idx, todo, known, report, lambda *a, **k: None, None)
        out.update(indexed=report.files_indexed, unchanged=report.files_unchanged,
                   removed=len(gone), chunks=report.chunks_added)
    out["index_seconds"] = round(time.perf_counter() - start, 4)
    if _commits.get(idx.store, 0) >= OPTIMIZE_EVERY_COMMITS:  # many small saves: compact
        _commits[idx.store] = 0
        threading.Thread(target=_optimize, args=(idx,), name="lsp-agent-code-optimize",
                         daemon=True).start()
    if embed and report.files_indexed:
        t = time.perf_counter()
        changed = [e.rel_path for e in todo]
        where = "path IN (" + ",".join(sql_str(p) for p in changed) + ")"
        out["embedded"] = embed_pending(memory, where=where, optimize=False)
        out["embed_seconds"] = round(time.perf_counter() - t, 4)
    return out


# -- embedding ---------------------------------------------------------------------------------


def embed_pending(memory: Any, progress: R.Progress | None = None,
                  cancel: threading.Event | None = None, batch: int = 64, *,
                  where: str | None = None, optimize: bool = True) -> int:
    """Embed chunks that have no vector (or one from another embedder); returns how many were
    embedded.

    Texts go through the store's code embedder (memory/code_embedding.py). Cancelling keeps
    the batches already written; a run killed midway resumes from the rows still unembedded.
    """
    memory = memory_of(memory)
    store: MemoryStore = memory.store
    coder = store.code_embedding
    if coder.embedder is None:
        return 0
    idx = open_index(store, create=False)
    if idx is None:
        return 0
    name = coder.name
    # rows without a vector have embedder "": no need to read the vector column to find them
    cond = f"embedder != {sql_str(name)}" + (f" AND ({where})" if where else "")
    total = idx.chunks.count_rows(cond)
    if not total:
        return 0
    notify = R.throttled(progress)
    # ids first, rows per group later: a long-lived reader could lose its files to compaction
    # source first, then tests, configuration and docs: search is useful soonest that way
    found = idx.chunks.search().where(cond).select(["id", "category"]).limit(total).to_arrow()
    ids = [i for _, i in sorted(zip(found["category"].to_pylist(), found["id"].to_pylist(),
                                    strict=True), key=lambda ci: R.category_rank(ci[0]))]
    started = written = time.monotonic()
    done = embedded = since_optimize = 0
    pending: list[tuple[str, list[float]]] = []
    for id_group in R.groups(ids, max(batch, 256)):
        where_ids = "id IN (" + ",".join(sql_str(i) for i in id_group) + ")"
        fetched = (idx.chunks.search().where(where_ids)
                   .select(["id", "path", "symbol", "context", "text"]).limit(len(id_group))
                   .to_list())
        rank = {i: n for n, i in enumerate(id_group)}
        fetched.sort(key=lambda r: rank[r["id"]])
        for group in R.groups(fetched, batch):
            vectors = coder.embed_documents([R.embed_text(r) for r in group])
            got = [(r["id"], v) for r, v in zip(group, vectors, strict=True) if v is not None]
            if not got:  # the embedder failed (warning in store.warnings): stop, keep the rest
                log.warning("code embedding stopped: %s", (store.warnings or ["?"])[-1])
                cancel = threading.Event()
                cancel.set()
            pending += got
            done += len(group)
            embedded += len(got)
            if len(pending) >= EMBED_WRITE_ROWS or (
                    pending and time.monotonic() - written > EMBED_WRITE_SECONDS):
                since_optimize += _write_vectors(idx, pending, name)
                pending, written = [], time.monotonic()
            notify(f"Embedding code chunks {done}/{total}"
                   f"{R.eta(done, total, time.monotonic() - started)}", 100 * done // total)
            if cancel is not None and cancel.is_set():
                _write_vectors(idx, pending, name)
                return embedded
        if optimize and since_optimize >= max(OPTIMIZE_EVERY_ROWS, total // OPTIMIZE_TIMES):
            _optimize(idx)
            since_optimize = 0
    _write_vectors(idx, pending, name)
    if optimize:
        _optimize(idx)
    notify(f"Embedded {embedded} code chunks", 100, force=True)
    return embedded


def _write_vectors(idx: _Index, pending: list[tuple[str, list[float]]], name: str) -> int:
    """Set vectors on existing rows only: a row deleted meanwhile is not brought back."""
    if not pending:
        return 0
    schema = pa.schema([idx.chunks.schema.field("id"), idx.chunks.schema.field("vector"),
                        idx.chunks.schema.field("embedder")])
    data = pa.Table.from_pydict({"id": [p[0] for p in pending], "vector": [p[1] for p in pending],
                                 "embedder": [name] * len(pending)}, schema=schema)
    with _lock(idx.store):
        idx.chunks.merge_insert("id").when_matched_update_all().execute(data)
    return len(pending)


def _optimize(idx: _Index) -> None:
    """Compact fragments, fold new rows into the full-text index, drop superseded files."""
    with _lock(idx.store):
        for table in (idx.chunks, idx.files):
            try:
                table.optimize(cleanup_older_than=CLEANUP_GRACE)
            except Exception as exc:  # noqa: BLE001 - maintenance must never fail indexing
                log.info("code index optimize skipped: %s", exc)
        _commits[idx.store] = 0
