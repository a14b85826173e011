"""`init` returns once full-text search works; vectors follow in a detached process that can
be killed at any moment: the next run embeds only what is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.vectors

FUNCS = 6


def make_workspace(root: Path, files: int) -> None:
    (root / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "bulk"\n')
    for i in range(files):
        body = "\n\n".join(
            f"def handler_{i}_{k}(request, retries={k}):\n"
            f'    """Handle request kind {k} of module {i}."""\n'
            + "".join(f"    value_{n} = request.get('field_{n}', {n}) * retries\n"
                      for n in range(25))
            + "    return value_0\n" for k in range(FUNCS))
        path = root / "bulk" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


def private_env(tmp_path: Path) -> dict[str, str]:
    """This environment without lsp-agent settings, with a private home."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LSP_AGENT_")},
            "LSP_AGENT_HOME": str(tmp_path / "home"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def run(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lsp_agent", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def status(env: dict[str, str], common: list[str]) -> dict:
    out = run(env, "status", "--json", *common)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_init_returns_early_and_a_killed_embedder_resumes(tmp_path: Path) -> None:
    ws, store = tmp_path / "ws", tmp_path / "store"
    make_workspace(ws, 30)
    env = private_env(tmp_path)
    # the contextual model for code: slow enough (a few chunks/s here) to kill it midway
    common = ["--workspace", str(ws), "--store", str(store), "--embedder", "none",
              "--code-embedder", "default"]
    started = time.monotonic()
    out = run(env, "init", *common)
    assert out.returncode == 0, out.stderr
    assert "background" in out.stdout and "Full-text code search is ready" in out.stderr
    first = status(env, common)
    total = first["counts"]["code_chunks"]
    assert total >= 150 and first["counts"]["code_chunks_embedded"] < total
    pid = int((store / "embedding.pid").read_text())
    deadline = time.monotonic() + 240
    while True:  # wait for the first batch of vectors to be written, then kill the process
        now = status(env, common)
        assert now["embedding_in_background"], "the detached embedder stopped by itself"
        if now["counts"]["code_chunks_embedded"] > 0:
            break
        assert time.monotonic() < deadline, "no vectors written within 4 minutes"
        time.sleep(1)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    after = status(env, common)
    kept = after["counts"]["code_chunks_embedded"]
    assert not after["embedding_in_background"]
    assert 0 < kept < total, (kept, total)
    assert "index --embed-only" in run(env, "status", *common).stdout  # says how to finish
    resumed = run(env, "index", "--embed-only", "--json", *common, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["embedded"] == total - kept  # nothing done twice
    final = status(env, common)
    assert final["counts"]["code_chunks_embedded"] == total
    assert time.monotonic() - started < 900


def test_init_wait_blocks_until_vectors_are_done(tmp_path: Path) -> None:
    ws, store = tmp_path / "ws", tmp_path / "store"
    make_workspace(ws, 8)
    env = private_env(tmp_path)
    common = ["--workspace", str(ws), "--store", str(store), "--embedder", "none",
              "--code-embedder", "default"]  # the slow model: vectors in a second pass
    out = run(env, "init", "--wait", *common)
    assert out.returncode == 0, out.stderr
    assert "Embedding code chunks" in out.stderr
    st = status(env, common)
    assert st["counts"]["code_chunks_embedded"] == st["counts"]["code_chunks"] > 0
    assert not st["embedding_in_background"] and not (store / "embedding.pid").exists()


def test_static_vectors_are_there_when_init_returns(tmp_path: Path) -> None:
    ws, store = tmp_path / "ws", tmp_path / "store"
    make_workspace(ws, 20)
    env = private_env(tmp_path)
    common = ["--workspace", str(ws), "--store", str(store), "--embedder", "none"]
    out = run(env, "init", *common)
    assert out.returncode == 0, out.stderr
    st = status(env, common)
    assert st["counts"]["code_chunks_embedded"] == st["counts"]["code_chunks"] > 0
    assert st["code_embedder"].startswith("static")
    assert not (store / "embedding.pid").exists()  # nothing left for a background process


async def test_the_server_resumes_vectors_an_interrupted_run_left(tmp_path: Path) -> None:
    import asyncio

    from lsprotocol import types as T
    from pytest_lsp import ClientServerConfig, client_capabilities

    ws, store = tmp_path / "ws", tmp_path / "store"
    make_workspace(ws, 10)
    env = private_env(tmp_path)
    common = ["--workspace", str(ws), "--store", str(store), "--embedder", "none"]
    out = run(env, "init", *common)  # returns before the vectors; stop the embedder at once
    assert out.returncode == 0, out.stderr
    pid_file = store / "embedding.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass
    # leave every chunk without a vector, as a run killed before its first write would
    import lancedb

    table = lancedb.connect(str(store)).open_table("code_chunks")
    table.update(values={"embedder": ""})
    total = table.count_rows()
    assert total and table.count_rows("embedder = ''") == total
    config = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_agent", "serve"],
                                server_env=env)
    client = await config.start()
    try:
        await client.initialize_session(T.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=ws.as_uri(),
            workspace_folders=[T.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
            initialization_options={"lspAgent": {"store": str(store), "embedder": "none"}}))
        deadline = time.monotonic() + 120
        while True:
            result = await client.workspace_execute_command_async(T.ExecuteCommandParams(
                command="lspAgent.status", arguments=[{}]))
            counts = result["data"]["counts"]
            if counts["code_chunks_embedded"] == counts["code_chunks"] == total:
                break
            assert time.monotonic() < deadline, counts
            await asyncio.sleep(0.5)
        await client.shutdown_session()
    finally:
        await client.stop()
