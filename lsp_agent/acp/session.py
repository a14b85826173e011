"""One ACP session: a conversation of a workspace's agent, the client that opened it, what
that client offers (fs, terminal), the permission mode chosen in it, and its MCP servers.

Also the session's terminal (commands run in the client's terminal when it has one) and the
`Io` through which the registry's slash commands talk to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_agent.acp.stream import TurnStream

if TYPE_CHECKING:
    from lsp_agent.commands.spec import EventSink, ProgressFn
    from lsp_agent.service import AgentService
    from lsp_agent.service.session_tools import McpConnections

#: The permission modes as ACP session modes (id = lsp_agent.config.PermissionMode value).
MODES = (("ask", "Ask", "Edits and shell commands ask for approval first."),
         ("accept-edits", "Accept edits", "Edits go through; shell commands ask first."),
         ("auto", "Auto", "Nothing asks (a trusted workspace only)."))
TERMINAL_OUTPUT_BYTES = 40_000


@dataclass
class Session:
    id: str  # the conversation's id
    cwd: Path
    service: AgentService
    client: Any  # the SDK's connection to the client
    stream: TurnStream
    mode: str
    client_reads: bool = False
    client_writes: bool = False
    client_terminal: bool = False
    always: set[str] = field(default_factory=set)
    mcp: McpConnections | None = None
    turn: asyncio.Task[Any] | None = None

    def tools(self) -> list[Any]:
        """The tools this session adds to (or puts in place of) the agent's own."""
        from lsp_agent.service.session_tools import host_read_tool, plan_tool, terminal_tool

        tools: list[Any] = [plan_tool(self._show_plan)]
        if self.client_reads:
            tools.append(host_read_tool())
        if self.client_terminal:
            tools.append(terminal_tool(self.run_in_terminal))
        if self.mcp is not None:
            tools.extend(self.mcp.tools)
        return tools

    async def _show_plan(self, entries: list[dict[str, str]]) -> None:
        from acp import helpers as h

        self.stream.put_update(h.update_plan(
            h.plan_entry(e["content"], priority=e["priority"],  # type: ignore[arg-type]
                         status=e["status"]) for e in entries))  # type: ignore[arg-type]

    async def run_in_terminal(self, command: str, cwd: str,
                              timeout: float) -> tuple[int | None, str]:
        """Run `command` in the client's terminal, shown in the tool call's row."""
        from acp import helpers as h

        created = await self.client.create_terminal(
            session_id=self.id, command="/bin/sh", args=["-c", command], cwd=cwd,
            output_byte_limit=TERMINAL_OUTPUT_BYTES)
        terminal_id = created.terminal_id
        try:
            if self.stream.open_call:
                self.stream.put_update(h.update_tool_call(
                    self.stream.open_call, content=[h.tool_terminal_ref(terminal_id)]))
            try:
                exit_status = await asyncio.wait_for(self.client.wait_for_terminal_exit(
                    session_id=self.id, terminal_id=terminal_id), timeout)
            except TimeoutError:
                await self.client.kill_terminal(session_id=self.id, terminal_id=terminal_id)
                exit_status = None
            out = await self.client.terminal_output(session_id=self.id,
                                                    terminal_id=terminal_id)
            text = str(out.output)
            if out.truncated:
                text = "[... the start of the output was cut]\n" + text
            if exit_status is None:
                return None, text
            code = exit_status.exit_code
            return (code if code is not None else 128), text
        finally:
            with contextlib.suppress(Exception):
                await self.client.release_terminal(session_id=self.id, terminal_id=terminal_id)


def mcp_specs(servers: list[Any] | None) -> list[Any]:
    """The SDK's MCP server descriptions as the service's `McpServerSpec`s."""
    from lsp_agent.service.session_tools import McpServerSpec

    specs = []
    for s in servers or []:
        if getattr(s, "command", None):
            specs.append(McpServerSpec(name=s.name, command=s.command, args=tuple(s.args or ()),
                                       env=tuple((e.name, e.value) for e in s.env or ())))
        elif getattr(s, "url", None) and getattr(s, "type", "") == "http":
            specs.append(McpServerSpec(name=s.name, url=str(s.url), headers=tuple(
                (hd.name, hd.value) for hd in getattr(s, "headers", None) or ())))
    return specs


class AcpIo:
    """How a registry command (a slash command) talks to the ACP client while it runs:
    progress and events as updates of the session, confirmations as permission requests."""

    lives_on = True

    def __init__(self, session: Session) -> None:
        self.session = session

    @asynccontextmanager
    async def progress(self, title: str) -> AsyncIterator[ProgressFn]:
        from acp import helpers as h

        def report(message: str, _pct: int | None = None) -> None:
            if message:
                self.session.stream.put_update(h.update_agent_thought_text(f"{message}\n"))

        report(title)
        yield report

    def events(self, conversation_id: str | None) -> EventSink:
        return self.session.stream.put

    def document_text(self, path: Path) -> str | None:
        return None  # the client's buffers are read by the file tools, asynchronously

    async def confirm(self, question: str, detail: str, *, edit_follows: bool = False) -> bool:
        if edit_follows:  # the edit itself goes through the approvals of the session
            return True
        return bool(await self.session.service.host.approve(question.rstrip("?"), detail))


__all__ = ["MODES", "AcpIo", "Session", "mcp_specs"]
