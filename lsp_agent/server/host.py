"""The LSP side of the tool host: approvals as `window/showMessageRequest`, edits as
`workspace/applyEdit`, so the user sees and controls every change the agent makes."""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from lsprotocol import types as T

from lsp_agent.errors import NotFound, UsageError
from lsp_agent.server.documents import text_at, text_of, uri_of
from lsp_agent.service import current_approval

log = logging.getLogger(__name__)

ALLOW, ALWAYS, DENY = "Allow", "Always allow", "Deny"
#: Approvals asked every time, never remembered: PROTECTED_ACTION of agent/tools/protected.py
#: (a write that makes code run by itself; the server may not import the agent).
ASK_EVERY_TIME = frozenset({"Write a protected file"})
ANSWERS = ("allow", "always", "deny")

#: Set for a request whose client answers approvals in its conversation view
#: (`lspAgent.ask` with `inline_approvals`): contextvars keep it to that request's task.
inline_approvals: ContextVar[bool] = ContextVar("lsp_agent_inline_approvals", default=False)


class LspToolHost:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.always: set[str] = set()
        self.waiting: dict[str, asyncio.Future[str]] = {}

    def asks_inline(self) -> bool:
        return inline_approvals.get()

    def preapproved(self, action: str) -> bool:
        return action in self.always

    def answer(self, approval_id: str, answer: str) -> bool:
        """The user's answer to an inline approval; True when it allows."""
        if answer not in ANSWERS:
            raise UsageError(f"answer must be one of {', '.join(ANSWERS)}, not '{answer}'.")
        future = self.waiting.get(approval_id)
        if future is None or future.done():
            raise NotFound(f"No approval '{approval_id}' is waiting (answered already, or its "
                           "turn ended).")
        future.set_result(answer)
        return answer != "deny"

    async def approve(self, action: str, detail: str) -> bool:
        if action in self.always:
            return True
        once = action in ASK_EVERY_TIME
        request = current_approval()
        if request is not None and request.id and self.asks_inline():
            return await self._inline(request.id, action, once)
        choices = [ALLOW, DENY] if once else [ALLOW, ALWAYS, DENY]
        params = T.ShowMessageRequestParams(
            type=T.MessageType.Warning,
            message=f"lsp-agent wants to {action.lower()}:\n{detail[:2000]}",
            actions=[T.MessageActionItem(c) for c in choices],
        )
        try:
            choice = await self.server.window_show_message_request_async(params)
        except Exception as exc:  # noqa: BLE001 - a client that cannot ask denies
            log.info("approval request failed: %s", exc)
            return False
        title = getattr(choice, "title", None)
        if once:
            return title == ALLOW
        if title == ALWAYS:
            self.always.add(action)
        return title in (ALLOW, ALWAYS)

    async def _inline(self, approval_id: str, action: str, once: bool) -> bool:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting[approval_id] = future
        try:
            answer = await future
        finally:
            self.waiting.pop(approval_id, None)
        if answer == "always" and not once:
            self.always.add(action)
        return answer == "allow" or (answer == "always" and not once)

    async def propose_edit(self, path: Path, new_text: str, description: str) -> bool:
        """Like apply_edit, but asks the editor to let the user review and accept it first
        (change annotations with needsConfirmation) where the client supports that."""
        caps = self.server.client_capabilities
        ws_edit = caps.workspace.workspace_edit if caps and caps.workspace else None
        if not (ws_edit and ws_edit.change_annotation_support and ws_edit.document_changes):
            return await self.apply_edit(path, new_text, description)
        uri = path.as_uri()
        note = "lsp-agent"
        old = path.read_text(encoding="utf-8", errors="replace") if path.exists() else None
        changes: list[Any] = []
        if old is None:
            changes.append(T.CreateFile(uri=uri, annotation_id=note, options=T.CreateFileOptions(
                overwrite=False, ignore_if_exists=True)))
        changes.append(T.TextDocumentEdit(
            text_document=T.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=[T.AnnotatedTextEdit(range=_full_range(old or ""), new_text=new_text,
                                       annotation_id=note)]))
        edit = T.WorkspaceEdit(document_changes=changes, change_annotations={
            note: T.ChangeAnnotation(label=description[:200], needs_confirmation=True,
                                     description="Proposed by lsp-agent; review before accepting")})
        return await self._send(edit, description)

    async def apply_edit(self, path: Path, new_text: str, description: str) -> bool:
        caps = self.server.client_capabilities
        if not (caps and caps.workspace and caps.workspace.apply_edit):
            from lsp_agent.service import atomic_write_text

            await asyncio.to_thread(atomic_write_text, path, new_text)
            return True
        uri = uri_of(path)
        old = text_of(self.server, uri)
        if old is None and path.exists():
            old = path.read_text(encoding="utf-8", errors="replace")
        if old is None:
            edit = T.WorkspaceEdit(document_changes=[
                T.CreateFile(uri=uri, options=T.CreateFileOptions(overwrite=False,
                                                                  ignore_if_exists=True)),
                T.TextDocumentEdit(
                    text_document=T.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                    edits=[T.TextEdit(range=_full_range(""), new_text=new_text)]),
            ])
        else:
            edit = T.WorkspaceEdit(changes={uri: [T.TextEdit(range=_full_range(old),
                                                             new_text=new_text)]})
        return await self._send(edit, description)

    async def _send(self, edit: T.WorkspaceEdit, description: str) -> bool:
        """workspace/applyEdit; True only when the client says it applied the edit."""
        try:
            result = await self.server.workspace_apply_edit_async(
                T.ApplyWorkspaceEditParams(edit=edit, label=description[:200]))
        except Exception as exc:  # noqa: BLE001 - a client error is a refusal
            log.info("applyEdit failed: %s", exc)
            return False
        return bool(getattr(result, "applied", False))

    def read_text(self, path: Path) -> str | None:
        """The editor's unsaved text of an open file, if any (edits land in the buffer first)."""
        return text_at(self.server, path)


def _full_range(text: str) -> T.Range:
    lines = text.split("\n")
    return T.Range(start=T.Position(line=0, character=0),
                   end=T.Position(line=len(lines) - 1,
                                 character=len(lines[-1].encode("utf-16-le")) // 2))
