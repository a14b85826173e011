"""A time budget for tool work that could run away (grep, list_files): a deadline and a cancel.

Such work runs in a worker thread; a worker thread cannot be killed, so it checks its `Budget`
between files and lines and stops on its own when the deadline passes or the call is cancelled
(`$/cancelRequest`, the turn's timeout). Regular expressions run on the `regex` engine with a
timeout and the GIL released, so even one pathological line can neither outlast the budget nor
stall the server's event loop meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from lsp_agent.agent.tools.base import ToolError

T = TypeVar("T")


class OutOfTime(ToolError):
    """The budget ran out (or the call was cancelled) before the work was done."""


class Budget:
    """How long a piece of tool work may still run, and whether it has been cancelled."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.cancelled = threading.Event()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def exhausted(self) -> bool:
        return self.cancelled.is_set() or self.remaining() <= 0

    def check(self) -> None:
        """Raise `OutOfTime` when the deadline has passed or the call was cancelled."""
        if self.cancelled.is_set():
            raise OutOfTime("The tool call was cancelled.")
        if self.remaining() <= 0:
            raise OutOfTime(f"The tool call ran out of its {self.seconds:g} s time limit.")


async def run_in_thread(fn: Callable[[Budget], T], seconds: float) -> T:
    """Run `fn(budget)` in a worker thread; cancelling the caller tells the worker to stop."""
    budget = Budget(seconds)
    try:
        return await asyncio.to_thread(fn, budget)
    except asyncio.CancelledError:
        budget.cancelled.set()
        raise


__all__ = ["Budget", "OutOfTime", "run_in_thread"]
