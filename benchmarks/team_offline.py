"""Team memory while the team store goes away and comes back, on moto's S3 server on loopback.

Measured in one run, beside a local store (the baseline):
- the blocks of a prompt (`blocks.list()`): local store, team store up, team store away (cache);
- a block append: local, team up, the first one after the store goes away (it waits for the
  call deadline), the ones after it (queued at once);
- replay: seconds to land N queued appends once the store answers, and that every one landed
  once, in order.

    python benchmarks/team_offline.py [--writes 50] [--repeat 30] [--timeout 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _times(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _row(name: str, ms: list[float], base: float | None = None) -> str:
    med = statistics.median(ms)
    p95 = sorted(ms)[max(0, int(len(ms) * 0.95) - 1)]
    ratio = f"{med / base:6.1f}x" if base else "      -"
    return f"{name:<44} median {med:8.1f} ms   p95 {p95:8.1f} ms   {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=50, help="appends queued while away")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--timeout", default="3", help="LSP_AGENT_TEAM_TIMEOUT (seconds)")
    args = parser.parse_args()
    os.environ["LSP_AGENT_TEAM_TIMEOUT"] = args.timeout

    from s3_server import start_server

    from lsp_agent.memory.agent_memory import AgentMemory

    tmp = Path(tempfile.mkdtemp(prefix="team-offline-"))
    server = start_server(tmp / "moto.log")
    try:
        os.environ.update(server.env)
        bucket = server.new_bucket()
        os.environ["LSP_AGENT_HOME"] = str(tmp / "home")
        for name in ("local", "team"):
            (tmp / name).mkdir()
        local = AgentMemory(tmp / "local", embedder="none", code_embedder="none")
        local.open(resume_vectors=False)
        team = AgentMemory(tmp / "team", embedder="none", code_embedder="none",
                           team_uri=f"s3://{bucket}/project")
        team.open(resume_vectors=False)
        assert team.team is not None
        counter = iter(range(1_000_000))

        def append(mem: AgentMemory) -> Callable[[], object]:
            return lambda: mem.blocks.edit(
                "commands", lambda old: f"{old}\n- step {next(counter)}".strip(),
                author="user", reason="bench")

        list_local = _times(local.blocks.list, args.repeat)
        list_team = _times(team.blocks.list, args.repeat)
        edit_local = _times(append(local), args.repeat)
        edit_team = _times(append(team), args.repeat)
        server.pause()
        try:
            first = _times(lambda: team.blocks.edit("commands", lambda old: old + "\n- away 0",
                                                    author="user", reason="bench"), 1)
            n = iter(range(1, args.writes))
            queued = _times(lambda: team.blocks.edit(
                "commands", lambda old: old + f"\n- away {next(n)}", author="user",
                reason="bench"), args.writes - 1)
            list_away = _times(team.blocks.list, args.repeat)
        finally:
            server.resume()
        while not team.team.link.available:
            time.sleep(0.1)
        t = time.perf_counter()
        landed = team.team.replay()
        replay_s = time.perf_counter() - t
        value = team.team.blocks.get("commands").value
        away = [ln for ln in value.splitlines() if ln.startswith("- away")]
        in_order = away == [f"- away {i}" for i in range(args.writes)]

        base_list, base_edit = statistics.median(list_local), statistics.median(edit_local)
        print(f"team store: moto on loopback; call deadline {args.timeout} s; "
              f"{args.repeat} repeats, {args.writes} writes while away")
        print(_row("blocks.list (prompt blocks), local store", list_local))
        print(_row("blocks.list, team store up", list_team, base_list))
        print(_row("blocks.list, team store away (cache)", list_away, base_list))
        print(_row("append, local store", edit_local))
        print(_row("append, team store up", edit_team, base_edit))
        print(_row("append, first after the store went away", first, base_edit))
        print(_row("append, queued (store away)", queued, base_edit))
        print(f"replay: {landed} queued writes landed in {replay_s:.2f} s "
              f"({replay_s / max(landed, 1) * 1000:.0f} ms each); each once, in order: "
              f"{in_order and len(away) == args.writes}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
