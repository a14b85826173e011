#!/usr/bin/env python3
"""Full code index, vectors included: today's pipeline against a baseline commit, side by side.

    python benchmarks/init_speed.py [--baseline 5d0f7a8] [--repo DIR ...] [--large 20000]
                                    [--write-doc] [--json OUT]

Each measurement runs in a fresh child process (its peak RSS is its own) with PYTHONPATH
pointing at the implementation measured: this checkout, or the baseline commit materialised
with `git archive` (the pipeline before issue 10: e5 embeds every chunk). Baseline and new run
one after the other on the same workspace copy, so they share the machine's load. Measured:
seconds until full-text search works, seconds until every chunk has its vector, peak RSS of
the indexing process and of its chunking workers, and (new only) re-indexing one saved file,
text and vectors together. `--large N` also times a synthetic N-file workspace (copies of the
stdlib slice) until full-text search answers.
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
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # doc_sections.py, beside this
from doc_sections import replace_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Init speed: the full code index with vectors"
# The stdlib slice: whole packages plus some large modules (~190 files, ~97k lines of Python).
SLICE_PACKAGES = ["asyncio", "email", "xml", "multiprocessing", "importlib", "http", "logging",
                  "urllib", "json", "concurrent", "html", "wsgiref", "zoneinfo", "tomllib"]
SLICE_MODULES = ["argparse.py", "textwrap.py", "csv.py", "shlex.py", "fnmatch.py",
                 "dataclasses.py", "functools.py", "enum.py", "pathlib.py", "subprocess.py",
                 "tarfile.py", "zipfile.py", "inspect.py", "configparser.py", "ast.py"]
SAVE_FILES = ["json/decoder.py", "textwrap.py", "csv.py", "shlex.py", "fnmatch.py"]


def stdlib_slice(dest: Path) -> Path:
    src = Path(sysconfig.get_paths()["stdlib"])
    files = [f for pkg in SLICE_PACKAGES for f in sorted((src / pkg).rglob("*.py"))
             if not {"test", "tests"} & set(f.relative_to(src).parts)]
    files += [src / m for m in SLICE_MODULES]
    for f in files:
        target = dest / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
    return dest


def baseline_tree(commit: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "lsp_agent"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


# -- the child: one measurement in its own process ---------------------------------------------


def child(args: argparse.Namespace) -> int:
    from lsp_agent.learning import code_index as ci
    from lsp_agent.memory.agent_memory import AgentMemory

    ws = Path(args.workspace)
    kwargs: dict[str, Any] = {"store_uri": args.store, "embedder": args.embedder}
    if args.code_embedder:
        kwargs["code_embedder"] = args.code_embedder
    out: dict[str, Any] = {}
    try:
        from lsp_agent.learning.code_search import search_code
    except ImportError:  # the baseline
        search_code = ci.search_code  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    memory = AgentMemory(ws, **kwargs)
    memory.open(resume_vectors=False)
    first: list[float] = []

    def probe() -> None:  # a user searching while the index is being built
        while not first:
            try:
                if search_code(memory, "parse the header of a message", 5, mode="text"):
                    first.append(time.perf_counter() - t0)
            except Exception:  # noqa: BLE001 - no index yet
                pass
            time.sleep(0.5)

    threading.Thread(target=probe, daemon=True).start()
    report = ci.build_index(memory)
    search_code(memory, "parse the header of a message", 5, mode="text")
    out["first_answer_s"] = first[0] if first else time.perf_counter() - t0
    out["searchable_s"] = time.perf_counter() - t0
    out["chunks"] = report.chunks_total
    out["files"] = report.files_indexed
    out["rss_build_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not args.text_only:
        t1 = time.perf_counter()
        out["embedded"] = ci.embed_pending(memory)
        out["embed_s"] = time.perf_counter() - t1
        out["total_s"] = time.perf_counter() - t0
        if args.saves:
            index_ms, total_ms = [], []
            for i, rel in enumerate(SAVE_FILES):
                path = ws / rel
                if not path.exists():
                    continue
                path.write_text(path.read_text() + f"\n\ndef saved_{i}():\n    return {i}\n")
                t = time.perf_counter()
                got = ci.update_paths(memory, [path])
                total_ms.append((time.perf_counter() - t) * 1000)
                index_ms.append(got["index_seconds"] * 1000)
            out["save_ms"] = statistics.median(total_ms)
            out["save_max_ms"] = max(total_ms)
            out["save_index_ms"] = statistics.median(index_ms)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_workers_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))
    return 0


def measure(impl: Path, ws: Path, tmp: Path, *, code_embedder: str | None, saves: bool = False,
            text_only: bool = False, embedder: str = "default") -> dict[str, Any]:
    store = Path(tempfile.mkdtemp(prefix="store-", dir=tmp))
    env = {**os.environ, "PYTHONPATH": str(impl), "LSP_AGENT_HOME": str(tmp / "home"),
           "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, __file__, "--child", "--workspace", str(ws), "--store", str(store),
           "--embedder", embedder]
    cmd += ["--code-embedder", code_embedder] if code_embedder else []
    cmd += ["--saves"] if saves else []
    cmd += ["--text-only"] if text_only else []
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - t
    shutil.rmtree(store, ignore_errors=True)
    return result


def large_workspace(src: Path, dest: Path, files: int) -> Path:
    """`files` files: copies of the slice under numbered folders (real code, many files)."""
    originals = sorted(p for p in src.rglob("*.py"))
    n = 0
    copy = 0
    while n < files:
        for f in originals:
            if n >= files:
                break
            target = dest / f"copy{copy:03d}" / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
            n += 1
        copy += 1
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workspace", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--embedder", default="default", help=argparse.SUPPRESS)
    ap.add_argument("--code-embedder", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--saves", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--text-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--baseline", default="5d0f7a8", help="commit of the pipeline to beat")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--repo", action="append", default=[],
                    help="also index this repository (e.g. a ~1,000-chunk project)")
    ap.add_argument("--large", type=int, default=0, help="files of a large synthetic workspace")
    ap.add_argument("--write-doc", action="store_true")
    ap.add_argument("--json", help="save the figures here")
    args = ap.parse_args()
    if args.child:
        return child(args)

    tmp = Path(tempfile.mkdtemp(prefix="lsp-agent-init-speed-"))
    r: dict[str, Any] = {"cpus": os.cpu_count(), "load": os.getloadavg()[0],
                         "python": sys.version.split()[0], "baseline": args.baseline,
                         "date": time.strftime("%Y-%m-%d")}
    try:
        ws = stdlib_slice(tmp / "slice")
        r["slice_files"] = sum(1 for _ in ws.rglob("*.py"))
        r["slice_lines"] = sum(len(p.read_text().splitlines()) for p in ws.rglob("*.py"))
        print(f"stdlib slice: {r['slice_files']} files, {r['slice_lines']:,} lines; "
              f"load {r['load']:.1f} on {r['cpus']} CPUs")
        r["new"] = measure(ROOT, ws, tmp, code_embedder=None)
        print("new     ", json.dumps(r["new"]))
        if not args.skip_baseline:
            old = baseline_tree(args.baseline, tmp / "baseline")
            r["old"] = measure(old, ws, tmp, code_embedder=None)
            print("baseline", json.dumps(r["old"]))
            r["speedup"] = r["old"]["total_s"] / r["new"]["total_s"]
            print(f"full index with vectors: {r['speedup']:.1f}x faster")
        ws2 = stdlib_slice(tmp / "slice-saves")
        r["saves"] = measure(ROOT, ws2, tmp, code_embedder=None, saves=True)
        print("saves   ", json.dumps(r["saves"]))
        r["repos"] = {}
        for repo in args.repo:
            r["repos"][Path(repo).name] = measure(ROOT, Path(repo), tmp, code_embedder=None)
            print(Path(repo).name, json.dumps(r["repos"][Path(repo).name]))
        if args.large:
            big = large_workspace(ws, tmp / "large", args.large)
            r["large"] = measure(ROOT, big, tmp, code_embedder=None)
            r["large"]["files_requested"] = args.large
            print("large   ", json.dumps(r["large"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r["load_end"] = os.getloadavg()[0]
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    if args.write_doc:
        write_doc(r)
    return 0


def write_doc(r: dict[str, Any]) -> None:
    new, old, saves = r["new"], r.get("old"), r["saves"]
    rows = [f"| Full-text search works | {new['searchable_s']:.1f} s | "
            + (f"{old['searchable_s']:.1f} s |" if old else "- |"),
            f"| Every chunk has its vector | **{new['total_s']:.1f} s** | "
            + (f"{old['total_s']:.1f} s |" if old else "- |"),
            f"| of which embedding | {new['embed_s']:.1f} s | "
            + (f"{old['embed_s']:.1f} s |" if old else "- |"),
            f"| Peak RSS, indexing process | **{new['rss_mb']:.0f} MB** | "
            + (f"{old['rss_mb']:.0f} MB |" if old else "- |"),
            f"| Chunks (the baseline left out files with a secret; its chunker differs) | "
            f"{new['chunks']:,} | " + (f"{old['chunks']:,} |" if old else "- |")]
    speed = (f"**{r['speedup']:.1f}x** faster than the baseline, measured in the same run"
             if old else "baseline not run")
    extra = [f"- Re-index after saving one file, text and vectors together: median "
             f"**{saves['save_ms']:.0f} ms**, max {saves['save_max_ms']:.0f} ms over "
             f"{len(SAVE_FILES)} files (index part: median {saves['save_index_ms']:.0f} ms)."]
    for name, got in r.get("repos", {}).items():
        extra.append(f"- `{name}`: {got['files']} files, {got['chunks']:,} chunks fully indexed "
                     f"with vectors in **{got['total_s']:.1f} s** (full text after "
                     f"{got['searchable_s']:.1f} s); peak RSS {got['rss_mb']:.0f} MB.")
    if "large" in r:
        big = r["large"]
        extra.append(f"- {big['files']:,} files (copies of the slice), {big['chunks']:,} chunks: "
                     f"a full-text query answers **{big.get('first_answer_s', 0):.1f} s** after "
                     f"the index started (over the files indexed so far, source first); the whole "
                     f"tree is indexed, vectors included, after "
                     f"{big.get('total_s', big['searchable_s']):.1f} s; peak RSS "
                     f"{big['rss_mb']:.0f} MB (workers {big['rss_workers_mb']:.0f} MB each at "
                     "most).")
    body = f"""{SECTION}

`python benchmarks/init_speed.py --baseline {r['baseline']} --write-doc` ({r['date']}, Python
{r['python']}, {r['cpus']} CPUs, load average {r['load']:.1f} at the start and
{r['load_end']:.1f} at the end). Workspace: a slice of the standard library
({r['slice_files']} files, {r['slice_lines']:,} lines of Python: {', '.join(SLICE_PACKAGES)} and
{len(SLICE_MODULES)} large modules), {new['chunks']:,} chunks. Each pipeline runs in a fresh
process on its own store; the baseline is commit `{r['baseline']}` (e5 embeds every chunk).

| Slice, {new['chunks']:,} chunks | this pipeline | baseline |
| --- | --- | --- |
{chr(10).join(rows)}

Full index with vectors: {speed}.

{chr(10).join(extra)}
"""
    replace_section(SECTION, body)


if __name__ == "__main__":
    sys.exit(main())
