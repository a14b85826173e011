"""The team store on object storage, measured against a local store in the same run.

    PYTHONPATH=$PWD python benchmarks/team_store.py [--quick] [--rows 100000] [--json]

Starts moto's S3-compatible server on loopback (tests/s3_server.py; or the endpoint in
LSP_AGENT_TEST_S3_ENDPOINT) and measures, on a fresh bucket and on a local folder:

1. per-operation latency (median, p95) and the ratio object storage / local, of an append (a
   recall message), a block edit (an append to a block, through the commit protocol), and a
   hybrid search (full text + vector, fused) over a table of `--rows` passages with an FTS
   and an IVF_PQ index; its vectors are random unit vectors of width 64 (no embedder: the
   query's embedding costs the same on both stores and is left out);
2. conflicts: 4 and 16 writer processes (separate homes: no shared lock) each appending to
   one shared block: the share of edits that lost a claim at least once, lost claims per
   edit, and every edit's latency; afterwards every edit is checked to be in the block;
3. visibility: one process edits a block every 0.3 s, another (a second machine) polls it;
   the time from the edit's acknowledgement to the reader seeing it (median, p95).

--quick: fewer operations and 20k rows (about 2 minutes); the full run takes about 15.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

DIM = 64
WORDS = ("lance", "bucket", "version", "commit", "merge", "block", "memory", "agent", "edit",
         "search", "vector", "index", "machine", "team", "store", "conflict", "retry", "object")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(values: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(pct(values, 0.95) * 1000, 1), "n": len(values)}


# -- 1. latency -----------------------------------------------------------------------------

def latency(uri: str, ops: int, rows: int | None) -> dict[str, Any]:
    """Append and block edit latencies, and the hybrid search over `rows` rows (None: no
    search, as benchmarks/team_store_azure.py measures)."""
    import numpy as np

    from lsp_agent.memory.blocks import BlockManager
    from lsp_agent.memory.recall import RecallMemory
    from lsp_agent.memory.store import MemoryStore

    store = MemoryStore(uri, embedder_spec="none")
    store.ensure_initialized()
    blocks = BlockManager(store)
    blocks.create("bench", "", "", limit=1_000_000)
    recall = RecallMemory(store)
    conv = recall.new_conversation("bench")
    out: dict[str, Any] = {}
    times = []
    for i in range(ops):
        t = time.perf_counter()
        recall.append(conv.id, "user", f"message {i} about {WORDS[i % len(WORDS)]}")
        times.append(time.perf_counter() - t)
    out["append"] = ms(times)
    times = []
    for i in range(ops):
        t = time.perf_counter()
        blocks.edit("bench", lambda old, i=i: old + f"\nline {i}", author="user", reason="bench")
        times.append(time.perf_counter() - t)
    out["block_edit"] = ms(times)
    assert blocks.get("bench").value.count("line ") == ops
    if rows is not None:
        out["hybrid_search"] = hybrid(uri, ops, rows, np.random.default_rng(5))
    return out


def hybrid(uri: str, ops: int, rows: int, rng: Any) -> dict[str, Any]:
    import lancedb
    import pyarrow as pa

    from lsp_agent.memory.index_upkeep import maintain
    from lsp_agent.memory.search import search_table

    db = lancedb.connect(uri, read_consistency_interval=__import__("datetime").timedelta(0))
    schema = pa.schema([("id", pa.string()), ("search_text", pa.string()),
                        ("vector", pa.list_(pa.float32(), DIM))])
    tbl = None
    t0 = time.perf_counter()
    for start in range(0, rows, 20_000):
        n = min(20_000, rows - start)
        vecs = rng.standard_normal((n, DIM)).astype("float32")
        vecs /= (vecs ** 2).sum(1, keepdims=True) ** 0.5
        words = rng.integers(0, len(WORDS), (n, 6))
        data = pa.table({
            "id": [f"p{start + i}" for i in range(n)],
            "search_text": [" ".join(WORDS[w] for w in ws) + f" n{start + i}"
                            for i, ws in enumerate(words)],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), DIM)},
            schema=schema)
        tbl = db.create_table("passages", data) if tbl is None else tbl
        if start:
            tbl.add(data)
    assert tbl is not None
    maintain(tbl)  # FTS first
    maintain(tbl)  # then the scalar and IVF_PQ indexes
    build = time.perf_counter() - t0
    times = []
    for i in range(ops):
        vec = rng.standard_normal(DIM).astype("float32")
        query = f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7) % len(WORDS)]}"
        t = time.perf_counter()
        hits = search_table(tbl, query, (vec / (vec ** 2).sum() ** 0.5).tolist(), mode="hybrid",
                            limit=10, columns=["id", "search_text"])
        times.append(time.perf_counter() - t)
        assert hits
    return {**ms(times), "rows": rows, "build_s": round(build, 1)}


# -- 2. conflicts ---------------------------------------------------------------------------

WORKER = r"""
import json, sys, time
from pathlib import Path
from lsp_agent.memory.blocks import BlockManager
from lsp_agent.memory.store import MemoryStore
uri, edits, name, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
blocks = BlockManager(MemoryStore(uri, embedder_spec="none"))
blocks.get("shared")
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
lost, times, acked = [], [], []
for i in range(edits):
    before, t = blocks.lost_claims, time.perf_counter()
    token = f"{name}-{i}"
    blocks.edit("shared", lambda old, tok=token: old + "\n" + tok, author="agent", reason="bench")
    times.append(time.perf_counter() - t)
    lost.append(blocks.lost_claims - before)
    acked.append(token)
print(json.dumps({"lost": lost, "times": times, "acked": acked}), flush=True)
"""


def conflicts(uri: str, writers: int, edits: int, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    from lsp_agent.memory.blocks import BlockManager
    from lsp_agent.memory.store import MemoryStore

    store = MemoryStore(uri, embedder_spec="none")
    store.ensure_initialized()
    BlockManager(store).create("shared", "", "", limit=10_000_000)
    go = tmp / f"go-{writers}"
    procs = []
    for w in range(writers):
        home = tmp / f"home-{writers}-{w}"
        home.mkdir(exist_ok=True)
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, uri, str(edits), f"w{w}", str(go)],
            env={**env, "LSP_AGENT_HOME": str(home), "LSP_AGENT_MACHINE": f"w{w}"},
            stdout=subprocess.PIPE, text=True))
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    go.touch()
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - t0
    lost = [n for r in results for n in r["lost"]]
    value = set(BlockManager(MemoryStore(uri, embedder_spec="none")).get("shared").value.split())
    missing = [t for r in results for t in r["acked"] if t not in value]
    return {"writers": writers, "edits": len(lost),
            "conflict_rate": round(sum(1 for n in lost if n) / len(lost), 3),
            "lost_claims_per_edit": round(sum(lost) / len(lost), 2),
            "max_lost_claims": max(lost), "edit": ms([t for r in results for t in r["times"]]),
            "edits_per_s": round(len(lost) / wall, 2), "missing": len(missing)}


# -- 3. visibility --------------------------------------------------------------------------

READER = r"""
import sys, time
from lsp_agent.memory.blocks import BlockManager
from lsp_agent.memory.store import MemoryStore
uri, until = sys.argv[1], int(sys.argv[2])
blocks = BlockManager(MemoryStore(uri, embedder_spec="none"))
seen = blocks.get("seen").version
print("ready", flush=True)
while seen < until:
    v = blocks.get("seen").version
    if v != seen:
        print(v, time.time(), flush=True)
        seen = v
"""


def visibility(uri: str, edits: int, env: dict[str, str]) -> dict[str, Any]:
    from lsp_agent.memory.blocks import BlockManager
    from lsp_agent.memory.store import MemoryStore

    store = MemoryStore(uri, embedder_spec="none")
    store.ensure_initialized()
    blocks = BlockManager(store)
    first = blocks.create("seen", "", "", limit=1_000_000).version
    reader = subprocess.Popen([sys.executable, "-c", READER, uri, str(first + edits)],
                              env=env, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
    acked: dict[int, float] = {}
    for i in range(edits):
        got = blocks.edit("seen", lambda old, i=i: old + f"\n{i}", author="user", reason="bench")
        acked[got.version] = time.time()
        time.sleep(0.3)
    out = reader.communicate(timeout=120)[0]
    seen = {int(v): float(t) for v, t in (line.split() for line in out.splitlines())}
    delays = [max(0.0, seen[v] - t) for v, t in acked.items() if v in seen]
    return {**ms(delays), "missed_versions": edits - len(delays)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ops = 10 if args.quick else 30
    rows = args.rows or (20_000 if args.quick else 100_000)
    edits = {4: 5, 16: 2} if args.quick else {4: 15, 16: 5}
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from s3_server import start_server

    tmp = Path(tempfile.mkdtemp(prefix="team-store-"))
    os.environ["LSP_AGENT_HOME"] = str(tmp / "home")
    server = start_server(tmp / "moto.log")
    os.environ.update(server.env)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    report: dict[str, Any] = {"rows": rows}
    try:
        local = latency(str(tmp / "local"), ops, rows)
        remote = latency(f"s3://{server.new_bucket()}/store", ops, rows)
        report["latency"] = {op: {"local": local[op], "s3": remote[op],
                                  "ratio": round(remote[op]["median_ms"]
                                                 / max(local[op]["median_ms"], 0.01), 1)}
                             for op in local}
        report["conflicts"] = {
            where: [conflicts(uri(), w, n, env, tmp) for w, n in edits.items()]
            for where, uri in (("local", lambda: str(tmp / f"c-{time.monotonic_ns()}")),
                               ("s3", lambda: f"s3://{server.new_bucket()}/store"))}
        report["visibility"] = {
            "local": visibility(str(tmp / "vis"), ops, env),
            "s3": visibility(f"s3://{server.new_bucket()}/store", ops, env)}
    finally:
        server.stop()
    print(json.dumps(report, indent=1) if args.json else _table(report))
    return 0


def _table(report: dict[str, Any]) -> str:
    lines = [f"Per-operation latency (median / p95 ms; hybrid search over {report['rows']} rows)"]
    for op, got in report["latency"].items():
        lines.append(f"  {op:14} local {got['local']['median_ms']:7.1f} / "
                     f"{got['local']['p95_ms']:7.1f}   s3 {got['s3']['median_ms']:7.1f} / "
                     f"{got['s3']['p95_ms']:7.1f}   ratio {got['ratio']}x")
    lines.append("Concurrent writers on one block")
    for where, runs in report["conflicts"].items():
        for r in runs:
            lines.append(f"  {where:5} {r['writers']:2} writers: {r['edits']} edits, conflict "
                         f"rate {r['conflict_rate']:.0%}, lost claims/edit "
                         f"{r['lost_claims_per_edit']} (max {r['max_lost_claims']}), edit median "
                         f"{r['edit']['median_ms']} ms p95 {r['edit']['p95_ms']} ms, "
                         f"{r['edits_per_s']} edits/s, missing {r['missing']}")
    lines.append("Visible on another machine after the edit's acknowledgement (median / p95 ms)")
    for where, got in report["visibility"].items():
        lines.append(f"  {where:5} {got['median_ms']} / {got['p95_ms']} "
                     f"(missed {got['missed_versions']})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
