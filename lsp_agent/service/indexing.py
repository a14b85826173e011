"""The code index as the service runs it: build, embed (now or in the background), counts.

Background embedding is declared state of the workspace's service (`CodeIndexing.thread`),
started at most once at a time and cancelled when the service closes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from lsp_agent.learning import code_index
from lsp_agent.memory.agent_memory import AgentMemory

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, "int | None"], None]


class IndexCounts(BaseModel):
    chunks: int = 0
    embedded: int = 0  # chunks that have a vector (from any embedder)
    embedding: bool = False  # a background embedding is running (thread or detached process)
    skipped: dict[str, int] = {}  # files the last full run left out, by reason
    redacted: int = 0  # files indexed with their secrets replaced by tags


class CodeIndexing:
    def __init__(self, memory: AgentMemory) -> None:
        self.memory = memory
        self.thread: threading.Thread | None = None
        self.cancel_event = threading.Event()

    def exists(self) -> bool:
        return code_index.code_index_exists(self.memory)

    def build(self, progress: ProgressFn | None = None) -> code_index.IndexReport:
        return code_index.build_index(self.memory, progress)

    def embed(self, progress: ProgressFn | None = None) -> int:
        return code_index.embed_pending(self.memory, progress)

    def update(self, paths: list[Path]) -> None:
        code_index.update_paths(self.memory, paths)

    def counts(self) -> IndexCounts:
        """Chunk counts read from the table without loading the embedder."""
        running = (self.thread is not None and self.thread.is_alive()) or self._detached_alive()
        if not self.exists():
            return IndexCounts(embedding=running)
        table = self.memory.store.table(code_index.CHUNKS, create=False)
        summary = code_index.skipped_files(self.memory)
        skipped = summary.get("reasons") or {}
        return IndexCounts(chunks=int(table.count_rows()),
                           embedded=int(table.count_rows("embedder != ''")), embedding=running,
                           skipped={str(k): int(v) for k, v in skipped.items()},
                           redacted=int(summary.get("redacted") or 0))

    def pending(self) -> int:
        """Chunks still without a vector (read from the table; loads no embedder)."""
        if not self.exists():
            return 0
        table = self.memory.store.table(code_index.CHUNKS, create=False)
        return int(table.count_rows("embedder = ''")) if table is not None else 0

    def resume(self) -> bool:
        """Embed in the background what an earlier run left without vectors (it was killed,
        cancelled, or the CLI returned before it finished); cheap when nothing is left."""
        try:
            if self._detached_alive() or not self.pending():
                return False
        except Exception:  # noqa: BLE001 - a damaged store says so elsewhere; never block opening
            log.info("could not check the code index for pending vectors", exc_info=True)
            return False
        self.start_background()
        return True

    def start_background(self) -> threading.Thread:
        """Embed the code index in a daemon thread; one at a time."""
        if self.thread is not None and self.thread.is_alive():
            return self.thread
        self.cancel_event = threading.Event()
        cancel = self.cancel_event

        def run() -> None:
            try:
                code_index.embed_pending(self.memory, None, cancel)
            except Exception:  # noqa: BLE001 - full-text search keeps working without vectors
                log.warning("background embedding failed", exc_info=True)

        self.thread = threading.Thread(target=run, name="lsp-agent-embed", daemon=True)
        self.thread.start()
        return self.thread

    def start_detached(self, embedder: str, code_embedder: str) -> Path:
        """Embed in a separate `lsp-agent index --embed-only` process that outlives this one
        (for a face that exits, like the CLI); returns its log file."""
        log_file = self.memory.memory_folder.parent / "embedding.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "lsp_agent", "index", "--embed-only",
               "--workspace", str(self.memory.workspace), "--store", self.memory.store_uri,
               "--embedder", embedder, "--code-embedder", code_embedder]
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True)
        self._pid_file().write_text(str(proc.pid), encoding="utf-8")
        return log_file

    def _pid_file(self) -> Path:
        return self.memory.memory_folder.parent / "embedding.pid"

    def _detached_alive(self) -> bool:
        """Whether the detached embedding process started for this workspace still runs."""
        try:
            pid = int(self._pid_file().read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            if sys.platform.startswith("linux"):
                return False  # no such process
            try:
                os.kill(pid, 0)
            except OSError:
                return False
            return True
        return b"lsp_agent" in cmdline and b"--embed-only" in cmdline

    def stop(self) -> None:
        self.cancel_event.set()
