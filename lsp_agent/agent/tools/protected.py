"""Protected paths: files that make code run by themselves, so a write to them always asks.

An edit the user let through (`accept-edits`, `auto`) must not become a way to run commands
nobody approved: `core.fsmonitor` in `.git/config` runs on the next `git status`, a VS Code
task with `runOn: folderOpen` runs when the folder is opened, a skill under `.agents/skills/`
is loaded as trusted instructions. Writing any path listed here needs an explicit approval in
every permission mode, shown with the reason; a host that cannot ask refuses it.

What is listed: files a tool or editor runs *on its own* — on opening the folder, on `cd`, on
any git command, in CI, in another agent — plus the agent's own skills and memory. What is not:
build and task files (`Makefile`, `justfile`, `Taskfile.yml`, `package.json` scripts,
`pyproject.toml`, `conftest.py`, ...). They run only when someone runs the project's commands,
and so does every source file the agent edits: protecting them would prompt on ordinary work
without protecting anything, since the shell command that runs them is approved on its own.

Matching is deliberately generous: every path component is compared ignoring case (on a
case-insensitive disk `.GIT` *is* `.git`) and trailing dots and spaces, a rule matches at any
depth (a subfolder can be opened on its own; direnv runs on `cd` into it), and both the path as
written (`..` collapsed, symlinks not followed: what the editor will open) and its real path
(symlinks followed: what gets written) are checked.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: The approval's action for a protected write. The LSP host never offers "Always allow" for it
#: (lsp_agent/server/host.py repeats this text: the server may not import the agent).
PROTECTED_ACTION = "Write a protected file"

_GIT = "git runs commands from it (core.fsmonitor and aliases in config, hooks)"
_CI = "CI runs it, with the repository's secrets, on the next push"
_OPEN = "the editor runs commands from it when the folder is opened"


@dataclass(frozen=True)
class Rule:
    """Path components (compared ignoring case) that, found anywhere in a path, protect it."""

    parts: tuple[str, ...]
    reason: str
    suffix: bool = False  # `parts[0]` is a file-name ending, e.g. ".code-workspace"


#: The one list of protected paths (documented in README.md, "Safety").
PROTECTED_PATHS: tuple[Rule, ...] = (
    Rule((".git",), _GIT),
    Rule((".vscode",), "VS Code runs tasks (runOn: folderOpen) and tools named in it"),
    Rule((".code-workspace",), "VS Code runs the tasks a workspace file defines", suffix=True),
    Rule((".idea",), "JetBrains IDEs run the run configurations and startup tasks in it"),
    Rule((".devcontainer",), "dev containers run its lifecycle commands (postCreateCommand)"),
    Rule((".devcontainer.json",), "dev containers run its lifecycle commands (postCreateCommand)"),
    Rule((".nvim.lua",), _OPEN + " ('exrc')"),
    Rule((".nvimrc",), _OPEN + " ('exrc')"),
    Rule((".exrc",), _OPEN + " ('exrc')"),
    Rule((".envrc",), "direnv runs it when a shell enters the folder"),
    Rule((".pre-commit-config.yaml",), "pre-commit runs the hooks it names on every commit"),
    Rule((".husky",), "husky's git hooks run on every commit"),
    Rule((".github", "workflows"), _CI),
    Rule((".github", "actions"), _CI),
    Rule((".gitlab-ci.yml",), _CI),
    Rule((".circleci",), _CI),
    Rule((".agents", "skills"), "skills there are loaded as trusted project instructions"),
    Rule((".claude",), "Claude Code runs its hooks and loads its skills as trusted instructions"),
    Rule((".cursor",), "Cursor starts the MCP servers and loads the rules it names"),
    Rule((".mcp.json",), "agents start the MCP server commands it names"),
)

_OWN_MEMORY = "it is the agent's own memory (change memory with the memory tools instead)"
_GIT_DIR = ("a folder holding both HEAD and config is a git repository to git, which runs "
            "commands from its config")
_HARD_LINKED = "the file has other hard links, and one of them may be a protected file"


def _norm(part: str) -> str:
    return part.rstrip(". ").casefold()


def _components(rel: str) -> list[str]:
    return [_norm(p) for p in rel.split("/") if p not in ("", ".")]


def _rule_reason(parts: list[str]) -> str | None:
    for rule in PROTECTED_PATHS:
        want = [_norm(p) for p in rule.parts]
        if rule.suffix:
            if any(p.endswith(want[0]) for p in parts):
                return rule.reason
            continue
        for i in range(len(parts) - len(want) + 1):
            if parts[i : i + len(want)] == want:
                return rule.reason
    return None


def _relative(path: str, roots: Iterable[str]) -> str | None:
    for root in roots:
        if path == root:
            return "."
        if path.startswith(root.rstrip("/") + "/"):
            return path[len(root.rstrip("/")) + 1 :]
    return None


def _git_dir_reason(target: Path) -> str | None:
    """Writing HEAD or config next to the other makes a folder git treats as a repository."""
    name = _norm(target.name)
    other = {"head": "config", "config": "HEAD"}.get(name)
    if other is None:
        return None
    try:
        siblings = {_norm(n) for n in os.listdir(target.parent)}
    except OSError:
        return None
    return _GIT_DIR if _norm(other) in siblings else None


def protection_reason(
    workspace: Path | str,
    user_path: str,
    target: Path,
    own_folders: Iterable[Path | str] = (),
) -> str | None:
    """Why writing `target` (the real path `user_path` resolved to) needs approval, or None.

    `own_folders` are the agent's memory and store folders, protected when inside the workspace.
    """
    given = os.path.abspath(os.fspath(workspace))
    real_root = os.path.realpath(given)
    roots = [real_root, given]
    user_path = str(user_path or ".")
    raw = user_path if os.path.isabs(user_path) else os.path.join(given, user_path)
    written = os.path.normpath(raw)  # `..` collapsed lexically, symlinks not followed
    real = os.path.realpath(target)
    own = [os.path.realpath(os.fspath(f)) for f in own_folders]
    for candidate in (written, real):
        if _relative(candidate, own) is not None or _relative(
            os.path.realpath(candidate), own
        ) is not None:
            return _OWN_MEMORY
        rel = _relative(candidate, roots)
        if rel is not None and (reason := _rule_reason(_components(rel))):
            return reason
    for path in (Path(written), Path(real)):
        if reason := _git_dir_reason(path):
            return reason
    try:
        info = os.stat(real)
    except OSError:
        return None
    return _HARD_LINKED if stat.S_ISREG(info.st_mode) and info.st_nlink > 1 else None


def describe(workspace: Path | str, user_path: str, rel: str, reason: str) -> str:
    """The approval's first line: `writes .git/config: git runs commands from it (...)`.

    When the path was named another way (a symlink, `..`), that name is shown too.
    """
    given = os.path.abspath(os.fspath(workspace))
    user_path = str(user_path or ".")
    raw = user_path if os.path.isabs(user_path) else os.path.join(given, user_path)
    named = _relative(os.path.normpath(raw), [given, os.path.realpath(given)])
    alias = f" (named {named})" if named not in (None, rel) else ""
    return f"writes {rel}{alias}: {reason}"


def own_folders(extra: dict[str, object]) -> list[Path]:
    """The agent's memory folder and local store folder, from a tool context's `extra`."""
    memory = extra.get("memory")
    found: list[Path] = []
    folder = getattr(memory, "memory_folder", None)
    if folder is not None:
        found.append(Path(folder))
    uri = getattr(memory, "store_uri", None)
    if isinstance(uri, str) and ("://" not in uri or uri.startswith("file://")):
        found.append(Path(uri.removeprefix("file://")).expanduser())
    return found


__all__ = [
    "PROTECTED_ACTION",
    "PROTECTED_PATHS",
    "Rule",
    "describe",
    "own_folders",
    "protection_reason",
]
