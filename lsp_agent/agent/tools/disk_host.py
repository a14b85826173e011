"""The headless `ToolHost`: approvals from a fixed answer, a callable or a terminal prompt, and
edits written atomically to disk. The CLI, benchmarks and tests use it; the LSP server has its own.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsp_agent.agent.tools.paths import resolve_in_workspace

Approver = Callable[[str, str], bool | Awaitable[bool]]


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write `text` (UTF-8, line endings as given) to `path` via a temp file and os.replace.

    Symlinks are followed (the target is replaced, not the link); an existing file keeps its
    permission bits; missing parent directories are created.
    """
    target = Path(os.path.realpath(os.fspath(path)))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def tty_prompt_approver(action: str, detail: str) -> bool:
    """Ask on the terminal (prompt on stderr, answer from stdin); deny when stdin is no TTY."""
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        return False
    sys.stderr.write(f"\n{action}:\n{detail}\nAllow? [y/N] ")
    sys.stderr.flush()
    answer = stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


class DiskToolHost:
    """A `ToolHost` for headless use: approvals from a fixed answer or a callable, edits
    written atomically to disk.

    `approver` is a bool (always allow / always deny) or a callable `(action, detail) -> bool`
    (sync or async; sync callables run in a thread so a blocking prompt does not stall the
    event loop). Use `tty_prompt_approver` for an interactive y/n prompt that denies when stdin
    is not a terminal. With `workspace` set, `apply_edit` refuses paths outside it.
    Every request is recorded in `approval_requests` and every write in `applied_edits`.
    """

    def __init__(self, approver: bool | Approver = False, *, workspace: Path | None = None):
        self._approver = approver
        self.workspace = Path(workspace) if workspace is not None else None
        self.approval_requests: list[tuple[str, str]] = []
        self.applied_edits: list[tuple[Path, str]] = []

    async def approve(self, action: str, detail: str) -> bool:
        self.approval_requests.append((action, detail))
        approver = self._approver
        if isinstance(approver, bool):
            return approver
        if inspect.iscoroutinefunction(approver):
            result: Any = await approver(action, detail)
        else:
            result = await asyncio.to_thread(approver, action, detail)
            if inspect.isawaitable(result):
                result = await result
        return bool(result)

    async def apply_edit(self, path: Path, new_text: str, description: str) -> bool:
        target = Path(path)
        if self.workspace is not None:
            target = resolve_in_workspace(self.workspace, str(target))
        await asyncio.to_thread(atomic_write_text, target, new_text)
        self.applied_edits.append((target, description))
        return True


__all__ = ["Approver", "DiskToolHost", "atomic_write_text", "tty_prompt_approver"]
