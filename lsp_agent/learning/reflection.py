"""Background reflection (sleep-time): consolidate memory while the editor is idle.

A pass reads the conversations since the last pass and, with the memory tools only, merges
duplicates, resolves contradictions (newest wins, said in the reason), promotes repeated lessons
and marks facts about changed files as stale. Every change is a versioned edit by "reflection".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsp_agent.agent.context import transcript
from lsp_agent.config import ReflectionSettings
from lsp_agent.learning.ports import EventSink, ReflectionRunner
from lsp_agent.memory.agent_memory import AgentMemory

log = logging.getLogger(__name__)
MARK_KEY = "reflected_until"
TIME_KEY = "reflected_at"
REFLECTION_TITLE = "Reflection"

REFLECT_PROMPT = """\
You are reflecting while the user is away. Consolidate your memory blocks using what happened
in the recent conversations below:
- merge duplicated facts; when two facts contradict, keep the newest and drop the older;
- promote lessons that came up more than once into the right block;
- mark facts that mention the changed files listed below as "(stale? <file> changed)" unless the
  conversation confirms them;
- keep every block concise and within its limit; do not invent facts.
Use memory_replace / memory_rethink / memory_insert. Reply with one line per change and why.

Changed files since the last reflection: {changed}

Recent conversations:
{material}"""


def _recent(memory: AgentMemory) -> tuple[str, int]:
    since = int(memory.store.get_meta(MARK_KEY) or -1)
    parts, newest = [], since
    for conv in memory.recall.conversations():
        if conv.title == REFLECTION_TITLE:
            continue  # its own transcripts are not material
        msgs = [m for m in memory.recall.messages(conv.id, after_seq=since)
                if m.role in ("user", "assistant")]
        if msgs:
            parts.append(f"## {conv.title}\n{transcript(msgs, max_chars=15_000)}")
            newest = max(newest, msgs[-1].seq)
    return "\n\n".join(parts)[-50_000:], newest


def _changed_files(memory: AgentMemory, workspace: Path) -> list[str]:
    """Workspace files modified since the last reflection (facts about them may be stale)."""
    from lsp_agent.learning.workspace_files import FileEntry, iter_workspace_files

    since = float(memory.store.get_meta(TIME_KEY) or 0)
    if not since:
        return []
    changed = [e.rel_path for e in iter_workspace_files(workspace)
               if isinstance(e, FileEntry) and e.mtime_ns / 1e9 > since]
    return changed[:50]


async def reflect(memory: AgentMemory, workspace: Path, runner: ReflectionRunner,
                  on_event: EventSink | None = None) -> dict[str, Any]:
    """One reflection pass; returns {changes: [{block, reason, version}]}."""
    material, newest = await asyncio.to_thread(_recent, memory)
    if not material.strip():
        return {"changes": [], "note": "No new conversation since the last reflection."}
    started = time.time()
    conv = await asyncio.to_thread(memory.recall.new_conversation, REFLECTION_TITLE)
    changed = ", ".join(await asyncio.to_thread(_changed_files, memory, workspace)) or "none"
    prompt = REFLECT_PROMPT.format(changed=changed, material=material)
    result = await runner.reflection_turn(prompt, conv.id, on_event=on_event)
    await asyncio.to_thread(memory.store.set_meta, MARK_KEY, str(newest))
    await asyncio.to_thread(memory.store.set_meta, TIME_KEY, str(started))
    changes = []
    for block in await asyncio.to_thread(memory.blocks.list):
        for v in await asyncio.to_thread(memory.blocks.history, block.label):
            if v.author == "reflection" and v.timestamp.timestamp() >= started - 1:
                changes.append({"block": block.label, "reason": v.reason, "version": v.version})
    return {"changes": changes, "reply": result.reply, "conversation_id": conv.id}


class ReflectionScheduler:
    """Runs a reflection pass after the editor has been idle, or every N turns; never blocks.

    Declared state of its agent service: `run` is the pass, `settings` reads the current
    reflection settings, and `enabled` says whether a model is configured.
    """

    def __init__(self, run: Callable[[], Awaitable[object]],
                 settings: Callable[[], ReflectionSettings],
                 enabled: Callable[[], bool]) -> None:
        self._run_pass = run
        self._settings = settings
        self._enabled = enabled
        self.last_activity = time.monotonic()
        self.turns = 0  # turns since the last pass
        self.task: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_activity = time.monotonic()
        if self.task is not None and not self.task.done():
            self.task.cancel()  # the user is back: reflection yields to real work

    def turn_done(self) -> None:
        self.turns += 1

    def maybe_start(self) -> asyncio.Task[None] | None:
        cfg = self._settings()
        if not cfg.enabled or not self._enabled():
            return None
        if self.task is not None and not self.task.done():
            return None
        idle = time.monotonic() - self.last_activity >= cfg.idle_seconds
        due = self.turns >= cfg.every_turns
        if not (idle and self.turns > 0) and not due:
            return None
        self.turns = 0
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _run(self) -> None:
        try:
            await self._run_pass()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - background work must never hurt the editor
            log.warning("background reflection failed", exc_info=True)
