"""The code index's embedder: its own spec, apart from memory's.

Code is embedded far more often than memory is (a whole repository at `init`, each file on
save), so it gets the fast static embedder by default while memory keeps the contextual one;
the two never share a vector column, so their spaces never mix. The same spec as memory's
goes through the store's cached path.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lsp_agent.memory.store import MemoryStore

log = logging.getLogger(__name__)

DEFAULT_CODE_SPEC = "static"


class CodeEmbedding:
    """Loads on first use; a failure to load means full-text code search, with a warning."""

    def __init__(self, store: MemoryStore, spec: str) -> None:
        self.store = store
        self.spec = (spec or "none").strip()
        self._embedder: Any = None
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def shares_memory_embedder(self) -> bool:
        return self.spec == self.store.embedder_spec

    @property
    def embedder(self) -> Any:
        if self.shares_memory_embedder:
            return self.store.embedder
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._embedder = self._load()
                    self._loaded = True
        return self._embedder

    def _load(self) -> Any:
        return load_embedder(self.spec, self.store.warnings, "Code embedder", "code search",
                             "codeEmbedder")

    @property
    def fast(self) -> bool:
        """Cheap enough to embed while indexing (a static token table), rather than after."""
        return self.spec.split(":", 1)[0].strip().lower() == "static"

    @property
    def name(self) -> str:
        emb = self.embedder
        return emb.name if emb is not None else ""

    @property
    def dim(self) -> int:
        """The vector width, without loading a bundled model (its embedder.json says it)."""
        if self.shares_memory_embedder:
            return self.store.dim
        if not self._loaded:
            known = declared_dim(self.spec)
            if known is not None:
                return known
        emb = self.embedder
        return int(emb.dim) if emb is not None else self.store.dim

    def describe(self) -> str:
        if self.shares_memory_embedder:
            return "same as memory"
        if self._loaded:
            return self.name or "none (full-text code search only)"
        if self.spec in ("none", ""):
            return "none (full-text code search only)"
        return f"{self.spec} (loaded on first use)"

    def embed_documents(self, texts: list[str]) -> list[list[float] | None]:
        if self.shares_memory_embedder:
            return self.store.embed_documents(texts)
        emb = self.embedder
        if emb is None or not texts:
            return [None] * len(texts)
        try:
            vecs = np.asarray(emb.embed_documents(texts), dtype=np.float32)
        except Exception as exc:  # noqa: BLE001
            self.store.warnings.append(f"Code embedding failed ({exc}); full-text search only.")
            return [None] * len(texts)
        return [v.tolist() for v in vecs]

    def embed_query(self, text: str) -> list[float] | None:
        if self.shares_memory_embedder:
            return self.store.embed_query(text)
        emb = self.embedder
        if emb is None:
            return None
        try:
            return np.asarray(emb.embed_query(text), dtype=np.float32).tolist()
        except Exception as exc:  # noqa: BLE001
            self.store.warnings.append(f"Query embedding failed ({exc}); searched full text only.")
            return None


def load_embedder(spec: str, warnings: list[str], what: str, used_by: str,
                  setting: str) -> Any:
    """The embedder of `spec`, or None ("none", or it failed: a warning says what to set)."""
    if spec in ("none", ""):
        return None
    try:
        from lsp_agent.memory.embedders import get_embedder

        return get_embedder(spec)
    except Exception as exc:  # noqa: BLE001 - any loader failure means full text only
        msg = (f"{what} '{spec}' is unavailable ({exc}); {used_by} falls back to full text. "
               f"Set `{setting}` in the configuration to a working one.")
        log.warning(msg)
        warnings.append(msg)
        return None


def declared_dim(spec: str) -> int | None:
    """The width a bundled model's embedder.json declares, or None (load it to know)."""
    import json

    from lsp_agent.memory.embedders import (
        DEFAULT_MODEL,
        DEFAULT_STATIC_MODEL,
        MODELS_DIR,
        bundled_models,
        bundled_static_models,
    )

    kind, _, arg = spec.partition(":")
    names = {"default": DEFAULT_MODEL, "onnx": arg or DEFAULT_MODEL,
             "static": arg or DEFAULT_STATIC_MODEL}
    name = names.get(kind.strip().lower())
    if name not in (*bundled_models(), *bundled_static_models()):
        return None
    try:
        return int(json.loads((MODELS_DIR / name / "embedder.json").read_text("utf-8"))["dim"])
    except (OSError, ValueError, KeyError):
        return None
