"""A file's symbols from tree-sitter: every function, method and class with its dotted path
inside the file (`Greeter.greet`) and its line range, nested members included.

Anchored memories follow code by these paths: a memory about `Greeter.greet` is still about
it after lines above it were added, and is found again after the function was renamed by the
code it holds (learning/anchoring.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsp_agent.learning import chunker as C


@dataclass(frozen=True, slots=True)
class Symbol:
    path: str  # "Class.method" inside the file
    kind: str  # function | method | class | impl | namespace
    start: int  # 0-based first line (decorators and leading comments excluded)
    end: int  # 0-based last line, inclusive


def outline(text: str, language: str | None) -> list[Symbol]:
    """The symbols of `text`, outer before inner, in file order; [] when it cannot parse."""
    parser = C._parser(language) if language else None
    if parser is None or not text.strip():
        return []
    root = parser.parse(text.encode("utf-8", "surrogatepass")).root_node
    found: list[Symbol] = []
    _walk(root.named_children, None, found, 0)
    return found


def _walk(nodes: list[Any], owner: str | None, found: list[Symbol], depth: int) -> None:
    if depth > 6:
        return
    for node in nodes:
        kind, name = C._classify(node, owner is not None)
        if name is None or kind == "module":
            continue
        inner = C._unwrap(node)
        path = f"{owner}.{name}" if owner else name
        found.append(Symbol(path, kind, inner.start_point[0], inner.end_point[0]))
        if kind in ("class", "impl", "namespace"):
            body = C._body(inner)
            if body is not None:
                _walk(body.named_children, path, found, depth + 1)


def innermost(symbols: list[Symbol], start: int, end: int | None = None) -> Symbol | None:
    """The smallest symbol holding lines start..end."""
    end = start if end is None else end
    best: Symbol | None = None
    for s in symbols:
        if s.start <= start and end <= s.end and (best is None or s.end - s.start
                                                   <= best.end - best.start):
            best = s
    return best
