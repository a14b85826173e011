"""Which workspace files list_files and grep look at: the workspace walk, a glob, limits.

The walk itself is the one the code index uses too (lsp_agent.workspace_walk: .gitignore
honoured, tool and build directories skipped, stable order), so grep and the index agree on
which files exist; this module adds glob matching and what the tools may read (size, binary).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import regex

from lsp_agent.agent.tools.base import ToolError
from lsp_agent.agent.tools.budget import Budget
from lsp_agent.agent.tools.paths import (
    BINARY_SNIFF_BYTES,
    MAX_FILE_BYTES,
    is_binary_bytes,
    resolve_in_workspace,
)
from lsp_agent.workspace_walk import walk_files

#: Most files a single walk looks at before it stops and reports truncation.
WALK_MAX_FILES = 50_000
#: Longest a glob may take to match one path (a glob of many `*` can backtrack badly).
GLOB_MATCH_SECONDS = 0.5


# --- globs ---------------------------------------------------------------------------------


def _glob_body(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                j = i + 2
                if j < len(pattern) and pattern[j] == "/":
                    out.append("(?:.*/)?")
                    i = j + 1
                else:
                    out.append(".*")
                    i = j
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
                continue
        elif c == "{":
            j = pattern.find("}", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                alternatives = pattern[i + 1 : j].split(",")
                out.append("(?:" + "|".join(_glob_body(a) for a in alternatives) + ")")
                i = j + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def compile_glob(pattern: str) -> Callable[[str], bool]:
    """A matcher for a glob relative to the search directory.

    `*`, `?`, `[abc]`, `{a,b}` and `**` (any number of directories) are supported. A pattern
    without `/` matches file names at any depth (`*.py`); one with `/` matches the path
    relative to the search directory (`src/**/*.ts`).
    """
    pat = pattern.strip()
    while pat.startswith("./"):
        pat = pat[2:]
    if not pat:
        return lambda _rel: True
    try:
        compiled = regex.compile(_glob_body(pat) + r"\Z")
    except regex.error as exc:
        raise ToolError(f"Invalid glob pattern {pattern!r}: {exc}") from exc

    def matches(text: str) -> bool:
        try:
            return compiled.match(text, timeout=GLOB_MATCH_SECONDS, concurrent=True) is not None
        except TimeoutError:
            raise ToolError(
                f"The glob {pattern!r} took more than {GLOB_MATCH_SECONDS:g} s to match one "
                "path; simplify it (fewer '*' and '{...}' alternatives)."
            ) from None

    if "/" not in pat:
        return lambda rel: matches(rel.rsplit("/", 1)[-1])
    return matches


# --- the walk list_files and grep share ------------------------------------------------------


class WorkspaceWalk:
    """The files under one search path that pass the ignore rules and an optional glob.

    list_files and grep both walk through this, so they see the same files and stop at the
    same `WALK_MAX_FILES` limit, or when their `budget` runs out; `truncated` says whether the
    walk stopped early, `files_seen` how many files it looked at.
    """

    def __init__(self, root: Path, base: Path, glob: str | None, budget: Budget | None = None):
        self.root = root
        self.base = base
        self._matches = compile_glob(glob) if glob else (lambda _rel: True)
        self.budget = budget
        self.truncated = False
        self.files_seen = 0

    def files(self) -> Iterator[Path]:
        """Matching files in walk order (the glob is matched against the path below `base`)."""
        for found in walk_files(self.root, self.base):
            if found.outside:
                continue  # a symlink leaving the workspace: read_file would refuse it
            file = found.path
            if self.files_seen >= WALK_MAX_FILES or (
                self.budget is not None and self.budget.exhausted()
            ):
                self.truncated = True
                return
            self.files_seen += 1
            rel_to_base = file.name if file == self.base else file.relative_to(self.base).as_posix()
            if self._matches(rel_to_base):
                yield file

    def text_files(self) -> Iterator[tuple[Path, str]]:
        """Matching files with their text, for searching contents.

        Skips symlinks that point out of the workspace, unreadable files, files over
        `MAX_FILE_BYTES` and binary files.
        """
        for file in self.files():
            real = Path(os.path.realpath(file))
            if real != self.root and not real.is_relative_to(self.root):
                continue  # a symlink pointing out of the workspace
            try:
                if not real.is_file() or real.stat().st_size > MAX_FILE_BYTES:
                    continue
                data = real.read_bytes()
            except OSError:
                continue
            if is_binary_bytes(data[:BINARY_SNIFF_BYTES]):
                continue
            yield file, data.decode("utf-8", errors="replace")


def walk_workspace(
    workspace: Path, user_path: str, glob: str | None, budget: Budget | None = None
) -> WorkspaceWalk:
    """A walk of `user_path` (file or directory) in the workspace; `ToolError` if it is missing."""
    root = resolve_in_workspace(workspace, ".")
    base = resolve_in_workspace(workspace, user_path)
    if not base.exists():
        raise ToolError(f"Path not found: {user_path!r}.")
    return WorkspaceWalk(root, base, glob, budget)
