"""What the learning loop needs from the agent service, as small typed protocols.

Learning runs the agent (remember, reflection, deep research) but never reaches into the
service: it is handed a `TurnRunner` and the memory, and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lsp_agent.agent.loop import TurnResult

#: Receives the agent's events (tool calls, thinking, messages) while a turn runs.
EventSink = Callable[[dict[str, object]], Awaitable[None] | None]
#: Reports long work: a message and, when known, a percentage.
ProgressFn = Callable[[str, "int | None"], None]


class TurnRunner(Protocol):
    """Runs one agent turn in the workspace's active conversation (or the one named)."""

    async def run_turn(self, prompt: str, *, on_event: EventSink | None = None,
                       conversation_id: str | None = None,
                       max_steps: int | None = None) -> TurnResult: ...


class ReflectionRunner(Protocol):
    """Runs one reflection turn: the reflection model, memory tools only, author "reflection"."""

    async def reflection_turn(self, prompt: str, conversation_id: str, *,
                              on_event: EventSink | None = None) -> TurnResult: ...
