"""run_command: approval, cwd confinement, timeouts killing the process group, output bounds."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from lsp_agent.agent.tools.base import PermissionMode, ToolContext, ToolError
from lsp_agent.agent.tools.disk_host import DiskToolHost
from lsp_agent.agent.tools.shell import (
    OUTPUT_HEAD_BYTES,
    OUTPUT_TAIL_BYTES,
    SHELL_TOOLS,
    run_command,
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def ctx_for(ws: Path, approve: bool = True, mode=PermissionMode.ASK) -> ToolContext:
    return ToolContext(workspace=ws, host=DiskToolHost(approve), permission_mode=mode)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


async def test_runs_and_reports_exit_code(ws: Path) -> None:
    ctx = ctx_for(ws)
    out = await run_command(ctx, command="echo hello; echo oops >&2; exit 3")
    assert out.splitlines()[0] == "Exit code: 3"
    assert "hello" in out and "oops" in out
    assert ctx.host.approval_requests == [
        ("Run shell command", "echo hello; echo oops >&2; exit 3")
    ]


async def test_cwd_confined_to_workspace(ws: Path) -> None:
    (ws / "sub").mkdir()
    ctx = ctx_for(ws, mode=PermissionMode.AUTO)
    out = await run_command(ctx, command="pwd", cwd="sub")
    assert out.splitlines()[1] == os.path.realpath(ws / "sub")
    with pytest.raises(ToolError, match="outside the workspace"):
        await run_command(ctx, command="pwd", cwd="..")
    with pytest.raises(ToolError, match="not a directory"):
        await run_command(ctx, command="pwd", cwd="missing")


async def test_refused_without_approval(ws: Path) -> None:
    marker = ws / "ran"
    for mode in (PermissionMode.ASK, PermissionMode.ACCEPT_EDITS):
        ctx = ctx_for(ws, approve=False, mode=mode)
        with pytest.raises(ToolError, match="refused"):
            await run_command(ctx, command=f"touch {marker}")
        assert ctx.host.approval_requests == [("Run shell command", f"touch {marker}")]
    assert not marker.exists()


async def test_auto_mode_needs_no_approval(ws: Path) -> None:
    ctx = ctx_for(ws, approve=False, mode=PermissionMode.AUTO)
    out = await run_command(ctx, command="echo ok")
    assert "ok" in out
    assert ctx.host.approval_requests == []


async def test_timeout_kills_process_group(ws: Path) -> None:
    ctx = ctx_for(ws, mode=PermissionMode.AUTO)
    pid_file = ws / "child.pid"
    started = time.monotonic()
    with pytest.raises(ToolError, match="timed out") as info:
        await run_command(
            ctx,
            command=f"sleep 30 & echo $! > {pid_file}; echo started; wait",
            timeout_seconds=1,
        )
    assert time.monotonic() - started < 10
    assert "started" in str(info.value)
    child = int(pid_file.read_text())
    assert _wait_dead(child), "the sleep 30 child survived the timeout"


async def test_background_child_holding_pipe_is_killed(ws: Path) -> None:
    ctx = ctx_for(ws, mode=PermissionMode.AUTO)
    pid_file = ws / "child.pid"
    started = time.monotonic()
    out = await run_command(ctx, command=f"sleep 30 & echo $! > {pid_file}; echo done")
    assert time.monotonic() - started < 10
    assert out.splitlines()[0] == "Exit code: 0" and "done" in out
    assert "killed" in out
    assert _wait_dead(int(pid_file.read_text()))


async def test_cancellation_kills_process_group(ws: Path) -> None:
    ctx = ctx_for(ws, mode=PermissionMode.AUTO)
    pid_file = ws / "child.pid"
    task = asyncio.create_task(
        run_command(ctx, command=f"sleep 30 & echo $! > {pid_file}; wait", timeout_seconds=60)
    )
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _wait_dead(int(pid_file.read_text()))


async def test_output_is_bounded_head_and_tail(ws: Path) -> None:
    ctx = ctx_for(ws, mode=PermissionMode.AUTO)
    total_lines = 20_000  # "line NNNNN\n" = 11 bytes each, 220 KB
    out = await run_command(
        ctx,
        command=f"i=0; while [ $i -lt {total_lines} ]; do printf 'line %05d\\n' $i; i=$((i+1)); done",
    )
    assert "line 00000" in out
    assert f"line {total_lines - 1:05d}" in out
    assert "line 10000" not in out
    assert "bytes of output omitted" in out
    assert len(out) < OUTPUT_HEAD_BYTES + OUTPUT_TAIL_BYTES + 500


async def test_no_stdin(ws: Path) -> None:
    ctx = ctx_for(ws, mode=PermissionMode.AUTO)
    out = await run_command(ctx, command="cat; echo after", timeout_seconds=10)
    assert out.splitlines() == ["Exit code: 0", "after"]


def test_schema() -> None:
    assert [t.name for t in SHELL_TOOLS] == ["run_command"]
    params = SHELL_TOOLS[0].schema()["function"]["parameters"]
    assert params["required"] == ["command"]
