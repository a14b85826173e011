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
PURPOSES = ("build", "test", "lint", "format", "docs", "run", "install", "release", "other")
#: Checked word by word (a task's name before its command), first purpose that matches wins:
#: `tox -e typing` is lint because of "typing", although tox usually runs tests.
_PURPOSE_RULES: list[tuple[str, re.Pattern[str]]] = [
    (purpose, re.compile(pattern))
    for purpose, pattern in (
        ("format", r"fmt|format|(?<!install )(?<!add )\bblack\b|prettier --write"
                   r"|(?<!install )(?<!add )\bisort\b|gofmt|goimports"),
        ("lint", r"lint|ruff|flake8|eslint|clippy|\bvet\b|mypy|typecheck|type-check|typing"
                 r"|check:type|types?[-_:]check|check[-_:]types|type checker|pyright|pyrefly"
                 r"|--noemit|golangci|pre-commit|\bprek\b|\bstyle\b"
                 r"|\bxo\b|\btsd\b|\bty\b|codespell|\btypos\b"),
        ("docs", r"\bdocs?\b|docs-|sphinx|mkdocs|changelog|towncrier|docset|typedoc|cargo doc"
                 r"|\bbook\b|mdbook"),
        ("test", r"test|jest|mocha|\bava\b|\btox\b|\bnox\b|spec|coverage|bench|codspeed"),
        ("release", r"(?<![-\w])release|publish|upload|twine|deploy|\bnp\b|goreleaser"
                    r"|(?<!--)\bversion\b|\bgit push\b"),
        ("build", r"build|compile|dist|package|bundle|\btsc\b|wheel"),
        ("install", r"install|setup|bootstrap|deps|sync|init|venv"),
        ("run", r"\brun\b|start|serve|\bdev\b|watch|preview"),
    )
]  # fmt: skip
#: A command that runs a named task of a runner: its purpose is the task's (tox -e typing: lint).
_TASK_RUNS = [
    ("tox", re.compile(r"\btox\b(?:\s+(?:run|r|run-parallel|p))?\s.*?(?:-e|-f|--env)[\s=]+['\"]?([^\s'\"]+)")),
    ("nox", re.compile(r"\bnox\b.*?\s(?:-s|--session|-e|--sessions)[\s=]+['\"]?([\w\-.]+)")),
    ("make", re.compile(r"^make\s+(?:-\S+\s+)*([\w\-.]+)")),
    ("just", re.compile(r"^just\s+([\w\-]+)")),
    ("npm", re.compile(r"^(?:npm|pnpm|yarn|bun)\s+(?:run\s+)?"
                       r"(?!(?:exec|dlx|x|install|i|add|ci|publish)\b)([\w:\-.]+)")),
    ("hatch", re.compile(r"^hatch\s+run\s+([\w:\-.]+)")),
]  # fmt: skip
_ENV_PREFIX = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")
_INSTALL = re.compile(
    r"^(pip3?|pipx|uv pip|uv tool|python3? -m pip|npm|pnpm|yarn|poetry|pdm|bundle|apt-get|"
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


#: Steps that publish something (push a tag, upload a package): a task that does this is a
#: release, whatever its name says (`test-release-workflow` pushes a tag).
_PUBLISHES = re.compile(
    r"\bgit push\b|\b(cargo|npm|pnpm|yarn|poetry|flit|hatch|uv) publish\b|\btwine upload\b"
    r"|\bgh release (create|upload)\b"
)
#: A task runner and the file it needs: `nox -s x` in a repository without a noxfile is stale.
_RUNNER_FILES = {
    "nox": ("noxfile.py",), "tox": ("tox.ini", "tox.toml", "pyproject.toml", "setup.cfg"),
    "make": ("Makefile", "makefile", "GNUmakefile"), "just": ("justfile", "Justfile", ".justfile"),
}  # fmt: skip
#: Installs that set up *the project* (not a tool such as tox or a browser).
PROJECT_INSTALL = re.compile(
    r"(\s\.(\s|$|\[)|\s-e\s*\.|-r\s|requirements|\bsync\b|^(npm|pnpm|yarn|bun) (ci|install)\s*"
    r"(--frozen-lockfile|--immutable)?\s*$|poetry install|bundle install|go mod download)"
)


def publishes(*lines: str) -> bool:
    """Whether any of these command lines publishes (pushes a tag, uploads a package)."""
    return any(_PUBLISHES.search(line) for line in lines)


def purpose_of(*words: str) -> str:
    """One of PURPOSES, from a target name then its command."""
    for word in words:
        low = word.lower()
        if _INSTALL.match(low):
            return "install"
        for purpose, rule in _PURPOSE_RULES:
            if rule.search(low):
                return purpose
    return "other"


def jsonc(text: str) -> Any:
    """JSON with comments and trailing commas (tsconfig, .eslintrc, oxfmt, Biome)."""
    text = re.sub(
        r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S
    )
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


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
        #: (runner, task name) -> purpose, filled by the task-runner steps (tox, nox, make,
        #: package.json...) so that CI steps that call a task take the task's purpose.
        self.task_purposes: dict[tuple[str, str], str] = {}

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

    def runner_missing(self, cmd: str, folder: str = "") -> bool:
        """`cmd` calls a task runner whose file this repository does not have (stale CI)."""
        words = _ENV_PREFIX.sub("", cmd).split()
        needs = _RUNNER_FILES.get(words[0] if words else "")
        if not needs or {"-C", "-f", "--file", "--justfile", "--noxfile"} & set(words):
            return False
        base = self.root / folder if folder and folder not in (".", "./") else self.root
        if words[0] == "tox" and "tox" not in (self.read("pyproject.toml") or "") + (
            self.read("setup.cfg") or ""
        ):
            needs = needs[:2]
        return not any((base / rel).is_file() for rel in needs)

    def task_purpose(self, cmd: str) -> str | None:
        """The purpose of the task `cmd` runs (`uv run tox -e docs`: docs), if it runs one."""
        cmd = _ENV_PREFIX.sub("", cmd)
        cmd = re.sub(
            r"^(?:uv run|uvx|pipx run|poetry run|pdm run|python3? -m)\s+(?:--\S+\s+(?:(?!tox|nox)\S+\s+)?)*",
            "",
            cmd,
        )
        for runner, pattern in _TASK_RUNS:
            m = pattern.search(cmd)
            if m:
                names = [n for n in m.group(1).split(",") if n]
                known = [self.task_purposes.get((runner, n)) for n in names]
                found = next((p for p in known if p), None)
                return found or purpose_of(*names, cmd)
        return None

    def purpose_for(self, name: str, cmd: str, runs: str = "") -> str:
        """A task's purpose: from its name, else the task it runs, else its first command."""
        purpose = purpose_of(name) if name else "other"
        if purpose == "other":
            purpose = self.task_purpose(cmd) or purpose_of(cmd if not name else "")
        first = runs.split("&&")[0].strip()
        if purpose == "other" and first:
            purpose = self.task_purpose(first) or purpose_of(first, runs)
        return purpose

    def command(
        self,
        cmd: str,
        source: str,
        line: int | None,
        name: str = "",
        runs: str = "",
        note: str = "",
        priority: int = 0,
        purpose: str | None = None,
    ) -> str:
        """Add a command fact; returns the purpose it was given."""
        text = f"`{cmd}`" + (f" → `{runs}`" if runs and runs != cmd else "")
        text += f" — {note}" if note else ""
        if purpose is None:
            purpose = self.purpose_for(name, cmd, runs)
        self.add("commands", text, source, line, purpose, priority)
        return purpose
