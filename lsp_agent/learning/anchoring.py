"""Anchoring memories to code, and following the code as it changes.

An anchor keeps the file, the symbol path (`Greeter.greet`), the lines and the code itself as
it was when the memory was written. After an edit it is found again: by its symbol path first,
then by the exact code, then by the most similar lines (a renamed function keeps its body);
when nothing similar is left it is lost. The anchored code changing beyond `SIMILAR` makes the
memory stale: it may no longer hold, and the editor says so.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from pathlib import Path

from lsp_agent.errors import UsageError
from lsp_agent.learning.symbols import Symbol, innermost, outline
from lsp_agent.learning.workspace_files import language_for
from lsp_agent.memory.schema import Anchor
from lsp_agent.paths import path_of_uri

SIMILAR = 0.75  # at least this much of the anchored code unchanged: the memory still holds
FOUND = 0.6  # at least this similar: the same code, moved or renamed
MAX_CODE_CHARS = 20_000
MAX_FILE_BYTES = 2_000_000


def normalized(code: str) -> list[str]:
    """Lines without trailing spaces or blank lines: whitespace edits change nothing."""
    return [line.rstrip() for line in code.split("\n") if line.strip()]


def code_hash(code: str) -> str:
    return hashlib.sha256("\n".join(normalized(code)).encode()).hexdigest()[:16]


def similarity(a: str, b: str) -> float:
    left, right = normalized(a), normalized(b)
    if left == right:
        return 1.0
    return difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()


def parse_at(workspace: Path, at: str) -> tuple[Path, str, int, int | None]:
    """`PATH:LINE` or `PATH:START-END` (1-based; PATH relative to the workspace, absolute, or
    a file URI) -> (absolute path, workspace-relative path, start, end) 0-based inclusive."""
    text = at.strip()
    where, _, lines = text.rpartition(":")
    if not where or not lines.replace("-", "").strip().isdigit():
        where, lines = text, ""
    path = path_of_uri(where) or Path(where).expanduser()
    path = (path if path.is_absolute() else workspace / path).resolve()
    try:
        rel = path.relative_to(workspace.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{where} is outside the workspace {workspace}; memories can only be "
                         "anchored to the workspace's own files.") from None
    start_text, _, end_text = lines.partition("-")
    start = max(0, int(start_text) - 1) if start_text.strip() else 0
    end = max(start, int(end_text) - 1) if end_text.strip() else None  # one line: a cursor
    return path, rel, start, end


def read_source(path: Path) -> str:
    """A text file's contents; a clear refusal for what cannot be anchored to."""
    if not path.is_file():
        raise UsageError(f"{path.name} does not exist (or is not a file); anchor to a file in "
                         "the workspace.")
    data = path.read_bytes()[: MAX_FILE_BYTES + 1]
    if b"\x00" in data[:8192]:
        raise UsageError(f"{path.name} is a binary file; memories are anchored to text.")
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{path.name} is larger than 2 MB; anchor to a smaller file.")
    return data.decode("utf-8", errors="replace")


def symbols_of(rel: str, text: str) -> list[Symbol]:
    return outline(text, language_for(Path(rel).name, text[:64].encode()))


def place(rel: str, text: str, start: int, end: int | None) -> tuple[dict[str, object],
                                                                    list[str]]:
    """Where a new anchor goes: the lines (clamped to the file) or, for a cursor on a
    symbol's first line or a selection of the whole symbol, that symbol."""
    lines = text.split("\n")
    warnings: list[str] = []
    last = max(0, len(lines) - 1)
    if start > last or (end is not None and end > last):
        warnings.append(f"{rel} has {last + 1} lines; the anchor was clamped to its end.")
    start = min(start, last)
    symbols = symbols_of(rel, text)
    holder = innermost(symbols, start, start if end is None else min(end, last))
    if end is None:  # a cursor: the symbol it is in, or that line
        end = start
        whole = holder is not None and holder.start == start
    else:
        end = min(end, last)
        whole = holder is not None and start <= holder.start and holder.end <= end
    if holder is not None and whole:
        start, end = holder.start, holder.end
    code = "\n".join(lines[start:end + 1])[:MAX_CODE_CHARS]
    return {"path": rel, "symbol": holder.path if holder else "", "whole_symbol": whole,
            "start_line": start, "end_line": end, "code": code,
            "code_hash": code_hash(code)}, warnings


def resolve(anchor: Anchor, text: str | None,
            outline: Callable[[], list[Symbol]] | None = None) -> Anchor:
    """The anchor found again in the file's current text (None: the file is gone).

    `outline`: the file's symbols, parsed once by a caller resolving many anchors of one
    text and only when asked. A line range whose code is still there line for line needs no
    outline at all."""
    if text is None:
        return _set(anchor, state="lost", note=f"{anchor.path} was deleted.")
    lines = text.split("\n")
    size = anchor.end_line - anchor.start_line
    if not anchor.whole_symbol and anchor.code.strip():
        hit = _exact(lines, anchor.code, anchor.start_line)
        if hit is not None:  # the same code, maybe moved: the symbol holding it is unchanged
            return _set(anchor, state="ok", note="", start_line=hit, end_line=hit + size)
    symbols = outline() if outline is not None else symbols_of(anchor.path, text)
    named = _named(symbols, anchor.symbol, anchor.start_line)
    if anchor.whole_symbol and named is not None:
        return _judge(anchor, lines, named.start, named.end, anchor.symbol)
    if anchor.whole_symbol:  # renamed? the symbol most like the old code
        best = max(symbols, key=lambda s: _ratio(anchor.code, lines, s.start, s.end),
                   default=None)
        if best is not None and _ratio(anchor.code, lines, best.start, best.end) >= FOUND:
            return _judge(anchor, lines, best.start, best.end, best.path)
    else:
        lo, hi = (named.start, named.end) if named else (0, len(lines) - 1)
        found = _best_window(anchor.code, lines, size, lo, hi)
        if found is None and named is not None:
            found = _best_window(anchor.code, lines, size, 0, len(lines) - 1)
        if found is not None:
            holder = innermost(symbols, found, found + size)
            return _judge(anchor, lines, found, found + size, holder.path if holder else "")
    what = f"`{anchor.symbol}`" if anchor.symbol else f"lines {anchor.start_line + 1}-" \
        f"{anchor.end_line + 1}"
    return _set(anchor, state="lost", note=f"The code it is about ({what}) is no longer in "
                f"{anchor.path}: deleted or rewritten.",
                start_line=min(anchor.start_line, len(lines) - 1),
                end_line=min(anchor.start_line, len(lines) - 1))


def _named(symbols: list[Symbol], path: str, near: int) -> Symbol | None:
    """The symbol with this path; of several (a property's getter and setter, overloads),
    the one nearest where the anchor was."""
    same = [s for s in symbols if s.path == path] if path else []
    return min(same, key=lambda s: abs(s.start - near), default=None)


def _judge(anchor: Anchor, lines: list[str], start: int, end: int, symbol: str) -> Anchor:
    current = "\n".join(lines[start:end + 1])
    ratio = similarity(anchor.code, current)
    moved = f" (was `{anchor.symbol}`)" if symbol != anchor.symbol and anchor.symbol else ""
    if ratio >= SIMILAR:
        return _set(anchor, state="ok", note=f"renamed{moved}" if moved else "",
                    start_line=start, end_line=end, symbol=symbol)
    changed = round((1 - ratio) * 100)
    return _set(anchor, state="changed", start_line=start, end_line=end, symbol=symbol,
                note=f"The code it is about changed since: about {changed}% of its lines "
                f"differ{moved}.")


def _set(anchor: Anchor, **changes: object) -> Anchor:
    return anchor.model_copy(update=changes)


def _exact(lines: list[str], code: str, near: int) -> int | None:
    want = normalized(code)
    if not want:
        return None
    first = want[0]
    starts = [n for n, line in enumerate(lines) if line.rstrip() == first]
    for n in sorted(starts, key=lambda n: abs(n - near)):
        got = [line.rstrip() for line in lines[n:n + len(code.split("\n")) + 20]
               if line.strip()][:len(want)]
        if got == want:
            return n
    return None


def _ratio(code: str, lines: list[str], start: int, end: int) -> float:
    return similarity(code, "\n".join(lines[start:end + 1]))


def _best_window(code: str, lines: list[str], size: int, lo: int, hi: int) -> int | None:
    want = normalized(code)
    best, best_at = 0.0, None
    for n in range(lo, max(lo, hi - size) + 1):
        window = normalized("\n".join(lines[n:n + size + 1]))
        matcher = difflib.SequenceMatcher(None, want, window, autojunk=False)
        if matcher.real_quick_ratio() < max(best, FOUND) or matcher.quick_ratio() < max(
                best, FOUND):
            continue
        ratio = matcher.ratio()
        if ratio > best:
            best, best_at = ratio, n
    return best_at if best >= FOUND else None
