"""`$/progress` for long commands, with cancellation from the client's progress UI."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from lsprotocol import types as T


class Progress:
    """Reports begin / report / end when the client supports work-done progress; else silent.

    Use as `async with Progress(server, "Init") as p: p.report("...", 40)`; a cancel from the
    client cancels the task that opened it.
    """

    def __init__(self, server: Any, title: str) -> None:
        self.server = server
        self.title = title
        self.token: str | None = None
        self._task = asyncio.current_task()
        self._last: tuple[str | None, int | None] = (None, None)

    @property
    def supported(self) -> bool:
        caps = self.server.client_capabilities
        return bool(caps and caps.window and caps.window.work_done_progress)

    async def __aenter__(self) -> Progress:
        if not self.supported:
            return self
        token = f"lsp-agent-{uuid.uuid4().hex[:8]}"
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception:  # noqa: BLE001 - the client refused: no progress, the work goes on
            return self
        self.token = token
        self.server.work_done_progress.begin(
            token, T.WorkDoneProgressBegin(title=self.title, cancellable=True, percentage=0))
        fut = self.server.work_done_progress.tokens.get(token)
        if fut is not None and self._task is not None:
            task = self._task
            fut.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        return self

    def report(self, message: str, percentage: int | None = None) -> None:
        if self.token is None or (message, percentage) == self._last:
            return
        self._last = (message, percentage)
        pct = None if percentage is None else max(0, min(100, int(percentage)))
        self.server.work_done_progress.report(
            self.token, T.WorkDoneProgressReport(message=message[:200], percentage=pct,
                                                 cancellable=True))

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.token is None:
            return
        if exc_type is asyncio.CancelledError:
            message = "Cancelled"
        elif exc is not None:
            message = f"Failed: {exc}"[:200]
        else:  # a last report at 100 % says what was done ("Done" says nothing)
            last, pct = self._last
            message = last if pct == 100 and last else "Done"
        self.server.work_done_progress.end(self.token, T.WorkDoneProgressEnd(message=message))
