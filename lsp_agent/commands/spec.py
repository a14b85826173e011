"""What a command is: declared once, run the same way by every face.

A face (LSP server, CLI) parses a command's arguments into its model, opens the workspace's
`AgentService`, hands the handler an `Io` (how this face shows progress, streams events and
asks the user) and renders the `Result` it gets back: `data` as JSON, `doc` as markdown or
plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lsp_agent.commands.arguments import Args
    from lsp_agent.render import Doc
    from lsp_agent.service import AgentService

ProgressFn = Callable[[str, "int | None"], None]
EventSink = Callable[[dict[str, object]], None]


class Io(Protocol):
    """What a handler may ask of its face while it runs."""

    #: The face's process lives on after the command (a server): background work may go on
    #: in it. False for the CLI, whose background work must be a process of its own.
    lives_on: bool

    def progress(self, title: str) -> AbstractAsyncContextManager[ProgressFn]:
        """A progress reporter for long work (LSP `$/progress`, or lines on stderr)."""
        ...

    def events(self, conversation_id: str | None) -> EventSink:
        """Where the agent's events go while a turn runs (`lspAgent/event`, or stderr)."""
        ...

    def document_text(self, path: Path) -> str | None:
        """The editor's text of an open file (unsaved changes included), else None."""
        ...

    async def confirm(self, question: str, detail: str, *, edit_follows: bool = False) -> bool:
        """Ask the user to confirm something that cannot be undone (or that runs code).

        `edit_follows`: the change is then proposed as an edit, which an editor shows for
        review anyway (a face with such a review may answer yes at once)."""
        ...


@dataclass(frozen=True)
class Result:
    data: Any  # JSON-ready: the LSP result's `data`, the CLI's `--json`
    doc: Doc


Handler = Callable[["AgentService", Any, Io], Coroutine[Any, Any, Result]]


@dataclass(frozen=True)
class Command:
    """One command. `name` is its LSP name after `lspAgent.`; `cli` its words on the command
    line; `reads_only` commands start no background work, so they load the embedder only when
    their query needs a vector (never for blocks, skills, history or lists); `lsp_only`
    commands answer something a running server waits for, so the CLI has no such subcommand;
    `streams`: a turn whose events the CLI can print (`--output-format stream-json`)."""

    name: str
    cli: tuple[str, ...]
    args_model: str  # a class of lsp_agent.commands.arguments
    handler: str  # a coroutine of lsp_agent.commands.handlers
    help: str
    reads_only: bool = False
    lsp_only: bool = False
    streams: bool = False

    @property
    def lsp_name(self) -> str:
        return f"lspAgent.{self.name}"

    @property
    def args(self) -> type[Args]:
        model: type[Args] = getattr(import_module("lsp_agent.commands.arguments"), self.args_model)
        return model

    @property
    def run(self) -> Handler:
        """The handler; a full or read-only disk under it is told as one sentence naming the
        store's folder (never a traceback, never the server's "internal error")."""
        handler: Handler = getattr(import_module("lsp_agent.commands.handlers"), self.handler)

        async def run(svc: AgentService, args: Any, io: Io) -> Result:
            try:
                return await handler(svc, args, io)
            except Exception as exc:
                disk = svc.storage_error(exc)
                if disk is None or disk is exc:
                    raise
                raise disk from exc

        run.__name__ = run.__qualname__ = self.handler
        return run
