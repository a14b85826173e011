"""Text embedders for the memory engine, chosen by a spec string.

Specs:
  "default"                  the bundled offline ONNX model (DEFAULT_MODEL)
  "onnx"                     same as "default"
  "onnx:<name>"              a bundled ONNX model by name (see bundled_models())
  "onnx:<path>"              a directory with model.onnx + tokenizer.json + embedder.json
  "static"                   the bundled static code embedder (DEFAULT_STATIC_MODEL): a token
                             table distilled from e5, ~400x cheaper on code, its own vector space
  "static:<name>|<path>"     a bundled static model by name, or a directory holding one
  "litellm:<model>"          litellm.embedding (hosted models; key from the environment)
  "none"                     embeddings disabled: raises EmbedderUnavailable

Importing this package is cheap: onnxruntime, tokenizers and litellm are imported only
when an embedder of that kind is created.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .base import (
    _REGISTRY,
    Embedder,
    EmbedderUnavailable,
    register_embedder,
    registered_kinds,
)
from .onnx_embedder import MODELS_DIR, bundled_models, resolve_model_dir
from .static_embedder import bundled_static_models, resolve_static_dir

DEFAULT_MODEL = "multilingual-e5-small"
DEFAULT_STATIC_MODEL = "e5-small-static-256"
STATIC_SPEC = "static"
DEFAULT_SPEC = "default"

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SPEC",
    "DEFAULT_STATIC_MODEL",
    "STATIC_SPEC",
    "MODELS_DIR",
    "Embedder",
    "EmbedderUnavailable",
    "bundled_models",
    "bundled_static_models",
    "get_embedder",
    "register_embedder",
    "registered_kinds",
    "valid_specs",
]

_onnx_cache: dict[str, Embedder] = {}
_onnx_lock = threading.Lock()


def _shared(key: str, make: Callable[[], Embedder]) -> Embedder:
    """One shared instance per model directory (sessions and tables are costly to load)."""
    with _onnx_lock:
        emb = _onnx_cache.get(key)
        if emb is None:
            emb = make()
            _onnx_cache[key] = emb
        return emb


def _load_onnx(name_or_path: str) -> Embedder:
    """The OnnxEmbedder of a model directory (its sessions are thread-safe)."""
    model_dir = resolve_model_dir(name_or_path)

    def make() -> Embedder:
        from .onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(model_dir)

    return _shared(str(model_dir), make)


@register_embedder("default")
def _default_factory(arg: str) -> Embedder:
    if arg:
        raise EmbedderUnavailable(f"spec 'default' takes no argument (got 'default:{arg}')")
    return _load_onnx(DEFAULT_MODEL)


@register_embedder("onnx")
def _onnx_factory(arg: str) -> Embedder:
    return _load_onnx(arg or DEFAULT_MODEL)


def _load_static(name_or_path: str) -> Embedder:
    """The StaticEmbedder of a model directory (its table is loaded once)."""
    model_dir = resolve_static_dir(name_or_path)

    def make() -> Embedder:
        from .static_embedder import StaticEmbedder

        return StaticEmbedder(model_dir)

    return _shared(f"static:{model_dir}", make)


@register_embedder("static")
def _static_factory(arg: str) -> Embedder:
    return _load_static(arg or DEFAULT_STATIC_MODEL)


@register_embedder("litellm")
def _litellm_factory(arg: str) -> Embedder:
    from .litellm_embedder import LiteLLMEmbedder

    return LiteLLMEmbedder(arg)


@register_embedder("none")
def _none_factory(arg: str) -> Embedder:
    raise EmbedderUnavailable(
        "embeddings are disabled (embedder spec 'none'): memory search falls back to full-text "
        f"only; set the embedder to {DEFAULT_SPEC!r} for the offline model"
    )


def valid_specs() -> list[str]:
    """Human-readable list of accepted specs, for error messages and docs."""
    specs = ["default", "onnx", "onnx:<path-to-model-dir>"]
    specs += [f"onnx:{name}" for name in bundled_models()]
    specs += ["static", "static:<path-to-model-dir>"]
    specs += [f"static:{name}" for name in bundled_static_models()]
    specs += ["litellm:<model> (e.g. litellm:text-embedding-3-small)", "none"]
    builtin = {"default", "onnx", "static", "litellm", "none"}
    extra = [k for k in registered_kinds() if k not in builtin]
    return specs + [f"{k}[:<arg>]" for k in extra]


def get_embedder(spec: str) -> Embedder:
    """Resolve a spec ("default", "onnx:<name|path>", "static[:<name|path>]", "litellm:<model>",
    "none") to an Embedder.

    Raises EmbedderUnavailable (with what to do) for "none", unknown specs, missing model files
    or missing API keys.
    """
    spec = (spec or "").strip()
    kind, _, arg = spec.partition(":")
    factory = _REGISTRY.get(kind.strip().lower())
    if factory is None:
        raise EmbedderUnavailable(
            f"unknown embedder spec {spec!r}; valid specs: {', '.join(valid_specs())}"
        )
    return factory(arg.strip())
