"""The read-only file tools: read_file, list_files and grep.

They read straight from disk (never through the host), stay inside the workspace and bound
their output so one call cannot flood the model's context.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from lsp_agent.agent.tools.base import (
    Tool,
    ToolContext,
    ToolError,
    bool_argument,
    optional_int_argument,
)
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


def _list_sync(ctx: ToolContext, user_path: str, pattern: str | None) -> str:
    walk = walk_workspace(ctx.workspace, user_path, pattern)
    found: list[str] = []
    more = False
    for file in walk.files():
        if len(found) >= LIST_MAX_RESULTS:
            more = True
            break
        found.append(_rel(ctx, file))
    more = more or walk.truncated
    where = _rel(ctx, walk.base)
    if not found:
        suffix = f" matching {pattern!r}" if pattern else ""
        return (f"No files{suffix} under {where} (gitignored files and tool, dependency and "
                "build directories such as .git, node_modules, .venv, dist and build are "
                "skipped; name such a directory as the path to list it).")
    if more:
        found.append(
            f"[Truncated after {len(found)} files. Narrow the search with a more specific "
            "path or pattern.]"
        )
    return "\n".join(found)


async def list_files(ctx: ToolContext, path: str = ".", pattern: str | None = None) -> str:
    return await asyncio.to_thread(_list_sync, ctx, path or ".", pattern or None)


# --- grep -----------------------------------------------------------------------------------


def _grep_sync(
    ctx: ToolContext,
    pattern: str,
    user_path: str,
    glob: str | None,
    ignore_case: bool,
    max_results: int,
) -> str:
    try:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ToolError(f"Invalid regular expression {pattern!r}: {exc}") from exc
    walk = walk_workspace(ctx.workspace, user_path, glob)
    results: list[str] = []
    out_bytes = 0
    stopped = False
    for file, text in walk.text_files():
        rel = _rel(ctx, file)
        for number, line in enumerate(text.splitlines(), start=1):
            if not regex.search(line):
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
    stopped = stopped or walk.truncated
    if not results:
        where = _rel(ctx, walk.base)
        scope = f" in files matching {glob!r}" if glob else ""
        return f"No matches for /{pattern}/ under {where}{scope}."
    if stopped:
        results.append(
            f"[Stopped after {len(results)} matches. Narrow the search with path or glob, "
            "or raise max_results.]"
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
    return await asyncio.to_thread(
        _grep_sync, ctx, pattern, path or ".", glob or None, bool_argument(ignore_case), limit
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
        "the files searched (e.g. '*.py')."
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
