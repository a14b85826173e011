#!/usr/bin/env python3
"""Embedding throughput: passages/s on ~200-token passages, per batch size.

    python benchmarks/embedder_throughput.py [--spec default] [--threads 2] [--n 256]

Passages are synthetic English prose (deterministic), each ~200 tokens for the model's own
tokenizer, so the figure is comparable across runs and machines. Prints load time, then for each
batch size the passages/s and ms per passage, and the single-query latency.

Wall-clock figures need an otherwise idle machine; the CPU time per passage (all threads) is
printed too, since it holds up when other processes share the cores: with 2 threads on 2 idle
cores, wall time is roughly CPU time / 2.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsp_agent.memory.embedders import get_embedder  # noqa: E402
from lsp_agent.memory.embedders.onnx_embedder import OnnxEmbedder, resolve_model_dir  # noqa: E402

WORDS = (
    "the server parses each request and stores the result in a cache so later lookups are fast "
    "when a test fails we record the error message the stack trace and the commit that caused it "
    "users prefer short answers with code examples and links to the relevant files in the project "
    "memory search combines full text ranking with dense vectors to find earlier decisions notes "
    "refactoring the storage layer moved the index into its own module with a clear interface"
).split()


def passages(n: int, emb, target_tokens: int = 200, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(target_tokens)]
        text = " ".join(words)
        if hasattr(emb, "count_tokens"):  # trim to ~target tokens for this tokenizer
            while emb.count_tokens(text) > target_tokens and len(words) > 10:
                words = words[:-5]
                text = " ".join(words)
        out.append(text)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spec", default="default")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    ap.add_argument("--n", type=int, default=256, help="passages per measurement")
    ap.add_argument("--batch-sizes", default="1,8,16,32,64")
    ap.add_argument("--tokens", type=int, default=200)
    args = ap.parse_args()

    t0 = time.perf_counter()
    if args.spec == "default" or args.spec.startswith("onnx"):
        _, _, arg = args.spec.partition(":")
        from lsp_agent.memory.embedders import DEFAULT_MODEL

        model_dir = resolve_model_dir(arg or DEFAULT_MODEL)
        emb = OnnxEmbedder(model_dir, intra_op_threads=args.threads)
        size_mb = (model_dir / "model.onnx").stat().st_size / 1e6
    else:
        emb = get_embedder(args.spec)
        size_mb = float("nan")
    load_s = time.perf_counter() - t0
    texts = passages(args.n, emb, args.tokens)
    ntok = [emb.count_tokens(t) for t in texts] if hasattr(emb, "count_tokens") else [0]
    print(
        f"{emb.name}: dim {emb.dim}, model {size_mb:.1f} MB, load {load_s:.2f} s, "
        f"load average {os.getloadavg()[0]:.1f}, "
        f"threads {args.threads}, {len(texts)} passages of {min(ntok)}-{max(ntok)} tokens"
    )
    emb.embed_documents(texts[:8])  # warm up
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        if isinstance(emb, OnnxEmbedder):
            emb.batch_size = bs
        t0, c0 = time.perf_counter(), time.process_time()
        if bs == 1:
            for t in texts[:64]:
                emb.embed_documents([t])
            n = 64
        else:
            emb.embed_documents(texts)
            n = len(texts)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"  batch {bs:3d}: {n / dt:7.1f} passages/s  ({1000 * dt / n:6.1f} ms/passage wall, "
            f"{1000 * cpu / n:6.1f} ms/passage CPU)"
        )
    t0 = time.perf_counter()
    for i in range(50):
        emb.embed_query(f"why did the build fail on windows last week? {i}")
    print(f"  query latency: {1000 * (time.perf_counter() - t0) / 50:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
