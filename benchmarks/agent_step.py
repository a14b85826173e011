"""Agent overhead per step, excluding the model's own time: context compilation, tool
dispatch and persistence, with the scripted model and 10k messages already in recall.

    python benchmarks/agent_step.py [--messages 10000] [--steps 40] [--embedder default]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--embedder", default="default")
    args = parser.parse_args()

    from lsp_agent.agent.tools.disk_host import DiskToolHost
    from lsp_agent.config import parse_settings
    from lsp_agent.memory.index_upkeep import maintain
    from lsp_agent.service import AgentService

    tmp = Path(tempfile.mkdtemp())
    os.environ["LSP_AGENT_HOME"] = str(tmp / "home")
    ws = tmp / "ws"
    ws.mkdir()
    script = tmp / "script.json"
    steps = [{"content": "", "tool_calls": [{"name": "memory_insert", "arguments": {
        "label": "notes", "new_string": f"lesson {i}"}}]} for i in range(args.steps - 1)]
    script.write_text(json.dumps({"responses": [*steps, {"content": "done"}]}))
    settings, _ = parse_settings({"model": f"scripted/{script}", "embedder": args.embedder,
                                  "store": str(tmp / "store"), "maxSteps": args.steps + 5})
    session = AgentService(ws, settings, DiskToolHost(True))
    recall = session.memory.recall
    t0 = time.perf_counter()
    for c in range(args.messages // 500):
        conv = recall.new_conversation(f"old {c}")
        recall.append_many([{"conversation_id": conv.id, "role": "user" if i % 2 else "assistant",
                             "content": f"message {c}-{i} about module_{i % 97} and tests"}
                            for i in range(500)])
    maintain(session.memory.store.table("messages"))
    fill = time.perf_counter() - t0
    print(f"filled {args.messages} messages in {fill:.1f} s ({args.messages / fill:.0f}/s)")
    result = asyncio.run(session.run_turn("go"))
    overhead = result.step_overhead_ms[1:]  # the first step pays one-off imports and warm-up
    print(f"embedder: {session.memory.store.embedder_name or 'none'}")
    print(f"steps: {result.steps}, stopped: {result.stopped}")
    t0 = time.perf_counter()
    recall.backfill.drain(120)
    print(f"vectors of the turn's {result.steps * 2} messages written "
          f"{time.perf_counter() - t0:.1f} s after the turn ended")
    print(f"step overhead median {statistics.median(overhead):.1f} ms, "
          f"p95 {sorted(overhead)[int(len(overhead) * 0.95) - 1]:.1f} ms (goal: median <= 30 ms)")


if __name__ == "__main__":
    main()
