"""The events a turn streams while it runs (docs/protocol.md "Events").

One `TurnEvents` per turn tags every event with the conversation, the turn and a sequence
number, and is reachable from anything the turn calls (tools, the tool host) through the
context variable `current`, so a tool can report a memory change or an approval without the
loop passing a sink through every signature.
"""

from __future__ import annotations

import inspect
import itertools
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

EventSink = Callable[[dict[str, Any]], Awaitable[None] | None]

#: Every event type, in the order a turn may send them (tests pin docs/protocol.md to this).
EVENT_TYPES = ("turn_start", "text_delta", "thinking", "tool_call", "approval_request",
               "approval_result", "memory_change", "tool_result", "usage", "message", "error",
               "done")


class TurnEvents:
    """Sends one turn's events to its sink, each tagged `conversation_id, turn_id, seq`."""

    def __init__(self, sink: EventSink | None, conversation_id: str) -> None:
        self.sink = sink
        self.conversation_id = conversation_id
        self.turn_id = uuid.uuid4().hex[:16]
        self._seq = itertools.count(1)
        self._approvals = itertools.count(1)

    async def emit(self, type: str, **fields: Any) -> None:
        if self.sink is None:
            return
        event = {"conversation_id": self.conversation_id, "turn_id": self.turn_id,
                 "seq": next(self._seq), "type": type, **fields}
        out = self.sink(event)
        if inspect.isawaitable(out):
            await out

    def approval_id(self) -> str:
        return f"{self.turn_id}-a{next(self._approvals)}"


@dataclass(frozen=True)
class Approval:
    """The approval being asked right now (a host answering inline keys its wait by `id`)."""

    id: str
    action: str


current: ContextVar[TurnEvents | None] = ContextVar("lsp_agent_turn_events", default=None)
current_approval: ContextVar[Approval | None] = ContextVar("lsp_agent_approval", default=None)


async def emit(type: str, **fields: Any) -> None:
    """Send an event for the turn running in this context (nothing outside a turn)."""
    events = current.get()
    if events is not None:
        await events.emit(type, **fields)
