"""`lspAgent.*` commands over LSP: parse the arguments, run the registry's handler with an `Io`
that speaks LSP ($/progress, lspAgent/event), and answer `{ok, command, data, markdown}`.

Everything else (what a command does, how its result reads) lives in `lsp_agent.commands`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_agent.commands import BY_LSP_NAME
from lsp_agent.commands.arguments import parse_args
from lsp_agent.commands.spec import EventSink, ProgressFn
from lsp_agent.server.documents import open_uris, text_at
from lsp_agent.server.host import inline_approvals
from lsp_agent.server.progress import Progress

if TYPE_CHECKING:
    from lsp_agent.server.app import AgentServer
    from lsp_agent.service import AgentService


class LspIo:
    """How a command talks to the editor while it runs."""

    lives_on = True

    def __init__(self, ls: AgentServer, service: AgentService) -> None:
        self.ls = ls
        self.service = service

    @asynccontextmanager
    async def progress(self, title: str) -> AsyncIterator[ProgressFn]:
        async with Progress(self.ls, title) as progress:
            yield progress.report

    def events(self, conversation_id: str | None) -> EventSink:
        workspace = str(self.service.workspace)

        known: list[str | None] = [conversation_id]

        def sink(event: dict[str, object]) -> None:
            # a turn's events name their conversation; look up the active one (a store read)
            # only for the events of work outside a turn, and only once
            if "conversation_id" not in event and known[0] is None:
                known[0] = self.service.conversations.active_id()
            self.ls.event({"workspace": workspace, "conversation_id": known[0], **event})

        return sink

    def document_text(self, path: Path) -> str | None:
        return text_at(self.ls, path)

    async def confirm(self, question: str, detail: str, *, edit_follows: bool = False) -> bool:
        if edit_follows:  # workspace/applyEdit is the editor's own review
            return True
        return bool(await self.ls.host.approve(question.rstrip("?"), detail))


async def run_command(ls: AgentServer, name: str, raw: tuple[Any, ...]) -> dict[str, Any]:
    command = BY_LSP_NAME[name]
    args = parse_args(command.args, raw)
    workspace = ls.workspace_for(args.workspace, args.uri)
    service = await asyncio.to_thread(ls.agents.get, workspace)
    for notice in service.take_notices():
        ls.show(notice)
    ls.agents.watch_idle()
    if name != "lspAgent.reflect":
        service.touch()  # the user is active: a running background reflection yields
    if getattr(args, "inline_approvals", False):
        inline_approvals.set(True)  # this request's task only
    result = await command.run(service, args, LspIo(ls, service))
    if name == "lspAgent.ask":
        service.reflection.maybe_start()  # every N turns
    if not command.reads_only:  # it may have anchored, fixed or edited memory: views refresh
        from lsp_agent.server.code_memory import publish

        publish(ls, open_uris(ls))
    return {"ok": True, "command": name, "data": result.data, "markdown": result.doc.markdown()}
