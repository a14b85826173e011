"""Shared fixtures for the memory engine tests: real LanceDB stores in private temp folders."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import azurite_server
import pytest
from azurite_server import AzuriteServer
from s3_server import S3Server, session_server

from lsp_agent.memory.agent_memory import AgentMemory

# Settings read from the environment must not leak from the developer's shell into tests.
_ENV_VARS = (
    "LSP_AGENT_STORE",
    "LSP_AGENT_MODEL",
    "LSP_AGENT_REFLECTION_MODEL",
    "LSP_AGENT_EMBEDDER",
    "LSP_AGENT_PERMISSION_MODE",
    "LSP_AGENT_TRUST_WORKSPACE",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "vectors: needs the bundled ONNX embedder (real vectors, slower)"
    )


def _join_maintainers() -> None:
    """Wait for the background index upkeep and reply-context threads (they write to the
    store)."""
    for t in threading.enumerate():
        if t.name in ("lsp-agent-maintain", "lsp-agent-reply-context"):
            t.join(60)


@pytest.fixture(autouse=True)
def _settle_after_test() -> Iterator[None]:
    yield
    _join_maintainers()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3-compatible server on loopback, one per test session (tests/s3_server.py)."""
    yield from session_server(tmp_path_factory.mktemp("s3"))


@pytest.fixture
def s3_store(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """An `s3://` store URI in a fresh bucket; this process's environment reaches the server."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return f"s3://{s3_server.new_bucket()}/store"


@pytest.fixture(scope="session")
def az_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob server on loopback, one per test session (tests/azurite_server.py)."""
    exe = azurite_server.azurite_bin()
    if exe is None:
        if os.environ.get(azurite_server.ENV_REQUIRED):
            pytest.fail(azurite_server.MISSING)
        pytest.skip(azurite_server.MISSING)
    yield from azurite_server.session_server(exe, tmp_path_factory.mktemp("azurite"))


@pytest.fixture
def az_store(az_server: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An `az://` store URI in a fresh container; this process's environment reaches Azurite."""
    for key, value in az_server.env.items():
        monkeypatch.setenv(key, value)
    return f"az://{az_server.new_container()}/store"


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


# Runs the CLI exactly as `python -m lsp_agent ARGS` does, once the file named by argv[1]
# exists: lancedb (slow to import) is imported while waiting, so a sequence of commands can be
# started together and then run one after the other.
_PREWARMED = """
import os, runpy, sys, time
import lancedb  # noqa: F401
go = sys.argv.pop(1)
while not os.path.exists(go):
    time.sleep(0.01)
sys.argv[0] = "lsp_agent"
runpy.run_module("lsp_agent", run_name="__main__", alter_sys=True)
"""


def cmd(*args: str, stdin: str | None = None, ws: Path | None = None,
        env: dict[str, str] | None = None, embedder: str | None = "none") -> dict:
    """One command for CliRunner.many / CliRunner.seq, when it needs stdin, env or a workspace."""
    return {"args": args, "stdin": stdin, "ws": ws, "env": env, "embedder": embedder}


class CliRunner:
    """`python -m lsp_agent ARGS --workspace WS --embedder none` in subprocesses."""

    cmd = staticmethod(cmd)

    def __init__(self, env: dict[str, str], workspace: Path, tmp: Path) -> None:
        self.env = env
        self.workspace = workspace
        self.tmp = tmp

    def _spec(self, c: tuple[str, ...] | dict, common: bool) -> dict:
        spec = c if isinstance(c, dict) else cmd(*c)
        argv = list(spec["args"])
        if common:
            argv += ["--workspace", str(spec["ws"] or self.workspace)]
            if spec["embedder"] is not None:
                argv += ["--embedder", spec["embedder"]]
        return {**spec, "argv": argv, "env": {**self.env, **(spec["env"] or {})}}

    def __call__(self, *args: str, embedder: str | None = "none", stdin: str | None = None,
                 env: dict[str, str] | None = None, ws: Path | None = None,
                 common: bool = True) -> subprocess.CompletedProcess:
        spec = self._spec(cmd(*args, stdin=stdin, ws=ws, env=env, embedder=embedder), common)
        return subprocess.run(
            [sys.executable, "-m", "lsp_agent", *spec["argv"]], env=spec["env"],
            capture_output=True, text=True, timeout=300, input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )

    def _popen(self, prefix: list[str], spec: dict) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *prefix, *spec["argv"]], env=spec["env"], text=True,
            stdin=subprocess.PIPE if spec["stdin"] is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    @staticmethod
    def _finish(spec: dict, p: subprocess.Popen) -> subprocess.CompletedProcess:
        out, err = p.communicate(input=spec["stdin"], timeout=300)
        return subprocess.CompletedProcess(list(spec["args"]), p.returncode, out, err)

    def many(self, *commands: tuple[str, ...] | dict,
             common: bool = True) -> list[subprocess.CompletedProcess]:
        """Run independent commands (`python -m lsp_agent ...`) at the same time."""
        specs = [self._spec(c, common) for c in commands]
        procs = [self._popen(["-m", "lsp_agent"], s) for s in specs]
        return [self._finish(s, p) for s, p in zip(specs, procs, strict=True)]

    def seq(self, *commands: tuple[str, ...] | dict) -> list[subprocess.CompletedProcess]:
        """Run commands one after the other, each seeing the previous one's changes.

        All are started at once and wait (with lancedb imported) for their turn.
        """
        specs = [self._spec(c, True) for c in commands]
        gate = Path(tempfile.mkdtemp(dir=self.tmp, prefix="go-"))
        procs = [self._popen(["-c", _PREWARMED, str(gate / str(i))], s)
                 for i, s in enumerate(specs)]
        results = []
        try:
            for i, (s, p) in enumerate(zip(specs, procs, strict=True)):
                (gate / str(i)).touch()
                results.append(self._finish(s, p))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
        return results


@pytest.fixture
def run_cli(cli_env: dict[str, str], workspace: Path, tmp_path: Path) -> CliRunner:
    return CliRunner(cli_env, workspace, tmp_path)
