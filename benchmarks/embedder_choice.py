#!/usr/bin/env python3
"""Choose the default embedder by measurement: dense-only retrieval recall on the LoCoMo dev set.

Each turn's `doc` is embedded as a document, each question as a query, and the top k turns by
cosine similarity are scored with /work/shared/bench/locomo_recall.py (recall@5/10/25, all five
categories). No index, no full-text: this rates the embedding model alone.

    python benchmarks/embedder_choice.py default onnx:/tmp/some-model-dir [--json out.json]

Each positional argument is an embedder spec accepted by get_embedder().
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsp_agent.memory.embedders import get_embedder  # noqa: E402

BENCH = Path(os.environ.get("LOCOMO_BENCH", "/work/shared/bench"))


def load_scorer():
    spec = importlib.util.spec_from_file_location("locomo_recall", BENCH / "locomo_recall.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def dense_factory(embedder, stats: dict):
    def make(sample_id: str, turns: list[dict]):
        t0 = time.perf_counter()
        docs = embedder.embed_documents([t["doc"] for t in turns])
        stats["doc_s"] += time.perf_counter() - t0
        stats["docs"] += len(turns)
        ids = [t["dia_id"] for t in turns]

        def retrieve(question: str, k: int) -> list[str]:
            scores = docs @ embedder.embed_query(question)
            top = np.argsort(-scores, kind="stable")[:k]
            return [ids[i] for i in top]

        return retrieve

    return make


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("specs", nargs="+")
    ap.add_argument("--data", default=str(BENCH / "locomo" / "locomo_dev.json"))
    ap.add_argument("--json", help="write all results here")
    args = ap.parse_args()

    scorer = load_scorer()
    data, _digest = scorer.load(args.data)
    results = {}
    for spec in args.specs:
        t0 = time.perf_counter()
        emb = get_embedder(spec)
        load_s = time.perf_counter() - t0
        stats = {"doc_s": 0.0, "docs": 0}
        t0 = time.perf_counter()
        res = scorer.evaluate(data, dense_factory(emb, stats), ks=(5, 10, 25))
        total_s = time.perf_counter() - t0
        o = res["overall_1_5"]
        row = {
            "name": emb.name,
            "dim": emb.dim,
            "recall@5": round(100 * o["recall@5"], 1),
            "recall@10": round(100 * o["recall@10"], 1),
            "recall@25": round(100 * o["recall@25"], 1),
            "load_s": round(load_s, 2),
            "docs_per_s": round(stats["docs"] / stats["doc_s"], 1),
            "total_s": round(total_s, 1),
            "categories": {c: round(100 * v["recall@10"], 1) for c, v in res["categories"].items()},
        }
        results[spec] = row
        print(
            f"{spec:40s} {row['name']:32s} dim={row['dim']:4d} "
            f"R@5/10/25 = {row['recall@5']:.1f} / {row['recall@10']:.1f} / {row['recall@25']:.1f}"
            f"  load {row['load_s']:.2f}s  {row['docs_per_s']:.0f} turns/s  (R@10 by category "
            f"{row['categories']})",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
