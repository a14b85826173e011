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

from lsp_agent.agent.tools.base import ToolError
from lsp_agent.agent.tools.paths import (
    BINARY_SNIFF_BYTES,
    MAX_FILE_BYTES,
    is_binary_bytes,
    resolve_in_workspace,
)
from lsp_agent.workspace_walk import walk_files

#: Most files a single walk looks at before it stops and reports truncation.
WALK_MAX_FILES = 50_000


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
        regex = re.compile(_glob_body(pat) + r"\Z")
    except re.error as exc:
        raise ToolError(f"Invalid glob pattern {pattern!r}: {exc}") from exc
    if "/" not in pat:
        return lambda rel: regex.match(rel.rsplit("/", 1)[-1]) is not None
    return lambda rel: regex.match(rel) is not None


# --- the walk list_files and grep share ------------------------------------------------------


class WorkspaceWalk:
    """The files under one search path that pass the ignore rules and an optional glob.

    list_files and grep both walk through this, so they see the same files and stop at the
    same `WALK_MAX_FILES` limit; `truncated` says whether the walk stopped there.
    """

    def __init__(self, root: Path, base: Path, glob: str | None):
        self.root = root
        self.base = base
        self._matches = compile_glob(glob) if glob else (lambda _rel: True)
        self.truncated = False

    def files(self) -> Iterator[Path]:
        """Matching files in walk order (the glob is matched against the path below `base`)."""
        seen = 0
        for found in walk_files(self.root, self.base):
            if found.outside:
                continue  # a symlink leaving the workspace: read_file would refuse it
            file = found.path
            seen += 1
            if seen > WALK_MAX_FILES:
                self.truncated = True
                return
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


def walk_workspace(workspace: Path, user_path: str, glob: str | None) -> WorkspaceWalk:
    """A walk of `user_path` (file or directory) in the workspace; `ToolError` if it is missing."""
    root = resolve_in_workspace(workspace, ".")
    base = resolve_in_workspace(workspace, user_path)
    if not base.exists():
        raise ToolError(f"Path not found: {user_path!r}.")
    return WorkspaceWalk(root, base, glob)
