"""remember: store a lesson where it belongs.

With a model, the agent classifies the lesson (correction, preference, fact, rule), picks the
right block, merges rather than duplicates, and says where it went. Without one, the text goes
verbatim to the block the user names (or `notes`), once.
"""

from __future__ import annotations

import asyncio
from typing import Any

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


def remember_verbatim(memory: Any, text: str, block: str | None) -> Any:
    label = block or "notes"
    entry = " ".join(text.strip().split()) if "\n" not in text.strip() else text.strip()
    if not entry:
        raise ValueError("Nothing to remember: give some text.")

    def add(old: str) -> str:
        if entry in old:
            return old
        return (old.rstrip() + "\n" if old.strip() else "") + f"- {entry}"

    return memory.blocks.edit(label, add, author="user", reason="remember")


async def remember(session: Any, text: str | None, block: str | None,
                   on_event: Any = None) -> dict[str, Any]:
    """Returns {block, version, reply?}."""
    if not session.settings.model:
        if not text or not text.strip():
            from lsp_agent.errors import ModelNotConfigured

            raise ModelNotConfigured("Remembering the current conversation (remember without text)")
        updated = await asyncio.to_thread(remember_verbatim, session.memory, text, block)
        return {"block": updated.label, "version": updated.version, "mode": "verbatim"}
    before = {b.label: b.version for b in await asyncio.to_thread(session.memory.blocks.list)}
    if text and text.strip():
        hint = f" (the user suggests `{block}`)" if block else ""
        prompt = REMEMBER_PROMPT.format(text=text.strip(), block_hint=hint)
    else:
        prompt = REFLECT_PROMPT
    result = await session.ask(prompt, on_event=on_event)
    after = await asyncio.to_thread(session.memory.blocks.list)
    changed = [b for b in after if b.version != before.get(b.label)]
    if not changed and text and text.strip():
        # the model answered without storing anything: keep the user's words anyway
        updated = await asyncio.to_thread(remember_verbatim, session.memory, text, block)
        changed = [updated]
    target = changed[0] if changed else None
    return {"block": target.label if target else "", "version": target.version if target else 0,
            "blocks": [b.label for b in changed], "reply": result.reply, "mode": "agent"}
