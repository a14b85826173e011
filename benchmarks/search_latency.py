#!/usr/bin/env python3
"""Memory search latency and write throughput, through the project's real write and search path.

    python benchmarks/search_latency.py                      # 10k and 100k messages
    python benchmarks/search_latency.py --sizes 10000,100000,1000000 --json out.json
    python benchmarks/search_latency.py --sizes 1000000 --skip-writes --keep DIR  # 1M: ~20 min
                                                                  # to build, reused from DIR

What it measures
  * write throughput: messages/s through `RecallMemory.append_many` (contextual search text,
    embedding with its cache, LanceDB write, background index upkeep), with the "default"
    embedder and without one ("none");
  * search latency: p50/p95 of `RecallMemory.search` in hybrid, vector and text mode over a store
    of N messages, after the index upkeep a long-lived store gets (`RecallMemory.optimize`,
    which builds the FTS indexes and, from VECTOR_INDEX_MIN_ROWS rows on, the IVF_PQ index);
  * vector recall@10 of the indexed (approximate) vector search against exact search.

Stores of 10k+ messages use synthetic text (Zipf-distributed words from a fixed vocabulary) and
synthetic vectors (a mixture of clustered unit vectors, like real sentence embeddings), supplied by
a registered "synthetic" embedder so every row still goes through `append_many` and the real table
schema. The query embedding time of the real default model is reported separately: search
latency here excludes it (it does not depend on the store size).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsp_agent.memory import index_upkeep  # noqa: E402
from lsp_agent.memory import search as msearch  # noqa: E402
from lsp_agent.memory.embedders import register_embedder  # noqa: E402
from lsp_agent.memory.recall import RecallMemory  # noqa: E402
from lsp_agent.memory.store import MemoryStore  # noqa: E402

DIM = 384
VOCAB_SIZE = 8000
CLUSTERS = 512


# -- synthetic data ------------------------------------------------------------------------------


class SyntheticEmbedder:
    """Clustered unit vectors: each text gets a vector near one of CLUSTERS random centres.

    The vector is a pure function of the text (seeded by its hash), so the embedding cache and
    repeated runs behave as with a real model.
    """

    name = "synthetic"
    dim = DIM

    def __init__(self, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        # anisotropic centres: real embeddings occupy a low-dimensional, skewed part of the space
        basis = rng.standard_normal((64, DIM)).astype(np.float32)
        mix = rng.standard_normal((CLUSTERS, 64)).astype(np.float32) * np.linspace(2, 0.2, 64)
        centres = mix @ basis + 0.3 * rng.standard_normal((CLUSTERS, DIM)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        rng = np.random.default_rng(seed)
        c = self.centres[rng.integers(CLUSTERS)]
        v = c + 0.9 * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec("query\0" + text)


_SYNTH = SyntheticEmbedder()
register_embedder("synthetic")(lambda arg: _SYNTH)


class TextGen:
    def __init__(self, seed: int = 11) -> None:
        self.rng = np.random.default_rng(seed)
        syll = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dor", "fen",
                "gal", "hes", "jun", "bel", "cor", "dax", "eli"]
        words = set()
        while len(words) < VOCAB_SIZE:
            n = int(self.rng.integers(2, 4))
            words.add("".join(syll[int(i)] for i in self.rng.integers(len(syll), size=n)))
        self.words = sorted(words)
        ranks = np.arange(1, VOCAB_SIZE + 1)
        self.p = (1.0 / ranks**1.05) / np.sum(1.0 / ranks**1.05)

    def sentence(self, lo: int = 8, hi: int = 40) -> str:
        n = int(self.rng.integers(lo, hi))
        idx = self.rng.choice(VOCAB_SIZE, size=n, p=self.p)
        return " ".join(self.words[int(i)] for i in idx)

    def query(self) -> str:
        # 2-5 content words, mid-frequency: what a user would search for
        idx = self.rng.integers(50, 3000, size=int(self.rng.integers(2, 6)))
        return " ".join(self.words[int(i)] for i in idx)


# -- helpers -------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))]


def wait_upkeep(timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    for t in threading.enumerate():
        if t.name == "lsp-agent-maintain":
            t.join(max(0.0, deadline - time.monotonic()))


def write_messages(recall: RecallMemory, n: int, gen: TextGen, *, batch: int = 500,
                   per_conv: int = 200, start: datetime | None = None) -> float:
    """Append n messages in batches of `batch`; returns the seconds taken."""
    t0 = time.perf_counter()
    when = start or datetime(2024, 1, 1, tzinfo=UTC)
    conv = None
    in_conv = 0
    done = 0
    while done < n:
        rows = []
        for _ in range(min(batch, n - done)):
            if conv is None or in_conv >= per_conv:
                conv = recall.new_conversation("synthetic")
                in_conv = 0
            role = "user" if in_conv % 2 == 0 else "assistant"
            rows.append({"conversation_id": conv.id, "role": role, "content": gen.sentence(),
                         "created_at": when + timedelta(minutes=done + len(rows))})
            in_conv += 1
        recall.append_many(rows)
        done += len(rows)
    return time.perf_counter() - t0


def open_recall(root: Path, name: str, embedder: str) -> RecallMemory:
    store = MemoryStore(str(root / name), embedder_spec=embedder)
    store.ensure_initialized()
    return RecallMemory(store)


# -- measurements --------------------------------------------------------------------------------


def measure_writes(root: Path, n_none: int, n_default: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec, n in (("none", n_none), ("default", n_default)):
        recall = open_recall(root, f"writes-{spec}", spec)
        gen = TextGen(seed=3)
        recall.store.embedder  # load the model outside the timing  # noqa: B018
        for label, batch in (("batch_50", 50), ("single", 1)):
            m = n if batch > 1 else max(50, n // 10)
            secs = write_messages(recall, m, gen, batch=batch)
            out[f"{spec}/{label}"] = {"messages": m, "seconds": round(secs, 2),
                                      "messages_per_s": round(m / secs, 1)}
            print(f"write {spec:8s} {label:9s}: {m} messages in {secs:.1f}s = "
                  f"{m / secs:.0f} msg/s", flush=True)
        wait_upkeep()
    return out


def query_embed_ms() -> dict[str, float]:
    from lsp_agent.memory.embedders import get_embedder

    emb = get_embedder("default")
    gen = TextGen(seed=5)
    qs = [gen.query() for _ in range(60)]
    emb.embed_query("warm up")
    times = []
    for q in qs:
        t0 = time.perf_counter()
        emb.embed_query(q)
        times.append(1000 * (time.perf_counter() - t0))
    return {"embedder": emb.name, "p50_ms": round(pct(times, 50), 2),
            "p95_ms": round(pct(times, 95), 2)}


def build_store(root: Path, n: int, *, direct_from: int = 300_000) -> tuple[RecallMemory, float]:
    recall = open_recall(root, f"store-{n}", "synthetic")
    gen = TextGen(seed=n)
    t0 = time.perf_counter()
    if recall.store.table("messages").count_rows() >= n:
        print(f"  reusing the {n}-message store in {root}", flush=True)
    elif n < direct_from:
        write_messages(recall, n, gen, batch=2000)
    else:
        write_direct(recall, n, gen)
    wait_upkeep()
    recall.optimize()  # what the background upkeep converges to: every index built and folded
    recall.optimize()
    return recall, time.perf_counter() - t0


def write_direct(recall: RecallMemory, n: int, gen: TextGen, batch: int = 50_000) -> None:
    """Very large stores: rows built as append_many builds them (same schema and search text),
    written in big batches without the per-row embedding-cache round trip."""
    import pyarrow as pa

    from lsp_agent.memory.schema import Message

    tbl = recall.store.table("messages")
    conv = recall.new_conversation("synthetic")
    base = datetime(2024, 1, 1, tzinfo=UTC)
    seq = 1
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            if i % 200 == 0:
                conv = recall.new_conversation("synthetic")
                recall._recent[conv.id] = deque(maxlen=max(recall.indexing.previous,
                                                        recall.indexing.embed_previous, 1))
                recall._last_id[conv.id] = ""  # a new conversation: nothing to look up
            msg = Message(id=f"m{i:08d}", conversation_id=conv.id, seq=seq,
                          role="user" if i % 2 == 0 else "assistant", content=gen.sentence(),
                          created_at=base + timedelta(minutes=i))
            seq += 1
            text, _ = recall._search_text(msg)  # also sets msg.prev_id
            row = msg.model_dump()
            row.update(search_text=text, vector=_SYNTH._vec(text).tolist(), embedder="synthetic")
            rows.append(row)
        tbl.add(pa.Table.from_pylist(rows, schema=tbl.schema))
        print(f"  wrote {min(n, start + batch)}/{n}", flush=True)


def measure_search(recall: RecallMemory, queries: list[str], repeats: int = 1) -> dict[str, Any]:
    out = {}
    for mode in ("hybrid", "vector", "text"):
        for q in queries[:5]:  # warm caches
            recall.search(q, mode=mode, limit=10)
        times = []
        for _ in range(repeats):
            for q in queries:
                t0 = time.perf_counter()
                recall.search(q, mode=mode, limit=10)
                times.append(1000 * (time.perf_counter() - t0))
        out[mode] = {"p50_ms": round(pct(times, 50), 2), "p95_ms": round(pct(times, 95), 2),
                     "mean_ms": round(statistics.fmean(times), 2), "n": len(times)}
    return out


def vector_recall(recall: RecallMemory, queries: list[str], k: int = 10) -> float:
    tbl = recall.store.table("messages")
    data = tbl.search().select(["id", "vector"]).limit(10**8).to_arrow()
    ids = data["id"].to_pylist()
    mat = np.asarray(data["vector"].combine_chunks().values.to_numpy(zero_copy_only=False),
                     dtype=np.float32).reshape(len(ids), DIM)
    total = 0.0
    for q in queries:
        qv = _SYNTH.embed_query(q)
        exact = {ids[i] for i in np.argsort(-(mat @ qv))[:k]}
        got = {r["id"] for r in msearch.vector_search(tbl, qv.tolist(), where=None, limit=k,
                                                      columns=["id"])}
        total += len(exact & got) / k
    return total / len(queries)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000",
                    help="comma-separated store sizes (1000000 takes a long time: not for CI)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=1, help="timed passes over the queries")
    ap.add_argument("--writes", type=int, default=2000,
                    help="messages written for the throughput figure without an embedder")
    ap.add_argument("--writes-embedded", type=int, default=500,
                    help="messages written for the throughput figure with the default embedder")
    ap.add_argument("--skip-writes", action="store_true")
    ap.add_argument("--keep", help="keep the stores in this folder (reused when present)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()

    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="lsp-agent-latency-"))
    root.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "settings": {"vector_index_min_rows": index_upkeep.VECTOR_INDEX_MIN_ROWS,
                     "dims_per_pq_subvector": index_upkeep.VECTOR_INDEX_DIMS_PER_SUBVECTOR,
                     **{k: v for k, v in msearch.VECTOR_SEARCH.items()}},
        "sizes": {},
    }
    try:
        if not a.skip_writes:
            result["writes"] = measure_writes(root, a.writes, a.writes_embedded)
            result["query_embedding"] = query_embed_ms()
            print(f"query embedding ({result['query_embedding']['embedder']}): "
                  f"p50 {result['query_embedding']['p50_ms']} ms, "
                  f"p95 {result['query_embedding']['p95_ms']} ms", flush=True)
        gen = TextGen(seed=99)
        queries = [gen.query() for _ in range(a.queries)]
        for n in (int(x) for x in a.sizes.split(",")):
            recall, build_s = build_store(root, n)
            rows = recall.store.table("messages").count_rows()
            load_before = os.getloadavg()[0]
            lat = measure_search(recall, queries, repeats=a.repeats)
            load_after = os.getloadavg()[0]
            rec = vector_recall(recall, queries[:100])
            idx = [f"{i.index_type}:{','.join(i.columns)}" for i in index_upkeep.indices(
                recall.store.table("messages"))]
            result["sizes"][str(n)] = {"rows": rows, "build_s": round(build_s, 1),
                                       "indices": idx, "search": lat,
                                       "load_1min": [round(load_before, 2), round(load_after, 2)],
                                       "vector_recall@10": round(rec, 3)}
            print(f"{n:>8} rows (built in {build_s:.0f}s, indexes {idx}):", flush=True)
            for mode, v in lat.items():
                print(f"   {mode:6s} p50 {v['p50_ms']:7.2f} ms  p95 {v['p95_ms']:7.2f} ms", flush=True)
            print(f"   vector recall@10 vs exact: {rec:.3f}; load average (1 min) "
                  f"{load_before:.2f} before the timings, {load_after:.2f} after", flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
