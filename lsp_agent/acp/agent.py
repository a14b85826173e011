"""The ACP agent: every `session/*` method translated to the agent service, nothing more.

A session is a conversation of the workspace at its `cwd` (the same store the LSP face and
the CLI use); `session/load` replays it. A prompt runs one turn (or a slash command of the
registry); its events stream as `session/update`; `session/cancel` stops it the way the LSP
face does (what was streamed is kept, with "(stopped by the user)").
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from acp import RequestError
from acp import helpers as h
from acp import schema as S

from lsp_agent import __version__
from lsp_agent.acp.host import AcpToolHost, current
from lsp_agent.acp.session import MODES, AcpIo, Session, mcp_specs
from lsp_agent.acp.stream import TurnStream, replay
from lsp_agent.errors import LspAgentError, NotFound, UsageError, as_user_error

log = logging.getLogger(__name__)

#: The registry's slash commands an ACP session offers (/new, /fork...: the editor's own
#: thread buttons do that).
SLASHES = ("init", "remember", "search", "skill", "reflect", "memory", "help")
STOP_REASONS = {"done": "end_turn", "max_steps": "max_turn_requests",
                "max_tokens": "max_tokens", "timeout": "end_turn"}
INVALID_PARAMS, INTERNAL_ERROR = -32602, -32603

T = TypeVar("T")


def _sentences(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Our errors become JSON-RPC errors whose message is the sentence saying what to do."""
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return await fn(*args, **kwargs)
        except RequestError:
            raise
        except Exception as exc:
            error = as_user_error(exc)
            if error is None:
                log.exception("%s failed", fn.__name__)
                raise RequestError(INTERNAL_ERROR, f"lsp-agent failed unexpectedly "
                                   f"({type(exc).__name__}); the log on stderr has details."
                                   ) from exc
            code = INVALID_PARAMS if isinstance(error, (UsageError, NotFound)) else INTERNAL_ERROR
            raise RequestError(code, str(error)) from exc

    return wrapper


class LspAgentAcp:
    """The `acp.Agent` of lsp-agent. `flags`: settings from the command line."""

    def __init__(self, flags: dict[str, Any] | None = None) -> None:
        self.flags = flags or {}
        self.client: Any = None
        self.caps: S.ClientCapabilities | None = None
        self.sessions: dict[str, Session] = {}
        self.host = AcpToolHost()
        self._workspaces: Any = None
        self._locks: dict[Path, asyncio.Lock] = {}

    def on_connect(self, conn: Any) -> None:
        self.client = conn

    # -- lifecycle ---------------------------------------------------------------------------

    async def initialize(self, protocol_version: int,
                         client_capabilities: S.ClientCapabilities | None = None,
                         client_info: S.Implementation | None = None,
                         **kwargs: Any) -> S.InitializeResponse:
        from acp import PROTOCOL_VERSION

        self.caps = client_capabilities
        return S.InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=S.AgentCapabilities(
                load_session=True,
                prompt_capabilities=S.PromptCapabilities(image=False, audio=False,
                                                         embedded_context=True),
                mcp_capabilities=S.McpCapabilities(http=True, sse=False),
                session_capabilities=S.SessionCapabilities(list=S.SessionListCapabilities())),
            auth_methods=[],
            agent_info=S.Implementation(name="lsp-agent", title="lsp-agent",
                                        version=__version__))

    async def authenticate(self, method_id: str, **kwargs: Any) -> None:
        raise RequestError(INVALID_PARAMS, "lsp-agent needs no authentication; the model's "
                                           "API key comes from the environment.")

    def _service(self, cwd: str) -> Any:
        path = Path(cwd)
        if not path.is_absolute() or not path.is_dir():
            raise UsageError(f"cwd must be an absolute path to an existing folder, not "
                             f"'{cwd}'.")
        if self._workspaces is None:
            from lsp_agent.config import parse_settings
            from lsp_agent.service import Workspaces

            flags = self.flags

            def settings(_path: Path) -> Any:
                got, warnings = parse_settings(flags)
                for warning in warnings:
                    log.warning("%s", warning)
                return got

            self._workspaces = Workspaces(settings, self.host)
        return self._workspaces.get(path)

    async def _open(self, session_id: str, cwd: str, service: Any,
                    mcp_servers: list[Any] | None) -> Session:
        caps = self.caps or S.ClientCapabilities()
        fs = caps.fs or S.FileSystemCapabilities()
        session = Session(id=session_id, cwd=Path(cwd), service=service, client=self.client,
                          stream=TurnStream(session_id, self.client, service),
                          mode=str(service.settings.permission_mode),
                          client_reads=bool(fs.read_text_file),
                          client_writes=bool(fs.write_text_file),
                          client_terminal=bool(caps.terminal))
        specs = mcp_specs(mcp_servers)
        if specs:
            from lsp_agent.service.session_tools import McpConnections

            session.mcp = McpConnections(specs, service.workspace)
            await session.mcp.open()
            for warning in session.mcp.warnings:
                session.stream.put_update(h.update_agent_thought_text(warning + "\n"))
        old = self.sessions.pop(session_id, None)
        if old is not None:
            await self._close(old)
        self.sessions[session_id] = session
        return session

    def _modes(self, session: Session) -> S.SessionModeState:
        return S.SessionModeState(current_mode_id=session.mode, available_modes=[
            S.SessionMode(id=i, name=n, description=d) for i, n, d in MODES])

    def _advertise(self, session: Session) -> None:
        """The slash commands, sent after the answer that told the client the session id."""
        from lsp_agent.commands.slash import BY_NAME

        commands = [S.AvailableCommand(name=n, description=BY_NAME[n].description,
                                       input=S.UnstructuredCommandInput(hint=BY_NAME[n].usage))
                    for n in SLASHES]
        session.stream.put_update(S.AvailableCommandsUpdate(
            session_update="available_commands_update", available_commands=commands))

    @_sentences
    async def new_session(self, cwd: str, mcp_servers: list[Any] | None = None,
                          **kwargs: Any) -> S.NewSessionResponse:
        service = await asyncio.to_thread(self._service, cwd)
        for notice in service.take_notices():
            log.info("%s", notice)
        conv = await service.conversation_start()
        session = await self._open(conv.id, cwd, service, mcp_servers)
        asyncio.get_running_loop().call_soon(self._advertise, session)
        return S.NewSessionResponse(session_id=conv.id, modes=self._modes(session))

    @_sentences
    async def load_session(self, cwd: str, session_id: str,
                           mcp_servers: list[Any] | None = None,
                           **kwargs: Any) -> S.LoadSessionResponse:
        service = await asyncio.to_thread(self._service, cwd)
        conv = await service.conversation_get(session_id)
        if conv.id != session_id:
            raise NotFound(f"No session '{session_id}' in {cwd}; session/list shows them.")
        session = await self._open(conv.id, cwd, service, mcp_servers)
        await replay(session.stream, service, conv.id)  # before the answer, as the spec says
        asyncio.get_running_loop().call_soon(self._advertise, session)
        return S.LoadSessionResponse(modes=self._modes(session))

    @_sentences
    async def list_sessions(self, cwd: str | None = None, cursor: str | None = None,
                            **kwargs: Any) -> S.ListSessionsResponse:
        folders = ([cwd] if cwd else
                   sorted({str(s.cwd) for s in self.sessions.values()}))
        infos = []
        for folder in folders:
            service = await asyncio.to_thread(self._service, folder)
            for conv in await service.conversation_list():
                infos.append(S.SessionInfo(session_id=conv.id, cwd=folder,
                                           title=conv.title or None,
                                           updated_at=conv.updated_at))
        return S.ListSessionsResponse(sessions=infos)

    @_sentences
    async def set_session_mode(self, session_id: str, mode_id: str,
                               **kwargs: Any) -> S.SetSessionModeResponse:
        session = self._session(session_id)
        if mode_id not in {m[0] for m in MODES}:
            raise UsageError(f"Unknown mode '{mode_id}'; use one of: "
                             f"{', '.join(m[0] for m in MODES)}.")
        if mode_id == "auto" and not session.service.settings.trust_workspace:
            raise UsageError("Mode 'auto' runs commands without asking, so it needs a trusted "
                             "workspace: start `lsp-agent acp --trust` (or set "
                             "LSP_AGENT_TRUST_WORKSPACE=1) for workspaces you trust.")
        session.mode = mode_id
        return S.SetSessionModeResponse()

    def _session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise UsageError(f"No open session '{session_id}'; call session/new, or "
                             "session/load to reopen a stored one.")
        return session

    # -- turns -------------------------------------------------------------------------------

    @_sentences
    async def prompt(self, session_id: str, prompt: list[Any],
                     **kwargs: Any) -> S.PromptResponse:
        session = self._session(session_id)
        if session.turn is not None and not session.turn.done():
            raise UsageError("This session is still answering; wait for it, or cancel it "
                             "with session/cancel.")
        text = _prompt_text(prompt)
        session.turn = asyncio.create_task(self._run(session, text))
        await asyncio.wait({session.turn})
        await session.stream.drain()
        if session.turn.cancelled():
            return S.PromptResponse(stop_reason="cancelled")
        return S.PromptResponse(stop_reason=session.turn.result())  # type: ignore[arg-type]

    async def _run(self, session: Session, text: str) -> str:
        from lsp_agent.commands import slash
        from lsp_agent.config import PermissionMode
        from lsp_agent.service.session_tools import offered

        service = session.service
        service.touch()  # the user is active: a running background reflection yields
        lock = self._locks.setdefault(service.workspace, asyncio.Lock())
        async with lock:  # one turn at a time per workspace: the mode below is per service
            service.update_settings(service.settings.model_copy(
                update={"permission_mode": PermissionMode(session.mode)}))
            token = current.set(session)
            try:
                with offered(session.tools()):
                    parsed = slash.parse(text)
                    if not isinstance(parsed, str):
                        return await self._slash(session, parsed[0], parsed[1])
                    result = await service.ask(parsed, conversation_id=session.id,
                                               on_event=session.stream.put)
            except LspAgentError as exc:
                session.stream.put_update(h.update_agent_message_text(str(exc)))
                return "end_turn"
            finally:
                current.reset(token)
        service.reflection.maybe_start()
        return STOP_REASONS.get(result.stopped, "end_turn")

    async def _slash(self, session: Session, command: Any, rest: str) -> str:
        from lsp_agent.commands import slash

        if command.name not in SLASHES:
            raise UsageError(f"/{command.name} is not used in ACP sessions: start or pick a "
                             "thread in your editor instead.")
        result = await slash.run(session.service, command, rest, session.id, AcpIo(session))
        session.stream.put_update(h.update_agent_message_text(result.doc.markdown()))
        return "end_turn"

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            log.info("session/cancel for an unknown session %s: nothing to stop", session_id)
            return
        if session.turn is not None and not session.turn.done():
            session.turn.cancel()

    async def _close(self, session: Session) -> None:
        if session.turn is not None and not session.turn.done():
            session.turn.cancel()
        if session.mcp is not None:
            await session.mcp.close()

    async def shutdown(self) -> None:
        for session in list(self.sessions.values()):
            await self._close(session)
        if self._workspaces is not None:
            self._workspaces.close()


def _prompt_text(blocks: list[Any]) -> str:
    """The prompt's text: text blocks, with linked and embedded files as context after it."""
    parts: list[str] = []
    for block in blocks:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource_link":
            parts.append(f"[{block.name}]({block.uri})")
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(f"\n\nContext: {block.resource.uri}\n```\n{block.resource.text}\n```")
        else:
            raise UsageError(f"lsp-agent takes text prompts (with linked or embedded text "
                             f"files); a '{kind}' block cannot be read. Remove it and ask "
                             "again.")
    text = "".join(parts) if len(parts) == 1 else " ".join(parts)
    if not text.strip():
        raise UsageError("The prompt is empty: send some text for the agent.")
    return text
