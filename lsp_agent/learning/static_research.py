"""Learn a workspace's basics from its files alone, in seconds, without a model.

`init` must be useful before any LLM call: manifests, build files, CI workflows, linter
configs and agent instruction files already say how a project is built, tested and
styled. Every fact keeps the file (and line) it came from, so the agent can cite and
re-check it, and output is deterministic so that re-running init changes nothing unless
the workspace changed.
"""

from __future__ import annotations

import configparser
import json
import logging
import re
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from lsp_agent.learning.workspace_files import NON_CODE_LANGUAGES, FileEntry, iter_workspace_files

log = logging.getLogger(__name__)
Category = Literal["project", "commands", "conventions", "instructions", "readme"]
PURPOSES = ("build", "test", "lint", "format", "run", "install", "other")
INSTRUCTION_FILES = (
    "AGENTS.md", "CLAUDE.md", "AGENT.md", "GEMINI.md", ".cursorrules", ".windsurfrules",
    ".github/copilot-instructions.md",
)  # fmt: skip
MAX_INSTRUCTION_CHARS = 1500
_PURPOSE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("format", ("fmt", "format", "black", "prettier --write", "isort", "gofmt")),
    ("lint", ("lint", "ruff", "flake8", "eslint", "clippy", "vet", "mypy", "typecheck",
              "type-check", "pyright", "--noemit", "golangci", "check-format", "pre-commit")),
    ("test", ("test", "pytest", "jest", "vitest", "mocha", "tox", "nox", "spec", "coverage")),
    ("build", ("build", "compile", "dist", "package", "bundle", "tsc", "wheel", "release")),
    ("run", ("run", "start", "serve", "dev", "main", "exec", "watch")),
    ("install", ("install", "setup", "bootstrap", "deps", "sync", "init", "venv")),
]  # fmt: skip
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
_TS_OPTIONS = ("strict", "noImplicitAny", "strictNullChecks", "noUncheckedIndexedAccess",
               "target", "module", "moduleResolution", "jsx")  # fmt: skip
_IMPORT = re.compile(r"""(?:from|require\()\s*['"]([^'"]+)['"]""")
_INSTALL = re.compile(
    r"^(pip3?|uv pip|python3? -m pip|npm|pnpm|yarn|poetry|pdm|bundle|apt-get|"
    r"apt|brew|go|cargo) (install|ci|sync|add|get|fetch)\b|^uv sync"
)
_TRIVIAL_SHELL = re.compile(
    r"^(#|echo\b|cd\b|export\b|set\b|if\b|fi\b|then\b|else\b|elif\b"
    r"|done\b|do\b|for\b|while\b|case\b|esac\b|exit\b|[{}()]|\w+=)"
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


def _line(text: str, *needles: str) -> int | None:
    """1-based line of the last needle, each searched after the previous one."""
    pos = 0
    for needle in needles:
        found = text.find(needle, pos)
        if found < 0:
            return None
        pos = found
    return text.count("\n", 0, pos) + 1


def _jsonc(text: str) -> Any:
    """JSON with comments and trailing commas (tsconfig, .eslintrc)."""
    text = re.sub(
        r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S
    )
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def _fmt(options: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v if isinstance(v, str) else json.dumps(v)}" for k, v in options.items()
    )


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


class _Ctx:
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
            self.proj("name", f"Name: {name}{kind}", src, _line(text, str(name)), 0)
        if description:
            self.proj("description", f"Description: {description}", src,
                      _line(text, str(description)), 0)  # fmt: skip

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


def _readme(ctx: _Ctx) -> None:
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


def _python(ctx: _Ctx) -> None:
    data = ctx.parse("pyproject.toml", tomllib.loads)
    text = ctx.read("pyproject.toml") or ""
    if data:
        src = "pyproject.toml"
        project = data.get("project") or data.get("tool", {}).get("poetry") or {}
        ctx.identity(src, text, project.get("name"), project.get("description"))
        if project.get("requires-python"):
            python = project["requires-python"]
            ctx.proj("python", f"Python {python}", src, _line(text, "requires-python"))
        for name, target in sorted(project.get("scripts", {}).items()):
            line = _line(text, "scripts]", name)
            ctx.proj("entry-point", f"Console script `{name}` → `{target}`", src, line)
            ctx.command(name, src, line, "run", note=f"console script → {target}", priority=1)
        tool = data.get("tool", {})
        if "pytest" in tool:
            opts = tool["pytest"].get("ini_options", {})
            paths = opts.get("testpaths")
            note = f"testpaths: {' '.join(paths)}" if isinstance(paths, list) else ""
            ctx.command("pytest", src, _line(text, "[tool.pytest"), "test", note=note)
        for env, env_data in sorted(tool.get("hatch", {}).get("envs", {}).items()):
            prefix = "" if env == "default" else f"{env}:"
            for name, cmd in sorted(env_data.get("scripts", {}).items()):
                cmd = " && ".join(cmd) if isinstance(cmd, list) else str(cmd)
                line = _line(text, f"{env}.scripts", name)
                ctx.command(f"hatch run {prefix}{name}", src, line, name, cmd)
        for name, cmd in sorted(tool.get("pdm", {}).get("scripts", {}).items()):
            cmd = cmd.get("cmd", cmd.get("shell", "")) if isinstance(cmd, dict) else cmd
            ctx.command(f"pdm run {name}", src, _line(text, "pdm.scripts", name), name, str(cmd))
        _python_tools(ctx, tool, src, text)
    for rel in ("ruff.toml", ".ruff.toml"):
        conf = ctx.parse(rel, tomllib.loads)
        if conf is not None:
            _python_tools(ctx, {"ruff": conf}, rel, ctx.read(rel) or "")
    for rel, section, tool in (
        ("setup.cfg", "flake8", "flake8"),
        (".flake8", "flake8", "flake8"),
        ("tox.ini", "flake8", "flake8"),
        ("setup.cfg", "mypy", "mypy"),
        ("mypy.ini", "mypy", "mypy"),
        ("setup.cfg", "isort", "isort"),
        ("setup.cfg", "tool:pytest", "pytest"),
        ("pytest.ini", "pytest", "pytest"),
    ):
        ini = ctx.parse(rel, _ini)
        if ini is not None and ini.has_section(section):
            opts, line = dict(ini.items(section)), _line(ctx.read(rel) or "", f"[{section}]")
            if tool == "pytest":
                ctx.command("pytest", rel, line, "test")
            elif opts:
                ctx.conv(tool, f"{tool}: {_fmt(opts)}"[:300], rel, line)
    tox = ctx.parse("tox.ini", _ini)
    if tox is not None and tox.has_section("tox"):
        envs = tox.get("tox", "envlist", fallback="").replace("\n", " ").strip()
        ctx.command("tox", "tox.ini", 1, "test", note=f"envs: {envs}" if envs else "")
    nox = ctx.read("noxfile.py") or ""
    for m in re.finditer(r"@nox\.session[^\n]*\n(?:@[^\n]*\n)*def (\w+)", nox):
        ctx.command(f"nox -s {m.group(1)}", "noxfile.py", _line(nox, m.group(0)), m.group(1))


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    return parser


def _python_tools(ctx: _Ctx, tool: dict[str, Any], src: str, text: str) -> None:
    prefix = "[tool." if src == "pyproject.toml" else "["
    ruff = tool.get("ruff")
    if isinstance(ruff, dict):
        opts = {k: ruff[k] for k in ("line-length", "target-version", "indent-width") if k in ruff}
        lint = ruff.get("lint", ruff)
        keys = ("select", "extend-select", "ignore")
        opts.update({f"lint.{k}": lint[k] for k in keys if k in lint})
        fmt = ruff.get("format", {})
        opts.update({f"format.{k}": fmt[k] for k in ("quote-style", "indent-style") if k in fmt})
        where = _line(text, "[tool.ruff") if prefix == "[tool." else 1
        ctx.conv("ruff", f"Ruff: {_fmt(opts)}" if opts else "Ruff configured", src, where)
        if "line-length" in ruff:
            length = ruff["line-length"]
            ctx.conv("line-length", f"Line length {length}", src, _line(text, "line-length"), 0)
    for name in ("black", "isort", "mypy", "pyright"):
        conf = tool.get(name)
        if isinstance(conf, dict):
            keep = {k: v for k, v in conf.items() if not isinstance(v, (dict, list))}
            summary = f"{name}: {_fmt(keep)}"[:300] if keep else f"{name} configured"
            ctx.conv(name, summary, src, _line(text, f"{prefix}{name}"))


def _pm_run(ctx: _Ctx) -> str:
    locks = {"pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn", "bun.lockb": "bun run"}
    return next((run for lock, run in locks.items() if (ctx.root / lock).exists()), "npm run")


def _node(ctx: _Ctx) -> None:
    pkg = ctx.parse("package.json", json.loads)
    text = ctx.read("package.json") or ""
    if isinstance(pkg, dict):
        src = "package.json"
        ctx.identity(src, text, pkg.get("name"), pkg.get("description"))
        for key in ("main", "module", "bin"):
            if pkg.get(key):
                value = pkg[key] if isinstance(pkg[key], str) else ", ".join(sorted(pkg[key]))
                ctx.proj("entry-point", f"Entry point ({key}): {value}", src, _line(text, key))
        runner = _pm_run(ctx)
        for name, cmd in (pkg.get("scripts") or {}).items():
            short = f"{runner.split()[0] if name in ('test', 'start') else runner} {name}"
            ctx.command(short, src, _line(text, '"scripts"', f'"{name}"'), name, str(cmd))
        if isinstance(pkg.get("prettier"), dict):
            prettier = _fmt(pkg["prettier"])
            ctx.conv("prettier", f"Prettier: {prettier}", src, _line(text, '"prettier"'))
    ts = ctx.parse("tsconfig.json", _jsonc)
    if isinstance(ts, dict):
        opts = ts.get("compilerOptions", {})
        shown = {k: opts[k] for k in _TS_OPTIONS if k in opts}
        strict = "strict mode ON" if opts.get("strict") else "strict mode off"
        line = _line(ctx.read("tsconfig.json") or "", "compilerOptions")
        ctx.conv("typescript", f"TypeScript {strict}; {_fmt(shown)}", "tsconfig.json", line, 0)
    for rel in (".prettierrc", ".prettierrc.json", ".prettierrc.yaml", ".prettierrc.yml"):
        conf = ctx.parse(rel, yaml.safe_load)  # YAML is a superset of JSON
        if isinstance(conf, dict):
            ctx.conv("prettier", f"Prettier: {_fmt(conf)}", rel, 1)
    for rel in ctx.files(".", "prettier.config.*") + ctx.files(".", ".prettierrc.*js"):
        ctx.conv("prettier", "Prettier configured (JS config)", rel, 1, 2)
    for rel in ctx.files(".", ".eslintrc*") + ctx.files(".", "eslint.config.*"):
        text = ctx.read(rel) or ""
        conf = ctx.parse(rel, yaml.safe_load) if not rel.endswith(("js", "ts")) else None
        extends = conf.get("extends") if isinstance(conf, dict) else None
        used = extends or sorted(set(_IMPORT.findall(text)))
        detail = f": uses {', '.join(used) if isinstance(used, list) else used}" if used else ""
        ctx.conv("eslint", f"ESLint{detail}", rel, 1)


def _rust(ctx: _Ctx) -> None:
    cargo = ctx.parse("Cargo.toml", tomllib.loads)
    if not cargo:
        return
    text, src = ctx.read("Cargo.toml") or "", "Cargo.toml"
    package = cargo.get("package", {})
    ctx.identity(src, text, package.get("name"), package.get("description"), " (Rust crate)")
    if package.get("edition"):
        ctx.conv("rust", f"Rust edition {package['edition']}", src, _line(text, "edition"))
    members = cargo.get("workspace", {}).get("members")
    if members:
        ctx.proj("layout", f"Cargo workspace members: {', '.join(members)}", src)
    for binary in cargo.get("bin", []):
        where = binary.get("path", "src/main.rs")
        ctx.proj("entry-point", f"Binary `{binary.get('name')}` ({where})", src)
    if (ctx.root / "src/main.rs").exists():
        ctx.proj("entry-point", "Binary entry point: src/main.rs", "src/main.rs", 1)
    for cmd in ("cargo build", "cargo test", "cargo clippy", "cargo fmt", "cargo run"):
        ctx.command(cmd, src, None, priority=1)
    for rel in ("rustfmt.toml", ".rustfmt.toml", "clippy.toml"):
        conf = ctx.parse(rel, tomllib.loads)
        if conf is not None:
            ctx.conv("rustfmt", f"{rel}: {_fmt(conf) or 'present'}", rel, 1)


def _go(ctx: _Ctx) -> None:
    text = ctx.read("go.mod")
    if text is None:
        return
    module = re.search(r"^module\s+(\S+)", text, re.M)
    if module:
        ctx.identity("go.mod", text, module.group(1), None, " (Go module)")
    version = re.search(r"^go\s+(\S+)", text, re.M)
    if version:
        ctx.proj("go", f"Go {version.group(1)}", "go.mod", _line_at(text, version.start()))
    for cmd in ("go build ./...", "go test ./...", "go vet ./..."):
        ctx.command(cmd, "go.mod", None, priority=1)
    ctx.conv("gofmt", "Go code is formatted with gofmt", "go.mod", None, 2)
    for rel in ctx.files("cmd", "*/main.go") + (["main.go"] if ctx.read("main.go") else []):
        pkg = "." if rel == "main.go" else f"./{Path(rel).parent.as_posix()}"
        ctx.proj("entry-point", f"Entry point: `go run {pkg}`", rel)
    for rel in (".golangci.yml", ".golangci.yaml", ".golangci.toml"):
        if ctx.read(rel) is not None:
            ctx.command("golangci-lint run", rel, None, "lint", priority=1)


def _jvm(ctx: _Ctx) -> None:
    pom = ctx.read("pom.xml")
    if pom is not None:
        try:
            tree = ET.fromstring(pom)
            ns = {"m": tree.tag[1:].split("}")[0]} if tree.tag.startswith("{") else {}
            get = lambda tag: tree.findtext(f"m:{tag}" if ns else tag, None, ns)  # noqa: E731
            artifact = get("artifactId")
            ctx.identity("pom.xml", pom, artifact, get("description"), " (Maven artifact)")
        except ET.ParseError:
            pass
        mvn = "./mvnw" if (ctx.root / "mvnw").exists() else "mvn"
        for goal in ("package", "test", "verify"):
            ctx.command(f"{mvn} {goal}", "pom.xml", None, goal, priority=1)
    for rel in ("build.gradle", "build.gradle.kts"):
        if ctx.read(rel) is not None:
            gradle = "./gradlew" if (ctx.root / "gradlew").exists() else "gradle"
            for task in ("build", "test", "run"):
                ctx.command(f"{gradle} {task}", rel, None, task, priority=1)


def _make(ctx: _Ctx) -> None:
    for rel in ("Makefile", "makefile", "GNUmakefile"):
        text = ctx.read(rel)
        if text is None:
            continue
        lines = text.splitlines()
        count = 0
        for i, line in enumerate(lines):
            m = re.match(
                r"^([A-Za-z0-9][\w.\-/]*(?:[ \t]+[A-Za-z0-9][\w.\-/]*)*)[ \t]*:(?![=:])"
                r"[^#=]*(?:##?\s*(.*))?$",
                line,
            )
            if not m or count >= 30:
                continue
            recipe = []
            for r in lines[i + 1 : i + 6]:
                if not r.startswith("\t"):
                    break
                recipe.append(r.strip().lstrip("@-").strip())
            runs = " && ".join(recipe[:3]) + (" && …" if len(recipe) > 3 else "")
            for target in m.group(1).split():
                count += 1
                ctx.command(f"make {target}", rel, i + 1, target, runs, note=m.group(2) or "")
        return


def _just(ctx: _Ctx) -> None:
    for rel in ("justfile", "Justfile", ".justfile"):
        text = ctx.read(rel)
        if text is None:
            continue
        lines = text.splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^@?([A-Za-z0-9_-]+)(?:\s+[^:=]*)?:(?!=)", line)
            if m and m.group(1) not in ("set", "alias", "export", "import", "mod"):
                body = [r.strip().lstrip("@-") for r in lines[i + 1 : i + 6] if r[:1] in " \t"]
                recipe = next((r for r in body if r), "")
                ctx.command(f"just {m.group(1)}", rel, i + 1, m.group(1), recipe)
        return


def _shell_commands(script: str) -> list[str]:
    cmds = []
    for raw in script.replace("\\\n", " ").splitlines():
        line = " ".join(raw.split())
        if line and not _TRIVIAL_SHELL.match(line) and not line.startswith("${{"):
            cmds.append(line)
    return cmds


def _ci(ctx: _Ctx) -> None:
    for rel in ctx.files(".github/workflows", "*.y*ml"):
        data, text = ctx.parse(rel, yaml.safe_load), ctx.read(rel) or ""
        jobs = data.get("jobs", {}) if isinstance(data, dict) else {}
        for job in jobs.values() if isinstance(jobs, dict) else ():
            for step in job.get("steps", []) if isinstance(job, dict) else []:
                if isinstance(step, dict) and isinstance(step.get("run"), str):
                    for cmd in _shell_commands(step["run"])[:5]:
                        ctx.command(cmd, rel, _line(text, cmd.split()[0]), priority=2)
    data, text = ctx.parse(".gitlab-ci.yml", yaml.safe_load), ctx.read(".gitlab-ci.yml") or ""
    for job in data.values() if isinstance(data, dict) else ():
        script = job.get("script") if isinstance(job, dict) else None
        for cmd in script if isinstance(script, list) else []:
            for line in _shell_commands(str(cmd))[:5]:
                ctx.command(line, ".gitlab-ci.yml", _line(text, line.split()[0]), priority=2)
    for rel in ctx.files(".ci"):
        text = ctx.read(rel) or ""
        for cmd in _shell_commands(text)[:12]:
            ctx.command(cmd, rel, _line(text, cmd), priority=2)


def _scripts(ctx: _Ctx) -> None:
    for rel in ctx.files("scripts")[:20]:
        text = ctx.read(rel) or ""
        doc = re.search(r'^(?:#!.*\n)?(?:[ \t]*\n)*(?:#|//|"""|\'\'\')\s*(\S.*)', text)
        what = doc.group(1).strip().strip("\"'") if doc else ""
        runner = "python " if rel.endswith(".py") else "bash " if rel.endswith(".sh") else ""
        text = f"`{runner}{rel}`" + (f" — {what[:150]}" if what else "")
        ctx.add("commands", text, rel, 1, purpose_of(Path(rel).stem), 2)


def _editorconfig(ctx: _Ctx) -> None:
    text = ctx.read(".editorconfig")
    if text is None:
        return
    section, start, opts = "", 0, dict[str, str]()
    keys = ("indent_style", "indent_size", "max_line_length", "end_of_line", "charset")

    def flush() -> None:
        if section and opts:
            text = f"EditorConfig [{section}]: {_fmt(opts)}"
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


def _instructions(ctx: _Ctx) -> None:
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


def _layout(ctx: _Ctx) -> None:
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


def _render(facts: list[Fact]) -> str:
    out: list[str] = []
    for fact in facts:
        where = f"from {fact.source}"
        if fact.category == "instructions":
            quoted = "\n".join(f"> {line}".rstrip() for line in fact.text.splitlines())
            out.append(f"\nAgent instructions ({where}):\n{quoted}\n")
        elif fact.category == "commands":
            out.append(f"- {fact.topic}: {fact.text} ({where})")
        else:
            out.append(f"- {fact.text} ({where})")
    return "\n".join(out).strip() + "\n" if out else ""


def _fit(facts: list[Fact], limit: int) -> str:
    """Render, dropping the least important facts (last first) until under `limit`."""
    kept = list(facts)
    text = _render(kept)
    while len(text) > limit and len(kept) > 1:
        del kept[max(range(len(kept)), key=lambda i: (kept[i].priority, i))]
        text = _render(kept)
    if len(text) > limit:  # one fact longer than the block: cut it at a line end
        text = text[: limit - 2].rsplit("\n", 1)[0] + "\n…"
    return text


def render_blocks(research: Research, limit: int = 5000) -> dict[str, str]:
    """Markdown for the `project`, `commands` and `conventions` memory blocks."""
    project = research.of("readme") + research.of("project")
    order = {p: i for i, p in enumerate(PURPOSES)}
    commands = sorted(research.of("commands"), key=lambda f: (order.get(f.topic, 9), f.priority))
    conventions = sorted(research.of("conventions"), key=lambda f: f.priority)
    blocks = {"project": project, "commands": commands}
    blocks["conventions"] = research.of("instructions") + conventions
    return {name: _fit(facts, limit) for name, facts in blocks.items()}


def research_workspace(root: Path) -> Research:
    """Facts about the workspace at `root`, from its files only (no network, no model)."""
    ctx = _Ctx(Path(root).resolve())
    steps = (_readme, _python, _node, _rust, _go, _jvm, _make, _just, _ci, _scripts,
             _editorconfig, _instructions, _layout)  # fmt: skip
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
