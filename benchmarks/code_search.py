#!/usr/bin/env python3
"""Code-search quality on hand-checked questions over real repositories (issue 10, goal 2).

    python benchmarks/code_search.py [--embedder none --embedder default] [--mode hybrid]
        [--impl /path/to/other/lsp-agent [--impl-embedder none]] [--repos structlog,got]
        [--questions FILE [--repos-file FILE]] [--json OUT] [--write-doc]

The questions (benchmarks/code_search/questions.jsonl) were written and their answers checked
by reading each repository at the commit pinned in benchmarks/code_search/repos.json; nothing in
them depends on how lsp-agent chunks code. The hold-out set (`--questions
benchmarks/code_search/holdout.jsonl`, repositories in holdout_repos.json beside it) was written
and committed before anything ran on it: the ranking was never tuned on it. Each repository is extracted from a local bare mirror
(`fetch github:owner/name` puts one under /work/.mirror) into a cache folder outside git. Every
run builds fresh stores: the code index of this checkout (and of each --impl checkout, run in a
subprocess with PYTHONPATH pointing at it) and, in the same run, a plain BM25 over fixed 60-line
windows (step 30, so windows overlap by half) of every file the workspace walk yields.

Scores: results are the top 10 hits (index) or windows (BM25). File-level ranking = the results'
files in order of first appearance; MRR@10 = 1/rank of the first answer file; recall@5 = an
answer file among the first five files; hit@5 = one of the first five results overlaps an answer
line range; "docs/tests at top-1" counts non-test questions whose first result is docs or tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # doc_sections.py, beside this
from doc_sections import replace_section  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "code_search"
SECTION = "## Code search quality"
WINDOW, STEP = 60, 30
K1, B = 1.2, 0.75
DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc")
DOC_DIRS = {"docs", "doc", "documentation"}
TEST_DIRS = {"test", "tests", "testing", "__tests__", "testdata"}
TEST_FILE = re.compile(r"(^test_.*\.py$|_test\.(py|go)$|\.(test|spec)\.[jt]sx?$)")


# --- pure scoring (tests/test_code_search_bench.py) -------------------------------------------

def path_kind(path: str) -> str:
    """'docs', 'tests' or 'code' for a workspace-relative POSIX path (the benchmark's own rule)."""
    parts = path.lower().split("/")
    name = parts[-1]
    if any(p in TEST_DIRS for p in parts[:-1]) or TEST_FILE.search(name):
        return "tests"
    if name.endswith(DOC_SUFFIXES) or any(p in DOC_DIRS for p in parts[:-1]) \
            or name.startswith(("changelog", "changes", "history")):
        return "docs"
    return "code"


def file_ranking(hits: Sequence[Sequence[Any]]) -> list[str]:
    """The hits' paths in order of first appearance."""
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(str(h[0]), None)
    return list(seen)


def score_question(hits: Sequence[Sequence[Any]], answers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Reciprocal rank, recall@5 and hit@5 of one question; hits are (path, start, end) best first."""
    paths = {a["path"] for a in answers}
    files = file_ranking(hits)
    rank = next((i + 1 for i, p in enumerate(files) if p in paths), None)
    overlap = any(h[0] == a["path"] and int(h[1]) <= a["end_line"] and int(h[2]) >= a["start_line"]
                  for h in hits[:5] for a in answers)
    return {"rank": rank, "rr": 1.0 / rank if rank else 0.0, "recall5": bool(rank and rank <= 5),
            "hit5": overlap, "top1": path_kind(str(hits[0][0])) if hits else None}


def aggregate(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Mean MRR@10, recall@5 and hit@5, and docs/tests at top-1 among non-test questions."""
    rows = list(rows)
    n = len(rows)
    if not n:
        return {"n": 0}
    off = [r for r in rows if r["type"] != "test"]
    return {"n": n, "mrr": sum(r["rr"] for r in rows) / n,
            "recall5": sum(r["recall5"] for r in rows) / n, "hit5": sum(r["hit5"] for r in rows) / n,
            "docs_tests_top1": sum(r["top1"] in ("docs", "tests") for r in off), "non_test": len(off)}


def tokenize(text: str) -> list[str]:
    return [t for t in re.split(r"\W+", text.lower()) if t]


def window_starts(n_lines: int) -> list[int]:
    """0-based first lines of the 60-line windows (step 30) covering a file of n_lines."""
    starts = [0]
    while starts[-1] + WINDOW < n_lines:
        starts.append(starts[-1] + STEP)
    return starts


# --- repositories -----------------------------------------------------------------------------

def find_mirror(root: Path, github: str) -> Path | None:
    owner, name = github.split("/")
    for cand in (root / f"{owner}+{name}" / "repo", root / f"{owner}+{name}", root / owner / name,
                 root / name):
        for git_dir in (cand, cand / ".git"):
            if git_dir.is_dir() and subprocess.run(
                    ["git", "--git-dir", str(git_dir), "rev-parse", "--git-dir"],
                    capture_output=True).returncode == 0:
                return git_dir
    return None


def default_repos_file(questions: Path) -> Path:
    """`<stem>_repos.json` beside a question file if there is one, else the main repos.json."""
    sibling = questions.with_name(questions.stem + "_repos.json")
    return sibling if sibling.exists() else DATA / "repos.json"


def materialise(repo: dict[str, Any], mirror_root: Path, cache: Path) -> Path:
    """The repository's tree at its pinned commit, extracted once into the cache folder."""
    dest = cache / f"{repo['name']}-{repo['commit'][:12]}"
    done = dest.with_name(dest.name + ".ok")
    if done.exists() and dest.is_dir():
        return dest
    git_dir = find_mirror(mirror_root, repo["github"])
    if git_dir is None:
        sys.exit(f"No git mirror of {repo['github']} under {mirror_root}: fetch github:{repo['github']}"
                 f" first (or clone it there, or pass --mirror-root).")
    if subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{repo['commit']}^{{commit}}"],
                      capture_output=True).returncode != 0:
        sys.exit(f"The mirror {git_dir} lacks commit {repo['commit']} of {repo['github']}: fetch it again.")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", repo["commit"]],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    done.write_text(repo["commit"] + "\n")
    return dest


# --- BM25 over fixed windows (baseline) -------------------------------------------------------

def bm25_hits(workspace: Path, questions: list[dict[str, Any]]) -> tuple[dict[str, list], dict[str, Any]]:
    from rank_bm25 import BM25Okapi

    from lsp_agent.learning.workspace_files import FileEntry, iter_workspace_files

    t0 = time.perf_counter()
    docs, spans = [], []
    for entry in iter_workspace_files(workspace):
        if not isinstance(entry, FileEntry):
            continue
        lines = entry.path.read_text(encoding="utf-8", errors="replace").split("\n")
        for s in window_starts(len(lines)):
            docs.append(tokenize("\n".join(lines[s : s + WINDOW])))
            spans.append((entry.rel_path, s + 1, min(s + WINDOW, len(lines))))
    bm25 = BM25Okapi(docs, k1=K1, b=B)
    out = {}
    for q in questions:
        scores = bm25.get_scores(tokenize(q["question"]))
        best = sorted(range(len(scores)), key=lambda i: -scores[i])[:10]
        out[q["id"]] = [list(spans[i]) for i in best]
    return out, {"windows": len(docs), "seconds": time.perf_counter() - t0}


# --- the index, in a subprocess importing lsp_agent from --impl -------------------------------

def worker(args: argparse.Namespace) -> int:
    """Build the index of one workspace fresh and print each question's top 10 hits as JSON."""
    import inspect

    from lsp_agent.learning.code_index import build_index, embed_pending
    from lsp_agent.memory.agent_memory import AgentMemory

    try:
        from lsp_agent.learning.code_index import search_code
    except ImportError:  # moved to its own module after 5d0f7a8
        from lsp_agent.learning.code_search import search_code  # type: ignore[import-not-found,no-redef]

    ws = Path(args.worker)
    questions = [json.loads(x) for x in Path(args.questions).read_text().splitlines() if x.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="lsp-agent-csbench-"))
    os.environ["LSP_AGENT_HOME"] = str(tmp / "home")
    try:
        params = inspect.signature(AgentMemory).parameters
        where = {"store_uri" if "store_uri" in params else "store": str(tmp / "store")}
        spec = args.embedder[0]
        if "code_embedder" in params:  # the code index has its own embedder: give it the spec
            mem = AgentMemory(ws, embedder="none", code_embedder=spec, **where)
        else:
            mem = AgentMemory(ws, embedder=spec, **where)
        if "resume_vectors" in inspect.signature(mem.open).parameters:
            mem.open(resume_vectors=False)
        else:
            mem.open()
        t0 = time.perf_counter()
        report = build_index(mem)
        build_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        if args.embedder[0] != "none":
            embed_pending(mem)
        embed_s = time.perf_counter() - t1
        accepted = inspect.signature(search_code).parameters
        kind = next((k for k in ("kind", "category") if k in accepted), None)
        extra: dict[str, Any] = {kind: "code"} if kind else {}
        hits, q_s = {}, 0.0
        for q in questions:
            t = time.perf_counter()
            found = search_code(mem, q["question"], limit=10, mode=args.mode, **extra)
            q_s += time.perf_counter() - t
            hits[q["id"]] = [_span(ws, h) for h in found]
        print(json.dumps({"hits": hits, "build_s": build_s, "embed_s": embed_s,
                          "query_ms": 1000 * q_s / max(1, len(questions)),
                          "chunks": getattr(report, "chunks_total", None), "kind_code": kind}))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _span(ws: Path, hit: dict[str, Any]) -> list[Any]:
    """(path, first line, last line), 1-based, from a protocol Hit's location."""
    loc = hit["location"]
    path = Path(loc["uri"].removeprefix("file://")).relative_to(ws).as_posix()
    start, end = loc["range"]["start"], loc["range"]["end"]
    last = end["line"] if end.get("character", 1) == 0 and end["line"] > start["line"] else end["line"] + 1
    return [path, start["line"] + 1, last]


def impl_label(impl: Path) -> str:
    """The last commit that changed the checkout's lsp_agent package (what the index runs)."""
    out = subprocess.run(["git", "-C", str(impl), "log", "-1", "--format=%h", "--abbrev=7", "--",
                          "lsp_agent"], capture_output=True, text=True)
    return out.stdout.strip() or impl.name


def run_index(impl: Path, ws: Path, qfile: Path, embedder: str, mode: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(impl), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(ws), "--questions",
           str(qfile), "--embedder", embedder, "--mode", mode]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"The index run ({impl}, {ws.name}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the run ----------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedder", action="append", help="embedder spec, repeatable (default: "
                    "'default'; 'none' = full text only)")
    ap.add_argument("--mode", choices=["hybrid", "text", "vector"], default="hybrid")
    ap.add_argument("--repos", help="comma-separated repository names (default: all)")
    ap.add_argument("--impl", action="append", default=[], type=Path,
                    help="also run the index of this lsp-agent checkout (repeatable)")
    ap.add_argument("--impl-embedder", action="append", help="embedder specs for the --impl "
                    "checkouts (repeatable; default: the --embedder list)")
    ap.add_argument("--questions", type=Path, help="question file (default: code_search/"
                    "questions.jsonl; the hold-out set is code_search/holdout.jsonl)")
    ap.add_argument("--repos-file", type=Path, help="repositories of the questions (default: "
                    "<questions stem>_repos.json beside the question file if it exists, else "
                    "code_search/repos.json)")
    ap.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "lsp-agent-bench")
    ap.add_argument("--json", type=Path, help="save every figure and hit to this file")
    ap.add_argument("--write-doc", action="store_true", help=f"replace '{SECTION}' in docs/benchmarks.md")
    ap.add_argument("--render", type=Path, help="only write the doc section from a --json file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.embedder = args.embedder or ["default"]
    if args.worker:
        return worker(args)
    if args.write_doc and args.questions and args.questions.resolve() != DATA / "questions.jsonl":
        sys.exit("--write-doc writes the main question set's section only: keep --json and write "
                 "the hold-out figures into its own sub-section of docs/benchmarks.md by hand.")
    sys.path.insert(0, str(ROOT))
    if args.render:
        write_doc(json.loads(args.render.read_text()))
        return 0
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.write_doc:
        write_doc(result)
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    t_start = time.perf_counter()
    qpath = (args.questions or DATA / "questions.jsonl").resolve()
    repos_file = args.repos_file or default_repos_file(qpath)
    repos = json.loads(repos_file.read_text())
    if args.repos:
        wanted = set(args.repos.split(","))
        if unknown := wanted - {r["name"] for r in repos}:
            sys.exit(f"Unknown repositories {sorted(unknown)}: choose among "
                     f"{[r['name'] for r in repos]}.")
        repos = [r for r in repos if r["name"] in wanted]
    questions = [json.loads(x) for x in qpath.read_text().splitlines() if x.strip()]
    impls = [(ROOT, f"index@{impl_label(ROOT)}", args.embedder)] + [
        (p.resolve(), f"index@{impl_label(p)}", args.impl_embedder or args.embedder) for p in args.impl]
    systems = ["bm25"] + [f"{lab} ({emb})" for _, lab, embs in impls for emb in embs]
    per_q: list[dict[str, Any]] = []
    runs: dict[str, dict[str, Any]] = {}
    for repo in repos:
        ws = materialise(repo, args.mirror_root, args.cache_dir)
        qs = [q for q in questions if q["repo"] == repo["name"]]
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write("".join(json.dumps(q) + "\n" for q in qs))
        qfile = Path(f.name)
        hits = {}
        hits["bm25"], runs[f"{repo['name']}/bm25"] = bm25_hits(ws, qs)
        print(f"{repo['name']}: BM25 over {runs[repo['name'] + '/bm25']['windows']} windows", flush=True)
        for impl, lab, embs in impls:
            for emb in embs:
                name = f"{lab} ({emb})"
                t = time.perf_counter()
                out = run_index(impl, ws, qfile, emb, args.mode)
                hits[name] = out.pop("hits")
                runs[f"{repo['name']}/{name}"] = dict(out, seconds=time.perf_counter() - t)
                print(f"{repo['name']}: {name}: {out['chunks']} chunks, build {out['build_s']:.1f} s, "
                      f"embed {out['embed_s']:.1f} s, {out['query_ms']:.0f} ms/query", flush=True)
        qfile.unlink()
        for q in qs:
            for s in systems:
                row = score_question(hits[s][q["id"]], q["answers"])
                per_q.append(dict(row, id=q["id"], repo=q["repo"], type=q["type"], system=s,
                                  hits=hits[s][q["id"]][:5]))
    table = summarise(per_q, systems, [r["name"] for r in repos])
    result = {"date": datetime.date.today().isoformat(), "repos": repos, "systems": systems,
              "questions_file": qpath.relative_to(ROOT).as_posix() if qpath.is_relative_to(ROOT)
              else str(qpath),
              "mode": args.mode, "embedders": args.embedder, "cpus": os.cpu_count(),
              "load": os.getloadavg()[0], "python": sys.version.split()[0], "runs": runs,
              "table": table, "questions": per_q, "seconds": time.perf_counter() - t_start,
              "types": {t: sum(q["type"] == t for q in questions if q["repo"] in table["repos"])
                        for t in ("identifier", "reworded", "docs-trap", "test")}}
    print_table(result)
    return result


def summarise(per_q: list[dict[str, Any]], systems: list[str], repos: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"repos": {}, "types": {}, "overall": {}}
    for s in systems:
        mine = [r for r in per_q if r["system"] == s]
        out["overall"][s] = aggregate(mine)
        for repo in repos:
            out["repos"].setdefault(repo, {})[s] = aggregate(r for r in mine if r["repo"] == repo)
        for t in ("identifier", "reworded", "docs-trap", "test"):
            out["types"].setdefault(t, {})[s] = aggregate(r for r in mine if r["type"] == t)
    return out


def _cells(a: dict[str, Any]) -> str:
    if not a.get("n"):
        return "- | - | - | -"
    return (f"{a['mrr']:.2f} | {100 * a['recall5']:.0f}% | {100 * a['hit5']:.0f}% | "
            f"{a['docs_tests_top1']}/{a['non_test']}")


def table_lines(result: dict[str, Any]) -> list[str]:
    t = result["table"]
    lines = ["| Repository | Search | MRR@10 | recall@5 | hit@5 (lines) | docs/tests at top-1 |",
             "| --- | --- | --- | --- | --- | --- |"]
    for key, groups in (("overall", {"all": t["overall"]}), ("repo", t["repos"]), ("type", t["types"])):
        for g, per in groups.items():
            label = "**all**" if key == "overall" else (f"type: {g}" if key == "type" else g)
            n = next(iter(per.values())).get("n", 0)
            for s in result["systems"]:
                lines.append(f"| {label} ({n} q) | {'BM25, 60-line windows' if s == 'bm25' else s} | "
                             f"{_cells(per[s])} |")
    return lines


def print_table(result: dict[str, Any]) -> None:
    print("\n".join(table_lines(result)))
    print(f"full run: {result['seconds']:.0f} s")


def write_doc(r: dict[str, Any]) -> None:
    repos = "; ".join(f"[{x['github']}](https://github.com/{x['github']}) ({x['language']}) at "
                      f"`{x['commit'][:12]}`" for x in r["repos"])
    sizes = "; ".join(f"{k.split('/')[0]} {v['chunks']} chunks" for k, v in r["runs"].items()
                      if v.get("chunks") and k.endswith(f"{r['systems'][1]}"))
    timing = "; ".join(f"{k}: build {v['build_s']:.0f} s + embed {v['embed_s']:.0f} s"
                       for k, v in r["runs"].items() if "build_s" in v)
    kinds = {v.get("kind_code") or None for v in r["runs"].values() if "build_s" in v}
    kind_note = ("`search_code(...)` without a kind filter (the API had none)" if kinds == {None}
                 else "`search_code(..., " + "/".join(f"{k}=\"code\"" for k in sorted(kinds - {None}))
                 + ")` where the implementation accepts it")
    types = ", ".join(f"{v} {k}" for k, v in r["types"].items())
    n = sum(r["types"].values())
    body = f"""{SECTION}

{r['date']}: `python benchmarks/code_search.py {' '.join('--embedder ' + e for e in r['embedders'])} --write-doc`
({r['cpus']} CPUs shared with other work, load average {r['load']:.1f} at the start; Python
{r['python']}; full run {r['seconds'] / 60:.1f} min). {n} questions ({types}) written by hand
over {repos}; each answer is a file and line range checked by reading the code at that commit
(`benchmarks/code_search/questions.jsonl`; repositories in `benchmarks/code_search/repos.json`).
"reworded" questions avoid the code's identifiers; "docs-trap" questions share their words with
docs or tests while the answer is source; "test" questions ask for a test.

Each run builds fresh stores ({sizes}). The index is queried with {kind_note}, mode
`{r['mode']}`, limit 10. The baseline, in the same run, is a plain BM25 (rank-bm25 `BM25Okapi`,
k1 {K1}, b {B}) over fixed {WINDOW}-line windows with step {STEP} (half-overlapping) of every file
the workspace walk yields, tokenised on non-word characters, lower-cased. File-level ranking =
the top 10 results' files in order of first appearance; MRR@10 = 1/rank of the first answer
file; recall@5 = an answer file among the first five files; hit@5 = one of the first five results
overlaps an answer's line range; docs/tests at top-1 counts, among questions not asking for a
test, those whose first result is docs (`*.md`, `*.rst`, `docs/`, changelogs) or tests.
Index times: {timing}.

{chr(10).join(table_lines(r))}

Run it: fetch the three mirrors once (`github:hynek/structlog`, `github:sindresorhus/got`,
`github:urfave/cli`; or clone them under `--mirror-root`), then
`python benchmarks/code_search.py --embedder none` (full text only, ~1 min) or with
`--embedder default` (e5 vectors: many minutes, the embedding dominates). Old index vs new in
one run: `git worktree add /tmp/lsp-old <commit>` and add `--impl /tmp/lsp-old`.
"""
    # hand-written sub-sections (what was chosen on these questions, the hold-out set) stay
    replace_section(SECTION, body.rstrip("\n") + "\n", keep_from="\n### ")


if __name__ == "__main__":
    sys.exit(main())
