"""Figures for the tool-safety hardening (issue 11): protected writes and runaway regexes.

    python benchmarks/tool_safety.py [--json out.json]

1. Every protected path and trick of tests/test_protected_paths.py, written with write_file and
   edit_file in each permission mode through each host, the user refusing: how many writes
   reached the disk without an approval (must be 0).
2. grep with catastrophic patterns on one line of 48 `a`s and a `!`: wall time, the result, and
   the longest stall of the event loop meanwhile (a 10 ms ticker). For contrast, Python's `re`
   (what grep used before) on shorter lines, in a child process with a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lsp_agent.agent.tools.base import PermissionMode, ToolContext, ToolError  # noqa: E402
from lsp_agent.agent.tools.disk_host import DiskToolHost  # noqa: E402
from lsp_agent.agent.tools.read_tools import grep, list_files  # noqa: E402


async def protected_matrix() -> dict:
    import test_protected_paths as t  # the test's workspace, hosts and cases

    tried = unprompted = 0
    with tempfile.TemporaryDirectory() as tmp:
        for kind in t.HOSTS:
            for mode in PermissionMode:
                for i, (spelled, real) in enumerate(t.CASES):
                    ws = Path(tmp) / f"{kind}-{mode.value}-{i}"
                    t.build(ws)
                    host = t.Host(kind, ws)
                    ctx = ToolContext(workspace=ws, host=host.host, permission_mode=mode)
                    calls = [("write_file", (spelled.format(ws=ws), t.PAYLOAD))]
                    if (ws / real).exists():
                        calls.append(("edit_file", (spelled.format(ws=ws), "original",
                                                    "fsmonitor")))
                    for name, args in calls:
                        before = t.snapshot(ws)
                        fn = t.write_file if name == "write_file" else t.edit_file
                        try:
                            await fn(ctx, *args)
                        except ToolError:
                            pass
                        tried += 1
                        unprompted += t.snapshot(ws) != before
    return {"paths": len(t.PATHS), "tricks": len(t.TRICKS), "modes": len(PermissionMode),
            "hosts": len(t.HOSTS), "writes_tried": tried, "unprompted_writes": unprompted}


async def timed(coro_fn) -> dict:
    gaps: list[float] = []
    stop = False

    async def ticker() -> None:
        last = time.monotonic()
        while not stop:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    t0 = time.monotonic()
    try:
        out = await coro_fn()
    except ToolError as exc:
        out = f"error: {exc}"
    elapsed = time.monotonic() - t0
    stop = True
    await task
    return {"seconds": round(elapsed, 3), "max_loop_stall_s": round(max(gaps, default=0), 3),
            "result": out.splitlines()[0][:90]}


async def regexes() -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        (ws / "a.txt").write_text("a" * 48 + "!\n")
        (ws / ("a" * 40 + "c")).write_text("x\n")
        ctx = ToolContext(workspace=ws, host=DiskToolHost(False))
        for pattern in [r"(a+)+$", r"(a|aa)+$", r"(a|a)+$", r"(.*a){25}", r"^(\w+\s?)*$"]:
            out[f"grep /{pattern}/"] = await timed(lambda p=pattern: grep(ctx, pattern=p))
        glob = "{a,a}" * 30
        out["list_files glob {a,a}x30"] = await timed(lambda: list_files(ctx, pattern=glob))
    return out


def re_contrast(limit: float = 20.0) -> dict:
    out = {}
    for n in (20, 22, 24, 26):
        code = f"import re,time;t=time.monotonic();re.search(r'(a+)+$','a'*{n}+'!');" \
               "print(time.monotonic()-t)"
        try:
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  timeout=limit)
            out[f"re (a+)+$ on {n} a's"] = round(float(proc.stdout), 2)
        except subprocess.TimeoutExpired:
            out[f"re (a+)+$ on {n} a's"] = f"> {limit:g} (killed)"
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = {"protected": asyncio.run(protected_matrix()), "grep": asyncio.run(regexes()),
               "re_before": re_contrast()}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
