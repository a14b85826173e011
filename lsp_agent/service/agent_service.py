"""AgentService: the agent of one workspace, and every use case it offers as a typed method.

The faces (LSP server, CLI) call only this. Its methods are coroutines: store and file work
runs in worker threads, so an editor's event loop never waits on it. Background work
(reflection, code embedding) is declared state here, never attributes set from outside.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from lsp_agent.agent.loop import Agent, TurnResult
from lsp_agent.agent.model import LitellmModel
from lsp_agent.agent.tools.base import Tool, ToolContext, ToolHost
from lsp_agent.config import Settings
from lsp_agent.errors import (
    ModelNotConfigured,
    NotFound,
    StorageUnavailable,
    UsageError,
    storage_error,
)
from lsp_agent.learning import init as research
from lsp_agent.learning import remember as remembering
from lsp_agent.learning import skills_service as skill_ops
from lsp_agent.learning.code_search import CODE_KINDS, search_code
from lsp_agent.learning.ports import EventSink, ProgressFn
from lsp_agent.learning.reflection import ReflectionScheduler, reflect
from lsp_agent.learning.workspace_files import SECRET_REASON
from lsp_agent.memory.agent_memory import KINDS, AgentMemory, Kind
from lsp_agent.memory.schema import Block, BlockVersion
from lsp_agent.memory.search import Mode
from lsp_agent.service.code_views import CodeViews
from lsp_agent.service.conversation_ops import ConversationOps
from lsp_agent.service.conversations import Conversations
from lsp_agent.service.doctor import DoctorOps
from lsp_agent.service.indexing import CodeIndexing
from lsp_agent.service.memory_ops import MemoryOps
from lsp_agent.service.results import (
    AskResult,
    Hit,
    InitResult,
    ReflectResult,
    Remembered,
    SkillProposal,
    Status,
    TeamStatus,
)
from lsp_agent.skills.skill import Skill, render_skill_md


def _quiet(_message: str, _pct: int | None = None) -> None:
    return None


class AgentService(MemoryOps, ConversationOps, CodeViews, DoctorOps):
    """The agent of `workspace`: its memory, settings, conversations, model and background work.

    `background=False` opens it for a read-only command: nothing starts that could load the
    embedding model (vector backfill), so `status` or `memory show` stay fast.
    """

    def __init__(self, workspace: Path, settings: Settings, host: ToolHost, *,
                 background: bool = True) -> None:
        self.workspace = Path(workspace).resolve()
        self.settings = settings
        self.host = host
        self.memory = AgentMemory(self.workspace, store_uri=settings.store,
                                  embedder=settings.embedder,
                                  code_embedder=settings.code_embedder,
                                  team_uri=settings.team_store)
        try:
            self.notices: list[str] = self.memory.open(resume_vectors=background)
        except Exception as exc:
            disk = self.storage_error(exc)
            if disk is None or disk is exc:
                raise
            raise disk from exc
        self.ctx = ToolContext(workspace=self.workspace, host=host,
                               permission_mode=settings.permission_mode,
                               extra={"memory": self.memory, "anchor": self._agent_anchor,
                                      skill_ops.TRUST_KEY: settings.trust_workspace})
        self.memory.sources["skills"] = self._search_skills
        self.conversations = Conversations(self.memory)
        self.code = CodeIndexing(self.memory)
        self.reflection = ReflectionScheduler(self._background_reflect,
                                              lambda: self.settings.reflection,
                                              lambda: bool(self.settings.model))
        self.turn_lock = asyncio.Lock()
        self.state = "idle"

    def update_settings(self, settings: Settings) -> None:
        for name in ("store", "team_store"):  # the stores are opened once, with the service
            if getattr(settings, name) != getattr(self.settings, name):
                self.notices.append(f"The {'teamStore' if name == 'team_store' else name} "
                                    "setting changed: restart lsp-agent (or reload the editor "
                                    "window) to use it.")
        self.settings = settings
        self.ctx.permission_mode = settings.permission_mode
        self.ctx.extra[skill_ops.TRUST_KEY] = settings.trust_workspace

    def storage_error(self, exc: BaseException) -> StorageUnavailable | None:
        """`exc` as a sentence naming the store's folder, when the disk is full or read-only."""
        return storage_error(exc, self.memory.store.where)

    def take_notices(self) -> list[str]:
        """Notices for the user from opening memory (edits taken in, warnings), once."""
        notices, self.notices = self.notices, []
        return notices

    def close(self) -> None:
        """Stop background work (the server's shutdown, the end of a CLI command)."""
        self.reflection.cancel()
        self.code.stop()
        if self.memory.team is not None:
            self.memory.team.stop()

    # -- reading ------------------------------------------------------------------------------

    async def status(self) -> Status:
        def run() -> Status:
            data = self.memory.status()
            counts = dict(data["counts"])
            code = self.code.counts()
            counts.update(skills=len(self._skills()), code_chunks=code.chunks,
                          code_chunks_embedded=code.embedded,
                          code_files_secret=code.skipped.get(SECRET_REASON, 0))
            return Status(workspace=str(self.workspace), store=data["store"],
                          memory_folder=data["memory_folder"], embedder=data["embedder"],
                          model=self.settings.model or "", state=self.state,
                          permission_mode=self.settings.permission_mode.value,
                          active_conversation=self.conversations.active_id() or "",
                          counts=counts, embedding_in_background=code.embedding,
                          skipped_files=code.skipped, redacted_files=code.redacted,
                          code_embedder=data["code_embedder"],
                          team=TeamStatus(**data["team"]) if data.get("team") else None,
                          warnings=list(data["warnings"]))

        return await asyncio.to_thread(run)

    async def search(self, query: str, *, kind: Kind = "all", limit: int = 10,
                     mode: Mode = "hybrid", paths: Sequence[str] = (),
                     language: str | None = None) -> list[Hit]:
        """Memory and code hits best first. `paths` (globs) and `language` narrow the code
        index's kinds (code, tests, docs, config) and leave memory out."""
        if kind not in KINDS:
            raise UsageError(f"Unknown search kind '{kind}'; use one of: {', '.join(KINDS)}.")
        filtered = bool(language) or any(p.strip() for p in paths)
        if filtered and kind not in CODE_KINDS and kind != "all":
            raise UsageError(f"--path and --language narrow code search; they do not apply to "
                             f"kind '{kind}'. Use --kind code, tests, docs or config.")

        def run() -> list[Hit]:
            if filtered:  # only the code index has paths and languages
                if not self.code.exists():
                    raise NotFound("Nothing to search for: this workspace's code is not "
                                        "indexed yet. Run `lsp-agent init`.")
                category = CODE_KINDS["code" if kind == "all" else kind]
                return search_code(self.memory, query, limit, mode, category=category,
                                   paths=paths, language=language)
            if "code" not in self.memory.sources and self.code.exists():
                for name, category in CODE_KINDS.items():
                    self.memory.sources[name] = self._code_source(category)
            return self.memory.search(query, kind=kind, limit=limit, mode=mode)

        return await asyncio.to_thread(run)

    def _skills(self) -> list[Skill]:
        return skill_ops.skills(self.workspace, self.settings.trust_workspace)

    def _search_skills(self, query: str, limit: int, mode: Mode = "hybrid") -> list[Hit]:
        return skill_ops.search_skills(self.workspace, self.settings.trust_workspace, query,
                                       limit)

    def _code_source(self, category: str) -> Callable[[str, int, Mode], list[Hit]]:
        def source(query: str, limit: int, mode: Mode = "hybrid") -> list[Hit]:
            return search_code(self.memory, query, limit, mode, category=category)

        return source

    # -- the agent ----------------------------------------------------------------------------

    def _model(self, *, reflection: bool = False) -> LitellmModel:
        name = (self.settings.reflection_model if reflection else None) or self.settings.model
        if not name:
            raise ModelNotConfigured()
        return LitellmModel(name, window=self.settings.context_window)

    def _tools(self) -> list[Tool]:
        from lsp_agent.agent.memory_tools import MEMORY_TOOLS
        from lsp_agent.agent.tools.files import FILE_TOOLS
        from lsp_agent.agent.tools.shell import SHELL_TOOLS
        from lsp_agent.learning.agent_tools import learning_tools
        from lsp_agent.service.session_tools import session_tools

        return [*MEMORY_TOOLS, *FILE_TOOLS, *SHELL_TOOLS, *learning_tools(self.memory),
                *session_tools()]  # a face's own (ACP: MCP, the client's terminal)

    def _agent(self, settings: Settings, *, reflection: bool = False,
               tools: list[Tool] | None = None, ctx: ToolContext | None = None) -> Agent:
        def catalog() -> str:
            return skill_ops.skills_catalog(self.workspace, self.settings.trust_workspace)

        return Agent(self.memory, self._model(reflection=reflection),
                     tools if tools is not None else self._tools(), ctx or self.ctx, settings,
                     skills_catalog=catalog)

    async def run_turn(self, prompt: str, *, on_event: EventSink | None = None,
                       conversation_id: str | None = None,
                       max_steps: int | None = None) -> TurnResult:
        """One turn of the agent (the `TurnRunner` that learning is given)."""
        if not prompt.strip():
            raise UsageError("Ask needs a prompt: some text for the agent.")
        settings = self.settings
        if max_steps is not None:
            settings = settings.model_copy(update={"max_steps": max_steps})
        agent = self._agent(settings)
        if conversation_id:
            conv_id = (await asyncio.to_thread(self.conversations.resolve, conversation_id)).id
        else:
            conv_id = (await asyncio.to_thread(self.conversations.active)).id
        async with self.turn_lock:
            self.state = "working"
            try:
                with self.memory.recall.backfill.held():
                    result = await agent.turn(prompt, conv_id, on_event=on_event)
            finally:
                self.state = "idle"
        self.reflection.turn_done()
        return result

    async def reflection_turn(self, prompt: str, conversation_id: str, *,
                              on_event: EventSink | None = None) -> TurnResult:
        from lsp_agent.agent.memory_tools import MEMORY_TOOLS

        ctx = ToolContext(workspace=self.workspace, host=self.host,
                          permission_mode=self.ctx.permission_mode,
                          extra={**self.ctx.extra, "author": "reflection"})
        agent = self._agent(self.settings, reflection=True, tools=list(MEMORY_TOOLS), ctx=ctx)
        return await agent.turn(prompt, conversation_id, on_event=on_event)

    async def ask(self, prompt: str, *, conversation_id: str | None = None,
                  editor_context: str = "", on_event: EventSink | None = None,
                  location: tuple[Path, int, int] | None = None) -> AskResult:
        """A turn with the user's prompt; `editor_context` is what the editor adds (a
        selection); `location` (file, first and last line) puts the memories anchored there
        ahead of everything else."""
        anchored = (await asyncio.to_thread(self.location_context, *location)
                    if location else "")
        full = "\n\n".join(p for p in (prompt, anchored, editor_context) if p)
        result = await self.run_turn(full, conversation_id=conversation_id, on_event=on_event)
        return AskResult(reply=result.reply, conversation_id=result.conversation_id,
                         turn_id=result.turn_id, steps=result.steps, stopped=result.stopped, usage=result.usage(),
                         tool_calls=result.tool_calls)

    async def remember(self, text: str | None, block: str | None = None, *,
                       on_event: EventSink | None = None) -> Remembered:
        runner = self if self.settings.model else None
        got = await remembering.remember(self.memory, text, block, runner, on_event)
        return Remembered(**got.__dict__)

    async def reflect(self, *, on_event: EventSink | None = None) -> ReflectResult:
        if not (self.settings.reflection_model or self.settings.model):
            raise ModelNotConfigured("Reflection")
        data = await reflect(self.memory, self.workspace, self, on_event)
        return ReflectResult.model_validate(data)

    async def _background_reflect(self) -> None:
        await self.reflect()

    def touch(self) -> None:
        """The user is active: a running background reflection yields."""
        self.reflection.touch()

    # -- learning -----------------------------------------------------------------------------

    async def init(self, *, depth: str = "static", progress: ProgressFn | None = None,
                   on_event: EventSink | None = None, embedding: str = "background") -> InitResult:
        """Research the files into memory, index the code, embed it (`embedding`: "wait",
        "background" (a thread), "detached" (a process that outlives this one) or "none"), and
        with a model at `standard`/`deep`, research with it."""
        report: ProgressFn = progress or _quiet
        report("Researching the workspace files", 5)
        trusted = self.settings.trust_workspace
        changed, facts = await asyncio.to_thread(
            lambda: research.apply_research(self.memory, trusted=trusted))
        if not trusted:
            report(research.UNTRUSTED_NOTE, 20)
        report(f"Memory updated from {facts} facts", 25)

        def index_progress(message: str, pct: int | None = None) -> None:
            report(message, 25 + int((pct or 0) * 0.35))

        rep = await asyncio.to_thread(self.code.build, index_progress)
        result = InitResult(blocks=changed, facts=facts,
                            indexed_files=rep.files_indexed + rep.files_unchanged,
                            index=rep.to_dict())
        left = await asyncio.to_thread(self.code.pending)
        coder = self.memory.store.code_embedding
        if coder.spec in ("none", "") or not left:
            embedding = "none"  # nothing to embed (static vectors come with the rows)
            report("Code search is ready" + ("" if coder.spec in ("none", "") else
                                             ", vectors included"), 90)
        else:
            report(f"Full-text code search is ready; embedding {left} code chunks", 60)
        if embedding == "wait":
            def embed_progress(message: str, pct: int | None = None) -> None:
                report(message, 60 + int((pct or 0) * 0.3))

            result.embedded_chunks = await asyncio.to_thread(self.code.embed, embed_progress)
        elif embedding == "background":
            self.code.start_background()
        elif embedding == "detached":
            result.embedding_log = str(self.code.start_detached(self.settings.embedder,
                                                                self.settings.code_embedder))
        if depth in ("standard", "deep") and self.settings.model:
            report("Deep research with the model", 90)
            turn = await self.run_turn(research.DEEP_PROMPT, on_event=on_event,
                                       max_steps=15 if depth == "standard" else 40)
            result.research = turn.reply
        elif depth in ("standard", "deep"):
            result.research = "Skipped deep research: no model is configured (static init done)."
        report("Done", 100)
        return result

    async def index(self, *, embed_only: bool = False,
                    progress: ProgressFn | None = None) -> dict[str, object]:
        report: dict[str, object] = {}
        if not embed_only:
            report["index"] = (await asyncio.to_thread(self.code.build, progress)).to_dict()
        report["embedded"] = await asyncio.to_thread(self.code.embed, progress)
        return report

    async def files_changed(self, paths: list[Path]) -> None:
        """Keep the code index current after saves, renames, deletions and branch switches."""
        await asyncio.to_thread(self.code.update, paths)

    async def propose_skill(self, *, name: str | None = None, conversation_id: str | None = None,
                            text: str | None = None) -> SkillProposal:
        conv_id = conversation_id
        if not (text and text.strip()):
            conv = (self.conversations.resolve(conversation_id) if conversation_id
                    else self.conversations.active())
            conv_id = conv.id
        model = self._model() if self.settings.model else None
        skill = await skill_ops.propose_skill(self.workspace, self.memory,
                                              self.settings.trust_workspace, model, name=name,
                                              conversation_id=conv_id or "", text=text)
        return SkillProposal(skill=skill, text=render_skill_md(skill))

    async def save_skill(self, proposal: SkillProposal) -> bool:
        return await skill_ops.save_skill(self.host, proposal.skill)

    def _agent_anchor(self, kind: str, memory_id: str, lesson: str, at: str) -> object:
        return self.anchor_memory(kind, memory_id, lesson, at, author="agent")

    async def skills(self) -> list[dict[str, str]]:
        """The skills the agent can use (project and personal), with their descriptions."""
        found = await asyncio.to_thread(self._skills)
        return [{"name": s.name, "description": s.description,
                 "path": str(s.path) if s.path else "", "source": s.source} for s in found]


__all__ = ["AgentService", "Block", "BlockVersion"]
