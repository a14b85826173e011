"""The store owns its tables: the code index's too, its named locks, and the rebuild of
derived tables whose vectors no longer fit the embedder. Real LanceDB in temp folders."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyarrow as pa

from lsp_agent.learning.code_index import build_index, code_index_exists
from lsp_agent.learning.code_search import search_code
from lsp_agent.memory import schema as S
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.store import CODE_INDEX, MemoryStore


class SmallEmbedder:
    """Instant 16-wide vectors: a different width from the default 384."""

    name, dim = "small", 16

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.full((len(texts), self.dim), 0.25, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def with_embedder(memory: AgentMemory, embedder: object) -> AgentMemory:
    memory.store._embedder, memory.store._embedder_loaded = embedder, True
    return memory


def code_workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "mod.py").write_text("def parse_settings(path):\n    return {}\n")
    return ws


def test_code_tables_have_the_store_schemas(workspace: Path, memory: AgentMemory) -> None:
    store = memory.store
    assert not store.has_tables(*CODE_INDEX) and not code_index_exists(memory)
    assert store.table("code_chunks", create=False) is None
    chunks, files = (store.table(n) for n in CODE_INDEX)
    assert chunks.schema.names == S.code_chunks_schema(store.dim).names
    # the code index's own embedder (static, 256 wide), known without loading it
    assert chunks.schema.field("vector").type.list_size == store.code_embedding.dim == 256
    assert not store.code_embedding._loaded
    assert files.schema.names == S.CODE_FILES.names
    assert store.has_tables(*CODE_INDEX) and code_index_exists(memory)


def test_code_index_rebuilt_when_the_embedder_width_changes(tmp_path: Path, home: Path) -> None:
    ws = code_workspace(tmp_path)
    uri = str(tmp_path / "store")
    first = AgentMemory(ws, store_uri=uri, embedder="none", code_embedder="none")
    first.open()
    assert build_index(first).files_indexed == 1
    assert search_code(first, "parse_settings")
    # another process opens the store with an embedder of another width
    other = with_embedder(AgentMemory(ws, store_uri=uri, embedder="none", code_embedder="none"), SmallEmbedder())
    other.open()
    assert code_index_exists(other)  # the tables are there until opened
    assert search_code(other, "parse_settings") == []  # opened: they did not fit, dropped
    assert not other.store.has_tables(*CODE_INDEX)
    report = build_index(other)
    assert report.files_indexed == 1 and search_code(other, "parse_settings")
    width = other.store.table("code_chunks").schema.field("vector").type.list_size
    assert width == SmallEmbedder.dim


def test_rebuildable_table_with_other_columns_is_rebuilt(memory: AgentMemory) -> None:
    db = memory.store.db
    old = pa.schema([("path", pa.string()), ("hash", pa.string())])  # an older shape
    db.create_table("code_files", schema=old)
    db.create_table("code_chunks", schema=S.code_chunks_schema(S.DEFAULT_DIM))
    store = MemoryStore(memory.store_uri, embedder_spec="none")
    assert store.table("code_files").schema.names == S.CODE_FILES.names
    assert store.table("code_chunks").count_rows() == 0  # its partner went with it


def test_embedding_cache_follows_the_embedder_width(tmp_path: Path, home: Path) -> None:
    uri = str(tmp_path / "store")
    ws = code_workspace(tmp_path)
    first = with_embedder(AgentMemory(ws, store_uri=uri, embedder="none", code_embedder="none"), SmallEmbedder())
    first.open()
    assert first.store.embed_documents(["cached text"])[0] is not None
    wide = SmallEmbedder()
    wide.name, wide.dim = "wide", 32
    second = with_embedder(AgentMemory(ws, store_uri=uri, embedder="none", code_embedder="none"), wide)
    second.open()
    vectors = second.store.embed_documents(["cached text", "new text"])
    assert [len(v or []) for v in vectors] == [32, 32]
    assert not second.store.warnings


def test_tables_of_memories_are_never_dropped(tmp_path: Path, home: Path) -> None:
    uri = str(tmp_path / "store")
    ws = code_workspace(tmp_path)
    first = AgentMemory(ws, store_uri=uri, embedder="none", code_embedder="none")
    first.open()
    first.archival.insert("keep me", ["x"])
    second = with_embedder(AgentMemory(ws, store_uri=uri, embedder="none", code_embedder="none"), SmallEmbedder())
    second.open()
    assert [p.content for p in second.archival.all()] == ["keep me"]


def test_index_lock_does_not_block_memory_edits(memory: AgentMemory) -> None:
    held, release = threading.Event(), threading.Event()

    def index_build() -> None:
        with memory.store.lock("code-index", timeout=5):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=index_build)
    thread.start()
    try:
        assert held.wait(5)
        with memory.store.lock(timeout=1):  # the memory lock is free meanwhile
            memory.blocks.set("notes", "edited during an index build", author="user")
        lock_file = memory.store.lock_path.with_name(".lsp-agent.code-index.lock")
        assert lock_file.exists()
    finally:
        release.set()
        thread.join()
    assert memory.blocks.get("notes").value == "edited during an index build"
