"""The editing tools: edit_file and write_file, and the approve-then-apply step they share.

Writes never touch the disk directly: they are handed to the `ToolHost`, which in the LSP
server becomes a `workspace/applyEdit` (so the user sees and can undo the change in the editor)
and in headless use is `DiskToolHost`, an atomic disk write. In `PermissionMode.ASK` every
edit first asks the host for approval; a protected path (`protected.py`: files that make code
run by themselves) asks in every mode, with the reason.
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
from pathlib import Path
from typing import Any

from lsp_agent.agent.tools.base import (
    EDIT_APPROVAL_MODES,
    Tool,
    ToolContext,
    ToolError,
    ask_user,
    bool_argument,
)
from lsp_agent.agent.tools.paths import (
    BINARY_SNIFF_BYTES,
    MAX_FILE_BYTES,
    PATH_ARGUMENT_DOC,
    check_file_size,
    is_binary_bytes,
    resolve_in_workspace,
    workspace_relative,
)
from lsp_agent.agent.tools.protected import (
    PROTECTED_ACTION,
    describe,
    own_folders,
    protection_reason,
)
from lsp_agent.config import PermissionMode

DIFF_EXCERPT_LINES = 80
#: How much of a proposed file the approval event carries for a diff view.
EDIT_PREVIEW_CHARS = 500_000


def _rel(ctx: ToolContext, path: Path) -> str:
    return workspace_relative(ctx.workspace, path)


async def _current_text(ctx: ToolContext, path: Path, rel: str) -> str | None:
    """The file's current text, or None when it does not exist.

    A host may offer an optional `read_text(path) -> str | None` (sync or async), e.g. the
    LSP server returning the unsaved buffer of an open document; otherwise the disk is read.
    """
    reader = getattr(ctx.host, "read_text", None)
    if callable(reader):
        text = reader(path)
        if inspect.isawaitable(text):
            text = await text
        if text is not None:
            return str(text)
    if not path.exists():
        return None
    if path.is_dir():
        raise ToolError(f"{rel!r} is a directory, not a file.")
    if not path.is_file():  # a FIFO or a device would block or never end: never read one
        raise ToolError(f"{rel!r} is not a regular file (a pipe, socket or device); "
                        "refusing to edit it.")

    def load() -> str:
        check_file_size(path)
        data = path.read_bytes()
        if is_binary_bytes(data[:BINARY_SNIFF_BYTES]):
            raise ToolError(f"{rel!r} looks like a binary file; refusing to edit it as text.")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolError(f"{rel!r} is not valid UTF-8 text; refusing to edit it.") from exc

    try:
        return await asyncio.to_thread(load)
    except OSError as exc:
        raise ToolError(f"Cannot read {rel!r}: {exc.strerror or exc}") from exc


def _diff(old: str, new: str, rel: str) -> tuple[list[str], int, int]:
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{rel}",
            tofile=f"b/{rel}",
            n=3,
        )
    )
    lines = [line if line.endswith("\n") else line + "\n" for line in lines]
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return lines, added, removed


def _diff_excerpt(lines: list[str]) -> str:
    shown = lines[:DIFF_EXCERPT_LINES]
    text = "".join(shown).rstrip("\n")
    if len(lines) > DIFF_EXCERPT_LINES:
        text += f"\n[... {len(lines) - DIFF_EXCERPT_LINES} more diff lines]"
    return text


async def _approve(ctx: ToolContext, user_path: str, path: Path, rel: str, summary: str,
                   new_text: str) -> None:
    """Ask as the permission mode says; a protected path asks in every mode, with its reason."""
    reason = protection_reason(ctx.workspace, user_path, path, own_folders(ctx.extra))
    edit = {"path": rel, "uri": path.as_uri(), "new_text": new_text[:EDIT_PREVIEW_CHARS]}
    if reason is None:
        if PermissionMode(ctx.permission_mode) in EDIT_APPROVAL_MODES and not await ask_user(
                ctx, "Edit file", f"{rel}: {summary}", edit=edit):
            raise ToolError(f"The user refused the edit to {rel}; the file was not changed. "
                            "Ask the user how they would like to proceed.")
        return
    what = describe(ctx.workspace, user_path, rel, reason)
    if not await ask_user(ctx, PROTECTED_ACTION, f"{what}\n{summary}", every_time=True,
                          edit=edit):
        raise ToolError(
            f"Writing {rel} needs the user's explicit approval because {reason}, and it was "
            "not given (refused, or there was no one to ask), so nothing was written. Do not "
            "try to write it another way: tell the user what you wanted to change and why."
        )


async def _approve_and_apply(
    ctx: ToolContext,
    user_path: str,
    path: Path,
    rel: str,
    new_text: str,
    summary: str,
    description: str,
) -> None:
    await _approve(ctx, user_path, path, rel, summary, new_text)
    try:
        applied = await ctx.host.apply_edit(path, new_text, description)
    except OSError as exc:
        raise ToolError(f"Could not write {rel}: {exc.strerror or exc}") from exc
    if not applied:
        raise ToolError(
            f"The editor did not apply the edit to {rel}; the file is unchanged. "
            "It may have been modified or closed meanwhile: read it again before retrying."
        )


async def edit_file(
    ctx: ToolContext,
    path: str,
    old_string: str,
    new_string: str,
    replace_all: Any = False,
) -> str:
    target = resolve_in_workspace(ctx.workspace, path)
    rel = _rel(ctx, target)
    if old_string is None or old_string == "":
        raise ToolError(
            "old_string is empty. To create a file or replace its whole content use write_file."
        )
    if new_string is None:
        new_string = ""
    if old_string == new_string:
        raise ToolError("old_string and new_string are identical; nothing to change.")
    old_text = await _current_text(ctx, target, rel)
    if old_text is None:
        raise ToolError(f"File not found: {path!r}. Use write_file to create a new file.")
    count = old_text.count(old_string)
    if count == 0 and "\r\n" in old_text and "\n" in old_string and "\r\n" not in old_string:
        # The file uses CRLF line endings; the model almost always writes LF.
        old_string = old_string.replace("\n", "\r\n")
        new_string = new_string.replace("\r\n", "\n").replace("\n", "\r\n")
        count = old_text.count(old_string)
    if count == 0:
        raise ToolError(
            f"old_string was not found in {rel}. It must match the file exactly, including "
            "whitespace and indentation; use read_file to check the current text."
        )
    every = bool_argument(replace_all)
    if count > 1 and not every:
        raise ToolError(
            f"old_string occurs {count} times in {rel}; it must occur exactly once. Include "
            "more surrounding context to make it unique, or set replace_all to true."
        )
    new_text = (
        old_text.replace(old_string, new_string)
        if every
        else old_text.replace(old_string, new_string, 1)
    )
    lines, added, removed = _diff(old_text, new_text, rel)
    replaced = count if every else 1
    noun = "occurrence" if replaced == 1 else "occurrences"
    summary = f"replace {replaced} {noun} (+{added} -{removed} lines)"
    await _approve_and_apply(ctx, path, target, rel, new_text, summary, f"Edit {rel}")
    return f"Edited {rel}: replaced {replaced} {noun}.\n{_diff_excerpt(lines)}"


async def write_file(ctx: ToolContext, path: str, content: str) -> str:
    target = resolve_in_workspace(ctx.workspace, path)
    rel = _rel(ctx, target)
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ToolError("content must be a string.")
    if len(content.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise ToolError(f"content is larger than the {MAX_FILE_BYTES:,}-byte limit.")
    if target == resolve_in_workspace(ctx.workspace, "."):
        raise ToolError("The workspace root is a directory, not a file.")
    old_text = await _current_text(ctx, target, rel)
    line_count = len(content.splitlines())
    if old_text is None:
        summary = f"create file ({line_count} lines)"
        await _approve_and_apply(ctx, path, target, rel, content, summary, f"Create {rel}")
        return f"Created {rel} ({line_count} lines)."
    if old_text == content:
        return f"{rel} already has exactly this content; nothing was changed."
    lines, added, removed = _diff(old_text, content, rel)
    summary = f"overwrite (+{added} -{removed} lines)"
    await _approve_and_apply(ctx, path, target, rel, content, summary, f"Overwrite {rel}")
    return f"Wrote {rel} ({line_count} lines).\n{_diff_excerpt(lines)}"


EDIT_FILE = Tool(
    name="edit_file",
    description=(
        "Replace an exact string in a file. old_string must match the current file text "
        "exactly (whitespace and indentation included) and occur exactly once, unless "
        "replace_all is true. Read the file first. Include enough context to make old_string "
        "unique. To create a file or rewrite it completely use write_file."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": PATH_ARGUMENT_DOC},
            "old_string": {"type": "string", "description": "Exact text to replace."},
            "new_string": {"type": "string", "description": "Replacement text."},
            "replace_all": {
                "type": "boolean",
                "default": False,
                "description": "Replace every occurrence instead of requiring exactly one.",
            },
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    },
    fn=edit_file,
)

WRITE_FILE = Tool(
    name="write_file",
    description=(
        "Create a file, or overwrite an existing one, with the given content. Prefer "
        "edit_file for changes to existing files."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": PATH_ARGUMENT_DOC},
            "content": {"type": "string", "description": "The complete new file content."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    },
    fn=write_file,
)

EDIT_TOOLS: list[Tool] = [EDIT_FILE, WRITE_FILE]

__all__ = ["EDIT_FILE", "EDIT_TOOLS", "WRITE_FILE", "edit_file", "write_file"]
