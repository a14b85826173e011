#!/usr/bin/env python3
"""Anchored memories at scale (issue 13): 10,000 memories anchored over a 2,000-file repository
of real code, a real server process asked from a real client.

    python benchmarks/anchors.py [--runs 3] [--quick] [--json OUT] [--write-doc]

Builds the repository and the store once (benchmarks/anchors/corpus.py), then per run, on a
fresh copy of both: starts the server of this checkout, times the first request (the store
opened on didOpen, the anchors read on the first hover), hovers, code lenses of the 1,000-line
file, stale detection after a save, and a branch switch of 500 files (anchors/phases.py); then
the same follow work in-process (anchors/inproc.py). Last, the anchors table after piles of
single-anchor commits, and `initialize` of this checkout against main before the feature
(extracted with `git archive`), interleaved. Run it from the repository root with the venv's
Python: servers start as `python -m lsp_agent serve` with PYTHONPATH set to a checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]
from anchors import corpus as C  # noqa: E402
from anchors import edits as E  # noqa: E402
from anchors import inproc, phases  # noqa: E402
from anchors.report import render, summary  # noqa: E402
from anchors.session import Session, time_initialize  # noqa: E402
from doc_sections import replace_section  # noqa: E402

from lsp_agent.learning import anchoring as A  # noqa: E402

SECTION = "## Anchored memories"
FINDINGS = "\n### Findings"  # written by hand below the figures; kept when they are rewritten
FULL = {"files": 2000, "anchors": 10_000, "hover_files": 200, "spaced": 30, "lens_same": 100,
        "lens_edited": 60, "stale": 20, "branch": 500, "init_runs": 15,
        "frag_steps": [0, 1000, 2000]}
QUICK = {"files": 300, "anchors": 1500, "hover_files": 30, "spaced": 5, "lens_same": 30,
         "lens_edited": 15, "stale": 5, "branch": 75, "init_runs": 5, "frag_steps": [0, 200]}


def build(tmp: Path, cfg: dict[str, Any], cache: Path, mirror_root: Path) -> dict[str, Any]:
    """The pristine repository and store (kept beside the run copies, which are remade)."""
    ws, store = tmp / "ws", tmp / "store"
    start = time.perf_counter()
    rels = C.build_repo(ws, cfg["files"], cache, mirror_root)
    plans = C.plan_anchors(ws, rels, cfg["anchors"])
    took = C.build_store(ws, store, plans)
    took["total_s"] = time.perf_counter() - start
    shutil.copytree(ws, tmp / "pristine-ws")
    shutil.copytree(store, tmp / "pristine-store")
    lines = [len(A.read_source(ws / r).split("\n")) for r in rels]
    return {"build": took, "files": len(rels), "anchors": len(plans),
            "median_lines": statistics.median(lines), "total_lines": sum(lines),
            "lens_lines": len(A.read_source(ws / C.LENS_FILE).split("\n"))}


def restore(tmp: Path) -> tuple[Path, Path]:
    """The run's workspace and store, as built (same paths every run: the store knows its
    workspace)."""
    for name in ("ws", "store"):
        shutil.rmtree(tmp / name, ignore_errors=True)
        shutil.copytree(tmp / f"pristine-{name}", tmp / name)
    return tmp / "ws", tmp / "store"


def choose(ws: Path, stored: phases.Stored, cfg: dict[str, Any]) -> dict[str, list[str]]:
    """Disjoint sets of anchored files for the stale saves, the hovers and the branch switch."""
    rng = random.Random(1)
    files = sorted(r for r in stored if r != C.LENS_FILE)
    rng.shuffle(files)
    stale = [r for r in files if r.endswith(".py")
             and E.stale_edit(r, A.read_source(ws / r), stored[r]) is not None][:cfg["stale"]]
    rest = [r for r in files if r not in stale]
    hover = rest[:cfg["hover_files"]]
    return {"stale": stale, "hover": hover,
            "branch": rest[cfg["hover_files"]:cfg["hover_files"] + cfg["branch"]]}


async def server_run(tmp: Path, stored: phases.Stored, sets: dict[str, list[str]],
                     cfg: dict[str, Any]) -> dict[str, Any]:
    ws, store = tmp / "ws", tmp / "store"
    session = Session(ROOT, ws, store, tmp / "home")
    out: dict[str, Any] = {"initialize_ms": [await session.start()]}
    try:
        await phases.first_request(session, ws, stored, out)
        await phases.hovers(session, ws, stored, sets["hover"], cfg["spaced"], out)
        await phases.lens(session, ws, stored, cfg["lens_same"], cfg["lens_edited"], out)
        await phases.stale_saves(session, ws, store, stored, sets["stale"], out)
        await phases.branch_switch(session, ws, store, sets["branch"], out)
    finally:
        await session.stop()
    return out


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=check)


def without_feature(rev: str = "main") -> str:
    """The newest commit on main's first-parent line that has no anchors table (main before
    the feature was merged, or main itself while it is not)."""
    for commit in git("rev-list", "--first-parent", rev).stdout.split():
        if git("cat-file", "-e", f"{commit}:lsp_agent/memory/anchors.py",
               check=False).returncode != 0:
            return commit
    raise SystemExit(f"every commit of {rev} has the feature: pass --baseline REV")


def baseline_checkout(tmp: Path, rev: str | None) -> tuple[Path, str]:
    """The baseline's tree extracted (`git archive`), and its commit."""
    commit = git("rev-parse", rev).stdout.strip() if rev else without_feature()
    dest = tmp / "baseline"
    dest.mkdir()
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True,
                         check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest, commit


def initialize_figures(tmp: Path, runs: int, rev: str | None) -> dict[str, Any]:
    """initialize of main's server without the feature and of this checkout's, interleaved
    (load changes hit both alike)."""
    base, commit = baseline_checkout(tmp, rev)
    ws, store = restore(tmp)
    home = tmp / "home"
    sides = {"main": base, "anchors": ROOT}
    for root in sides.values():  # warm the OS file cache once
        time_initialize(root, ws, store, home)
    got: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(runs):
        for name, root in sides.items():
            got[name].append(time_initialize(root, ws, store, home))
    return {"baseline_commit": commit, **{f"init_{k}_ms": v for k, v in got.items()}}


def machine() -> dict[str, Any]:
    head = git("rev-parse", "--short", "HEAD", check=False).stdout.strip()
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "lancedb": version("lancedb"), "tree_sitter": version("tree-sitter"),
            "pygls": version("pygls"), "head": head, "load": os.getloadavg()[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="server runs (fresh copies each)")
    ap.add_argument("--quick", action="store_true", help="a small repository, a short run")
    ap.add_argument("--json", type=Path, help="save every measurement to this file")
    ap.add_argument("--write-doc", action="store_true", help=f"replace '{SECTION}' in "
                    "docs/benchmarks.md")
    ap.add_argument("--render", type=Path, help="only write the doc section from a --json file")
    ap.add_argument("--baseline", help="commit to compare initialize with (default: main "
                    "before the feature)")
    ap.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "lsp-agent-bench")
    args = ap.parse_args()
    if args.render:
        replace_section(SECTION, render(json.loads(args.render.read_text())), FINDINGS)
        return 0
    cfg = QUICK if args.quick else FULL
    tmp = Path(tempfile.mkdtemp(prefix="lsp-agent-anchorbench-"))
    os.environ["LSP_AGENT_HOME"] = str(tmp / "home")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    result: dict[str, Any] = {"config": cfg, "machine": machine()}
    try:
        print(f"building {cfg['files']} files, {cfg['anchors']} anchored memories in {tmp}")
        result["corpus"] = build(tmp, cfg, args.cache_dir, args.mirror_root)
        print(json.dumps(result["corpus"]))
        stored = phases.stored_anchors(tmp / "store")
        sets = choose(tmp / "ws", stored, cfg)
        result["runs"] = []
        for n in range(args.runs):
            restore(tmp)
            run = asyncio.run(server_run(tmp, stored, sets, cfg))
            ws, store = restore(tmp)
            run.update(inproc.hover_breakdown(ws, store, stored, sets["hover"]))
            run.update(inproc.follow_figures(ws, store, stored, sets["stale"], sets["branch"]))
            run["load"] = os.getloadavg()[0]
            result["runs"].append(run)
            print(f"run {n + 1}: " + summary(run))
            for line in run.get("wrong_details", []):
                print("  wrong: " + line)
        ws, store = restore(tmp)
        result["fragmentation"] = inproc.fragmentation(ws, store, cfg["frag_steps"])
        result.update(initialize_figures(tmp, cfg["init_runs"], args.baseline))
        result["machine"]["load_end"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(render(result))
    if args.write_doc:
        replace_section(SECTION, render(result), FINDINGS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
