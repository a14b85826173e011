#!/usr/bin/env python3
"""Distil a static (token-level) embedder from the bundled e5 model, the model2vec way.

    python scripts/distill_static_embedder.py [--dim 256] [--prefix none|passage]
        [--weighting sif|zipf|none] [--name NAME] [--cache /tmp/e5-token-vectors.npy]

Why: the e5 encoder embeds ~5-10 code chunks/s on 2 cores, so a whole repository takes minutes.
A static embedder looks each token's vector up in a table and averages them: thousands of texts
per second, with most of e5's retrieval quality on code (see docs/benchmarks.md).

How (Minish Lab's model2vec, done with onnxruntime + numpy; no torch, no model hub):
1. every vocabulary piece of the source model is encoded alone, `<s> piece </s>` (optionally
   after the "passage: " prefix), and the encoder's outputs are mean-pooled: one 384-d vector per
   piece; sequences are 3 tokens long, so 60k pieces take a few minutes on 2 cores;
2. PCA (centred, eigenvectors of the covariance, signs fixed) to --dim dimensions;
3. each row is weighted by a SIF-style prior on the piece's frequency, a / (a + p), where p comes
   from the Unigram tokenizer's own log-probabilities (--weighting sif) or from a Zipf law on the
   piece's rank (zipf, what model2vec does); frequent pieces (",", "▁the", "_") count less;
4. rows are stored as int8 with one float32 scale per row (vectors.npy + scales.npy).
At run time (static_embedder.py) texts have their identifiers split into lower-case words and
punctuation dropped before tokenising ("preprocess": "words-of-code").

Choices measured on the dev split of benchmarks/static_embedder.py's proxy (600 stdlib functions;
MRR@10): no prefix 0.31 vs "passage: " 0.24; dim 128 / 256 / 384 -> 0.35 / 0.41 / 0.41 (384 would
be 23 MB); SIF coefficient 1e-3 / 1e-4 / 1e-5 -> 0.32 / 0.41 / 0.40; no weights 0.14.

The tokenizer and its normalisation map are not copied: embedder.json points at the source
model's files (same folder tree). Deterministic: same source, same options -> same bytes.
Writes lsp_agent/memory/embedders/models/<name>/ with vectors.npy, scales.npy, embedder.json,
LICENSE (copied from the source), NOTICE.txt, and prints the sha256 sums.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "lsp_agent" / "memory" / "embedders" / "models"
SOURCE = "multilingual-e5-small"
SIF_A = 1e-4  # model2vec's default sif_coefficient


def token_vectors(src: Path, prefix: str, batch: int = 1024, threads: int = 2) -> np.ndarray:
    """(vocab, hidden) float32: each piece encoded alone, outputs mean-pooled over the sequence."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    vocab = tok.get_vocab_size()
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    pre = tok.encode(prefix, add_special_tokens=False).ids if prefix else []
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    sess = ort.InferenceSession(
        str(src / "model.onnx"), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    names = {i.name for i in sess.get_inputs()}
    out_name = sess.get_outputs()[0].name
    width = len(pre) + 3
    result = None
    t0 = time.perf_counter()
    for start in range(0, vocab, batch):
        ids = np.arange(start, min(vocab, start + batch), dtype=np.int64)
        seq = np.empty((len(ids), width), dtype=np.int64)
        seq[:, 0] = bos
        seq[:, 1 : 1 + len(pre)] = pre
        seq[:, -2] = ids
        seq[:, -1] = eos
        feed = {"input_ids": seq, "attention_mask": np.ones_like(seq)}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(seq)
        hidden = sess.run([out_name], feed)[0]
        if result is None:
            result = np.zeros((vocab, hidden.shape[-1]), dtype=np.float32)
        result[ids] = hidden.mean(axis=1)
        done = min(vocab, start + batch)
        rate = done / (time.perf_counter() - t0)
        print(f"\r  {done}/{vocab} pieces, {rate:.0f}/s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    assert result is not None
    return result


def pca(vecs: np.ndarray, dim: int) -> np.ndarray:
    """Project onto the top `dim` principal axes (float64 maths; each axis' sign fixed)."""
    x = vecs.astype(np.float64)
    x -= x.mean(axis=0)
    evals, evecs = np.linalg.eigh(x.T @ x)
    axes = evecs[:, np.argsort(evals)[::-1][:dim]]
    axes *= np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])])
    return x @ axes


def piece_weights(src: Path, vocab: int, how: str, sif: float = SIF_A) -> np.ndarray:
    """SIF weight a / (a + p) per piece; p from the Unigram scores or a Zipf law on rank."""
    if how == "none":
        return np.ones(vocab)
    if how == "zipf":
        p = 1.0 / np.arange(1, vocab + 1)
    else:
        model = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        scores = np.array([s for _, s in model["vocab"]], dtype=np.float64)
        p = np.exp(scores)
        p[scores == 0.0] = 0.0  # special tokens carry score 0.0 (not probability 1)
    p = p / p.sum()
    return sif / (sif + p)


def quantise(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows with one float32 scale each (max |x| -> 127)."""
    scales = np.abs(rows).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    q = np.clip(np.rint(rows / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales.astype(np.float32)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(
    raw: np.ndarray, src: Path, dim: int, weighting: str, sif: float = SIF_A
) -> tuple[np.ndarray, np.ndarray]:
    """PCA (always: centring removes the direction every piece shares), weights, int8."""
    rows = pca(raw, min(dim, raw.shape[1]))
    rows *= piece_weights(src, raw.shape[0], weighting, sif)[:, None]
    return quantise(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--source", type=Path, default=MODELS_DIR / SOURCE)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--prefix", choices=["none", "passage"], default="none")
    ap.add_argument("--weighting", choices=["sif", "zipf", "none"], default="sif")
    ap.add_argument("--name", default=None, help="default: e5-small-static-<dim>")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None, help="reuse/keep the raw token vectors")
    args = ap.parse_args()

    src = args.source.resolve()
    prefix = "passage: " if args.prefix == "passage" else ""
    if args.cache and args.cache.is_file():
        raw = np.load(args.cache)
    else:
        t0 = time.perf_counter()
        raw = token_vectors(src, prefix)
        print(f"encoded {raw.shape[0]} pieces in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if args.cache:
            np.save(args.cache, raw)
    vectors, scales = build(raw, src, args.dim, args.weighting)

    name = args.name or f"e5-small-static-{args.dim}"
    out = args.out or (MODELS_DIR / name)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", vectors)
    np.save(out / "scales.npy", scales)
    shutil.copyfile(src / "LICENSE", out / "LICENSE")
    (out / "NOTICE.txt").write_text(
        f"{name}: a static token-embedding table distilled from multilingual-e5-small\n"
        "(intfloat/multilingual-e5-small; Wang et al., 'Multilingual E5 Text Embeddings', 2024),\n"
        "Copyright (c) Microsoft Corporation, MIT License (see LICENSE), through the bundled ONNX\n"
        f"export in ../{src.name}/ (see its NOTICE.txt), by scripts/distill_static_embedder.py:\n"
        "each vocabulary piece encoded alone and mean-pooled, PCA to "
        f"{args.dim} dimensions, SIF weights\n"
        "on piece frequency, int8 rows with per-row scales (the model2vec method, Minish Lab).\n",
        encoding="utf-8",
    )
    rel = f"../{src.name}"
    meta = {
        "name": name,
        "kind": "static",
        "dim": int(vectors.shape[1]),
        "vectors": "vectors.npy",
        "scales": "scales.npy",
        "tokenizer": f"{rel}/tokenizer.json",
        "charmap": f"{rel}/charmap.json",
        "preprocess": "words-of-code",
        "source": {
            "distilled_from": src.name,
            "model_sha256": sha256(src / "model.onnx"),
            "method": "model2vec: <s> piece </s> mean-pooled, PCA, SIF weights, int8 rows",
            "prefix": prefix,
            "weighting": args.weighting,
            "sif_coefficient": SIF_A,
        },
        "licence": "MIT",
        # The tokenizer's files too: row i of the table is piece i of exactly that tokenizer.
        "sha256": {
            f: sha256(out / f)
            for f in ("LICENSE", "NOTICE.txt", "scales.npy", "vectors.npy")
            + (f"{rel}/tokenizer.json", f"{rel}/charmap.json")
        },
    }
    (out / "embedder.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    for f, digest in meta["sha256"].items():
        print(f"{digest}  {out / f}")
    size = sum((out / f).stat().st_size for f in meta["sha256"] if not f.startswith(".."))
    print(f"wrote {out} ({size / 1e6:.1f} MB, dim {vectors.shape[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
