"""Static (token-level) embedder: a text's vector is the mean of its tokens' table rows.

1,000-4,000 code chunks per second on 2 cores, where the e5 encoder manages 3-10: the table is
distilled from e5 (scripts/distill_static_embedder.py, the model2vec method), so the vectors live
in a space of their own and carry their own `name`; never mix them with e5's.

A model directory holds:
  embedder.json  {"name", "kind": "static", "dim", "vectors", "scales", "tokenizer",
                  ["charmap"], ["preprocess": "words-of-code"], "sha256", ...}; paths are
                  relative to the directory
  vectors.npy    int8 (vocabulary, dim); row i is token i's vector divided by its scale
  scales.npy     float32 (vocabulary,)

Queries and documents are embedded the same way (no prefixes). tokenizers is imported only when
a model is loaded. Plain numpy rather than the model2vec package: same vectors and speed
(measured), without its extra dependencies, a tokenizer copy or a float32 table.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .base import EmbedderUnavailable

MODELS_DIR = Path(__file__).resolve().parent / "models"
MAX_TOKENS = 2048  # a chunk longer than this is cut: its head says what it is
_CHARS_PER_TOKEN = 64  # > the longest vocabulary piece, in characters
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_PUNCT = re.compile(r"[^\w\s]+|_+")


def words_of_code(text: str) -> str:
    """`parseHTTPHeader(self, raw_value)` -> `parse http header self raw value`.

    The reference for what the tokenizer's normaliser does when embedder.json says
    "preprocess": "words-of-code" (the same regular expressions, run in Rust).

    A token table has no context to tell that the piece `Settings` inside `parseSettings` is the
    word a question spells `▁settings`; splitting identifiers, lower-casing and dropping
    punctuation lifts MRR@10 on the stdlib proxy from 0.43 to 0.56 (docs/benchmarks.md).
    """
    return _PUNCT.sub(" ", _CAMEL.sub(" ", text)).lower()


def _meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((path / "embedder.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def bundled_static_models() -> list[str]:
    """Names of the static models shipped inside the package."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (_meta(p) or {}).get("kind") == "static")


def resolve_static_dir(name_or_path: str) -> Path:
    """A bundled static model name, or a path to a static model directory."""
    if name_or_path in bundled_static_models():
        return MODELS_DIR / name_or_path
    path = Path(name_or_path).expanduser()
    if path.is_dir() and (_meta(path) or {}).get("kind") == "static":
        return path.resolve()
    raise EmbedderUnavailable(
        f"no static embedding model {name_or_path!r}: it is neither a bundled static model "
        f"({', '.join(bundled_static_models()) or 'none bundled'}) nor a directory holding an "
        "embedder.json with kind 'static'; rebuild one with scripts/distill_static_embedder.py"
    )


class StaticEmbedder:
    """Looks tokens up in an int8 table and averages them (weights are baked into the rows).

    Thread-safe: tokenisation is serialised by a lock; the rest reads immutable arrays.
    """

    def __init__(self, model_dir: str | os.PathLike[str], *, max_tokens: int = MAX_TOKENS) -> None:
        model_dir = Path(model_dir)
        meta = _meta(model_dir)
        if meta is None or meta.get("kind") != "static":
            raise EmbedderUnavailable(
                f"static embedder: {model_dir / 'embedder.json'} is missing or not of kind "
                "'static'; re-install lsp-agent or rebuild it with scripts/distill_static_embedder.py"
            )
        files = {
            k: model_dir / meta.get(k, d)
            for k, d in (
                ("vectors", "vectors.npy"),
                ("scales", "scales.npy"),
                ("tokenizer", "tokenizer.json"),
            )
        }
        if meta.get("charmap"):
            files["charmap"] = model_dir / meta["charmap"]
        for path in files.values():
            if not path.is_file():
                raise EmbedderUnavailable(
                    f"static embedder: missing {path}; re-install lsp-agent or rebuild the model "
                    "with scripts/distill_static_embedder.py"
                )
        from tokenizers import Tokenizer

        try:
            self._vectors = np.load(files["vectors"], allow_pickle=False)
            self._scales = np.load(files["scales"], allow_pickle=False).astype(np.float32)
            tok = Tokenizer.from_file(str(files["tokenizer"]))
        except Exception as exc:  # numpy/tokenizers raise several types for a bad file
            raise EmbedderUnavailable(f"static embedder: cannot load {model_dir}: {exc}") from exc
        self.model_dir = model_dir
        self.model_name: str = meta.get("name", model_dir.name)
        self.name = f"static:{self.model_name}"
        self.dim = int(meta["dim"])
        if self._vectors.shape != (len(self._scales), self.dim):
            raise EmbedderUnavailable(
                f"static embedder: {files['vectors']} has shape {self._vectors.shape}, expected "
                f"({len(self._scales)}, {self.dim}); rebuild it with scripts/distill_static_embedder.py"
            )
        self.max_length = int(max_tokens)
        self.preprocess: str = meta.get("preprocess", "")
        if self.preprocess not in ("", "words-of-code"):
            raise EmbedderUnavailable(
                f"static embedder: {model_dir / 'embedder.json'}: unknown preprocess "
                f"{self.preprocess!r}; upgrade lsp-agent or rebuild the model"
            )
        self._charmap: dict[int, str] | None = None
        if "charmap" in files:
            raw = json.loads(files["charmap"].read_text(encoding="utf-8"))
            self._charmap = {int(k): v for k, v in raw.items()}
        tok.no_padding()
        tok.no_truncation()
        if self.preprocess == "words-of-code":
            from tokenizers import Regex, normalizers

            # words_of_code, done inside the tokenizer (Rust, parallel over a batch).
            steps = [
                normalizers.Replace(Regex(_CAMEL.pattern), " "),
                normalizers.Replace(Regex(_PUNCT.pattern), " "),
                normalizers.Lowercase(),
            ]
            if tok.normalizer is not None:
                steps.append(tok.normalizer)
            tok.normalizer = normalizers.Sequence(steps)
        self._tokenizer = tok
        self._encode_batch = getattr(tok, "encode_batch_fast", tok.encode_batch)
        self._tok_lock = threading.Lock()
        # Special and unknown pieces weigh nothing; a text of only those gets the fallback.
        special = [tok.token_to_id(t) for t in ("<s>", "</s>", "<pad>", "<unk>", "[CLS]", "[SEP]")]
        self._weights = self._scales.copy()
        self._weights[[i for i in special if i is not None and i < len(self._weights)]] = 0.0
        # What an empty (or all-unknown) text gets: a fixed unit vector, never NaN or zero.
        eos = tok.token_to_id("</s>") or 0
        fallback = self._vectors[eos].astype(np.float32) * self._scales[eos]
        self._fallback = fallback / max(float(np.linalg.norm(fallback)), 1e-12)

    def __repr__(self) -> str:
        return f"StaticEmbedder({self.name!r}, dim={self.dim})"

    # -- public API (the Embedder protocol) --------------------------------------------------
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]

    def count_tokens(self, text: str) -> int:
        """Tokens the table sees for `text` (after the cut at max_length)."""
        return min(len(self._encode([text])[0]), self.max_length)

    # -- internals ----------------------------------------------------------------------------
    def _encode(self, texts: list[str]) -> list[list[int]]:
        cap = self.max_length * _CHARS_PER_TOKEN
        texts = [t[:cap] for t in texts]
        if self._charmap is not None:
            texts = [t.translate(self._charmap) for t in texts]
        with self._tok_lock:  # encode_batch_fast skips the character offsets we do not use
            encodings = self._encode_batch(texts, add_special_tokens=False)
        return [e.ids for e in encodings]

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, ids in enumerate(self._encode(texts)):
            # Sum of distinct rows times their counts: gathers each row once, in int8.
            uniq, counts = np.unique(
                np.asarray(ids[: self.max_length], dtype=np.int64), return_counts=True
            )
            vec = (counts * self._weights[uniq]) @ self._vectors[uniq].astype(np.float32)
            norm = float(np.linalg.norm(vec))
            out[row] = vec / norm if norm > 0 else self._fallback
        return out
