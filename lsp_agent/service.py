"""WorkspaceAgents: one persistent agent per workspace folder, created on first use.

Plain Python: the LSP server and the CLI both drive agents through this, so every command works
headless. An agent's conversations, memory and active conversation are restored from its store.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsp_agent.agent.tools.base import Tool, ToolContext, ToolHost
from lsp_agent.config import Settings
from lsp_agent.errors import ModelNotConfigured
from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.schema import Conversation

ACTIVE_KEY = "active_conversation"


def build_tools(session: AgentSession) -> list[Tool]:
    from lsp_agent.agent.memory_tools import MEMORY_TOOLS
    from lsp_agent.agent.tools.files import FILE_TOOLS
    from lsp_agent.agent.tools.shell import SHELL_TOOLS
    from lsp_agent.learning.agent_tools import learning_tools
    from lsp_agent.learning.skills_service import LOAD_SKILL

    return [*MEMORY_TOOLS, *FILE_TOOLS, *SHELL_TOOLS, LOAD_SKILL, *learning_tools(session)]


class AgentSession:
    """The agent of one workspace: its memory, settings, conversations and model."""

    def __init__(self, workspace: Path, settings: Settings, host: ToolHost) -> None:
        self.workspace = Path(workspace).resolve()
        self.settings = settings
        self.memory = AgentMemory(self.workspace, store_uri=settings.store,
                                  embedder=settings.embedder)
        self.notices = self.memory.open()
        self.ctx = ToolContext(workspace=self.workspace, host=host,
                               permission_mode=settings.permission_mode,
                               extra={"memory": self.memory, "session": self})
        self.memory.sources["skills"] = self._search_skills
        self.turn_lock = asyncio.Lock()
        self.turns_since_reflection = 0
        self.state = "idle"
        self._conv_lock = threading.Lock()

    def update_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx.permission_mode = settings.permission_mode

    def _skills(self) -> list[Any]:
        from lsp_agent.learning.skills_service import skills

        return skills(self)

    def _code_chunks(self) -> int:
        from lsp_agent.learning import code_index

        if not code_index.code_index_exists(self.memory):
            return 0
        return int(self.memory.store.db.open_table(code_index.CHUNKS).count_rows())

    def _search_skills(self, query: str, limit: int) -> list[dict[str, Any]]:
        from lsp_agent.learning.skills_service import search_skills

        return search_skills(self, query, limit)

    # -- conversations ----------------------------------------------------------------------

    def active_conversation(self) -> Conversation:
        recall = self.memory.recall
        with self._conv_lock:  # two first requests at once must not make two conversations
            active = self.memory.store.get_meta(ACTIVE_KEY)
            if active:
                try:
                    return recall.conversation(active)
                except KeyError:
                    pass
            with self.memory.store.lock():
                active = self.memory.store.get_meta(ACTIVE_KEY)  # another process may have won
                if active:
                    try:
                        return recall.conversation(active)
                    except KeyError:
                        pass
                title = "Conversation 1" if not recall.conversations() else ""
                conv = recall.new_conversation(title)
                self.memory.store.set_meta(ACTIVE_KEY, conv.id)
            return conv

    def new_conversation(self, title: str = "") -> Conversation:
        conv = self.memory.recall.new_conversation(title)
        self.memory.store.set_meta(ACTIVE_KEY, conv.id)
        return conv

    def switch(self, conv_id: str) -> Conversation:
        conv = self.memory.recall.conversation(conv_id)
        self.memory.store.set_meta(ACTIVE_KEY, conv.id)
        return conv

    def fork(self, conv_id: str | None = None, title: str = "") -> Conversation:
        source = conv_id or self.active_conversation().id
        conv = self.memory.recall.fork(source, title)
        self.memory.store.set_meta(ACTIVE_KEY, conv.id)
        return conv

    def conversations(self) -> list[dict[str, Any]]:
        active = self.active_conversation().id
        stats = self.memory.recall.message_stats()
        return [self.describe(c, active, stats) for c in self.memory.recall.conversations()]

    def describe(self, conv: Conversation, active: str | None = None,
                 stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """A conversation as the protocol shows it (docs/protocol.md `Conversation`)."""
        if active is None:
            active = self.active_conversation().id
        if stats is None:
            stats = self.memory.recall.message_stats()
        count, last = stats.get(conv.id, (0, conv.created_at))
        row = conv.model_dump(mode="json", exclude={"summary", "summarized_until"})
        row.update(messages=count, updated_at=last.isoformat(), active=conv.id == active)
        return row

    # -- the agent --------------------------------------------------------------------------

    def model(self, *, reflection: bool = False) -> Any:
        from lsp_agent.agent.model import LitellmModel

        name = (self.settings.reflection_model if reflection else None) or self.settings.model
        if not name:
            raise ModelNotConfigured()
        return LitellmModel(name, window=self.settings.context_window)

    def agent(self, *, reflection: bool = False, tools: list[Tool] | None = None) -> Any:
        from lsp_agent.agent.loop import Agent
        from lsp_agent.learning.skills_service import skills_catalog

        def catalog() -> str:
            return skills_catalog(self)

        return Agent(self.memory, self.model(reflection=reflection),
                     tools if tools is not None else build_tools(self), self.ctx, self.settings,
                     skills_catalog=catalog)

    async def ask(self, prompt: str, *, conversation_id: str | None = None,
                  on_event: Any = None) -> Any:
        if not prompt.strip():
            raise ValueError("Ask needs a prompt: some text for the agent.")
        agent = self.agent()
        conv_id = conversation_id or (await asyncio.to_thread(self.active_conversation)).id
        if conversation_id:
            await asyncio.to_thread(self.memory.recall.conversation, conversation_id)
        async with self.turn_lock:
            self.state = "working"
            try:
                with self.memory.recall.backfill.held():
                    result = await agent.turn(prompt, conv_id, on_event=on_event)
            finally:
                self.state = "idle"
        self.turns_since_reflection += 1
        return result

    def status(self) -> dict[str, Any]:
        data = self.memory.status()
        data["counts"]["skills"] = len(self._skills())
        data["counts"]["code_chunks"] = self._code_chunks()
        data.update(model=self.settings.model or "", state=self.state,
                    permission_mode=self.settings.permission_mode.value,
                    active_conversation=self.active_conversation().id)
        return data


class WorkspaceAgents:
    """Workspace folder -> AgentSession, created on first use and cached."""

    def __init__(self, settings: Callable[[Path], Settings], host: ToolHost) -> None:
        self._settings = settings
        self._host = host
        self._sessions: dict[Path, AgentSession] = {}
        self._lock = threading.Lock()

    def get(self, workspace: Path) -> AgentSession:
        key = Path(workspace).expanduser().resolve()
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                if not key.is_dir():
                    raise ValueError(f"The workspace folder {key} does not exist.")
                session = AgentSession(key, self._settings(key), self._host)
                self._sessions[key] = session
            return session

    def sessions(self) -> list[AgentSession]:
        return list(self._sessions.values())

    def update_settings(self) -> None:
        for path, session in self._sessions.items():
            session.update_settings(self._settings(path))
