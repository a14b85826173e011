"""The agent's store: one LanceDB database holding blocks, versions, conversations, messages,
archival passages, the embedding cache and the code index.

The store is the source of truth. It opens lazily (lancedb is imported on first use, never at
server start), refuses to touch a store it cannot read, and migrates old schemas on open.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lsp_agent.errors import LspAgentError
from lsp_agent.memory import schema as S
from lsp_agent.memory.code_embedding import DEFAULT_CODE_SPEC, CodeEmbedding, load_embedder
from lsp_agent.memory.commits import retrying
from lsp_agent.memory.locking import file_lock
from lsp_agent.memory.redacting_table import guard
from lsp_agent.paths import data_home, is_local_uri, local_path

log = logging.getLogger(__name__)

TABLES = ("meta", "blocks", "block_versions", "conversations", "messages", "archival")
CODE_INDEX = ("code_chunks", "code_files")
# Tables whose rows can be made again (from the workspace, or by embedding again), in groups
# that are only meaningful together: when one of them does not have the columns or the vector
# width this store would create it with (the embedder changed), the group is dropped and
# created empty, to be rebuilt. Tables of memories (messages, archival) are never dropped.
REBUILDABLE: dict[str, tuple[str, ...]] = {
    "code_chunks": CODE_INDEX, "code_files": CODE_INDEX, "embedding_cache": ("embedding_cache",),
}


#: how stale a read of a store in a bucket may be: one listing of a table's versions serves
#: every read of one operation (an edit made 21 listings with 0: docs/benchmarks.md)
REMOTE_READ_CONSISTENCY = timedelta(milliseconds=100)


class StoreError(LspAgentError):
    """The store cannot be opened or read. The message says what to do; nothing was changed."""


class MemoryStore:
    """A LanceDB database for one agent (or the user's shared blocks)."""

    def __init__(self, uri: str, *, embedder_spec: str = "default",
                 expects_meta: bool = True, code_embedder_spec: str = DEFAULT_CODE_SPEC,
                 storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri
        self.storage_options = storage_options or {}  # LanceDB's, e.g. network timeouts
        self.embedder_spec = embedder_spec
        self.code_embedding = CodeEmbedding(self, code_embedder_spec)
        self.expects_meta = expects_meta  # False: the shared store (blocks were made without)
        self.warnings: list[str] = []
        #: table -> what is wrong with it, found on open; non-empty: read-only (memory/damage.py)
        self.damage: dict[str, str] = {}
        self._db: Any = None
        self._tables: dict[str, Any] = {}
        self._embedder: Any = None
        self._embedder_loaded = False
        self._cache: dict[str, np.ndarray] = {}
        self._open_lock = threading.RLock()
        if is_local_uri(uri):
            path = local_path(uri)
            if path.exists() and not path.is_dir():
                raise StoreError(
                    f"The memory store path {path} is a file, not a LanceDB folder. "
                    "Point --store (or LSP_AGENT_STORE) at a folder; the file was left untouched."
                )
            self.lock_path = path / ".lsp-agent.lock"
        else:
            digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
            self.lock_path = data_home() / "locks" / f"{digest}.lock"

    # -- connection and tables -------------------------------------------------------------

    @property
    def db(self) -> Any:
        with self._open_lock:
            if self._db is None:
                import lancedb

                if is_local_uri(self.uri):
                    local_path(self.uri).mkdir(parents=True, exist_ok=True)
                try:
                    # every read sees other processes' commits (in a bucket: 0.1 s later)
                    self._db = lancedb.connect(
                        self.uri, read_consistency_interval=(
                            timedelta(0) if is_local_uri(self.uri) else REMOTE_READ_CONSISTENCY),
                        storage_options=self.storage_options or None)
                except Exception as exc:  # noqa: BLE001 - reported with advice
                    raise self.open_failed(exc) from exc
                self._check_schema_version()
            return self._db

    def open_failed(self, exc: Exception) -> StoreError:
        """The error for a store that cannot be opened (a team store explains its own)."""
        from lsp_agent.memory.damage import clean

        return StoreError(
            f"Cannot open the memory store {self.uri}: {clean(exc)}. Check the URI and "
            "credentials (object storage reads keys from the environment).")

    def _existing(self) -> set[str]:
        try:
            return set(self.db.list_tables().tables)
        except AttributeError:  # older API shape
            return set(self.db.table_names())

    def table(self, name: str, *, create: bool = True) -> Any:
        """Open `name`, creating it empty if it does not exist (None instead when not `create`).

        Never recreates a broken table; a rebuildable one that no longer fits the store is
        dropped with its group first (see REBUILDABLE). In a damaged store a damaged table is
        refused and the others are read-only (memory/damage.py). Every table handed out redacts
        secrets from what is written to it (redacting_table.py): the one choke point.
        """
        created = False
        with self._open_lock:
            db = self.db
            if self.damage:
                from lsp_agent.memory.damage import read_only_table

                return read_only_table(self, name, create)
            if name in self._tables:
                return self._tables[name]
            if name in REBUILDABLE:
                self._drop_stale_group(REBUILDABLE[name])
            if name in self._tables:  # opened (and found fitting) by the check
                return self._tables[name]
            if name in self._existing():
                tbl = self._open_existing(name)
            elif not create:
                return None
            else:
                try:
                    tbl = db.create_table(name, schema=self._schema(name), exist_ok=True)
                except Exception as exc:  # noqa: BLE001
                    raise self._corrupt(name, exc) from exc
                created = name in TABLES and name != "meta"
            self._tables[name] = guard(tbl)
            tbl = self._tables[name]
        if created:  # its absence from now on is damage, not a new store
            self.set_meta(f"table:{name}", "1")  # damage.CREATED_PREFIX
        return tbl

    def reset(self) -> None:
        """Forget the connection and damage found: the next use opens and checks again."""
        with self._open_lock:
            self._db, self._tables, self.damage = None, {}, {}

    @property
    def where(self) -> str:
        return str(local_path(self.uri)) if is_local_uri(self.uri) else self.uri

    def has_tables(self, *names: str) -> bool:
        """Whether all of `names` exist (cheap once they are open)."""
        missing = [n for n in names if n not in self._tables]
        return not missing or set(missing) <= self._existing()

    def _drop_stale_group(self, group: tuple[str, ...]) -> None:
        """Drop the tables of `group` when one of them does not fit (columns, vector width);
        keep the handles of the ones checked otherwise."""
        existing = self._existing()
        opened: dict[str, Any] = {}
        stale: list[str] = []
        for n in (n for n in group if n in existing):
            try:
                opened[n] = self._tables.get(n) or guard(self._open_existing(n,
                                                                              settle_seconds=0.5))
            except StoreError:  # unreadable (half made on a full disk?): rows can be made again
                stale.append(n)
        stale += [n for n, tbl in opened.items() if not self._fits(n, tbl)]
        if not stale:
            self._tables.update(opened)
            return
        log.info("%s unreadable or no longer fit this store (embedder changed?): rebuilding %s",
                 ", ".join(stale), ", ".join(group))
        for n in (n for n in group if n in existing):
            self._tables.pop(n, None)
            self.db.drop_table(n)

    def _fits(self, name: str, tbl: Any) -> bool:
        """Same columns as this store would create, and vectors of its width."""
        want = self._schema(name)
        if set(tbl.schema.names) != set(want.names):
            return False
        return "vector" not in want.names or (
            tbl.schema.field("vector").type.list_size == want.field("vector").type.list_size)

    def _open_existing(self, name: str, settle_seconds: float = 3.0) -> Any:
        """Open a listed table. Another process may be creating it right now (listed before
        its first commit): retry for `settle_seconds` before calling the store unreadable."""
        deadline = time.monotonic() + settle_seconds
        while True:
            try:
                tbl = self.db.open_table(name)
                _probe(tbl)
                return tbl
            except Exception as exc:  # noqa: BLE001
                if "not found" not in str(exc).lower() or time.monotonic() > deadline:
                    raise self._corrupt(name, exc) from exc
                time.sleep(0.05)

    def _corrupt(self, name: str, exc: BaseException) -> StoreError:
        from lsp_agent.memory.damage import clean

        where = self.where
        return StoreError(
            f"The memory store {where} cannot be read (table '{name}': {clean(exc)}). Nothing was "
            f"changed or overwritten. Move it aside (e.g. `mv {where} {where}.broken`) to start "
            "with empty memory, or restore it from a backup, then restart lsp-agent."
        )

    def _schema(self, name: str) -> pa.Schema:
        dim = self.dim
        return {
            "meta": S.META,
            "blocks": S.BLOCKS,
            "block_versions": S.BLOCK_VERSIONS,
            "conversations": S.CONVERSATIONS,
            "messages": S.messages_schema(dim),
            "archival": S.archival_schema(dim),
            "embedding_cache": S.embedding_cache_schema(dim),
            "code_chunks": S.code_chunks_schema(self.code_embedding.dim),
            "code_files": S.CODE_FILES,
            "anchors": S.ANCHORS,
        }[name]

    @contextmanager
    def lock(self, name: str = "", timeout: float = 30.0) -> Iterator[None]:
        """Exclusive across this machine's processes (spares them conflicts; across machines
        memory/commits.py keeps updates): wrap every read-modify-write in it.

        A named lock (e.g. "code-index") is another lock beside the store, for long work on
        tables of its own: a code index build must never block memory edits.
        """
        path = (self.lock_path.with_name(f"{self.lock_path.stem}.{name}.lock") if name
                else self.lock_path)
        with file_lock(path, timeout):
            yield

    # -- meta and schema version -----------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """Of rows of one key (machines inserting a new key at once), the same on all: the
        greatest value, numbers by size."""
        rows = self.table("meta").search().where(f"key = {sql_str(key)}").limit(100).to_list()
        values = [r["value"] for r in rows]
        return max(values, key=lambda v: (len(v), v)) if values else default

    def set_meta(self, key: str, value: str) -> None:
        tbl = self.table("meta")
        data = pa.Table.from_pylist([{"key": key, "value": value}], schema=S.META)
        retrying(lambda: tbl.merge_insert("key").when_matched_update_all()
                 .when_not_matched_insert_all().execute(data), f"save the store setting {key}")

    def _check_schema_version(self) -> None:
        """Find damage (every table), refuse a newer schema, migrate an older one."""
        from lsp_agent.memory.damage import inspect

        self.damage, opened = inspect(self)
        self._tables.update(opened)
        if "meta" not in opened:
            return  # new store (versioned on first write via ensure_initialized), or damaged
        rows = opened["meta"].search().where("key = 'schema_version'").limit(1).to_list()
        version = int(rows[0]["value"]) if rows else 0
        if version > S.SCHEMA_VERSION:
            raise StoreError(
                f"The memory store {self.uri} was written by a newer lsp-agent (schema {version}, "
                f"this one reads {S.SCHEMA_VERSION}). Upgrade lsp-agent; the store was not changed."
            )
        if version < S.SCHEMA_VERSION and not self.damage:
            from lsp_agent.memory.migrations import migrate

            migrate(self, version)

    def ensure_initialized(self) -> None:
        if self.get_meta("schema_version") is None:
            with self.lock():
                if self.get_meta("schema_version") is None:
                    self.set_meta("schema_version", str(S.SCHEMA_VERSION))

    # -- embeddings --------------------------------------------------------------------------

    @property
    def embedder(self) -> Any:
        """The loaded embedder, or None (full-text search only) with a warning recorded."""
        if not self._embedder_loaded:
            with self._open_lock:
                if not self._embedder_loaded:
                    self._embedder = self._load_embedder()
                    self._embedder_loaded = True
        return self._embedder

    def _load_embedder(self) -> Any:
        return load_embedder(self.embedder_spec, self.warnings, "Embedder", "memory search",
                             "embedder")

    @property
    def embedder_name(self) -> str:
        return self.embedder.name if self.embedder is not None else ""

    def describe_embedder(self) -> str:
        """The embedder for status lines, without loading it (a read-only command never does)."""
        if self._embedder_loaded:
            return self.embedder_name or "none (full-text search only)"
        if self.embedder_spec in ("none", ""):
            return "none (full-text search only)"
        return f"{self.embedder_spec} (loaded on first use)"

    @property
    def dim(self) -> int:
        if not self._embedder_loaded and self.embedder_spec == "default":
            return S.DEFAULT_DIM  # the bundled model's width: creating a store need not load it
        if self.embedder is not None:
            return int(self.embedder.dim)
        return S.DEFAULT_DIM

    def embed_documents(self, texts: list[str]) -> list[list[float] | None]:
        """Vectors for texts (None each when no embedder), cached by content hash."""
        emb = self.embedder
        if emb is None or not texts:
            return [None] * len(texts)
        keys = [_cache_key(emb.name, t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            self._load_cached([keys[i] for i in missing])
            missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            try:
                vecs = emb.embed_documents([texts[i] for i in missing])
            except Exception as exc:  # noqa: BLE001
                self.warnings.append(f"Embedding failed ({exc}); stored for full-text search only.")
                return [None] * len(texts)
            new_rows = []
            for i, vec in zip(missing, vecs, strict=True):
                self._cache[keys[i]] = np.asarray(vec, dtype=np.float32)
                new_rows.append({"key": keys[i], "vector": self._cache[keys[i]].tolist()})
            self._store_cached(new_rows)
        return [self._cache[k].tolist() for k in keys]

    def embed_query(self, text: str) -> list[float] | None:
        emb = self.embedder
        if emb is None:
            return None
        try:
            return np.asarray(emb.embed_query(text), dtype=np.float32).tolist()
        except Exception as exc:  # noqa: BLE001
            self.warnings.append(f"Query embedding failed ({exc}); searched full text only.")
            return None

    def _load_cached(self, keys: list[str]) -> None:
        if "embedding_cache" not in self._existing():
            return
        tbl = self.table("embedding_cache")
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            where = "key IN (" + ",".join(sql_str(k) for k in chunk) + ")"
            for row in tbl.search().where(where).limit(len(chunk)).to_list():
                self._cache[row["key"]] = np.asarray(row["vector"], dtype=np.float32)

    def _store_cached(self, rows: list[dict[str, Any]]) -> None:
        tbl = self.table("embedding_cache")
        data = pa.Table.from_pylist(rows, schema=self._schema("embedding_cache"))
        tbl.merge_insert("key").when_not_matched_insert_all().execute(data)

    def counts(self) -> dict[str, int]:
        out = {}
        for name in ("blocks", "messages", "archival", "conversations"):
            out[name] = self.table(name).count_rows() if name in self._existing() else 0
        return out


PROBE_ROWS = 100_000


def _probe(tbl: Any) -> None:
    """Read every data file of a table (one column), so a damaged file fails here, at open.

    Counting rows reads only the manifest: a table whose data files are garbage would open
    and then fail on first use with a raw lance error instead of a StoreError. Tables larger
    than PROBE_ROWS are probed on their first rows only.
    """
    rows = tbl.count_rows()
    if rows:
        tbl.search().select([tbl.schema.names[0]]).limit(min(rows, PROBE_ROWS)).to_arrow()


def _cache_key(embedder: str, text: str) -> str:
    return hashlib.sha256(f"{embedder}\0{text}".encode()).hexdigest()


def sql_str(value: str) -> str:
    """A SQL string literal for LanceDB filters (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def store_root(uri: str) -> Path | None:
    return local_path(uri) if is_local_uri(uri) else None
