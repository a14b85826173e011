"""Shared fixtures for the memory engine tests: real LanceDB stores in private temp folders."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lsp_agent.memory.agent_memory import AgentMemory

# Settings read from the environment must not leak from the developer's shell into tests.
_ENV_VARS = (
    "LSP_AGENT_STORE",
    "LSP_AGENT_MODEL",
    "LSP_AGENT_REFLECTION_MODEL",
    "LSP_AGENT_EMBEDDER",
    "LSP_AGENT_PERMISSION_MODE",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "vectors: needs the bundled ONNX embedder (real vectors, slower)"
    )


def _join_maintainers() -> None:
    """Wait for the background index upkeep threads (they write to the store)."""
    for t in threading.enumerate():
        if t.name == "lsp-agent-maintain":
            t.join(60)


@pytest.fixture(autouse=True)
def _settle_after_test() -> Iterator[None]:
    yield
    _join_maintainers()


@pytest.fixture
def settle() -> Callable[[], None]:
    return _join_maintainers


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private LSP_AGENT_HOME: the default per-workspace stores and the shared store."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("LSP_AGENT_HOME", str(path))
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture
def workspace(tmp_path: Path, home: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    (path / "main.py").write_text("print('hello')\n")
    return path


@pytest.fixture
def open_memory(home: Path) -> Callable[..., AgentMemory]:
    """Open (a fresh AgentMemory object for) a workspace, as a new process would."""

    def _open(workspace: Path, *, embedder: str = "none", **kwargs: object) -> AgentMemory:
        mem = AgentMemory(workspace, embedder=embedder, **kwargs)  # type: ignore[arg-type]
        mem.open()
        return mem

    return _open


@pytest.fixture
def memory(workspace: Path, open_memory: Callable[..., AgentMemory]) -> AgentMemory:
    """The workspace's memory without an embedder (full-text search only): fast."""
    return open_memory(workspace)


@pytest.fixture
def vmemory(workspace: Path, open_memory: Callable[..., AgentMemory]) -> AgentMemory:
    """The workspace's memory with the bundled ONNX embedder; use with @pytest.mark.vectors."""
    return open_memory(workspace, embedder="default")


def _table_rows(store: Path, name: str, *, all_versions: bool = False) -> list[dict]:
    """Rows of a table read straight from the LanceDB files (optionally of every version)."""
    import lancedb

    tbl = lancedb.connect(str(store)).open_table(name)
    if not all_versions:
        return tbl.to_arrow().to_pylist()
    rows: list[dict] = []
    for v in tbl.list_versions():
        tbl.checkout(v["version"])
        rows.extend(tbl.to_arrow().to_pylist())
    tbl.checkout_latest()
    return rows


def _tree_digest(root: Path, *, skip: Callable[[Path], bool] = lambda p: False) -> dict[str, bytes]:
    """Every file under root and its bytes, to prove nothing was changed."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not skip(p):
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


@pytest.fixture
def table_rows() -> Callable[..., list[dict]]:
    return _table_rows


@pytest.fixture
def tree_digest() -> Callable[..., dict[str, bytes]]:
    return _tree_digest


@pytest.fixture
def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENV_VARS}
    env["LSP_AGENT_HOME"] = str(home)
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], workspace: Path) -> Iterator[Callable[..., subprocess.CompletedProcess]]:
    """`lsp-agent ARGS --workspace WS --embedder none` in a subprocess."""

    def _run(*args: str, embedder: str | None = "none", stdin: str | None = None,
             env: dict[str, str] | None = None, ws: Path | None = None,
             common: bool = True) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "lsp_agent", *args]
        if common:
            argv += ["--workspace", str(ws or workspace)]
            if embedder is not None:
                argv += ["--embedder", embedder]
        return subprocess.run(
            argv, env={**cli_env, **(env or {})}, capture_output=True, text=True, timeout=120,
            input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        )

    yield _run
