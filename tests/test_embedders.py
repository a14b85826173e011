"""The embedder package with the real bundled model (no mocks, no network)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from lsp_agent.memory.embedders import (
    DEFAULT_MODEL,
    EmbedderUnavailable,
    bundled_models,
    get_embedder,
    registered_kinds,
)
from lsp_agent.memory.embedders.onnx_embedder import MODELS_DIR, OnnxEmbedder


@pytest.fixture(scope="module")
def emb():
    return get_embedder("default")


def test_default_model_is_bundled():
    assert DEFAULT_MODEL in bundled_models()
    for name in ("model.onnx", "tokenizer.json", "embedder.json", "LICENSE", "NOTICE.txt"):
        assert (MODELS_DIR / DEFAULT_MODEL / name).is_file(), name


@pytest.mark.parametrize("name", bundled_models())
def test_every_bundled_model_loads_and_ranks(name):
    e = get_embedder(f"onnx:{name}")
    assert e.name == f"onnx:{name}"
    docs = e.embed_documents(
        ["Melanie went camping with her kids last weekend.", "The parser rejects trailing commas."]
    )
    assert docs.shape == (2, e.dim)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    q = e.embed_query("What did Melanie do with her children?")
    assert float(docs[0] @ q) > float(docs[1] @ q)


def test_e5_prefixes_and_normalisation():
    if "multilingual-e5-small" not in bundled_models():
        pytest.skip("e5 not bundled")
    e = get_embedder("onnx:multilingual-e5-small")
    assert (e.query_prefix, e.document_prefix) == ("query: ", "passage: ")
    text = "how do I run the tests"
    assert float(e.embed_query(text) @ e.embed_documents([text])[0]) < 0.9999
    # The SentencePiece normalisation map folds full-width forms (NFKC) before tokenising.
    a, b = e.embed_documents(["ＡＰＩ key rotation", "API key rotation"])
    assert float(a @ b) > 0.999


@pytest.mark.parametrize("name", bundled_models())
def test_bundled_files_match_recorded_sha256(name):
    meta = json.loads((MODELS_DIR / name / "embedder.json").read_text())
    assert meta["sha256"], "embedder.json records the export's sha256 sums"
    for fname, digest in meta["sha256"].items():
        assert hashlib.sha256((MODELS_DIR / name / fname).read_bytes()).hexdigest() == digest, fname


def test_builtin_kinds_registered():
    assert {"default", "onnx", "litellm", "none"} <= set(registered_kinds())


def test_dims_dtype_and_normalisation(emb):
    assert emb.name == f"onnx:{DEFAULT_MODEL}"
    vecs = emb.embed_documents(["def parse(path): ...", "The build failed on Windows.", ""])
    assert vecs.shape == (3, emb.dim)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    q = emb.embed_query("why did the build fail?")
    assert q.shape == (emb.dim,)
    assert q.dtype == np.float32
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-5


def test_paraphrase_closer_than_unrelated(emb):
    a, para, other = emb.embed_documents(
        [
            "The user prefers tabs over spaces for indentation.",
            "For indenting code, the user likes tab characters rather than spaces.",
            "Photosynthesis converts sunlight into chemical energy in plants.",
        ]
    )
    assert float(a @ para) > float(a @ other) + 0.05
    q = emb.embed_query("does the user indent with tabs or spaces?")
    assert float(q @ a) > float(q @ other)


def test_batch_equals_one_by_one(emb):
    texts = [
        "short",
        "a somewhat longer sentence about refactoring the storage layer",
        "x " * 120,
        "Commit early, commit often.",
        "",
    ]
    batch = emb.embed_documents(texts)
    single = np.stack([emb.embed_documents([t])[0] for t in texts])
    # Padding only changes masked positions; int8 dynamic quantisation scales per batch,
    # so allow a small tolerance.
    np.testing.assert_allclose(batch, single, atol=2e-2)
    assert np.all(np.sum(batch * single, axis=1) > 0.999)


def test_order_preserved_with_length_sorting(emb):
    texts = [f"item {i} " + "word " * (37 * i % 50) for i in range(40)]
    batch = emb.embed_documents(texts)
    for i in (0, 7, 23, 39):
        assert float(batch[i] @ emb.embed_documents([texts[i]])[0]) > 0.999


def test_empty_list(emb):
    out = emb.embed_documents([])
    assert out.shape == (0, emb.dim)
    assert out.dtype == np.float32


def test_very_long_text_is_truncated(emb):
    long_text = "memory " * 20_000
    assert emb.count_tokens(long_text) == emb.max_length
    t0 = time.perf_counter()
    vec = emb.embed_documents([long_text])
    assert time.perf_counter() - t0 < 10
    assert vec.shape == (1, emb.dim)
    assert np.isfinite(vec).all()


def test_thread_safe(emb):
    texts = [f"worker thread text number {i}" for i in range(8)]
    expected = emb.embed_documents(texts)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = emb.embed_documents(texts)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_same_instance_is_shared():
    assert get_embedder("default") is get_embedder(f"onnx:{DEFAULT_MODEL}")
    assert get_embedder("onnx") is get_embedder("default")


def test_onnx_by_path_and_thread_setting():
    e = OnnxEmbedder(MODELS_DIR / DEFAULT_MODEL, intra_op_threads=1, batch_size=2)
    assert e.intra_op_threads == 1
    assert e.embed_documents(["a", "b", "c"]).shape == (3, e.dim)
    assert get_embedder(f"onnx:{MODELS_DIR / DEFAULT_MODEL}").dim == e.dim


def test_thread_count_from_environment(monkeypatch):
    monkeypatch.setenv("LSP_AGENT_EMBED_THREADS", "1")
    assert OnnxEmbedder(MODELS_DIR / DEFAULT_MODEL).intra_op_threads == 1
    monkeypatch.setenv("LSP_AGENT_EMBED_THREADS", "not-a-number")
    assert OnnxEmbedder(MODELS_DIR / DEFAULT_MODEL).intra_op_threads == 2


def test_missing_model_file_is_unavailable(tmp_path):
    with pytest.raises(EmbedderUnavailable, match="missing"):
        OnnxEmbedder(tmp_path)


def test_unknown_spec_lists_valid_specs():
    with pytest.raises(EmbedderUnavailable) as info:
        get_embedder("word2vec:big")
    msg = str(info.value)
    assert "word2vec:big" in msg
    for spec in ("default", "onnx:", "litellm:", "none"):
        assert spec in msg


def test_unknown_onnx_model():
    with pytest.raises(EmbedderUnavailable, match="bundled"):
        get_embedder("onnx:no-such-model")


def test_none_raises():
    with pytest.raises(EmbedderUnavailable, match="disabled"):
        get_embedder("none")


def test_litellm_without_key_fails_fast(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    from lsp_agent.memory.embedders.litellm_embedder import _import_litellm

    _import_litellm()  # importing litellm is slow on a busy machine; time only the check
    t0 = time.perf_counter()
    with pytest.raises(EmbedderUnavailable, match="OPENAI_API_KEY"):
        get_embedder("litellm:text-embedding-3-small")
    assert time.perf_counter() - t0 < 5  # refused before any request, no network wait


def test_litellm_needs_a_model():
    with pytest.raises(EmbedderUnavailable, match="needs a model"):
        get_embedder("litellm:")


def test_import_is_cheap():
    code = (
        "import sys, lsp_agent.memory.embedders as e; "
        "heavy = [m for m in ('onnxruntime', 'tokenizers', 'litellm', 'torch') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.stdout.strip() == ""
