"""Facts from per-ecosystem manifests and tool configs: Python, Node/TypeScript, Rust, Go, JVM.

Each reader adds the project's identity, entry points, the commands its manifest defines
and the style settings its linters and formatters declare.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from lsp_agent.learning.research_facts import (
    FactCollector,
    format_options,
    jsonc,
    line_at,
    line_of,
)

_TS_OPTIONS = ("strict", "noImplicitAny", "strictNullChecks", "noUncheckedIndexedAccess",
               "target", "module", "moduleResolution", "jsx")  # fmt: skip
_LIFECYCLE = {"prepare", "prepublish", "prepublishOnly", "prepack", "postpack", "preinstall",
              "install", "postinstall", "preversion", "version", "postversion"}  # fmt: skip
_IMPORT = re.compile(r"""(?:from|require\()\s*['"]([^'"]+)['"]""")


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    return parser


def python_facts(ctx: FactCollector) -> None:
    """pyproject.toml, ruff/flake8/mypy/pytest/tox configs and noxfile.py."""
    data = ctx.parse("pyproject.toml", tomllib.loads)
    text = ctx.read("pyproject.toml") or ""
    if data:
        src = "pyproject.toml"
        project = data.get("project") or data.get("tool", {}).get("poetry") or {}
        ctx.identity(src, text, project.get("name"), project.get("description"))
        if project.get("requires-python"):
            python = project["requires-python"]
            ctx.proj("python", f"Python {python}", src, line_of(text, "requires-python"))
        for name, target in sorted(project.get("scripts", {}).items()):
            line = line_of(text, "scripts]", name)
            ctx.proj("entry-point", f"Console script `{name}` → `{target}`", src, line)
            ctx.command(name, src, line, "run", note=f"console script → {target}", priority=1)
        tool = data.get("tool", {})
        if "pytest" in tool:
            opts = tool["pytest"].get("ini_options", tool["pytest"])
            paths = opts.get("testpaths")
            note = f"testpaths: {' '.join(paths)}" if isinstance(paths, list) else ""
            ctx.command("pytest", src, line_of(text, "[tool.pytest"), "test", note=note)
        for env, env_data in sorted(tool.get("hatch", {}).get("envs", {}).items()):
            prefix = "" if env == "default" else f"{env}:"
            for name, cmd in sorted(env_data.get("scripts", {}).items()):
                cmd = " && ".join(cmd) if isinstance(cmd, list) else str(cmd)
                line = line_of(text, f"{env}.scripts", name)
                ctx.command(f"hatch run {prefix}{name}", src, line, name, cmd)
        for name, cmd in sorted(tool.get("pdm", {}).get("scripts", {}).items()):
            cmd = cmd.get("cmd", cmd.get("shell", "")) if isinstance(cmd, dict) else cmd
            ctx.command(f"pdm run {name}", src, line_of(text, "pdm.scripts", name), name, str(cmd))
    for rel, section in (
        ("setup.cfg", "tool:pytest"),
        ("pytest.ini", "pytest"),
        ("tox.ini", "pytest"),
    ):
        ini = ctx.parse(rel, _ini)
        if ini is not None and ini.has_section(section):
            ctx.command("pytest", rel, line_of(ctx.read(rel) or "", f"[{section}]"), "test")


def _package_runner(ctx: FactCollector) -> str:
    locks = {"pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn", "bun.lockb": "bun run"}
    return next((run for lock, run in locks.items() if (ctx.root / lock).exists()), "npm run")


def node_facts(ctx: FactCollector) -> None:
    """package.json scripts, tsconfig.json, Prettier and ESLint configs."""
    pkg = ctx.parse("package.json", json.loads)
    text = ctx.read("package.json") or ""
    if isinstance(pkg, dict):
        src = "package.json"
        ctx.identity(src, text, pkg.get("name"), pkg.get("description"))
        for key in ("main", "module", "bin"):
            if pkg.get(key):
                value = pkg[key] if isinstance(pkg[key], str) else ", ".join(sorted(pkg[key]))
                ctx.proj("entry-point", f"Entry point ({key}): {value}", src, line_of(text, key))
        runner = _package_runner(ctx)
        scripts: dict[str, Any] = pkg["scripts"] if isinstance(pkg.get("scripts"), dict) else {}
        for name, cmd in scripts.items():
            ctx.task_purposes[("npm", name)] = ctx.purpose_for(name, "", str(cmd))
        for name, cmd in scripts.items():
            if name in _LIFECYCLE or re.match(r"^(pre|post)", name) and name[4:] in scripts:
                continue  # run by the package manager around other scripts, not by hand
            step = re.match(r"^(.+)[:_-]\d+$", name)
            if step and step.group(1) in scripts:
                continue  # `setup:1`, `setup:2`: numbered steps that the script `setup` runs
            short = f"{runner.split()[0] if name in ('test', 'start') else runner} {name}"
            ctx.command(short, src, line_of(text, '"scripts"', f'"{name}"'), name, str(cmd))
    ts = ctx.parse("tsconfig.json", jsonc)
    if isinstance(ts, dict):
        opts = ts.get("compilerOptions", {})
        shown = {k: opts[k] for k in _TS_OPTIONS if k in opts}
        strict = "strict mode ON" if opts.get("strict") else "strict mode off"
        if "strict" not in opts and ts.get("extends"):
            strict = f"config extends {ts['extends']}"
        line = line_of(ctx.read("tsconfig.json") or "", "compilerOptions")
        summary = f"TypeScript {strict}; {format_options(shown)}"
        ctx.conv("typescript", summary, "tsconfig.json", line, 0)


def rust_facts(ctx: FactCollector) -> None:
    """Cargo.toml, the standard cargo commands, rustfmt/clippy configs."""
    cargo = ctx.parse("Cargo.toml", tomllib.loads)
    if not cargo:
        return
    text, src = ctx.read("Cargo.toml") or "", "Cargo.toml"
    package = cargo.get("package", {})
    ctx.identity(src, text, package.get("name"), package.get("description"), " (Rust crate)")
    if package.get("edition"):
        ctx.conv("rust", f"Rust edition {package['edition']}", src, line_of(text, "edition"))
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


def go_facts(ctx: FactCollector) -> None:
    """go.mod, the standard go commands, main packages, golangci-lint."""
    text = ctx.read("go.mod")
    if text is None:
        return
    module = re.search(r"^module\s+(\S+)", text, re.M)
    if module:
        ctx.identity("go.mod", text, module.group(1), None, " (Go module)")
    version = re.search(r"^go\s+(\S+)", text, re.M)
    if version:
        ctx.proj("go", f"Go {version.group(1)}", "go.mod", line_at(text, version.start()))
    for cmd in ("go build ./...", "go test ./...", "go vet ./..."):
        ctx.command(cmd, "go.mod", None, priority=1)
    ctx.conv("gofmt", "Go code is formatted with gofmt", "go.mod", None, 2)
    for rel in ctx.files("cmd", "*/main.go") + (["main.go"] if ctx.read("main.go") else []):
        pkg = "." if rel == "main.go" else f"./{Path(rel).parent.as_posix()}"
        ctx.proj("entry-point", f"Entry point: `go run {pkg}`", rel)
    for rel in (".golangci.yml", ".golangci.yaml", ".golangci.toml"):
        if ctx.read(rel) is not None:
            ctx.command("golangci-lint run", rel, None, "lint", priority=1)
            break


def jvm_facts(ctx: FactCollector) -> None:
    """Maven (pom.xml) and Gradle builds, preferring the wrappers."""
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
