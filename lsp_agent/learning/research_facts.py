"""The fact model that static research produces, and the collector its steps share.

Every fact keeps the file (and line) it came from, so the agent can cite and re-check it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

Category = Literal["project", "commands", "conventions", "instructions", "readme"]
PURPOSES = ("build", "test", "lint", "format", "run", "install", "other")
_PURPOSE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("format", ("fmt", "format", "black", "prettier --write", "isort", "gofmt")),
    ("lint", ("lint", "ruff", "flake8", "eslint", "clippy", "vet", "mypy", "typecheck",
              "type-check", "pyright", "--noemit", "golangci", "check-format", "pre-commit")),
    ("test", ("test", "pytest", "jest", "vitest", "mocha", "tox", "nox", "spec", "coverage")),
    ("build", ("build", "compile", "dist", "package", "bundle", "tsc", "wheel", "release")),
    ("run", ("run", "start", "serve", "dev", "main", "exec", "watch")),
    ("install", ("install", "setup", "bootstrap", "deps", "sync", "init", "venv")),
]  # fmt: skip
_INSTALL = re.compile(
    r"^(pip3?|uv pip|python3? -m pip|npm|pnpm|yarn|poetry|pdm|bundle|apt-get|"
    r"apt|brew|go|cargo) (install|ci|sync|add|get|fetch)\b|^uv sync"
)


class Fact(BaseModel):
    """One learned fact. `topic` refines the category (e.g. "test" for a command)."""

    category: Category
    text: str
    source: str  # workspace-relative path ("." for the workspace as a whole)
    line: int | None = None
    topic: str = ""
    priority: int = 1  # 0 = essential ... 3 = first to drop when a block is too long


class Research(BaseModel):
    """All facts learned about one workspace, in the order they were found."""

    facts: list[Fact] = []

    def of(self, category: Category) -> list[Fact]:
        return [f for f in self.facts if f.category == category]


def purpose_of(*words: str) -> str:
    """build/test/lint/format/run/install/other, from a target name then its command."""
    for word in words:
        low = word.lower()
        if _INSTALL.match(low):
            return "install"
        for purpose, needles in _PURPOSE_WORDS:
            if any(n in low for n in needles):
                return purpose
    return "other"


def line_of(text: str, *needles: str) -> int | None:
    """1-based line of the last needle, each searched after the previous one."""
    pos = 0
    for needle in needles:
        found = text.find(needle, pos)
        if found < 0:
            return None
        pos = found
    return text.count("\n", 0, pos) + 1


def line_at(text: str, pos: int) -> int:
    """1-based line of character offset `pos`."""
    return text.count("\n", 0, pos) + 1


def format_options(options: dict[str, Any]) -> str:
    """`key value, ...` with non-string values as JSON, for one-line config summaries."""
    return ", ".join(
        f"{k} {v if isinstance(v, str) else json.dumps(v)}" for k, v in options.items()
    )


class FactCollector:
    """Shared by the research steps: caches file reads and collects facts in order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.facts: list[Fact] = []
        self._cache: dict[str, str | None] = {}

    def read(self, rel: str) -> str | None:
        if rel not in self._cache:
            path = self.root / rel
            try:
                ok = path.is_file() and path.stat().st_size < 2_000_000
                self._cache[rel] = path.read_text("utf-8", "replace") if ok else None
            except OSError:
                self._cache[rel] = None
        return self._cache[rel]

    def parse(self, rel: str, loader: Callable[[str], Any]) -> Any:
        text = self.read(rel)
        if text is None:
            return None
        try:
            return loader(text)
        except Exception:  # a broken config file is not our failure; skip it
            return None

    def files(self, rel_dir: str, pattern: str = "*") -> list[str]:
        base = self.root / rel_dir
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix() for p in base.glob(pattern) if p.is_file()
        )

    def add(
        self,
        category: Category,
        text: str,
        source: str,
        line: int | None = None,
        topic: str = "",
        priority: int = 1,
    ) -> None:
        self.facts.append(
            Fact(
                category=category,
                text=text,
                source=source,
                line=line,
                topic=topic,
                priority=priority,
            )
        )

    def proj(
        self, topic: str, text: str, source: str, line: int | None = None, prio: int = 1
    ) -> None:
        self.add("project", text, source, line, topic, prio)

    def conv(
        self, topic: str, text: str, source: str, line: int | None = None, prio: int = 1
    ) -> None:
        self.add("conventions", text, source, line, topic, prio)

    def identity(self, src: str, text: str, name: Any, description: Any, kind: str = "") -> None:
        """Name and description facts, common to every manifest format."""
        if name:
            self.proj("name", f"Name: {name}{kind}", src, line_of(text, str(name)), 0)
        if description:
            self.proj("description", f"Description: {description}", src,
                      line_of(text, str(description)), 0)  # fmt: skip

    def command(
        self,
        cmd: str,
        source: str,
        line: int | None,
        name: str = "",
        runs: str = "",
        note: str = "",
        priority: int = 0,
    ) -> None:
        text = f"`{cmd}`" + (f" → `{runs}`" if runs and runs != cmd else "")
        text += f" — {note}" if note else ""
        self.add("commands", text, source, line, purpose_of(name or cmd, runs), priority)
