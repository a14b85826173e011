"""Learn a workspace's basics from its files alone, in seconds, without a model.

`init` must be useful before any LLM call: manifests, build files, CI workflows, linter
configs and agent instruction files already say how a project is built, tested and
styled. Every fact keeps the file (and line) it came from, so the agent can cite and
re-check it, and output is deterministic so that re-running init changes nothing unless
the workspace changed.

This module runs the steps in a fixed order and drops repeated facts; the readers live in
manifest_readers (per ecosystem) and command_sources (make, just, CI, scripts), the
fact model in research_facts and the rendering in research_blocks.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from lsp_agent.learning.command_sources import just_recipes, make_targets, script_commands
from lsp_agent.learning.manifest_readers import (
    go_facts,
    jvm_facts,
    node_facts,
    python_facts,
    rust_facts,
)
from lsp_agent.learning.research_blocks import render_blocks
from lsp_agent.learning.research_ci import ci_commands
from lsp_agent.learning.research_facts import (
    PURPOSES,
    Category,
    Fact,
    FactCollector,
    Research,
    format_options,
    purpose_of,
)
from lsp_agent.learning.research_guides import contributor_guides
from lsp_agent.learning.research_lint import go_rust_conventions, js_conventions, python_conventions
from lsp_agent.learning.research_modules import (
    build_backend,
    entry_points,
    largest_packages,
    public_api,
)
from lsp_agent.learning.research_tasks import docs_build, nox_sessions, pyproject_tasks, tox_envs
from lsp_agent.learning.workspace_files import NON_CODE_LANGUAGES, FileEntry, iter_workspace_files

__all__ = [
    "INSTRUCTION_FILES",
    "MAX_INSTRUCTION_CHARS",
    "PURPOSES",
    "Category",
    "Fact",
    "Research",
    "purpose_of",
    "render_blocks",
    "research_workspace",
]

log = logging.getLogger(__name__)
INSTRUCTION_FILES = (
    "AGENTS.md", "CLAUDE.md", "AGENT.md", "GEMINI.md", ".cursorrules", ".windsurfrules",
    ".github/copilot-instructions.md",
)  # fmt: skip
MAX_INSTRUCTION_CHARS = 1500
_DIR_ROLES = {
    "src": "source code", "lib": "library code", "app": "application code",
    "tests": "tests", "test": "tests", "spec": "tests", "docs": "documentation",
    "doc": "documentation", "scripts": "helper scripts", "bin": "executables/scripts",
    "examples": "examples", "benchmarks": "benchmarks", "bench": "benchmarks",
    "cmd": "Go commands (main packages)", "pkg": "Go library packages",
    "internal": "internal packages", "tools": "developer tools", "assets": "static assets",
    "static": "static assets", "public": "public web assets", "config": "configuration",
    "migrations": "database migrations", "fixtures": "test fixtures", "packages": "monorepo packages",
    "crates": "Rust workspace crates", ".github": "GitHub config (CI workflows)",
    ".ci": "CI scripts", "editors": "editor integrations", "deploy": "deployment config",
}  # fmt: skip
_LOCKS = [
    ("uv.lock", "uv"), ("poetry.lock", "poetry"), ("pdm.lock", "pdm"), ("Pipfile", "pipenv"),
    ("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"), ("bun.lock", "bun"),
    ("package-lock.json", "npm"), ("Cargo.toml", "cargo"), ("go.mod", "go modules"),
    ("pom.xml", "maven"), ("build.gradle", "gradle"), ("build.gradle.kts", "gradle"),
    ("requirements.txt", "pip (requirements.txt)"),
]  # fmt: skip


def _readme(ctx: FactCollector) -> None:
    for rel in ("README.md", "README.rst", "README.txt", "README", "readme.md", "Readme.md"):
        text = ctx.read(rel)
        if text is None:
            continue
        lines = text.splitlines()
        title: str | None = None
        para: list[str] = []
        start: int | None = None
        for i, raw in enumerate(lines):
            line = raw.strip()
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if title is None and (
                line.startswith("# ") or (line and set(nxt) <= set("=#") and len(nxt) >= 3)
            ):
                title = line.lstrip("# ").strip()
                ctx.add("readme", f"Title: {title}", rel, i + 1, "title", 0)
            elif not line:
                if para:
                    break
            elif para or not re.match(r"^([#<!\[]|\.\.|[=\-~`*]{3,}|:)", line):
                if set(line) <= set("=-~^") or (title and line.lstrip("# ") == title):
                    continue
                start = start or i + 1
                para.append(line)
        if para:
            summary = " ".join(para)
            summary = summary if len(summary) <= 500 else summary[:497].rsplit(" ", 1)[0] + "…"
            ctx.add("readme", summary, rel, start, "summary", 0)
        return


def _editorconfig(ctx: FactCollector) -> None:
    text = ctx.read(".editorconfig")
    if text is None:
        return
    section, start, opts = "", 0, dict[str, str]()
    keys = ("indent_style", "indent_size", "max_line_length", "end_of_line", "charset")

    def flush() -> None:
        if section and opts:
            text = f"EditorConfig [{section}]: {format_options(opts)}"
            ctx.conv("editorconfig", text, ".editorconfig", start, 0 if section == "*" else 1)

    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("["):
            flush()
            section, start, opts = line.strip("[]"), i, {}
        elif "=" in line and not line.startswith(("#", ";")):
            key, value = (p.strip() for p in line.split("=", 1))
            if key in keys:
                opts[key] = value
    flush()


def _instructions(ctx: FactCollector) -> None:
    rels = list(INSTRUCTION_FILES) + ctx.files(".cursor/rules", "*.md*")
    for rel in rels:
        text = ctx.read(rel)
        if not text or not text.strip():
            continue
        body = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # .mdc frontmatter
        body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
        body = re.sub(r"\n\s*\n+", "\n\n", body).strip()
        if len(body) > MAX_INSTRUCTION_CHARS:
            body = body[:MAX_INSTRUCTION_CHARS].rsplit("\n", 1)[0] + f"\n… (truncated; see {rel})"
        ctx.add("instructions", body, rel, 1, "instructions", 0)


def _layout(ctx: FactCollector) -> None:
    langs: Counter[str] = Counter()
    tops: dict[str, Counter[str]] = {}
    for entry in iter_workspace_files(ctx.root):
        if not isinstance(entry, FileEntry):
            continue
        if entry.language and entry.language not in NON_CODE_LANGUAGES:
            langs[entry.language] += 1
        if "/" in entry.rel_path:
            top = entry.rel_path.split("/", 1)[0]
            tops.setdefault(top, Counter())[entry.language or "other"] += 1
    if langs:
        ranked = sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))[:6]
        text = ", ".join(f"{lang} ({n} file{'s' * (n != 1)})" for lang, n in ranked)
        ctx.proj("languages", f"Languages: {text}", ".", None, 0)
    for top in sorted(tops)[:20]:
        role = _DIR_ROLES.get(top.lower())
        if role is None and (ctx.root / top / "__init__.py").exists():
            role = "Python package"
        if role is None and top.startswith("."):
            continue
        main, count = tops[top].most_common(1)[0][0], sum(tops[top].values())
        ctx.proj(
            "layout", f"`{top}/`: {role or f'{count} files, mostly {main}'}", f"{top}/", None, 2
        )
    for rel in ctx.files(".", "*/__main__.py") + ctx.files("src", "*/__main__.py"):
        ctx.proj("entry-point", f"Entry point: `python -m {Path(rel).parent.name}`", rel)
    if (ctx.root / "manage.py").is_file():
        ctx.proj("entry-point", "Django project: `python manage.py`", "manage.py")
    for lock, manager in _LOCKS:
        if (ctx.root / lock).is_file():
            ctx.proj("package-manager", f"Package manager: {manager}", lock)
            break


#: What an untrusted workspace gives: what its file names show (languages, folders, package
#: manager), never text copied out of its files (instructions, README, Makefile, CI, scripts).
UNTRUSTED_STEPS = ("_layout",)


def research_workspace(root: Path, *, trusted: bool = True) -> Research:
    """Facts about the workspace at `root`, from its files only (no network, no model).

    Untrusted, only the layout is read: the files' words are a stranger's, and memory blocks
    go into every prompt."""
    ctx = FactCollector(Path(root).resolve())
    steps: tuple[Callable[[FactCollector], None], ...] = (
        _readme, python_facts, node_facts, rust_facts, go_facts, jvm_facts,
        make_targets, just_recipes, tox_envs, nox_sessions, pyproject_tasks,  # task runners
        ci_commands, contributor_guides, script_commands, docs_build,  # (CI uses their purposes)
        python_conventions, js_conventions, go_rust_conventions, _editorconfig, _instructions,
        build_backend, entry_points, largest_packages, public_api, _layout)  # fmt: skip
    if not trusted:
        steps = tuple(step for step in steps if step.__name__ in UNTRUSTED_STEPS)
    for step in steps:
        try:
            step(ctx)
        except Exception:  # odd-shaped configs must not break init; other steps still count
            log.warning("static research step %s failed", step.__name__, exc_info=True)
    seen: set[tuple[str, str, str]] = set()
    facts = []
    for fact in ctx.facts:
        key = (fact.category, fact.topic, fact.text)
        if key not in seen:
            seen.add(key)
            facts.append(fact)
    return Research(facts=facts)
