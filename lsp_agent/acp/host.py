"""The ACP side of the tool host: approvals as `session/request_permission`, and file reads
and writes through the client's `fs/*` methods when it offers them (so the agent sees unsaved
buffers and its edits land in the editor, where the user can undo them).

One host serves a workspace's service; the session whose turn is running in this task
(`current`, a context variable) is the one asked.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lsp_agent.acp.session import Session

log = logging.getLogger(__name__)

#: Approvals asked every time, never "always" (PROTECTED_ACTION of agent/tools/protected.py).
ASK_EVERY_TIME = frozenset({"Write a protected file"})
ALLOW_ONCE, ALLOW_ALWAYS, REJECT_ONCE = "allow_once", "allow_always", "reject_once"

current: ContextVar[Session | None] = ContextVar("lsp_agent_acp_session", default=None)


class AcpToolHost:
    """`ToolHost` for the ACP face (see lsp_agent/agent/tools/base.py)."""

    def preapproved(self, action: str) -> bool:
        session = current.get()
        return session is not None and action in session.always

    async def approve(self, action: str, detail: str) -> bool:
        from acp.schema import PermissionOption, ToolCallUpdate

        session = current.get()
        if session is None:  # work outside a session's turn (background reflection)
            return False
        if action in session.always:
            return True
        once = action in ASK_EVERY_TIME
        options = [PermissionOption(option_id=ALLOW_ONCE, name="Allow", kind="allow_once")]
        if not once:
            options.append(PermissionOption(option_id=ALLOW_ALWAYS, name="Always allow",
                                            kind="allow_always"))
        options.append(PermissionOption(option_id=REJECT_ONCE, name="Reject",
                                        kind="reject_once"))
        await session.stream.drain()  # the tool call row is on the client before the question
        call_id = session.stream.open_call or f"approval-{next(session.stream.approvals)}"
        tool_call = ToolCallUpdate(tool_call_id=call_id, title=f"{action}: {detail[:200]}",
                                   status="pending")
        try:
            response = await session.client.request_permission(
                session_id=session.id, tool_call=tool_call, options=options)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a client that cannot ask denies
            log.info("request_permission failed: %s", exc)
            return False
        outcome = response.outcome
        chosen = getattr(outcome, "option_id", None) if outcome.outcome == "selected" else None
        if chosen == ALLOW_ALWAYS and not once:
            session.always.add(action)
        return chosen in (ALLOW_ONCE, ALLOW_ALWAYS)

    async def apply_edit(self, path: Path, new_text: str, description: str) -> bool:
        session = current.get()
        if session is not None and session.client_writes:
            try:
                await session.client.write_text_file(session_id=session.id, path=str(path),
                                                     content=new_text)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the editor refused: the tool says so
                log.info("fs/write_text_file failed: %s", exc)
                return False
        from lsp_agent.service import atomic_write_text

        await asyncio.to_thread(atomic_write_text, path, new_text)
        return True

    async def read_text(self, path: Path) -> str | None:
        """The editor's text of `path` (unsaved changes included) when the client reads
        files for us; None (read the disk) otherwise or when it has no such file."""
        session = current.get()
        if session is None or not session.client_reads:
            return None
        try:
            response: Any = await session.client.read_text_file(session_id=session.id,
                                                                path=str(path))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - not open, not there: the disk decides
            log.info("fs/read_text_file failed: %s", exc)
            return None
        return str(response.content)
