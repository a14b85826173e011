"""A turn's events (docs/protocol.md "Events") as ACP `session/update` notifications, and a
stored conversation replayed the same way for `session/load`.

Events are queued as the agent emits them and sent in order by one task per session, so the
agent never waits on a slow client and a memory edit's row can look up its diff on the way.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lsp_agent.service import AgentService

log = logging.getLogger(__name__)

#: ACP's tool kinds for our tools (the icon and grouping a client shows).
TOOL_KINDS = {"read_file": "read", "list_files": "search", "grep": "search",
              "search_code": "search", "archival_memory_search": "search",
              "conversation_search": "search", "edit_file": "edit", "write_file": "edit",
              "memory_replace": "edit", "memory_insert": "edit", "memory_rethink": "edit",
              "core_memory_append": "edit", "archival_memory_insert": "edit",
              "run_command": "execute", "update_plan": "think"}
TOOL_TEXT_CHARS = 4000
DIFF_FILE_BYTES = 2_000_000


def tool_kind(tool: str) -> str:
    return TOOL_KINDS.get(tool, "other")


class TurnStream:
    """Sends one session's updates, in the order they were put."""

    def __init__(self, session_id: str, client: Any, service: AgentService) -> None:
        self.session_id = session_id
        self.client = client
        self.service = service
        self.open_call: str | None = None  # the tool call running now (approvals name it)
        self.approvals = itertools.count(1)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._memory_rows = 0

    # -- the agent's side ------------------------------------------------------------------

    def put(self, event: dict[str, Any]) -> None:
        """The turn's event sink (sync: the registry's slash commands call it so too)."""
        if event.get("type") == "tool_call":
            self.open_call = str(event.get("call_id") or "")
        elif event.get("type") == "tool_result":
            self.open_call = None
        elif event.get("type") == "memory_change":  # named now: the tool is still running
            self._memory_rows += 1
            event = {**event, "_row": f"{self.open_call or 'turn'}-memory-{self._memory_rows}"}
        self._queue.put_nowait(event)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run())

    def put_update(self, update: Any) -> None:
        """An update of the face's own (a slash command's answer, a plan)."""
        self.put({"type": "_update", "update": update})

    async def drain(self) -> None:
        """Wait until everything put so far is sent."""
        await self._queue.join()

    async def send(self, update: Any) -> None:
        await self.client.session_update(session_id=self.session_id, update=update)

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._event(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a view update must never end the turn
                log.info("session/update for %s failed: %s", event.get("type"), exc)
            finally:
                self._queue.task_done()

    # -- translation ---------------------------------------------------------------------------

    async def _event(self, event: dict[str, Any]) -> None:
        from acp import helpers as h

        kind = event.get("type")
        if kind == "_update":
            await self.send(event["update"])
        elif kind == "text_delta" and event.get("text"):
            await self.send(h.update_agent_message_text(str(event["text"])))
        elif kind == "thinking" and event.get("text"):
            await self.send(h.update_agent_thought_text(str(event["text"])))
        elif kind == "tool_call":
            await self.send(await self._tool_start(event))
        elif kind == "memory_change":
            await self.send(await self._memory_row(event))
        elif kind == "tool_result":
            ok = bool(event.get("ok"))
            text = str(event.get("text", ""))[:TOOL_TEXT_CHARS]
            await self.send(h.update_tool_call(
                str(event.get("call_id")), status="completed" if ok else "failed",
                content=[h.tool_content(h.text_block(text))] if text else None,
                raw_output=text))
        elif kind == "error" and event.get("stopped") not in ("cancelled", None):
            await self.send(h.update_agent_message_text(f"\n\n{event.get('text', '')}"))

    async def _tool_start(self, event: dict[str, Any]) -> Any:
        from acp import helpers as h
        from acp.schema import ToolCallLocation

        tool = str(event.get("tool", ""))
        raw = event.get("arguments")
        args: dict[str, Any] = raw if isinstance(raw, dict) else {}
        workspace = self.service.workspace
        locations: list[Any] = []
        content: list[Any] = []
        path = args.get("path")
        if isinstance(path, str) and path:
            full = (workspace / path) if not Path(path).is_absolute() else Path(path)
            line = args.get("start_line")
            locations.append(ToolCallLocation(path=str(full), line=line if isinstance(
                line, int) and line >= 0 else None))
            diff = await asyncio.to_thread(_proposed_edit, tool, full, args)
            if diff is not None:
                content.append(h.tool_diff_content(str(full), diff[1], diff[0]))
        if tool == "run_command" and isinstance(args.get("command"), str):
            content.append(h.tool_content(h.text_block(f"$ {args['command']}")))
        return h.start_tool_call(str(event.get("call_id")), _title(tool, args, event),
                                 kind=tool_kind(tool),  # type: ignore[arg-type]
                                 status="in_progress", content=content or None,
                                 locations=locations or None, raw_input=args)

    async def _memory_row(self, event: dict[str, Any]) -> Any:
        """A memory edit as a row of its own: the block, its new version and the diff."""
        from acp import helpers as h

        row_id = str(event.get("_row") or "memory")
        block = event.get("block")
        if not block:  # an archival passage
            text = str(event.get("text", ""))
            return h.start_tool_call(row_id, "Memory: archival passage stored", kind="edit",
                                     status="completed",
                                     content=[h.tool_content(h.text_block(text))],
                                     raw_output={"archival_id": event.get("archival_id")})
        version = event.get("version")
        content, locations = [], []
        try:
            history = await self.service.memory_history(str(block))
            shown = await self.service.memory_show(str(block))
            mirror = str(shown[0].get("mirror_path", "")) if shown else ""
            found = next((v for v in history if v.get("version") == version), None)
            if found is not None and mirror:
                from acp.schema import ToolCallLocation

                content.append(h.tool_diff_content(mirror, str(found.get("new", "")),
                                                   str(found.get("old", ""))))
                locations.append(ToolCallLocation(path=mirror))
        except Exception as exc:  # noqa: BLE001 - the row still says what changed
            log.info("memory diff for %s: %s", block, exc)
        title = f"Memory: block '{block}' → version {version}"
        if event.get("reason"):
            title += f" ({str(event['reason'])[:80]})"
        return h.start_tool_call(row_id, title, kind="edit", status="completed",
                                 content=content or None, locations=locations or None,
                                 raw_output={"block": block, "version": version,
                                             "author": event.get("author")})


def _title(tool: str, args: dict[str, Any], event: dict[str, Any]) -> str:
    if tool in ("read_file", "edit_file", "write_file") and args.get("path"):
        verb = {"read_file": "Read", "edit_file": "Edit", "write_file": "Write"}[tool]
        return f"{verb} {args['path']}"
    if tool == "run_command" and args.get("command"):
        return f"Run `{str(args['command'])[:120]}`"
    return str(event.get("text") or tool)[:200]


def _proposed_edit(tool: str, path: Path, args: dict[str, Any]) -> tuple[str | None, str] | None:
    """(old text or None for a new file, new text) of an edit the model asks for; None when it
    cannot be worked out here (the tool itself will say why)."""
    if tool not in ("edit_file", "write_file"):
        return None
    try:
        old = (path.read_text(encoding="utf-8") if path.is_file()
               and path.stat().st_size <= DIFF_FILE_BYTES else None)
    except (OSError, UnicodeDecodeError):
        return None
    if tool == "write_file":
        content = args.get("content")
        return (old, content) if isinstance(content, str) else None
    before, after = args.get("old_string"), args.get("new_string")
    if old is None or not isinstance(before, str) or not before or before not in old:
        return None
    after = after if isinstance(after, str) else ""
    every = str(args.get("replace_all", "")).lower() in ("1", "true", "yes")
    return old, (old.replace(before, after) if every else old.replace(before, after, 1))


async def replay(stream: TurnStream, service: AgentService, conversation_id: str) -> None:
    """Send a stored conversation as the updates that made it (`session/load`)."""
    from acp import helpers as h

    pages = []
    before = None
    while True:  # newest page first; the oldest message is sent first
        page = await service.conversation_history(conversation_id, before=before, limit=200)
        pages.append(page.messages)
        if not page.has_more or page.before is None or len(pages) >= 50:
            break
        before = page.before
    for messages in reversed(pages):
        for m in messages:
            role, text = m.get("role"), str(m.get("content") or "")
            if role == "user" and text:
                await stream.send(h.update_user_message_text(text))
            elif role == "assistant":
                if text:
                    await stream.send(h.update_agent_message_text(text))
                for call in m.get("tool_calls") or []:
                    args = call.get("arguments") if isinstance(call.get("arguments"),
                                                               dict) else {}
                    name = str(call.get("name", ""))
                    await stream.send(h.start_tool_call(
                        str(call.get("id")), _title(name, args, {"text": name}),
                        kind=tool_kind(name), status="completed",  # type: ignore[arg-type]
                        raw_input=args))
            elif role == "tool" and m.get("tool_call_id"):
                status = "failed" if text.startswith("Error:") else "completed"
                await stream.send(h.update_tool_call(
                    str(m["tool_call_id"]), status=status,  # type: ignore[arg-type]
                    content=[h.tool_content(h.text_block(text[:TOOL_TEXT_CHARS]))]
                    if text else None))


__all__ = ["TurnStream", "replay", "tool_kind"]
