"""Offline text embedder: a bundled (or local) ONNX sentence-embedding model run by onnxruntime.

A model directory holds:
  model.onnx       graph: input_ids / attention_mask [/ token_type_ids] -> last_hidden_state
  tokenizer.json   a Hugging Face `tokenizers` file
  embedder.json    {"name", "dim", "pooling": "mean"|"cls", "max_length",
                    "query_prefix", "document_prefix", ["charmap": "charmap.json"], ...}
  LICENSE, NOTICE.txt  the model's licence and where it came from

onnxruntime and tokenizers are imported only when a model is loaded, so importing
`lsp_agent.memory.embedders` stays cheap. Nothing here ever touches the network.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .base import EmbedderUnavailable

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_THREADS = 2
# Length-sorted batches of 8 pad less than 32 and embed code chunks ~30% faster on 2 cores with
# bit-identical vectors (benchmarks/static_embedder.py, docs/benchmarks.md "Static code embedder").
DEFAULT_BATCH_SIZE = 8
THREADS_ENV = "LSP_AGENT_EMBED_THREADS"
_CHARS_PER_TOKEN = 64  # > the longest vocabulary piece of the bundled models, in characters


def bundled_models() -> list[str]:
    """Names of the ONNX models shipped inside the package (embedder.json + model.onnx; a
    static model's folder has no model.onnx)."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(
        p.name
        for p in MODELS_DIR.iterdir()
        if (p / "embedder.json").is_file() and (p / "model.onnx").is_file()
    )


def resolve_model_dir(name_or_path: str) -> Path:
    """A bundled model name, or a path to a model directory."""
    if name_or_path in bundled_models():
        return MODELS_DIR / name_or_path
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path.resolve()
    raise EmbedderUnavailable(
        f"no ONNX embedding model {name_or_path!r}: it is neither a bundled model "
        f"({', '.join(bundled_models()) or 'none bundled'}) nor a directory holding "
        "model.onnx, tokenizer.json and embedder.json"
    )


def _threads_from_env() -> int:
    raw = os.environ.get(THREADS_ENV, "")
    try:
        return max(1, int(raw)) if raw else DEFAULT_THREADS
    except ValueError:
        return DEFAULT_THREADS


class OnnxEmbedder:
    """Embeds text with an ONNX encoder: length-sorted batches, truncation, pooling, L2 norm.

    Thread-safe: the onnxruntime session is safe to run concurrently and tokenisation is
    serialised by a lock, so one instance can serve several worker threads.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        intra_op_threads: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int | None = None,
    ) -> None:
        model_dir = Path(model_dir)
        meta_path = model_dir / "embedder.json"
        for needed in (meta_path, model_dir / "model.onnx", model_dir / "tokenizer.json"):
            if not needed.is_file():
                raise EmbedderUnavailable(
                    f"ONNX embedder: missing {needed}; re-install lsp-agent or re-export the "
                    "model with scripts/export_embedder.py"
                )
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are hard dependencies
            raise EmbedderUnavailable(
                f"ONNX embedder needs onnxruntime and tokenizers ({exc}); pip install lsp-agent"
            ) from exc

        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        self.model_dir = model_dir
        self.model_name: str = meta.get("name", model_dir.name)
        self.name = f"onnx:{self.model_name}"
        self.dim = int(meta["dim"])
        self.pooling: str = meta.get("pooling", "mean")
        if self.pooling not in ("mean", "cls"):
            raise EmbedderUnavailable(f"{meta_path}: unknown pooling {self.pooling!r}")
        self.max_length = int(max_length or meta.get("max_length", 256))
        self.query_prefix: str = meta.get("query_prefix", "")
        self.document_prefix: str = meta.get("document_prefix", "")
        self.batch_size = max(1, int(batch_size))
        self.intra_op_threads = int(intra_op_threads or _threads_from_env())
        # Optional per-codepoint normalisation ({"<codepoint>": "replacement"}), applied with
        # str.translate before tokenising (SentencePiece models whose charsmap is kept this way).
        self._charmap: dict[int, str] | None = None
        if meta.get("charmap"):
            raw = json.loads((model_dir / meta["charmap"]).read_text(encoding="utf-8"))
            self._charmap = {int(k): v for k, v in raw.items()}

        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_length)
        self._tokenizer = tok
        self._tok_lock = threading.Lock()
        pad_id = tok.token_to_id("[PAD]")
        if pad_id is None:
            pad_id = tok.token_to_id("<pad>")
        self._pad_id = int(pad_id or 0)

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.intra_op_threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(model_dir / "model.onnx"), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbedderUnavailable(f"ONNX embedder: cannot load {model_dir}: {exc}") from exc
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._output_name = self._session.get_outputs()[0].name

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.name!r}, dim={self.dim}, threads={self.intra_op_threads})"

    # -- public API (the Embedder protocol) --------------------------------------------------
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.document_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self.query_prefix + text])[0]

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text` (after truncation, special tokens included)."""
        text = text[: self.max_length * _CHARS_PER_TOKEN]
        if self._charmap is not None:
            text = text.translate(self._charmap)
        with self._tok_lock:
            return len(self._tokenizer.encode(text).ids)

    # -- internals ----------------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Tokenising a huge text only to truncate it wastes time. No vocabulary piece is longer
        # than _CHARS_PER_TOKEN characters, so the cut keeps at least max_length tokens (only
        # long whitespace runs, which collapse, could make it keep fewer).
        cap = self.max_length * _CHARS_PER_TOKEN
        texts = [t[:cap] for t in texts]
        if self._charmap is not None:
            texts = [t.translate(self._charmap) for t in texts]
        with self._tok_lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = [e.ids for e in encodings]
        # Sort by length so each batch pads to similar lengths (less wasted attention).
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._run([ids[i] for i in chunk])
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in batch)
        input_ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, seq in enumerate(batch):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session.run([self._output_name], feed)[0]
        if hidden.ndim == 2:  # a graph that already pools
            vecs = hidden
        elif self.pooling == "cls":
            vecs = hidden[:, 0, :]
        else:
            m = mask[:, :, None].astype(np.float32)
            vecs = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        vecs = vecs.astype(np.float32, copy=False)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)
