"""Tools a face brings to its own session's turns: the MCP servers an ACP client passed in
`session/new`, and `run_command` running in the client's terminal.

A face sets them with `offered(tools)` around a turn; `AgentService` adds `session_tools()` to
the agent's tools (a tool of the same name replaces the built-in one, so the terminal
`run_command` takes the confined shell's place). Every MCP tool call asks for approval as the
permission mode says for shell commands: an MCP server can do anything a command can.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_agent.agent.tools.base import (
    COMMAND_APPROVAL_MODES,
    Tool,
    ToolContext,
    ToolError,
    require_approval,
)
from lsp_agent.agent.tools.paths import resolve_in_workspace, workspace_relative

log = logging.getLogger(__name__)

_offered: ContextVar[tuple[Tool, ...]] = ContextVar("lsp_agent_session_tools", default=())

#: How long an MCP server may take to start and list its tools before the session goes on
#: without it (a warning says so).
MCP_START_SECONDS = 30.0
MCP_CALL_SECONDS = 120.0
MCP_RESULT_CHARS = 20_000


def session_tools() -> tuple[Tool, ...]:
    """The tools the face offered for the turn running in this context."""
    return _offered.get()


@contextlib.contextmanager
def offered(tools: Sequence[Tool]) -> Iterator[None]:
    """Offer `tools` to the turns run inside this block (this task only)."""
    token = _offered.set(tuple(tools))
    try:
        yield
    finally:
        _offered.reset(token)


# -- MCP ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class McpServerSpec:
    """An MCP server as a client describes it: a command (stdio) or a URL (http)."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class McpConnections:
    """The MCP servers of one session, each held open by a task of its own (the mcp client's
    streams must be opened and closed in one task) until `close()`."""

    specs: Sequence[McpServerSpec]
    workspace: Path
    tools: list[Tool] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def open(self) -> None:
        for spec in self.specs:
            ready: asyncio.Future[list[Tool]] = asyncio.get_running_loop().create_future()
            self._tasks.append(asyncio.create_task(self._hold(spec, ready),
                                                   name=f"lsp-agent-mcp-{spec.name}"))
            try:
                self.tools.extend(await asyncio.wait_for(asyncio.shield(ready),
                                                         MCP_START_SECONDS))
            except TimeoutError:
                self.warnings.append(f"MCP server '{spec.name}' did not start within "
                                     f"{MCP_START_SECONDS:g} s; its tools are not offered.")
            except Exception as exc:  # noqa: BLE001 - a broken server must not stop the session
                self.warnings.append(f"MCP server '{spec.name}' could not be used: "
                                     f"{type(exc).__name__}: {exc}. Check its command and "
                                     "arguments in the editor's settings.")

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)

    async def _hold(self, spec: McpServerSpec, ready: asyncio.Future[list[Tool]]) -> None:
        from mcp import Client, StdioServerParameters

        try:
            if spec.command:
                target: Any = StdioServerParameters(command=spec.command, args=list(spec.args),
                                                    env=dict(spec.env) or None,
                                                    cwd=str(self.workspace))
            elif spec.url and spec.headers:  # headers (a token) need a client of our own
                import httpx2
                from mcp.client.streamable_http import streamable_http_client

                target = streamable_http_client(spec.url, http_client=httpx2.AsyncClient(
                    headers=dict(spec.headers), timeout=httpx2.Timeout(30.0, read=300.0)))
            elif spec.url:
                target = spec.url
            else:
                raise ToolError("it has neither a command nor a URL")
            async with Client(target) as client:
                listed = await client.list_tools()
                calls = asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[str]]]()
                tools = [_mcp_tool(spec.name, t, calls) for t in listed.tools]
                ready.set_result(tools)
                await self._serve(client, calls)
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else
                                    RuntimeError("stopped"))
            if not isinstance(exc, Exception):
                raise
            log.info("MCP server %s ended: %s", spec.name, exc)

    async def _serve(self, client: Any,
                     calls: asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[str]]]
                     ) -> None:
        """Run the calls the agent's tools queue, in this task, until the session closes."""
        stop = asyncio.create_task(self._stop.wait())
        try:
            while True:
                get = asyncio.create_task(calls.get())
                done, _ = await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
                if stop in done:
                    get.cancel()
                    return
                name, arguments, answer = get.result()
                if answer.done():  # the turn was cancelled meanwhile
                    continue
                try:
                    result = await asyncio.wait_for(client.call_tool(name, arguments),
                                                    MCP_CALL_SECONDS)
                    text = _result_text(result)
                    if getattr(result, "is_error", False):
                        text = f"Error: {text}"
                    if not answer.done():
                        answer.set_result(text)
                except Exception as exc:  # noqa: BLE001 - returned to the model as its result
                    if not answer.done():
                        answer.set_result(f"Error: the MCP call failed: {exc}")
        finally:
            stop.cancel()


def _result_text(result: Any) -> str:
    parts = []
    for item in getattr(result, "content", []) or []:
        text = getattr(item, "text", None)
        parts.append(text if isinstance(text, str) else
                     json.dumps(item.model_dump(mode="json"), default=str)[:2000])
    return "\n".join(parts)[:MCP_RESULT_CHARS] or "(no output)"


def _mcp_tool(server: str, listed: Any,
              calls: asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[str]]]) -> Tool:
    name = f"mcp__{_slug(server)}__{listed.name}"[:64]
    schema = dict(listed.input_schema or {"type": "object", "properties": {}})
    schema.setdefault("properties", {})

    async def call(ctx: ToolContext, **arguments: Any) -> str:
        await require_approval(ctx, f"Use MCP tool {server}/{listed.name}",
                               json.dumps(arguments, ensure_ascii=False)[:2000],
                               modes=COMMAND_APPROVAL_MODES,
                               refusal=f"The user refused the MCP tool {listed.name}; it did "
                                       "not run. Ask the user how to proceed.")
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        await calls.put((listed.name, arguments, answer))
        try:
            text = await answer
        except asyncio.CancelledError:
            answer.cancel()
            raise
        if text.startswith("Error: "):
            raise ToolError(text[len("Error: "):])
        return text

    return Tool(name=name, description=f"[MCP server {server}] {listed.description or ''}",
                parameters=schema, fn=call)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in text) or "server"


# -- the client's terminal ------------------------------------------------------------------------

#: (command line, absolute working directory, timeout seconds) -> (exit code, output)
TerminalRunner = Callable[[str, str, float], Awaitable[tuple[int | None, str]]]


def terminal_tool(run: TerminalRunner) -> Tool:
    """`run_command` in the client's terminal: the same approvals and workspace confinement
    as the built-in shell tool; the user sees the command run in their editor."""
    from lsp_agent.agent.tools.shell import RUN_COMMAND, _timeout_value

    async def run_command(ctx: ToolContext, command: str, timeout_seconds: Any = None,
                          cwd: str = ".") -> str:
        if not isinstance(command, str) or not command.strip() or "\x00" in command:
            raise ToolError("command is empty (or holds a NUL byte).")
        timeout = _timeout_value(timeout_seconds)
        workdir = resolve_in_workspace(ctx.workspace, cwd or ".")
        if not workdir.is_dir():
            raise ToolError(f"cwd {cwd!r} is not a directory in the workspace.")
        await require_approval(ctx, "Run shell command", command, modes=COMMAND_APPROVAL_MODES,
                               refusal="The user refused to run this command; nothing was "
                                       "run. Ask the user how they would like to proceed.")
        code, output = await run(command, str(workdir), timeout)
        where = workspace_relative(ctx.workspace, workdir)
        if code is None:
            raise ToolError(f"Command timed out after {timeout:g} s and was killed (cwd: "
                            f"{where}).\nOutput before the timeout:\n{output or '(no output)'}")
        return f"Exit code: {code}\n{output or '(no output)'}"

    return Tool(name=RUN_COMMAND.name, description=RUN_COMMAND.description,
                parameters=RUN_COMMAND.parameters, fn=run_command)


# -- reading through the host -------------------------------------------------------------------

def host_read_tool() -> Tool:
    """`read_file` that asks the host first (an ACP client's `fs/read_text_file`: the editor's
    unsaved buffer), inside the workspace as ever; the disk when the host has no text."""
    from lsp_agent.agent.tools.base import optional_int_argument
    from lsp_agent.agent.tools.read_tools import (
        READ_FILE,
        READ_MAX_BYTES,
        READ_MAX_LINE_CHARS,
        READ_MAX_LINES,
    )

    async def read_file(ctx: ToolContext, path: str, start_line: Any = None,
                        end_line: Any = None) -> str:
        target = resolve_in_workspace(ctx.workspace, path)
        reader = getattr(ctx.host, "read_text", None)
        text = await reader(target) if reader is not None and not target.is_dir() else None
        if text is None:
            return await READ_FILE.fn(ctx, path, start_line, end_line)
        start = optional_int_argument(start_line, "start_line") or 1
        end = optional_int_argument(end_line, "end_line")
        rel = workspace_relative(ctx.workspace, target)
        lines = text.splitlines()
        if not lines:
            return f"({rel} is empty)"
        if start > len(lines):
            raise ToolError(f"{rel} has {len(lines)} lines; start_line={start} is past the end.")
        out: list[str] = []
        size = 0
        last = min(len(lines), end or len(lines))
        for number in range(start, last + 1):
            line = lines[number - 1]
            if len(line) > READ_MAX_LINE_CHARS:
                line = line[:READ_MAX_LINE_CHARS] + " [... more characters]"
            rendered = f"{number:6}\t{line}"
            if len(out) >= READ_MAX_LINES or size + len(rendered) + 1 > READ_MAX_BYTES:
                out.append(f"[Output truncated: showed lines {start}-{number - 1} of "
                           f"{len(lines)}. To read further, call read_file with "
                           f"start_line={number}.]")
                break
            out.append(rendered)
            size += len(rendered) + 1
        return "\n".join(out)

    return Tool(name=READ_FILE.name, description=READ_FILE.description,
                parameters=READ_FILE.parameters, fn=read_file)


# -- the plan ----------------------------------------------------------------------------------

PlanSink = Callable[[list[dict[str, str]]], Awaitable[None]]
PLAN_STATUSES = ("pending", "in_progress", "completed")
PLAN_PRIORITIES = ("high", "medium", "low")


def plan_tool(show: PlanSink) -> Tool:
    """`update_plan`: the model keeps a visible task list for a multi-step job; the face shows
    it (ACP's plan view). Nothing is stored: the plan is a view of the turn, not memory."""

    async def update_plan(ctx: ToolContext, entries: Any) -> str:
        if not isinstance(entries, list) or not entries:
            raise ToolError("entries must be a non-empty list of {content, status, priority}.")
        clean = []
        for entry in entries[:50]:
            if not isinstance(entry, dict) or not str(entry.get("content", "")).strip():
                raise ToolError("each entry needs a non-empty content.")
            status = str(entry.get("status", "pending"))
            priority = str(entry.get("priority", "medium"))
            clean.append({"content": str(entry["content"])[:500],
                          "status": status if status in PLAN_STATUSES else "pending",
                          "priority": priority if priority in PLAN_PRIORITIES else "medium"})
        await show(clean)
        done = sum(1 for e in clean if e["status"] == "completed")
        return f"Plan shown to the user ({done}/{len(clean)} done)."

    return Tool(
        name="update_plan",
        description="Show the user your plan for a multi-step task as a checklist; send the "
                    "whole list each time, with each step's status (pending, in_progress, "
                    "completed).",
        parameters={"type": "object", "properties": {"entries": {
            "type": "array", "items": {"type": "object", "properties": {
                "content": {"type": "string"},
                "status": {"type": "string", "enum": list(PLAN_STATUSES)},
                "priority": {"type": "string", "enum": list(PLAN_PRIORITIES)}},
                "required": ["content", "status"]}}},
            "required": ["entries"]},
        fn=update_plan)


__all__ = ["McpConnections", "McpServerSpec", "PlanSink", "TerminalRunner", "host_read_tool",
           "offered", "plan_tool", "session_tools", "terminal_tool"]
