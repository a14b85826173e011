"""A real lsp-agent server process driven over stdio by pytest-lsp's client, as the tests do,
with every request timed from the client (what an editor waits for); and `initialize` timed
on a bare pipe, the way benchmarks/server_startup.py does.

The client says what current VS Code says: it pulls diagnostics and honours
`workspace/diagnostic/refresh` and `workspace/codeLens/refresh` (the capability set pytest-lsp
ships predates pull diagnostics, so those two are added).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/
from server_startup import _frame, _read_message  # noqa: E402


def server_env(root: Path, home: Path) -> dict[str, str]:
    """The server runs the lsp_agent package of `root` (a checkout), with its own home."""
    return {**os.environ, "PYTHONPATH": str(root), "LSP_AGENT_HOME": str(home),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def options(store: Path) -> dict[str, Any]:
    return {"lspAgent": {"store": str(store), "embedder": "none", "trustWorkspace": True}}


def capabilities() -> T.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    assert caps.text_document is not None and caps.workspace is not None
    caps.text_document.diagnostic = T.DiagnosticClientCapabilities(
        dynamic_registration=True, related_document_support=True)
    caps.workspace.diagnostics = T.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return caps


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class Session:
    """One server on one workspace; paths are workspace-relative."""

    def __init__(self, root: Path, ws: Path, store: Path, home: Path) -> None:
        self.root, self.ws, self.store, self.home = root, ws, store, home
        self.client = make_test_lsp_client()
        self.versions: dict[str, int] = {}

        @self.client.feature(T.WORKSPACE_CODE_LENS_REFRESH)
        def on_lens_refresh(_client: object, _params: object) -> None:
            return None

    def uri(self, rel: str) -> str:
        return (self.ws / rel).as_uri()

    def doc(self, rel: str) -> T.TextDocumentIdentifier:
        return T.TextDocumentIdentifier(uri=self.uri(rel))

    async def start(self) -> float:
        """Spawn the server and initialize it; ms from spawn to the initialize answer."""
        start = time.perf_counter()
        await self.client.start_io(sys.executable, "-m", "lsp_agent", "serve",
                                   env=server_env(self.root, self.home), cwd=str(self.root))
        await self.client.initialize_session(T.InitializeParams(
            capabilities=capabilities(), root_uri=self.ws.as_uri(),
            workspace_folders=[T.WorkspaceFolder(uri=self.ws.as_uri(), name="bench")],
            initialization_options=options(self.store)))
        return ms_since(start)

    async def stop(self) -> None:
        await self.client.shutdown_session()
        await self.client.stop()

    def open(self, rel: str, text: str) -> None:
        self.versions[rel] = 1
        self.client.text_document_did_open(T.DidOpenTextDocumentParams(
            text_document=T.TextDocumentItem(uri=self.uri(rel), language_id="python",
                                             version=1, text=text)))

    def change(self, rel: str, text: str) -> None:
        self.versions[rel] = self.versions.get(rel, 1) + 1
        self.client.text_document_did_change(T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=self.uri(rel),
                                                            version=self.versions[rel]),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)]))

    def save(self, rel: str) -> None:
        self.client.text_document_did_save(T.DidSaveTextDocumentParams(text_document=self.doc(
            rel)))

    def watched(self, rels: list[str]) -> None:
        self.client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(changes=[
            T.FileEvent(uri=self.uri(rel), type=T.FileChangeType.Changed) for rel in rels]))

    async def hover(self, rel: str, line: int) -> tuple[float, str | None]:
        start = time.perf_counter()
        got = await self.client.text_document_hover_async(T.HoverParams(
            text_document=self.doc(rel), position=T.Position(line=line, character=4)))
        took = ms_since(start)
        return took, None if got is None else got.contents.value  # type: ignore[union-attr]

    async def lenses(self, rel: str) -> tuple[float, list[T.CodeLens]]:
        start = time.perf_counter()
        got = await self.client.text_document_code_lens_async(T.CodeLensParams(
            text_document=self.doc(rel)))
        return ms_since(start), list(got or [])

    async def diagnostics(self, rel: str) -> tuple[float, list[T.Diagnostic]]:
        start = time.perf_counter()
        got = await self.client.text_document_diagnostic_async(T.DocumentDiagnosticParams(
            text_document=self.doc(rel)))
        return ms_since(start), list(got.items)  # type: ignore[union-attr]

    @property
    def refreshes(self) -> int:
        return self.client.diagnostic_refresh_count

    async def refreshed(self, seen: int, timeout: float = 120.0) -> float:
        """perf_counter() when the server asked for the refresh after `seen` ones (polled every
        millisecond: the figures are whole milliseconds and more)."""
        deadline = time.perf_counter() + timeout
        while self.client.diagnostic_refresh_count <= seen:
            if time.perf_counter() > deadline:
                raise TimeoutError("the server did not ask the editor to refresh diagnostics")
            await asyncio.sleep(0.001)
        return time.perf_counter()


def time_initialize(root: Path, ws: Path, store: Path, home: Path) -> float:
    """ms from spawning the server of checkout `root` to its initialize answer (bare pipe)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "lsp_agent", "serve"], cwd=str(root),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=server_env(root, home))
    assert proc.stdin and proc.stdout
    proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": os.getpid(), "rootUri": ws.as_uri(), "capabilities": {},
        "initializationOptions": options(store),
        "workspaceFolders": [{"uri": ws.as_uri(), "name": "bench"}]}}))
    proc.stdin.flush()
    while _read_message(proc.stdout).get("id") != 1:
        pass
    took = ms_since(start)
    proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.flush()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return took
