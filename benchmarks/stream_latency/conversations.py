"""Conversations for the history figure, appended through the real recall API.

    python benchmarks/stream_latency/conversations.py FOLDER SIZE [SIZE ...]

fills FOLDER/store (workspace FOLDER/ws, no embedder) with one conversation per SIZE and prints
`{size: conversation id}` as JSON. benchmarks/stream_latency.py runs it as a child process, so
the store is closed (and its index upkeep finished) before a server opens it.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

VOCAB = ("the parser reads each token and keeps a cache of recent results so a later call can "
         "skip the work when nothing changed since the last save of the file we check tests "
         "config module function class import return value error path build run").split()


def message_rows(conv_id: str, n: int, rng: random.Random) -> list[dict[str, Any]]:
    """A coding conversation: question, tool call, tool result, answer (repeated)."""
    def text(lo: int, hi: int) -> str:
        return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(lo, hi)))

    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"conversation_id": conv_id, "created_at": start + timedelta(
            seconds=20 * i)}
        kind = i % 4
        if kind == 0:
            row.update(role="user", content=f"Question {i // 4}: {text(10, 40)}?")
        elif kind == 1:
            row.update(role="assistant", content=text(5, 20), tool_calls=[{
                "id": f"call_{i}", "name": "read_file", "arguments": {"path": f"pkg/m{i}.py"}}])
        elif kind == 2:
            row.update(role="tool", name="read_file", tool_call_id=f"call_{i - 1}",
                       content="\n".join(f"def f{j}(x):\n    return x + {j}" for j in range(12)))
        else:
            row.update(role="assistant", content=f"{text(40, 120)}\n\n```python\n"
                       f"def fix_{i}(x):\n    return x * 2\n```\n\n{text(20, 60)}.")
        rows.append(row)
    return rows


def build_history(folder: Path, sizes: list[int]) -> None:
    """Child process: fill folder/store; prints {size: conversation id}."""
    from lsp_agent.memory.agent_memory import AgentMemory
    from lsp_agent.memory.index_upkeep import MAINTAINER

    mem = AgentMemory(folder / "ws", store_uri=str(folder / "store"), embedder="none")
    mem.open()
    rng, ids = random.Random(12), {}
    for n in sizes:
        conv = mem.recall.new_conversation(f"{n} messages")
        rows = message_rows(conv.id, n, rng)
        for b in range(0, n, 500):
            mem.recall.append_many(rows[b:b + 500])
        ids[n] = conv.id
    mem.recall.replies.drain()
    MAINTAINER.finish()
    print(json.dumps(ids))


if __name__ == "__main__":
    build_history(Path(sys.argv[1]), [int(n) for n in sys.argv[2:]])
