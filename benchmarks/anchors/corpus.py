"""The repository and the store the anchored-memory benchmark measures.

The repository is real code: every Python, TypeScript, JavaScript and Go file of the six
repositories pinned in benchmarks/code_search/*repos.json (extracted at their commits into the
cache folder, as code_search.py does), topped up with evenly spaced files of the running
Python's standard library (its tests included, as in any large project) up to the file count;
`stdlib/functools.py` (1,012 lines) is always in it: the 1,000-line file of the code lens figure.

The store holds one archival passage per anchored memory (as `remember --at` writes them), and
the anchors, placed by the feature's own `anchoring.place` so their fields are what it stores:
about 5 per file, more in longer files (by the square root of the line count: a file ten times
longer has about three times the memories), 60 % on whole functions/classes, 40 % on line ranges.
"""

from __future__ import annotations

import functools
import json
import math
import random
import shutil
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent  # benchmarks/
sys.path.insert(0, str(HERE))
from code_search import DATA, materialise  # noqa: E402

from lsp_agent.learning import anchoring as A  # noqa: E402
from lsp_agent.memory.anchors import AnchorTable  # noqa: E402
from lsp_agent.memory.schema import Anchor  # noqa: E402

LENS_FILE = "stdlib/functools.py"
SOURCE_SUFFIXES = (".py", ".ts", ".js", ".go")
MAX_PER_FILE = 40
WHOLE_SHARE = 0.6
LESSONS = (
    "{name}: callers rely on the order of its results; keep it stable.",
    "{name} is on the hot path of every request; no extra copies or allocations here.",
    "Do not catch broad exceptions in {name}: the caller reports them to the user.",
    "{name} must stay thread-safe, the background worker calls it too.",
    "Keep the signature of {name}: the CLI and two plugins call it positionally.",
    "The tests of {name} freeze the clock; use the injected time source, not time.time().",
    "{name} looks redundant but handles Windows paths; see the bug from last spring.",
    "Changing {name} needs a migration of stored data; ask before touching it.",
    "{name}: the empty case returns None on purpose, callers check for it.",
    "Performance: {name} was 3x slower with a regex; keep the plain string scan.",
)


def repo_sources(cache: Path, mirror_root: Path) -> list[tuple[Path, str]]:
    """(file, path in the benchmark repository) of the pinned repositories' source files."""
    repos = [r for name in ("repos.json", "holdout_repos.json")
             for r in json.loads((DATA / name).read_text())]
    out: list[tuple[Path, str]] = []
    for repo in repos:
        root = materialise(repo, mirror_root, cache)
        out += [(p, f"{repo['name']}/{p.relative_to(root).as_posix()}")
                for p in sorted(root.rglob("*")) if p.suffix in SOURCE_SUFFIXES and p.is_file()
                and "node_modules" not in p.parts]
    return out


def stdlib_sources() -> list[tuple[Path, str]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return [(p, f"stdlib/{p.relative_to(root).as_posix()}") for p in sorted(root.rglob("*.py"))
            if "site-packages" not in p.parts and "__pycache__" not in p.parts]


def build_repo(ws: Path, n_files: int, cache: Path, mirror_root: Path) -> list[str]:
    """Copy `n_files` real source files into `ws`; their workspace-relative paths."""
    chosen = repo_sources(cache, mirror_root)[:n_files - max(1, n_files * 7 // 10)]
    stdlib = stdlib_sources()
    need = n_files - len(chosen)
    step = len(stdlib) / max(1, need)
    picked = [stdlib[int(i * step)] for i in range(need)]
    if all(rel != LENS_FILE for _, rel in picked):
        picked[-1] = next(s for s in stdlib if s[1] == LENS_FILE)
    chosen += picked
    for src, rel in chosen:
        dest = ws / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return [rel for _, rel in chosen]


def allocate(weights: dict[str, float], total: int, cap: int = MAX_PER_FILE) -> dict[str, int]:
    """`total` split in proportion to `weights` (largest remainders), at most `cap` each."""
    fixed: dict[str, int] = {}
    free = {k: w for k, w in weights.items() if w > 0}
    while True:
        left = total - sum(fixed.values())
        scale = left / sum(free.values())
        over = {k for k, w in free.items() if w * scale > cap}
        if not over:
            break
        fixed.update(dict.fromkeys(over, cap))
        free = {k: w for k, w in free.items() if k not in over}
    exact = {k: w * scale for k, w in free.items()}
    share = {k: int(v) for k, v in exact.items()}
    rest = left - sum(share.values())
    for k in sorted(exact, key=lambda k: exact[k] - share[k], reverse=True)[:rest]:
        share[k] += 1
    return {**share, **fixed}


def plan_anchors(ws: Path, rels: list[str], total: int, seed: int = 13) -> list[dict[str, Any]]:
    """Where each memory goes: `{rel, start, end (None: a cursor on a symbol), lesson}`."""
    texts = {rel: A.read_source(ws / rel) for rel in rels}
    weights = {rel: math.sqrt(len(A.normalized(t))) for rel, t in texts.items()}
    counts = allocate(weights, total)
    plans: list[dict[str, Any]] = []
    for rel in rels:
        n = counts.get(rel, 0)
        if not n:
            continue
        rng = random.Random(f"{seed}:{rel}")
        text = texts[rel]
        lines = text.split("\n")
        code_lines = [i for i, line in enumerate(lines) if line.strip()]
        symbols = A.symbols_of(rel, text)
        whole = rng.sample(symbols, min(len(symbols), round(n * WHOLE_SHARE)))
        for s in whole:
            plans.append({"rel": rel, "start": s.start, "end": None,
                          "lesson": rng.choice(LESSONS).format(name=s.path)})
        for _ in range(n - len(whole)):
            start = rng.choice(code_lines)
            end = min(len(lines) - 1, start + rng.randint(1, 7))
            name = f"{Path(rel).name}:{start + 1}"
            plans.append({"rel": rel, "start": start, "end": end,
                          "lesson": rng.choice(LESSONS).format(name=name)})
    return plans


def open_memory(ws: Path, store: Path) -> Any:
    from lsp_agent.memory.agent_memory import AgentMemory

    memory = AgentMemory(ws, store_uri=str(store), embedder="none")
    memory.open(resume_vectors=False)
    return memory


def build_store(ws: Path, store: Path, plans: list[dict[str, Any]],
                batch: int = 1000) -> dict[str, float]:
    """The passages and anchors of `plans` as `remember --at` writes them, in batches of
    `batch` commits (a compact table: inproc.fragmentation measures the other kind). Seconds."""
    from lsp_agent.memory.index_upkeep import MAINTAINER, maintain

    memory = open_memory(ws, store)
    table = AnchorTable(memory.store)
    took: dict[str, float] = {}
    start = time.perf_counter()
    passages = []
    for i in range(0, len(plans), batch):
        passages += memory.archival.insert_many([p["lesson"] for p in plans[i:i + batch]],
                                                ["anchored"], source="user")
    took["passages_s"] = time.perf_counter() - start
    start = time.perf_counter()
    texts: dict[str, str] = {}
    anchors = []
    parse = A.symbols_of
    # `place` parses the file for every anchor; one parse per file gives the same fields
    # (10,000 parses take minutes on this machine)
    A.symbols_of = functools.lru_cache(maxsize=4)(parse)  # type: ignore[assignment]
    try:
        for plan, passage in zip(plans, passages, strict=True):
            text = texts.get(plan["rel"]) or texts.setdefault(plan["rel"],
                                                              A.read_source(ws / plan["rel"]))
            fields, _ = A.place(plan["rel"], text, plan["start"], plan["end"])
            anchors.append(Anchor(id=table.new_id(), memory_kind="archival",
                                  memory_id=passage.id, lesson=passage.content, author="user",
                                  **fields))
    finally:
        A.symbols_of = parse  # type: ignore[assignment]
    took["place_s"] = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(anchors), batch):
        table.save(anchors[i:i + batch])
    took["anchors_s"] = time.perf_counter() - start
    start = time.perf_counter()
    MAINTAINER.finish(600)
    maintain(memory.store.table("archival"))  # the full-text index upkeep builds in real use
    took["fts_s"] = time.perf_counter() - start
    return took
