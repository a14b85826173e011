"""Background reflection (sleep-time): consolidate memory while the editor is idle.

A pass reads the conversations since the last pass and, with the memory tools only, merges
duplicates, resolves contradictions (newest wins, said in the reason), promotes repeated lessons
and marks facts about changed files as stale. Every change is a versioned edit by "reflection".
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from lsp_agent.agent.context import transcript
from lsp_agent.agent.tools.base import ToolContext

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


def _recent(session: Any) -> tuple[str, int]:
    memory = session.memory
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


def _changed_files(session: Any) -> list[str]:
    """Workspace files modified since the last reflection (facts about them may be stale)."""
    from lsp_agent.learning.workspace_files import FileEntry, iter_workspace_files

    since = float(session.memory.store.get_meta(TIME_KEY) or 0)
    if not since:
        return []
    changed = [e.rel_path for e in iter_workspace_files(session.workspace)
               if isinstance(e, FileEntry) and e.mtime_ns / 1e9 > since]
    return changed[:50]


async def reflect(session: Any, on_event: Any = None) -> dict[str, Any]:
    """One reflection pass; returns {changes: [{block, reason, version}]}."""
    from lsp_agent.agent.memory_tools import MEMORY_TOOLS

    material, newest = await asyncio.to_thread(_recent, session)
    if not material.strip():
        return {"changes": [], "note": "No new conversation since the last reflection."}
    started = time.time()
    ctx = ToolContext(workspace=session.workspace, host=session.ctx.host,
                      permission_mode=session.ctx.permission_mode,
                      extra={"memory": session.memory, "session": session, "author": "reflection"})
    agent = session.agent(reflection=True, tools=list(MEMORY_TOOLS))
    agent.ctx = ctx
    conv = await asyncio.to_thread(session.memory.recall.new_conversation,
                                     REFLECTION_TITLE)
    changed = ", ".join(await asyncio.to_thread(_changed_files, session)) or "none"
    prompt = REFLECT_PROMPT.format(changed=changed, material=material)
    result = await agent.turn(prompt, conv.id, on_event=on_event)
    await asyncio.to_thread(session.memory.store.set_meta, MARK_KEY, str(newest))
    await asyncio.to_thread(session.memory.store.set_meta, TIME_KEY, str(started))
    changes = []
    for block in await asyncio.to_thread(session.memory.blocks.list):
        for v in await asyncio.to_thread(session.memory.blocks.history, block.label):
            if v.author == "reflection" and v.timestamp.timestamp() >= started - 1:
                changes.append({"block": block.label, "reason": v.reason, "version": v.version})
    return {"changes": changes, "reply": result.reply, "conversation_id": conv.id}


class ReflectionScheduler:
    """Runs `reflect` after the editor has been idle, or every N turns; never blocks."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.last_activity = time.monotonic()
        self.task: asyncio.Task[Any] | None = None

    def touch(self) -> None:
        self.last_activity = time.monotonic()
        if self.task is not None and not self.task.done():
            self.task.cancel()  # the user is back: reflection yields to real work

    def maybe_start(self) -> asyncio.Task[Any] | None:
        cfg = self.session.settings.reflection
        if not cfg.enabled or not self.session.settings.model:
            return None
        if self.task is not None and not self.task.done():
            return None
        idle = time.monotonic() - self.last_activity >= cfg.idle_seconds
        due = self.session.turns_since_reflection >= cfg.every_turns
        if not (idle and self.session.turns_since_reflection > 0) and not due:
            return None
        self.session.turns_since_reflection = 0
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self.task

    async def _run(self) -> None:
        try:
            await reflect(self.session)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - background work must never hurt the editor
            log.warning("background reflection failed", exc_info=True)
