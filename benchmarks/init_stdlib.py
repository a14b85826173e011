#!/usr/bin/env python3
"""Codebase index on a copy of the Python standard library: the init workflow's numbers.

    python benchmarks/init_stdlib.py [--spec default] [--sample 3000] [--write-doc]

Copies the stdlib (without site-packages and __pycache__) into a temp folder, then measures:
time until full-text search over the whole tree works (build_index + first query), the
embedding pipeline's throughput (embed_pending) against the embedder's raw passages/s on the
same chunks (a sample, interleaved to share the machine's load fairly, then extrapolated),
a no-change re-index, re-indexing after saving one file (with and without its embedding),
index size on disk and peak RSS. `--write-doc` replaces the "Codebase index (stdlib)" section
of docs/benchmarks.md with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # doc_sections.py, beside this
from doc_sections import replace_section  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsp_agent.learning import code_rows  # noqa: E402
from lsp_agent.learning.code_index import (  # noqa: E402
    CHUNKS,
    build_index,
    embed_pending,
    update_paths,
)
from lsp_agent.learning.code_search import search_code  # noqa: E402
from lsp_agent.memory.agent_memory import AgentMemory  # noqa: E402
from lsp_agent.memory.store import sql_str  # noqa: E402

SECTION = "## Codebase index (stdlib)"
QUERIES = ["urlsplit", "parse_config_files", "read a zip archive member", "HTTPServer"]
SAVE_FILES = ["json/decoder.py", "textwrap.py", "csv.py", "shlex.py", "fnmatch.py"]


def copy_stdlib(dest: Path) -> Path:
    import sysconfig

    src = Path(sysconfig.get_paths()["stdlib"])
    target = dest / "stdlib"
    shutil.copytree(src, target, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "__pycache__"))
    return target


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def sloc(root: Path) -> int:
    out = subprocess.run(f"find {root} -name '*.py' -print0 | xargs -0 cat | wc -l",
                         shell=True, capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spec", default="default", help="embedder spec")
    ap.add_argument("--sample", type=int, default=3000,
                    help="chunks embedded for throughput (0: skip the embedding figures)")
    ap.add_argument("--parts", type=int, default=3, help="raw/pipeline interleaving rounds")
    ap.add_argument("--write-doc", action="store_true")
    ap.add_argument("--json", help="also save the figures to this file")
    ap.add_argument("--render", help="only write the doc section from a --json file")
    args = ap.parse_args()
    if args.render:
        write_doc(json.loads(Path(args.render).read_text()))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="lsp-agent-stdlib-"))
    os.environ["LSP_AGENT_HOME"] = str(tmp / "home")
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path) -> int:
    ws = copy_stdlib(tmp)
    lines = sloc(ws)
    store = tmp / "store"
    memory = AgentMemory(ws, store_uri=str(store), embedder=args.spec)
    memory.open()
    emb = memory.store.embedder
    r: dict[str, Any] = {"py_lines": lines, "load": os.getloadavg()[0], "cpus": os.cpu_count()}

    # 1. full-text searchable
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    report = build_index(memory)
    r["build_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    first = search_code(memory, QUERIES[0], 5, mode="text")
    r["first_query_s"] = time.perf_counter() - t1
    r["searchable_s"] = time.perf_counter() - t0
    r["build_cpu_parent_s"] = time.process_time() - cpu0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    r["build_cpu_children_s"] = children.ru_utime + children.ru_stime
    r.update(files=report.files_indexed, chunks=report.chunks_total, skipped=len(report.skipped))
    r["size_fts_mb"] = dir_mb(store / f"{CHUNKS}.lance") + dir_mb(store / "code_files.lance")
    r["rss_build_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"stdlib copy: {lines:,} lines of Python; load average {r['load']:.1f} on {r['cpus']} CPUs")
    print(f"build_index: {report.files_indexed} files, {report.chunks_total} chunks, "
          f"{len(report.skipped)} skipped, {r['build_s']:.2f} s (CPU: parent "
          f"{r['build_cpu_parent_s']:.1f} s, chunking workers {r['build_cpu_children_s']:.1f} s)")
    print(f"first query {r['first_query_s'] * 1000:.0f} ms -> searchable after {r['searchable_s']:.2f} s;"
          f" top hit for {QUERIES[0]!r}: {first[0]['title'] if first else '-'}")
    for q in QUERIES[1:]:
        t = time.perf_counter()
        hits = search_code(memory, q, 3, mode="text")
        print(f"  {q!r}: {(time.perf_counter() - t) * 1000:.0f} ms, "
              f"{[h['title'] for h in hits[:2]]}")

    # 2. unchanged re-index
    t = time.perf_counter()
    again = build_index(memory)
    r["reindex_noop_s"] = time.perf_counter() - t
    print(f"re-index unchanged: {r['reindex_noop_s'] * 1000:.0f} ms "
          f"({again.files_unchanged} unchanged, {again.files_indexed} indexed)")

    # 3. embedding throughput: pipeline (embed_pending) vs raw embedder, same chunks
    sample_ids: list[str] = []
    if emb is not None and args.sample > 0:
        sample_ids = throughput(memory, args, r)
    # 4. save one file: index only, then embedding its new chunks (the file's other chunks
    #    were embedded before, as in steady use: their vectors come from the cache)
    index_ms, embed_ms = [], []
    if emb is not None:
        embed_pending(memory, where="path IN (" + ",".join(map(sql_str, SAVE_FILES)) + ")")
    for rel in SAVE_FILES:
        path = ws / rel
        path.write_text(path.read_text() + f"\n\ndef saved_{len(index_ms)}():\n    return 1\n")
        out = update_paths(memory, [path], embed=emb is not None)
        index_ms.append(out["index_seconds"] * 1000)
        if "embed_seconds" in out:
            embed_ms.append(out["embed_seconds"] * 1000)
    r["save_index_ms"] = statistics.median(index_ms)
    r["save_index_max_ms"] = max(index_ms)
    r["save_embed_ms"] = statistics.median(embed_ms) if embed_ms else None
    print(f"re-index after saving one file: median {r['save_index_ms']:.0f} ms, max "
          f"{r['save_index_max_ms']:.0f} ms (index only); embedding its chunks: median "
          f"{r['save_embed_ms'] or 0:.0f} ms")

    # steady-state size: what the next compaction leaves once in-flight readers are done
    for name in (CHUNKS, "code_files"):
        memory.store.db.open_table(name).optimize(cleanup_older_than=timedelta(milliseconds=1))
    r["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r["rss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    r["size_mb"] = dir_mb(store / f"{CHUNKS}.lance") + dir_mb(store / "code_files.lance")
    r["cache_mb"] = dir_mb(store / "embedding_cache.lance")
    print(f"index on disk: {r['size_fts_mb']:.1f} MB after build_index, {r['size_mb']:.1f} MB "
          f"now (+ embedding cache {r['cache_mb']:.1f} MB); peak RSS {r['rss_build_mb']:.0f} MB "
          f"after build_index, {r['rss_mb']:.0f} MB overall (chunking workers "
          f"{r['rss_children_mb']:.0f} MB)")
    if sample_ids:
        overhead(memory, sample_ids, r)
    r["embedder_name"] = memory.store.embedder_name or "none"
    r["sample_arg"], r["parts"] = args.sample, args.parts
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    if args.write_doc:
        write_doc(r)
    return 0


def throughput(memory: AgentMemory, args: argparse.Namespace, r: dict[str, Any]) -> list[str]:
    tbl = memory.store.db.open_table(CHUNKS)
    rows = (tbl.search().where("vector IS NULL").select(["id", "path", "kind", "symbol", "text"])
            .limit(args.sample).to_list())
    emb = memory.store.embedder
    batch = 64
    emb.embed_documents([code_rows.embed_text(x) for x in rows[:8]])  # warm up
    raw_s = pipe_s = 0.0
    n = 0
    size = -(-len(rows) // args.parts)
    for k, i in enumerate(range(0, len(rows), size)):
        part = rows[i : i + size]
        texts = [code_rows.embed_text(x) for x in part]
        where = "id IN (" + ",".join(sql_str(x["id"]) for x in part) + ")"
        for step in ("raw", "pipe") if k % 2 == 0 else ("pipe", "raw"):  # cancel load drift
            t = time.perf_counter()
            if step == "raw":
                for j in range(0, len(texts), batch):
                    emb.embed_documents(texts[j : j + batch])
                raw_s += time.perf_counter() - t
            else:
                n += embed_pending(memory, batch=batch, where=where, optimize=False)
                pipe_s += time.perf_counter() - t
    r["sample"] = n
    r["raw_per_s"] = len(rows) / raw_s
    r["pipe_per_s"] = n / pipe_s
    r["ratio"] = r["pipe_per_s"] / r["raw_per_s"]
    r["full_embed_min"] = r["chunks"] / r["pipe_per_s"] / 60
    t = time.perf_counter()
    tbl.optimize(cleanup_older_than=timedelta(milliseconds=1))  # as embed_pending, sooner
    r["optimize_s"] = time.perf_counter() - t
    r["embedder"] = f"{memory.store.embedder_name} (dim {memory.store.dim})"
    print(f"embedding {n} chunks: raw {r['raw_per_s']:.1f} passages/s, embed_pending "
          f"{r['pipe_per_s']:.1f} chunks/s = {100 * r['ratio']:.0f}% of raw; all "
          f"{r['chunks']} chunks would take ~{r['full_embed_min']:.0f} min")
    return [x["id"] for x in rows]


class InstantEmbedder:
    """Constant vectors at no cost: what is left of embed_pending's time is its own overhead."""

    name, dim = "instant", 384

    def embed_documents(self, texts: list[str]) -> Any:
        import numpy as np

        return np.full((len(texts), self.dim), self.dim**-0.5, dtype=np.float32)

    def embed_query(self, text: str) -> Any:
        return self.embed_documents([text])[0]


def overhead(memory: AgentMemory, ids: list[str], r: dict[str, Any]) -> None:
    """embed_pending's own cost per chunk (reads, cache, writes), on the same sample."""
    store = memory.store
    real, store._embedder = store._embedder, InstantEmbedder()
    try:
        where = "id IN (" + ",".join(sql_str(i) for i in ids) + ")"
        t = time.perf_counter()
        n = embed_pending(memory, where=where, optimize=False)
        r["overhead_ms"] = (time.perf_counter() - t) * 1000 / max(n, 1)
    finally:
        store._embedder = real
    r["overhead_share"] = r["overhead_ms"] / (1000 / r["raw_per_s"])
    print(f"embed_pending overhead with an instant embedder: {r['overhead_ms']:.2f} ms per chunk "
          f"= {100 * r['overhead_share']:.1f}% of the raw embedding time per chunk")


def write_doc(r: dict[str, Any]) -> None:
    """Replace (or append) this benchmark's section; other sections are left as they are."""
    embed_lines = ""
    if "raw_per_s" in r:
        embed_lines = f"""\
| Embedding pipeline (`embed_pending`, batch 64) | {r['pipe_per_s']:.1f} chunks/s = **{100 * r['ratio']:.0f}%** of the raw embedder's {r['raw_per_s']:.1f} passages/s on the same {r['sample']} chunks (goal >= 80%) |
| embed_pending's own overhead (instant stub embedder, same chunks) | {r['overhead_ms']:.2f} ms per chunk = {100 * r['overhead_share']:.1f}% of a raw embedding; so the pipeline can reach ~{100 / (1 + r['overhead_share']):.0f}% of raw, the rest of the gap above is machine load |
| Full embedding (extrapolated from the sample) | ~{r['full_embed_min']:.0f} min for {r['chunks']:,} chunks, in the background; search works meanwhile |
| Embedding one saved file's chunks | median {r['save_embed_ms']:.0f} ms |
"""
    body = f"""{SECTION}

`python benchmarks/init_stdlib.py --write-doc` on a copy of the Python {sys.version.split()[0]}
standard library without site-packages ({r['py_lines']:,} lines of Python; {r['files']:,} files
indexed, {r['skipped']} skipped as binary/large/generated, {r['chunks']:,} chunks). Embedder
`{r['embedder_name']}`, {r['cpus']} CPUs, load average {r['load']:.1f} when it started (other work shared
the machine, so wall times are pessimistic; CPU times are given too).

| Measure | Result |
| --- | --- |
| Full-text searchable (build_index + first query) | **{r['searchable_s']:.1f} s** (goal <= 15 s); build {r['build_s']:.1f} s, first query {r['first_query_s'] * 1000:.0f} ms; CPU {r['build_cpu_parent_s']:.1f} s in-process + {r['build_cpu_children_s']:.1f} s in chunking workers |
| Re-index, nothing changed | {r['reindex_noop_s'] * 1000:.0f} ms, nothing written |
| Re-index after saving one file (`update_paths`, index only) | **median {r['save_index_ms']:.0f} ms**, max {r['save_index_max_ms']:.0f} ms over {len(SAVE_FILES)} files (goal <= 200 ms) |
{embed_lines}| Index on disk | {r['size_fts_mb']:.1f} MB without vectors; {r['size_mb']:.1f} MB with the sample embedded and compacted (vectors add ~{384 * 4 / 1024:.1f} KB per chunk at dim 384), plus {r.get('cache_mb', 0):.1f} MB of embedding cache |
| Peak RSS | {r['rss_build_mb']:.0f} MB through build_index; {r['rss_mb']:.0f} MB overall, with the embedder running (chunking worker processes: {r['rss_children_mb']:.0f} MB each at most) |

Throughput is measured on the first {r['sample_arg']} chunks, alternating raw and pipeline runs
(in turn first) in {r['parts']} rounds so both see the same machine load; the full-embedding time is that
rate extrapolated, not measured.
{r.get("notes", "")}"""
    replace_section(SECTION, body)


if __name__ == "__main__":
    sys.exit(main())
