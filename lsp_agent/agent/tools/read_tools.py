"""The read-only file tools: read_file, list_files and grep.

They read straight from disk (never through the host), stay inside the workspace and bound
their output so one call cannot flood the model's context. list_files and grep are bounded in
time too (`budget.py`): grep's regular expressions run on the `regex` engine with a per-line
timeout and the GIL released, so a catastrophic pattern such as `(a|aa)+$` returns a clear
error instead of freezing the server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import regex

from lsp_agent.agent.tools.base import (
    Tool,
    ToolContext,
    ToolError,
    bool_argument,
    optional_int_argument,
)
from lsp_agent.agent.tools.budget import Budget, OutOfTime, run_in_thread
from lsp_agent.agent.tools.paths import (
    BINARY_SNIFF_BYTES,
    PATH_ARGUMENT_DOC,
    is_binary_bytes,
    resolve_in_workspace,
    workspace_relative,
)
from lsp_agent.agent.tools.tool_walk import walk_workspace

READ_MAX_LINES = 2000
READ_MAX_BYTES = 100_000
READ_MAX_LINE_CHARS = 2000
LIST_MAX_RESULTS = 500
GREP_DEFAULT_RESULTS = 100
GREP_MAX_RESULTS = 1000
GREP_MAX_BYTES = 100_000
GREP_MAX_LINE_CHARS = 300
GREP_MAX_PATTERN_CHARS = 2000
#: How long one grep or list_files call may run (walk and search) before it stops.
TOOL_TIME_LIMIT_SECONDS = 20.0
#: How long the pattern may take on a single line: past it, it backtracks catastrophically.
#: The regex engine counts CPU time, so on a loaded machine the wall time is longer.
GREP_LINE_SECONDS = 1.0


def _rel(ctx: ToolContext, path: Path) -> str:
    return workspace_relative(ctx.workspace, path)


# --- reading --------------------------------------------------------------------------------


def _require_readable_file(ctx: ToolContext, path: Path, user_path: str) -> None:
    if not path.exists():
        raise ToolError(f"File not found: {user_path!r}. Use list_files to see which files exist.")
    if path.is_dir():
        raise ToolError(
            f"{_rel(ctx, path)!r} is a directory, not a file. Use list_files to see its contents."
        )
    if not path.is_file():
        raise ToolError(f"{_rel(ctx, path)!r} is not a regular file.")


def _read_sync(
    ctx: ToolContext, user_path: str, start_line: int | None, end_line: int | None
) -> str:
    path = resolve_in_workspace(ctx.workspace, user_path)
    rel = _rel(ctx, path)
    _require_readable_file(ctx, path, user_path)
    if start_line is not None and end_line is not None and end_line < start_line:
        raise ToolError(f"end_line ({end_line}) is before start_line ({start_line}).")
    start = start_line or 1
    try:
        with open(path, "rb") as fh:
            if is_binary_bytes(fh.read(BINARY_SNIFF_BYTES)):
                raise ToolError(
                    f"{rel!r} looks like a binary file (it contains NUL bytes); "
                    "read_file only shows text files."
                )
        out: list[str] = []
        out_bytes = 0
        total = 0
        last_shown = 0
        truncated = False
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                total = number
                if number < start or truncated:
                    continue
                if end_line is not None and number > end_line:
                    continue
                text = line.rstrip("\r\n")
                if len(text) > READ_MAX_LINE_CHARS:
                    cut = len(text) - READ_MAX_LINE_CHARS
                    text = text[:READ_MAX_LINE_CHARS] + f" [... {cut} more characters]"
                rendered = f"{number:6}\t{text}"
                if len(out) >= READ_MAX_LINES or out_bytes + len(rendered) + 1 > READ_MAX_BYTES:
                    truncated = True
                    continue
                out.append(rendered)
                out_bytes += len(rendered) + 1
                last_shown = number
    except OSError as exc:
        raise ToolError(f"Cannot read {rel!r}: {exc.strerror or exc}") from exc
    if total == 0:
        return f"({rel} is empty)"
    if start > total:
        raise ToolError(f"{rel} has {total} lines; start_line={start} is past the end.")
    if truncated:
        out.append(
            f"[Output truncated: showed lines {start}-{last_shown} of {total}. "
            f"To read further, call read_file with start_line={last_shown + 1}.]"
        )
    return "\n".join(out)


async def read_file(
    ctx: ToolContext, path: str, start_line: Any = None, end_line: Any = None
) -> str:
    start = optional_int_argument(start_line, "start_line")
    end = optional_int_argument(end_line, "end_line")
    return await asyncio.to_thread(_read_sync, ctx, path, start, end)


# --- listing --------------------------------------------------------------------------------


def _list_sync(ctx: ToolContext, user_path: str, pattern: str | None, budget: Budget) -> str:
    walk = walk_workspace(ctx.workspace, user_path, pattern, budget)
    found: list[str] = []
    more = False
    for file in walk.files():
        if len(found) >= LIST_MAX_RESULTS:
            more = True
            break
        found.append(_rel(ctx, file))
    if budget.cancelled.is_set():
        budget.check()  # cancelled: nobody reads the answer
    more = more or walk.truncated
    where = _rel(ctx, walk.base)
    if not found and budget.exhausted():
        raise OutOfTime(
            f"list_files found nothing under {where} in its {budget.seconds:g} s time limit "
            f"({walk.files_seen:,} files looked at); list a narrower path."
        )
    if not found:
        suffix = f" matching {pattern!r}" if pattern else ""
        return (f"No files{suffix} under {where} (gitignored files and tool, dependency and "
                "build directories such as .git, node_modules, .venv, dist and build are "
                "skipped; name such a directory as the path to list it).")
    if more:
        why = " (the time limit ran out)" if budget.exhausted() else ""
        found.append(
            f"[Truncated after {len(found)} files{why}. Narrow the search with a more specific "
            "path or pattern.]"
        )
    return "\n".join(found)


async def list_files(ctx: ToolContext, path: str = ".", pattern: str | None = None) -> str:
    return await run_in_thread(
        lambda budget: _list_sync(ctx, path or ".", pattern or None, budget),
        TOOL_TIME_LIMIT_SECONDS,
    )


# --- grep -----------------------------------------------------------------------------------


def _compile(pattern: Any, ignore_case: bool) -> regex.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ToolError("pattern is empty; give a regular expression to search for.")
    if len(pattern) > GREP_MAX_PATTERN_CHARS:
        raise ToolError(f"pattern is longer than {GREP_MAX_PATTERN_CHARS} characters.")
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except (regex.error, ValueError, OverflowError) as exc:
        raise ToolError(f"Invalid regular expression {pattern!r}: {exc}") from exc


def _line_matches(compiled: regex.Pattern[str], line: str, budget: Budget, where: str) -> bool:
    """One line searched within `GREP_LINE_SECONDS` (and the budget), the GIL released."""
    limit = min(GREP_LINE_SECONDS, max(budget.remaining(), 0.001))
    try:
        return compiled.search(line, timeout=limit, concurrent=True) is not None
    except TimeoutError:
        if budget.exhausted():
            return False  # the caller sees the budget ran out and stops
        raise ToolError(
            f"The pattern /{compiled.pattern}/ took more than {GREP_LINE_SECONDS:g} s on one "
            f"line ({where}): it backtracks catastrophically (nested repetition such as "
            "(a+)+ or (a|aa)+). Search again with a simpler pattern: no repetition inside "
            "a repeated group, or a literal part to anchor it."
        ) from None


def _grep_sync(
    ctx: ToolContext,
    pattern: str,
    user_path: str,
    glob: str | None,
    ignore_case: bool,
    max_results: int,
    budget: Budget,
) -> str:
    compiled = _compile(pattern, ignore_case)
    walk = walk_workspace(ctx.workspace, user_path, glob, budget)
    results: list[str] = []
    out_bytes = 0
    stopped = False
    for file, text in walk.text_files():
        rel = _rel(ctx, file)
        for number, line in enumerate(text.splitlines(), start=1):
            if budget.exhausted():
                stopped = True
                break
            if not _line_matches(compiled, line, budget, f"{rel}:{number}"):
                continue
            if len(line) > GREP_MAX_LINE_CHARS:
                line = line[:GREP_MAX_LINE_CHARS] + " [...]"
            entry = f"{rel}:{number}:{line}"
            if len(results) >= max_results or out_bytes + len(entry) > GREP_MAX_BYTES:
                stopped = True
                break
            results.append(entry)
            out_bytes += len(entry) + 1
        if stopped:
            break
    if budget.cancelled.is_set():
        budget.check()  # cancelled: nobody reads the answer
    out_of_time = budget.exhausted()
    stopped = stopped or walk.truncated
    where = _rel(ctx, walk.base)
    if not results and out_of_time:
        raise OutOfTime(
            f"grep found no match for /{pattern}/ under {where} in its {budget.seconds:g} s "
            f"time limit ({walk.files_seen:,} files searched); narrow it with path or glob."
        )
    if not results:
        scope = f" in files matching {glob!r}" if glob else ""
        return f"No matches for /{pattern}/ under {where}{scope}."
    if stopped:
        why = f": the {budget.seconds:g} s time limit ran out" if out_of_time else ""
        results.append(
            f"[Stopped after {len(results)} matches{why}. Narrow the search with path or "
            "glob, or raise max_results.]"
        )
    return "\n".join(results)


async def grep(
    ctx: ToolContext,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    ignore_case: Any = False,
    max_results: Any = None,
) -> str:
    limit = optional_int_argument(max_results, "max_results") or GREP_DEFAULT_RESULTS
    limit = min(limit, GREP_MAX_RESULTS)
    nocase = bool_argument(ignore_case)
    return await run_in_thread(
        lambda budget: _grep_sync(
            ctx, pattern, path or ".", glob or None, nocase, limit, budget
        ),
        TOOL_TIME_LIMIT_SECONDS,
    )


READ_FILE = Tool(
    name="read_file",
    description=(
        "Read a text file from the workspace. Lines are returned numbered like `cat -n` "
        f"(number, tab, text). At most {READ_MAX_LINES} lines / {READ_MAX_BYTES // 1000} KB are "
        "returned per call; use start_line/end_line (1-based, inclusive) to read other parts "
        "of long files. Binary files and directories are refused."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": PATH_ARGUMENT_DOC},
            "start_line": {"type": "integer", "minimum": 1, "description": "First line to show."},
            "end_line": {"type": "integer", "minimum": 1, "description": "Last line to show."},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
    fn=read_file,
)

LIST_FILES = Tool(
    name="list_files",
    description=(
        "List files under a workspace directory, recursively, optionally filtered by a glob "
        "pattern. A pattern without '/' matches file names at any depth ('*.py'); one with '/' "
        "matches the path relative to `path` ('src/**/*.ts'); '{a,b}' alternatives work. "
        "Gitignored files and .git, node_modules, .venv are skipped. "
        f"At most {LIST_MAX_RESULTS} paths are returned."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "Directory to list (default: root).",
                "default": ".",
            },
            "pattern": {"type": "string", "description": "Glob such as '**/*.py'."},
        },
        "additionalProperties": False,
    },
    fn=list_files,
)

GREP = Tool(
    name="grep",
    description=(
        "Search file contents with a Python regular expression. Returns 'path:line:text' "
        "lines. Gitignored, binary and very large files are skipped. Use `glob` to restrict "
        "the files searched (e.g. '*.py'). A call stops after "
        f"{TOOL_TIME_LIMIT_SECONDS:g} s, and a pattern that takes over {GREP_LINE_SECONDS:g} s "
        "on one line is refused."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Regular expression (Python syntax)."},
            "path": {
                "type": "string",
                "description": "File or directory to search.",
                "default": ".",
            },
            "glob": {"type": "string", "description": "Only search files matching this glob."},
            "ignore_case": {"type": "boolean", "default": False},
            "max_results": {
                "type": "integer",
                "minimum": 1,
                "maximum": GREP_MAX_RESULTS,
                "default": GREP_DEFAULT_RESULTS,
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    fn=grep,
)

READ_TOOLS: list[Tool] = [READ_FILE, LIST_FILES, GREP]

__all__ = [
    "GREP",
    "LIST_FILES",
    "READ_FILE",
    "READ_MAX_LINES",
    "READ_TOOLS",
    "grep",
    "list_files",
    "read_file",
]
