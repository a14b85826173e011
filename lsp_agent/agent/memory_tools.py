"""Memory tools with Letta-compatible names and semantics.

The agent edits its own blocks with these; limits and read-only are enforced by the block
manager and every failure goes back to the model as a tool result it can act on.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from lsp_agent.agent import events
from lsp_agent.agent.tools.base import Tool, ToolContext, ToolError
from lsp_agent.errors import LspAgentError


def _memory(ctx: ToolContext) -> Any:
    return ctx.extra["memory"]


async def _edit(ctx: ToolContext, label: str, change: Any, reason: str) -> str:
    from lsp_agent.memory.blocks import BlockError

    def run() -> Any:
        author = ctx.extra.get("author", "agent")
        return _memory(ctx).blocks.edit(label, change, author=author, reason=reason)

    try:
        block = await asyncio.to_thread(run)
    except BlockError as exc:
        raise ToolError(str(exc)) from exc
    await events.emit("memory_change", block=label, version=block.version,
                      author=block.updated_by, reason=reason, chars=block.chars,
                      limit=block.limit)
    return (f"Memory block '{label}' updated (version {block.version}, "
            f"{block.chars}/{block.limit} characters).")


async def memory_replace(ctx: ToolContext, label: str, old_string: str, new_string: str) -> str:
    def change(old: str) -> str:
        count = old.count(old_string) if old_string else 0
        if count == 0:
            raise ToolError(f"'{old_string}' was not found in block '{label}'; read the block in "
                            "your context and copy the exact text to replace.")
        if count > 1:
            raise ToolError(f"'{old_string}' occurs {count} times in block '{label}'; include "
                            "more surrounding text so it matches exactly once.")
        return old.replace(old_string, new_string, 1)

    return await _edit(ctx, label, change, "memory_replace")


async def memory_insert(ctx: ToolContext, label: str, new_string: str,
                        insert_line: int = -1, at: str | None = None) -> str:
    def change(old: str) -> str:
        lines = old.split("\n") if old else []
        if insert_line == -1 or insert_line >= len(lines):
            lines.append(new_string)
        elif insert_line < -1:
            raise ToolError("insert_line must be 0 (the top), a line number, or -1 (the end).")
        else:
            lines.insert(insert_line, new_string)
        return "\n".join(lines)

    done = await _edit(ctx, label, change, "memory_insert")
    return done + await _anchor(ctx, "block", label, new_string, at)


async def memory_rethink(ctx: ToolContext, label: str, new_memory: str) -> str:
    return await _edit(ctx, label, lambda _old: new_memory, "memory_rethink")


async def core_memory_append(ctx: ToolContext, label: str, content: str) -> str:
    return await _edit(ctx, label, lambda old: (old + "\n" + content) if old else content,
                       "core_memory_append")


async def _anchor(ctx: ToolContext, kind: str, memory_id: str, lesson: str,
                  at: str | None) -> str:
    """Anchor a memory the agent just wrote to the code it is about (`at`: PATH:START-END)."""
    anchor = ctx.extra.get("anchor")  # the service's: (kind, memory id, lesson, at) -> anchor
    if not at or anchor is None:
        return ""
    try:
        got, _warnings = await asyncio.to_thread(anchor, kind, memory_id, lesson, at)
    except LspAgentError as exc:
        return f" It was not anchored: {exc}"
    return f" Anchored at {got.path}:{got.start_line + 1}-{got.end_line + 1}."


async def archival_memory_insert(ctx: ToolContext, content: str,
                                 tags: list[str] | None = None, at: str | None = None) -> str:
    try:
        passage = await asyncio.to_thread(_memory(ctx).archival.insert, content, tags,
                                          source="agent")
    except ValueError as exc:
        raise ToolError(str(exc)) from exc
    place = await _anchor(ctx, "archival", passage.id, passage.content, at)
    await events.emit("memory_change", archival_id=passage.id, text=passage.content[:500])
    return (f"Stored in archival memory (id {passage.id}, tags: "
            f"{', '.join(passage.tags) or 'none'}).{place}")


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ToolError(f"{name} must be an ISO date like 2025-01-31, got '{value}'.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def archival_memory_search(ctx: ToolContext, query: str, tags: list[str] | None = None,
                                 tag_match: str = "any", top_k: int = 10,
                                 start_datetime: str | None = None,
                                 end_datetime: str | None = None) -> str:
    if tag_match not in ("any", "all"):
        raise ToolError("tag_match must be 'any' or 'all'.")
    hits = await asyncio.to_thread(
        _memory(ctx).archival.search, query, tags=tags, tag_match=tag_match,
        start=_date(start_datetime, "start_datetime"), end=_date(end_datetime, "end_datetime"),
        top_k=max(1, min(int(top_k), 50)))
    if not hits:
        return "No archival passages matched."
    return "\n".join(
        f"- [{h.row['created_at']:%Y-%m-%d}] {h.row['content']}"
        + (f" (tags: {', '.join(h.row['tags'])})" if h.row["tags"] else "") for h in hits)


async def conversation_search(ctx: ToolContext, query: str, roles: list[str] | None = None,
                              limit: int = 10, start_date: str | None = None,
                              end_date: str | None = None) -> str:
    hits = await asyncio.to_thread(
        _memory(ctx).recall.search, query, roles=roles, limit=max(1, min(int(limit), 50)),
        start=_date(start_date, "start_date"), end=_date(end_date, "end_date"))
    if not hits:
        return "No past messages matched."
    return "\n".join(
        f"- [{h.row['created_at']:%Y-%m-%d %H:%M}] {h.row['role']}"
        f" (conversation {h.row['conversation_id']}): {h.row['content'][:500]}" for h in hits)


def _schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


_S = {"type": "string"}
_TAGS = {"type": "array", "items": {"type": "string"}}
MEMORY_TOOLS = [
    Tool("memory_replace", "Replace text in a memory block. old_string must match exactly once.",
         _schema({"label": _S, "old_string": _S, "new_string": _S},
                 ["label", "old_string", "new_string"]), memory_replace),
    Tool("memory_insert", "Insert a line into a memory block at insert_line (0 = top, -1 = end). "
         "If the line is about specific code, give `at` as PATH:START-END to anchor it there.",
         _schema({"label": _S, "new_string": _S, "insert_line": {"type": "integer"}, "at": _S},
                 ["label", "new_string"]), memory_insert),
    Tool("memory_rethink", "Rewrite a whole memory block (to reorganise or consolidate it).",
         _schema({"label": _S, "new_memory": _S}, ["label", "new_memory"]), memory_rethink),
    Tool("core_memory_append", "Append content to the end of a memory block.",
         _schema({"label": _S, "content": _S}, ["label", "content"]), core_memory_append),
    Tool("archival_memory_insert", "Store a passage in long-term archival memory, with tags. "
         "When the lesson is about specific code, give `at` as PATH:LINE or PATH:START-END "
         "(workspace-relative): the editor then shows it there and notices when that code "
         "changes.",
         _schema({"content": _S, "tags": _TAGS, "at": _S}, ["content"]), archival_memory_insert),
    Tool("archival_memory_search", "Search archival memory (hybrid), optionally by tags and dates.",
         _schema({"query": _S, "tags": _TAGS, "tag_match": {"type": "string", "enum": ["any", "all"]},
                  "top_k": {"type": "integer"}, "start_datetime": _S, "end_datetime": _S},
                 ["query"]), archival_memory_search),
    Tool("conversation_search", "Search all past conversation messages (hybrid), with filters.",
         _schema({"query": _S, "roles": {"type": "array", "items": {
             "type": "string", "enum": ["user", "assistant", "tool", "summary"]}},
             "limit": {"type": "integer"}, "start_date": _S, "end_date": _S}, ["query"]),
         conversation_search),
]
