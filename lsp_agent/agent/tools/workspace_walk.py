"""Which workspace files list_files and grep look at: a .gitignore-aware walk and glob matching.

The walk mirrors what a developer sees in `git status`: ignored paths and tool caches
(`SKIP_DIRS`) are left out, symlinked directories are not followed, and the order is stable so
results are reproducible.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pathspec

from lsp_agent.agent.tools.base import ToolError
from lsp_agent.agent.tools.paths import (
    BINARY_SNIFF_BYTES,
    MAX_FILE_BYTES,
    is_binary_bytes,
    resolve_in_workspace,
)

#: Most files a single walk looks at before it stops and reports truncation.
WALK_MAX_FILES = 50_000

#: Directories never descended into, ignored or not.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)


# --- .gitignore-aware walking ---------------------------------------------------------------

_Rules = list[tuple[Path, pathspec.GitIgnoreSpec]]


def _load_spec(file: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _rules_for_dir(directory: Path, inherited: _Rules) -> _Rules:
    spec = _load_spec(directory / ".gitignore")
    return inherited if spec is None else [*inherited, (directory, spec)]


def _is_ignored(path: Path, is_dir: bool, rules: _Rules) -> bool:
    """Gitignore semantics: the last matching rule wins, deeper .gitignore files come later."""
    decision: bool | None = None
    for base, spec in rules:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if is_dir:
            rel += "/"
        result = spec.check_file(rel)
        if result.include is not None:
            decision = result.include
    return bool(decision)


def _initial_rules(root: Path, start: Path) -> _Rules:
    rules: _Rules = []
    exclude = _load_spec(root / ".git" / "info" / "exclude")
    if exclude is not None:
        rules.append((root, exclude))
    rules = _rules_for_dir(root, rules)
    if start != root:
        current = root
        for part in start.relative_to(root).parts:
            current = current / part
            if _is_ignored(current, True, rules):
                # An ignored directory named explicitly is searched anyway; only the
                # .gitignore files inside it then apply.
                rules = []
            rules = _rules_for_dir(current, rules)
    return rules


def _walk_files(root: Path, start: Path) -> Iterator[Path]:
    """Files under `start` (a real path inside the real `root`), in a stable order.

    Skips `SKIP_DIRS`, gitignored entries and symlinked directories; the explicitly given
    `start` is walked even if it is itself ignored.
    """
    if start.is_file():
        yield start
        return
    dir_rules: dict[str, _Rules] = {str(start): _initial_rules(root, start)}
    for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
        here = Path(dirpath)
        rules = dir_rules.pop(dirpath, None)
        if rules is None:
            rules = _initial_rules(root, here)
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS:
                continue
            child = here / name
            if child.is_symlink() or _is_ignored(child, True, rules):
                continue
            kept.append(name)
            dir_rules[str(child)] = _rules_for_dir(child, rules)
        dirnames[:] = kept
        for name in sorted(filenames):
            child = here / name
            if not _is_ignored(child, False, rules):
                yield child


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
        for file in _walk_files(self.root, self.base):
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
