"""`lsp-agent acp`: the Agent Client Protocol face (Zed, JetBrains, Emacs agent-shell, Neovim
CodeCompanion and avante host coding agents through it), beside the LSP face and the CLI.

It translates only: every use case is a call of the agent service, so an ACP session and an
editor's LSP chat share one workspace agent, its memory and its skills (docs/acp.md). The
SDK (`agent-client-protocol`) and everything heavy load here, never for other commands.
"""

from __future__ import annotations

import logging
import sys
from typing import Any


class _NoTracebacks(logging.Formatter):
    """One line per log record on stderr: a client shows stderr to users as it is."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return ""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.msg} ({type(record.exc_info[1]).__name__}: " \
                         f"{record.exc_info[1]})"
        record.exc_info = None
        record.exc_text = None
        return super().format(record)


def serve(flags: dict[str, Any] | None = None) -> int:
    """Run the ACP agent on stdin/stdout until the client closes it; the exit code."""
    import asyncio

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_NoTracebacks("lsp-agent acp %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    try:
        asyncio.run(_serve(flags or {}))
    except KeyboardInterrupt:
        return 130
    return 0


async def _serve(flags: dict[str, Any]) -> None:
    from acp.agent.connection import AgentSideConnection

    from lsp_agent.acp.agent import LspAgentAcp
    from lsp_agent.acp.transport import stdio_transport

    agent = LspAgentAcp(flags)
    transport = await stdio_transport()
    conn = AgentSideConnection(agent, transport, listening=False)  # type: ignore[arg-type]
    try:
        await conn.listen()
    finally:
        await agent.shutdown()
        await conn.close()


__all__ = ["serve"]
