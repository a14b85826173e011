"""The shell tool: run one command in the workspace, with approval, a timeout and bounded output.

The command runs through `/bin/sh -c` in its own session (so its own process group). On timeout
or cancellation the whole group is killed, so children such as `sleep 30 &` or a test runner's
workers do not outlive the call. stdout and stderr are merged; only the head and the tail of
long output are kept.

Every command needs approval in `ask` and `accept-edits`. In `auto` none does: choosing `auto`
is the user's explicit choice to let the agent run commands, and a command can write anything
(`.git/config` included), so the protected paths of `protected.py` guard the file tools only;
a shell command cannot be judged by its text (`cd .g''it` is `.git`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from lsp_agent.agent.tools.base import (
    COMMAND_APPROVAL_MODES,
    Tool,
    ToolContext,
    ToolError,
    require_approval,
)
from lsp_agent.agent.tools.paths import resolve_in_workspace, workspace_relative

DEFAULT_TIMEOUT_SECONDS = 60
MAX_TIMEOUT_SECONDS = 600
OUTPUT_HEAD_BYTES = 20_000
OUTPUT_TAIL_BYTES = 20_000
#: After the shell exits, how long to wait for background children to release the output pipe.
PIPE_DRAIN_SECONDS = 2.0
#: Between SIGTERM and SIGKILL of the process group.
KILL_GRACE_SECONDS = 1.0

#: Environment overrides so tools do not wait for a pager or an interactive prompt.
_ENV_OVERRIDES = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "TERM": "dumb",
    "NO_COLOR": "1",
}


class _BoundedOutput:
    """Keeps the first `head` and the last `tail` bytes of a stream and counts the rest."""

    def __init__(self, head: int = OUTPUT_HEAD_BYTES, tail: int = OUTPUT_TAIL_BYTES):
        self._head_limit = head
        self._tail_limit = tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self._tail_limit:
                del self.tail[: len(self.tail) - self._tail_limit]

    def render(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        if not self.tail:
            return head
        cut = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", errors="replace")
        if cut <= 0:
            return (bytes(self.head) + bytes(self.tail)).decode("utf-8", errors="replace")
        return f"{head}\n[... {cut:,} bytes of output omitted ...]\n{tail}"


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _terminate_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group, then SIGKILL it; reap the leader."""
    pgid = proc.pid  # start_new_session=True: the leader's pid is the group id
    _kill_group(pgid, signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), KILL_GRACE_SECONDS)
    except TimeoutError:
        pass
    _kill_group(pgid, signal.SIGKILL)
    await proc.wait()


async def _pump(stream: asyncio.StreamReader, sink: _BoundedOutput) -> None:
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return
        sink.feed(chunk)


def _timeout_value(value: Any) -> float:
    if value is None or value == "":
        return float(DEFAULT_TIMEOUT_SECONDS)
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"timeout_seconds must be a number, got {value!r}.") from exc
    if seconds <= 0:
        raise ToolError("timeout_seconds must be positive.")
    return min(seconds, float(MAX_TIMEOUT_SECONDS))


async def run_command(
    ctx: ToolContext, command: str, timeout_seconds: Any = DEFAULT_TIMEOUT_SECONDS, cwd: str = "."
) -> str:
    if not isinstance(command, str) or not command.strip():
        raise ToolError("command is empty.")
    if "\x00" in command:
        raise ToolError("command contains a NUL byte.")
    timeout = _timeout_value(timeout_seconds)
    workdir = resolve_in_workspace(ctx.workspace, cwd or ".")
    if not workdir.is_dir():
        raise ToolError(f"cwd {cwd!r} is not a directory in the workspace.")

    await require_approval(
        ctx,
        "Run shell command",
        command,
        modes=COMMAND_APPROVAL_MODES,
        refusal=(
            "The user refused to run this command; nothing was run. "
            "Ask the user how they would like to proceed."
        ),
    )

    env = {**os.environ, **_ENV_OVERRIDES}
    # Our own pipe rather than asyncio's: asyncio's Process.wait() also waits for its pipes to
    # close, which a background child (`server &`) can hold open forever.
    read_fd, write_fd = os.pipe()
    try:
        proc = await asyncio.create_subprocess_shell(
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_fd,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(workdir),
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        os.close(read_fd)
        raise ToolError(f"Could not start the command: {exc}") from exc
    finally:
        os.close(write_fd)

    pipe = os.fdopen(read_fd, "rb", buffering=0)
    output = _BoundedOutput()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport: asyncio.BaseTransport | None = None
    pump: asyncio.Task[None] | None = None
    timed_out = False
    orphans_killed = False
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        pump = asyncio.create_task(_pump(reader, output))
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
            await _terminate_group(proc)
        # The shell has exited; background children may still hold the pipe open.
        done, _ = await asyncio.wait({pump}, timeout=PIPE_DRAIN_SECONDS)
        if not done:
            orphans_killed = True
            _kill_group(proc.pid, signal.SIGKILL)
            await asyncio.wait({pump}, timeout=PIPE_DRAIN_SECONDS)
    finally:
        if proc.returncode is None:
            # Cancelled (or failed) while running: take the whole group down.
            _kill_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
        if pump is not None and not pump.done():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        if transport is not None:
            transport.close()
        else:
            pipe.close()

    text = output.render().rstrip("\n")
    where = workspace_relative(ctx.workspace, workdir)
    if timed_out:
        raise ToolError(
            f"Command timed out after {timeout:g} s and was killed with its child processes "
            f"(cwd: {where}).\nOutput before the timeout:\n{text or '(no output)'}"
        )
    notes = []
    if orphans_killed:
        notes.append(
            "[Background processes started by the command kept its output open and were killed.]"
        )
    header = f"Exit code: {proc.returncode}"
    body = text if text else "(no output)"
    return "\n".join([header, body, *notes])


RUN_COMMAND = Tool(
    name="run_command",
    description=(
        "Run a shell command (/bin/sh -c) in the workspace and return its exit code and "
        "combined stdout/stderr. stdin is empty, so interactive programs will not wait for "
        "input. The command and every process it starts are killed after timeout_seconds "
        f"(default {DEFAULT_TIMEOUT_SECONDS}, at most {MAX_TIMEOUT_SECONDS}). Long output is cut "
        "in the middle. Unless the user allowed everything, the user must approve each command."
    ),
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The shell command line."},
            "timeout_seconds": {
                "type": "number",
                "minimum": 1,
                "maximum": MAX_TIMEOUT_SECONDS,
                "default": DEFAULT_TIMEOUT_SECONDS,
            },
            "cwd": {
                "type": "string",
                "description": "Working directory relative to the workspace root.",
                "default": ".",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    },
    fn=run_command,
)

SHELL_TOOLS: list[Tool] = [RUN_COMMAND]

__all__ = ["RUN_COMMAND", "SHELL_TOOLS", "run_command"]
