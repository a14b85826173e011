"""Block edits on object storage as versions pile up: S3 requests and latency per edit.

    PYTHONPATH=$PWD python benchmarks/team_versions.py [--edits 400] [--window 50] [--json]

Starts moto's S3-compatible server on loopback (tests/s3_server.py) and edits one block on
three stores in fresh buckets, in turns of `--window` edits each, so the noise of a shared
machine falls on all three alike:

- "before": reads check for a newer table version on every call (read consistency 0), no
  version upkeep: how lsp-agent worked before;
- "0.1 s reads": reads may be 0.1 s stale (store.REMOTE_READ_CONSISTENCY), no upkeep;
- "now": 0.1 s reads and the version upkeep (memory/version_upkeep.py, every 32 edits).

Per window: the median edit latency and the S3 requests per edit, counted from moto's access
log by bucket. The block grows by one line per edit, as a `remember` does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

VARIANTS = ("before", "0.1 s reads", "now")


def _open(uri: str, variant: str) -> Any:
    from lsp_agent.memory import store as store_mod
    from lsp_agent.memory.blocks import BlockManager
    from lsp_agent.memory.store import MemoryStore

    saved = store_mod.REMOTE_READ_CONSISTENCY
    if variant == "before":
        store_mod.REMOTE_READ_CONSISTENCY = timedelta(0)
    try:
        store = MemoryStore(uri, embedder_spec="none")
        store.ensure_initialized()  # connects now, with the interval of its variant
    finally:
        store_mod.REMOTE_READ_CONSISTENCY = saved
    blocks = BlockManager(store)
    blocks.upkeep.enabled = variant == "now"
    blocks.create("notes", "", "", limit=10_000_000)
    return blocks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=400)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import os

    from s3_server import start_server

    tmp = Path(tempfile.mkdtemp(prefix="team-versions-"))
    log = tmp / "moto.log"
    server = start_server(log)
    os.environ.update(server.env)
    try:
        buckets = {v: server.new_bucket() for v in VARIANTS}
        stores = {v: _open(f"s3://{buckets[v]}/store", v) for v in VARIANTS}
        rows: list[dict[str, Any]] = []
        done = 0
        while done < args.edits:
            row: dict[str, Any] = {"edits": f"{done + 1}-{done + args.window}"}
            for v in VARIANTS:
                before = _requests(log, buckets[v])
                took = []
                for i in range(done, done + args.window):
                    start = time.perf_counter()
                    stores[v].edit("notes", lambda old, i=i: old + f"\n- lesson {i} learned",
                                   author="agent", reason="remember")
                    took.append(time.perf_counter() - start)
                time.sleep(0.2)  # moto's log lines of the last edit are written
                row[v] = {"median_ms": round(statistics.median(took) * 1000, 1),
                          "requests_per_edit": round(
                              (_requests(log, buckets[v]) - before) / args.window, 1)}
            rows.append(row)
            done += args.window
            if not args.json:
                print(_line(row), flush=True)
        for v in VARIANTS:  # nothing lost on any store
            value = stores[v].get("notes").value
            assert all(f"- lesson {i} learned" in value for i in range(done)), v
        report = {"edits": done, "window": args.window, "rows": rows,
                  "upkeep_runs": stores["now"].upkeep.runs}
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"upkeep runs (now): {report['upkeep_runs']}; every edit present on all three")
    finally:
        server.stop()
    return 0


def _requests(log: Path, bucket: str) -> int:
    return log.read_text(errors="replace").count(f"/{bucket}")


def _line(row: dict[str, Any]) -> str:
    cells = [f"{v}: {row[v]['median_ms']:7.1f} ms {row[v]['requests_per_edit']:5.1f} req"
             for v in VARIANTS]
    return f"{row['edits']:>9}  " + " | ".join(cells)


if __name__ == "__main__":
    sys.exit(main())
