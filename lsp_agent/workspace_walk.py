"""The one walk of a workspace: which files a developer would call "the project".

grep and list_files (agent tools), the code index, static research and reflection all walk
through here, so they agree on what exists: .gitignore files (nested ones too, and
.git/info/exclude) are honoured, tool, vendored and build-output directories (`SKIP_DIRS`) are
never entered, symlinked directories are not followed, and the order is stable (sorted by name,
depth first, like `git ls-files`). What to do with each file (size limits, binary sniffing,
generated-code detection) is the caller's business.

A base module: it imports nothing from agent/, learning/, memory/, server/ or the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

# Directories that are never the project's own files, whatever .gitignore says (or fails to say):
# version control, dependencies, virtual environments, caches and build output.
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache",
        ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs", "dist", "build", "target",
        ".next", ".nuxt", ".svelte-kit", ".gradle", ".terraform", "htmlcov", ".cache",
        ".idea", ".parcel-cache", ".turbo", "bower_components", ".direnv",
    }
)  # fmt: skip


def is_skipped_dir(name: str) -> bool:
    """Whether a directory of this name is never walked into (SKIP_DIRS, *.egg-info)."""
    return name in SKIP_DIRS or name.endswith(".egg-info")


@dataclass(frozen=True, slots=True)
class WalkedFile:
    """A file the walk found. `outside`: a symlink whose target leaves the workspace."""

    path: Path
    rel_path: str  # POSIX, relative to the workspace root
    is_link: bool = False
    outside: bool = False


class IgnoreRules:
    """The stack of .gitignore specs in force for one directory; deeper files win."""

    __slots__ = ("specs",)

    def __init__(self, specs: tuple[tuple[str, pathspec.GitIgnoreSpec], ...] = ()) -> None:
        self.specs = specs

    def with_dir(self, dir_path: str, rel_dir: str) -> IgnoreRules:
        """These rules plus the .gitignore of `dir_path` (at `rel_dir` below the root), if any."""
        try:
            with open(os.path.join(dir_path, ".gitignore"), encoding="utf-8",
                      errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return self
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        prefix = f"{rel_dir}/" if rel_dir else ""
        return IgnoreRules((*self.specs, (prefix, spec)))

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """Gitignore semantics: the deepest .gitignore with a matching pattern decides."""
        for prefix, spec in reversed(self.specs):
            if not rel_path.startswith(prefix):
                continue
            sub = rel_path[len(prefix):] + ("/" if is_dir else "")
            include = spec.check_file(sub).include
            if include is not None:
                return include
        return False


def root_rules(root: Path) -> IgnoreRules:
    """The rules at the workspace root: .git/info/exclude, then the root .gitignore."""
    rules = IgnoreRules()
    exclude = root / ".git" / "info" / "exclude"
    if exclude.is_file():
        lines = exclude.read_text(encoding="utf-8", errors="replace").splitlines()
        rules = IgnoreRules((("", pathspec.GitIgnoreSpec.from_lines(lines)),))
    return rules.with_dir(str(root), "")


def _rules_down_to(root: Path, rel_dir: str) -> IgnoreRules:
    """The rules in force inside `rel_dir`, a directory named explicitly: if a directory on the
    way is ignored, only the .gitignore files from there down apply (it is searched anyway)."""
    rules = root_rules(root)
    done = ""
    for part in rel_dir.split("/") if rel_dir else []:
        done = f"{done}/{part}" if done else part
        if rules.ignored(done, True):
            rules = IgnoreRules()
        rules = rules.with_dir(str(root / done), done)
    return rules


def walk_files(root: Path, start: Path | None = None) -> Iterator[WalkedFile]:
    """Every file under `start` (default: the whole workspace `root`) that is not ignored.

    `root` and `start` are real (resolved) paths, `start` inside `root`. A `start` named
    explicitly is walked even if it is ignored or a skipped directory itself; a file `start`
    is yielded as it is. Symlinks to files are yielded (`outside` says whether they leave the
    workspace); symlinks to directories inside it are not followed (their files are found
    where they really are), and ones leaving it are yielded as `outside`.
    """
    root = Path(root)
    start = root if start is None else Path(start)
    rel = "" if start == root else start.relative_to(root).as_posix()
    if start.is_file():
        found = _file(root, start, rel, start.is_symlink())
        if found is not None:
            yield found
        return
    yield from _walk(root, str(start), rel, _rules_down_to(root, rel))


def _walk(root: Path, dir_path: str, rel_dir: str, rules: IgnoreRules) -> Iterator[WalkedFile]:
    try:
        with os.scandir(dir_path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            if not is_skipped_dir(entry.name) and not rules.ignored(rel, True):
                yield from _walk(root, entry.path, rel, rules.with_dir(entry.path, rel))
        elif not rules.ignored(rel, False):
            found = _file(root, Path(entry.path), rel, is_link)
            if found is not None:
                yield found


def _file(root: Path, path: Path, rel: str, is_link: bool) -> WalkedFile | None:
    """The walk's record of one non-directory entry, or None when it is not a file to report
    (a socket or fifo, a dangling link, a link to a directory inside the workspace)."""
    if not is_link:
        return WalkedFile(path, rel) if path.is_file() else None
    target = os.path.realpath(path)
    root_str = str(root)
    if target != root_str and not target.startswith(root_str + os.sep):
        return WalkedFile(path, rel, is_link=True, outside=True)
    return WalkedFile(path, rel, is_link=True) if os.path.isfile(target) else None


def walked_file(root: Path, rel: str) -> WalkedFile | None:
    """What a whole-workspace walk says of one path: its record, or None when the walk would
    not yield it (a directory above it is skipped or ignored, or it is ignored itself)."""
    root = Path(root)
    parts = rel.split("/")
    rules = root_rules(root)
    for i, name in enumerate(parts[:-1]):
        rel_dir = "/".join(parts[: i + 1])
        if is_skipped_dir(name) or rules.ignored(rel_dir, True):
            return None
        rules = rules.with_dir(str(root / rel_dir), rel_dir)
    path = root / rel
    if rules.ignored(rel, False) or not (path.is_symlink() or path.exists()) or (
            path.is_dir() and not path.is_symlink()):
        return None
    return _file(root, path, rel, path.is_symlink())
