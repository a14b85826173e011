"""The team store on Azure Blob Storage (Azurite), beside S3 (moto) and a local folder, in one run.

    PYTHONPATH=$PWD python benchmarks/team_store_azure.py [--ops 30] [--edits 10] [--json]

Needs Azurite (scripts/setup-azurite). Starts Azurite and moto on loopback and measures, on a
fresh container, a fresh bucket and a local folder: the latency (median, p95) of an append (a
recall message) and of a block edit (through the commit protocol), and 4 writer processes
appending to one block at once (benchmarks/team_store.py's `conflicts`: conflict rate, edit
latency, and every acknowledged edit checked to be in the block). Both servers are local
emulators: the figures compare the protocol's cost on each API, not the clouds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=30)
    parser.add_argument("--edits", type=int, default=10, help="edits per writer (4 writers)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import azurite_server
    import s3_server
    from team_store import conflicts, latency

    exe = azurite_server.azurite_bin()
    if exe is None:
        print(azurite_server.MISSING, file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="team-azure-"))
    os.environ["LSP_AGENT_HOME"] = str(tmp / "home")
    az = azurite_server.start_server(exe, tmp / "azurite")
    s3 = s3_server.start_server(tmp / "moto.log")
    os.environ.update(az.env)
    os.environ.update(s3.env)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stores = {"local": lambda: str(tmp / f"l-{time.monotonic_ns()}"),
              "s3": lambda: f"s3://{s3.new_bucket()}/store",
              "azure": lambda: f"az://{az.new_container()}/store"}
    report: dict[str, Any] = {}
    try:
        report["latency"] = {where: latency(uri(), args.ops, None)
                             for where, uri in stores.items()}
        report["conflicts"] = {where: conflicts(uri(), 4, args.edits, env, tmp)
                               for where, uri in stores.items()}
    finally:
        az.stop()
        s3.stop()
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for where, got in report["latency"].items():
        print(f"{where:6} append {got['append']['median_ms']} / {got['append']['p95_ms']} ms, "
              f"block edit {got['block_edit']['median_ms']} / {got['block_edit']['p95_ms']} ms")
    for where, r in report["conflicts"].items():
        print(f"{where:6} 4 writers x {args.edits}: conflict rate {r['conflict_rate']:.0%}, "
              f"edit median {r['edit']['median_ms']} ms p95 {r['edit']['p95_ms']} ms, "
              f"{r['edits_per_s']} edits/s, missing {r['missing']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
