"""remember: store a lesson where it belongs.

With a model, the agent classifies the lesson (correction, preference, fact, rule), picks the
right block, merges rather than duplicates, and says where it went. Without one, the text goes
verbatim to the block the user names (or `notes`), once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from lsp_agent.errors import ModelNotConfigured, UsageError
from lsp_agent.learning.ports import EventSink, TurnRunner
from lsp_agent.memory.agent_memory import AgentMemory

REMEMBER_PROMPT = """\
The user asks you to remember this:

{text}

Decide whether it is a correction, a preference, a fact about the project or a rule. Store it in
the single most fitting memory block{block_hint}: `human` for the user's preferences and
corrections of you, `project` for facts about the codebase, `commands` for how to build/test/run,
`conventions` for rules code must follow, `notes` otherwise. If the block already says something
similar or contradictory, update that text with memory_replace instead of adding a duplicate.
Reply in one sentence: what kind of lesson it was and which block now holds it."""

REFLECT_PROMPT = """\
Look back over this conversation. Store what is worth keeping for future sessions in your memory
blocks (preferences, corrections, facts about the project, commands, rules), merging with what
the blocks already say and never duplicating. Reply with a short list of what you stored where."""


@dataclass
class Remembered:
    """Where a lesson went; `changed` is False when memory already held it (no new version)."""

    block: str
    version: int
    changed: bool
    mode: str  # "verbatim" (no model) or "agent"
    blocks: list[str] = field(default_factory=list)
    reply: str = ""


def add_entry(entry: str) -> Callable[[str], str]:
    """The change of a verbatim `remember`: `entry` as a new `- ` line, unless a line (or run
    of lines) already says it. Whole lines: "use pytest" is new beside "use pytest-xdist"."""
    def add(old: str) -> str:
        if _holds(old, entry):
            return old
        return (old.rstrip() + "\n" if old.strip() else "") + f"- {entry}"
    return add


def _holds(text: str, entry: str) -> bool:
    lines = [ln.strip() for ln in text.splitlines()]
    wanted = [ln.strip() for ln in entry.splitlines()]
    wanted_bullet = [f"- {wanted[0]}", *wanted[1:]]
    n = len(wanted)
    return any(lines[i:i + n] in (wanted, wanted_bullet) for i in range(len(lines) - n + 1))


def remember_verbatim(memory: AgentMemory, text: str, block: str | None) -> Remembered:
    label = block or "notes"
    entry = " ".join(text.strip().split()) if "\n" not in text.strip() else text.strip()
    if not entry:
        raise UsageError("Nothing to remember: give some text.")
    before = memory.blocks.get(label).version
    updated = memory.blocks.edit(label, add_entry(entry), author="user", reason="remember")
    return Remembered(updated.label, updated.version, updated.version != before, "verbatim",
                      [updated.label])


async def remember(memory: AgentMemory, text: str | None, block: str | None,
                   runner: TurnRunner | None, on_event: EventSink | None = None) -> Remembered:
    """With a `runner` (a model is configured) the agent files the lesson; else verbatim."""
    if runner is None:
        if not text or not text.strip():
            raise ModelNotConfigured("Remembering the current conversation (remember without text)")
        return await asyncio.to_thread(remember_verbatim, memory, text, block)
    before = {b.label: b.version for b in await asyncio.to_thread(memory.blocks.list)}
    if text and text.strip():
        hint = f" (the user suggests `{block}`)" if block else ""
        prompt = REMEMBER_PROMPT.format(text=text.strip(), block_hint=hint)
    else:
        prompt = REFLECT_PROMPT
    result = await runner.run_turn(prompt, on_event=on_event)
    after = await asyncio.to_thread(memory.blocks.list)
    changed = [b for b in after if b.version != before.get(b.label)]
    if not changed and text and text.strip():
        # the model answered without storing anything: keep the user's words anyway
        kept = await asyncio.to_thread(remember_verbatim, memory, text, block)
        kept.mode, kept.reply = "agent", result.reply
        return kept
    target = changed[0] if changed else None
    return Remembered(target.label if target else "", target.version if target else 0,
                      bool(changed), "agent", [b.label for b in changed], result.reply)
