"""The embedder protocol and registry: pluggable text-to-vector models chosen by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from lsp_agent.errors import LspAgentError


class EmbedderUnavailable(LspAgentError):
    """The embedder cannot load (missing model file, missing key, bad name). Says what to do."""


class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    @property
    def name(self) -> str:
        """Stable id stored beside the vectors, e.g. "onnx:all-minilm-l6-v2"."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Vectors for passages to store, shape (len(texts), dim), float32, L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for a search query, shape (dim,). May differ from documents (e.g. e5 prefixes)."""
        ...


EmbedderFactory = Callable[[str], Embedder]  # receives the part of the spec after "name:"

_REGISTRY: dict[str, EmbedderFactory] = {}


def register_embedder(kind: str) -> Callable[[EmbedderFactory], EmbedderFactory]:
    """Decorator: `@register_embedder("onnx")` makes specs "onnx" and "onnx:<arg>" resolve."""

    def wrap(factory: EmbedderFactory) -> EmbedderFactory:
        _REGISTRY[kind] = factory
        return factory

    return wrap


def registered_kinds() -> list[str]:
    return sorted(_REGISTRY)
