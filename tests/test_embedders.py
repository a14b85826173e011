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


# -- the static (distilled) code embedder ---------------------------------------------------------

CODE_SNIPPETS = [
    "def read_config(path):\n    with open(path) as f:\n        return tomllib.load(f)",
    "def send_email(to, subject, body):\n    smtp = smtplib.SMTP(HOST)\n    smtp.sendmail(FROM, to, body)",
    "class LRUCache:\n    def get(self, key):\n        self._order.move_to_end(key)\n        return self._data[key]",
    "def parseHttpHeader(raw_line):\n    name, _, value = raw_line.partition(':')\n    return name.strip().lower(), value.strip()",
]


@pytest.fixture(scope="module")
def static_emb():
    return get_embedder("static")


def test_static_spec_resolves_to_the_bundled_table(static_emb):
    from lsp_agent.memory.embedders import DEFAULT_STATIC_MODEL, bundled_static_models
    from lsp_agent.memory.embedders.static_embedder import StaticEmbedder

    assert DEFAULT_STATIC_MODEL in bundled_static_models()
    assert DEFAULT_STATIC_MODEL not in bundled_models()  # never offered as an ONNX model
    assert isinstance(static_emb, StaticEmbedder)
    assert static_emb.name == f"static:{DEFAULT_STATIC_MODEL}"
    assert static_emb.name != get_embedder("default").name  # vectors never mixed with e5's
    assert get_embedder(f"static:{DEFAULT_STATIC_MODEL}") is static_emb
    assert get_embedder(f"static:{MODELS_DIR / DEFAULT_STATIC_MODEL}").dim == static_emb.dim
    assert "static" in registered_kinds()
    with pytest.raises(EmbedderUnavailable, match="distill_static_embedder"):
        get_embedder("static:no-such-table")


def test_static_files_match_recorded_sha256():
    from lsp_agent.memory.embedders import bundled_static_models

    for name in bundled_static_models():
        meta = json.loads((MODELS_DIR / name / "embedder.json").read_text())
        assert {"vectors.npy", "scales.npy", meta["tokenizer"]} <= set(meta["sha256"])
        for fname, digest in meta["sha256"].items():
            data = (MODELS_DIR / name / fname).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, (name, fname)


def test_static_vectors_are_normalised_and_deterministic(static_emb):
    texts = [*CODE_SNIPPETS, "", "   ", "()[]{}", "x" * 200_000]
    vecs = static_emb.embed_documents(texts)
    assert vecs.shape == (len(texts), static_emb.dim) == (len(texts), 256)
    assert vecs.dtype == np.float32
    assert np.isfinite(vecs).all()
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vecs, static_emb.embed_documents(texts))
    # One by one gives the same vectors as a batch (no cross-text state).
    np.testing.assert_allclose(vecs[0], static_emb.embed_documents([texts[0]])[0], atol=1e-6)
    q = static_emb.embed_query(CODE_SNIPPETS[0])
    np.testing.assert_allclose(q, vecs[0], atol=1e-6)  # no query/document prefixes
    assert static_emb.embed_documents([]).shape == (0, static_emb.dim)
    assert static_emb.count_tokens("") == 0
    assert static_emb.count_tokens("def f(): pass") > 0


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("load settings from a toml file", 0),
        ("send a mail message over smtp", 1),
        ("least recently used cache lookup", 2),
        ("split an http header into name and value", 3),
    ],
)
def test_static_ranks_the_relevant_snippet_first(static_emb, query, answer):
    docs = static_emb.embed_documents(CODE_SNIPPETS)
    scores = docs @ static_emb.embed_query(query)
    assert int(np.argmax(scores)) == answer, scores


def test_static_model_loads_offline_without_onnxruntime():
    code = (
        "import sys, lsp_agent.memory.embedders as e; "
        "v = e.get_embedder('static').embed_query('open a file'); "
        "print(len(v), 'onnxruntime' in sys.modules, 'torch' in sys.modules)"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HTTPS_PROXY": "http://127.0.0.1:9"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["256", "False", "False"]


def test_words_of_code_splits_identifiers(static_emb):
    from lsp_agent.memory.embedders.static_embedder import words_of_code

    assert words_of_code("parseHTTPHeader(self, raw_value)").split() == [
        "parse",
        "http",
        "header",
        "self",
        "raw",
        "value",
    ]
    # The tokenizer's normaliser does exactly what words_of_code does.
    tok = get_embedder(f"onnx:{DEFAULT_MODEL}")._tokenizer
    for text in [*CODE_SNIPPETS, "HTTPServer.serve_forever() # ÄÖ__x__", "getURLForID2"]:
        assert (
            static_emb._encode([text])[0]
            == tok.encode(
                words_of_code(text.translate(static_emb._charmap)), add_special_tokens=False
            ).ids
        )
