#!/usr/bin/env python3
"""Static (distilled) code embedder against e5: throughput, load, memory, retrieval quality.

    python benchmarks/static_embedder.py [--chunks 2000] [--rounds 4] [--pairs 200]
        [--static static] [--skip-e5] [--skip-levers] [--json out.json]

* Throughput: the same real code chunks (lsp_agent.learning.chunker over a seeded sample of the
  Python stdlib, embedded as the code index does, `code_rows.embed_text`), cut into --rounds
  slices; each round embeds its slice with the static model and with e5, one after the other, so
  both see the same machine load. texts/s wall and ms/text CPU.
* Load and memory: a fresh subprocess per spec: import + load + one query (s), its RSS, then the
  peak RSS (VmHWM) after embedding 200 chunks.
* Quality proxy: --pairs stdlib functions with a docstring (seeded sample, distinct sentences);
  query = the docstring's first sentence, document = the function's code without its docstring;
  every query ranks all documents. MRR@10 and recall@5 for e5 (256 tokens), e5 on the signature +
  first 12 lines, each static model given, and BM25 (lower-cased word tokens, k1 1.2, b 0.75).
  `proxy_pairs(split="dev")` gives a disjoint sample for tuning, so the reported split is unseen.
* e5 levers: max_length 128, batch sizes 8/64, two 1-thread sessions in two threads vs one
  2-thread session, on a slice of the chunks, interleaved with the baseline.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import random
import re
import subprocess
import sys
import sysconfig
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsp_agent.learning.chunker import chunk_file  # noqa: E402
from lsp_agent.learning.code_rows import embed_text  # noqa: E402
from lsp_agent.memory.embedders import DEFAULT_MODEL, get_embedder  # noqa: E402
from lsp_agent.memory.embedders.onnx_embedder import OnnxEmbedder, resolve_model_dir  # noqa: E402

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def stdlib_files() -> list[Path]:
    skip = {"site-packages", "__pycache__", "idlelib", "lib2to3"}
    return sorted(p for p in STDLIB.rglob("*.py") if not skip & set(p.relative_to(STDLIB).parts))


def code_chunks(n: int, seed: int = 0) -> list[str]:
    """n chunk texts from a seeded sample of stdlib files, as the code index embeds them."""
    files = stdlib_files()
    random.Random(seed).shuffle(files)
    out: list[str] = []
    for path in files:
        rel = str(path.relative_to(STDLIB))
        text = path.read_text(encoding="utf-8", errors="replace")
        for c in chunk_file(rel, text, "python"):
            out.append(embed_text({"path": rel, "symbol": c.symbol or "", "text": c.text}))
        if len(out) >= n:
            break
    return out[:n]


def _first_sentence(doc: str) -> str:
    para = " ".join(doc.strip().split("\n\n")[0].split())
    m = re.match(r"(.+?[.!?])(\s|$)", para)
    return (m.group(1) if m else para).strip()


def proxy_pairs(n: int, split: str = "test", seed: int = 0) -> list[tuple[str, str]]:
    """(query, document) pairs: docstring first sentence -> function code without docstring."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in stdlib_files():
        if "test" in path.relative_to(STDLIB).parts[0]:
            continue
        src = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        lines = src.split("\n")
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            doc = ast.get_docstring(node)
            if not doc or len(node.body) < 2 or node.end_lineno is None:
                continue
            query = _first_sentence(doc)
            if not 4 <= len(query.split()) <= 40 or query.lower() in seen:
                continue
            ds = node.body[0]
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            body = (
                lines[first - 1 : ds.lineno - 1]
                + lines[(ds.end_lineno or ds.lineno) : node.end_lineno]
            )
            code = "\n".join(body).strip("\n")
            if len(body) < 3 or len(code) > 6000:
                continue
            seen.add(query.lower())
            pairs.append((query, code))
    random.Random(seed).shuffle(pairs)
    return pairs[:n] if split == "test" else pairs[n : 2 * n]


def rank_metrics(scores: np.ndarray) -> dict[str, float]:
    """scores[q, d]; document q is query q's answer. MRR@10 and recall@5."""
    target = scores[np.arange(len(scores)), np.arange(len(scores))]
    rank = (scores > target[:, None]).sum(axis=1) + 1
    mrr = float(np.mean(np.where(rank <= 10, 1.0 / rank, 0.0)))
    return {"mrr10": round(mrr, 3), "recall5": round(float(np.mean(rank <= 5)), 3)}


def embed_scores(emb: Any, queries: list[str], docs: list[str]) -> np.ndarray:
    d = emb.embed_documents(docs)
    q = np.stack([emb.embed_query(t) for t in queries])
    return q @ d.T


_WORD = re.compile(r"\w+")


def bm25_scores(
    queries: list[str], docs: list[str], k1: float = 1.2, b: float = 0.75
) -> np.ndarray:
    toks = [_WORD.findall(d.lower()) for d in docs]
    avg = sum(map(len, toks)) / max(len(toks), 1)
    df = Counter(w for t in toks for w in set(t))
    idf = {w: math.log(1 + (len(docs) - n + 0.5) / (n + 0.5)) for w, n in df.items()}
    tfs = [Counter(t) for t in toks]
    out = np.zeros((len(queries), len(docs)))
    for qi, q in enumerate(queries):
        for w in set(_WORD.findall(q.lower())):
            for di, tf in enumerate(tfs):
                f = tf.get(w)
                if f:
                    out[qi, di] += (
                        idf[w] * f * (k1 + 1) / (f + k1 * (1 - b + b * len(toks[di]) / avg))
                    )
    return out


def rrf(*score_sets: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal-rank fusion of several score matrices (rows = queries)."""
    out = np.zeros_like(score_sets[0], dtype=np.float64)
    for scores in score_sets:
        ranks = np.argsort(np.argsort(-scores, axis=1), axis=1) + 1
        out += 1.0 / (k + ranks)
    return out


def head_lines(code: str, n: int = 12) -> str:
    return "\n".join(code.split("\n")[:n])


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def throughput(embs: dict[str, Any], chunks: list[str], rounds: int) -> dict[str, dict[str, float]]:
    size = math.ceil(len(chunks) / rounds)
    tot = {k: [0.0, 0.0, 0] for k in embs}
    for r in range(rounds):
        part = chunks[r * size : (r + 1) * size]
        for k, emb in embs.items():
            wall, cpu = timed(lambda e=emb, p=part: e.embed_documents(p))
            tot[k][0] += wall
            tot[k][1] += cpu
            tot[k][2] += len(part)
            print(f"  round {r + 1}/{rounds} {k}: {len(part) / wall:.1f} texts/s", flush=True)
    return {
        k: {"texts_per_s": round(n / w, 1), "cpu_ms_per_text": round(1000 * c / n, 2)}
        for k, (w, c, n) in tot.items()
    }


_PROBE = """
import json, sys, time
def mb(key):  # VmRSS / VmHWM of this process (ru_maxrss would carry the parent's peak over exec)
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return round(int(line.split()[1]) / 1024)
t0 = time.perf_counter()
from lsp_agent.memory.embedders import get_embedder
e = get_embedder(sys.argv[1]); e.embed_query("x")
load = time.perf_counter() - t0
rss = mb("VmRSS")
e.embed_documents(json.loads(sys.stdin.read()))
print(json.dumps({"load_s": round(load, 2), "rss_after_load_mb": rss, "peak_rss_mb": mb("VmHWM")}))
"""


def load_and_rss(spec: str, texts: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, spec],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout)


class TwoSessions:
    """Two 1-thread onnxruntime sessions, each embedding every other text, in two threads."""

    def __init__(self, model_dir: Path) -> None:
        self.a = OnnxEmbedder(model_dir, intra_op_threads=1)
        self.b = OnnxEmbedder(model_dir, intra_op_threads=1)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        halves = [order[0::2], order[1::2]]
        out = np.zeros((len(texts), self.a.dim), dtype=np.float32)

        def run(emb: OnnxEmbedder, idx: list[int]) -> None:
            out[idx] = emb.embed_documents([texts[i] for i in idx])

        threads = [
            threading.Thread(target=run, args=(e, h))
            for e, h in zip((self.a, self.b), halves, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out


class HeadsOnly:
    """e5 on each chunk's first 12 lines (signature, docstring, start of the body)."""

    def __init__(self, emb: Any) -> None:
        self.emb = emb

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.emb.embed_documents([head_lines(t) for t in texts])


def levers(model_dir: Path, chunks: list[str], rounds: int = 2) -> dict[str, dict[str, float]]:
    variants: dict[str, Any] = {
        "baseline (1 session x 2 threads, batch 32, 256 tokens)": OnnxEmbedder(model_dir),
        "max_length 128": OnnxEmbedder(model_dir, max_length=128),
        "batch 8": OnnxEmbedder(model_dir, batch_size=8),
        "batch 64": OnnxEmbedder(model_dir, batch_size=64),
        "2 sessions x 1 thread": TwoSessions(model_dir),
        "first 12 lines only": HeadsOnly(OnnxEmbedder(model_dir)),
    }
    return throughput(variants, chunks, rounds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--static", action="append", default=None, help="static spec(s) to measure")
    ap.add_argument("--lever-chunks", type=int, default=300)
    ap.add_argument("--skip-e5", action="store_true")
    ap.add_argument("--skip-levers", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    statics = args.static or ["static"]
    res: dict[str, Any] = {"load_average": os.getloadavg()[0], "cpus": os.cpu_count()}

    pairs = proxy_pairs(args.pairs)
    queries, docs = [q for q, _ in pairs], [d for _, d in pairs]
    bm25 = bm25_scores(queries, docs)
    quality: dict[str, dict[str, float]] = {"BM25": rank_metrics(bm25)}
    for spec in statics:
        emb = get_embedder(spec)
        scores = embed_scores(emb, queries, docs)
        quality[f"{spec} ({emb.name}, dim {emb.dim})"] = rank_metrics(scores)
        quality[f"{spec} + BM25 (RRF k=60)"] = rank_metrics(rrf(scores, bm25))
    if not args.skip_e5:
        e5 = get_embedder("default")
        quality["e5 (256 tokens)"] = rank_metrics(embed_scores(e5, queries, docs))
        heads = [head_lines(d) for d in docs]
        quality["e5 (signature + first 12 lines)"] = rank_metrics(embed_scores(e5, queries, heads))
    res["quality"] = quality
    for k, v in quality.items():
        print(f"quality {k}: MRR@10 {v['mrr10']:.3f}  recall@5 {v['recall5']:.3f}", flush=True)

    chunks = code_chunks(args.chunks)
    embs = {spec: get_embedder(spec) for spec in statics}
    if not args.skip_e5:
        embs["e5"] = get_embedder("default")
    res["chunks"] = len(chunks)
    res["throughput"] = throughput(embs, chunks, args.rounds)
    res["load"] = {spec: load_and_rss(spec, chunks[:200]) for spec in embs if spec != "e5"}
    if not args.skip_e5:
        res["load"]["e5"] = load_and_rss("default", chunks[:200])
        if not args.skip_levers:
            res["levers"] = levers(resolve_model_dir(DEFAULT_MODEL), chunks[: args.lever_chunks])
    res["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
