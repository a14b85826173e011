"""LoCoMo evidence-recall adapter: the project's real memory write path and search API.

    cd /work/main && python /work/shared/bench/locomo_recall.py --retriever benchmarks.locomo:factory

Each LoCoMo sample gets a fresh temporary store (`AgentMemory(..., embedder="default")`). Every
session becomes one conversation (a real user opens a new chat each time they come back; the
sessions of a sample are days apart), written with `RecallMemory.append_many` — the same
contextual search text, embeddings, FTS index and background index upkeep a user gets. The first
speaker of a sample is the `user`, the other the `assistant`; the speaker's name is the message
`name`; `created_at` is the session's date_time; a shared image arrives the way a chat client
passes a user's picture to the agent: its description appended to the message text.

Questions go through `RecallMemory.search` (hybrid, all conversations, no filters); hits map
back to dia_ids through a message id -> dia_id dict kept here. Nothing else is built.

Environment knobs (for measurement only): LOCOMO_EMBEDDER (default "default"),
LOCOMO_MODE (hybrid | text | vector).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lsp_agent.memory.agent_memory import AgentMemory
from lsp_agent.memory.index_upkeep import MAINTAINER

EMBEDDER = os.environ.get("LOCOMO_EMBEDDER", "default")
MODE = os.environ.get("LOCOMO_MODE", "hybrid")
_TMP = Path(tempfile.mkdtemp(prefix="locomo-bench-"))
atexit.register(shutil.rmtree, _TMP, True)
STATS: dict[str, float] = {"write_s": 0.0, "turns": 0, "search_s": 0.0, "queries": 0}


def parse_date_time(value: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware UTC datetime."""
    value = " ".join(value.replace(",", " ").split())
    for fmt in ("%I:%M %p on %d %B %Y", "%I:%M%p on %d %B %Y", "%d %B %Y"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"unrecognised LoCoMo date_time {value!r}")


def message_content(turn: dict[str, Any]) -> str:
    text = turn["text"]
    caption = (turn.get("blip_caption") or "").strip()
    return f"{text}\n[image: {caption}]" if caption else text


def _wait_for_upkeep(table: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with MAINTAINER._lock:
            if id(table) not in MAINTAINER._running:
                return
        time.sleep(0.05)


def factory(sample_id: str, turns: list[dict[str, Any]]):
    workspace = _TMP / sample_id / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    mem = AgentMemory(workspace, store_uri=str(_TMP / sample_id / "store"),
                      shared_uri=str(_TMP / sample_id / "shared"), embedder=EMBEDDER)
    mem.open()
    recall = mem.recall
    first_speaker = turns[0]["speaker"] if turns else ""
    by_id: dict[str, str] = {}

    t0 = time.perf_counter()
    sessions: dict[int, list[dict[str, Any]]] = {}
    for turn in turns:
        sessions.setdefault(turn["session"], []).append(turn)
    for number in sorted(sessions):
        group = sessions[number]
        when = parse_date_time(group[0]["date_time"])
        conv = recall.new_conversation(title=f"{sample_id} session {number}")
        msgs = recall.append_many([
            {"conversation_id": conv.id, "created_at": when, "name": t["speaker"],
             "role": "user" if t["speaker"] == first_speaker else "assistant",
             "content": message_content(t)}
            for t in group
        ])
        for msg, t in zip(msgs, group, strict=True):
            by_id[msg.id] = t["dia_id"]
    table = recall.store.table("messages")
    # what the background upkeep does for every store: let it finish, then fold the rest in
    _wait_for_upkeep(table)
    recall.optimize()
    recall.optimize()
    STATS["write_s"] += time.perf_counter() - t0
    STATS["turns"] += len(turns)

    def retrieve(question: str, k: int) -> list[str]:
        t1 = time.perf_counter()
        hits = recall.search(question, mode=MODE, limit=k)
        STATS["search_s"] += time.perf_counter() - t1
        STATS["queries"] += 1
        return [by_id[h.id] for h in hits if h.id in by_id]

    return retrieve


def _report() -> None:
    if STATS["turns"]:
        print(f"[locomo adapter] embedder={EMBEDDER} mode={MODE}: wrote {int(STATS['turns'])} turns "
              f"in {STATS['write_s']:.1f}s; {int(STATS['queries'])} searches, "
              f"{1000 * STATS['search_s'] / max(1, STATS['queries']):.1f} ms mean")


atexit.register(_report)
