"""Edits the benchmark makes to the code under anchored memories, and what the feature should
find after them (computed with `anchoring.resolve`, the function the server runs).

A body rewrite replaces every line of a function's body (Python: after the line that ends its
signature with ':'; braces languages: between the line that opens '{' and the closing line)
with new statements or comments, so the file still parses and the function keeps its name: its
memory is stale. A branch switch makes, per file, the edits a real one does: lines added at the
top (every anchor moves), and by chance a function body rewritten, a function renamed (found
again by its code), a commented range deleted (searched for in the whole file, then lost).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from lsp_agent.learning import anchoring as A
from lsp_agent.learning.symbols import Symbol
from lsp_agent.memory.schema import Anchor

Edit = tuple[int, int, list[str]]  # replace lines start..end (inclusive) by these lines


def comment(rel: str) -> str:
    return "#" if rel.endswith(".py") else "//"


def body_span(rel: str, lines: list[str], s: Symbol) -> tuple[int, int] | None:
    """The lines of a function's body that can be replaced, or None (too short to tell)."""
    python = rel.endswith(".py")
    opener = ":" if python else "{"
    head = next((n for n in range(s.start, min(s.end, s.start + 12) + 1)
                 if lines[n].split(" #")[0].rstrip().endswith(opener)), None)
    if head is None:
        return None
    first, last = head + 1, s.end if python else s.end - 1
    return (first, last) if last - first >= 2 else None


def rewrite_body(rel: str, lines: list[str], s: Symbol, tag: str) -> Edit | None:
    span = body_span(rel, lines, s)
    if span is None:
        return None
    first, last = span
    body = [line for line in lines[first:last + 1] if line.strip()]
    if not body:
        return None
    indent = body[0][: len(body[0]) - len(body[0].lstrip())]
    if rel.endswith(".py"):
        new = [f"{indent}_{tag}_{k} = {k} * {len(body)}" for k in range(len(body))]
    else:
        new = [f"{indent}// {tag}: rewritten line {k} of {len(body)}" for k in range(len(body))]
    return first, last, new


def rename(lines: list[str], s: Symbol) -> Edit | None:
    name = s.path.rsplit(".", 1)[-1]
    line = lines[s.start]
    if s.kind not in ("function", "method") or not re.search(rf"\b{re.escape(name)}\b", line):
        return None
    return s.start, s.start, [re.sub(rf"\b{re.escape(name)}\b", f"{name}_v2", line, count=1)]


def apply(lines: list[str], edits: list[Edit]) -> list[str]:
    """The lines after non-overlapping edits (applied bottom up, so line numbers hold)."""
    out = list(lines)
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        out[start:end + 1] = new
    return out


def pick(edits: list[Edit | None]) -> list[Edit]:
    """The edits that do not overlap an earlier one."""
    kept: list[Edit] = []
    for e in edits:
        if e is not None and all(e[1] < k[0] or k[1] < e[0] for k in kept):
            kept.append(e)
    return kept


def stale_edit(rel: str, text: str, anchors: list[Anchor]) -> tuple[str, Anchor] | None:
    """A file's text with the body of one of its anchored functions rewritten, and that
    anchor; None when no anchored function has a body long enough."""
    lines = text.split("\n")
    by_path = {s.path: s for s in A.symbols_of(rel, text)}
    for a in anchors:
        s = by_path.get(a.symbol)
        if a.whole_symbol and s is not None and s.kind in ("function", "method"):
            edit = rewrite_body(rel, lines, s, "stale")
            if edit is not None and edit[1] - edit[0] >= 3:
                return "\n".join(apply(lines, [edit])), a
    return None


def branch_switch(rel: str, text: str, anchors: list[Anchor], rng: random.Random) -> str:
    """The file as another branch has it."""
    lines = text.split("\n")
    symbols = {s.path: s for s in A.symbols_of(rel, text)}
    whole = [symbols[a.symbol] for a in anchors if a.whole_symbol and a.symbol in symbols
             and symbols[a.symbol].kind in ("function", "method")]
    ranges = [a for a in anchors if not a.whole_symbol]
    rng.shuffle(whole)
    wanted: list[Edit | None] = []
    if whole and rng.random() < 0.5:
        wanted.append(rewrite_body(rel, lines, whole[0], "branch"))
    if len(whole) > 1 and rng.random() < 0.25:
        wanted.append(rename(lines, whole[1]))
    if ranges and rng.random() < 0.25:
        a = rng.choice(ranges)
        wanted.append((a.start_line, a.end_line, []))
    mark = comment(rel)
    header = [f"{mark} branch feature/anchors-bench: this file differs", f"{mark} from main"]
    return "\n".join(header + apply(lines, pick(wanted)))


def expected(anchors: list[Anchor], text: str) -> dict[str, tuple[Any, ...]]:
    """What each anchor should be stored as after the edit: id -> (state, lines, symbol)."""
    return {a.id: key(r) for a, r in ((a, A.resolve(a, text)) for a in anchors)}


def key(a: Anchor | dict[str, Any]) -> tuple[Any, ...]:
    get = a.get if isinstance(a, dict) else a.__getattribute__
    return get("state"), get("start_line"), get("end_line"), get("symbol")


def write(ws: Path, rel: str, text: str) -> None:
    (ws / rel).write_text(text, encoding="utf-8")
