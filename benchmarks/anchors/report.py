"""The figures of benchmarks/anchors.py as text: a line per run, and the docs section."""

from __future__ import annotations

import statistics
from typing import Any

# (label, key in a run, goal in ms or None, which goal it answers)
ROWS: list[tuple[str, str, float | None]] = [
    ("hover, every request (first in a file and repeats)", "hover_all_ms", 15),
    ("hover, first in a file just opened (after its lenses and diagnostics)", "hover_cold_ms",
     None),
    ("hover, repeated in the same file", "hover_warm_ms", None),
    ("hover, more than 1 s after the last request", "hover_spaced_ms", None),
    ("code lens on opening a file (the hover phase's files)", "open_lens_ms", None),
    ("diagnostics pulled on opening a file", "open_diagnostics_ms", None),
    ("code lens, 1,000-line file, same text", "lens_same_ms", 25),
    ("code lens, 1,000-line file, after each one-line edit", "lens_edited_ms", 25),
    ("stale memory in pulled diagnostics after the edit (before saving)", "stale_edit_ms", None),
    ("stale: didSave -> stored -> refresh -> pull answered", "stale_save_ms", 100),
    ("stale in-process: follow([file]) + anchor_diagnostics", "inproc_save_ms", 100),
    ("branch switch: 500 files, didChangeWatchedFiles -> all stored", "branch_ms", 5000),
    ("branch switch in-process: follow(500 paths)", "inproc_branch_ms", 5000),
    ("first request: didOpen -> first hover with a memory", "first_request_ms", None),
    ("first hover itself (reads the anchors table)", "first_hover_ms", None),
    ("anchors table read in-process (cold)", "inproc_load_ms", None),
]


BREAKDOWN: list[tuple[str, str]] = [
    ("resolve a file's anchors (first request after opening or editing it), per file",
     "inproc_resolve_file_ms"),
    ("the same, per anchor", "inproc_resolve_anchor_ms"),
    ("one tree-sitter outline of the same file", "inproc_outline_ms"),
    ("related-memory search of a hover (2 full-text queries), per new symbol name",
     "inproc_related_ms"),
    ("`hover_at` with the file resolved and the search cached", "inproc_hover_at_ms"),
]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))]


def with_all(run: dict[str, Any]) -> dict[str, Any]:
    return {**run, "hover_all_ms": run["hover_cold_ms"] + run["hover_warm_ms"]}


def summary(run: dict[str, Any]) -> str:
    run = with_all(run)
    parts = [f"{key.removesuffix('_ms')} {statistics.median(run[key]):.1f}/"
             f"{pct(run[key], 95):.1f}" for _, key, _ in ROWS if run.get(key)]
    wrong = {k: run[k][0] for k in run if k.endswith("_wrong")}
    return "median/p95 ms: " + ", ".join(parts) + f"; wrong answers {wrong}"


def _ms(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def _spread(values: list[float]) -> str:
    return _ms(values[0]) if len(values) == 1 else f"{_ms(min(values))}-{_ms(max(values))}"


def figure_rows(runs: list[dict[str, Any]], branch_files: int) -> list[str]:
    out = ["| figure | n/run | median | p95 | runs' medians | runs' p95 | goal |",
           "|---|--:|--:|--:|--:|--:|---|"]
    for label, key, goal in ROWS:
        series = [r[key] for r in map(with_all, runs) if r.get(key)]
        if not series:
            continue
        meds = [statistics.median(s) for s in series]
        p95s = [pct(s, 95) for s in series]
        med, p95 = statistics.median(meds), statistics.median(p95s)
        judged = p95 if len(series[0]) > 1 else med
        verdict = "" if goal is None else (
            f"<= {_ms(goal)}: {'met' if judged <= goal else '**not met**'}")
        out.append(f"| {label.replace('500', f'{branch_files:,}')} | {len(series[0])} | "
                   f"{_ms(med)} | {_ms(p95)} | {_spread(meds)} | {_spread(p95s)} | {verdict} |")
    return out


def render(r: dict[str, Any]) -> str:
    c, m, cfg = r["corpus"], r["machine"], r["config"]
    runs = r["runs"]
    b = c["build"]
    wrong = {k.removesuffix("_wrong"): sum(x[k][0] for x in runs) for k in runs[0]
             if k.endswith("_wrong")}
    states = runs[0]["branch_states"][0]
    init = {k: statistics.median(r[f"init_{k}_ms"]) for k in ("main", "anchors")}
    iqr = {k: (pct(r[f"init_{k}_ms"], 25), pct(r[f"init_{k}_ms"], 75)) for k in init}
    lines = [
        "## Anchored memories", "",
        "What it measures: issue 13's figures for memories anchored to code, with "
        f"{c['anchors']:,} anchored memories over a {c['files']:,}-file repository, from a real "
        "client (pytest-lsp's, with VS Code's capabilities plus pull diagnostics and refresh) "
        "to a real server process of this checkout, LanceDB store in a temp folder, "
        "`embedder: none`. Files are opened as both editors do (didOpen, then the file's code "
        "lenses and diagnostics), then hovered. Every answer is checked (a hover shows the "
        "memory's text, a lens "
        "counts the file's memories, the stale memory is in the diagnostics and stored as "
        "changed, each branch-switched anchor is stored where `anchoring.resolve` puts it).", "",
        "Command (from the repository root; 15-25 minutes on the shared machine, `--quick` 1):", "",
        "    python benchmarks/anchors.py --runs 3 --json /tmp/anchors.json --write-doc", "",
        f"Repository: {c['files']:,} real files, {c['total_lines']:,} lines (median "
        f"{c['median_lines']:.0f} per file): every .py/.ts/.js/.go file of the six repositories "
        "pinned in benchmarks/code_search/*repos.json, topped up with evenly spaced files of "
        f"Python {m['python']}'s standard library (tests included). The code lens file is "
        f"`stdlib/functools.py` ({c['lens_lines']:,} lines). Memories: about 5 per file, more "
        "in longer ones (by the square root of the line count, at most 40; none in files "
        "without code), 60 % on whole "
        "functions/classes, 40 % on 2-8 line ranges, placed by `anchoring.place`; one archival "
        "passage each, full-text indexed. The store was written in batches of 1,000 (a "
        f"compact table; built in {b['total_s']:.0f} s); see the fragmentation table for a "
        "table written one memory at a time.", "",
        f"Machine: {m['cpus']} vCPUs shared with other jobs (load average {m['load']:.1f} at "
        f"the start, {m.get('load_end', 0):.1f} at the end), Python {m['python']}, LanceDB "
        f"{m['lancedb']}, tree-sitter {m['tree_sitter']}, pygls {m['pygls']}; checkout "
        f"{m['head']}. {len(runs)} runs (load average at their ends: "
        + ", ".join(f"{x['load']:.1f}" for x in runs) + "), each on fresh copies of the "
        "repository and store; "
        "times in ms at the client; median and p95 are the median over runs of each run's "
        "figure, then each run's own.", "",
        *figure_rows(runs, cfg["branch"]), "",
        f"Answers checked: {', '.join(f'{k} {v}' for k, v in wrong.items())} wrong (all runs). "
        f"Branch switch: {runs[0]['branch_anchors'][0]:,} anchors in {cfg['branch']} files "
        "(2 lines added at the top of each; by chance a function body rewritten, a function "
        "renamed, a line range deleted) end up "
        + ", ".join(f"{v:,} {k}" for k, v in states.items()) + ".",
        *(f"- wrong: {w}" for w in sorted({w for x in runs for w in x.get("wrong_details", [])})),
        "",
        "Where a hover's time goes, in-process, over the hover phase's files (ms):", "",
        "| step | n/run | median | p95 |", "|---|--:|--:|--:|",
        *(f"| {label} | {len(runs[0][key])} | "
          f"{_ms(statistics.median([statistics.median(x[key]) for x in runs]))} | "
          f"{_ms(statistics.median([pct(x[key], 95) for x in runs]))} |"
          for label, key in BREAKDOWN if runs[0].get(key)), "",
        "The anchors table after single-anchor commits (every `remember --at`, every save that "
        "moves or stales an anchor, is one LanceDB commit; nothing compacts this table). "
        "In-process, on the benchmark store plus that many one-anchor inserts:", "",
        "| commits | rows | cold read of the table (ms) | one anchor saved (ms) |",
        "|--:|--:|--:|--:|",
        *(f"| {f['commits']:,} | {f['rows']:,.0f} | {_ms(f['load_ms'])} | {_ms(f['save_ms'])} |"
          for f in r["fragmentation"]), "",
        f"`initialize` (spawn to answer, bare pipe, same workspace and options), "
        f"{len(r['init_main_ms'])} interleaved runs each: main ({r['baseline_commit'][:7]}, "
        f"without the feature) median {_ms(init['main'])} ms (IQR {_ms(iqr['main'][0])}-"
        f"{_ms(iqr['main'][1])}), this checkout {_ms(init['anchors'])} ms (IQR "
        f"{_ms(iqr['anchors'][0])}-{_ms(iqr['anchors'][1])}): "
        f"{(init['anchors'] / init['main'] - 1) * 100:+.1f} %.", "",
    ]
    return "\n".join(lines)
