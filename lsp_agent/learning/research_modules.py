"""Key modules of a project: its build backend, entry points, largest packages, public API.

Top-level folders say little about where the code that matters lives; the agent needs the
packages that hold most of the source, what the project exports and how it is built.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

import yaml

from lsp_agent.learning.research_facts import FactCollector, line_of
from lsp_agent.learning.workspace_files import NON_CODE_LANGUAGES, FileEntry, iter_workspace_files

_BACKENDS = {
    "hatchling": "hatchling", "setuptools": "setuptools", "flit_core": "flit",
    "flit": "flit", "poetry": "poetry-core", "pdm": "pdm-backend", "maturin": "maturin",
    "scikit_build_core": "scikit-build-core", "mesonpy": "meson-python", "uv_build": "uv",
    "whey": "whey", "sipbuild": "sip",
}  # fmt: skip
_JS_BUILDERS = ("tsup", "tsdown", "tsc", "vite", "rollup", "rolldown", "esbuild", "webpack",
                "parcel", "unbuild", "obuild", "pkgroll", "microbundle", "swc", "babel",
                "bun build", "ncc", "preconstruct", "nx build", "turbo")  # fmt: skip
#: Folders whose code is not the project's own source (tests, docs, examples, vendored).
_NOT_SOURCE = re.compile(
    r"(^|/)(tests?|testing|spec|__tests__|docs?|examples?|benchmarks?|bench|fixtures|vendor|"
    r"third_party|node_modules|scripts|tools|\.github|typings|changelog\.d|downstream"
    r"|\w*[-_]tests?|tests?[-_]\w*)(/|$)"
)
_TEST_FILE = re.compile(
    r"(_test\.go|\.test\.[jt]sx?|\.spec\.[jt]sx?|(^|/)test_[^/]*\.py|^(noxfile|setup|conftest"
    r"|fabfile|tasks|dodo)\.py|\.config\.[cm]?[jt]s|^\.\w.*)$"
)


def build_backend(ctx: FactCollector) -> None:
    """How the project is built: the PEP 517 backend, the JS bundler, cargo, go, maven."""
    data = ctx.parse("pyproject.toml", tomllib.loads) or {}
    backend = (data.get("build-system") or {}).get("build-backend")
    text = ctx.read("pyproject.toml") or ""
    if isinstance(backend, str):
        name = _BACKENDS.get(backend.split(".")[0].split(":")[0], backend)
        ctx.proj("build-backend", f"Build backend: {name} (`{backend}`)", "pyproject.toml",
                 line_of(text, "build-backend"), 0)  # fmt: skip
    pkg = ctx.parse("package.json", json.loads)
    scripts = pkg.get("scripts") if isinstance(pkg, dict) else None
    if isinstance(scripts, dict):
        build = str(scripts.get("build", ""))
        tool = next((t for t in _JS_BUILDERS if re.search(rf"\b{re.escape(t)}\b", build)), None)
        if tool:
            ctx.proj("build-backend", f"Build: {tool} (`npm run build` → `{build}`)",
                     "package.json", line_of(ctx.read("package.json") or "", '"build"'), 0)  # fmt: skip
    if ctx.read("Cargo.toml") is not None:
        ctx.proj("build-backend", "Build: cargo", "Cargo.toml", None, 0)
    if ctx.read("go.mod") is not None:
        ctx.proj("build-backend", "Build: go build (Go modules)", "go.mod", None, 0)


def _public_api_python(ctx: FactCollector) -> None:
    inits = ctx.files(".", "*/__init__.py") + ctx.files("src", "*/__init__.py")
    for rel in inits[:6]:
        if _NOT_SOURCE.search(rel):
            continue
        text = ctx.read(rel) or ""
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, ast.Assign):
                continue
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
                try:
                    names = [str(n) for n in ast.literal_eval(node.value)]
                except ValueError:
                    continue
                package = PurePosixPath(rel).parent.name
                shown = ", ".join(f"`{n}`" for n in names[:30]) + (", …" if len(names) > 30 else "")
                ctx.proj("public-api", f"Public API of `{package}` ({len(names)} names in "
                         f"`__all__`): {shown}", rel, node.lineno, 1)  # fmt: skip


def public_api(ctx: FactCollector) -> None:
    """`__all__` of top-level Python packages, package.json exports/types, lib.rs modules."""
    _public_api_python(ctx)
    pkg = ctx.parse("package.json", json.loads)
    text = ctx.read("package.json") or ""
    if isinstance(pkg, dict):
        exports = pkg.get("exports")
        if isinstance(exports, dict):
            keys = [k for k in exports if k.startswith(".")] or ["."]
            ctx.proj("public-api", f"Package exports: {', '.join(f'`{k}`' for k in keys[:10])}",
                     "package.json", line_of(text, '"exports"'), 1)  # fmt: skip
        elif isinstance(exports, str):
            ctx.proj("public-api", f"Package exports: `{exports}`", "package.json",
                     line_of(text, '"exports"'), 1)  # fmt: skip
        types = pkg.get("types") or pkg.get("typings")
        if isinstance(types, str):
            ctx.proj("public-api", f"Type declarations: {types}", "package.json",
                     line_of(text, '"types"'), 1)  # fmt: skip
    lib = ctx.read("src/lib.rs")
    if lib is not None:
        mods = re.findall(r"^pub mod (\w+)", lib, re.M)
        if mods:
            ctx.proj("public-api", f"Library crate (src/lib.rs), public modules: "
                     f"{', '.join(mods[:15])}", "src/lib.rs", 1, 1)  # fmt: skip


def workspace_packages(ctx: FactCollector) -> list[str]:
    """Folders of a JS monorepo's packages (pnpm-workspace.yaml, package.json `workspaces`)."""
    globs: Any = (ctx.parse("pnpm-workspace.yaml", yaml.safe_load) or {})
    globs = globs.get("packages") if isinstance(globs, dict) else None
    if not globs:
        pkg = ctx.parse("package.json", json.loads)
        spaces = pkg.get("workspaces") if isinstance(pkg, dict) else None
        globs = spaces.get("packages") if isinstance(spaces, dict) else spaces
    folders: list[str] = []
    for pattern in globs if isinstance(globs, list) else []:
        pattern = str(pattern).strip("/")
        if pattern.startswith("!") or ".." in pattern:
            continue
        folders += [p.parent.relative_to(ctx.root).as_posix()
                    for p in sorted(ctx.root.glob(f"{pattern}/package.json"))]  # fmt: skip
    return folders[:40]


def _workspace_bins(ctx: FactCollector) -> None:
    """The commands (`bin`) of a monorepo's packages: what its users run."""
    for folder in workspace_packages(ctx):
        rel = f"{folder}/package.json"
        pkg = ctx.parse(rel, json.loads)
        if not isinstance(pkg, dict) or pkg.get("private") or not pkg.get("bin"):
            continue
        bins = pkg["bin"] if isinstance(pkg["bin"], dict) else {pkg.get("name", folder): pkg["bin"]}
        for name, target in list(bins.items())[:3]:
            ctx.proj("entry-point", f"Command `{name}` → `{folder}/{str(target).removeprefix('./')}` "
                     f"(package `{pkg.get('name', folder)}`)", rel,
                     line_of(ctx.read(rel) or "", '"bin"'), 0)  # fmt: skip


def entry_points(ctx: FactCollector) -> None:
    """Entry points the manifests declare beyond console scripts: GUI scripts, plugins, bins."""
    _workspace_bins(ctx)
    data = ctx.parse("pyproject.toml", tomllib.loads) or {}
    project, text = data.get("project") or {}, ctx.read("pyproject.toml") or ""
    for name, target in sorted((project.get("gui-scripts") or {}).items()):
        ctx.proj("entry-point", f"GUI script `{name}` → `{target}`", "pyproject.toml",
                 line_of(text, "gui-scripts", name))  # fmt: skip
    for group, points in sorted((project.get("entry-points") or {}).items()):
        for name, target in sorted(points.items())[:5] if isinstance(points, dict) else ():
            ctx.proj("entry-point", f"Plugin entry point `{group}`: `{name}` → `{target}`",
                     "pyproject.toml", line_of(text, "entry-points", name))  # fmt: skip


def largest_packages(ctx: FactCollector) -> None:
    """The source folders (tests, docs and examples aside) that hold most lines of code."""
    lines: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for entry in iter_workspace_files(ctx.root):
        if not isinstance(entry, FileEntry) or not entry.language:
            continue
        rel = entry.rel_path
        if (
            entry.language in NON_CODE_LANGUAGES
            or _NOT_SOURCE.search(rel)
            or _TEST_FILE.search(rel)
        ):
            continue
        folder = rel.rsplit("/", 1)[0] if "/" in rel else "."
        try:
            with open(ctx.root / rel, "rb") as handle:
                count = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))
        except OSError:
            continue
        lines[folder] += count
        files[folder] += 1
    total = sum(lines.values())
    for folder, count in sorted(lines.items(), key=lambda kv: (-kv[1], kv[0]))[:4]:
        if total and count * 20 < total:
            break  # under 5 % of the source: not a key package
        name = "the root folder" if folder == "." else f"`{folder}/`"
        ctx.proj("key-module", f"Key package {name}: {count} lines in {files[folder]} files "
                 f"({round(100 * count / total)} % of the source)", f"{folder}/", None, 1)  # fmt: skip
