"""Hosted (or any litellm-supported) embedding model: spec "litellm:<model>".

The key comes from the environment the provider expects (OPENAI_API_KEY, COHERE_API_KEY, ...).
litellm is imported only when such an embedder is created, never when the package is imported.
A missing key is reported at creation, before any request; a failing request raises
EmbedderUnavailable with the provider's reason.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from .base import EmbedderUnavailable

# Local servers need no key; their *_API_BASE has a usable default.
_KEYLESS_PROVIDERS = ("ollama/", "ollama_chat/")
BATCH_SIZE = 64
TIMEOUT_S = 60.0


def _import_litellm() -> Any:
    # Use the cost map shipped inside litellm instead of fetching it over the network at import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as exc:  # pragma: no cover - litellm is a hard dependency
        raise EmbedderUnavailable(
            f"litellm is not installed ({exc}); pip install lsp-agent"
        ) from exc
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMEmbedder:
    """Calls `litellm.embedding`; vectors are L2-normalised float32. `dim` is learnt from the
    provider's first answer (one short probe request if read before any embedding)."""

    def __init__(self, model: str, *, dim: int | None = None) -> None:
        if not model:
            raise EmbedderUnavailable(
                "spec 'litellm:' needs a model, e.g. 'litellm:text-embedding-3-small' or "
                "'litellm:cohere/embed-english-v3.0'"
            )
        litellm = _import_litellm()
        env = litellm.validate_environment(model=model)
        if not env.get("keys_in_environment", True) and not model.startswith(_KEYLESS_PROVIDERS):
            missing = " or ".join(env.get("missing_keys") or ["the provider's API key"])
            raise EmbedderUnavailable(
                f"embedder 'litellm:{model}' needs {missing} in the environment; set it, or use "
                "the offline default embedder (spec 'default')"
            )
        self._litellm = litellm
        self.model = model
        self.name = f"litellm:{model}"
        self._dim = dim
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._call(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        parts = [self._call(texts[i : i + BATCH_SIZE]) for i in range(0, len(texts), BATCH_SIZE)]
        return np.concatenate(parts, axis=0)

    def embed_query(self, text: str) -> np.ndarray:
        return self._call([text])[0]

    def _call(self, texts: list[str]) -> np.ndarray:
        # litellm rejects empty strings with some providers; a single space embeds as "nothing".
        inputs = [t if t.strip() else " " for t in texts]
        try:
            resp = self._litellm.embedding(
                model=self.model, input=inputs, timeout=TIMEOUT_S, num_retries=2
            )
        except Exception as exc:  # litellm maps provider errors onto its own exception classes
            raise EmbedderUnavailable(
                f"embedder {self.name!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        rows = sorted(resp.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        vecs = np.asarray(
            [d["embedding"] if isinstance(d, dict) else d.embedding for d in rows], dtype=np.float32
        )
        if vecs.shape[0] != len(texts):
            raise EmbedderUnavailable(
                f"embedder {self.name!r} returned {vecs.shape[0]} vectors for {len(texts)} texts"
            )
        with self._lock:
            if self._dim is None:
                self._dim = int(vecs.shape[1])
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)
